"""Declared values over the API: stored per scope and year, validated, used by the reports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from config.registry import load_registry
from config.settings import Settings
from store import EmbeddedStore

REGISTRY = load_registry()
URL = "/api/v1/parks/wuhan-demo/declared/2025"


@pytest.fixture
def api(tmp_path) -> Iterator[TestClient]:
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    app = create_app(settings=Settings(data_dir=tmp_path), store=store, registry=REGISTRY)
    with TestClient(app) as client:
        yield client
    store.close()


def test_declarable_keys_come_from_the_target_profiles(api):
    body = api.get(URL).json()

    assert body["values"] == {}
    keys = body["declarable"]
    assert {"water_reuse", "waste_heat_use", "solid_waste_use"} <= set(keys)
    assert "industrial_value_added_10k_cny" in keys
    assert (keys["water_reuse"]["min"], keys["water_reuse"]["max"]) == (0.0, 1.0)
    assert "zero_carbon_park.water_reuse" in keys["water_reuse"]["used_by"]
    assert (
        keys["product_energy_quota_level"]["min"],
        keys["product_energy_quota_level"]["max"],
    ) == (
        1.0,
        3.0,
    )


def test_declare_update_and_read_back_per_scope(api):
    first = api.put(URL, json={"values": {"water_reuse": 0.82}})
    second = api.put(URL, json={"values": {"waste_heat_use": 0.4}})
    tenant = api.put(URL, json={"scope": "tenant:chipcore", "values": {"water_reuse": 0.5}})

    assert first.status_code == 200, first.text
    assert second.json()["values"] == {"waste_heat_use": 0.4, "water_reuse": 0.82}  # both kept
    assert tenant.json()["values"] == {"water_reuse": 0.5}
    assert api.get(URL).json()["values"] == {"waste_heat_use": 0.4, "water_reuse": 0.82}
    assert api.get(URL, params={"scope": "tenant:chipcore"}).json()["values"] == {
        "water_reuse": 0.5
    }
    assert api.get(URL.replace("2025", "2024")).json()["values"] == {}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"values": {"happiness": 1.0}}, "'happiness' is not declarable"),
        ({"values": {"water_reuse": 1.5}}, "water_reuse: 1.5 is outside [0, 1]"),
        ({"values": {"product_energy_quota_level": 5}}, "outside [1, 3]"),
        ({"values": {"industrial_value_added_10k_cny": -3}}, "outside >= 0"),
        ({"scope": "tenant:nobody", "values": {"water_reuse": 0.5}}, "has no tenant 'nobody'"),
        ({"scope": "building:tower-a", "values": {"water_reuse": 0.5}}, "park or a tenant"),
        ({"scope": "nonsense", "values": {"water_reuse": 0.5}}, "bad scope"),
        ({"values": {}}, "values"),
    ],
)
def test_bad_declarations_are_refused_with_the_reason(api, body, message):
    response = api.put(URL, json=body)

    assert response.status_code == 422
    assert message in response.text
    assert api.get(URL).json()["values"] == {}  # nothing half-written


def test_the_report_uses_what_was_declared(api):
    api.put(URL, json={"values": {"water_reuse": 0.85, "waste_heat_use": 0.4}})

    doc = api.get("/api/v1/parks/wuhan-demo/reports/2025").json()

    rows = {r["key"]: r for block in doc["targets"] for r in block["rows"]}
    assert (rows["water_reuse"]["value"], rows["water_reuse"]["basis"]) == (0.85, "declared")
    assert rows["water_reuse"]["status"] == "met"
    assert rows["waste_heat_use"]["status"] == "not_met"
    assert any(n["kind"] == "declared" and "target.water_reuse" in n["items"] for n in doc["notes"])
