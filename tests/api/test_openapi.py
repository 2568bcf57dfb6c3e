"""The OpenAPI document is complete: every /api/v1 operation has a summary, a description,
documented error responses, and an example of its successful answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from api.main import create_app
from config.registry import load_registry
from config.settings import Settings
from store.embedded import EmbeddedStore

_METHODS = {"get", "put", "post", "patch", "delete"}


def _app(tmp_path: Path) -> FastAPI:
    store = EmbeddedStore(tmp_path / "s.sqlite3")
    store.close()  # the document needs no store
    return create_app(
        settings=Settings(_env_file=None, data_dir=tmp_path), store=store, registry=load_registry()
    )


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Follow ``$ref`` (and an array's items) to the schema that describes the answer."""
    while True:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = spec["components"]["schemas"][name]
        elif schema.get("type") == "array" and "items" in schema:
            if "examples" in schema or "example" in schema:
                return schema
            schema = schema["items"]
        else:
            return schema


def _has_example(spec: dict[str, Any], response: dict[str, Any]) -> bool:
    for media in response.get("content", {}).values():
        if "example" in media or "examples" in media:
            return True
        schema = _resolve(spec, media.get("schema", {}))
        if schema.get("examples") or "example" in schema:
            return True
    return False


def problems(spec: dict[str, Any]) -> list[str]:
    """What each /api/v1 operation of ``spec`` lacks."""
    found = []
    for path, item in spec["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        for method, op in item.items():
            if method not in _METHODS:
                continue
            what = f"{method.upper()} {path}"
            if not op.get("summary"):
                found.append(f"{what}: no summary")
            if not op.get("description"):
                found.append(f"{what}: no description")
            responses = op.get("responses", {})
            errors = [code for code in responses if code.startswith("4")]
            if not errors:
                found.append(f"{what}: no 4xx response documented")
            for code in ("401", "403", "422"):
                if code not in responses:
                    found.append(f"{what}: {code} not documented")
            for code in errors:
                if not responses[code].get("description"):
                    found.append(f"{what}: response {code} has no description")
            # the success answer: 200, or 201 for a POST that creates something
            ok = responses.get("200") or (responses.get("201") if method == "post" else None)
            if ok is None:
                found.append(f"{what}: no 200 (or, creating, 201) response")
            elif not _has_example(spec, ok):
                found.append(f"{what}: no example of its success response")
    return found


def test_every_api_operation_is_documented_with_examples(tmp_path: Path) -> None:
    spec = _app(tmp_path).openapi()
    operations = [
        (p, m) for p, item in spec["paths"].items() if p.startswith("/api/v1") for m in item
    ]
    assert len(operations) >= 20
    missing = problems(spec)
    assert not missing, "\n".join(missing)


def test_the_check_notices_what_is_missing() -> None:
    spec: dict[str, Any] = {
        "components": {"schemas": {"Thing": {"type": "object"}}},
        "paths": {
            "/api/v1/things": {
                "get": {
                    "summary": "Things",
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Thing"},
                                    }
                                }
                            }
                        }
                    },
                }
            },
            "/healthz": {"get": {}},
        },
    }
    assert problems(spec) == [
        "GET /api/v1/things: no description",
        "GET /api/v1/things: no 4xx response documented",
        "GET /api/v1/things: 401 not documented",
        "GET /api/v1/things: 403 not documented",
        "GET /api/v1/things: 422 not documented",
        "GET /api/v1/things: no example of its success response",
    ]
    spec["components"]["schemas"]["Thing"]["examples"] = [{}]
    op = spec["paths"]["/api/v1/things"]["get"]
    op["description"] = "All of them."
    op["responses"].update({code: {"description": "x"} for code in ("401", "403", "422")})
    assert problems(spec) == []
