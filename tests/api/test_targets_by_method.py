"""``/targets`` carries the 910 core indicator under both electricity methods (``by_method``):
the accounting profile's method gives the row's verdict, the other is shown beside it. Values
come from the simulated January 2025 of the demo park (``january_data_dir``) and are checked
against ``/indicators`` of the same period, which computes them independently of the targets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from config.registry import load_registry
from config.settings import Settings
from store import EmbeddedStore

PARK = "wuhan-demo"
METHODS = ["calorific_value", "coal_equivalent"]


@pytest.fixture(scope="module")
def client(
    january_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    store = EmbeddedStore(january_data_dir / "store.sqlite3")
    data_dir = tmp_path_factory.mktemp("api")  # the app's own folder: the January store is read
    app = create_app(
        settings=Settings(_env_file=None, data_dir=data_dir), store=store, registry=load_registry()
    )
    with TestClient(app) as c:
        yield c
    store.close()


def get(c: TestClient, url: str) -> Any:
    response = c.get(url)
    assert response.status_code == 200, f"{url}: {response.text}"
    return response.json()


def core_row(body: dict[str, Any]) -> dict[str, Any]:
    (profile,) = [p for p in body["profiles"] if p["id"] == "zero_carbon_park"]
    (row,) = [r for r in profile["rows"] if r["by_method"] is not None]
    return row


@pytest.mark.parametrize("method", [None, *METHODS])
def test_the_core_row_carries_both_methods_and_the_profiles_is_the_verdict(
    client: TestClient, method: str | None
) -> None:
    query = "" if method is None else f"&method={method}"
    body = get(
        client, f"/api/v1/parks/{PARK}/targets?period=2025-01&profile=zero_carbon_park{query}"
    )
    chosen = body["accounting"]["electricity_method"]
    assert chosen == (method or chosen)
    row = core_row(body)
    assert (row["key"], row["reads"], row["veto"]) == ("carbon_per_energy", "tco2_per_tce", True)
    by = row["by_method"]
    assert [m["method"] for m in by] == METHODS
    assert [m["chosen"] for m in by] == [m == chosen for m in METHODS]
    (verdict,) = [m for m in by if m["chosen"]]
    assert (verdict["value"], verdict["status"]) == (row["value"], row["status"])

    indicators = get(client, f"/api/v1/parks/{PARK}/indicators?period=2025-01{query}")
    ind = {i["name"]: i for i in indicators["indicators"]}
    for m in by:
        value = ind[f"tco2_per_tce_{m['method']}"]["value"]
        assert value > 0
        assert m["value"] == pytest.approx(value, rel=1e-12)
        # a month: no annual energy, so no band and no verdict under either method
        # a month: no annual energy to choose 910's band by, so no verdict under either method
        assert (m["annual_tce"], m["threshold"], m["status"]) == (None, None, "not_enough_data")
        assert "annual energy" in m["reason"]
    # the two methods count electricity differently: 等价值 gives more tce, so less CO2 per tce
    cv, ce = by
    assert ce["value"] < cv["value"]
    assert ind["tco2_per_tce"]["value"] == pytest.approx(verdict["value"], rel=1e-12)


def test_over_a_year_each_method_chooses_its_band_from_its_own_annual_energy(
    client: TestClient,
) -> None:
    body = get(client, f"/api/v1/parks/{PARK}/targets?period=2025&profile=zero_carbon_park")
    indicators = get(client, f"/api/v1/parks/{PARK}/indicators?period=2025")
    energy = next(i for i in indicators["indicators"] if i["name"] == "comprehensive_energy_tce")
    for m in core_row(body)["by_method"]:
        assert m["annual_tce"] == pytest.approx(energy["detail"][f"tce_{m['method']}"], rel=1e-12)
        # one simulated month of a small park: below the 200,000 tce/yr of 910's lowest band
        assert m["annual_tce"] < 200_000
        # one simulated month of a small park: far below 910's lowest band (200,000 tce/yr)
        assert 0 < m["annual_tce"] < 200_000
        assert (m["threshold"], m["status"]) == (None, "not_enough_data")
        assert f"{m['annual_tce']:,.0f} tce/yr" in m["reason"]
    cv, ce = core_row(body)["by_method"]
    assert ce["annual_tce"] > cv["annual_tce"]  # 等价值 counts more coal per kWh than 当量值


def test_only_the_core_row_carries_by_method(client: TestClient) -> None:
    body = get(client, f"/api/v1/parks/{PARK}/targets?period=2025-01")
    rows = [r for p in body["profiles"] for r in p["rows"]]
    assert len(rows) > 1
    assert [r["key"] for r in rows if r["by_method"] is not None] == ["carbon_per_energy"]
