"""The daily roll-up of the ledger (services.rollup): exact totals, local days, both stores."""

from __future__ import annotations

import math
from datetime import datetime
from typing import cast
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import yaml

from analytics.intervals import IntervalLedger, Quality
from config.registry import ParkRegistry, load_registry
from services.energy import Scope, energy_balance
from services.indicators import park_indicators
from services.ledger import FieldLedger, ledger_points, stored_ledger, stored_ledgers
from services.rollup import (
    DAY_S,
    LEDGER_DAY,
    DayLedger,
    IntervalKeep,
    TotalLedger,
    day_points,
    device_totals,
    local_days,
    read_day_rollups,
    slice_stored,
    write_day_rollups,
)
from simulators.generate import generate_park
from store.base import Store
from store.influx import LONG_TERM_RP

TZ = "Asia/Shanghai"
ZONE = ZoneInfo(TZ)
STEP = 900 * 10**9
DAY = DAY_S * 10**9


def local(y: int, m: int, d: int) -> int:
    return int(datetime(y, m, d, tzinfo=ZONE).timestamp()) * 10**9


def ledger(start: int, days: int, seed: int, *, holes: int = 0) -> IntervalLedger:
    """Energies in multiples of 0.25 (exact in binary, so sums are exact in any order). With
    ``holes``, that many intervals are missing, interpolated and reset-corrected each."""
    rng = np.random.default_rng(seed)
    grid = np.arange(start, start + days * DAY, STEP, dtype=np.int64)
    energy = rng.integers(0, 400, grid.size) * 0.25
    quality = np.zeros(grid.size, dtype=np.int8)
    if holes:
        at = rng.choice(grid.size, holes, replace=False)
        energy[at] = np.nan
        quality[at] = int(Quality.MISSING)
        quality[rng.choice(grid.size, holes, replace=False)] = int(Quality.INTERPOLATED)
        quality[rng.choice(grid.size, holes, replace=False)] = int(Quality.RESET_CORRECTED)
        quality[np.isnan(energy)] = int(Quality.MISSING)
    return IntervalLedger(grid, energy, quality, 900, ())


@pytest.fixture
def park(tmp_path) -> ParkRegistry:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(generate_park(6, park_id="p")), encoding="utf-8")
    return load_registry(path).parks["p"]


def fields_of(points, name):
    return [p.fields.get(name) for p in points]


def n_known_total(quality) -> int:
    """Intervals whose total is known, counted from the codes (not through the code under test)."""
    return sum(
        q in (Quality.MEASURED, Quality.ROLLOVER_CORRECTED, Quality.INTERPOLATED,
              Quality.METER_REPLACED)
        for q in np.asarray(quality).tolist()
    )  # fmt: skip


def test_day_totals_equal_the_interval_sums_exactly():
    led = ledger(local(2025, 3, 1), 6, seed=1, holes=40)
    led.quality[96 * 5 :] = Quality.MEASURED  # the sixth day is whole and measured
    led.energy[96 * 5 :] = 1.25
    points = day_points("p", "m", FieldLedger("energy_kwh", "kWh", led), TZ)
    assert len(points) == 6
    assert [p.time_ns for p in points] == [local(2025, 3, d) for d in range(1, 7)]
    assert sum(fields_of(points, "energy_kwh")) == float(np.nansum(led.energy))
    assert sum(fields_of(points, "energy_kwh_known")) == np.isfinite(led.energy).sum()
    measured = int(np.count_nonzero(led.quality == Quality.MEASURED))
    assert sum(fields_of(points, "energy_kwh_measured")) == measured
    # the known total counts interpolated intervals, not reset-corrected or missing ones
    assert sum(fields_of(points, "energy_kwh_known_total")) == n_known_total(led.quality)
    assert n_known_total(led.quality) > measured
    assert n_known_total(led.quality) < np.isfinite(led.energy).sum()
    assert fields_of(points, "energy_kwh_intervals") == [96.0] * 6
    assert "energy_kwh_quality" not in points[5].fields
    assert max(fields_of(points, "energy_kwh_max")) == np.nanmax(led.energy)
    for p in points:
        if p.fields["energy_kwh_known"] < 96:
            assert p.fields["energy_kwh_quality"] >= Quality.ESTIMATED  # only part of it known
        elif p.fields["energy_kwh_measured"] == 96:
            assert "energy_kwh_quality" not in p.fields  # MEASURED is implied by the energy


