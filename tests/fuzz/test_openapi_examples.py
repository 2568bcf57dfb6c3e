"""Every example in the OpenAPI document is a valid instance of what it illustrates.

Examples are what a reader copies first; one that the API itself would refuse (a renamed field, a
unit that moved, a missing required key) misleads. Each example is checked against the JSON
schema at its place in the document (formats included), and each model-level example of a
component also against the pydantic model that produced it (its validators run too).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from pydantic import BaseModel

from api.main import create_app
from config.registry import load_registry
from config.settings import Settings
from store.embedded import EmbeddedStore


def _spec(folder: Path) -> dict[str, Any]:
    store = EmbeddedStore(folder / "s.sqlite3")
    store.close()  # the document needs no store
    app = create_app(settings=Settings(data_dir=folder), store=store, registry=load_registry())
    return app.openapi()


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _spec(tmp_path_factory.mktemp("openapi"))


Example = tuple[str, dict[str, Any], Any]  # where, the schema it illustrates, the example


def _examples(node: Any, where: str = "#") -> Iterator[Example]:
    """Every example of the document with the schema it illustrates."""
    if isinstance(node, dict):
        if "schema" in node and ("example" in node or "examples" in node):  # media type, param
            if "example" in node:
                yield where, node["schema"], node["example"]
            for name, item in (node.get("examples") or {}).items():
                yield f"{where}/examples/{name}", node["schema"], item["value"]
        elif "examples" in node and isinstance(node["examples"], list):  # a schema object
            schema = {k: v for k, v in node.items() if k not in ("examples", "example")}
            for i, item in enumerate(node["examples"]):
                yield f"{where}/examples/{i}", schema, item
        elif "example" in node and "type" in node:  # a schema object, the older spelling
            schema = {k: v for k, v in node.items() if k != "example"}
            yield f"{where}/example", schema, node["example"]
        for key, value in node.items():
            if key not in ("example", "examples"):
                yield from _examples(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _examples(value, f"{where}/{i}")


def _models() -> dict[str, type[BaseModel]]:
    """The API's pydantic models by class name (the name of their component schema)."""
    found: dict[str, type[BaseModel]] = {}
    pending: list[type[BaseModel]] = [BaseModel]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            if sub.__module__.split(".")[0] == "api":
                found[sub.__name__] = sub
    return found


def test_every_example_validates_against_its_schema(spec: dict[str, Any]) -> None:
    examples = list(_examples(spec))
    assert len(examples) >= 50, f"only {len(examples)} examples found: is the walk still right?"
    wrong: list[str] = []
    for where, schema, example in examples:
        if schema.get("type") == "string" and not isinstance(example, str):
            wrong.append(f"{where}: {example!r} is not a string")
            continue
        rooted = {**schema, "components": spec["components"]}  # $ref resolves from here
        validator = jsonschema_rs.Draft202012Validator(rooted, validate_formats=True)
        wrong.extend(f"{where}: {error.message}" for error in validator.iter_errors(example))
    assert wrong == [], "\n".join(wrong)


def test_every_component_example_validates_against_its_model(spec: dict[str, Any]) -> None:
    models = _models()
    checked = 0
    wrong: list[str] = []
    for name, schema in spec["components"]["schemas"].items():
        model = models.get(name.removesuffix("-Output").removesuffix("-Input"))
        if model is None or not schema.get("examples"):
            continue
        for i, example in enumerate(schema["examples"]):
            checked += 1
            try:
                model.model_validate_json(json.dumps(example))
            except ValueError as exc:
                wrong.append(f"{name} example {i}: {exc}")
    assert checked >= 10, f"only {checked} component examples matched a model"
    assert wrong == [], "\n\n".join(wrong)
