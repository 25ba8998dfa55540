"""Text that anyone who writes to the inbox controls, made safe for a terminal. Pure.

A job name, a reason or a file name can hold control characters: an ESC sequence rewrites the screen or the
window title, a newline or a carriage return forges a line of output, a bidirectional override reorders what
is shown. Before such text reaches a terminal (`status`, the console notifier, the pass summary) each of these
characters is shown as a visible escape instead: `\\x1b`, `\\n`, `\\u202e`. Everything else is left as it is,
so ordinary names, accents and emoji read unchanged.
"""

from __future__ import annotations

# C0 controls, DEL, C1 controls; the Unicode line and paragraph separators; the bidirectional embeddings,
# overrides and isolates; the zero-width marks that hide text.
_UNSAFE = [
    *range(0x00, 0x20),
    *range(0x7F, 0xA0),
    0x200B,
    0x200E,
    0x200F,
    0x2028,
    0x2029,
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
    0xFEFF,
]
_ESCAPES: dict[int, str] = {
    code: "\\n" if code == 0x0A else "\\t" if code == 0x09 else "\\r" if code == 0x0D else f"\\x{code:02x}"
    for code in _UNSAFE
    if code < 0x100
}
_ESCAPES.update({code: f"\\u{code:04x}" for code in _UNSAFE if code >= 0x100})


def for_terminal(text: str) -> str:
    """`text` with every control, line-breaking and direction-changing character shown as an escape."""
    if text.isprintable():
        return text
    return text.translate(_ESCAPES)