def test_days_are_local_days_of_the_park_not_utc_days():
    # a ledger on two UTC days: 2025-01-01T00:00Z is 08:00 in Wuhan, so it covers one whole
    # local day (01-02, from 2025-01-01T16:00Z) and parts of 01-01 and 01-03, which are left out
    utc0 = int(datetime(2025, 1, 1, tzinfo=ZoneInfo("UTC")).timestamp()) * 10**9
    grid = np.arange(utc0, utc0 + 2 * DAY, STEP, dtype=np.int64)
    energy = np.arange(grid.size, dtype=np.float64)  # every interval different
    led = IntervalLedger(grid, energy, np.zeros(grid.size, dtype=np.int8), 900, ())
    (point,) = day_points("p", "m", FieldLedger("energy_kwh", "kWh", led), TZ)
    assert point.time_ns == local(2025, 1, 2) == utc0 + 16 * 3600 * 10**9
    assert point.fields["energy_kwh"] == float(energy[64:160].sum())  # 16:00Z to 16:00Z
    assert point.fields["energy_kwh"] != float(energy[96:192].sum())  # not the UTC day
    assert point.fields["energy_kwh_intervals"] == 96
    assert point.fields["energy_kwh_max"] == 159.0


def test_local_days_cover_the_range():
    edges = local_days(local(2025, 1, 1) + 5, local(2025, 1, 3), TZ)
    assert edges.tolist() == [local(2025, 1, 1), local(2025, 1, 2), local(2025, 1, 3)]


def load_ledgers(store, park, start, days, holes=0):
    """Store a 15-minute ledger for every register of the park; returns them by (device, field)."""
    out = {}
    for i, dev in enumerate(d for d in park.devices if d.kind.value == "electricity_meter"):
        led = ledger(start, days, seed=i, holes=holes)
        result = FieldLedger("energy_kwh", "kWh", led)
        store.write(ledger_points(park.id, dev.id, result))
        out[(dev.id, "energy_kwh")] = led
    return out


def check_round_trip(store, park):
    start, days = local(2025, 6, 1), 3
    leds = load_ledgers(store, park, start, days, holes=10)
    # rebuild's call: any range inside the days is widened to whole local days
    res = write_day_rollups(store, park, start_ns=start + 3600 * 10**9, end_ns=start + 2 * DAY)
    assert (res.first_ns, res.last_ns) == (start, start + 2 * DAY)
    write_day_rollups(store, park, start_ns=start, end_ns=start + days * DAY)  # idempotent
    day_ns = np.arange(start, start + days * DAY, DAY, dtype=np.int64)
    table = read_day_rollups(store, park.id, "energy_kwh", day_ns=day_ns)
    assert set(table) == {d for d, _ in leds}
    for (dev, _), led in leds.items():
        got = table[dev]
        assert float(np.nansum(got.energy)) == float(np.nansum(led.energy))
        assert got.known.sum() == np.isfinite(led.energy).sum()
        assert got.measured.sum() == np.count_nonzero(led.quality == Quality.MEASURED)
        assert got.known_total.sum() == n_known_total(led.quality)
        assert got.intervals.tolist() == [96.0] * days
    end = start + days * DAY
    found = device_totals(store, park.id, ["energy_kwh"], start_ns=start, end_ns=end)
    totals = {t.device: t for t in found}
    for (dev, _), led in leds.items():
        assert totals[dev].energy == float(np.nansum(led.energy))
        assert totals[dev].days == days
        assert totals[dev].known_total == n_known_total(led.quality)
        assert totals[dev].max == float(np.nanmax(led.energy))
    # the park balance per day equals the 15-minute balance when the days are complete
    complete = start + days * DAY
    load_ledgers(store, park, complete, 2)
    write_day_rollups(store, park, start_ns=complete, end_ns=complete + 2 * DAY)
    fine = energy_balance(
        store,
        park,
        Scope("park"),
        start_ns=complete,
        end_ns=complete + 2 * DAY,
        ledger=stored_ledger,
    )
    day_ledger = DayLedger(TZ)
    coarse = energy_balance(
        store,
        park,
        Scope("park"),
        start_ns=complete,
        end_ns=complete + 2 * DAY,
        interval_s=DAY_S,
        ledger=day_ledger,
    )
    assert day_ledger.queries == 2  # one read per register (import, export), not per device
    for fig in fine.figures:
        other = coarse.figure(fig.name)
        assert other is not None
        assert other.total() == pytest.approx(fig.total(), rel=1e-12, nan_ok=True)
        assert other.absent == fig.absent
        assert other.completeness_pct() == fig.completeness_pct() == (0.0 if fig.absent else 100.0)


