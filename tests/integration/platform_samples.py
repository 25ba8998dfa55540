"""Pages the platforms publish as samples of their APIs, for the contract tests (test_sources_contract.py).

Each sample names where it comes from. A published sample is kept with the fields an adapter reads and enough of
the rest to stay recognisable (large nested objects such as cluster specs are left out); a page marked "derived"
is a published sample with the changes its comment lists, to exercise a second page or a state the sample lacks.
"""

from __future__ import annotations

import copy
from typing import Any

# ------------------------------------------------------------------------------------------------ Databricks 2.2

# docs.databricks.com/api/workspace/jobs/listruns, "Response samples", 200 (Jobs API 2.2): no has_more; the
# listing goes on while next_page_token is set.
DATABRICKS_PAGE_1: dict[str, Any] = {
    "next_page_token": "CAEomPuciYcxMKbM9JvMlwU=",
    "prev_page_token": "CAAos-uriYcxMN7_rt_v7B4=",
    "runs": [
        {
            "attempt_number": 0,
            "cleanup_duration": 0,
            "cluster_instance": {"cluster_id": "0923-164208-meows279", "spark_context_id": "string"},
            "creator_user_name": "user.name@databricks.com",
            "description": "string",
            "end_time": 1625060863413,
            "execution_duration": 0,
            "git_source": {
                "git_branch": "main",
                "git_provider": "gitHub",
                "git_url": "https://github.com/databricks/databricks-cli",
            },
            "has_more": True,
            "job_id": 11223344,
            "job_run_id": 0,
            "number_in_job": 455644833,
            "original_attempt_run_id": 455644833,
            "queue_duration": 1625060863413,
            "repair_history": [
                {
                    "end_time": 1625060863413,
                    "id": 734650698524280,
                    "start_time": 1625060460483,
                    "state": {
                        "life_cycle_state": "PENDING",
                        "queue_reason": "Queued due to reaching maximum concurrent runs of 1.",
                        "result_state": "SUCCESS",
                        "state_message": "string",
                        "user_cancelled_or_timedout": False,
                    },
                    "status": {
                        "queue_details": {"code": "ACTIVE_RUNS_LIMIT_REACHED", "message": "string"},
                        "state": "BLOCKED",
                        "termination_details": {"code": "SUCCESS", "message": "string", "type": "SUCCESS"},
                    },
                    "task_run_ids": [1106460542112844, 988297789683452],
                    "type": "ORIGINAL",
                }
            ],
            "run_duration": 110183,
            "run_id": 455644833,
            "run_name": "A multitask job run",
            "run_page_url": "https://my-workspace.cloud.databricks.com/#job/11223344/run/123",
            "run_type": "JOB_RUN",
            "setup_duration": 0,
            "start_time": 1625060460483,
            "state": {
                "life_cycle_state": "PENDING",
                "queue_reason": "Queued due to reaching maximum concurrent runs of 1.",
                "result_state": "SUCCESS",
                "state_message": "string",
                "user_cancelled_or_timedout": False,
            },
            "status": {
                "queue_details": {"code": "ACTIVE_RUNS_LIMIT_REACHED", "message": "string"},
                "state": "BLOCKED",
                "termination_details": {"code": "SUCCESS", "message": "string", "type": "SUCCESS"},
            },
            "trigger": "PERIODIC",
            "trigger_info": {"run_id": 0},
        }
    ],
}


