"""Sorø's definition, version 2: a renamed stage and a new one (for the upgrade tests).

Version 2 is written the way a municipality ships one: the file ``soroe.yaml`` in the
definitions folder now says ``version: 2``. It is derived here from the resolved version 1
so the test keeps working when the shipped definition changes:

* the stage ``handover`` is renamed ``network_handover`` (running cases need
  ``--map handover=network_handover``);
* a new waiting stage ``aftercare`` sits between the handover and closing the case.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from workflow.definitions.loader import load_definition

SHIPPED = Path("definitions")
RENAMED = {"handover": "network_handover"}


def as_version_1(text: str) -> str:
    """A shipped definition's text, numbered version 1 (the tests' first version)."""
    return re.sub(r"(?m)^version: \d+$", "version: 1", text, count=1)


def copy_v1(directory: Path) -> Path:
    """A definitions folder with the national base and Sorø's shipped definition, each
    numbered version 1 (whatever the shipped number), so version 2 follows."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("base.yaml", "soroe.yaml"):
        text = (SHIPPED / name).read_text(encoding="utf-8")
        (directory / name).write_text(as_version_1(text), encoding="utf-8")
    return directory


def _renamed(value: Any) -> Any:
    if isinstance(value, list):
        return [RENAMED.get(v, v) for v in value]
    return RENAMED.get(value, value)


def soroe_v2() -> dict[str, Any]:
    """Version 2 of Sorø's definition, resolved (it extends nothing)."""
    v1 = load_definition(SHIPPED / "soroe.yaml")
    body: dict[str, Any] = v1.model_dump(mode="json", by_alias=True, exclude_none=True)
    body["version"] = 2
    del body["extends"]  # resolved: the base is already laid under it
    stages = []
    for stage in body["stages"]:
        stage["id"] = _renamed(stage["id"])
        stages.append(stage)
        if stage["id"] == "network_handover":
            stages.append(
                {
                    "id": "aftercare",
                    "name": {"da": "Efterværn", "en": "Aftercare"},
                    "kind": "waiting",
                    "phase": "handover",
                    "description": "Netværket har overtaget; sagen holdes åben et stykke tid.",
                }
            )
    body["stages"] = stages
    for transition in body["transitions"]:
        for key in ("from", "to", "not_from"):
            if key in transition:
                transition[key] = _renamed(transition[key])
        if transition["id"] == "close_case":
            transition["from"] = "aftercare"
    body["transitions"].append(
        {
            "id": "start_aftercare",
            "name": {"da": "Efterværn begynder", "en": "Aftercare begins"},
            "from": "network_handover",
            "to": "aftercare",
            "roles": ["coordinator", "caseworker"],
        }
    )
    return body


def ship_v2(directory: Path) -> Path:
    """Replace Sorø's file in ``directory`` with version 2 (as a municipality would)."""
    path = directory / "soroe.yaml"
    text = yaml.safe_dump(soroe_v2(), allow_unicode=True, sort_keys=False)
    path.write_text("# Sorø Kommune, version 2\n" + text, encoding="utf-8")
    return path
