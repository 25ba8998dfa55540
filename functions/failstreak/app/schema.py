"""The config file's JSON Schema, from the one validated model (`failstreak schema`).

A copy is committed as `infra/failstreak.schema.json` for editors (YAML language servers read the
`# yaml-language-server: $schema=...` line at the top of `infra/failstreak.yaml`); a test keeps it current.
Rules a schema cannot state (cumulative at most window, no relative paths in a config read from S3) are
checked when the config is loaded, and by `failstreak check`.
"""

from __future__ import annotations

import json
from typing import Any

from failstreak.app.config import Config

SCHEMA_ID = "https://github.com/failstreak/failstreak/infra/failstreak.schema.json"


def schema() -> dict[str, Any]:
    doc = Config.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **doc}


def schema_text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
