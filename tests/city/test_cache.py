"""A park's report is kept for the city view while the park's data of its period stand
(:class:`services.city.ReportCache`, :func:`services.rollup.day_marks`), on both stores: it is
made again when a roll-up of one of its days is written (also while it is being made), when the
green instruments, the accounting profile or the registry change, and when it is too old."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from config.errors import StoreUnavailableError
from config.registry import ParkRegistry, load_registry
from services.city import evaluate_city
from services.indicators import IndicatorReport, default_profile, park_indicators
from services.indicators.green import InstrumentSource
from services.instruments import put_instrument
from services.report_cache import Kept, ReportCache
from services.rollup import day_marks, write_day_rollups
from store.base import TELEMETRY, Point, Store
from store.touched import touched_marks
from tests.instruments.test_service import gec
from tests.rollup.test_rollup_path import REGISTRY, at, load

MARCH = "2025-03"


@pytest.fixture(params=["embedded", "influx"])
def store(request: pytest.FixtureRequest) -> Store:
    found: Store = request.getfixturevalue(f"{request.param}_store")
    return found


def registry(tmp_path: Path, name: str = "p.yaml") -> ParkRegistry:
    path = tmp_path / name
    path.write_text(REGISTRY, encoding="utf-8")
    return load_registry(path).parks["p"]


@pytest.fixture
def park(store: Store, tmp_path: Path) -> ParkRegistry:
    reg = registry(tmp_path)
    load(store, reg)
    return reg


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def asker(store: Store, cache: ReportCache, period: str = MARCH) -> Callable[..., IndicatorReport]:
    def ask(
        park: ParkRegistry, *, during: Callable[[], None] | None = None, **profile: Any
    ) -> IndicatorReport:
        chosen = default_profile(park).model_copy(update=profile)

        def make(instruments: InstrumentSource) -> IndicatorReport:
            if during is not None:
                during()
            return park_indicators(store, park, period, profile=chosen, instruments=instruments)

        return cache.report(store, park, period, chosen, make)

    return ask


def core(report: IndicatorReport) -> float | None:
    return next(i.value for i in report.indicators if i.name == "tco2_per_tce")


def test_a_report_is_kept_until_a_day_of_its_period_is_rolled_up_again(
    store: Store, park: ParkRegistry
) -> None:
    clock = Clock()
    cache = ReportCache(clock=clock)
    ask = asker(store, cache)
    first = ask(park)
    assert (cache.made, cache.hits) == (1, 0)
    assert ask(park) is first  # kept
    assert (cache.made, cache.hits) == (1, 1)
    # a roll-up written for a day outside the period leaves it standing
    write_day_rollups(store, park, start_ns=at(1) - 86_400 * 10**9, end_ns=at(1), devices=["gas1"])
    assert ask(park) is first
    # one written for a day of it (the follower's pass, a rebuild, a declared replacement)
    write_day_rollups(store, park, start_ns=at(4), end_ns=at(5), devices=["gas1"])
    again = ask(park)
    assert again is not first
    assert cache.made == 2
    assert again.indicators == first.indicators  # the same data, the same numbers
    assert ask(park) is again
    # too old: made again whatever the marks say
    clock.now += cache.max_age_s + 1
    assert ask(park) is not again
    assert cache.made == 3


def test_readings_stored_for_its_period_make_it_again(store: Store, park: ParkRegistry) -> None:
    # a park without a ledger follower has no roll-ups (hence no day marks) to tell: the
    # collector's touched marks, written with every batch, say that readings arrived
    cache = ReportCache()
    ask = asker(store, cache)
    first = ask(park)

    def arrive(time_ns: int, *, ago_s: float = 0.0) -> None:
        reading = Point(TELEMETRY, {"park": "p", "device": "la"}, {"energy_kwh": 1.0}, time_ns)
        stamp = time.time_ns() - int(ago_s * 1e9)
        marks = touched_marks([reading], now_ns=stamp, source="c1", devices=lambda p, d: True)
        store.write(marks)  # the mark alone: what it says is what is read here

    arrive(at(1) - 3_600 * 10**9)  # a reading of February
    assert ask(park) is first
    arrive(at(5, 10), ago_s=120)  # one of 5 March, stored before the report was made
    assert ask(park) is first
    arrive(at(5, 10))  # one of 5 March, stored now
    assert ask(park) is not first
    assert cache.made == 2


def test_a_roll_up_written_while_the_report_is_made_shows_at_the_next_ask(
    store: Store, park: ParkRegistry
) -> None:
    cache = ReportCache()
    ask = asker(store, cache)

    def follower() -> None:
        write_day_rollups(store, park, start_ns=at(2), end_ns=at(3), devices=["la"])

    made_during = ask(park, during=follower)
    assert ask(park) is not made_during  # the marks it was made under were read before
    assert cache.made == 2


def test_a_second_ask_while_the_report_is_made_waits_for_it(
    store: Store, park: ParkRegistry
) -> None:
    # a retry of the city page (its first ask gave up) must not compute every park again
    cache = ReportCache()
    ask = asker(store, cache)
    started = threading.Event()

    def slow() -> None:
        started.set()
        time.sleep(0.5)

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(ask, park, during=slow)
        assert started.wait(30)
        second = pool.submit(ask, park)
        reports = [first.result(timeout=60), second.result(timeout=60)]
    assert reports[0] is reports[1]
    assert (cache.made, cache.hits) == (1, 1)


def test_instruments_a_profile_or_a_new_registry_make_it_again(
    store: Store, park: ParkRegistry, tmp_path: Path
) -> None:
    cache = ReportCache()
    ask = asker(store, cache)
    first = ask(park)
    put_instrument(store, park, gec(certificates=5, serial_last="GEC2025-000005"))
    certified = ask(park)
    assert certified is not first
    c0, c1 = core(first), core(certified)
    assert c0 is not None
    assert c1 is not None
    assert c1 < c0  # the certificates count
    assert ask(park) is certified
    other = ask(park, flat_price_cny_per_kwh=0.9)  # another profile: another report
    assert other is not certified
    assert ask(park) is certified  # and the first profile's still stands
    reloaded = registry(tmp_path, "again.yaml")  # the registry read again (devices approved …)
    assert ask(reloaded) is not certified
    assert cache.made == 4


def test_a_live_period_gives_the_kept_report_a_while_and_makes_a_fresh_one_behind(
    store: Store, park: ParkRegistry
) -> None:
    # the city view of a period still receiving data (ReportCache.kept with stale_s)
    clock = Clock()
    cache = ReportCache(clock=clock)
    chosen = default_profile(park)
    makes: list[float] = []

    def make(instruments: InstrumentSource) -> IndicatorReport:
        makes.append(clock.now)
        return park_indicators(store, park, MARCH, profile=chosen, instruments=instruments)

    def kept(stale_s: float = 600.0) -> Kept:
        return cache.kept(store, park, MARCH, chosen, make, stale_s=stale_s)

    before_ms = time.time_ns() // 1_000_000
    first = kept()
    assert not first.stale
    assert before_ms <= first.as_of_ms <= time.time_ns() // 1_000_000
    assert kept().report is first.report  # standing: a hit, as report() gives it
    assert (cache.made, cache.hits, cache.stale_hits) == (1, 1, 0)
    write_day_rollups(store, park, start_ns=at(4), end_ns=at(5), devices=["gas1"])
    # the data moved: the kept one, marked stale with its time, and not made again yet (it is
    # younger than a third of stale_s)
    clock.now += 100.0
    got = kept()
    assert got.stale
    assert got.report is first.report
    assert got.as_of_ms == first.as_of_ms
    assert (cache.made, cache.stale_hits) == (1, 1)
    # a third of stale_s old: still the kept one, and a fresh one made in the background
    clock.now += 150.0
    assert kept().report is first.report
    deadline = time.monotonic() + 30
    while cache.made < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cache.made == 2
    fresh = kept()
    assert not fresh.stale
    assert fresh.report is not first.report
    assert fresh.as_of_ms >= first.as_of_ms
    assert makes == [1000.0, 1250.0]
    # too old to give: made in the asker's own call
    write_day_rollups(store, park, start_ns=at(4), end_ns=at(5), devices=["gas1"])
    clock.now += 601.0
    now = kept()
    assert not now.stale
    assert cache.made == 3
    # without stale_s (the report, /indicators) a moved park is always made again
    write_day_rollups(store, park, start_ns=at(4), end_ns=at(5), devices=["gas1"])
    assert not kept(0.0).stale
    assert cache.made == 4


def test_a_refresh_that_fails_leaves_the_kept_report(
    store: Store, park: ParkRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    cache = ReportCache(clock=clock)
    chosen = default_profile(park)
    fail = threading.Event()

    def make(instruments: InstrumentSource) -> IndicatorReport:
        if fail.is_set():
            raise StoreUnavailableError("switched off by the test")
        return park_indicators(store, park, MARCH, profile=chosen, instruments=instruments)

    first = cache.kept(store, park, MARCH, chosen, make, stale_s=600.0)
    write_day_rollups(store, park, start_ns=at(4), end_ns=at(5), devices=["gas1"])
    fail.set()
    clock.now += 300.0
    with caplog.at_level("WARNING", logger="smartpark.report_cache"):
        assert cache.kept(store, park, MARCH, chosen, make, stale_s=600.0).stale
        deadline = time.monotonic() + 30
        while "not made again" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.02)
    assert "report of p 2025-03 not made again: switched off by the test" in caplog.text
    again = cache.kept(store, park, MARCH, chosen, make, stale_s=600.0)
    assert again.stale
    assert again.report is first.report
    assert cache.made == 1


def test_the_city_answers_the_same_from_kept_reports(store: Store, park: ParkRegistry) -> None:
    cache = ReportCache()
    fresh = evaluate_city(store, [park], MARCH)
    made = evaluate_city(store, [park], MARCH, cache=cache)
    kept = evaluate_city(store, [park], MARCH, cache=cache)
    assert cache.made == 2  # March and February (the trend)
    assert cache.hits == 2
    for a, b, c in zip(fresh.parks, made.parks, kept.parks, strict=True):
        assert a.figures.figures == b.figures.figures == c.figures.figures
        assert a.score == b.score == c.score


def test_day_marks_change_with_every_roll_up_of_a_day_in_range(
    store: Store, park: ParkRegistry
) -> None:
    week = {"start_ns": at(1), "end_ns": at(8)}
    before = day_marks(store, "p", **week)
    assert day_marks(store, "p", **week) == before
    assert day_marks(store, "nowhere", **week) != before  # no marks at all: another print
    write_day_rollups(store, park, start_ns=at(10), end_ns=at(11), devices=["la"])
    assert day_marks(store, "p", **week) == before
    write_day_rollups(store, park, start_ns=at(7), end_ns=at(8), devices=["la"])
    assert day_marks(store, "p", **week) != before
