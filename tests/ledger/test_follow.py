"""The ledger follower: touched marks in, exactly the touched intervals of the stored ledger out."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.intervals import Quality
from config.registry import load_registry
from services.follow import LedgerFollower, _merged, merge_ranges, touched_marks
from services.ledger import LEDGER, device_ledger, stored_ledger
from services.rollup import MARK_DEVICE, read_day_rollups
from store import LEDGER_DAY, TELEMETRY, EmbeddedStore, Point, SeriesQuery
from store.base import TOUCHED

REGISTRY = load_registry()
PARK = REGISTRY.parks["wuhan-demo"]
DEVICE = PARK.device("tower-a-f04")
T0 = 1_767_196_800 * 10**9  # 2026-01-01T00:00+08:00, epoch-aligned to 15 min
MIN = 60 * 10**9
STEP = 15 * MIN
HOUR = 60 * MIN
DAY = 24 * HOUR


class Clock:
    def __init__(self, t: int) -> None:
        self.t = t

    def __call__(self) -> int:
        return self.t


@pytest.fixture
def store(tmp_path):
    s = EmbeddedStore(tmp_path / "store.sqlite3")
    yield s
    s.close()


def collect(store: EmbeddedStore, clock: Clock, readings: list[tuple[int, float]]) -> None:
    """Write readings as the collector does: with their touched mark, in one write."""
    points = [
        Point(TELEMETRY, {"park": "wuhan-demo", "device": "tower-a-f04"}, {"energy_kwh": v}, t)
        for t, v in readings
    ]
    marks = touched_marks(points, now_ns=clock(), source="c1", devices=lambda p, d: True)
    store.write(points + marks)
    clock.t += 10**9


def stored(store: EmbeddedStore, start: int, end: int) -> tuple[list[float], list[int]]:
    (led,) = stored_ledger(store, "wuhan-demo", DEVICE, start_ns=start, end_ns=end)
    return led.ledger.energy.tolist(), led.ledger.quality.tolist()


def ledger_writes(store: EmbeddedStore) -> int:
    return store.count("wuhan-demo", device="tower-a-f04", measurement=LEDGER)


def test_touched_marks_span_each_devices_readings_in_whole_milliseconds():
    def p(device: str, t: int) -> Point:
        return Point(TELEMETRY, {"park": "pk", "device": device}, {"x": 1.0}, t)

    marks = touched_marks(
        [p("a", 5_000_001), p("b", 9), p("a", 2_999_999), p("skip", 1)],
        now_ns=42,
        source="c1",
        devices=lambda park, device: device != "skip",
    )

    assert [(m.tags["device"], dict(m.fields), m.time_ns) for m in marks] == [
        ("a", {"first_ms": 2.0, "last_ms": 6.0}, 42),  # floor of the first, ceiling of the last
        ("b", {"first_ms": 0.0, "last_ms": 1.0}, 42),
    ]
    assert all(m.measurement == TOUCHED and m.tags["collector"] == "c1" for m in marks)


def test_merge_ranges_joins_overlapping_and_close_ranges():
    assert merge_ranges([(10, 20), (0, 5), (18, 30), (40, 41)]) == [(0, 5), (10, 30), (40, 41)]
    assert merge_ranges([(0, 5), (8, 9)], gap=3) == [(0, 9)]
    assert merge_ranges([]) == []


@given(
    st.lists(
        st.tuples(st.integers(0, 10**6), st.integers(0, 10**4)).map(lambda t: (t[0], t[0] + t[1])),
        min_size=1,
        max_size=60,
    )
)
def test_merging_spans_on_arrays_agrees_with_merge_ranges(spans):
    lo = np.array([a for a, _ in spans], dtype=np.int64)
    hi = np.array([b for _, b in spans], dtype=np.int64)
    assert _merged(lo, hi) == merge_ranges(spans)


def test_follower_stores_what_a_rebuild_would_compute(store):
    clock = Clock(T0 + 3 * HOUR)
    # two hours of one reading a minute at 2 kWh/min, with a counter reset in the middle
    values = [1000.0 + 2.0 * i for i in range(60)] + [2.0 * i for i in range(1, 61)]
    collect(store, clock, [(T0 + i * MIN, v) for i, v in enumerate(values)])
    follower = LedgerFollower(store, REGISTRY, clock_ns=clock)

    result = follower.catch_up()

    assert (result.marks, result.devices, result.caught_up) == (1, 1, True)
    (expected,) = device_ledger(store, "wuhan-demo", DEVICE, start_ns=T0, end_ns=T0 + 2 * HOUR)
    energy, quality = stored(store, T0, T0 + 2 * HOUR)
    assert np.allclose(energy, expected.ledger.energy, equal_nan=True)
    assert quality == expected.ledger.quality.tolist()
    assert energy[:4] == [30.0, 30.0, 30.0, 30.0]
    assert int(Quality.RESET_CORRECTED) in quality


def test_a_follower_far_behind_reads_its_marks_in_bounded_steps(store, monkeypatch):
    monkeypatch.setattr("services.follow._MARKS_LIMIT", 3)
    clock = Clock(T0 + 3 * HOUR)
    # ten batches a second apart, each its own mark: two hours of a reading every 12 minutes
    for batch in range(10):
        collect(
            store, clock, [(T0 + (batch * 12 + k) * MIN, 2.0 * (batch * 12 + k)) for k in (0, 6)]
        )
    clock.t += 2 * HOUR  # the follower starts two hours later, with no cursor: far behind
    follower = LedgerFollower(store, REGISTRY, clock_ns=clock)

    steps = []
    while not steps or not steps[-1].caught_up:
        steps.append(follower.step())
        assert len(steps) <= 10

    assert all(s.marks <= 3 for s in steps)  # a step reads at most _MARKS_LIMIT marks
    assert sum(s.marks for s in steps) == 10  # each mark once, none again
    assert len(steps) >= 4
    end = T0 + 2 * HOUR
    (expected,) = device_ledger(store, "wuhan-demo", DEVICE, start_ns=T0, end_ns=end)
    energy, quality = stored(store, T0, end)
    assert np.allclose(energy, expected.ledger.energy, equal_nan=True)
    assert quality == expected.ledger.quality.tolist()
    assert follower.step().marks == 0  # caught up: nothing read twice


def test_a_live_reading_rewrites_only_the_intervals_it_touches(store):
    clock = Clock(T0 + 3 * HOUR)
    collect(store, clock, [(T0 + i * MIN, 2.0 * i) for i in range(0, 61)])  # 00:00 .. 01:00
    follower = LedgerFollower(store, REGISTRY, clock_ns=clock)
    follower.catch_up()
    written_before = follower.intervals_written

    collect(store, clock, [(T0 + 61 * MIN, 122.0)])  # 01:01: touches 01:00-01:15 only
    step = follower.step()

    assert (step.marks, step.devices) == (1, 1)
    assert follower.intervals_written - written_before == 1
    energy, quality = stored(store, T0 + HOUR, T0 + HOUR + STEP)
    (expected,) = device_ledger(
        store, "wuhan-demo", DEVICE, start_ns=T0 + HOUR, end_ns=T0 + HOUR + STEP
    )
    assert (energy, quality) == (expected.ledger.energy.tolist(), expected.ledger.quality.tolist())
    assert energy == [2.0]  # 01:00 to 01:01 so far: the interval is not over yet


def test_a_late_reading_rewrites_exactly_the_gap_it_fills(store):
    clock = Clock(T0 + 5 * HOUR)
    # readings at 00:00 and 02:00 only: 240 kWh spread evenly over eight intervals
    collect(store, clock, [(T0, 0.0), (T0 + 2 * HOUR, 240.0)])
    follower = LedgerFollower(store, REGISTRY, clock_ns=clock)
    follower.catch_up()
    energy, quality = stored(store, T0, T0 + 2 * HOUR)
    assert energy == [30.0] * 8
    assert set(quality) == {int(Quality.INTERPOLATED)}
    # the late reading: at 00:30 the register read 100, so the first half hour held 100 kWh
    collect(store, clock, [(T0 + 30 * MIN, 100.0)])
    before = follower.intervals_written

    step = follower.step()

    assert step.marks == 1
    assert follower.intervals_written - before == 8  # 00:00 .. 02:00, between its neighbours
    energy, quality = stored(store, T0, T0 + 2 * HOUR)
    assert energy == pytest.approx([50.0, 50.0] + [140.0 / 6] * 6)
    assert quality == [int(Quality.INTERPOLATED)] * 8


def test_the_cursor_survives_a_restart_and_marks_are_handled_once(store, tmp_path):
    clock = Clock(T0 + 3 * HOUR)
    collect(store, clock, [(T0 + i * MIN, 2.0 * i) for i in range(0, 31)])
    cursor = tmp_path / "cursor.json"
    first = LedgerFollower(store, REGISTRY, clock_ns=clock, cursor_path=cursor)
    assert first.step().marks == 1
    assert first.step().marks == 0  # the same mark, still inside the settle window: skipped
    clock.t += 60 * 10**9  # past the settle window
    assert first.step().marks == 0

    again = LedgerFollower(store, REGISTRY, clock_ns=clock, cursor_path=cursor)

    assert again.step().marks == 0
    assert cursor.exists()
    fresh = LedgerFollower(store, REGISTRY, clock_ns=clock)  # no cursor: starts over, same result
    assert fresh.step().marks == 1
    assert ledger_writes(store) == 2


def test_marks_written_late_within_the_settle_window_are_not_missed(store):
    clock = Clock(T0 + 3 * HOUR)
    follower = LedgerFollower(store, REGISTRY, clock_ns=clock, settle_s=30)
    assert follower.step().marks == 0  # the cursor moves to now
    # a write stamped 10 s ago that completed only now (a slow store)
    points = [
        Point(TELEMETRY, {"park": "wuhan-demo", "device": "tower-a-f04"}, {"energy_kwh": v}, t)
        for t, v in [(T0, 0.0), (T0 + STEP, 30.0)]
    ]
    marks = touched_marks(points, now_ns=clock() - 10 * 10**9, source="c", devices=lambda *_: True)
    store.write(points + marks)
    clock.t += 10**9

    assert follower.step().marks == 1
    rows = store.series(
        SeriesQuery("wuhan-demo", "tower-a-f04", "energy_kwh", T0, T0 + STEP, measurement=LEDGER)
    )
    assert [r.value for r in rows] == [30.0]


def day_rollup(store: EmbeddedStore, day: int):
    """The stored roll-up of ``energy_kwh`` of the device for the local day opened at ``day``."""
    table = read_day_rollups(store, "wuhan-demo", "energy_kwh", day_ns=np.array([day]))
    return table.get("tower-a-f04")


def rollup_writes(store: EmbeddedStore, monkeypatch) -> list[int]:
    """Record the times of the roll-up points written from now on (each day's mark, written
    after its roll-ups, checked here and left out)."""
    written: list[int] = []
    write = store.write

    def recording(points):
        days = [p for p in points if p.measurement == LEDGER_DAY]
        marks = {p.time_ns for p in days if p.tags["device"] == MARK_DEVICE}
        rolled = [p.time_ns for p in days if p.tags["device"] != MARK_DEVICE]
        assert not (marks and rolled)  # a day's mark comes after its roll-ups, in its own write
        assert marks <= set(written)
        written.extend(rolled)
        write(points)

    monkeypatch.setattr(store, "write", recording)
    return written


def test_a_live_reading_updates_the_roll_up_of_its_day(store, monkeypatch):
    clock = Clock(T0 + 3 * HOUR)
    collect(store, clock, [(T0 + i * MIN, 2.0 * i) for i in range(0, 61)])  # 00:00 .. 01:00
    follower = LedgerFollower(store, REGISTRY, clock_ns=clock)
    first = follower.catch_up()
    assert first.rollup_days == 1
    before = day_rollup(store, T0)
    assert before is not None
    assert before.energy.tolist() == [120.0]  # four intervals of 30 kWh, the rest not yet known
    assert before.known.tolist() == [4.0]
    assert before.intervals.tolist() == [96.0]
    assert before.quality.tolist() == [int(Quality.ESTIMATED)]  # a day in progress
    written = rollup_writes(store, monkeypatch)

    collect(store, clock, [(T0 + 61 * MIN, 122.0)])  # 01:01
    step = follower.step()

    assert (step.intervals, step.rollup_days) == (1, 1)
    assert written == [T0]  # that day only, once
    after = day_rollup(store, T0)
    energy, _ = stored(store, T0, T0 + DAY)
    assert after.energy.tolist() == [float(np.nansum(energy))] == [122.0]
    assert after.known.tolist() == [5.0]
    assert follower.rollup_days_written == 2


def test_a_late_reading_into_yesterday_updates_yesterdays_roll_up(store, monkeypatch):
    yesterday = T0 - DAY
    clock = Clock(T0 + 2 * HOUR)
    # yesterday 20:00 and 22:00 only (240 kWh spread evenly), nothing until midnight, then
    # today's first hour
    collect(store, clock, [(yesterday + 20 * HOUR, 0.0), (yesterday + 22 * HOUR, 240.0)])
    collect(store, clock, [(T0 + i * MIN, 240.0 + 2.0 * i) for i in range(0, 61)])
    follower = LedgerFollower(store, REGISTRY, clock_ns=clock)
    follower.catch_up()
    old = day_rollup(store, yesterday)
    assert old is not None
    assert old.max.tolist() == [30.0]
    today = day_rollup(store, T0)
    assert today is not None
    written = rollup_writes(store, monkeypatch)

    # late: at 20:30 the register read 100, so the first half hour held 100 kWh
    collect(store, clock, [(yesterday + 20 * HOUR + 30 * MIN, 100.0)])
    step = follower.step()

    assert (step.marks, step.rollup_days) == (1, 1)
    assert written == [yesterday]  # yesterday's roll-up again, today's left alone
    new = day_rollup(store, yesterday)
    energy, _ = stored(store, yesterday, T0)
    assert new.max.tolist() == [float(np.nanmax(energy))] == [50.0]
    assert new.energy.tolist() == [float(np.nansum(energy))]
    assert day_rollup(store, T0).energy.tolist() == today.energy.tolist()


def test_the_followers_metrics_say_what_it_wrote_and_how_far_its_cursor_is_behind(store):
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from services.follow import FollowerMetrics

    clock = Clock(T0 + 3 * HOUR)
    collect(store, clock, [(T0 + i * MIN, 2.0 * i) for i in range(0, 61)])  # 00:00 .. 01:00
    follower = LedgerFollower(store, REGISTRY, clock_ns=clock)
    registry = CollectorRegistry()
    registry.register(FollowerMetrics(follower))

    def scrape() -> dict[tuple[str, str], float]:
        text = generate_latest(registry).decode()
        return {
            (s.name, s.labels.get("park", "")): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    before = scrape()
    assert before[("smartpark_follower_passes_total", "")] == 0
    assert not any(name == "smartpark_follower_cursor_age_seconds" for name, _ in before)
    follower.run_pass()
    got = scrape()
    assert got[("smartpark_follower_passes_total", "")] == 1
    assert got[("smartpark_follower_marks_read_total", "")] == 1
    assert got[("smartpark_follower_intervals_written_total", "")] == follower.intervals_written
    assert follower.intervals_written >= 4  # 00:00 .. 01:00 at 15 minutes
    assert got[("smartpark_follower_rollup_days_written_total", "")] >= 1
    assert got[("smartpark_follower_pass_seconds", "")] > 0
    assert got[("smartpark_follower_cursor_age_seconds", "wuhan-demo")] == 0  # passed just now
    assert got[("smartpark_follower_parks_unavailable", "")] == 0
    clock.t += 300 * 10**9  # five minutes without a pass: the ledger may be five minutes behind
    assert scrape()[("smartpark_follower_cursor_age_seconds", "wuhan-demo")] == 300
