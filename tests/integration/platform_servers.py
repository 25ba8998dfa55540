"""Local stand-ins for the Databricks, Dataiku, GitLab and GitHub APIs, on loopback ports chosen at runtime.

Each fake serves payloads in the platform's documented shape (field names, paging style, auth header), filters
the way the real endpoint does (time filters, completed-only, ref/branch, include_retried, filter=latest), and
records every request (path, query, headers, arrival time) so tests can check what the adapter asked for.
`outage` makes every answer a 500; `inject` queues canned answers (a 429 with Retry-After, a secondary rate
limit 403) served before the real ones.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from failstreak.app import wiring
from failstreak.app.config import config_from
from failstreak.sources.common import HttpSource


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_iso(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


class FakePlatform:
    """A platform API: `route` answers authenticated requests; the server handles outages and injections."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.outage = False
        self.injected: list[Answer] = []
        self.delay = 0.0
        self.lock = threading.Lock()
        self.base_url = ""

    def authorized(self, headers: dict[str, str]) -> bool:
        raise NotImplementedError

    def route(self, path: str, query: dict[str, str]) -> Answer:
        raise NotImplementedError

    def inject(self, *answers: Answer) -> None:
        with self.lock:
            self.injected.extend(answers)

    def answer(self, seen: Seen) -> Answer:
        with self.lock:
            self.requests.append(seen)
            if self.injected:
                return self.injected.pop(0)
        if self.outage:
            return Answer(500, {"message": "Internal Server Error"})
        if not self.authorized(seen.headers):
            return Answer(401, {"message": "401 Unauthorized"})
        return self.route(seen.path, seen.query)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


class _Handler(BaseHTTPRequestHandler):
    platform: FakePlatform

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        seen = Seen(
            "GET", unquote(parts.path), query, {k.lower(): v for k, v in self.headers.items()}, time.monotonic()
        )
        answer = self.platform.answer(seen)
        if self.platform.delay:
            time.sleep(self.platform.delay)
        body = answer.raw if answer.raw is not None else json.dumps(answer.body).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in answer.headers.items():
            self.send_header(k, v)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(platform: FakePlatform) -> Iterator[FakePlatform]:
    """Run the fake on 127.0.0.1 on a free port; `platform.base_url` points at it."""
    handler = type("Handler", (_Handler,), {"platform": platform})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    platform.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield platform
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _page(items: list[Any], query: dict[str, str], default: int, maximum: int) -> tuple[list[Any], int, int | None]:
    per_page = min(int(query.get("per_page", default)), maximum)
    page = int(query.get("page", "1"))
    chunk = items[(page - 1) * per_page : page * per_page]
    next_page = page + 1 if page * per_page < len(items) else None
    return chunk, page, next_page


# --------------------------------------------------------------------------------------------------- Databricks


def databricks_run(
    run_id: int,
    name: str,
    result_state: str | None,
    *,
    start: int,
    end: int | None,
    attempt: int = 0,
    message: str = "",
    newer: bool = False,
    code: str | None = None,
    commit: str | None = None,
    original: int | None = None,
    life_cycle: str | None = None,
    repairs: list[tuple[int, str]] | None = None,
) -> dict[str, Any]:
    """A run as `runs/list` returns it (Jobs API 2.1; `newer` = only the 2.2-style `status` object).

    Shape: the Jobs API reference (docs.databricks.com/api/workspace/jobs/listruns) and databricks-sdk-py's
    `BaseRun` (databricks/sdk/service/jobs.py): `original_attempt_run_id` names a retry's first attempt,
    `repair_history` lists the ORIGINAL run then each REPAIR (`repairs`: (end time, result_state) per repair; the
    run's own state and end time become the last repair's, as runs/get shows a repaired run).
    """
    if repairs:
        end, result_state = repairs[-1]
    terminated = end is not None
    run: dict[str, Any] = {
        "job_id": 1000 + sum(map(ord, name)),
        "run_id": run_id,
        "number_in_job": run_id,
        "creator_user_name": "etl@example.com",
        "original_attempt_run_id": original or run_id,
        "run_name": name,
        "attempt_number": attempt,
        "start_time": start,
        "setup_duration": 0,
        "execution_duration": (end - start) if end else 0,
        "cleanup_duration": 0,
        "end_time": end or 0,
        "run_duration": (end - start) if end else 0,
        "trigger": "PERIODIC",
        "run_type": "JOB_RUN",
        "format": "MULTI_TASK",
        "run_page_url": f"https://adb-1.azuredatabricks.net/?o=1#job/1/run/{run_id}",
    }
    if commit:
        run["git_source"] = {
            "git_url": "https://github.com/o/r",
            "git_branch": "main",
            "git_snapshot": {"used_commit": commit},
        }
    if not newer:
        run["state"] = {
            "life_cycle_state": "TERMINATED" if terminated else "RUNNING",
            "state_message": message,
            "user_cancelled_or_timedout": result_state in ("CANCELED", "TIMEDOUT"),
        }
        if terminated and result_state:
            run["state"]["result_state"] = result_state
            if result_state == "SKIPPED":
                run["state"]["life_cycle_state"] = "SKIPPED"
        if life_cycle:
            run["state"]["life_cycle_state"] = life_cycle
    if newer or code:
        run["status"] = {"state": "TERMINATED" if terminated else "RUNNING"}
        if terminated:
            run["status"]["termination_details"] = {
                "code": code or "SUCCESS",
                "type": "SUCCESS" if (code or "SUCCESS") == "SUCCESS" else "CLIENT_ERROR",
                "message": message,
            }
    if repairs:
        history = [{"type": "ORIGINAL", "id": run_id, "start_time": start, "end_time": start + 60_000}]
        for i, (repair_end, state) in enumerate(repairs, start=1):
            history.append(
                {
                    "type": "REPAIR",
                    "id": run_id * 100 + i,
                    "start_time": repair_end - 60_000,
                    "end_time": repair_end,
                    "state": {"life_cycle_state": "TERMINATED", "result_state": state},
                }
            )
        run["repair_history"] = history
    return run


