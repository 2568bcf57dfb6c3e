"""The maintenance log and the reporting cadence in the ledger, on the embedded store: a declared
swap loses nothing, a late entry rewrites the stored ledger and the day roll-ups, conflicts are
refused, and an hourly meter's totals are complete (known) while its quarter hours are
interpolated (not measured)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from analytics.intervals import Quality, known_pct, measured_pct
from config.registry import MaintenanceEntry, ParkRegistry
from services.energy import Scope, energy_balance
from services.indicators import park_indicators
from services.ledger import device_ledger, rebuild_ledger, stored_ledger
from services.maintenance import (
    Cadence,
    MaintenanceConflictError,
    MaintenanceError,
    device_cadence,
    maintenance_log,
    readings_received,
    record_entry,
)
from services.rollup import DayLedger, day_points, read_day_rollups, write_day_rollups
from store import EmbeddedStore
from store.base import TELEMETRY, Point

T0 = 1_767_196_800 * 10**9  # 2026-01-01T00:00+08:00
MIN = 60 * 10**9
HOUR = 60 * MIN
DAY = 24 * HOUR


def park(**grid: object) -> ParkRegistry:
    meter = {"id": "m1", "kind": "electricity_meter", "role": "load", "parent": "grid"}
    meter.update(grid)
    return ParkRegistry.model_validate(
        {
            "park": {
                "id": "p1",
                "name": "P",
                "latitude": 30.5,
                "longitude": 114.3,
                "grid_region": "central_china",
            },
            "devices": [
                {"id": "grid", "kind": "electricity_meter", "role": "grid_connection"},
                meter,
            ],
        }
    )


@pytest.fixture
def store(tmp_path):
    s = EmbeddedStore(tmp_path / "store.sqlite3")
    yield s
    s.close()


def write(store: EmbeddedStore, device: str, readings: list[tuple[int, float]]) -> None:
    store.write(
        [
            Point(TELEMETRY, {"park": "p1", "device": device}, {"energy_kwh": v}, t)
            for t, v in readings
        ]
    )


def at(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 10**9, tz=UTC)


def swapped_day(store: EmbeddedStore) -> int:
    """One day of a 60 kW load read every 15 min (15 kWh a step); the old meter, at 12,300.0 at
    midnight, is swapped at 12:07: it read 12,300.0 + 48 x 15 + 7/15 x 15 = 13,027.0 then, and
    the new meter starts at 0.0. Returns the swap time."""
    swap = T0 + 12 * HOUR + 7 * MIN
    readings = []
    for i in range(0, 97):
        t = T0 + i * 15 * MIN
        true = 15.0 * i
        readings.append((t, 12_300.0 + true if t < swap else true - (13_027.0 - 12_300.0)))
    write(store, "m1", readings)
    return swap


def test_a_late_swap_rewrites_the_stored_ledger_and_the_day_rollup(store):
    p = park()
    swap = swapped_day(store)
    rebuild_ledger(store, p, start_ns=T0, end_ns=T0 + DAY, devices=["m1"])
    write_day_rollups(store, p, start_ns=T0, end_ns=T0 + DAY, devices=["m1"])
    (before,) = stored_ledger(store, "p1", p.device("m1"), start_ns=T0, end_ns=T0 + DAY)
    assert Quality.RESET_CORRECTED in before.ledger.quality.tolist()
    assert before.ledger.total() < 1440.0 - 1.0  # energy before the swap lost

    entry = MaintenanceEntry(kind="replacement", at=at(swap), old_final=13_027.0, new_initial=0.0)
    done = record_entry(store, p, "m1", entry)

    assert done.written
    assert done.recomputed is not None
    assert done.recomputed[0] <= swap < done.recomputed[1]
    (after,) = stored_ledger(store, "p1", p.device("m1"), start_ns=T0, end_ns=T0 + DAY)
    assert after.ledger.total() == pytest.approx(1440.0, rel=1e-9)  # 96 x 15 kWh
    quality = after.ledger.quality
    assert quality[48] == Quality.METER_REPLACED  # 12:00-12:15 holds the swap
    assert set(np.delete(quality, 48).tolist()) == {int(Quality.MEASURED)}
    rollup = read_day_rollups(store, "p1", "energy_kwh", day_ns=np.array([T0]))["m1"]
    assert rollup.energy[0] == pytest.approx(1440.0, rel=1e-9)
    assert rollup.quality[0] == Quality.METER_REPLACED


def test_the_same_entry_twice_is_one_and_a_different_one_conflicts(store):
    p = park()
    swap = swapped_day(store)
    entry = MaintenanceEntry(kind="replacement", at=at(swap), old_final=13_027.0, new_initial=0.0)
    assert record_entry(store, p, "m1", entry).written
    again = record_entry(store, p, "m1", entry)
    assert not again.written
    assert len(again.log) == 1
    other = entry.model_copy(update={"old_final": 13_000.0})
    with pytest.raises(MaintenanceConflictError, match=r"old_final=13027"):
        record_entry(store, p, "m1", other)
    assert maintenance_log(store, "p1", p.device("m1")) == (entry,)


def test_registry_and_stored_entries_merge(store):
    swap = swapped_day(store)
    declared = MaintenanceEntry(
        kind="multiplier", at=at(T0 - DAY), old_multiplier=1.0, multiplier=1.0
    )
    p = park(maintenance=[declared.model_dump()])
    entry = MaintenanceEntry(kind="replacement", at=at(swap), old_final=13_027.0, new_initial=0.0)
    record_entry(store, p, "m1", entry)
    assert maintenance_log(store, "p1", p.device("m1")) == (declared, entry)


def test_an_entry_for_a_register_the_device_lacks_is_refused(store):
    p = park()
    entry = MaintenanceEntry(
        kind="replacement", at=at(T0), new_initial=0.0, meter_register="volume"
    )
    with pytest.raises(MaintenanceError, match="meter_register"):
        record_entry(store, p, "m1", entry)
    assert store.count("p1", measurement="maintenance") == 0


def test_a_multiplier_change_from_the_registry_scales_each_side(store):
    # CT ratio 40 -> 80 at 01:00, the display reading 100.0 then; the collector stores count x 80
    # (the registry's current multiplier). Counts 99.5 at 00:30, 100.0 at 01:00, 100.5 at 01:30:
    # 0.5 x 40 = 20 kWh in the first half hour, 0.5 x 80 = 40 kWh in the second.
    change = MaintenanceEntry(
        kind="multiplier", at=at(T0 + HOUR), old_multiplier=40.0, multiplier=80.0, reading=100.0
    )
    p = park(multiplier=80.0, maintenance=[change.model_dump()])
    write(
        store,
        "m1",
        [(T0 + 30 * MIN, 99.5 * 80), (T0 + HOUR, 100.0 * 80), (T0 + 90 * MIN, 100.5 * 80)],
    )
    (led,) = device_ledger(
        store, "p1", p.device("m1"), start_ns=T0 + 30 * MIN, end_ns=T0 + 90 * MIN
    )
    assert led.ledger.energy.tolist() == pytest.approx([10.0, 10.0, 20.0, 20.0])


def test_an_hourly_meter_with_every_reading_is_complete(store):
    # 24 kW read hourly: 24 kWh an hour. Each hour's 24 kWh is exact; its split into quarter
    # hours is interpolated. So every day total is known (100 %) and no quarter hour is measured.
    p = park(expected_interval_s=3600)
    write(store, "m1", [(T0 - HOUR + i * HOUR, 24.0 * i) for i in range(27)])
    # the grid meter too, its cadence learned (no expected_interval_s): 30 kWh an hour
    write(store, "grid", [(T0 - HOUR + i * HOUR, 30.0 * i) for i in range(27)])
    rebuild_ledger(store, p, start_ns=T0, end_ns=T0 + DAY)
    write_day_rollups(store, p, start_ns=T0, end_ns=T0 + DAY)
    (led,) = stored_ledger(store, "p1", p.device("m1"), start_ns=T0, end_ns=T0 + DAY)
    assert set(led.ledger.quality.tolist()) == {int(Quality.INTERPOLATED)}
    assert led.ledger.energy.tolist() == pytest.approx([6.0] * 96)  # 24 kWh / 4
    assert led.ledger.total() == pytest.approx(576.0)  # 24 h x 24 kWh
    rollup = read_day_rollups(store, "p1", "energy_kwh", day_ns=np.array([T0]))["m1"]
    assert (rollup.known_total[0], rollup.measured[0], rollup.intervals[0]) == (96.0, 0.0, 96.0)

    # figures: per 15 minutes and per day both say 100 % known, 0 % measured
    for ledger_fn, interval_s in ((stored_ledger, 900), (DayLedger(), 86_400)):
        bal = energy_balance(
            store, p, Scope("park"), start_ns=T0, end_ns=T0 + DAY, interval_s=interval_s,
            ledger=ledger_fn,
        )  # fmt: skip
        load = bal.figure("electricity_kwh") or bal.figure("load_kwh")
        assert load is not None
        grid = bal.figure("grid_import_kwh")
        assert grid is not None
        assert grid.total() == pytest.approx(720.0)  # 24 h x 30 kWh
        assert (grid.known_pct(), grid.completeness_pct(), grid.measured_pct()) == (100, 100, 0)
        (day,) = grid.rollup(bal.start_ns, interval_s, "Asia/Shanghai", "day").known_pct
        assert day == 100.0

    # readings: 24 expected by the declared cadence (00:00 ... 23:00), 24 received
    got = readings_received(store, "p1", p.device("m1"), start_ns=T0, end_ns=T0 + DAY)
    assert (got.received, got.expected, got.received_pct()) == (24, 24, 100.0)
    assert got.cadence == Cadence(3600.0, "declared")
    learned = readings_received(store, "p1", p.device("grid"), start_ns=T0, end_ns=T0 + DAY)
    assert (learned.cadence.source, learned.received_pct()) == ("learned", 100.0)

    report = park_indicators(store, p, "2026-01-01", ledger=DayLedger(), interval_s=86_400)
    tce = next(i for i in report.indicators if i.name == "comprehensive_energy_tce")
    # 720 kWh x 0.1229 kgce/kWh (GB/T 2589-2020, calorific equivalent) = 88.488 kgce
    assert tce.value == pytest.approx(0.088488)
    # (the indicator's completeness_pct takes the known share when services.indicators uses
    # Figure.known_pct for totals: asserted there, not here)


def test_a_missed_reading_loses_no_energy_and_shows_as_a_reading_not_received(store):
    # A 15-minute meter of 40 kW (10 kWh a quarter hour) misses its 05:00 reading: 04:45-05:15 is
    # one 30-minute step of 20 kWh, exact, spread over its two quarter hours (interpolated).
    p = park(expected_interval_s=900)
    write(
        store,
        "m1",
        [(T0 - HOUR + i * 15 * MIN, 10.0 * i) for i in range(4 + 96 + 4) if i != 4 + 20],
    )
    (led,) = device_ledger(store, "p1", p.device("m1"), start_ns=T0, end_ns=T0 + DAY)
    quality = led.ledger.quality
    assert quality[19:21].tolist() == [Quality.INTERPOLATED] * 2  # 04:45-05:15
    assert np.count_nonzero(quality == Quality.MEASURED) == 94
    assert led.ledger.total() == pytest.approx(960.0)  # 96 x 10 kWh: nothing lost
    assert known_pct(quality) == 100.0
    assert measured_pct(quality) == pytest.approx(100.0 * 94 / 96)  # 97.92 %
    points = day_points("p1", "m1", led, "Asia/Shanghai")
    assert points[0].fields["energy_kwh_measured"] == 94.0
    assert points[0].fields["energy_kwh_known_total"] == 96.0
    got = readings_received(store, "p1", p.device("m1"), start_ns=T0, end_ns=T0 + DAY)
    assert (got.received, got.expected) == (95, 96)
    assert got.received_pct() == pytest.approx(100.0 * 95 / 96)  # 98.96 %


def test_an_undeclared_swap_is_unknown_energy_a_declared_one_is_known(store):
    p = park()
    swap = swapped_day(store)
    (before,) = device_ledger(store, "p1", p.device("m1"), start_ns=T0, end_ns=T0 + DAY)
    # the old meter's last 7 minutes (7 kWh) are lost: the swap's interval is not a known total
    assert known_pct(before.ledger.quality) == pytest.approx(100.0 * 95 / 96)
    # declared without the old meter's final reading: still lost, still not known
    blind = MaintenanceEntry(kind="replacement", at=at(swap), new_initial=0.0)
    record_entry(store, p, "m1", blind)
    (half,) = device_ledger(store, "p1", p.device("m1"), start_ns=T0, end_ns=T0 + DAY)
    assert half.ledger.quality[48] == Quality.RESET_CORRECTED
    assert half.ledger.total() == pytest.approx(1440.0 - 7.0)
    assert known_pct(half.ledger.quality) == pytest.approx(100.0 * 95 / 96)


def test_readings_received_without_a_cadence_is_none(store):
    write(store, "m1", [(T0, 0.0), (T0 + HOUR, 1.0)])  # two readings teach no cadence
    got = readings_received(store, "p1", park().device("m1"), start_ns=T0, end_ns=T0 + DAY)
    assert (got.received, got.expected, got.received_pct()) == (2, None, None)
    with pytest.raises(ValueError, match="not after"):
        readings_received(store, "p1", park().device("m1"), start_ns=T0, end_ns=T0)


def test_cadence_is_declared_or_learned(store):
    write(store, "m1", [(T0 + i * 5 * MIN, float(i)) for i in range(30)])
    assert device_cadence(store, "p1", park().device("m1")).interval_s == 300.0
    assert device_cadence(store, "p1", park().device("m1")).source == "learned"
    declared = device_cadence(store, "p1", park(expected_interval_s=3600).device("m1"))
    assert (declared.interval_s, declared.source) == (3600.0, "declared")
    assert device_cadence(store, "p1", park().device("grid")).source == "unknown"


# -- over the API ---------------------------------------------------------------------------------

URL = "/api/v1/parks/wuhan-demo/devices/plant-1-main/maintenance"
SWAP = {"kind": "replacement", "at": "2026-03-04T10:30:00+08:00", "old_final": 12345.6}


@pytest.fixture
def api(tmp_path):
    from fastapi.testclient import TestClient

    from api.main import create_app
    from config.registry import load_registry
    from config.settings import Settings

    s = EmbeddedStore(tmp_path / "api.sqlite3")
    app = create_app(settings=Settings(data_dir=tmp_path), store=s, registry=load_registry())
    with TestClient(app) as client:
        yield client, s
    s.close()


def test_api_refuses_a_new_reading_above_the_old_and_stores_nothing(api):
    client, s = api
    answer = client.post(URL, json={**SWAP, "new_initial": 20000.0})
    assert answer.status_code == 422
    assert "new_initial" in answer.json()["message"]
    assert "20000" in answer.json()["message"]
    stray = client.post(URL, json={**SWAP, "new_initial": 0.0, "multiplier": 80})
    assert stray.status_code == 422
    assert "multiplier do not belong to a replacement entry" in stray.json()["message"]
    negative = client.post(URL, json={**SWAP, "new_initial": -1.0})
    assert negative.status_code == 422
    assert "new_initial" in negative.json()["message"]
    ancient = client.post(URL, json={**SWAP, "new_initial": 0.0, "at": "1900-01-01T00:00:00Z"})
    assert ancient.status_code == 422
    assert ancient.json()["message"].startswith("at: 1900-01-01")
    huge = client.post(URL, json={"kind": "multiplier", "at": SWAP["at"], "old_multiplier": 1,
                                  "multiplier": 1e9})  # fmt: skip
    assert huge.status_code == 422
    assert "multiplier" in huge.json()["message"]
    assert s.count("wuhan-demo", measurement="maintenance") == 0
    assert client.get(URL).json()["entries"] == []


def test_api_posts_reads_back_repeats_and_conflicts(api):
    client, s = api
    first = client.post(URL, json={**SWAP, "new_initial": 0.0})
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["written"] is True
    assert body["recomputed_start"] is None  # no readings yet: nothing to rebuild
    (entry,) = body["entries"]
    assert (entry["source"], entry["old_final"], entry["new_initial"]) == ("api", 12345.6, 0.0)
    assert entry["at"].startswith("2026-03-04T02:30:00")
    again = client.post(URL, json={**SWAP, "new_initial": 0.0})
    assert again.status_code == 200
    assert again.json()["written"] is False
    conflict = client.post(URL, json={**SWAP, "new_initial": 5.0})
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "conflict"
    assert "new_initial=0" in conflict.json()["message"]
    assert s.count("wuhan-demo", measurement="maintenance") == 1
    log = client.get(URL).json()
    assert len(log["entries"]) == 1
    assert log["cadence"] == {"expected_interval_s": None, "source": "unknown"}
    assert client.post(URL.replace("plant-1-main", "nothing"), json=SWAP).status_code == 404


def test_the_stored_log_is_read_once_per_park_for_all_devices(store, monkeypatch):
    p = park()
    write(store, "m1", [(T0 + i * 15 * MIN, float(i)) for i in range(20)])
    write(store, "grid", [(T0 + i * 15 * MIN, float(i)) for i in range(20)])
    scans = []
    real = store.scan

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        scans.append(kwargs.get("measurement"))
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "scan", counting)
    rebuild_ledger(store, p, start_ns=T0, end_ns=T0 + 4 * HOUR)
    assert scans.count("maintenance") == 1
    # an entry recorded here is seen at once, not after the cache expires
    entry = MaintenanceEntry(kind="replacement", at=at(T0 + 2 * HOUR), new_initial=0.0)
    record_entry(store, p, "m1", entry)
    assert maintenance_log(store, "p1", p.device("m1")) == (entry,)


def test_api_shows_an_hourly_meters_shares_and_its_cadence(api):
    # plant-1-main read hourly for a day and a bit, 50 kWh an hour: the ledger's quarter hours are
    # interpolated (known 100 %, measured 0 %); the device shows its learned cadence
    client, s = api
    s.write(
        [
            Point(TELEMETRY, {"park": "wuhan-demo", "device": "plant-1-main"},
                  {"energy_kwh": 50.0 * i}, T0 - HOUR + i * HOUR)
            for i in range(27)
        ]
    )  # fmt: skip
    device_url = "/api/v1/parks/wuhan-demo/devices/plant-1-main"
    assert client.get(device_url).json()["cadence"] == {
        "expected_interval_s": 3600.0,
        "source": "learned",
    }
    params = {"device": "plant-1-main", "start": str(T0 // 10**6), "end": str((T0 + DAY) // 10**6)}
    (register,) = client.get("/api/v1/parks/wuhan-demo/ledger", params=params).json()["fields"]
    assert register["total"] == pytest.approx(1200.0)  # 24 h x 50 kWh
    assert register["quality_counts"] == {"interpolated": 96}
    assert (register["known_pct"], register["measured_pct"]) == (100.0, 0.0)
    assert register["completeness_pct"] == 100.0
    # a device with no readings: its cadence is unknown, and the list of devices carries none
    assert client.get(device_url.replace("plant-1-main", "grid-main")).json()["cadence"] == {
        "expected_interval_s": None,
        "source": "unknown",
    }
    listed = client.get("/api/v1/parks/wuhan-demo/devices").json()
    assert all(d["cadence"] is None for d in listed)