def test_round_trip_on_the_embedded_store(embedded_store, park):
    check_round_trip(embedded_store, park)


@pytest.mark.influxdb
def test_round_trip_on_influxdb_in_its_own_retention_policy(influx_store, park):
    check_round_trip(influx_store, park)
    policies = [
        row[0]
        for series in influx_store._select(f'SHOW RETENTION POLICIES ON "{influx_store.database}"')
        for row in series["values"]
    ]
    assert LONG_TERM_RP in policies  # the store's own business: the roll-up never names it
    assert influx_store.count(park.id, measurement=LEDGER_DAY) > 0
    default = list(influx_store._select(f'SELECT * FROM "autogen"."{LEDGER_DAY}" LIMIT 1'))
    assert default == []  # not in the default policy


def test_day_ledger_has_day_slots_only(embedded_store, park):
    with pytest.raises(ValueError, match="slots"):
        DayLedger(TZ)(
            embedded_store, park.id, park.devices[0], start_ns=0, end_ns=DAY, interval_s=900
        )
    with pytest.raises(ValueError, match="local midnight"):
        DayLedger(TZ)(embedded_store, park.id, park.devices[0], start_ns=0, end_ns=DAY)


def test_a_day_partly_known_is_estimated_and_a_day_without_data_is_missing(embedded_store, park):
    start = local(2025, 2, 1)
    led = ledger(start, 2, seed=3)
    energy = led.energy.copy()
    quality = led.quality.copy()
    energy[96:] = np.nan
    quality[96:] = int(Quality.MISSING)
    energy[5] = np.nan
    quality[5] = int(Quality.MISSING)
    partial = IntervalLedger(led.start_ns, energy, quality, 900, ())
    embedded_store.write(
        ledger_points(park.id, "grid-main", FieldLedger("energy_kwh", "kWh", partial))
    )
    write_day_rollups(
        embedded_store, park, start_ns=start, end_ns=start + 2 * DAY, devices=["grid-main"]
    )
    (result,) = [
        r
        for r in DayLedger(TZ)(
            embedded_store,
            park.id,
            park.device("grid-main"),
            start_ns=start,
            end_ns=start + 2 * DAY,
        )
        if r.field == "energy_kwh"
    ]
    assert result.ledger.quality.tolist() == [Quality.ESTIMATED, Quality.MISSING]
    assert result.ledger.energy[0] == float(np.nansum(energy[:96]))
    assert math.isnan(result.ledger.energy[1])


@pytest.mark.influxdb
def test_a_long_range_is_rolled_up_in_chunks_influxd_answers_whole(influx_store, park):
    # 130 days = 12,480 intervals: more than influxd's 10,000-row chunk in one read
    start, days = local(2025, 1, 1), 130
    led = ledger(start, days, seed=7, holes=30)
    influx_store.write(ledger_points(park.id, "b001-main", FieldLedger("energy_kwh", "kWh", led)))
    res = write_day_rollups(
        influx_store, park, start_ns=start, end_ns=start + days * DAY, devices=["b001-main"]
    )
    assert res.days == days
    (total,) = device_totals(
        influx_store, park.id, ["energy_kwh"], start_ns=start, end_ns=start + days * DAY
    )
    assert total.energy == float(np.nansum(led.energy))
    assert total.known == np.isfinite(led.energy).sum()
    assert total.intervals == days * 96


