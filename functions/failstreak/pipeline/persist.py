"""Saving the state: the one conflict-retry loop, used by the pass and by every command that changes the state."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from failstreak.core.model import State
from failstreak.errors import ConflictError, FailstreakError
from failstreak.state.base import Loaded, StateStore
from failstreak.state.codec import Encoded, decode_document, encode_document


class Saved(NamedTuple):
    """The state as saved (a reloaded one if a conflict happened), its version token and its encoding."""

    state: State
    token: str
    encoded: Encoded


def save_with_retry(
    store: StateStore,
    loaded: Loaded,
    state: State,
    redo: Callable[[State], object],
    *,
    attempts: int,
    gave_up: str,
    on_conflict: Callable[[], None] | None = None,
    since: tuple[Encoded, set[str]] | None = None,
) -> Saved:
    """Save `state` with a conditional write at `loaded.token`; on conflict reload, run `redo` on the fresh state
    and try again, `attempts` writes at most, then raise FailstreakError(`gave_up`).

    `redo` must bring the fresh state to what the caller's change made of the old one (the change is applied to
    `state` before the call). `on_conflict` is told of each conflict. `since`: the encoding of this state's
    previous save and the jobs changed after it, whose unchanged jobs the first attempt reuses, or the document
    as read (`decode_document`), whose members the first attempt reuses where the jobs encode the same (a
    reloaded state's jobs are decoded as they are read, as the first time).
    """
    for _ in range(attempts):
        encoded = encode_document(state, since=since[0], changed=since[1]) if since else encode_document(state)
        try:
            return Saved(state, store.save(encoded.body, loaded.token), encoded)
        except ConflictError:
            if on_conflict is not None:
                on_conflict()
            since = None
            loaded = store.load()
            state = decode_document(loaded.data, store.location)[0]
            redo(state)
    raise FailstreakError(gave_up)
