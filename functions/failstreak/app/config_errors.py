"""A config conversion error in the words of the config file (docs/configuration.md): the key path as the file
writes it (`thresholds.consecutive`, `overrides.0.match`, `sources[1] (gitlab): project`), what is wrong, what to
write instead, and for a mistyped key the one meant or the section it belongs to.

msgspec reports one error as `<what> - at `$.a.b[0].c``; this module turns it into those words. It is imported
only when a config has a mistake.
"""

from __future__ import annotations

import copy
import difflib
import enum
import re
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import msgspec

from failstreak.secretref import SecretRef
from failstreak.sources.settings import PLATFORMS

_SECRET_HINT = "write a reference, never the secret itself: {env: NAME}, {secret: NAME} or {ssm: /PATH}"  # noqa: S105
_WHERE = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>.*)`)?$", re.DOTALL)
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")
_BOUND = re.compile(r"^Expected `(?P<kind>[^`]+)` (?P<words>of length )?(?P<op>>=|<=|>|<) (?P<bound>[-\d.]+)$")
_TYPE = re.compile(r"^Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`$")
_ONE = re.compile(r"^Object (?P<which>missing required|contains unknown) field `(?P<key>[^`]+)`$")
_OPS = {">=": "greater than or equal to", ">": "greater than", "<=": "less than or equal to", "<": "less than"}
_NAMES = {
    "int": "a valid integer",
    "float": "a valid number",
    "str": "a valid string",
    "bool": "a valid boolean",
    "array": "a valid list",
    "datetime": "a valid datetime",
}
_MISSING = object()
# The mistakes of a config listed at most: enough for a first draft, few enough to read.
MAX_PROBLEMS = 10
# The keys YAML reads as a number when they are written unquoted: a time of day (`_unquoted_time`).
_UNQUOTED = {("digest", "at")}


def _unquoted_time(minutes: int) -> str:
    """What to write for a time of day YAML read as a number: an unquoted 17:30 is 1050 (minutes, base 60)."""
    return f'write the time quoted, as at: "{minutes // 60:02d}:{minutes % 60:02d}" (unquoted, YAML reads a number)'


def did_you_mean(key: str, known: Iterable[str]) -> str:
    """`; did you mean 'X'?` for the known key closest to a mistyped one, or nothing when none is close."""
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _fields(section: type) -> tuple[str, ...]:
    if isinstance(section, type) and issubclass(section, msgspec.Struct):
        return section.__struct_fields__
    return ()


def _sections_in(annotation: Any, suffix: str = "") -> list[tuple[type, str]]:
    """The sections a key's type holds, each with what its path gains (`[]` in a list, `.<name>` in a map)."""
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return [] if annotation is SecretRef else [(annotation, suffix)]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (list, tuple):
        return [m for arg in args for m in _sections_in(arg, suffix + "[]")]
    if origin is dict and len(args) == 2:
        return _sections_in(args[1], suffix + ".<name>")
    return [m for arg in args for m in _sections_in(arg, suffix)]


def _homes(key: str, section: type, prefix: str = "", depth: int = 0) -> list[str]:
    """Where `key` is a key in the config, as paths (`thresholds.window`, `overrides[].window`): for a key written
    in the wrong section, whose closest match would be itself."""
    found = set()
    for info in msgspec.structs.fields(section):
        if info.name == key:
            found.add(prefix + info.name)
        if depth < 3:
            for inner, suffix in _sections_in(info.type):
                found.update(_homes(key, inner, f"{prefix}{info.name}{suffix}.", depth + 1))
    return sorted(found)


def _unknown_key(key: str, root: type, keyed: Sequence[type]) -> str:
    homes = _homes(key, root)
    if homes:
        return "unknown key here; did you mean " + " or ".join(repr(h) for h in homes) + "?"
    return "unknown key" + did_you_mean(key, {name for section in keyed for name in _fields(section)})


def _field_type(section: Any, key: str) -> Any:
    for info in msgspec.structs.fields(section):
        if info.name == key:
            return info.type
    return None


def _step_type(kind: Any, step: str | int, value: Any) -> Any:
    """The type found one step into `kind` (a key of a section, an item of a list, a value of a map)."""
    while typing.get_origin(kind) is typing.Annotated:
        kind = typing.get_args(kind)[0]
    options = typing.get_args(kind) if typing.get_origin(kind) in (typing.Union, type(int | None)) else (kind,)
    for option in options:
        origin = typing.get_origin(option) or option
        if origin is list and isinstance(step, int):
            return typing.get_args(option)[0]
        if origin is dict and isinstance(step, str):
            return typing.get_args(option)[1]
        if isinstance(option, type) and issubclass(option, msgspec.Struct) and isinstance(step, str):
            return _field_type(_struct_of(option, value), step)
    return None


def _locate(path: str, raw: Any, root: type) -> tuple[list[str | int], Any, Any]:
    """The key path of msgspec's `$.a[0].b` (a map's key, which msgspec writes `[...]`, found in `raw` as the first
    entry that does not convert), the value written there, and the type expected there."""
    loc: list[str | int] = []
    here: Any = raw
    kind: Any = root
    for name, index in _STEP.findall(path):
        step: str | int = name if name else (int(index) if index != "..." else _failing_key(here, kind))
        kind = _step_type(kind, step, here)
        loc.append(step)
        here = _child(here, step)
    return loc, here, kind


def _child(here: Any, step: str | int) -> Any:
    if isinstance(step, int):
        return here[step] if isinstance(here, list) and step < len(here) else _MISSING
    return here.get(step, _MISSING) if isinstance(here, Mapping) else _MISSING


def _failing_key(here: Any, kind: Any) -> str:
    value_type = _step_type(kind, "", {})
    if not isinstance(here, Mapping):
        return "..."
    for key, value in here.items():
        try:
            msgspec.convert(value, value_type, strict=False)
        except (msgspec.ValidationError, NotImplementedError, TypeError):
            return str(key)
    return "..."


def _choices(kind: Any) -> list[str]:
    while typing.get_origin(kind) is typing.Annotated:
        kind = typing.get_args(kind)[0]
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return [str(m.value) for m in kind]
    if typing.get_origin(kind) is typing.Literal:
        return [str(a) for a in typing.get_args(kind)]
    return [c for arg in typing.get_args(kind) if arg is not type(None) for c in _choices(arg)]


def _holds_secret(kind: Any) -> bool:
    return kind is SecretRef or SecretRef in typing.get_args(kind)


def _number(text: str) -> str:
    return text.removesuffix(".0")


def _what(what: str, written: Any, kind: Any) -> str:
    """msgspec's message about one value, in the config file's words."""
    got = f" (got {written!r})" if written is not _MISSING else ""
    bound = _BOUND.match(what)
    if bound:
        if bound["words"]:
            count = _number(bound["bound"])
            return f"should have at least {count} item{'' if count == '1' else 's'}{got}"
        return f"should be {_OPS[bound['op']]} {_number(bound['bound'])}{got}"
    typed = _TYPE.match(what)
    if typed:
        return _wrong_type(typed["want"], typed["got"], written, kind)
    if what.startswith("Invalid enum value"):
        choices = [repr(c) for c in _choices(kind)]
        listed = ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else "".join(choices)
        return f"should be {listed}{got}"
    if what.startswith("Invalid RFC3339"):
        return f"should be a valid datetime or date, as 2026-12-01 or 2026-12-01T17:00:00Z{got}"
    if "exactly one of env, secret, ssm" in what:
        return f"{what}: {{env: NAME}}, {{secret: NAME}} or {{ssm: /PATH}}"
    return what


def _wrong_type(want: str, got: str, written: Any, kind: Any) -> str:
    wanted = want.split(" | ", maxsplit=1)[0]
    if wanted == "object":
        if _holds_secret(kind):
            return _SECRET_HINT
        return f"should be a mapping of keys to values, not {written!r}"
    text = f"should be {_NAMES.get(wanted, f'a valid {wanted}')}"
    if got == "str" and wanted in ("int", "float"):
        text += ", unable to parse string as " + ("an integer" if wanted == "int" else "a number")
    elif got == "float" and wanted == "int":
        text += ", got a number with a fractional part"
    return f"{text} (got {written!r})"


def _in_source(loc: list[str | int], what: str, written: Any, kind: Any, block: Any) -> str:
    """One error inside a `sources:` block, located as `sources[i] (type): field` (docs/sources.md)."""
    index = loc[1]
    platform = block.get("type") if isinstance(block, Mapping) else None
    if not isinstance(block, Mapping):
        return f"sources[{index}]: should be a mapping of keys to values, not {block!r}"
    if platform not in PLATFORMS:
        return f"sources[{index}]: type: must be one of {', '.join(PLATFORMS)}"
    field = ".".join(str(p) for p in loc[2:]) or "(block)"
    one = _ONE.match(what)
    if one and one["which"] == "missing required":
        msg = "field required"
    elif one:
        msg = "unknown field" + did_you_mean(str(loc[-1]), ("type", *PLATFORMS[str(platform)].__struct_fields__))
    else:
        msg = _what(what, written, kind)
    return f"sources[{index}] ({platform}): {field}: {msg}"


def explain_all(
    error: msgspec.ValidationError,
    raw: Any,
    root: type,
    keyed: Sequence[type],
    convert: Callable[[Any], object],
    limit: int = MAX_PROBLEMS,
) -> list[str]:
    """`explain` for each mistake of `raw`, at most `limit`. msgspec stops at the first, so each one found is taken
    out of a copy of `raw` (the key it is at dropped, as if it were not written; for a rule of a section, the
    section) and the copy `convert`ed again, until it converts or a mistake cannot be taken out (a required key
    missing, a list item or the whole document of the wrong kind, a rule across sections). A mistake the copy
    has only because of what was taken out (that key now missing, a rule of the section it was in) is not
    listed."""
    current = copy.deepcopy(raw)
    dropped: list[tuple[str | int, ...]] = []
    problems: list[str] = []
    while len(problems) < limit:
        message, loc, missing = _explained(error, current, root, keyed)
        key = tuple(loc)
        # A key taken out, now missing, or a rule of a section one of whose keys was taken out: a mistake of the
        # copy, not of the file (its cause is listed already).
        if not any(d[: len(key)] == key for d in dropped):
            problems.append(message)
        if missing or not _drop(current, loc):
            break
        dropped.append(key)
        try:
            convert(current)
        except msgspec.ValidationError as e:
            error = e
            continue
        except Exception:  # what the copy does next is not worth losing the mistakes found for
            break
        break
    return problems


def _drop(raw: Any, loc: list[str | int]) -> bool:
    """Take the key at `loc` out of `raw`; False when `loc` does not end in a key of a mapping that holds it."""
    if not loc or not isinstance(loc[-1], str):
        return False
    here: Any = raw
    for step in loc[:-1]:
        here = _child(here, step)
    if not isinstance(here, dict) or loc[-1] not in here:
        return False
    del here[loc[-1]]
    return True


def explain(error: msgspec.ValidationError, raw: Any, root: type, keyed: Sequence[type]) -> str:
    """msgspec's error converting `raw` to `root`, located and worded as the config file writes it; `keyed` are
    the sections whose keys a mistyped key is compared with."""
    return _explained(error, raw, root, keyed)[0]


def _explained(
    error: msgspec.ValidationError, raw: Any, root: type, keyed: Sequence[type]
) -> tuple[str, list[str | int], bool]:
    """`explain`, with the key path of the mistake in `raw` and whether it is a required key missing."""
    found = _WHERE.match(str(error))
    assert found is not None  # the pattern matches any text
    what, path = found["what"], found["path"] or ""
    loc, written, kind = _locate(path, raw, root)
    one = _ONE.match(what)
    missing = one is not None and one["which"] == "missing required"
    if one:
        loc.append(one["key"])
    elif ": " in what and what.split(": ", 1)[0] in _fields(_struct_of(kind, written)):
        # A rule of a section on one of its keys (`failstreak.section.check_fields`): the key is named first.
        key, what = what.split(": ", 1)
        loc.append(key)
        written = _child(written, key)
        kind = _step_type(kind, key, written)
    if len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int):
        return _in_source(loc, what, written, kind, _child(_child(raw, "sources"), loc[1])), loc, missing
    msg = _message(loc, what, written, kind, (root, keyed))
    if not loc:
        return msg, loc, missing  # a rule across sections names its own place (`overrides[0] (...)`)
    return f"{'.'.join(str(p) for p in loc)}: {msg}", loc, missing


def _message(loc: list[str | int], what: str, written: Any, kind: Any, sections: tuple[type, Sequence[type]]) -> str:
    """What is wrong at `loc`, outside a `sources:` block."""
    one = _ONE.match(what)
    if one and one["which"] == "missing required":
        return "required key missing"
    if one:
        return _unknown_key(one["key"], *sections)
    if tuple(loc) in _UNQUOTED and isinstance(written, int) and not isinstance(written, bool):
        return _unquoted_time(written)
    return _what(what, written, kind)


def _struct_of(kind: Any, written: Any) -> Any:
    """The section a value of type `kind` is (the platform's, for a `sources:` block), or None."""
    options = typing.get_args(kind) or (kind,)
    for option in options:
        if isinstance(option, type) and issubclass(option, msgspec.Struct):
            if option.__struct_config__.tag_field is not None and isinstance(written, Mapping):
                return PLATFORMS.get(str(written.get("type")), option)
            return option
    return None
