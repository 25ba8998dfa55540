"""Job-key rules: regex rewrites, then include/exclude globs, applied to every execution. Pure."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

import msgspec

from failstreak.core.model import Execution, Status


class JobKeyRules:
    """Rewrites job names (for example to fold matrix variants `test: [linux, 3]` into `test`) and filters them.

    Rewrites apply in order, each to the result of the previous one. A job is kept when it matches an
    `include` glob (or there are none) and matches no `exclude` glob; globs see the rewritten name.
    """

    def __init__(
        self, rewrite: Iterable[tuple[str, str]] = (), include: Iterable[str] = (), exclude: Iterable[str] = ()
    ) -> None:
        """`rewrite`: (regular expression, replacement) pairs; `include`, `exclude`: globs on the rewritten name."""
        self._rewrites = [(re.compile(pattern), replace) for pattern, replace in rewrite]
        self._include = [re.compile(fnmatch.translate(g)) for g in include]
        self._exclude = [re.compile(fnmatch.translate(g)) for g in exclude]
        self._cache: dict[str, str | None] = {}

    @property
    def active(self) -> bool:
        return bool(self._rewrites or self._include or self._exclude)

    def key(self, job: str) -> str | None:
        """The job's key after the rules, or None if the job is filtered out."""
        if job in self._cache:
            return self._cache[job]
        name = job
        for pattern, replace in self._rewrites:
            name = pattern.sub(replace, name).strip()
        keep = bool(name) and (not self._include or any(p.match(name) for p in self._include))
        if keep and any(p.match(name) for p in self._exclude):
            keep = False
        result = name if keep else None
        self._cache[job] = result
        return result

    def apply(self, executions: Iterable[Execution]) -> tuple[list[Execution], int]:
        """The executions with rewritten job names, and how many were filtered out.

        When a rewrite folds several jobs into one (matrix variants `test: [linux, 3]`, `test: [mac, 3]` into
        `test`), their executions of the same run become one execution of the folded job: otherwise the engine
        would keep whichever variant came first as the run and drop the others as duplicates, hiding a variant
        that fails. The folded run takes, of each variant's latest attempt, the worst status (a failure, else a
        variant still running, else a success, else an ignored status), the latest finish time, the highest
        attempt, and the link, commit and reason of the variant that decided the status. Variants of one run are
        folded when they arrive in the same pass (a source reads a run's jobs together).
        """
        if not self.active:
            listed = list(executions)
            return listed, 0
        renamed: list[tuple[Execution, str]] = []
        dropped = 0
        variants: dict[tuple[str, str], set[str]] = {}
        for ex in executions:
            name = self.key(ex.job)
            if name is None:
                dropped += 1
                continue
            renamed.append((ex, name))
            variants.setdefault((name, ex.run_id), set()).add(ex.job)
        slots: list[Execution | tuple[str, str]] = []  # a folded run's slot holds its key until merged
        folded: dict[tuple[str, str], dict[str, Execution]] = {}
        for ex, name in renamed:
            run = (name, ex.run_id)
            if len(variants[run]) > 1:
                group = folded.get(run)
                if group is None:
                    group = folded[run] = {}
                    slots.append(run)
                seen = group.get(ex.job)
                if seen is None or ex.attempt > seen.attempt:
                    group[ex.job] = ex
            elif name == ex.job:
                slots.append(ex)
            else:
                slots.append(msgspec.structs.replace(ex, job=name))
        out = [slot if isinstance(slot, Execution) else _fold(slot[0], list(folded[slot].values())) for slot in slots]
        return out, dropped


_FOLD_RANK: dict[Status, int] = {
    Status.FAILED: 0,
    Status.TIMED_OUT: 0,
    Status.RUNNING: 1,
    Status.SUCCEEDED_WITH_FAILURES: 2,
    Status.SUCCESS: 3,
    Status.UPSTREAM_FAILED: 4,
    Status.CANCELED: 5,
    Status.SKIPPED: 6,
}


def _fold(job: str, variants: list[Execution]) -> Execution:
    """One execution of `job` for several variants' executions of the same run."""
    decisive = min(variants, key=lambda e: _FOLD_RANK[e.status])
    return msgspec.structs.replace(
        decisive,
        job=job,
        finished_at=max(e.finished_at for e in variants),
        attempt=max(e.attempt for e in variants),
    )
