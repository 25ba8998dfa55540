"""The jobs as a text table, as `failstreak status` and the demo show them."""

from __future__ import annotations

from failstreak.app.config import Config
from failstreak.app.text import for_terminal
from failstreak.core import counting, triage
from failstreak.core.alerting import mute_covering
from failstreak.core.health import Judgement
from failstreak.core.model import JobState, State
from failstreak.core.mutes import all_mutes


def job_triage(cfg: Config, job: JobState, now: int) -> tuple[Judgement, dict[str, int]]:
    """The job's health now, and the failures of each category in its window (docs/triage.md)."""
    policy = cfg.policy_for(job.name)
    silent = triage.silent_since(job, policy, now, learn=cfg.silence.learn, grace_ms=cfg.silence.grace_ms)
    return triage.health(job, policy, silent), counting.category_failures(job, policy)


def _not_counted(by_category: dict[str, int], counts: frozenset[str]) -> str:
    """`  [not counted: 3 infra]`: the failures in the window of categories the job does not count, if any."""
    others = [f"{n} {for_terminal(c)}" for c, n in sorted(by_category.items()) if n and c not in counts]
    return f"  [not counted: {', '.join(others)}]" if others else ""


def status_table(cfg: Config, state: State, now: int) -> str:
    """Jobs as a text table: alerting first, then longest streak, then name."""
    mutes = all_mutes(state, cfg.mutes, now)
    ordered = sorted(state.jobs.values(), key=lambda j: (j.alert is None, -j.consecutive_failures, j.name))
    shown = {j.name: for_terminal(j.name) for j in ordered}
    width = max([len("JOB"), *(len(name) for name in shown.values())])
    width = min(width, 60)
    lines = [f"{'JOB':<{width}}  STREAK  WINDOW  TOTAL (FAILED)  HEALTH   STATE"]
    for j in ordered:
        policy = cfg.policy_for(j.name)
        judged, by_category = job_triage(cfg, j, now)
        label = f"ALERTING ({', '.join(j.alert.reasons)})" if j.alert else "ok"
        mute = mute_covering(j, mutes, now)
        if mute is not None:
            label += f", muted{': ' + for_terminal(mute.reason) if mute.reason else ''}"
        if policy.window != cfg.thresholds.window:
            label += f"  [window {policy.window}]"
        label += _not_counted(by_category, policy.counts)
        window = f"{j.window_failures}/{j.window_size}"
        name = shown[j.name] if len(shown[j.name]) <= width else shown[j.name][: width - 1] + "…"
        lines.append(
            f"{name:<{width}}  {j.consecutive_failures:>6}  {window:>6}  "
            f"{j.total_runs:>5} ({j.total_failures:>5})  {judged.health.value:<7}  {label}"
        )
    alerting = sum(1 for j in ordered if j.alert)
    lines.append(f"{len(ordered)} jobs, {alerting} alerting")
    return "\n".join(lines)
