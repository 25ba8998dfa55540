"""Job-key rules: regex rewrites, include/exclude globs, folding matrix variants of one run."""

from __future__ import annotations

import pytest

from failstreak.app.config import JobKeys, Rewrite
from failstreak.core.jobnames import JobKeyRules
from failstreak.core.model import Execution, Status

MATRIX = Rewrite(pattern=r"^(.+?): \[.*\]$", replace=r"\1")


def ex(
    job: str, run: str = "1", status: Status = Status.SUCCESS, at: int = 1_700_000_000_000, attempt: int = 0, **kw: str
) -> Execution:
    return Execution(job=job, run_id=run, status=status, finished_at=at, attempt=attempt, **kw)


def rules(
    rewrite: list[Rewrite] | None = None, include: list[str] | None = None, exclude: list[str] | None = None
) -> JobKeyRules:
    return JobKeys(rewrite=rewrite or [], include=include or [], exclude=exclude or []).rules()


def test_no_rules_leave_executions_untouched() -> None:
    # Given no rules
    batch = [ex("a"), ex("b")]

    # When applied, then the same executions come back and nothing is filtered
    out, dropped = rules().apply(batch)
    assert out == batch
    assert dropped == 0


def test_a_rewrite_folds_a_matrix_variant_name_into_its_job() -> None:
    # Given the matrix rule, when a variant's name is keyed, then the bracketed suffix is gone
    r = rules([MATRIX])
    assert r.key("test: [linux, 3]") == "test"
    assert r.key("deploy") == "deploy"


def test_rewrites_apply_in_order_each_to_the_previous_result() -> None:
    # Given a rule that strips a prefix and one that lowercases a known suffix
    r = rules([Rewrite(pattern=r"^ci-", replace=""), Rewrite(pattern=r"-NIGHTLY$", replace="-nightly")])

    # When a name matching both is keyed, then both applied in turn
    assert r.key("ci-etl-NIGHTLY") == "etl-nightly"


def test_a_rewrite_to_an_empty_name_filters_the_job_out() -> None:
    # Given a rule that erases a whole name
    r = rules([Rewrite(pattern=r"^tmp-.*$", replace="")])

    # When keyed, then the job is dropped
    out, dropped = r.apply([ex("tmp-123"), ex("keep")])
    assert [e.job for e in out] == ["keep"]
    assert dropped == 1


def test_include_keeps_only_matching_jobs_and_exclude_wins_over_include() -> None:
    # Given include nightly-* and exclude *-docs
    r = rules(include=["nightly-*"], exclude=["*-docs"])

    # When a batch is applied
    out, dropped = r.apply([ex("nightly-etl"), ex("nightly-docs"), ex("hourly-etl")])

    # Then only the included, not excluded job remains
    assert [e.job for e in out] == ["nightly-etl"]
    assert dropped == 2


def test_globs_see_the_rewritten_name_and_are_case_sensitive() -> None:
    # Given a fold and an include on the folded name
    r = rules([MATRIX], include=["test"])

    # When variants and a differently-cased job are keyed
    # Then the variant is included through its folded name and "Test" is not
    assert r.key("test: [mac, 2]") == "test"
    assert r.key("Test") is None


def test_variants_of_one_run_fold_into_one_execution_that_fails_if_any_variant_failed() -> None:
    # Given two variants of run 7, one failing, and an unrelated job
    batch = [
        ex("test: [linux]", "7", Status.SUCCESS, at=100_000_000_001, url="u-linux"),
        ex("test: [mac]", "7", Status.FAILED, at=100_000_000_000, url="u-mac", reason="boom"),
        ex("lint", "7"),
    ]

    # When the matrix rule applies
    out, _ = rules([MATRIX]).apply(batch)

    # Then run 7 of "test" is one failed execution carrying the failing variant's link and reason,
    # finished when the last variant finished, in the place of its first variant
    assert [e.job for e in out] == ["test", "lint"]
    folded = out[0]
    assert (folded.status, folded.url, folded.reason) == (Status.FAILED, "u-mac", "boom")
    assert folded.finished_at == 100_000_000_001


def test_a_folded_run_with_a_variant_still_running_is_running_unless_one_failed() -> None:
    # Given a success and a running variant of run 1, and a failure and a running variant of run 2
    batch = [
        ex("t: [a]", "1", Status.SUCCESS),
        ex("t: [b]", "1", Status.RUNNING),
        ex("t: [a]", "2", Status.RUNNING),
        ex("t: [b]", "2", Status.TIMED_OUT),
    ]

    # When folded
    out, _ = rules([MATRIX]).apply(batch)

    # Then run 1 waits for its last variant and run 2 has already failed
    assert [(e.run_id, e.status) for e in out] == [("1", Status.RUNNING), ("2", Status.TIMED_OUT)]


def test_ignored_variants_do_not_hide_a_success_and_all_ignored_stays_ignored() -> None:
    # Given run 1 with a canceled and a successful variant, run 2 with a skipped and a canceled one
    batch = [
        ex("t: [a]", "1", Status.CANCELED),
        ex("t: [b]", "1", Status.SUCCESS),
        ex("t: [a]", "2", Status.SKIPPED),
        ex("t: [b]", "2", Status.CANCELED),
    ]

    # When folded, then run 1 succeeded and run 2 is canceled
    out, _ = rules([MATRIX]).apply(batch)
    assert [(e.run_id, e.status) for e in out] == [("1", Status.SUCCESS), ("2", Status.CANCELED)]


def test_a_retried_variant_counts_with_its_latest_attempt_and_lifts_the_runs_attempt() -> None:
    # Given variant a failed then passed on attempt 1, variant b passed on attempt 0
    batch = [
        ex("t: [a]", "9", Status.FAILED, attempt=0),
        ex("t: [a]", "9", Status.SUCCESS, attempt=1),
        ex("t: [b]", "9", Status.SUCCESS, attempt=0),
    ]

    # When folded, then the run passed at attempt 1, so it replaces an earlier failed attempt in the engine
    [folded] = rules([MATRIX]).apply(batch)[0]
    assert (folded.status, folded.attempt) == (Status.SUCCESS, 1)


def test_attempts_of_a_single_job_are_left_to_the_engine() -> None:
    # Given two attempts of one job name that the rules rename but do not fold with anything
    batch = [ex("t: [a]", "3", Status.FAILED, attempt=0), ex("t: [a]", "3", Status.SUCCESS, attempt=1)]

    # When applied, then both are kept renamed, for the engine's supersede logic
    out, _ = rules([MATRIX]).apply(batch)
    assert [(e.job, e.attempt) for e in out] == [("t", 0), ("t", 1)]


def test_a_replacement_naming_a_missing_group_is_a_config_error() -> None:
    # Given a pattern with one group, when a replacement names a second or a named one, then config rejects it
    with pytest.raises(ValueError, match="invalid replacement"):
        Rewrite(pattern=r"^(\w+)-x$", replace=r"\2")
    with pytest.raises(ValueError, match="invalid replacement"):
        Rewrite(pattern=r"^(\w+)-x$", replace=r"\g<name>")
    with pytest.raises(ValueError, match="invalid regular expression"):
        Rewrite(pattern=r"^(\w+", replace="")


def test_a_pattern_with_global_flags_is_accepted_and_applied() -> None:
    # Given a case-insensitive pattern (its flags must lead, so it cannot be probed wrapped)
    r = rules([Rewrite(pattern=r"(?i)^NIGHTLY-", replace="")])

    # When keyed, then it applies
    assert r.key("nightly-etl") == "etl"