def _databricks_page_2() -> dict[str, Any]:
    """Derived: the last page (no next_page_token), three runs of the sample's job started before it:
    - 455644830: a failure that only carries the 2.2 `status` (the deprecated `state` dropped), code
      RUN_EXECUTION_ERROR, type CLIENT_ERROR, with the message of the sample's failed task;
    - 455644831: its retry (attempt_number 1, original_attempt_run_id 455644830) that ended INTERNAL_ERROR;
    - 455644832: a run repaired once (a REPAIR entry after the ORIGINAL), its state that of the repair.
    """
    base = DATABRICKS_PAGE_1["runs"][0]
    message = (
        "Library installation failed for library due to user error.Error messages:\n"
        "'Manage'permissions are required to install libraries on a cluster"
    )
    failed = copy.deepcopy(base)
    del failed["state"]
    failed.update(
        run_id=455644830,
        number_in_job=455644830,
        original_attempt_run_id=455644830,
        start_time=1625050000000,
        end_time=1625050600000,
        run_page_url="https://my-workspace.cloud.databricks.com/#job/11223344/run/120",
        repair_history=[],
        status={
            "state": "TERMINATED",
            "termination_details": {"code": "RUN_EXECUTION_ERROR", "message": message, "type": "CLIENT_ERROR"},
        },
    )
    retry = copy.deepcopy(base)
    retry.update(
        run_id=455644831,
        number_in_job=455644831,
        original_attempt_run_id=455644830,
        attempt_number=1,
        start_time=1625050700000,
        end_time=1625051000000,
        run_page_url="https://my-workspace.cloud.databricks.com/#job/11223344/run/121",
        repair_history=[],
        state={"life_cycle_state": "INTERNAL_ERROR", "state_message": "Cluster was terminated unexpectedly"},
    )
    del retry["status"]
    repaired = copy.deepcopy(base)
    original = copy.deepcopy(base["repair_history"][0])
    original.update(start_time=1625040000000, end_time=1625040600000, type="ORIGINAL")
    original["state"] = {"life_cycle_state": "TERMINATED", "result_state": "FAILED"}
    repair = copy.deepcopy(original)
    repair.update(id=734650698524281, start_time=1625055000000, end_time=1625055900000, type="REPAIR")
    repair["state"] = {"life_cycle_state": "TERMINATED", "result_state": "SUCCESS"}
    repaired.update(
        run_id=455644832,
        number_in_job=455644832,
        original_attempt_run_id=455644832,
        start_time=1625040000000,
        end_time=1625055900000,
        run_page_url="https://my-workspace.cloud.databricks.com/#job/11223344/run/122",
        repair_history=[original, repair],
        state={"life_cycle_state": "TERMINATED", "result_state": "SUCCESS", "state_message": ""},
    )
    del repaired["status"]
    return {"prev_page_token": "CAEomPuciYcxMKbM9JvMlwU=", "runs": [failed, retry, repaired]}


DATABRICKS_PAGE_2 = _databricks_page_2()

# --------------------------------------------------------------------------------------------------- GitLab

_GITLAB_SHA = "0ff3ae198f8601a285adcf5c0fff204ee6fba5fd"

# docs.gitlab.com/api/pipelines, "List project pipelines" example response (its pipelines 47 and 48), each on a
# page of its own (offset pagination, X-Next-Page). Derived: the jobs example below belongs to pipeline 6, so
# pipeline 48 is given id 6 and that example's sha.
GITLAB_PIPELINES_PAGE_1: list[dict[str, Any]] = [
    {
        "id": 47,
        "iid": 12,
        "project_id": 1,
        "status": "pending",
        "source": "push",
        "ref": "new-pipeline",
        "sha": "a91957a858320c0e17f3a0eca7cfacbff50ea29a",
        "name": "Build pipeline",
        "web_url": "https://example.com/foo/bar/pipelines/47",
        "created_at": "2016-08-11T11:28:34.085Z",
        "updated_at": "2016-08-11T11:32:35.169Z",
    }
]
GITLAB_PIPELINES_PAGE_2: list[dict[str, Any]] = [
    {
        "id": 6,
        "iid": 13,
        "project_id": 1,
        "status": "failed",
        "source": "push",
        "ref": "new-pipeline",
        "sha": _GITLAB_SHA,
        "name": "Build pipeline",
        "web_url": "https://example.com/foo/bar/pipelines/6",
        "created_at": "2016-08-12T10:06:04.561Z",
        "updated_at": "2016-08-12T10:09:56.223Z",
    }
]
GITLAB_JOBS_47: list[dict[str, Any]] = []


