"""The console notifier: prints each notification readably, for the CLI and for local runs."""

from __future__ import annotations

import sys
from typing import TextIO

from failstreak.app.text import for_terminal
from failstreak.core.model import Notification
from failstreak.core.outbox import Delivery, DeliveryResult
from failstreak.notifiers.base import Notifier
from failstreak.notifiers.render import EVENT_ICON, EVENT_TITLE, details, failing_links, headline, strip


def render_text(n: Notification) -> str:
    """A notification as a few lines of plain text; control characters in what producers wrote are escaped."""
    lines = [f"{EVENT_ICON[n.event]} {EVENT_TITLE[n.event].upper():<13} {headline(n)}"]
    if n.recent:
        lines.append(f"    last runs: {strip(n)}  (oldest → newest)")
    facts = details(n)
    if facts:
        lines.append("    " + " · ".join(facts))
    lines.extend(f"    run {run_id}: {url}" for run_id, url in failing_links(n, limit=3))
    return "\n".join(for_terminal(line) for line in lines)


class ConsoleNotifier(Notifier):
    kind = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, target: str, deliveries: list[Delivery]) -> list[DeliveryResult]:
        stream = self._stream or sys.stdout
        results = []
        for d in deliveries:
            try:
                print(render_text(d.notification), file=stream, flush=True)
            except OSError as e:
                results.append(DeliveryResult(d.outbox_id, False, error=f"console: {e}", retryable=True))
                continue
            results.append(DeliveryResult(d.outbox_id, True))
        return results
