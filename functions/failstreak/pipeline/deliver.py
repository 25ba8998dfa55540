"""Deliver: the outbox entries leased to this pass, sent through the notifiers, threaded on earlier messages."""

from __future__ import annotations

from failstreak.core.jobindex import briefs
from failstreak.core.model import Event, State
from failstreak.core.outbox import NO_DESTINATION, NO_DESTINATION_ERROR, Delivery, DeliveryError, DeliveryResult
from failstreak.notifiers.base import Notifier, failed


def _thread_index(state: State) -> dict[tuple[str, str], list[tuple[str, bool]]]:
    """(destination, thread ref) → the jobs announced in that message, by name, with whether still alerting."""
    index: dict[tuple[str, str], list[tuple[str, bool]]] = {}
    for name in sorted(b.name for b in briefs(state.jobs) if b.threaded):
        job = state.jobs[name]
        for dest, ref in job.threads.items():
            index.setdefault((dest, ref), []).append((name, job.alert is not None))
    return index


def deliver(notifiers: dict[str, Notifier], state: State, pass_id: str) -> list[DeliveryResult]:
    """Send the outbox entries this pass leased, grouped by destination, each group to its notifier; one result
    per entry. A missing notifier fails its entries; a broken one fails its own (`notifiers/base.BaseNotifier`),
    never the pass."""
    groups: dict[str, list[Delivery]] = {}
    index: dict[tuple[str, str], list[tuple[str, bool]]] | None = None
    for e in state.outbox:
        if e.lease_owner != pass_id:
            continue
        job = state.jobs.get(e.notification.job)
        thread = job.threads.get(e.destination) if job is not None else None
        siblings: tuple[tuple[str, bool], ...] = ()
        if thread is not None and e.notification.event is Event.RESOLVED:
            index = _thread_index(state) if index is None else index
            siblings = tuple(index.get((e.destination, thread), ()))
        groups.setdefault(e.destination, []).append(Delivery(e.id, e.notification, thread, siblings))
    results: list[DeliveryResult] = []
    for dest, deliveries in groups.items():
        kind, _, target = dest.partition(":")
        notifier = notifiers.get(kind)
        if notifier is None:
            error = NO_DESTINATION_ERROR if dest == NO_DESTINATION else f"no {kind} notifier is configured"
            results.extend(failed(deliveries, DeliveryError(error, retryable=False)))
        else:
            results.extend(notifier.send(target, deliveries))
    return results
