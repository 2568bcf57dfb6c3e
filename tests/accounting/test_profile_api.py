"""``/api/v1/parks/{park}/accounting/{year}``, and the profile every answer reads and names.

The data: one day (2026-03-14) of the demo park with the grid connection importing 1000 kWh and
the PV inverters and the gas meter reading zero, so the park is all-electric that day:
comprehensive energy = 1000 kWh × the electricity coefficient, by GB/T 2589-2020 §3:
当量值 (calorific value) 0.1229 kgce/kWh → 0.1229 tce; 等价值 (coal equivalent) at 2023's
0.3036 kgce/kWh of coal per kWh supplied → 0.3036 tce. Scope 2 (location) is 1000 kWh × the
Hubei 2023 grid factor 0.4044 kgCO2/kWh = 0.4044 tCO2, so the 910 core indicator reads
0.4044 / 0.1229 = 3.29 tCO2/tce under 当量值 and 0.4044 / 0.3036 = 1.33 under 等价值.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from api.main import create_app
from api.schemas import (
    AccountingIn,
    AccountingOut,
    CityIndicatorsOut,
    EnergyOut,
    IndicatorsOut,
    TargetsOut,
)
from api.schemas.accounting import PROFILE_OUT_EXAMPLE, AccountingProfileOut
from config.auth import ApiKeys, KeyEntry, PrincipalRole, hash_token
from config.registry import load_registry
from config.settings import Settings
from services.accounting import ACCOUNTING
from store.base import TELEMETRY, Point
from store.embedded import EmbeddedStore

A = "wuhan-demo"
URL = f"/api/v1/parks/{A}"
DAY = "2026-03-14"
T0 = 1_773_417_600 * 10**9  # 2026-03-14T00:00:00+08:00
Q = 15 * 60 * 10**9
GRID_KWH = 1000.0
CALORIFIC, COAL_EQUIVALENT = 0.1229, 0.3036  # kgce/kWh, GB/T 2589-2020 / 2023 (coal per kWh)
HUBEI_2023 = 0.4044  # kgCO2/kWh, MEE/NBS 2025 No. 47
TOKENS = {
    "city": "city-token-0123456789abcdef0123456789abcdef",
    "operator": "operator-token-0123456789abcdef0123456789a",
    "tenant": "tenant-token-0123456789abcdef0123456789abc",
}


def _keys() -> ApiKeys:
    def entry(name: str, role: PrincipalRole, **where: str) -> KeyEntry:
        return KeyEntry(name=name, role=role, sha256=hash_token(TOKENS[name]), **where)

    return ApiKeys(
        [
            entry("city", PrincipalRole.CITY),
            entry("operator", PrincipalRole.OPERATOR, park=A),
            entry("tenant", PrincipalRole.TENANT, park=A, tenant="chipcore"),
        ]
    )


def _registers(store: EmbeddedStore, device: str, field: str, per_quarter: float) -> None:
    store.write(
        [
            Point(
                TELEMETRY,
                {"park": A, "device": device},
                {field: 1000.0 + i * per_quarter},
                T0 + i * Q,
            )
            for i in range(97)
        ]
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    s = EmbeddedStore(tmp_path / "store.sqlite3")
    _registers(s, "grid-main", "energy_kwh", GRID_KWH / 96)
    for pv in ("pv-plant-1-a", "pv-plant-1-b", "pv-plant-2-a"):
        _registers(s, pv, "energy_kwh", 0.0)
    _registers(s, "gas-boiler", "volume_m3", 0.0)
    yield s
    s.close()


@pytest.fixture
def client(store: EmbeddedStore, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(
        settings=Settings(_env_file=None, data_dir=tmp_path, alarms=False),
        store=store,
        registry=load_registry(),
        auth=_keys(),
    )
    with TestClient(app) as c:
        yield c


def call(client: TestClient, who: str, method: str, url: str, **kw: Any) -> Any:
    return client.request(method, url, headers={"Authorization": f"Bearer {TOKENS[who]}"}, **kw)


def ok(client: TestClient, who: str, method: str, url: str, **kw: Any) -> Any:
    response = call(client, who, method, url, **kw)
    assert response.status_code == 200, response.text
    return response.json()


def indicator(body: dict[str, Any], name: str) -> float:
    value = next(i["value"] for i in body["indicators"] if i["name"] == name)
    assert isinstance(value, float)
    return value


def test_everyone_who_sees_the_park_reads_only_operator_and_city_write(
    client: TestClient, store: EmbeddedStore
) -> None:
    body = ok(client, "tenant", "GET", f"{URL}/accounting/2026")
    assert (body["source"], body["profile"]["name"]) == ("registry", "wuhan-demo/default")
    assert body["method_label"] == {
        "zh": "当量值 (GB/T 2589-2020)",
        "en": "calorific value (GB/T 2589-2020)",
    }
    for method in ("PUT", "DELETE"):
        got = call(client, "tenant", method, f"{URL}/accounting/2026", json={})
        assert got.status_code == 403, got.text
    assert store.count(A, measurement=ACCOUNTING) == 0
    put = ok(client, "operator", "PUT", f"{URL}/accounting/2026", json={"gas_is_clean": True})
    # no name given: <park>/<year>; the fields left out take their defaults
    assert (put["source"], put["profile"]["name"]) == ("stored", "wuhan-demo/2026")
    assert put["profile"]["electricity_method"] == "calorific_value"
    assert ok(client, "tenant", "GET", f"{URL}/accounting/2026")["profile"]["gas_is_clean"] is True
    city = ok(client, "city", "PUT", f"{URL}/accounting/2026", json={"name": "city view"})
    assert city["profile"] == {**put["profile"], "name": "city view", "gas_is_clean": False}
    gone = ok(client, "city", "DELETE", f"{URL}/accounting/2026")
    assert (gone["source"], gone["profile"]["name"]) == ("registry", "wuhan-demo/default")


def test_an_unknown_factor_key_is_a_422_naming_the_field_and_nothing_changes(
    client: TestClient, store: EmbeddedStore
) -> None:
    bad = {"grid_factor": "fixed", "fixed_grid_factor_key": "grid_atlantis"}
    got = call(client, "operator", "PUT", f"{URL}/accounting/2026", json=bad)
    assert got.status_code == 422, got.text
    assert got.json()["message"].startswith("fixed_grid_factor_key: 'grid_atlantis'")
    # a method outside the two, or the old name in a body: the field is named too
    old = call(
        client,
        "operator",
        "PUT",
        f"{URL}/accounting/2026",
        json={"electricity_method": "equivalent_value"},
    )
    assert old.status_code == 422, old.text
    assert old.json()["errors"][0]["loc"] == ["body", "electricity_method"]
    assert store.count(A, measurement=ACCOUNTING) == 0
    assert ok(client, "operator", "GET", f"{URL}/accounting/2026")["source"] == "registry"


def test_a_put_changes_what_indicators_targets_and_energy_report(client: TestClient) -> None:
    def figures() -> tuple[dict[str, Any], dict[str, Any]]:
        ind = ok(client, "operator", "GET", f"{URL}/indicators", params={"period": DAY})
        tgt = ok(
            client,
            "operator",
            "GET",
            f"{URL}/targets",
            params={"period": DAY, "profile": "zero_carbon_park"},
        )
        return ind, tgt

    ind, tgt = figures()
    assert ind["profile"]["name"] == tgt["accounting"]["name"] == "wuhan-demo/default"
    assert indicator(ind, "comprehensive_energy_tce") == pytest.approx(GRID_KWH * CALORIFIC / 1000)
    assert indicator(ind, "tco2_per_tce") == pytest.approx(HUBEI_2023 / CALORIFIC)  # 3.29

    ok(
        client,
        "operator",
        "PUT",
        f"{URL}/accounting/2026",
        json={"name": "evaluator 等价值", "electricity_method": "coal_equivalent"},
    )
    ind, tgt = figures()
    for named in (ind["profile"], tgt["accounting"]):
        assert (named["name"], named["source"], named["year"]) == (
            "evaluator 等价值",
            "stored",
            2026,
        )
        assert named["electricity_method"] == "coal_equivalent"
        assert named["method_label"]["zh"] == "等价值 (GB/T 2589-2020)"
        assert named["method_overridden"] is False
    assert indicator(ind, "comprehensive_energy_tce") == pytest.approx(
        GRID_KWH * COAL_EQUIVALENT / 1000
    )
    assert indicator(ind, "tco2_per_tce") == pytest.approx(HUBEI_2023 / COAL_EQUIVALENT)  # 1.33
    row = next(r for r in tgt["profiles"][0]["rows"] if r["reads"] == "tco2_per_tce")
    assert row["value"] == pytest.approx(HUBEI_2023 / COAL_EQUIVALENT)
    energy = ok(
        client,
        "operator",
        "GET",
        f"{URL}/energy",
        params={"start": "2026-03-14T00:00:00+08:00", "end": "2026-03-15T00:00:00+08:00"},
    )
    assert energy["profile"]["name"] == "evaluator 等价值"

    # method= overrides the profile's method for one answer, and the answer says so
    over = ok(
        client,
        "tenant",
        "GET",
        f"{URL}/indicators",
        params={"period": DAY, "method": "calorific_value"},
    )
    assert over["profile"]["name"] == "evaluator 等价值 (method overridden: calorific_value)"
    assert over["profile"]["method_overridden"] is True
    # the year after keeps the registry default
    next_year = ok(client, "operator", "GET", f"{URL}/indicators", params={"period": "2027"})
    assert next_year["profile"]["name"] == "wuhan-demo/default"

    city = ok(client, "city", "GET", "/api/v1/city/indicators", params={"period": DAY})
    assert city["method"] == "coal_equivalent"
    assert city["parks"][0]["profile"]["name"] == "evaluator 等价值"

    ok(client, "operator", "DELETE", f"{URL}/accounting/2026")
    ind, _ = figures()
    assert ind["profile"]["name"] == "wuhan-demo/default"
    assert indicator(ind, "comprehensive_energy_tce") == pytest.approx(GRID_KWH * CALORIFIC / 1000)


@pytest.mark.parametrize(
    "url",
    [
        f"{URL}/indicators?period={DAY}",
        f"{URL}/targets?period={DAY}",
        f"/api/v1/city/indicators?period={DAY}",
        f"{URL}/reports/2025?format=json",
        f"{URL}/tenants/chipcore/reports/2025?format=json",
    ],
)
def test_the_old_method_names_are_refused_with_the_new_one(client: TestClient, url: str) -> None:
    for old, new in (
        ("equivalent_value", "calorific_value"),
        ("coal_consumption", "coal_equivalent"),
    ):
        got = call(client, "city", "GET", f"{url}&method={old}")
        assert got.status_code == 422, got.text
        assert f"use method={new}" in got.json()["message"]


def test_retired_query_parameters_are_refused_not_ignored(client: TestClient) -> None:
    for name in ("gec_count", "green_contract_kwh", "purchased_heat", "flat_price_cny_per_kwh"):
        got = call(client, "operator", "GET", f"{URL}/targets?period={DAY}&{name}=1")
        assert got.status_code == 422, got.text
        assert got.json()["message"].startswith(f"{name}: this query parameter is retired")


@pytest.mark.parametrize(
    "model",
    [AccountingIn, AccountingOut, IndicatorsOut, TargetsOut, EnergyOut, CityIndicatorsOut],
)
def test_the_openapi_examples_validate_against_their_models(model: type[BaseModel]) -> None:
    examples = (model.model_config.get("json_schema_extra") or {})["examples"]  # type: ignore[index]
    assert examples
    for example in examples:
        model.model_validate(example)
    AccountingProfileOut.model_validate(PROFILE_OUT_EXAMPLE)
