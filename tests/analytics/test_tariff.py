"""Hubei time-of-use cost and demand charges, with the arithmetic shown."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from analytics.tariff import (
    TouPeriod,
    demand_charge,
    periods_from_hours,
    prices_from_ratios,
    tou_cost,
    tou_periods,
)

S = 1_000_000_000
C, P, F, V = TouPeriod.CRITICAL, TouPeriod.PEAK, TouPeriod.FLAT, TouPeriod.VALLEY

# Hubei C&I draft of 2024-01-03 (docs/sources/standards.md §10).
FLAT_VALLEY = {F: [(0, 1), (7, 12), (14, 16)], V: [(1, 7), (12, 14)]}
JUL_AUG = periods_from_hours({C: [(20, 22)], P: [(16, 20), (22, 24)], **FLAT_VALLEY})
OTHER = periods_from_hours({C: [(18, 20)], P: [(16, 18), (20, 24)], **FLAT_VALLEY})
PERIODS = np.array([JUL_AUG if m in (7, 8) else OTHER for m in range(1, 13)])
ORDINARY = [1.8, 1.49, 1.0, 0.48]
PEAK_MONTH = [2.0, 1.49, 1.0, 0.45]
RATIOS = [PEAK_MONTH if m in (1, 7, 8, 12) else ORDINARY for m in range(1, 13)]
FLAT_PRICE = 0.6  # CNY/kWh, an example flat price


def local_day_hours(date: str) -> np.ndarray:
    """Starts of the 24 hours of a Wuhan day (local midnight = 16:00 UTC the day before)."""
    midnight = int(np.datetime64(f"{date}T00:00", "ns").astype(np.int64)) - 8 * 3600 * S
    return midnight + np.arange(24, dtype=np.int64) * 3600 * S


def test_hubei_hours_per_period():
    # 2 critical + 6 peak + 8 flat + 8 valley hours, with a midday valley 12:00–14:00.
    assert_array_equal(np.bincount(OTHER, minlength=4), [2, 6, 8, 8])
    assert_array_equal(OTHER[12:14], [V, V])
    assert_array_equal(JUL_AUG[20:22], [C, C])


def test_one_kwh_every_hour_of_an_ordinary_day():
    # Σ ratios × hours = 2 × 1.8 + 6 × 1.49 + 8 × 1 + 8 × 0.48 = 3.6 + 8.94 + 8 + 3.84 = 24.38;
    # × 0.6 CNY/kWh = 14.628 CNY.
    cost = tou_cost(
        local_day_hours("2024-03-15"),
        np.ones(24),
        period_by_month_hour=PERIODS,
        price_cny_per_kwh=prices_from_ratios(FLAT_PRICE, RATIOS),
    )
    assert_allclose(cost.total_cny(), 14.628)
    assert_allclose(cost.energy_kwh_by_period, [2, 6, 8, 8])
    assert_allclose(cost.cost_cny_by_period, [2.16, 5.364, 4.8, 2.304])


def test_one_kwh_every_hour_of_a_july_day():
    # 2 × 2.0 + 6 × 1.49 + 8 × 1 + 8 × 0.45 = 4 + 8.94 + 8 + 3.6 = 24.54; × 0.6 = 14.724 CNY.
    cost = tou_cost(
        local_day_hours("2024-07-15"),
        np.ones(24),
        period_by_month_hour=PERIODS,
        price_cny_per_kwh=prices_from_ratios(FLAT_PRICE, RATIOS),
    )
    assert_allclose(cost.total_cny(), 14.724)
    # Local 20:00 (12:00 UTC) is critical in July, peak in March.
    assert cost.period[20] == C


def test_periods_follow_local_time_not_utc():
    # 04:00 UTC is 12:00 in Wuhan (midday valley); 08:00 UTC is 16:00 in Wuhan (peak) but would
    # be flat if hours were read in UTC.
    t = [
        int(np.datetime64("2024-03-15T04:00", "ns").astype(np.int64)),
        int(np.datetime64("2024-03-15T08:00", "ns").astype(np.int64)),
    ]
    assert_array_equal(tou_periods(t, PERIODS), [V, P])
    assert_array_equal(tou_periods(t, PERIODS, tz="UTC"), [V, F])


def test_missing_energy_costs_nothing_known():
    cost = tou_cost(
        local_day_hours("2024-03-15")[:2],
        [1.0, np.nan],
        period_by_month_hour=PERIODS,
        price_cny_per_kwh=prices_from_ratios(FLAT_PRICE, RATIOS),
    )
    assert np.isnan(cost.cost_cny[1])
    assert_allclose(cost.total_cny(), 0.6)  # 00:00–01:00 is flat


def test_demand_charge_per_local_month():
    # Max 15-min energy in March 250 kWh → 1,000 kW; April 125 kWh → 500 kW; × 30 CNY/kW.
    t = np.array(
        [
            np.datetime64(x, "ns").astype(np.int64)
            for x in ["2024-03-10T02:00", "2024-03-31T15:45", "2024-03-31T16:00"]
        ]
    )  # the last is 2024-04-01 00:00 in Wuhan
    d = demand_charge(t, [100.0, 250.0, 125.0], interval_s=900, price_cny_per_kw_month=30.0)
    assert d.month == ("2024-03", "2024-04")
    assert_allclose(d.max_demand_kw, [1000.0, 500.0])
    assert_allclose(d.charge_cny, [30_000.0, 15_000.0])


@pytest.mark.parametrize(
    ("spans", "message"),
    [
        ({F: [(0, 24)], V: [(1, 2)]}, "twice"),
        ({F: [(0, 23)]}, "no period"),
        ({F: [(5, 3)]}, "bad hour range"),
    ],
)
def test_bad_schedules(spans, message):
    with pytest.raises(ValueError, match=message):
        periods_from_hours(spans)


def test_bad_tables():
    with pytest.raises(ValueError, match="12 × 4"):
        prices_from_ratios(0.6, [[1.0]])
    with pytest.raises(ValueError, match="12 × 24"):
        tou_periods([0], [[0]])


def test_hour_ranges_beyond_the_day_or_assigned_twice_are_refused():
    with pytest.raises(ValueError, match="bad hour range"):
        periods_from_hours({C: [(20, 25)], P: [(0, 20)]})
    # critical (period 0) given twice over 20–21: the overlap check must see period 0 too
    with pytest.raises(ValueError, match="assigned twice"):
        periods_from_hours({C: [(20, 22), (21, 22)], P: [(16, 20), (22, 24)], **FLAT_VALLEY})