class FakeDatabricks(FakePlatform):
    """`GET /api/2.{1,2}/jobs/runs/list`: newest start first, `completed_only`, `active_only`, `start_time_from`.

    Paging as each API version answers: 2.1 with `has_more`, `next_page_token` and `prev_page_token`; 2.2 with the
    tokens only (no `has_more`; databricks-sdk-go `service/jobs/impl.go` and databricks-sdk-py `list_runs` page on
    `next_page_token` alone). An empty page omits `runs`. Tokens are opaque strings.
    """

    def __init__(self, token: str, runs: list[dict[str, Any]] | None = None) -> None:
        super().__init__()
        self.token = token
        self.runs = list(runs or [])

    def authorized(self, headers: dict[str, str]) -> bool:
        return headers.get("authorization") == f"Bearer {self.token}"

    def route(self, path: str, query: dict[str, str]) -> Answer:
        if path not in ("/api/2.1/jobs/runs/list", "/api/2.2/jobs/runs/list"):
            return Answer(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"No API found for 'GET {path}'"})
        runs = sorted(self.runs, key=lambda r: r["start_time"], reverse=True)
        if query.get("completed_only") == "true":
            runs = [r for r in runs if r["end_time"]]
        if query.get("active_only") == "true":
            runs = [r for r in runs if not r["end_time"]]
        if "start_time_from" in query:
            runs = [r for r in runs if r["start_time"] >= int(query["start_time_from"])]
        if "job_id" in query:
            runs = [r for r in runs if r["job_id"] == int(query["job_id"])]
        limit = min(int(query.get("limit", "20")), 25)
        offset = int(query.get("page_token", "0").removeprefix("tok-") or "0")
        chunk = runs[offset : offset + limit]
        more = offset + limit < len(runs)
        body: dict[str, Any] = {} if path.startswith("/api/2.2/") else {"has_more": more}
        if chunk:
            body["runs"] = chunk
        if more:
            body["next_page_token"] = f"tok-{offset + limit}"
        if offset:
            body["prev_page_token"] = f"tok-{max(0, offset - limit)}"
        return Answer(200, body)


# ------------------------------------------------------------------------------------------------------ Dataiku


def dataiku_job(project: str, name: str, state: str, *, started: int, ended: int | None, n: int) -> dict[str, Any]:
    """A job as `GET /public/api/projects/{key}/jobs/` (`DSSProject.list_jobs()`) returns it."""
    job_id = f"Build_{name}_{datetime.fromtimestamp(started / 1000, UTC):%Y-%m-%dT%H-%M-%S}.{n:03d}"
    stable = state in ("DONE", "FAILED", "ABORTED")
    job: dict[str, Any] = {
        "def": {
            "id": job_id,
            "name": name,
            "type": "RECURSIVE_BUILD",
            "projectKey": project,
            "initiator": "scheduler",
            "triggeredFrom": "SCHEDULER",
            "initiationTimestamp": started,
            "mailNotification": False,
            "outputs": [{"targetDatasetProjectKey": project, "targetDataset": name, "type": "DATASET"}],
        },
        "state": state,
        "stableState": stable,
        "startTime": started,
        "warningsCount": 0,
    }
    if ended is not None:
        job["endTime"] = ended
    return job


