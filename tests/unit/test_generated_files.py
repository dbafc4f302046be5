"""The committed JSON Schema and language reference match the models (no drift)."""

from __future__ import annotations

import json
from pathlib import Path

from workflow.definitions.reference import json_schema, reference_markdown


def test_json_schema_is_committed_and_current() -> None:
    committed = json.loads(Path("schema/definition.schema.json").read_text(encoding="utf-8"))
    assert committed == json_schema(), "run `make docs` and commit schema/definition.schema.json"


def test_reference_is_committed_and_current() -> None:
    committed = Path("docs/definition-reference.md").read_text(encoding="utf-8")
    assert committed == reference_markdown(), "run `make docs` and commit the reference"


def test_schema_knows_the_language() -> None:
    schema = json_schema()
    assert schema["required"] == ["id", "version"]
    assert set(schema["$defs"]["StageKind"]["enum"]) == {"start", "active", "waiting", "final"}
    transition = schema["$defs"]["Transition"]["properties"]
    assert {"from", "to", "guard", "inputs", "effects", "roles"} <= set(transition)
