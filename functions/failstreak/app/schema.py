"""The config file's JSON Schema, from the one validated model (`failstreak schema`).

A copy is committed as `infra/failstreak.schema.json` for editors (YAML language servers read the
`# yaml-language-server: $schema=...` line at the top of `infra/failstreak.yaml`); a test keeps it current.
Rules a schema cannot state (cumulative at most window, no relative paths in a config read from S3) are
checked when the config is loaded, and by `failstreak check`.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from failstreak.app.config import Config, Outcomes
from failstreak.core.model import Outcome, Status

SCHEMA_ID = "https://github.com/failstreak/failstreak/infra/failstreak.schema.json"


def _custom(kind: type) -> dict[str, Any]:
    if kind is Outcomes:
        return {
            "type": "object",
            "propertyNames": {"enum": [s.value for s in Status]},
            "additionalProperties": {"enum": [o.value for o in Outcome]},
        }
    raise NotImplementedError(kind)


def schema() -> dict[str, Any]:
    doc = msgspec.json.schema(Config, schema_hook=_custom)
    defs = doc["$defs"]
    root = defs.pop("Config")  # the file itself is the config: its keys at the top, the sections under $defs
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **root, "$defs": defs}


def schema_text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