class FakeDataiku(FakePlatform):
    """`GET /public/api/projects/{projectKey}/jobs/`: a plain list, newest first, API key as the basic-auth user.

    `limit` as the DSS REST API documents it (doc.dataiku.com/dss/api/latest/rest, "jobs"): the newest N jobs,
    0 (the default) for all; there is no offset or cursor.
    """

    def __init__(self, api_key: str, projects: dict[str, list[dict[str, Any]]] | None = None) -> None:
        super().__init__()
        self.api_key = api_key
        self.projects = projects or {}

    def authorized(self, headers: dict[str, str]) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.api_key}:".encode()).decode()
        return headers.get("authorization") == expected

    def route(self, path: str, query: dict[str, str]) -> Answer:
        parts = path.strip("/").split("/")
        if len(parts) == 5 and parts[:3] == ["public", "api", "projects"] and parts[4] == "jobs":
            key = parts[3]
            if key not in self.projects:
                return Answer(
                    404,
                    {
                        "errorType": "com.dataiku.dip.exceptions.UnknownObjectException",
                        "message": f"Project {key} not found",
                    },
                )
            jobs = sorted(self.projects[key], key=lambda j: j["def"]["initiationTimestamp"], reverse=True)
            limit = int(query.get("limit", "0") or "0")  # 0, the default, is every job
            return Answer(200, jobs[:limit] if limit > 0 else jobs)
        return Answer(404, {"message": "not found"})


# ------------------------------------------------------------------------------------------------------- GitLab


def gitlab_pipeline(pid: int, ref: str, status: str, *, updated: int, sha: str = "") -> dict[str, Any]:
    sha = sha or f"{pid:040x}"
    return {
        "id": pid,
        "iid": pid - 1000,
        "project_id": 42,
        "sha": sha,
        "ref": ref,
        "status": status,
        "source": "push",
        "created_at": iso(updated - 600_000),
        "updated_at": iso(updated),
        "web_url": f"https://gitlab.example.com/group/app/-/pipelines/{pid}",
    }


def gitlab_job(
    jid: int,
    pipeline: dict[str, Any],
    name: str,
    status: str,
    *,
    finished: int | None,
    allow_failure: bool = False,
    failure_reason: str | None = None,
    stage: str = "test",
) -> dict[str, Any]:
    """A job as `GET /projects/:id/pipelines/:pipeline_id/jobs` returns it: the job entity of GitLab's API docs
    (docs.gitlab.com/api/jobs, "List pipeline jobs" example response; python-gitlab `ProjectPipelineJob`). It
    has no `retried` field: a retried job is only told apart by a later job of the same name."""
    job: dict[str, Any] = {
        "id": jid,
        "status": status,
        "stage": stage,
        "name": name,
        "ref": pipeline["ref"],
        "tag": False,
        "allow_failure": allow_failure,
        "created_at": pipeline["created_at"],
        "started_at": iso(finished - 60_000) if finished else None,
        "finished_at": iso(finished),
        "duration": 60.0 if finished else None,
        "user": {"id": 1, "username": "dev"},
        "commit": {"id": pipeline["sha"], "short_id": pipeline["sha"][:8], "title": "Change"},
        "pipeline": {
            "id": pipeline["id"],
            "project_id": 42,
            "ref": pipeline["ref"],
            "sha": pipeline["sha"],
            "status": pipeline["status"],
        },
        "web_url": f"https://gitlab.example.com/group/app/-/jobs/{jid}",
        "project": {"ci_job_token_scope_enabled": False},
    }
    if failure_reason:
        job["failure_reason"] = failure_reason
    return job