def test_total_ledger_gives_the_range_totals_in_one_slot(embedded_store, park):
    start, days = local(2025, 4, 1), 4
    leds = load_ledgers(embedded_store, park, start, days, holes=5)
    write_day_rollups(embedded_store, park, start_ns=start, end_ns=start + days * DAY)
    totals = TotalLedger()
    bal = energy_balance(
        embedded_store,
        park,
        Scope("park"),
        start_ns=start,
        end_ns=start + days * DAY,
        interval_s=days * DAY_S,
        ledger=totals,
    )
    assert bal.start_ns.size == 1
    imp = bal.figure("grid_import_kwh")
    assert imp is not None
    led = leds[("grid-main", "energy_kwh")]
    assert imp.total() == float(np.nansum(led.energy))
    assert imp.series.quality[0] >= Quality.ESTIMATED  # five intervals were missing
    measured = np.count_nonzero(led.quality == Quality.MEASURED)
    register = (embedded_store, park.id, "grid-main", "energy_kwh")
    span = {"start_ns": start, "end_ns": start + days * DAY}
    # 4 days x 96 = 384 intervals; 5 missing, 5 reset-corrected (some may coincide) are unknown
    known = n_known_total(led.quality)
    assert 374 <= known < 384
    assert totals.known_pct(*register, **span) == 100.0 * known / (days * 96)
    assert totals.completeness_pct(*register, **span) == 100.0 * known / (days * 96)
    assert totals.measured_pct(*register, **span) == 100.0 * measured / (days * 96)
    assert measured < known
    with pytest.raises(ValueError, match="one slot"):
        totals(
            embedded_store,
            park.id,
            park.devices[0],
            start_ns=start,
            end_ns=start + DAY,
            interval_s=900,
        )


NEEDS_INTERVALS = (
    "peak_demand_kw",
    "load_factor",
    "tou_energy_cost_cny",
    "demand_charge_cny",
    "electricity_cost_cny",
)


@pytest.mark.parametrize("basis", ["max_demand", "capacity"])
def test_indicators_on_day_slots_leave_out_what_needs_15_minute_data(
    embedded_store, tmp_path, basis
):
    data = generate_park(6, park_id="p")
    data["park"]["tariff"] = {
        "flat_price_cny_per_kwh": 0.65,
        "demand_charge_cny_per_kw_month": 40.0,
        "demand_basis": basis,
        "contracted_kw": 800.0,
        "source": "test",
        "year": 2025,
    }
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    park = load_registry(tmp_path / "t.yaml").parks["p"]
    start, days = local(2025, 6, 1), 30
    load_ledgers(embedded_store, park, start, days)
    write_day_rollups(embedded_store, park, start_ns=start, end_ns=start + days * DAY)
    fine = park_indicators(embedded_store, park, "2025-06", ledger=stored_ledger)
    per_day = park_indicators(
        embedded_store, park, "2025-06", interval_s=DAY_S, ledger=DayLedger(TZ)
    )
    one_slot = park_indicators(
        embedded_store, park, "2025-06", interval_s=days * DAY_S, ledger=TotalLedger()
    )

    by_name = {i.name: i for i in fine.indicators}
    assert all(by_name[n].value is not None for n in NEEDS_INTERVALS)  # 15-minute: numbers
    for report in (per_day, one_slot):
        got = {i.name: i for i in report.indicators}
        for name in NEEDS_INTERVALS:
            if name == "demand_charge_cny" and basis == "capacity":
                # contracted capacity × price: no interval in it, so it stays
                assert got[name].value == by_name[name].value == 800.0 * 40.0
                continue
            assert got[name].value is None, name
            assert got[name].reason.startswith("needs interval data: the roll-up keeps days")
        # the energy and carbon figures are still there, and equal the 15-minute ones
        for name in ("comprehensive_energy_tce", "scope2_location_tco2", "kgco2_per_m2"):
            assert got[name].value == pytest.approx(by_name[name].value, rel=1e-12), name


def test_rollups_written_before_known_total_derive_it_conservatively(embedded_store, park):
    check_old_rollups(embedded_store, park)


@pytest.mark.influxdb
def test_rollups_written_before_known_total_on_influxdb(influx_store, park):
    check_old_rollups(influx_store, park)


