"""Production counters: whole units, only up, shaped by the tenant's working time, in the truth."""

from __future__ import annotations

import csv
import itertools
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import pytest

from config.registry import DeviceKind, load_registry
from simulators.park import ParkModel, Tick
from simulators.truth import TruthWriter
from simulators.workdays import DayType

PARK = load_registry().parks["wuhan-demo"]
ZONE = ZoneInfo("Asia/Shanghai")
INTERVAL_S = 900
COUNTERS = [d for d in PARK.devices if d.kind is DeviceKind.PRODUCTION_COUNTER]
PROFILE = {t.id: t.profile for t in PARK.tenants}


def at(*args: int) -> int:
    return int(datetime(*args, tzinfo=ZONE).timestamp()) * 10**9


WEEK_START = at(2026, 6, 8, 0, 15)  # Monday; the week holds a weekend


def run(start_ns: int, ticks: int, seed: int = 1) -> list[Tick]:
    model = ParkModel(PARK, seed=seed)
    return [model.advance(start_ns + i * INTERVAL_S * 10**9, INTERVAL_S) for i in range(ticks)]


def counts(tick: Tick) -> dict[str, float]:
    return {r.device: r.values["produced"] for r in tick.readings() if "produced" in r.values}


@pytest.fixture(scope="module")
def week() -> list[Tick]:
    return run(WEEK_START, 7 * 96)


def local_hour(tick: Tick) -> float:
    mid = datetime.fromtimestamp(tick.time_ns / 1e9 - tick.interval_s / 2, ZONE)
    return mid.hour + mid.minute / 60


def test_demo_park_counts_the_plants_and_two_assembly_floors():
    assert {d.tenant for d in COUNTERS} == {"chipcore", "lumina", "t04", "t05"}
    assert {PROFILE[d.tenant] for d in COUNTERS if d.tenant} == {"fab_24x7", "assembly_2shift"}
    assert {PROFILE[d.tenant] for d in COUNTERS if d.building == "tower-a"} == {"assembly_2shift"}


def test_counters_are_whole_numbers_that_only_go_up(week):
    series = [counts(t) for t in week]
    assert set(series[0]) == {d.id for d in COUNTERS}
    for row in series:
        for value in row.values():
            assert isinstance(value, int)  # published as a JSON integer
    payload = next(r for r in week[0].readings() if r.device == "prod-chipcore").payload()
    assert b'"produced":' in orjson.dumps(payload)
    assert b"." not in orjson.dumps(payload["produced"])
    for before, after in itertools.pairwise(series):
        for dev in before:
            assert after[dev] >= before[dev]
    assert all(series[-1][d] > series[0][d] for d in series[0])  # every counter made something


def test_two_shift_tenant_makes_nothing_outside_its_shifts(week):
    """assembly_2shift works 08:00-24:00 on working days (ramping up from 07:00), rests on days
    off; a fab makes product every interval."""
    fab = next(d.id for d in COUNTERS if PROFILE[d.tenant or ""] == "fab_24x7")
    assembly = [d.id for d in COUNTERS if PROFILE[d.tenant or ""] == "assembly_2shift"]
    pos = {d.id: i for i, d in enumerate(PARK.devices)}
    off_shift = on_shift = 0
    for tick in week:
        made = tick.delta["produced"]
        assert made[pos[fab]] > 0
        hour = local_hour(tick)
        for dev in assembly:
            if tick.day_type is not DayType.WORKDAY or hour < 7:
                assert made[pos[dev]] == 0, (dev, tick.day_type, hour)
                off_shift += 1
            elif 9 <= hour < 23:
                assert made[pos[dev]] > 0
                on_shift += 1
    assert {t.day_type for t in week} >= {DayType.WORKDAY, DayType.WEEKEND}
    assert off_shift > 0
    assert on_shift > 0


def test_production_is_deterministic_and_outside_the_energy_registers():
    a, b, c = run(WEEK_START, 48), run(WEEK_START, 48), run(WEEK_START, 48, seed=2)
    assert [counts(t) for t in a] == [counts(t) for t in b]
    assert [counts(t) for t in a] != [counts(t) for t in c]
    pos = [i for i, d in enumerate(PARK.devices) if d.kind is DeviceKind.PRODUCTION_COUNTER]
    for tick in a:
        for register in ("energy", "export_energy", "volume"):
            assert not tick.delta[register][pos].any()
        assert not tick.loss[pos].any()


def test_truth_has_every_units_increment_per_device_and_tenant(tmp_path: Path):
    model = ParkModel(PARK, seed=5)
    path = tmp_path / "truth.csv"
    ticks = []
    with TruthWriter(path, model) as truth:
        for i in range(96):
            tick = model.advance(WEEK_START + i * INTERVAL_S * 10**9, INTERVAL_S)
            truth.write_tick(tick)
            ticks.append(tick)
    with path.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["record"] == "energy"]

    device: dict[tuple[int, str], float] = {}
    tenant: dict[tuple[int, str], float] = defaultdict(float)
    for r in rows:
        if r["quantity"] in ("produced", "units"):
            assert r["unit"] == "units"
            assert float(r["value"]).is_integer()
        if r["scope"] == "device" and r["quantity"] == "produced":
            device[int(r["time_ms"]), r["id"]] = float(r["value"])
        elif r["quantity"] == "units":
            assert r["scope"] == "tenant"  # units of different products are never summed
            tenant[int(r["time_ms"]), r["id"]] = float(r["value"])
    readings = [counts(t) for t in ticks]
    for tick, (before, after) in zip(ticks[1:], itertools.pairwise(readings), strict=True):
        t_ms = tick.time_ns // 1_000_000
        for d in COUNTERS:
            assert device[t_ms, d.id] == after[d.id] - before[d.id]
            assert tenant[t_ms, d.tenant or ""] == device[t_ms, d.id]  # one counter per tenant
    expected_tenants = {d.tenant for d in COUNTERS}
    assert {tid for _, tid in tenant} == expected_tenants
    assert np.sum(list(tenant.values())) > 0
