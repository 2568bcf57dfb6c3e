"""Local-calendar roll-ups: park days are local days, with completeness on every figure."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from analytics.calendar import local_fields, local_period_edges, rollup, utc_offset_s
from analytics.intervals import Quality

S = 1_000_000_000
Q = 900 * S


def utc(iso: str) -> int:
    return int(np.datetime64(iso, "ns").astype(np.int64))


def quarter_hours(first_utc: str, n: int) -> np.ndarray:
    return utc(first_utc) + np.arange(n, dtype=np.int64) * Q


def test_shanghai_day_runs_from_16h_utc_not_from_utc_midnight():
    # The Wuhan day of 2024-03-01 is 2024-02-29T16:00Z – 2024-03-01T16:00Z: 96 quarter hours.
    starts = quarter_hours("2024-02-29T16:00", 96)
    ones = np.ones(96)
    local = rollup(starts, ones, np.zeros(96), interval_s=900, tz="Asia/Shanghai")
    assert local.label == ("2024-03-01",)
    assert_allclose(local.energy, [96.0])
    assert_allclose(local.completeness_pct, [100.0])
    assert local.start_ns[0] == utc("2024-02-29T16:00")
    # The same intervals by UTC day split 32 / 64 over two days, each partly covered: exactly the
    # "totals off by the UTC offset" peers show (solectrus #3241).
    by_utc = rollup(starts, ones, np.zeros(96), interval_s=900, tz="UTC")
    assert by_utc.label == ("2024-02-29", "2024-03-01")
    assert_allclose(by_utc.energy, [32.0, 64.0])
    assert_allclose(by_utc.completeness_pct, [100 * 32 / 96, 100 * 64 / 96])


def test_completeness_and_coverage_count_qualities():
    starts = quarter_hours("2024-02-29T16:00", 96)
    quality = np.zeros(96, dtype=np.int8)
    quality[:4] = Quality.INTERPOLATED  # present, not measured
    quality[4:12] = Quality.MISSING
    energy = np.where(quality == Quality.MISSING, np.nan, 1.0)
    day = rollup(starts, energy, quality, interval_s=900)
    assert_allclose(day.energy, [88.0])
    # interpolated intervals are known totals (91.67 %), not measured ones (87.5 %)
    assert_allclose(day.completeness_pct, [100 * 88 / 96])
    assert_allclose(day.known_pct, [100 * 88 / 96])
    assert_allclose(day.measured_pct, [100 * 84 / 96])
    assert_allclose(day.coverage_pct, [100 * 88 / 96])


def test_dst_days_have_92_and_100_quarter_hours():
    # New York 2024-03-10 has 23 h (92 intervals), 2024-11-03 has 25 h (100 intervals).
    spring = rollup(
        quarter_hours("2024-03-10T05:00", 92),
        np.ones(92),
        np.zeros(92),
        interval_s=900,
        tz="America/New_York",
    )
    assert spring.label == ("2024-03-10",)
    assert_array_equal(spring.expected_intervals, [92])
    assert_allclose(spring.completeness_pct, [100.0])
    autumn = rollup(
        quarter_hours("2024-11-03T04:00", 100),
        np.ones(100),
        np.zeros(100),
        interval_s=900,
        tz="America/New_York",
    )
    assert autumn.label == ("2024-11-03",)
    assert_array_equal(autumn.expected_intervals, [100])


def test_repeated_local_hour_is_its_own_hour():
    hours = rollup(
        quarter_hours("2024-11-03T04:00", 100),
        np.ones(100),
        np.zeros(100),
        interval_s=900,
        tz="America/New_York",
        period="hour",
    )
    assert len(hours.label) == 25
    assert hours.label[1:3] == ("2024-11-03T01:00-04:00", "2024-11-03T01:00-05:00")
    assert_allclose(hours.energy, 4.0)


def test_months_and_years_in_local_time():
    # 2023-12-31T16:00Z is already 2024-01-01 in Wuhan.
    starts = np.array([utc("2023-12-31T15:45"), utc("2023-12-31T16:00")])
    months = rollup(starts, [1.0, 2.0], [0, 0], interval_s=900, period="month")
    assert months.label == ("2023-12", "2024-01")
    assert_allclose(months.energy, [1.0, 2.0])
    years = rollup(starts, [1.0, 2.0], [0, 0], interval_s=900, period="year")
    assert years.label == ("2023", "2024")
    # 2024 is a leap year: 366 × 96 quarter hours.
    assert years.expected_intervals[1] == 366 * 96


def test_intervals_straddling_a_local_edge_are_refused():
    # Kolkata is UTC+5:30; hourly intervals aligned to UTC straddle its local midnight.
    starts = utc("2024-01-01T00:00") + np.arange(24, dtype=np.int64) * 3600 * S
    with pytest.raises(ValueError, match="align"):
        rollup(starts, np.ones(24), np.zeros(24), interval_s=3600, tz="Asia/Kolkata")


def test_bad_input():
    with pytest.raises(ValueError, match="same length"):
        rollup([0, Q], [1.0], [0], interval_s=900)
    with pytest.raises(ValueError, match="unknown period"):
        local_period_edges(0, Q, "UTC", "week")  # type: ignore[arg-type]
    assert rollup([], [], [], interval_s=900).label == ()


def test_utc_offset_and_local_fields():
    t = [utc("2024-03-10T06:59"), utc("2024-03-10T07:00")]  # 01:59 EST, 03:00 EDT
    assert_array_equal(utc_offset_s(t, "America/New_York"), [-5 * 3600, -4 * 3600])
    month, hour, weekday = local_fields([utc("2024-07-31T16:30")], "Asia/Shanghai")
    assert (month[0], hour[0], weekday[0]) == (8, 0, 4)  # Thursday 2024-08-01 00:30 in Wuhan


@settings(max_examples=50, deadline=None)
@given(
    first=st.integers(0, 2 * 365 * 96),
    n=st.integers(1, 3 * 96),
    tz=st.sampled_from(["Asia/Shanghai", "UTC", "America/New_York", "Europe/Berlin"]),
    period=st.sampled_from(["hour", "day", "month"]),
    seed=st.integers(0, 2**16),
)
def test_rollups_preserve_the_total_and_local_days_differ_from_utc(first, n, tz, period, seed):
    rng = np.random.default_rng(seed)
    starts = utc("2023-01-01T00:00") + (first + np.arange(n, dtype=np.int64)) * Q
    energy = rng.uniform(0, 5, n)
    r = rollup(starts, energy, np.zeros(n), interval_s=900, tz=tz, period=period)
    assert_allclose(r.energy.sum(), energy.sum())
    assert (r.completeness_pct <= 100 + 1e-9).all()
    # Each interval falls in the period whose local edges hold it.
    which = np.searchsorted(r.start_ns, starts, side="right") - 1
    assert (r.start_ns[which] <= starts).all()
    assert (starts < r.end_ns[which]).all()
    if period == "day" and tz == "Asia/Shanghai":
        assert ((r.start_ns // S) % 86400 == 16 * 3600).all()  # local midnight = 16:00 UTC
