"""The caller (``/me``), targets of a period and scope, the city view, and the park's tenants
and buildings — as every role, and against what the reports compute.

Role checks reuse the two-park set-up of ``test_auth.py`` (park A ``wuhan-demo`` with tenants X
``chipcore`` and Y ``lumina``; park B ``riverside``); values use the simulated January 2025 of the
demo park (``january_data_dir``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from config.registry import Registry, load_registry
from config.settings import Settings
from reports.build import ReportRequest, build_report
from services.energy import Scope
from services.evaluation import PARK_PROFILES, TENANT_PROFILES, evaluate_targets
from store import EmbeddedStore
from tests.api.test_auth import DAY, TOKENS, A, B, X, Y, client, headers, registry

__all__ = ["client", "registry"]  # the fixtures of test_auth.py, used here by name


def get(c: TestClient, caller: str, url: str, status: int = 200) -> Any:
    response = c.get(url, headers=headers(caller))
    assert response.status_code == status, f"{url} as {caller}: {response.text}"
    return response.json()


# -- /me -------------------------------------------------------------------------------------


def test_me_tells_each_key_its_role_park_tenant_and_parks(client: TestClient) -> None:
    assert get(client, "city", "/api/v1/me") == {
        "name": "city",
        "role": "city",
        "park": None,
        "tenant": None,
        "parks": [B, A],
    }
    assert get(client, "op_b", "/api/v1/me") == {
        "name": "op_b",
        "role": "operator",
        "park": B,
        "tenant": None,
        "parks": [B],
    }
    assert get(client, "tenant_y", "/api/v1/me") == {
        "name": "tenant_y",
        "role": "tenant",
        "park": A,
        "tenant": Y,
        "parks": [A],
    }
    assert get(client, "anonymous", "/api/v1/me", 401)["code"] == "unauthorized"
    assert get(client, "gateway", "/api/v1/me", 403)["code"] == "forbidden"
    assert TOKENS["city"] not in client.get("/api/v1/me", headers=headers("city")).text


def test_me_with_auth_off_is_a_city_key(registry: Registry, tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "s.sqlite3")
    app = create_app(
        settings=Settings(_env_file=None, data_dir=tmp_path), store=store, registry=registry
    )
    with TestClient(app) as c:
        body = c.get("/api/v1/me").json()
    store.close()
    assert (body["role"], body["parks"]) == ("city", [B, A])


# -- tenants and buildings --------------------------------------------------------------------


def test_tenants_and_buildings_of_a_park(client: TestClient, registry: Registry) -> None:
    park = registry.parks[A]
    tenants = get(client, "op_a", f"/api/v1/parks/{A}/tenants")
    assert [t["id"] for t in tenants] == [t.id for t in park.tenants]
    buildings = get(client, "city", f"/api/v1/parks/{A}/buildings")
    assert [b["id"] for b in buildings] == [b.id for b in park.buildings]
    assert [len(b["floors"]) for b in buildings] == [len(b.floors) for b in park.buildings]
    floor = buildings[0]["floors"][0]
    assert set(floor) == {"number", "tenant", "area_m2"}
    # the same as the park detail
    detail = get(client, "op_a", f"/api/v1/parks/{A}")
    assert detail["tenants"] == tenants
    assert detail["buildings"] == buildings


def test_a_tenant_sees_only_itself_and_the_floors_it_occupies(
    client: TestClient, registry: Registry
) -> None:
    assert [t["id"] for t in get(client, "tenant_x", f"/api/v1/parks/{A}/tenants")] == [X]
    buildings = get(client, "tenant_x", f"/api/v1/parks/{A}/buildings")
    assert buildings
    assert {f["tenant"] for b in buildings for f in b["floors"]} == {X}
    occupied = {
        (b.id, f.number) for b in registry.parks[A].buildings for f in b.floors if f.tenant == X
    }
    assert {(b["id"], f["number"]) for b in buildings for f in b["floors"]} == occupied
    get(client, "tenant_x", f"/api/v1/parks/{B}/tenants", 403)
    get(client, "op_b", f"/api/v1/parks/{A}/buildings", 403)


# -- targets ----------------------------------------------------------------------------------


def test_targets_of_the_park_and_of_a_tenant(client: TestClient) -> None:
    park = get(client, "op_a", f"/api/v1/parks/{A}/targets?period={DAY}")
    assert (park["scope"], park["period"], park["kind"]) == ("park", DAY, "day")
    # the versions in force at the end of 2025: no microgrid profile yet (from 2026)
    assert [p["id"] for p in park["profiles"]] == ["zero_carbon_park", "miit_green_park"]
    assert len(park["missing"]) == 1
    assert "microgrid" in park["missing"][0]
    assert park["projected"] is False
    for profile in park["profiles"]:
        assert profile["indicative"] is True  # a day, judged against yearly targets
        for row in profile["rows"]:
            assert row["status"] in {"met", "not_met", "not_enough_data", "no_threshold"}
            assert row["year_end"] is None
            assert row["direction"] in {"<=", ">="}
            assert row["basis"] in {"measured", "declared", "mixed"}
    tenant = get(client, "tenant_x", f"/api/v1/parks/{A}/targets?period={DAY}")
    assert tenant["scope"] == f"tenant:{X}"
    assert [p["id"] for p in tenant["profiles"]] == list(TENANT_PROFILES)
    one = get(client, "city", f"/api/v1/parks/{A}/targets?period=2026-01&profile=microgrid")
    assert [p["id"] for p in one["profiles"]] == ["microgrid"]
    assert {
        p["id"] for p in get(client, "city", f"/api/v1/parks/{A}/targets?period=2026")["profiles"]
    } == set(PARK_PROFILES)


@pytest.mark.parametrize(
    ("caller", "query", "status", "words"),
    [
        ("op_a", "period=2025-13", 422, "bad period"),
        ("op_a", "period=2025&scope=building:plant-1", 422, "park or a tenant"),
        ("op_a", "period=2025&scope=device:grid-main", 422, "park or a tenant"),
        ("op_a", "period=2025&scope=nonsense", 422, "scope"),
        ("op_a", "period=2025&profile=green_factory", 422, "does not apply"),
        ("op_a", "period=2025&profile=nothing", 422, "does not apply"),
        ("tenant_x", "period=2025&profile=zero_carbon_park", 422, "does not apply"),
        ("tenant_x", f"period=2025&scope=tenant:{Y}", 403, "tenant"),
        ("tenant_x", "period=2025&scope=park", 403, "tenant"),
        ("city", "period=2025&scope=tenant:nobody", 404, "nobody"),
    ],
)
def test_targets_refusals(
    client: TestClient, caller: str, query: str, status: int, words: str
) -> None:
    body = get(client, caller, f"/api/v1/parks/{A}/targets?{query}", status)
    assert words in body["message"]


def test_targets_of_the_current_year_carry_year_to_date_and_projection(
    client: TestClient,
) -> None:
    year = datetime.now(UTC).year
    body = get(client, "op_a", f"/api/v1/parks/{A}/targets?period={year}")
    assert body["projected"] is True
    rows = [r for p in body["profiles"] for r in p["rows"]]
    assert rows
    for row in rows:
        ye = row["year_end"]
        assert ye is not None
        assert set(ye) >= {"ytd", "value", "sigma", "status", "method"}


@pytest.fixture(scope="module")
def january(january_data_dir: Path) -> Iterator[EmbeddedStore]:
    s = EmbeddedStore(january_data_dir / "store.sqlite3")
    yield s
    s.close()


def test_targets_are_the_reports_targets(january: EmbeddedStore) -> None:
    """The endpoint's evaluation and the report's are one computation: same values, statuses,
    year-to-date values and projections (here for 2025 as seen on 15 February)."""
    park = load_registry().parks[A]
    now = datetime(2025, 2, 15, 4, tzinfo=UTC)
    ev = evaluate_targets(january, park, "2025", scope=Scope("park"), now=now)
    doc = build_report(january, park, ReportRequest(year=2025, now=now))
    assert ev.projected
    assert [r.profile.id for r in ev.results] == [b.key for b in doc.targets]
    compared = 0
    for result, block in zip(ev.results, doc.targets, strict=True):
        for r, row in zip(result.results, block.rows, strict=True):
            assert (r.key, r.status, r.threshold) == (row.key, row.status, row.threshold)
            assert r.value == pytest.approx(row.value, nan_ok=True)
            assert r.year_end is not None
            assert r.year_end.value == pytest.approx(row.projected, nan_ok=True)
            assert r.year_end.sigma == pytest.approx(row.projected_sigma, nan_ok=True)
            compared += r.year_end.value is not None
    assert compared > 0, "no projection compared"


def test_targets_use_the_declared_values(client: TestClient) -> None:
    put = client.put(
        f"/api/v1/parks/{A}/declared/2025",
        headers=headers("op_a"),
        json={"scope": "park", "values": {"water_reuse": 0.91}},
    )
    assert put.status_code == 200, put.text
    body = get(client, "op_a", f"/api/v1/parks/{A}/targets?period={DAY}&profile=zero_carbon_park")
    assert body["declared"]["water_reuse"] == 0.91
    row = next(r for r in body["profiles"][0]["rows"] if r["key"] == "water_reuse")
    assert (row["value"], row["basis"]) == (0.91, "declared")
    assert row["status"] in {"met", "not_met"}
    # a tenant's evaluation reads the tenant's declarations, not the park's
    tenant = get(client, "tenant_x", f"/api/v1/parks/{A}/targets?period={DAY}")
    assert "water_reuse" not in tenant["declared"]


# -- the city view ----------------------------------------------------------------------------


def test_city_view_compares_every_visible_park_on_the_same_indicators(
    client: TestClient,
) -> None:
    body = get(client, "city", f"/api/v1/city/indicators?period={DAY}")
    assert (body["period"], body["kind"]) == (DAY, "day")
    assert [p["id"] for p in body["parks"]] == [B, A]
    for park in body["parks"]:
        assert [i["name"] for i in park["indicators"]] == body["names"]
        for i in park["indicators"]:
            assert set(i) == {"name", "value", "unit", "completeness_pct", "reason", "reason_zh"}
    assert "tco2_per_tce" in body["names"]
    assert [
        p["id"] for p in get(client, "op_a", "/api/v1/city/indicators?period=2025")["parks"]
    ] == [A]
    get(client, "tenant_x", f"/api/v1/city/indicators?period={DAY}", 403)
    assert (
        "bad period" in get(client, "city", "/api/v1/city/indicators?period=June", 422)["message"]
    )
    get(client, "city", "/api/v1/city/indicators", 422)


def test_city_view_values_are_each_parks_indicators(
    january: EmbeddedStore, january_data_dir: Path
) -> None:
    registry = load_registry()
    app = create_app(
        settings=Settings(_env_file=None, data_dir=january_data_dir),
        store=january,
        registry=registry,
    )
    with TestClient(app) as c:
        city = c.get("/api/v1/city/indicators", params={"period": "2025-01-15"}).json()
        one = c.get(f"/api/v1/parks/{A}/indicators", params={"period": "2025-01-15"}).json()
    park = next(p for p in city["parks"] if p["id"] == A)
    expected = {
        i["name"]: (i["value"], i["unit"], i["completeness_pct"]) for i in one["indicators"]
    }
    got = {i["name"]: (i["value"], i["unit"], i["completeness_pct"]) for i in park["indicators"]}
    assert got == expected
    assert got["comprehensive_energy_tce"][0] > 0
