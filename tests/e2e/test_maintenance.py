"""The maintenance log and the reporting cadence through the real pipeline: the simulator
publishes the demo park hourly to Mosquitto with meter replacements, ``smartpark collect`` stores
the readings and follows the ledger into InfluxDB, and the API answers.

* A meter swapped mid-series, its replacement declared afterwards through ``POST …/maintenance``
  with the readings the truth file records (the old meter's last, the new meter's first), gives
  the true energy to 0.1 % with the swap's interval ``meter_replaced``, on the API's ledger and in
  the stored day roll-up the late entry rebuilt.
* Every meter reports hourly (its cadence learned, not declared, and shown on the device): a day
  with every reading is 100 % complete by the known measure (its totals are exact) and 0 %
  measured (its quarter hours are interpolated inside each hour).
"""

from __future__ import annotations

import asyncio
import csv
import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from fastapi.testclient import TestClient

from analytics.intervals import Quality
from api.main import create_app
from config.registry import load_registry
from config.settings import Settings
from services.rollup import read_day_rollups
from simulators.faults import FaultProfile
from simulators.publisher import simulate
from store import InfluxStore
from store.base import LEDGER_DAY
from tests.e2e.helpers import start_collector, wait_for
from tests.support.servers import InfluxService, MosquittoService

REGISTRY = load_registry()
PARK = REGISTRY.parks["wuhan-demo"]
TZ = ZoneInfo("Asia/Shanghai")
DT_S = 3600  # every meter reports hourly
START = datetime(2026, 10, 26, tzinfo=TZ)
END = datetime(2026, 10, 29, tzinfo=TZ)  # exclusive: ticks 26 Oct 00:00 .. 28 Oct 23:00
DAY = datetime(2026, 10, 27, tzinfo=TZ)  # a whole day with readings at both ends
SEED = 7
PROFILE = FaultProfile(meter_replacement=0.002)
REL_TOL = 1e-3


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _swaps(truth_path: Path) -> list[dict[str, object]]:
    """Each visible replacement of a device's first register: time, old final, new initial."""
    breaks, starts = [], {}
    with truth_path.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["record"] == "fault" and row["quantity"] == "meter_replacement":
                found = re.search(r"restart at ([0-9.]+)", row["detail"])
                assert found, row
                starts[(row["id"], int(row["time_ms"]))] = float(found.group(1))
            if row["record"] == "break" and row["detail"] == "meter_replacement":
                breaks.append(row)
    swaps = []
    for b in breaks:
        device = PARK.device(b["id"])
        assert device is not None
        first = next(n for n, s in device.fields.items() if s.cumulative)
        if b["quantity"] != first:
            continue
        t_ms, old = int(b["time_ms"]), float(b["value"])
        swaps.append(
            {"device": b["id"], "t_ms": t_ms, "old": old, "new": min(starts[(b["id"], t_ms)], old)}
        )
    return swaps


def _day_of(t_ms: int) -> datetime:
    """Local midnight opening the day of the step that ends at reading ``t_ms`` (the swap lies
    before that reading)."""
    return datetime.fromtimestamp((t_ms - 1) / 1000, TZ).replace(
        hour=0, minute=0, second=0, microsecond=0
    )


def _whole_day(day: datetime) -> bool:
    """Whether the simulated readings cover the local day opened by ``day``, both ends."""
    return day >= START and day + timedelta(days=1) <= END - timedelta(hours=1)


def _true_energy(truth_path: Path, device: str, register: str, lo_ms: int, hi_ms: int) -> float:
    """Σ of the truth's interval energy of a register over (lo_ms, hi_ms] (rows are stamped at
    the end of their interval)."""
    total = 0.0
    with truth_path.open(newline="") as f:
        for row in csv.DictReader(f):
            if (
                row["record"] == "energy"
                and row["scope"] == "device"
                and row["id"] == device
                and row["quantity"] == register
                and lo_ms < int(row["time_ms"]) <= hi_ms
            ):
                total += float(row["value"])
    return total