def _gitlab_job(jid: int, name: str, reason: str, started: str, finished: str, duration: float) -> dict[str, Any]:
    return {
        "commit": {
            "author_email": "admin@example.com",
            "author_name": "Administrator",
            "created_at": "2015-12-24T16:51:14.000+01:00",
            "id": _GITLAB_SHA,
            "message": "Test the CI integration.",
            "short_id": "0ff3ae19",
            "title": "Test the CI integration.",
        },
        "coverage": None,
        "archived": False,
        "source": "push",
        "allow_failure": False,
        "created_at": "2015-12-24T15:51:21.802Z",
        "started_at": started,
        "finished_at": finished,
        "erased_at": None,
        "duration": duration,
        "queued_duration": 0.023,
        "id": jid,
        "name": name,
        "pipeline": {"id": 6, "project_id": 1, "ref": "main", "sha": _GITLAB_SHA, "status": "pending"},
        "ref": "main",
        "artifacts": [],
        "runner": None,
        "runner_manager": None,
        "stage": "test",
        "status": "failed",
        "failure_reason": reason,
        "tag": False,
        "web_url": f"https://example.com/foo/bar/-/jobs/{jid}",
        "project": {"ci_job_token_scope_enabled": False},
        "user": {"id": 1, "name": "Administrator", "username": "root", "state": "active"},
    }


# docs.gitlab.com/api/jobs, "List pipeline jobs" example response (pipeline 6: jobs 7 and 6, newest first), one
# job per page: the published job entity, without a `retried` field.
GITLAB_JOBS_6_PAGE_1 = [
    _gitlab_job(7, "teaspoon", "script_failure", "2015-12-24T17:54:27.722Z", "2015-12-24T17:54:27.895Z", 0.173)
]
GITLAB_JOBS_6_PAGE_2 = [
    _gitlab_job(
        6, "rspec:other", "stuck_or_timeout_failure", "2015-12-24T17:54:24.729Z", "2015-12-24T17:54:24.921Z", 0.192
    )
]

# --------------------------------------------------------------------------------------------------- GitHub

# github/rest-api-description, components/examples/workflow-run-paginated (its run 30433642, queued), then on a
# second page (Link rel="next") a derived completed run: id 29679449, workflow "CI" and the head_sha of the jobs
# example below, which lists that run's job.
GITHUB_RUNS_PAGE_1: dict[str, Any] = {
    "total_count": 2,
    "workflow_runs": [
        {
            "id": 30433642,
            "name": "Build",
            "node_id": "MDEyOldvcmtmbG93IFJ1bjI2OTI4OQ==",
            "check_suite_id": 42,
            "head_branch": "master",
            "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d",
            "path": ".github/workflows/build.yml@main",
            "run_number": 562,
            "event": "push",
            "display_title": "Update README.md",
            "status": "queued",
            "conclusion": None,
            "workflow_id": 159038,
            "url": "https://api.github.com/repos/octo-org/octo-repo/actions/runs/30433642",
            "html_url": "https://github.com/octo-org/octo-repo/actions/runs/30433642",
            "created_at": "2020-01-22T19:33:08Z",
            "updated_at": "2020-01-22T19:33:08Z",
            "run_attempt": 1,
            "run_started_at": "2020-01-22T19:33:08Z",
        }
    ],
}
GITHUB_RUNS_PAGE_2: dict[str, Any] = {
    "total_count": 2,
    "workflow_runs": [
        {
            **GITHUB_RUNS_PAGE_1["workflow_runs"][0],
            "id": 29679449,
            "name": "CI",
            "head_branch": "main",
            "head_sha": "f83a356604ae3c5d03e1b46ef4d1ca77d64a90b0",
            "status": "completed",
            "conclusion": "success",
            "url": "https://api.github.com/repos/octo-org/octo-repo/actions/runs/29679449",
            "html_url": "https://github.com/octo-org/octo-repo/actions/runs/29679449",
            "created_at": "2020-01-20T17:42:00Z",
            "updated_at": "2020-01-20T17:44:50Z",
        }
    ],
}

