"""The base of every section of the config file (docs/configuration.md): a leaf anyone may import.

A section is a frozen msgspec Struct that refuses unknown keys. msgspec checks the types and bounds as it converts
the YAML-loaded mapping (`app/config.config_from`); the rules a type cannot state are checked in the section's
`__post_init__` with `check_fields`, whose errors start with the key's name so that the config names the key path
(`digest.at: ...`), as it does for a type error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec


class Section(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A frozen mapping of known keys; every key has a default unless the section cannot do without it."""


def check_fields(section: msgspec.Struct, checks: dict[str, Callable[[Any], Any]]) -> None:
    """Run each key's check on its value and keep what it returns (a normalised value, or the value itself).
    A check raises ValueError saying what is wrong; it is raised again as `key: what is wrong`."""
    for name, check in checks.items():
        value = getattr(section, name)
        try:
            kept = check(value)
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None
        if kept is not value:
            msgspec.structs.force_setattr(section, name, kept)
