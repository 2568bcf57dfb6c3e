"""The ledger follower on a live park: park-wide marks, readings read in bulk, the same ledger."""

from __future__ import annotations

import random

import numpy as np
import pytest

from config.registry import load_registry
from services.follow import KEEP_BYTES, PREFETCH_MIN_DEVICES, LedgerFollower, PrefetchedStore
from services.ledger import LEDGER, device_ledger, stored_ledger
from services.rollup import read_day_rollups
from store import TELEMETRY, EmbeddedStore, Point, SeriesQuery
from store.base import TOUCHED, SeriesRow
from store.touched import ALL_DEVICES, LIVE_S, touched_marks

REGISTRY = load_registry()
PARK = REGISTRY.parks["wuhan-demo"]
FLOORS = [f"tower-a-f{i:02d}" for i in range(1, 13)]  # 12 meters: more than PREFETCH_MIN_DEVICES
T0 = 1_767_196_800 * 10**9  # 2026-01-01T00:00+08:00
S = 10**9
MIN = 60 * S
HOUR = 60 * MIN


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


def reading(device: str, t: int, kwh: float) -> Point:
    return Point(TELEMETRY, {"park": PARK.id, "device": device}, {"energy_kwh": kwh}, t)


def collect(store: EmbeddedStore, clock: Clock, points: list[Point]) -> list[Point]:
    """Write a batch as the collector does (park-wide marks for live readings); returns marks."""
    marks = touched_marks(
        points, now_ns=clock(), source="c1", devices=lambda *_: True, live_s=LIVE_S
    )
    store.write(points + marks)
    clock.t += S
    return marks


def test_live_readings_share_one_mark_and_late_ones_keep_their_own():
    now = T0 + 2 * HOUR
    points = [reading(d, now - 5 * S, 1.0) for d in FLOORS] + [reading("ev-01", T0, 2.0)]
    marks = touched_marks(points, now_ns=now, source="c1", devices=lambda *_: True, live_s=LIVE_S)

    assert [(m.tags["device"], m.fields["first_ms"], m.fields["last_ms"]) for m in marks] == [
        (ALL_DEVICES, (now - 5 * S) / 1e6, (now - 5 * S) / 1e6),
        ("ev-01", T0 / 1e6, T0 / 1e6),
    ]
    assert all(m.measurement == TOUCHED and m.time_ns == now for m in marks)