def check_old_rollups(store, park):
    # Day 1: 2 interpolated intervals, the rest measured: every interval is a known total, so the
    # old roll-up's 96 known intervals are 96 known totals. Day 2: one reset-corrected and 3
    # interpolated: which are which is lost in an old roll-up, so only the 92 measured intervals
    # count (a lower bound of the true 95).
    start = local(2025, 5, 1)
    grid = np.arange(start, start + 2 * DAY, STEP, dtype=np.int64)
    quality = np.zeros(grid.size, dtype=np.int8)
    quality[[3, 4]] = int(Quality.INTERPOLATED)
    quality[[96 + 10, 96 + 11, 96 + 12]] = int(Quality.INTERPOLATED)
    quality[96 + 50] = int(Quality.RESET_CORRECTED)
    led = IntervalLedger(grid, np.ones(grid.size), quality, 900, ())
    points = day_points(park.id, "grid-main", FieldLedger("energy_kwh", "kWh", led), TZ)
    assert fields_of(points, "energy_kwh_known_total") == [96.0, 95.0]
    old = [
        type(p)(p.measurement, p.tags, {k: v for k, v in p.fields.items()
                                         if k != "energy_kwh_known_total"}, p.time_ns)
        for p in points
    ]  # fmt: skip
    store.write(old)
    day_ns = np.array([start, start + DAY], dtype=np.int64)
    got = read_day_rollups(store, park.id, "energy_kwh", day_ns=day_ns)["grid-main"]
    assert got.known_total.tolist() == [96.0, 92.0]
    (total,) = device_totals(store, park.id, ["energy_kwh"], start_ns=start, end_ns=start + 2 * DAY)
    # summed on the server the days cannot be told apart: the measured 94 + 92 = 186 (lower bound)
    assert (total.known_total, total.measured, total.known) == (186, 186, 192)
    # written again with the field, the counts are exact
    store.write(points)
    got = read_day_rollups(store, park.id, "energy_kwh", day_ns=day_ns)["grid-main"]
    assert got.known_total.tolist() == [96.0, 95.0]
    (total,) = device_totals(store, park.id, ["energy_kwh"], start_ns=start, end_ns=start + 2 * DAY)
    assert total.known_total == 191


def test_an_old_range_with_no_day_worse_than_interpolated_is_known_whole(embedded_store, park):
    start = local(2025, 5, 1)
    grid = np.arange(start, start + DAY, STEP, dtype=np.int64)
    quality = np.full(grid.size, int(Quality.INTERPOLATED), dtype=np.int8)  # an hourly meter
    led = IntervalLedger(grid, np.ones(grid.size), quality, 900, ())
    (point,) = day_points(park.id, "grid-main", FieldLedger("energy_kwh", "kWh", led), TZ)
    fields = {k: v for k, v in point.fields.items() if k != "energy_kwh_known_total"}
    embedded_store.write([type(point)(point.measurement, point.tags, fields, point.time_ns)])
    (total,) = device_totals(
        embedded_store, park.id, ["energy_kwh"], start_ns=start, end_ns=start + DAY
    )
    assert (total.known_total, total.measured) == (96, 0)


