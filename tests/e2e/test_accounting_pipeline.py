"""Green certificates through the real pipeline (issue 13's proof): the simulator publishes three
days of the demo park hourly to Mosquitto, ``smartpark collect`` stores the readings and follows
the ledger into InfluxDB, and a GEC entered through ``PUT …/instruments/{id}`` lowers the 910 core
indicator (tCO2/tce) on ``/indicators`` by exactly its certified kWh at the grid factor, and
``/targets``, the JSON report and the PDF report all print that same value and name the
certificate. The same run checks the PV performance ratio against the demo park's pyranometer.

The embedded-store twin of this test is tests/accounting/test_instruments_in_figures.py."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from config.registry import load_registry
from config.settings import Settings
from reports.fmt import number
from simulators.publisher import simulate
from store import InfluxStore
from store.base import LEDGER_DAY, SeriesQuery
from tests.e2e.helpers import start_collector, wait_for
from tests.reports.checks import pdf_text
from tests.support.servers import InfluxService, MosquittoService

REGISTRY = load_registry()
PARK = REGISTRY.parks["wuhan-demo"]
URL = f"/api/v1/parks/{PARK.id}"
TZ = ZoneInfo("Asia/Shanghai")
DT_S = 3600  # hourly readings keep the run short
START = datetime(2026, 10, 26, tzinfo=TZ)
END = datetime(2026, 10, 29, tzinfo=TZ)  # exclusive: ticks 26 Oct 00:00 .. 28 Oct 23:00
MONTH, YEAR = "2026-10", 2026
SEED = 11
KWH_PER_GEC = 1_000.0  # 发改能源[2023]1044号: one green electricity certificate per 1,000 kWh
CERTIFICATES = 20
HUBEI_2023_KGCO2_PER_KWH = 0.4044  # MEE/NBS announcement 2025 No. 47, Hubei 2023 grid factor
GEC = {
    "kind": "gec",
    "tenant": None,
    "certificates": CERTIFICATES,
    "vintage": YEAR,
    "generation_from": "2026-09",
    "generation_to": "2026-09",
    "retired_from": MONTH,
    "retired_to": MONTH,
    "serial_first": "GEC2026-000001",
    "serial_last": f"GEC2026-{CERTIFICATES:06d}",
    "cancellation_id": "HX-2026-0042",
}


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _indicator(body: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(i for i in body["indicators"] if i["name"] == name)
    return found


def _core(api: TestClient, period: str) -> tuple[dict[str, Any], float | None]:
    """(the /indicators answer, the value of the 910 core row on /targets) for ``period``."""
    ind = api.get(f"{URL}/indicators", params={"period": period})
    assert ind.status_code == 200, ind.text
    targets = api.get(f"{URL}/targets", params={"period": period})
    assert targets.status_code == 200, targets.text
    zero_carbon = next(p for p in targets.json()["profiles"] if p["id"] == "zero_carbon_park")
    row = next(r for r in zero_carbon["rows"] if r["key"] == "carbon_per_energy")
    return ind.json(), row["value"]


@pytest.mark.mosquitto
@pytest.mark.influxdb
@pytest.mark.slow
def test_certificates_through_the_api_change_targets_and_reports_alike(
    mosquitto: MosquittoService, influxd: InfluxService, tmp_path: Path
) -> None:
    database = f"acct_{uuid.uuid4().hex[:10]}"
    env = {
        "SMARTPARK_MQTT_URL": mosquitto.url,
        "SMARTPARK_STORE_URL": influxd.store_url(database),
        "SMARTPARK_CLIENT_ID": f"collector-{database}",
        "SMARTPARK_DATA_DIR": str(tmp_path / "data"),
        "SMARTPARK_BATCH_INTERVAL_S": "0.2",
        "SMARTPARK_LEDGER_POLL_S": "0.5",
        "SMARTPARK_METRICS_PORT": "0",
    }
    collector = start_collector(env, tmp_path / "collect.log")
    store = InfluxStore(influxd.store_url(database), timeout_s=30.0)
    settings = Settings(_env_file=None, data_dir=tmp_path / "api", alarms=False, auth="off")
    app = create_app(settings=settings, store=store, registry=REGISTRY)
    try:
        start_ns, end_ns = _ms(START) * 10**6, _ms(END) * 10**6
        result = asyncio.run(
            simulate(
                PARK,
                mosquitto.url,
                interval_s=DT_S,
                speed=0,
                start_ns=start_ns,
                end_ns=end_ns,
                seed=SEED,
                batch=24,
            )
        )
        expected = result.ticks * len(PARK.devices)
        wait_for(
            lambda: store.count(PARK.id) == expected,
            timeout_s=60,
            every_s=0.5,
            what=f"{expected} readings in InfluxDB",
        )
        # the follower has rolled up the three local days of every meter
        wait_for(
            lambda: (
                len(
                    {
                        r.time_ns
                        for r in store.scan(
                            PARK.id, measurement=LEDGER_DAY, start_ns=start_ns, end_ns=end_ns
                        )
                    }
                )
                >= 3
            ),
            timeout_s=60,
            every_s=0.5,
            what="day roll-ups of the three days from the ledger follower",
        )

        with TestClient(app) as api:
            month_before, row_month_before = _core(api, MONTH)
            year_before, row_year_before = _core(api, str(YEAR))
            core_before = _indicator(month_before, "tco2_per_tce")["value"]
            tce = _indicator(month_before, "comprehensive_energy_tce")["value"]
            assert core_before is not None
            assert tce is not None
            assert tce > 0
            assert row_month_before == core_before
            # the month's only data are these three days: the year reads the same (to the
            # order of summation)
            year_core_before = _indicator(year_before, "tco2_per_tce")["value"]
            assert year_core_before == pytest.approx(core_before, rel=1e-12)
            assert row_year_before == year_core_before
            # the certificates cover less than the grid import, so all of them are used
            scope2 = _indicator(month_before, "scope2_location_tco2")
            grid_kwh = scope2["detail"]["grid_kwh"]
            assert grid_kwh > CERTIFICATES * KWH_PER_GEC, grid_kwh
            # the grid factor the park's figures use is Hubei's published 2023 factor
            grid_factors = [f["value"] for f in scope2["factors"] if f["unit"] == "kgCO2/kWh"]
            assert grid_factors == [HUBEI_2023_KGCO2_PER_KWH], scope2["factors"]

            # the PV performance ratio from the registry's pyranometer (IEC 61724-1): H_POA is
            # the sum of its hourly means × 1 h, read straight from InfluxDB, and PR = Y_f / Y_r
            pyr = store.series(
                SeriesQuery(PARK.id, "pyr-plant-1", "irradiance_w_per_m2", start_ns, end_ns)
            )
            assert len(pyr) == result.ticks
            h_kwh_per_m2 = sum(r.value for r in pyr) * 1.0 / 1000  # W/m² × 1 h → kWh/m²
            assert h_kwh_per_m2 > 1.0  # three October days in Wuhan: sunshine was published
            pr = _indicator(month_before, "pv_performance_ratio")
            yf = _indicator(month_before, "pv_specific_yield_kwh_per_kw")
            assert yf["detail"]["p0_kwp"] == 440 + 440 + 330  # the demo arrays' dc_kwp
            assert pr["detail"]["irradiation_kwh_per_m2"] == pytest.approx(h_kwh_per_m2, rel=1e-9)
            assert pr["value"] == pytest.approx(yf["value"] / h_kwh_per_m2, rel=1e-9)
            assert 0.6 < pr["value"] < 0.95  # derated, temperature-corrected arrays

            stored = api.put(f"{URL}/instruments/gec-oct", json=GEC)
            assert stored.status_code == 200, stored.text

            month_after, row_month_after = _core(api, MONTH)
            core_after = _indicator(month_after, "tco2_per_tce")["value"]
            # certified green electricity is zero-emission: 20 GEC × 1,000 kWh no longer carry
            # 0.4044 kgCO2/kWh, so Scope 2 falls by 20,000 × 0.4044 / 1,000 = 8.088 tCO2 while
            # the energy (tce) is unchanged
            assert _indicator(month_after, "comprehensive_energy_tce")["value"] == tce
            drop_t = CERTIFICATES * KWH_PER_GEC * HUBEI_2023_KGCO2_PER_KWH / 1000
            assert drop_t == pytest.approx(8.088)
            assert core_after == pytest.approx(core_before - drop_t / tce, rel=1e-12)
            assert core_after < core_before
            assert row_month_after == core_after  # /targets judges the same number
            year_after, row_year_after = _core(api, str(YEAR))
            year_core = _indicator(year_after, "tco2_per_tce")["value"]
            assert year_core == pytest.approx(core_after, rel=1e-12)
            assert row_year_after == year_core
            location = _indicator(month_after, "tco2_per_tce_location")["value"]
            assert location == core_before  # the location-based variant keeps the old value

            doc = api.get(f"{URL}/reports/{YEAR}", params={"format": "json"})
            assert doc.status_code == 200, doc.text
            core = next(i for i in doc.json()["indicators"] if i["key"] == "tco2_per_tce")
            assert core["value"] == year_core  # the report is the year's: identical to /targets
            assert doc.json()["instruments"] == [
                {
                    "id": "gec-oct",
                    "kind": "gec",
                    "kwh": CERTIFICATES * KWH_PER_GEC,
                    "month": MONTH,
                    "tenant": None,
                }
            ]

            pdf = api.get(f"{URL}/reports/{YEAR}", params={"format": "pdf", "lang": "en"})
            assert pdf.status_code == 200, pdf.text[:500]
            text = pdf_text(pdf.content, tmp_path)
            assert "gec-oct" in text
            assert number(year_core, "tCO2/tce") in text
            assert number(year_core, "tCO2/tce") != number(year_core_before, "tCO2/tce")
    finally:
        store.close()
        collector.kill()
