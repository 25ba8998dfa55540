"""What a CI system's environment says about the current run. Standard library only: the light reporter
(`pip install failstreak`, failstreak/lightreport.py) and `app/report.py` share it.

For GitHub Actions and GitLab CI the defaults are the run identity the platform's source and webhook use
(docs/sources.md, "Run identity"), so reported, polled and pushed runs are one history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CiDefaults:
    """What a CI system's environment says about the current run. Every field may be missing."""

    system: str | None = None
    run_id: str | None = None
    url: str | None = None
    commit: str | None = None
    attempt: int | None = None


def first(env: Mapping[str, str], *names: str) -> str | None:
    """The first of `names` set to something other than blanks in `env`, stripped."""
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def github(env: Mapping[str, str]) -> CiDefaults:
    run_id = first(env, "GITHUB_RUN_ID")
    server, repo = first(env, "GITHUB_SERVER_URL") or "https://github.com", first(env, "GITHUB_REPOSITORY")
    attempt = first(env, "GITHUB_RUN_ATTEMPT")
    return CiDefaults(
        system="github",
        run_id=run_id,
        url=f"{server}/{repo}/actions/runs/{run_id}" if run_id and repo else None,
        commit=first(env, "GITHUB_SHA"),
        attempt=int(attempt) if attempt and attempt.isdigit() else None,
    )


def gitlab(env: Mapping[str, str]) -> CiDefaults:
    # The gitlab source's identity (docs/sources.md, "Run identity"): the run is the pipeline, and each try of
    # a job (a retry is a new job id; a played manual job keeps its id) is an attempt numbered by its job id.
    job_id = first(env, "CI_JOB_ID")
    return CiDefaults(
        system="gitlab",
        run_id=first(env, "CI_PIPELINE_ID"),
        url=first(env, "CI_JOB_URL"),
        commit=first(env, "CI_COMMIT_SHA"),
        attempt=int(job_id) if job_id and job_id.isdigit() else None,
    )


def ci_defaults(env: Mapping[str, str]) -> CiDefaults:
    """Recognise GitHub Actions, GitLab CI, Buildkite, CircleCI, AWS CodeBuild, Azure Pipelines and Jenkins."""
    if env.get("GITHUB_ACTIONS") == "true" or "GITHUB_RUN_ID" in env:
        return github(env)
    if "GITLAB_CI" in env or "CI_JOB_ID" in env:
        return gitlab(env)
    if "BUILDKITE_BUILD_ID" in env:
        return CiDefaults(
            "buildkite",
            first(env, "BUILDKITE_JOB_ID", "BUILDKITE_BUILD_ID"),
            first(env, "BUILDKITE_BUILD_URL"),
            first(env, "BUILDKITE_COMMIT"),
        )
    if "CIRCLE_BUILD_NUM" in env:
        return CiDefaults(
            "circleci", first(env, "CIRCLE_BUILD_NUM"), first(env, "CIRCLE_BUILD_URL"), first(env, "CIRCLE_SHA1")
        )
    if "CODEBUILD_BUILD_ID" in env:
        return CiDefaults(
            "codebuild",
            first(env, "CODEBUILD_BUILD_ID"),
            first(env, "CODEBUILD_BUILD_URL"),
            first(env, "CODEBUILD_RESOLVED_SOURCE_VERSION"),
        )
    if "BUILD_BUILDID" in env and "SYSTEM_COLLECTIONURI" in env:
        return CiDefaults("azure", first(env, "BUILD_BUILDID"), None, first(env, "BUILD_SOURCEVERSION"))
    if "JENKINS_URL" in env or "BUILD_URL" in env:
        return CiDefaults(
            "jenkins", first(env, "BUILD_NUMBER", "BUILD_ID"), first(env, "BUILD_URL"), first(env, "GIT_COMMIT")
        )
    return CiDefaults()