def test_a_range_cut_from_a_stored_read_is_what_stored_ledger_reads(embedded_store, park):
    """slice_stored on a week read once: every day and odd range inside it equals
    stored_ledger's own read of that range; a range outside, or where a register has no known
    interval (stored_ledger would leave it out or keep it), is refused, not guessed."""
    start, days = local(2025, 6, 1), 7
    leds = load_ledgers(embedded_store, park, start, days, holes=10)
    dev_id = next(iter(leds))[0]
    dev = next(d for d in park.devices if d.id == dev_id)
    week = stored_ledger(embedded_store, park.id, dev, start_ns=start, end_ns=start + days * DAY)
    assert week
    cases = [(start + k * DAY, start + (k + 1) * DAY) for k in range(days)]
    cases += [(start + 5 * STEP, start + 2 * DAY + 3 * STEP), (start + STEP + 7, start + DAY - 1)]
    for lo, hi in cases:
        cut = slice_stored(week, lo, hi)
        want = stored_ledger(embedded_store, park.id, dev, start_ns=lo, end_ns=hi)
        assert cut is not None
        assert [f.field for f in cut] == [f.field for f in want]
        for c, w in zip(cut, want, strict=True):
            assert c.unit == w.unit
            np.testing.assert_array_equal(c.ledger.start_ns, w.ledger.start_ns)
            np.testing.assert_array_equal(c.ledger.energy, w.ledger.energy)
            np.testing.assert_array_equal(c.ledger.quality, w.ledger.quality)
    assert slice_stored(week, start - DAY, start + DAY) is None  # begins before the read
    assert slice_stored(week, start, start + (days + 1) * DAY) is None  # ends after it
    gap = [
        FieldLedger(
            f.field,
            f.unit,
            IntervalLedger(
                f.ledger.start_ns,
                np.where(np.arange(f.ledger.start_ns.size) < 96, np.nan, f.ledger.energy),
                np.where(
                    np.arange(f.ledger.start_ns.size) < 96, Quality.MISSING, f.ledger.quality
                ).astype(np.int8),
                f.ledger.interval_s,
                (),
            ),
        )
        for f in week
    ]
    assert slice_stored(gap, start, start + DAY) is None  # nothing known on the first day
    assert slice_stored(gap, start + DAY, start + 2 * DAY) is not None


def check_ledgers_read_together(store, park):
    """stored_ledgers (one columns query for several devices) answers what stored_ledger reads
    device by device: the same registers, intervals, energies and qualities; a device with
    nothing stored gets an empty list."""
    start, days = local(2025, 6, 1), 3
    leds = load_ledgers(store, park, start, days, holes=10)
    devices = [d for d in park.devices if (d.id, "energy_kwh") in leds]
    devices.append(devices[0].model_copy(update={"id": "ghost"}))  # nothing stored
    assert len(devices) >= 3
    for lo, hi in ((start, start + days * DAY), (start + 7 * STEP + 3, start + DAY + 5 * STEP)):
        together = stored_ledgers(store, park.id, devices, start_ns=lo, end_ns=hi)
        assert set(together) == {d.id for d in devices}
        assert together[devices[-1].id] == []
        for dev in devices:
            alone = stored_ledger(store, park.id, dev, start_ns=lo, end_ns=hi)
            got = together[dev.id]
            assert [(f.field, f.unit) for f in got] == [(f.field, f.unit) for f in alone]
            for g, w in zip(got, alone, strict=True):
                np.testing.assert_array_equal(g.ledger.start_ns, w.ledger.start_ns)
                np.testing.assert_array_equal(g.ledger.energy, w.ledger.energy)
                np.testing.assert_array_equal(g.ledger.quality, w.ledger.quality)


def test_ledgers_read_together_on_the_embedded_store(embedded_store, park):
    check_ledgers_read_together(embedded_store, park)


def test_ledgers_read_together_on_influxdb(influx_store, park):
    check_ledgers_read_together(influx_store, park)


def test_an_interval_keep_holds_its_bytes_at_most_and_only_for_its_store() -> None:
    keep = IntervalKeep(max_bytes=100)
    a, b = cast(Store, object()), cast(Store, object())
    tokens = np.array([[1.0, 2.0]])
    keep.put(a, ("k", 1), tokens, "one", 60)
    got = keep.get(a, ("k", 1))
    assert got is not None
    assert got[1] == "one"
    assert np.array_equal(got[0], tokens)
    assert keep.get(b, ("k", 1)) is None  # another store's read is not this one's
    keep.put(a, ("k", 2), tokens, "two", 60)  # 120 B > 100 B: the least recently used goes
    assert keep.get(a, ("k", 1)) is None
    assert keep.get(a, ("k", 2)) is not None
    keep.put(a, ("k", 3), np.full((1, 2), np.nan), "none", 10)  # nothing vouches: not kept
    assert keep.get(a, ("k", 3)) is None
    keep.put(a, ("k", 4), tokens, "big", 101)  # more than the whole keep: not kept
    assert keep.get(a, ("k", 4)) is None
    assert keep.get(a, ("k", 2)) is not None