class FakeGitLab(FakePlatform):
    """Pipelines (`ref`, `updated_after`, `order_by=updated_at`, `sort`) and pipeline jobs (`include_retried`).

    Offset pagination with `X-Page`/`X-Next-Page`/`X-Total` headers, or keyset (`pagination=keyset` style) with
    only a `Link: rel="next"` header when `keyset` is set.
    """

    def __init__(self, token: str, project: str, keyset: bool = False) -> None:
        super().__init__()
        self.token = token
        self.project = project
        self.keyset = keyset
        self.pipelines: list[dict[str, Any]] = []
        self.jobs: dict[int, list[dict[str, Any]]] = {}

    def authorized(self, headers: dict[str, str]) -> bool:
        return headers.get("private-token") == self.token

    def add(self, pipeline: dict[str, Any], *jobs: dict[str, Any]) -> dict[str, Any]:
        self.pipelines = [p for p in self.pipelines if p["id"] != pipeline["id"]] + [pipeline]
        self.jobs[pipeline["id"]] = list(jobs)
        return pipeline

    def _paged(self, path: str, items: list[Any], query: dict[str, str]) -> Answer:
        chunk, page, next_page = _page(items, query, 20, 100)
        headers: dict[str, str] = {}
        if next_page:
            q = urlencode({**query, "page": str(next_page)})
            if self.keyset:
                headers["Link"] = f'<{self.base_url}{path}?{q}>; rel="next"'
            else:
                headers["X-Next-Page"] = str(next_page)
        if not self.keyset:
            headers.update({"X-Page": str(page), "X-Per-Page": query.get("per_page", "20"), "X-Total": str(len(items))})
            headers.setdefault("X-Next-Page", "")
        return Answer(200, chunk, headers)

    def route(self, path: str, query: dict[str, str]) -> Answer:
        prefix = f"/api/v4/projects/{self.project}/pipelines"
        if path == prefix:
            items = list(self.pipelines)
            if query.get("ref"):
                items = [p for p in items if p["ref"] == query["ref"]]
            if query.get("updated_after"):
                after = parse_iso(query["updated_after"])
                items = [p for p in items if parse_iso(p["updated_at"]) > after]
            if query.get("order_by") == "updated_at":
                items.sort(key=lambda p: p["updated_at"], reverse=query.get("sort", "desc") == "desc")
            else:
                items.sort(key=lambda p: p["id"], reverse=True)
            return self._paged(path, items, query)
        if path.startswith(prefix + "/") and path.endswith("/jobs"):
            pid = int(path[len(prefix) + 1 : -len("/jobs")])
            if pid not in self.jobs:
                return Answer(404, {"message": "404 Not found"})
            jobs = sorted(self.jobs[pid], key=lambda j: j["id"], reverse=True)
            if query.get("include_retried") != "true":
                # Without include_retried GitLab lists each job's latest try only.
                latest: dict[str, dict[str, Any]] = {}
                for job in jobs:
                    latest.setdefault(job["name"], job)
                jobs = list(latest.values())
            return self._paged(path, jobs, query)
        return Answer(404, {"message": "404 Project Not Found"})


# ------------------------------------------------------------------------------------------------------- GitHub


def github_run(
    rid: int,
    workflow: str,
    branch: str,
    *,
    created: int,
    updated: int,
    attempt: int = 1,
    status: str = "completed",
    conclusion: str | None = "success",
) -> dict[str, Any]:
    sha = f"{rid:040x}"
    return {
        "id": rid,
        "name": workflow,
        "node_id": f"WFR_{rid}",
        "head_branch": branch,
        "head_sha": sha,
        "path": f".github/workflows/{workflow.lower()}.yml",
        "run_number": rid % 1000,
        "run_attempt": attempt,
        "event": "push",
        "status": status,
        "conclusion": conclusion if status == "completed" else None,
        "workflow_id": 161335,
        "url": f"https://api.github.com/repos/octo/app/actions/runs/{rid}",
        "html_url": f"https://github.com/octo/app/actions/runs/{rid}",
        "created_at": iso(created),
        "updated_at": iso(updated),
        "run_started_at": iso(created),
    }


def github_job(
    jid: int,
    run: dict[str, Any],
    name: str,
    conclusion: str | None,
    *,
    completed: int | None,
    attempt: int | None = None,
    failed_step: str | None = None,
) -> dict[str, Any]:
    done = conclusion is not None
    steps = [{"name": "Set up job", "status": "completed", "conclusion": "success", "number": 1}]
    if failed_step:
        steps.append({"name": failed_step, "status": "completed", "conclusion": conclusion, "number": 2})
    return {
        "id": jid,
        "run_id": run["id"],
        "workflow_name": run["name"],
        "head_branch": run["head_branch"],
        "run_url": run["url"],
        "run_attempt": attempt or run["run_attempt"],
        "node_id": f"CR_{jid}",
        "head_sha": run["head_sha"],
        "url": f"https://api.github.com/repos/octo/app/actions/jobs/{jid}",
        "html_url": f"https://github.com/octo/app/actions/runs/{run['id']}/job/{jid}",
        "status": "completed" if done else "in_progress",
        "conclusion": conclusion,
        "created_at": run["created_at"],
        "started_at": run["created_at"],
        "completed_at": iso(completed) if done else None,
        "name": name,
        "steps": steps,
        "labels": ["ubuntu-latest"],
        "runner_name": "GitHub Actions 2",
    }


