"""The demo's history and joining simulated runs: registers continue where the store says each
meter stands, so a backfill followed by another run (or the live demo) has no register reset."""

from __future__ import annotations

import threading
from datetime import datetime

import numpy as np
import pytest

from analytics.intervals import Quality
from config.registry import load_registry
from config.settings import Settings
from services.ledger import device_ledger, stored_ledger
from simulators.park import ParkModel
from smartpark.demo import (
    BACKFILL_INTERVAL_S,
    _history_window,
    backfill,
    simulate_history,
    store_history,
)
from smartpark.registers import registers_at, stored_registers
from store import LEDGER_DAY, EmbeddedStore, SeriesQuery
from store.base import TOUCHED

REGISTRY = load_registry()
PARK = REGISTRY.parks["wuhan-demo"]
DAY_NS = 86_400 * 10**9
STEP_NS = BACKFILL_INTERVAL_S * 10**9
T0 = int(datetime.fromisoformat("2026-03-01T00:00:00+08:00").timestamp()) * 10**9
REGISTERS = [(d, n) for d in PARK.devices for n, spec in d.fields.items() if spec.cumulative]


def _two_runs(folder, *, continue_registers: bool) -> EmbeddedStore:
    """Day one, then day two by a second run of the same seed (as `smartpark simulate` twice)."""
    store = EmbeddedStore(folder / "store.sqlite3")
    settings = Settings(data_dir=folder, metrics_port=0)
    backfill(store, REGISTRY, PARK, ParkModel(PARK, seed=0), start_ns=T0, end_ns=T0 + DAY_NS,
             settings=settings)  # fmt: skip
    start = T0 + DAY_NS + STEP_NS
    registers = registers_at(store, PARK, start) if continue_registers else None
    backfill(store, REGISTRY, PARK, ParkModel(PARK, seed=0, registers=registers),
             start_ns=start, end_ns=T0 + 2 * DAY_NS, settings=settings)  # fmt: skip
    return store


def _qualities(store: EmbeddedStore) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for device in PARK.devices:
        for result in device_ledger(store, PARK.id, device, start_ns=T0 + STEP_NS,
                                    end_ns=T0 + 2 * DAY_NS):  # fmt: skip
            out[f"{device.id}.{result.field}"] = set(np.unique(result.ledger.quality).tolist())
    return out


def test_a_second_run_continues_every_register_without_a_reset(tmp_path):
    store = _two_runs(tmp_path, continue_registers=True)
    try:
        joint = T0 + DAY_NS + STEP_NS  # the second run's first reading
        for device, name in REGISTERS:
            field = (
                f"{name}_{'m3' if name == 'volume' else 'units' if name == 'produced' else 'kwh'}"
            )
            rows = store.series(SeriesQuery(PARK.id, device.id, field, joint - STEP_NS, joint + 1))
            assert [r.time_ns for r in rows] == [joint - STEP_NS, joint], (device.id, field)
            assert rows[1].value >= rows[0].value, (device.id, field)
        qualities = _qualities(store)
        assert qualities  # every register has a ledger over both days
        broken = {k for k, q in qualities.items()
                  if q & {Quality.RESET_CORRECTED, Quality.METER_REPLACED}}  # fmt: skip
        assert broken == set()
    finally:
        store.close()


def test_seeded_registers_in_each_run_reset_the_meters(tmp_path):
    """What joining runs did before: the ledger finds a reset on (almost) every meter."""
    store = _two_runs(tmp_path, continue_registers=False)
    try:
        qualities = _qualities(store)
        broken = {k for k, q in qualities.items() if Quality.RESET_CORRECTED in q}
        assert len(broken) > len(qualities) // 3
    finally:
        store.close()


def test_registers_at_reads_the_last_reading_before_the_time(tmp_path):
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    try:
        model = ParkModel(PARK, seed=0)
        backfill(store, REGISTRY, PARK, model, start_ns=T0, end_ns=T0 + 4 * STEP_NS,
                 settings=Settings(data_dir=tmp_path, metrics_port=0))  # fmt: skip
        at_end = registers_at(store, PARK, T0 + 5 * STEP_NS)
        now = model.registers()
        assert at_end.keys() == now.keys()
        for device, values in now.items():
            for name, value in values.items():
                assert at_end[device][name] == pytest.approx(value, rel=1e-9, abs=1e-3)
        before = registers_at(store, PARK, T0 + STEP_NS)  # only the first tick's readings
        grid = before["grid-main"]["energy"]
        assert grid < at_end["grid-main"]["energy"]
        assert registers_at(store, PARK, T0) == {}  # nothing before the first reading
    finally:
        store.close()


