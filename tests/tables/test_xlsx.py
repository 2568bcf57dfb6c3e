"""The official tables as .xlsx: the workbook opens with openpyxl, has the form's layout (title,
甲乙丙 column letters) and every number in it equals the JSON's, which equals the report's."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api.main import create_app
from config.accounting import AccountingProfile
from config.registry import load_registry
from config.settings import Settings
from services.accounting import put_profile
from store import EmbeddedStore
from tests.footprint.test_service import DAY, EXTRA
from tests.indicators.toy import registry, spread, write

TENANT = "/api/v1/parks/toy/tenants/a"


@pytest.fixture
def api(tmp_path: Path, embedded_store: EmbeddedStore) -> Iterator[TestClient]:
    park = registry(tmp_path, extra=EXTRA)
    # the heat is bought (a district heating supply): it is a row of the form
    put_profile(embedded_store, park, 2025, AccountingProfile(name="toy/2025", purchased_heat=True))
    write(embedded_store, "grid", "energy_kwh", {DAY: spread(16_000.0)})
    write(embedded_store, "ma", "energy_kwh", {DAY: spread(10_000.0)})
    write(embedded_store, "mb", "energy_kwh", {DAY: spread(5_000.0)})
    write(embedded_store, "gas-a", "volume_m3", {DAY: spread(500.0)})
    write(embedded_store, "heat-a", "energy_kwh", {DAY: spread(1_000.0)})
    app = create_app(
        settings=Settings(data_dir=tmp_path / "data"),
        store=embedded_store,
        registry=load_registry(tmp_path / "toy.yaml"),
    )
    with TestClient(app) as client:
        yield client


def _sheet_rows(body: bytes) -> list[tuple[Any, ...]]:
    wb = load_workbook(io.BytesIO(body))
    ws = wb.active
    assert ws is not None
    return [tuple(c.value for c in row) for row in ws.iter_rows()]


def _check_same(table: dict[str, Any], rows: list[tuple[Any, ...]]) -> None:
    """Every cell of the table's rows equals the JSON's value (None: a blank cell)."""
    letters = tuple(c["letter"] for c in table["columns"])
    keys = [c["key"] for c in table["columns"]]
    assert rows[0][0] == table["title"]
    head = rows.index(letters)  # the row of 甲 乙 丙 1 2 …, right under the headings
    assert rows[head - 1] == tuple(c["heading"] for c in table["columns"])
    body = rows[head + 1 : head + 1 + len(table["rows"])]
    assert len(body) == len(table["rows"])
    numbers = 0
    for got, want in zip(body, table["rows"], strict=True):
        for k, key in enumerate(keys):
            assert got[k] == want[key], (key, got[k], want[key])
            numbers += isinstance(want[key], float)
    assert numbers > 0


def test_tenant_205_1(api: TestClient) -> None:
    xlsx = api.get(f"{TENANT}/tables/205-1/2025")
    assert xlsx.status_code == 200, xlsx.text
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    table = api.get(f"{TENANT}/tables/205-1/2025", params={"format": "json"}).json()
    rows = _sheet_rows(xlsx.content)
    _check_same(table, rows)
    assert rows[0][0].startswith("能源购进、消费与库存")
    by_name = {r["name"]: r for r in table["rows"]}
    # 10,000 kWh = 1 万kWh at 1.229 (当量值) and 3.036 (等价值) tce per 万kWh
    assert by_name["电力"]["purchase_quantity"] == pytest.approx(1.0, rel=1e-9)
    assert by_name["电力"]["coef_calorific_value"] == pytest.approx(1.229, rel=1e-12)
    assert by_name["电力"]["coef_coal_equivalent"] == pytest.approx(3.036, rel=1e-12)
    # 500 m³ = 0.05 万m³ at the report's gas coefficient: the profile's LHV 35.544 MJ/m³ over
    # 29.3076 MJ/kgce = 12.1279 tce/万m³ (not the table's 12.143, docs/accounting.md);
    # 1,000 kWh of heat = 3.6 GJ at 0.03412 tce/GJ
    assert by_name["天然气"]["consumption"] == pytest.approx(0.05, rel=1e-9)
    assert by_name["天然气"]["coef_calorific_value"] == pytest.approx(355.44 / 29.3076, rel=1e-9)
    assert by_name["热力"]["consumption"] == pytest.approx(3.6, rel=1e-9)
    gas_heat = 0.05 * 355.44 / 29.3076 + 3.6 * 0.03412
    cv = by_name["能源消费合计(当量值) Total energy"]["consumption"]
    ce = by_name["能源消费合计(等价值) Total energy"]["consumption"]
    assert cv == pytest.approx(1.229 + gas_heat, rel=1e-9)
    assert ce == pytest.approx(3.036 + gas_heat, rel=1e-9)
    # and the same numbers as the green-factory JSON report (the profile's method: 当量值)
    report = api.get(f"{TENANT}/reports/2025", params={"format": "json"}).json()
    carriers = {c["carrier"]: c for c in report["carriers"]}
    assert by_name["电力"]["consumption"] == pytest.approx(
        carriers["electricity"]["quantity"] / 1e4, rel=1e-12
    )
    assert cv == pytest.approx(sum(c["tce"] for c in carriers.values()), rel=1e-9)


def test_park_205_1(api: TestClient) -> None:
    xlsx = api.get("/api/v1/parks/toy/tables/205-1/2025")
    table = api.get("/api/v1/parks/toy/tables/205-1/2025", params={"format": "json"}).json()
    _check_same(table, _sheet_rows(xlsx.content))
    electricity = next(r for r in table["rows"] if r["name"] == "电力")
    report = api.get("/api/v1/parks/toy/reports/2025", params={"format": "json"}).json()
    quantity = next(c["quantity"] for c in report["carriers"] if c["carrier"] == "electricity")
    assert electricity["purchase_quantity"] == pytest.approx(quantity / 1e4, rel=1e-12)


def test_green_factory_workbook(api: TestClient) -> None:
    xlsx = api.get(f"{TENANT}/tables/green-factory/2025")
    assert xlsx.status_code == 200, xlsx.text
    table = api.get(f"{TENANT}/tables/green-factory/2025", params={"format": "json"}).json()
    _check_same(table, _sheet_rows(xlsx.content))
    report = api.get(f"{TENANT}/reports/2025", params={"format": "json"}).json()
    want = {i["key"]: i["value"] for i in report["indicators"]}
    got = {r["key"]: r["value"] for r in table["rows"]}
    assert got.keys() == want.keys()
    for key, value in want.items():  # to the 15 significant digits a workbook keeps
        assert got[key] == (None if value is None else pytest.approx(value, rel=1e-14)), key
    assert any(isinstance(v, float) for v in got.values())


def test_errors(api: TestClient) -> None:
    assert api.get(f"{TENANT}/tables/energy/2025").status_code == 422
    assert api.get("/api/v1/parks/toy/tenants/zz/tables/205-1/2025").status_code == 404
    assert api.get(f"{TENANT}/tables/205-1/1999").status_code == 422
