"""Pages that are JSON but not in a platform's documented shape fail that source with a one-line error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from failstreak.core.model import Status, now_ms
from failstreak.errors import SourceError
from tests.integration.platform_servers import Answer, FakeDatabricks, FakePlatform, build_source, databricks_run, serve

pytestmark = pytest.mark.integration

NOW = now_ms()
MIN = 60_000


class Refusing(FakePlatform):
    """Serves only injected answers; anything else is a 404."""

    def authorized(self, headers: dict[str, str]) -> bool:
        return True

    def route(self, path: str, query: dict[str, str]) -> Answer:
        return Answer(404, {"message": "not found"})


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Refusing]:
    monkeypatch.setenv("TOKEN", "t")
    with serve(Refusing()) as fake:
        yield fake


BLOCKS: dict[str, dict[str, Any]] = {
    "databricks": {"token": {"env": "TOKEN"}},
    "dataiku": {"api_key": {"env": "TOKEN"}, "projects": ["P"]},
    "gitlab": {"token": {"env": "TOKEN"}, "project": "g/p"},
    "github": {"token": {"env": "TOKEN"}, "repo": "o/r"},
}
PIPELINE = {"id": 1, "updated_at": "2026-01-01T00:00:00Z"}
RUN = {"id": 1, "status": "completed", "name": "CI"}

CASES = [
    ("databricks", [Answer(200, [])], "expected a JSON object"),
    ("databricks", [Answer(200, {"runs": [1]})], "a run is not an object"),
    (
        "databricks",
        [Answer(200, {"runs": [{"run_id": 1, "end_time": "late", "state": {"result_state": "FAILED"}}]})],
        "malformed page: RecordError",
    ),
    ("databricks", [Answer(200, {"has_more": False}), Answer(200, {"runs": "x"})], "'runs' is not a list"),
    ("dataiku", [Answer(200, {"jobs": []})], "expected a JSON list of jobs"),
    ("dataiku", [Answer(200, [{"state": "DONE"}])], "a job has no 'def' object"),
    ("gitlab", [Answer(200, {"pipelines": []})], "expected a list"),
    ("gitlab", [Answer(200, [{"ref": "main"}])], "a pipeline has no id"),
    (
        "gitlab",
        [Answer(200, [PIPELINE]), Answer(200, [{"id": 3}])],
        "malformed page: ValueError: a pipeline job has no name",
    ),
    ("gitlab", [Answer(200, [PIPELINE], {"X-Next-Page": "soon"})], "X-Next-Page is 'soon'"),
    ("github", [Answer(200, {"workflow_runs": "none"})], "expected a list in 'workflow_runs'"),
    ("github", [Answer(200, {"workflow_runs": [{"name": "CI"}]})], "a workflow run has no id"),
    ("github", [Answer(200, {"workflow_runs": [RUN]}), Answer(200, {"jobs": ["x"]})], "a job is not an object"),
]


@pytest.mark.parametrize(("kind", "answers", "message"), CASES)
def test_a_page_out_of_shape_fails_the_source_naming_what_is_wrong(
    api: Refusing, kind: str, answers: list[Answer], message: str
) -> None:
    # Given a platform answering pages out of its documented shape
    api.inject(*answers)
    src = build_source({"type": kind, "url": api.base_url, **BLOCKS[kind]})

    # When the source pulls, then it fails alone with a one-line message naming it
    with pytest.raises(SourceError) as err:
        src.pull({}, NOW)
    assert str(err.value).startswith(f"{kind}: ")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_older_databricks_pages_without_tokens_are_followed_by_offset(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a workspace paging by has_more only, with a skipped run and a run of an unknown result
    monkeypatch.setenv("TOKEN", "t")
    with serve(FakeDatabricks("t")) as api:
        first = databricks_run(1, "a", "SUCCESS", start=NOW - 9 * MIN, end=NOW - 8 * MIN)
        skipped = databricks_run(2, "b", None, start=NOW - 9 * MIN, end=NOW - 8 * MIN)
        skipped["state"] = {"life_cycle_state": "SKIPPED", "state_message": "An active run already exists"}
        unknown = databricks_run(3, "c", "SOMETHING_NEW", start=NOW - 9 * MIN, end=NOW - 8 * MIN)
        api.inject(
            Answer(200, {"runs": [first], "has_more": True}),
            Answer(200, {"runs": [skipped, unknown], "has_more": False}),
        )
        src = build_source({"type": "databricks", "url": api.base_url, "token": {"env": "TOKEN"}})

        # When the source pulls
        got = {ex.job: ex for ex in src.pull({}, NOW).executions}

        # Then the second page was asked by offset, the skipped run kept with its message, the unknown left out
        assert api.requests[1].query["offset"] == "1"
    assert {k: v.status for k, v in got.items()} == {"a": Status.SUCCESS, "b": Status.SKIPPED}
    assert got["b"].reason == "SKIPPED: An active run already exists"


def test_a_secondary_rate_limit_without_a_hint_waits_a_minute_so_a_short_budget_gives_up(api: Refusing) -> None:
    # Given a 403 whose rate-limit headers say the quota is spent but give no reset time
    api.inject(Answer(403, {"message": "secondary rate limit"}, {"x-ratelimit-remaining": "0"}))
    src = build_source({"type": "github", "url": api.base_url, "time_budget_seconds": 5, **BLOCKS["github"]})

    # When the source pulls, then it does not hammer the API but stops for this pass
    with pytest.raises(SourceError, match=r"waiting 60s more would overrun the github time budget"):
        src.pull({}, NOW)
    assert len(api.requests) == 1
