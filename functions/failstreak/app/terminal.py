"""Writing to a terminal: output that never crashes on an encoding, colour only where it is wanted.

Colour follows https://no-color.org: never when `NO_COLOR` is set (to anything non-empty), and only when the
stream is a terminal, so pipes, files and CI logs get plain text.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

_COLOURS = {"ERROR": "\033[31m", "WARNING": "\033[33m"}
_RESET = "\033[0m"


def make_safe(*streams: TextIO) -> None:
    """Let each stream write any text: characters its encoding lacks (a C or Latin-1 locale) are escaped, where
    they would otherwise raise UnicodeEncodeError in the middle of the output."""
    for stream in streams:
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def colour_on(stream: TextIO) -> bool:
    """Whether to colour what goes to `stream`: a terminal, and `NO_COLOR` unset or empty."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def label(level: str, stream: TextIO | None = None) -> str:
    """`warning:` or `error:`, coloured when `stream` (default stderr) takes colour."""
    text = f"{level.lower()}:"
    colour = _COLOURS.get(level)
    if colour and colour_on(stream or sys.stderr):
        return f"{colour}{text}{_RESET}"
    return text
