"""Domain errors. Adapters translate vendor errors into these; the engine never sees vendor types."""

from __future__ import annotations


class FailstreakError(Exception):
    """Base class: a failure the pass can describe in one line."""


class ConfigError(FailstreakError):
    """The configuration is missing or invalid. Retrying does not help."""


class StateCorrupt(FailstreakError):
    """The state document exists but cannot be parsed. It is never overwritten."""


class StoreUnavailable(FailstreakError):
    """The state store or inbox cannot be reached. A later retry may help."""


class ItemGone(FailstreakError):
    """An inbox item disappeared between listing and reading: a concurrent pass archived it. Not an error."""


class ItemRefused(FailstreakError):
    """An inbox item the pass must not read (a FIFO, a device, a symbolic link: only regular files are read), or
    that cannot be opened. It is quarantined with this reason; the other items are still read."""


class ConflictError(FailstreakError):
    """The state changed since it was read (conditional write failed). Reload and re-apply."""


class SourceError(FailstreakError):
    """A source could not be read this pass. The pass goes on with the other sources."""