def test_prefetched_answers_are_the_stores_answers(store):
    rng = random.Random(7)
    points = [
        reading(d, T0 + rng.randrange(0, 4 * HOUR // S) * S, rng.uniform(0, 1e4))
        for d in FLOORS[:3]
        for _ in range(200)
    ]
    points += [Point(TELEMETRY, {"park": PARK.id, "device": "tower-a-f01"}, {"power_kw": 1.0}, T0)]
    store.write(points)
    lo, hi = T0 + HOUR, T0 + 3 * HOUR
    view = PrefetchedStore(store)
    columns = store.columns(
        PARK.id, measurement=TELEMETRY, fields=["energy_kwh"], start_ns=lo, end_ns=hi
    )
    view.add(
        PARK.id,
        measurement=TELEMETRY,
        fields=["energy_kwh"],
        start_ns=lo,
        end_ns=hi,
        columns=columns,
    )
    for _ in range(400):
        a = T0 + rng.randrange(0, 4 * HOUR // S) * S
        b = a + rng.randrange(1, 2 * HOUR // S) * S
        q = SeriesQuery(
            PARK.id,
            rng.choice([*FLOORS[:3], "ev-01"]),
            rng.choice(["energy_kwh", "energy_kwh", "power_kw"]),
            a,
            b,
            limit=rng.choice([1, 2, 3, 100_000]),
            descending=rng.random() < 0.5,
        )
        want = store.series(q)
        assert view.series(q) == want, q
        t, v = view.series_arrays(q)  # the same, as arrays (services.ledger.series_arrays)
        assert [SeriesRow(a, b) for a, b in zip(t.tolist(), v.tolist(), strict=True)] == want, q
    assert 50 < view.answered < 400  # many answered from memory, the rest by the store


@pytest.mark.parametrize("keep_bytes", [KEEP_BYTES, 0], ids=["kept", "not-kept"])
def test_a_live_park_with_late_data_and_corrections_equals_a_rebuild(store, keep_bytes):
    assert len(FLOORS) >= PREFETCH_MIN_DEVICES
    rng = random.Random(3)
    clock = Clock(T0 + 20 * S)
    follower = LedgerFollower(store, REGISTRY, clock_ns=clock, keep_bytes=keep_bytes)
    kept_reads = 0
    real_read = follower._view.read

    def read(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal kept_reads
        before = follower.kept_reads
        window = real_read(*args, **kwargs)
        kept_reads += follower.kept_reads - before
        return window

    follower._view.read = read  # type: ignore[method-assign]
    register = dict.fromkeys(FLOORS, 100.0)
    columns_reads = []
    real_columns = store.columns

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        # a read back for some meters names them; a slice of the park's readings names none
        back = kwargs.get("devices") is not None
        columns_reads.append(kwargs["measurement"] + (" back" if back else ""))
        return real_columns(*args, **kwargs)

    store.columns = counting  # type: ignore[method-assign]
    t = T0
    for minute in range(1, 100):  # 1 h 40 min of a reading a minute, a pass every 5 minutes
        t = T0 + minute * MIN
        for d in FLOORS:
            register[d] += rng.uniform(0.5, 3.0)
        batch = [reading(d, t + rng.randrange(0, 30) * S, register[d]) for d in FLOORS]
        if minute == 40:  # a counter reset on one meter
            register["tower-a-f03"] = 0.5
            batch.append(reading("tower-a-f03", t + 45 * S, register["tower-a-f03"]))
        if minute == 70:  # late: a reading into the first hour, and a correction of one
            batch.append(reading("tower-a-f05", T0 + 30 * MIN + 50 * S, 0.0))
            old = store.series(SeriesQuery(PARK.id, "tower-a-f06", "energy_kwh", T0, T0 + HOUR))
            batch.append(reading("tower-a-f06", old[10].time_ns, old[10].value + 0.25))
        clock.t = t + 40 * S
        collect(store, clock, batch)
        if minute % 5 == 0:
            follower.step()
    clock.t += 120 * S
    follower.catch_up()

    end = t + MIN
    for d in FLOORS:
        device = PARK.device(d)
        assert device is not None
        (expected,) = device_ledger(store, PARK.id, device, start_ns=T0, end_ns=end)
        (got,) = stored_ledger(store, PARK.id, device, start_ns=T0, end_ns=end)
        assert np.array_equal(got.ledger.quality, expected.ledger.quality), d
        assert np.allclose(got.ledger.energy, expected.ledger.energy, equal_nan=True), d
        day = read_day_rollups(store, PARK.id, "energy_kwh", day_ns=np.array([T0])).get(d)
        assert day is not None
        (whole_day,) = stored_ledger(store, PARK.id, device, start_ns=T0, end_ns=T0 + 24 * HOUR)
        assert day.energy[0] == pytest.approx(float(np.nansum(whole_day.ledger.energy)))
    # the park's readings were read in bulk: a few 15-minute slices per pass, not per meter
    passes = 99 // 5 + 1
    slices = (3_600 + 900 + 5 * 60) // 900 + 3  # context, an interval, the pass; edges; after now
    assert 0 < columns_reads.count(TELEMETRY) <= passes * slices < passes * len(FLOORS)
    if keep_bytes:
        # each pass after the first took the hour before from the window the pass before kept
        # and read only from what its marks name: the minutes since (a slice or two, and the
        # empty future). Not the pass with the late reading and the correction: their meters'
        # marks span from the first hour to now, before the kept window, so it read them whole
        assert kept_reads == passes - 2
        assert columns_reads.count(TELEMETRY) <= slices + (passes - 1) * 3
    else:
        assert kept_reads == 0
        assert columns_reads.count(TELEMETRY) > slices + (passes - 1) * 3
    # and the meters with fewer than two readings held before a pass's first (the first pass:
    # all of them) were read back together, not one query each; after it, every meter has its
    # readings of the minutes before in the pass's window and none is read back (a register it
    # does not report, e.g. export, asks for no neighbours)
    assert columns_reads.count(TELEMETRY + " back") == 1
    assert store.count(PARK.id, measurement=LEDGER) > 0


def test_meters_new_or_reporting_hourly_are_read_back_together_not_one_query_each(store):
    # half the meters are new, half have reported hourly for a day: the nearest readings before
    # a live one lie outside the pass's window for all of them
    clock = Clock(T0 + 26 * HOUR)
    hourly, new = FLOORS[: len(FLOORS) // 2], FLOORS[len(FLOORS) // 2 :]
    collect(store, clock, [reading(d, T0 + h * HOUR, 10.0 + h) for d in hourly for h in range(25)])
    clock.t += 120 * S
    follower = LedgerFollower(store, REGISTRY, clock_ns=clock)
    follower.catch_up()  # the history: not what is counted here
    one_by_one = []
    real_series = store.series

    def counting(query: SeriesQuery):  # type: ignore[no-untyped-def]
        one_by_one.append(query.device)
        return real_series(query)

    store.series = counting  # type: ignore[method-assign]
    t = T0 + 26 * HOUR - 30 * S
    collect(store, clock, [reading(d, t, 50.0) for d in FLOORS])
    clock.t += 120 * S
    follower.step()
    assert one_by_one == []  # every neighbour and context from the bulk reads
    for d in FLOORS:
        device = PARK.device(d)
        assert device is not None
        span = {"start_ns": T0, "end_ns": T0 + 27 * HOUR}
        (expected,) = device_ledger(store, PARK.id, device, **span)
        (got,) = stored_ledger(store, PARK.id, device, **span)
        assert np.array_equal(got.ledger.quality, expected.ledger.quality), d
        assert np.allclose(got.ledger.energy, expected.ledger.energy, equal_nan=True), d
    assert new


def test_a_late_reading_inside_the_kept_window_is_read_again_not_taken_from_it(store):
    # a pass keeps the park's last hour; a correction and a reading into a gap 40 minutes back
    # arrive in their own batch beside the live one: the next pass must see them, though the
    # live readings alone would let it take that hour from what it kept
    clock = Clock(T0 + 20 * S)
    follower = LedgerFollower(store, REGISTRY, clock_ns=clock)
    register = dict.fromkeys(FLOORS, 100.0)
    t = T0
    for minute in range(1, 91):
        t = T0 + minute * MIN
        for d in FLOORS:
            register[d] += 1.0
        # tower-a-f02 is silent from minute 45 to 55: a gap a late reading fills
        batch = [
            reading(d, t, register[d])
            for d in FLOORS
            if d != "tower-a-f02" or not (45 <= minute <= 55)
        ]
        clock.t = t + 10 * S
        collect(store, clock, batch)
        if minute % 5 == 0:
            follower.step()
    assert follower._kept  # the last pass kept its window
    old = store.series(
        SeriesQuery(PARK.id, "tower-a-f01", "energy_kwh", t - 40 * MIN, t - 39 * MIN)
    )
    assert len(old) == 1
    clock.t = t + 50 * S
    collect(store, clock, [reading("tower-a-f01", old[0].time_ns, old[0].value + 3.0)])
    collect(store, clock, [reading("tower-a-f02", T0 + 50 * MIN, register["tower-a-f02"] - 38.0)])
    collect(store, clock, [reading(d, t + 55 * S, register[d] + 0.5) for d in FLOORS])
    clock.t += 60 * S
    kept_reads = follower.kept_reads
    follower.step()
    assert follower.kept_reads == kept_reads + 1  # it did take the rest from the kept hour
    for d in FLOORS:
        device = PARK.device(d)
        assert device is not None
        span = {"start_ns": T0, "end_ns": t + 5 * MIN}
        (expected,) = device_ledger(store, PARK.id, device, **span)
        (got,) = stored_ledger(store, PARK.id, device, **span)
        assert np.array_equal(got.ledger.quality, expected.ledger.quality), d
        assert np.allclose(got.ledger.energy, expected.ledger.energy, equal_nan=True), d


def test_the_follower_of_collect_keeps_what_its_setting_says(tmp_path, monkeypatch):
    from config.registry import demo_registry_path
    from config.settings import Settings
    from smartpark.cli import _ledger_follower

    registry = load_registry(demo_registry_path())
    assert Settings().ledger_keep_mib * 1024 * 1024 == KEEP_BYTES  # one default, said twice
    monkeypatch.setenv("SMARTPARK_LEDGER_KEEP_MIB", "0")
    settings = Settings(data_dir=tmp_path, metrics_port=0, store_url="", ledger_follow="thread")
    follower = _ledger_follower(settings, registry)
    assert follower is not None
    try:
        assert follower.keep_bytes == 0
        monkeypatch.setenv("SMARTPARK_LEDGER_KEEP_MIB", "-1")
        with pytest.raises(ValueError, match="ledger_keep_mib"):
            Settings(data_dir=tmp_path)
    finally:
        follower.store.close()
