"""JSON Schemas of the federation's messages, generated from the models the code checks them with, for
docs/federation/schemas/ (`flask --app app federation schemas` writes them; a unit test keeps them current)."""
from __future__ import annotations

import json
from pathlib import Path

from tracking.federation.directory import DIRECTORY_TYPE, DirectoryListing
from tracking.federation.envelope import Envelope
from tracking.federation.inbox import HANDLERS
from tracking.federation.peers import PeersFile

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "docs" / "federation" / "schemas"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schemas() -> dict[str, str]:
    """file name → its text (stable: sorted keys, two-space indent, a final newline)."""
    models = {"envelope": Envelope, "peers-file": PeersFile}
    models.update({f"body.{type_}": handler.body for type_, handler in sorted(HANDLERS.items())})
    models[f"body.{DIRECTORY_TYPE}"] = DirectoryListing  # answered by GET …/directory, not posted
    out = {}
    for name, model in models.items():
        schema = {"$schema": DIALECT, "$id": f"{name}.schema.json", **model.model_json_schema(mode="validation")}
        out[f"{name}.schema.json"] = json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    return out


def write_schemas(folder: Path = SCHEMAS_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in schemas().items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
