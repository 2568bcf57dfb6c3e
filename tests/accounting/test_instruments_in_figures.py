"""Certificates entered through the API change the 910 core indicator, and `/indicators`,
`/targets`, the JSON report and the PDF report all say the same (issue 13's proof).

The demo park's simulated January 2025 (``january_data_dir``) is the data; 500 green
certificates (GEC, 1 GEC = 1,000 kWh, 发改能源[2023]1044号) are retired against January for
the park as a whole."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from config.registry import load_registry
from config.settings import Settings
from reports.fmt import number
from store import EmbeddedStore
from tests.reports.checks import pdf_text

PARK = "/api/v1/parks/wuhan-demo"
GEC = {
    "kind": "gec",
    "tenant": None,
    "certificates": 500,
    "vintage": 2025,
    "generation_from": "2025-01",
    "generation_to": "2025-01",
    "retired_from": "2025-01",
    "retired_to": "2025-01",
    "serial_first": "GEC2025-000001",
    "serial_last": "GEC2025-000500",
    "cancellation_id": "HX-2025-0001",
}
HUBEI_2023_KGCO2_PER_KWH = 0.4044  # MEE/NBS announcement 2025 No. 47, Hubei 2023 grid factor


@pytest.fixture
def client(january_data_dir: Path, tmp_path: Path) -> Iterator[TestClient]:
    shutil.copy(january_data_dir / "store.sqlite3", tmp_path / "store.sqlite3")
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    settings = Settings(_env_file=None, data_dir=tmp_path, alarms=False, auth="off")
    with TestClient(create_app(settings=settings, store=store, registry=load_registry())) as c:
        yield c
    store.close()


def _indicator(body: dict[str, Any], name: str) -> Any:
    return next(i for i in body["indicators"] if i["name"] == name)


def _core(c: TestClient) -> tuple[float, float, float]:
    """(tCO2/tce on /indicators, tce, the value of the 910 row on /targets) for 2025."""
    ind = c.get(f"{PARK}/indicators?period=2025").json()
    targets = c.get(f"{PARK}/targets?period=2025").json()
    zero_carbon = next(p for p in targets["profiles"] if p["id"] == "zero_carbon_park")
    row = next(r for r in zero_carbon["rows"] if r["key"] == "carbon_per_energy")
    tce = _indicator(ind, "comprehensive_energy_tce")["value"]
    return _indicator(ind, "tco2_per_tce")["value"], tce, row["value"]


def test_certificates_lower_the_core_indicator_everywhere_alike(
    client: TestClient, tmp_path: Path
) -> None:
    before, tce, row_before = _core(client)
    assert row_before == before
    stored = client.put(f"{PARK}/instruments/gec-jan", json=GEC)
    assert stored.status_code == 200, stored.text

    after, tce_after, row_after = _core(client)
    # certified green electricity counts as zero-emission: 500 × 1,000 kWh no longer carry the
    # Hubei factor, so Scope 2 falls by 500,000 kWh × 0.4044 kgCO2/kWh = 202.2 tCO2, while the
    # energy (tce) is unchanged
    assert tce_after == tce
    assert after == pytest.approx(before - 500_000 * HUBEI_2023_KGCO2_PER_KWH / 1000 / tce)
    assert row_after == after  # /targets judges the same number

    doc = client.get(f"{PARK}/reports/2025?format=json").json()
    core = next(i for i in doc["indicators"] if i["key"] == "tco2_per_tce")
    assert core["value"] == after
    assert doc["instruments"] == [
        {"id": "gec-jan", "kind": "gec", "kwh": 500_000.0, "month": "2025-01", "tenant": None}
    ]

    pdf = client.get(f"{PARK}/reports/2025?format=pdf&lang=en")
    assert pdf.status_code == 200
    text = pdf_text(pdf.content, tmp_path)
    assert "gec-jan" in text
    assert number(after, "tCO2/tce") in text
    # the location-based variant (no instruments) keeps the old value, and is printed too
    location = _indicator(
        client.get(f"{PARK}/indicators?period=2025").json(), "tco2_per_tce_location"
    )
    assert location["value"] == before


def test_a_tenant_certificate_does_not_lower_another_tenant(client: TestClient) -> None:
    def core(tenant: str) -> float:
        body = client.get(f"{PARK}/indicators?period=2025-01&scope=tenant:{tenant}").json()
        value: float = _indicator(body, "tco2_per_tce")["value"]
        return value

    before = {t: core(t) for t in ("chipcore", "lumina")}
    gec = {**GEC, "tenant": "chipcore", "certificates": 10, "serial_last": "GEC2025-000010"}
    assert client.put(f"{PARK}/instruments/gec-chip", json=gec).status_code == 200
    assert core("chipcore") < before["chipcore"]
    assert core("lumina") == before["lumina"]
