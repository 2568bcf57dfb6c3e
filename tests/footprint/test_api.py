"""Footprints over the API on the toy park of test_service.py: the JSON carries the service's
numbers, the data sheet renders in JSON, HTML (zh and en) and, with a CJK font, PDF."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.routes.footprints import parse_declared
from config.errors import InvalidRequestError
from config.registry import load_registry
from config.settings import Settings
from store import EmbeddedStore
from tests.footprint.test_service import DAY, EXTRA
from tests.indicators.toy import registry, spread, write

URL = "/api/v1/parks/toy/tenants/a/footprints"


@pytest.fixture
def api(tmp_path: Path, embedded_store: EmbeddedStore) -> Iterator[TestClient]:
    registry(tmp_path, extra=EXTRA)
    write(embedded_store, "ma", "energy_kwh", {DAY: spread(10_000.0)})
    write(embedded_store, "gas-a", "volume_m3", {DAY: spread(500.0)})
    write(embedded_store, "prod-a1", "produced_units", {DAY: spread(4_000.0)})
    write(embedded_store, "prod-a2", "produced_units", {DAY: spread(1_000.0)})
    app = create_app(
        settings=Settings(data_dir=tmp_path / "data"),
        store=embedded_store,
        registry=load_registry(tmp_path / "toy.yaml"),
    )
    with TestClient(app) as client:
        yield client


def test_footprints_json(api: TestClient) -> None:
    r = api.get(
        URL,
        params={
            "period": "2025-01",
            "allocation": "mass",
            "declared": ["prod-a1:0.5", "prod-a2:2"],
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["allocation"] == "mass"
    assert body["site"][0]["kgco2e"] == pytest.approx(6_858.0, rel=1e-9)
    a, b = body["products"]
    assert a["product"] == "prod-a1"
    assert a["kgco2e_per_unit"] == pytest.approx(0.85725, rel=1e-9)
    assert b["kgco2e_per_unit"] == pytest.approx(3.429, rel=1e-9)
    assert {f["key"] for f in a["factors"]} >= {"electricity_footprint", "natural_gas_footprint"}
    assert a["boundary_en"].startswith("Gate to gate")


def test_sheet_in_every_format(api: TestClient) -> None:
    params = {"period": "2025-01"}
    sheet = api.get(f"{URL}/prod-a2/sheet", params={**params, "format": "json"})
    assert sheet.status_code == 200
    assert sheet.json()["kgco2e_per_unit"] == pytest.approx(6_858.0 / 5_000, rel=1e-9)
    zh = api.get(f"{URL}/prod-a2/sheet", params={**params, "format": "html", "lang": "zh"})
    en = api.get(f"{URL}/prod-a2/sheet", params={**params, "format": "html", "lang": "en"})
    assert "产品碳足迹数据表" in zh.text
    assert "门到门" in zh.text
    assert "Product carbon footprint data sheet" in en.text
    assert "0.5777" in en.text  # the 2024 electricity footprint factor, printed with its source
    assert ">1.372<" in en.text  # 6,858 kg / 5,000 units, as the reports round it
    pdf = api.get(f"{URL}/prod-a2/sheet", params={**params, "format": "pdf"})
    assert pdf.status_code == 200  # needs a CJK font (fonts-noto-cjk), as every Chinese PDF
    assert pdf.content.startswith(b"%PDF")


def test_errors(api: TestClient) -> None:
    assert api.get(URL, params={"period": "2025", "allocation": "mass"}).status_code == 422
    assert api.get(URL, params={"period": "2025-13"}).status_code == 422
    assert api.get(URL, params={"period": "2025", "declared": ["x"]}).status_code == 422
    assert (
        api.get("/api/v1/parks/toy/tenants/b/footprints", params={"period": "2025"}).status_code
        == 404
    )
    assert api.get(f"{URL}/nope/sheet", params={"period": "2025"}).status_code == 404


def test_parse_declared() -> None:
    assert parse_declared(["p:1.5", "a:b:2"]) == {"p": 1.5, "a:b": 2.0}
    for bad in ("p", ":1", "p:x", "p:inf"):
        with pytest.raises(InvalidRequestError):
            parse_declared([bad])