class FakeGitHub(FakePlatform):
    """Workflow runs (`branch`, `status`, `created=>=`) and run jobs (`filter=latest`), `Link` header paging."""

    def __init__(self, token: str, repo: str) -> None:
        super().__init__()
        self.token = token
        self.repo = repo
        self.runs: list[dict[str, Any]] = []
        self.jobs: dict[int, list[dict[str, Any]]] = {}

    def authorized(self, headers: dict[str, str]) -> bool:
        return headers.get("authorization") == f"Bearer {self.token}"

    def add(self, run: dict[str, Any], *jobs: dict[str, Any]) -> dict[str, Any]:
        self.runs = [r for r in self.runs if r["id"] != run["id"]] + [run]
        self.jobs[run["id"]] = list(jobs)
        return run

    def _paged(self, path: str, key: str, items: list[Any], query: dict[str, str]) -> Answer:
        chunk, page, next_page = _page(items, query, 30, 100)
        links = []
        if next_page:
            q = urlencode({**query, "page": str(next_page)})
            links.append(f'<{self.base_url}{path}?{q}>; rel="next"')
        if page > 1:
            q = urlencode({**query, "page": "1"})
            links.append(f'<{self.base_url}{path}?{q}>; rel="first"')
        headers = {"Link": ", ".join(links)} if links else {}
        headers.update({"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999", "x-ratelimit-resource": "core"})
        return Answer(200, {"total_count": len(items), key: chunk}, headers)

    def route(self, path: str, query: dict[str, str]) -> Answer:
        prefix = f"/repos/{self.repo}/actions/runs"
        if path == prefix:
            runs = sorted(self.runs, key=lambda r: r["created_at"], reverse=True)
            if query.get("branch"):
                runs = [r for r in runs if r["head_branch"] == query["branch"]]
            if query.get("status"):
                runs = [r for r in runs if r["status"] == query["status"] or r["conclusion"] == query["status"]]
            created = query.get("created", "")
            if created.startswith(">="):
                since = parse_iso(created[2:])
                runs = [r for r in runs if parse_iso(r["created_at"]) >= since]
            return self._paged(path, "workflow_runs", runs, query)
        if path.startswith(prefix + "/") and path.endswith("/jobs"):
            rid = int(path[len(prefix) + 1 : -len("/jobs")])
            if rid not in self.jobs:
                return Answer(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
            jobs = self.jobs[rid]
            if query.get("filter", "latest") == "latest":
                latest: dict[str, dict[str, Any]] = {}
                for job in sorted(jobs, key=lambda j: j["run_attempt"]):
                    latest[job["name"]] = job
                jobs = list(latest.values())
            return self._paged(path, "jobs", jobs, query)
        return Answer(404, {"message": "Not Found"})


# ------------------------------------------------------------------------------------------------------ Replay


@dataclass
class Page:
    """One recorded answer: served for a GET of `path` whose query has every `query` item (None: the parameter
    must be absent). `{base}` in a header value becomes the server's base URL (for `Link` headers)."""

    path: str
    query: dict[str, str | None]
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class Replay(FakePlatform):
    """Serves a platform's published sample pages, page by page, to requests carrying the expected credentials.

    A request no page matches gets a 404, so a contract test fails on any request the adapter should not make.
    """

    def __init__(self, header: str, value: str, pages: list[Page]) -> None:
        super().__init__()
        self.header = header.lower()
        self.value = value
        self.pages = pages

    def authorized(self, headers: dict[str, str]) -> bool:
        return headers.get(self.header) == self.value

    def route(self, path: str, query: dict[str, str]) -> Answer:
        for page in self.pages:
            if page.path == path and all(
                (k not in query) if v is None else query.get(k) == v for k, v in page.query.items()
            ):
                headers = {k: v.replace("{base}", self.base_url) for k, v in page.headers.items()}
                return Answer(200, page.body, headers)
        return Answer(404, {"message": f"no recorded page for {path}?{urlencode(query)}"})


def build_source(block: dict[str, Any]) -> HttpSource:
    """The adapter for one `sources:` block, validated with the config and built as a pass builds it."""
    [src] = wiring.sources(config_from({"sources": [block]}))
    assert isinstance(src, HttpSource)
    return src
