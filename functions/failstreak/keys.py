"""Job-key rules: regex rewrites, then include/exclude globs, applied to every execution. Pure."""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from failstreak.model import Execution

if TYPE_CHECKING:
    from failstreak.config import JobKeys


class JobKeyRules:
    """Rewrites job names (for example to fold matrix variants `test: [linux, 3]` into `test`) and filters them.

    Rewrites apply in order, each to the result of the previous one. A job is kept when it matches an
    `include` glob (or there are none) and matches no `exclude` glob; globs see the rewritten name.
    """

    def __init__(self, rules: JobKeys) -> None:
        self._rewrites = [(re.compile(r.pattern), r.replace) for r in rules.rewrite]
        self._include = [re.compile(fnmatch.translate(g)) for g in rules.include]
        self._exclude = [re.compile(fnmatch.translate(g)) for g in rules.exclude]
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
        """The executions with rewritten job names, and how many were filtered out."""
        if not self.active:
            listed = list(executions)
            return listed, 0
        out = []
        dropped = 0
        for ex in executions:
            name = self.key(ex.job)
            if name is None:
                dropped += 1
            elif name == ex.job:
                out.append(ex)
            else:
                out.append(dataclasses.replace(ex, job=name))
        return out, dropped