@pytest.mark.mosquitto
@pytest.mark.influxdb
@pytest.mark.slow
def test_declared_swap_is_exact_and_an_hourly_meter_is_complete(
    mosquitto: MosquittoService, influxd: InfluxService, tmp_path: Path
) -> None:
    database = f"maint_{uuid.uuid4().hex[:10]}"
    env = {
        "SMARTPARK_MQTT_URL": mosquitto.url,
        "SMARTPARK_STORE_URL": influxd.store_url(database),
        "SMARTPARK_CLIENT_ID": f"collector-{database}",
        "SMARTPARK_DATA_DIR": str(tmp_path / "data"),
        "SMARTPARK_BATCH_INTERVAL_S": "0.2",
        "SMARTPARK_LEDGER_POLL_S": "0.5",
        "SMARTPARK_METRICS_PORT": "0",  # the default 9180 may be taken by another collector
    }
    truth_path = tmp_path / "truth.csv"
    collector = start_collector(env, tmp_path / "collect.log")
    store = InfluxStore(influxd.store_url(database), timeout_s=30.0)
    app = create_app(settings=Settings(data_dir=tmp_path / "api"), store=store, registry=REGISTRY)
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
                faults=PROFILE,
                truth_path=truth_path,
                batch=24,
            )
        )
        expected = result.ticks * len(PARK.devices)
        wait_for(
            lambda: store.count(PARK.id) == expected,
            timeout_s=120,
            every_s=0.5,
            what=f"{expected} readings in InfluxDB",
        )
        swaps = _swaps(truth_path)
        assert swaps, "the seed fires no visible meter replacement"
        swapped = {str(s["device"]) for s in swaps}
        assert "grid-main" not in swapped  # the day's park figures rest on an unswapped meter
        last_ms = _ms(END) - DT_S * 1000
        # the follower has ledgered the last reading of every meter
        wait_for(
            lambda: (
                len(store.scan(PARK.id, measurement=LEDGER_DAY, start_ns=start_ns, end_ns=end_ns))
                >= 2
            ),
            timeout_s=120,
            every_s=0.5,
            what="day roll-ups from the ledger follower",
        )

        with TestClient(app) as api:
            # --- an hourly meter with every reading is complete -----------------------------
            day_ms = (_ms(DAY), _ms(DAY + timedelta(days=1)))
            quarter = api.get(
                f"/api/v1/parks/{PARK.id}/ledger",
                params={"device": "grid-main", "start": str(day_ms[0]), "end": str(day_ms[1])},
            ).json()["fields"][0]
            assert quarter["quality_counts"] == {"interpolated": 96}, quarter["quality_counts"]
            assert (quarter["known_pct"], quarter["measured_pct"]) == (100.0, 0.0)
            assert quarter["completeness_pct"] == 100.0
            energy = api.get(
                f"/api/v1/parks/{PARK.id}/energy",
                params={"start": str(day_ms[0]), "end": str(day_ms[1]), "period": "day"},
            )
            assert energy.status_code == 200, energy.text
            grid = next(f for f in energy.json()["figures"] if f["name"] == "grid_import_kwh")
            assert grid["completeness_pct"] == 100.0
            assert [p["completeness_pct"] for p in grid["periods"]] == [100.0]
            # /indicators: the day's totals (and what is derived from them) are complete by the
            # known measure; the figures that need the 15-minute shape are not (measured share)
            ind = api.get(
                f"/api/v1/parks/{PARK.id}/indicators", params={"period": DAY.date().isoformat()}
            )
            assert ind.status_code == 200, ind.text
            pct = {i["name"]: i["completeness_pct"] for i in ind.json()["indicators"]}
            for total in ("comprehensive_energy_tce", "tco2_per_tce"):
                assert pct[total] == 100.0, (total, pct[total])
            for shape in ("peak_demand_kw", "load_factor"):
                assert pct[shape] == 0.0, (shape, pct[shape])
            cadence = {"expected_interval_s": 3600.0, "source": "learned"}
            log = api.get(f"/api/v1/parks/{PARK.id}/devices/grid-main/maintenance").json()
            assert log["cadence"] == cadence
            shown = api.get(f"/api/v1/parks/{PARK.id}/devices/grid-main").json()
            assert shown["cadence"] == cadence

            # --- a swap declared late -------------------------------------------------------
            # a swap inside a whole local day of readings (its day roll-up is checked too)
            swap = next((w for w in swaps if _whole_day(_day_of(int(str(w["t_ms"]))))), None)
            assert swap is not None, swaps
            swap_day = _day_of(int(str(swap["t_ms"])))
            device = str(swap["device"])
            dev = PARK.device(device)
            assert dev is not None
            register = next(n for n, s in dev.fields.items() if s.cumulative)
            t_ms = int(str(swap["t_ms"]))
            lo_ms, hi_ms = _ms(START), last_ms
            url = f"/api/v1/parks/{PARK.id}/ledger"
            params = {"device": device, "start": str(lo_ms), "end": str(hi_ms), "interval": "3600"}
            before = api.get(url, params=params).json()["fields"][0]
            assert before["quality_counts"].get("reset_corrected", 0) >= 1

            at = datetime.fromtimestamp(t_ms / 1000, TZ).isoformat()
            posted = api.post(
                f"/api/v1/parks/{PARK.id}/devices/{device}/maintenance",
                json={
                    "kind": "replacement",
                    "at": at,
                    "old_final": swap["old"],
                    "new_initial": swap["new"],
                },
            )
            assert posted.status_code == 201, posted.text
            assert posted.json()["intervals"] > 0
            assert posted.json()["days"] >= 1

            after = api.get(url, params=params).json()["fields"][0]
            true = _true_energy(truth_path, device, register, lo_ms, hi_ms)
            assert after["total"] == pytest.approx(true, rel=REL_TOL)
            assert abs(before["total"] - true) > REL_TOL * true  # the reset had lost energy
            crossing = [i for i in after["intervals"] if i["quality"] == "meter_replaced"]
            assert len(crossing) == 1
            assert t_ms - DT_S * 1000 <= crossing[0]["start_ms"] < t_ms
            assert after["quality_counts"].get("reset_corrected", 0) == 0

            # the stored day roll-up of the swap's local day was rebuilt
            field = after["field"]
            day_ns = np.array([_ms(swap_day) * 10**6], dtype=np.int64)
            rolled = read_day_rollups(store, PARK.id, field, day_ns=day_ns)[device]
            true_day = _true_energy(
                truth_path, device, register, _ms(swap_day), _ms(swap_day + timedelta(days=1))
            )
            assert rolled.energy[0] == pytest.approx(true_day, rel=REL_TOL)
            assert rolled.quality[0] == Quality.METER_REPLACED
    finally:
        store.close()
        collector.kill()


def test_swaps_are_read_from_the_truth_rows(tmp_path: Path) -> None:
    # the parser the proof rests on: a replacement of grid-main's energy register at 01:00
    path = tmp_path / "truth.csv"
    rows = [
        ["record", "time_ms", "interval_s", "scope", "id", "quantity", "value", "unit", "detail"],
        ["fault", "3600000", "3600", "device", "grid-main", "meter_replacement", "1", "",
         "registers restart at 4.25"],
        ["break", "3600000", "3600", "device", "grid-main", "energy", "812.5", "kWh",
         "meter_replacement"],
        ["break", "3600000", "3600", "device", "grid-main", "export_energy", "3.0", "kWh",
         "meter_replacement"],
    ]  # fmt: skip
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    assert _swaps(path) == [{"device": "grid-main", "t_ms": 3_600_000, "old": 812.5, "new": 4.25}]