# github/rest-api-description, components/examples/job-paginated (steps shortened to the first three and the last).
GITHUB_JOBS_29679449: dict[str, Any] = {
    "total_count": 1,
    "jobs": [
        {
            "id": 399444496,
            "run_id": 29679449,
            "run_url": "https://api.github.com/repos/octo-org/octo-repo/actions/runs/29679449",
            "node_id": "MDEyOldvcmtmbG93IEpvYjM5OTQ0NDQ5Ng==",
            "head_sha": "f83a356604ae3c5d03e1b46ef4d1ca77d64a90b0",
            "url": "https://api.github.com/repos/octo-org/octo-repo/actions/jobs/399444496",
            "html_url": "https://github.com/octo-org/octo-repo/runs/29679449/jobs/399444496",
            "status": "completed",
            "conclusion": "success",
            "started_at": "2020-01-20T17:42:40Z",
            "completed_at": "2020-01-20T17:44:39Z",
            "name": "build",
            "steps": [
                {"name": "Set up job", "status": "completed", "conclusion": "success", "number": 1},
                {"name": "Run actions/checkout@v2", "status": "completed", "conclusion": "success", "number": 2},
                {"name": "Set up Ruby", "status": "completed", "conclusion": "success", "number": 3},
                {"name": "Complete job", "status": "completed", "conclusion": "success", "number": 17},
            ],
            "check_run_url": "https://api.github.com/repos/octo-org/octo-repo/check-runs/399444496",
            "labels": ["self-hosted", "foo", "bar"],
            "runner_id": 1,
            "runner_name": "my runner",
            "runner_group_id": 2,
            "runner_group_name": "my runner group",
            "workflow_name": "CI",
            "head_branch": "main",
        }
    ],
}

# --------------------------------------------------------------------------------------------------- Dataiku

# doc.dataiku.com/dss/latest/python-api/jobs.html, "Reading the jobs' status": the job list_jobs() returns (an
# aborted job whose endTime and startTime are 0), then a derived failed job of the same project (DONE and
# FAILED being the other stable states DSSJob.wait() knows, dataikuapi/dss/job.py) and a derived running one.
DATAIKU_JOBS: list[dict[str, Any]] = [
    {
        "def": {
            "id": "build_cat_train_hdfs_NP_2015-09-28T10-01-02.100",
            "initiationTimestamp": 1443434462100,
            "initiator": "API (aa)",
            "mailNotification": False,
            "name": "build_cat_train_hdfs_NP",
            "outputs": [
                {
                    "targetDataset": "cat_train_hdfs",
                    "targetDatasetProjectKey": "IMPALA",
                    "targetPartition": "NP",
                    "type": "DATASET",
                }
            ],
            "projectKey": "IMPALA",
            "triggeredFrom": "API",
            "type": "NON_RECURSIVE_FORCED_BUILD",
        },
        "endTime": 0,
        "stableState": False,
        "startTime": 1443434462300,
        "state": "RUNNING",
        "warningsCount": 0,
    },
    {
        "def": {
            "id": "build_cat_train_hdfs_NP_2015-09-28T09-40-00.000",
            "initiationTimestamp": 1443433200000,
            "initiator": "API (aa)",
            "mailNotification": False,
            "name": "build_cat_train_hdfs_NP",
            "outputs": [],
            "projectKey": "IMPALA",
            "triggeredFrom": "API",
            "type": "NON_RECURSIVE_FORCED_BUILD",
        },
        "endTime": 1443433260000,
        "stableState": True,
        "startTime": 1443433200500,
        "state": "FAILED",
        "warningsCount": 0,
    },
    {
        "def": {
            "id": "build_cat_train_hdfs_NP_2015-09-28T09-17-37.455",
            "initiationTimestamp": 1443431857455,
            "initiator": "API (aa)",
            "mailNotification": False,
            "name": "build_cat_train_hdfs_NP",
            "outputs": [
                {
                    "targetDataset": "cat_train_hdfs",
                    "targetDatasetProjectKey": "IMPALA",
                    "targetPartition": "NP",
                    "type": "DATASET",
                }
            ],
            "projectKey": "IMPALA",
            "refreshHiveMetastore": False,
            "refreshIntermediateMirrors": True,
            "refreshTargetMirrors": True,
            "triggeredFrom": "API",
            "type": "NON_RECURSIVE_FORCED_BUILD",
        },
        "endTime": 0,
        "stableState": True,
        "startTime": 0,
        "state": "ABORTED",
        "warningsCount": 0,
    },
]
