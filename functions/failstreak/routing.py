"""Routing: which destinations a notification goes to.

A destination is a string `kind:target` (`slack:#ci-alerts`, `email:oncall@example.com`) or `console`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from failstreak.model import Notification

if TYPE_CHECKING:
    from failstreak.config import Config


class Router:
    """Routes every notification to the configured default destinations."""

    def __init__(self, cfg: Config) -> None:
        self._defaults: list[str] = []
        if cfg.notify.console_enabled:
            self._defaults.append("console")
        slack = cfg.notify.slack
        if slack is not None and slack.default_channel:
            self._defaults.append(f"slack:{slack.default_channel}")
        email = cfg.notify.email
        if email is not None:
            self._defaults.extend(f"email:{a}" for a in email.default_to)

    def destinations(self, n: Notification) -> list[str]:
        """Every destination for `n`, each once, in a stable order."""
        return list(self._defaults)

    def teams(self, n: Notification) -> list[str]:
        """The teams that own the job (for per-team metrics); `default` when no team does."""
        return ["default"]
