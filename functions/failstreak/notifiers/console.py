"""The console notifier: prints each notification readably, for the CLI and for local runs."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import TextIO

from failstreak.app.text import for_terminal
from failstreak.core.model import Notification
from failstreak.core.outbox import Delivery, DeliveryError, DeliveryResult
from failstreak.notifiers.base import BaseNotifier, Batch
from failstreak.notifiers.render import EVENT_ICON, EVENT_TITLE, daily_text, details, failing_links, headline, strip


def render_text(n: Notification) -> str:
    """A notification as a few lines of plain text; control characters in what producers wrote are escaped."""
    if n.digest is not None:
        return "\n".join(for_terminal(line) for line in daily_text(n).split("\n"))
    lines = [f"{EVENT_ICON[n.event]} {EVENT_TITLE[n.event].upper():<13} {headline(n)}"]
    if n.recent:
        lines.append(f"    last runs: {strip(n)}  (oldest → newest)")
    facts = details(n)
    if facts:
        lines.append("    " + " · ".join(facts))
    lines.extend(f"    run {run_id}: {url}" for run_id, url in failing_links(n, limit=3))
    return "\n".join(for_terminal(line) for line in lines)


class ConsoleNotifier(BaseNotifier[Notification]):
    """Prints each notification on its own; a stream that cannot be written keeps it pending (retryable)."""

    kind = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self._stream = stream

    def batches(
        self, target: str, deliveries: Sequence[Delivery], sent: Mapping[str, DeliveryResult]
    ) -> Iterator[Batch[Notification]]:
        return (Batch(d.notification, (d,)) for d in deliveries)

    def deliver(self, target: str, message: Notification) -> None:
        try:
            print(render_text(message), file=self._stream or sys.stdout, flush=True)
        except OSError as e:
            raise DeliveryError(str(e), retryable=True) from None