def test_stored_registers_never_creates_an_embedded_store(tmp_path):
    settings = Settings(data_dir=tmp_path, metrics_port=0, store_url="")
    assert stored_registers(settings, PARK, start_ns=T0, interval_s=5.0) is None
    assert not (tmp_path / "store.sqlite3").exists()


def test_stored_registers_reads_the_store_of_the_settings(tmp_path):
    settings = Settings(data_dir=tmp_path, metrics_port=0, store_url="")
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    model = ParkModel(PARK, seed=4)
    try:
        backfill(store, REGISTRY, PARK, model, start_ns=T0, end_ns=T0 + 8 * STEP_NS,
                 settings=settings)  # fmt: skip
    finally:
        store.close()
    # what `smartpark simulate` (no --start: now) and `--start` after the backfill both find
    for start in (None, T0 + 9 * STEP_NS):
        found = stored_registers(settings, PARK, start_ns=start, interval_s=5.0)
        assert found is not None
        assert found["grid-main"]["energy"] == pytest.approx(
            model.registers()["grid-main"]["energy"], rel=1e-12
        )
    assert stored_registers(settings, PARK, start_ns=T0, interval_s=5.0) == {}


def test_a_model_refuses_registers_it_does_not_have():
    with pytest.raises(ValueError, match="no device"):
        ParkModel(PARK, registers={"nope": {"energy": 1.0}})
    with pytest.raises(ValueError, match="not a register"):
        ParkModel(PARK, registers={"grid-main": {"power": 1.0}})
    with pytest.raises(ValueError, match="≥ 0"):
        ParkModel(PARK, registers={"grid-main": {"energy": -1.0}})


def test_history_window_is_thirty_days_or_what_follows_the_stored_data():
    now = T0 + 10 * DAY_NS + 123 * 10**9 + 7
    live = 2 * 10**9
    start, end = _history_window(None, now, live)
    assert end == T0 + 10 * DAY_NS + 122 * 10**9  # on the live grid, not after now
    assert start == T0 + 10 * DAY_NS - 30 * DAY_NS  # on the 15-minute grid
    start, end = _history_window(T0 + 9 * DAY_NS + 1, now, live)
    assert start == T0 + 9 * DAY_NS + STEP_NS
    start, end = _history_window(end - 10**9, now, live)
    assert start > end  # up to date: nothing to write


def test_the_demo_stores_history_newest_first_with_the_ledger_a_rebuild_would_write(tmp_path):
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    try:
        history = simulate_history(PARK, ParkModel(PARK, seed=2), start_ns=T0,
                                   end_ns=T0 + 2 * DAY_NS + 7 * 60 * 10**9)  # fmt: skip
        # ticks at T0 … T0 + 2 days every 15 min (193), then one of 7 min: uploads of 96, 96, 2
        assert [len(u["grid-main"]) for u in history.uploads] == [96, 96, 2]
        settings = Settings(data_dir=tmp_path, metrics_port=0)
        result = store_history(store, REGISTRY, PARK, history, settings=settings, ledger=True)
        assert (result.uploads, result.ledger_uploads, result.quarantined) == (3, 3, 0)
        assert result.readings == (2 * 96 + 2) * len(PARK.devices)
        assert store.count(PARK.id, measurement=TOUCHED) == 0  # the demo rebuilt it itself
        for device in ("tower-a-f01", "water-main", "prod-chipcore"):
            dev = PARK.device(device)
            assert dev is not None
            window = {"start_ns": T0 + STEP_NS, "end_ns": T0 + 2 * DAY_NS}
            stored = {r.field: r.ledger for r in stored_ledger(store, PARK.id, dev, **window)}
            computed = {r.field: r.ledger for r in device_ledger(store, PARK.id, dev, **window)}
            assert stored.keys() == computed.keys()
            for name, led in computed.items():
                assert set(stored[name].quality.tolist()) == {int(Quality.MEASURED)}
                np.testing.assert_allclose(stored[name].energy, led.energy, rtol=1e-12)
        days = store.count(PARK.id, measurement=LEDGER_DAY)
        assert days > 0
    finally:
        store.close()


def test_storing_history_stops_when_asked(tmp_path):
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    try:
        history = simulate_history(PARK, ParkModel(PARK, seed=2), start_ns=T0,
                                   end_ns=T0 + 2 * DAY_NS)  # fmt: skip
        stop = threading.Event()
        stop.set()
        settings = Settings(data_dir=tmp_path, metrics_port=0)
        result = store_history(store, REGISTRY, PARK, history, settings=settings, stop=stop)
        assert (result.uploads, result.readings) == (0, 0)
        assert store.count(PARK.id) == 0
    finally:
        store.close()
