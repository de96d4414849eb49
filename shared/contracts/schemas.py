"""Generates the JSON Schemas of every published event into
shared/contracts/schemas/. `make schemas` writes them; a test fails when the
committed files differ from the models."""

from __future__ import annotations

import json
from pathlib import Path

from .agenda import AGENDA_EVENTS
from .envelope import CloudEvent
from .newsroom import NEWSROOM_EVENTS

SCHEMA_DIR = Path(__file__).parent / "schemas"


def generate() -> dict[str, str]:
    files: dict[str, str] = {}
    for registry in (AGENDA_EVENTS, NEWSROOM_EVENTS):
        for cls in registry:
            schema = cls.model_json_schema(mode="serialization")
            schema["$id"] = f"https://simalik.kedirikota.go.id/schemas/{cls.ce_type()}.json"
            schema["title"] = cls.ce_type()
            schema["x-routing-key"] = cls.routing_key
            schema["x-schema-version"] = cls.schema_version
            files[f"{cls.ce_type()}.json"] = _dump(schema)
    envelope = CloudEvent.model_json_schema()
    envelope["$id"] = "https://simalik.kedirikota.go.id/schemas/cloudevent.json"
    files["cloudevent.json"] = _dump(envelope)
    return files


def _dump(schema: dict) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write() -> list[Path]:
    SCHEMA_DIR.mkdir(exist_ok=True)
    files = generate()
    for stale in SCHEMA_DIR.glob("*.json"):
        if stale.name not in files:
            stale.unlink()
    written = []
    for name, text in files.items():
        path = SCHEMA_DIR / name
        path.write_text(text)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write():
        print(path)
