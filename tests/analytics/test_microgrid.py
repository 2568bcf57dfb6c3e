"""Microgrid, battery and PV indicators, with the arithmetic shown."""

from __future__ import annotations

import math

from numpy.testing import assert_allclose

from analytics.microgrid import (
    equivalent_full_cycles,
    load_factor,
    peak_demand_kw,
    performance_ratio,
    reference_yield_h,
    renewable_penetration,
    round_trip_efficiency,
    self_consumption_rate,
    self_sufficiency_rate,
    specific_yield_kwh_per_kwp,
)


def test_self_consumption_and_sufficiency():
    # PV 1,000 kWh, export 300 → SCR = 700 / 1,000 = 0.7; load 2,000 → SSR = 700 / 2,000 = 0.35.
    assert_allclose(self_consumption_rate(1000.0, 300.0), 0.7)
    assert_allclose(self_sufficiency_rate(700.0, 2000.0), 0.35)
    assert_allclose(renewable_penetration(900.0, 2000.0), 0.45)
    assert math.isnan(self_consumption_rate(0.0, 0.0))


def test_self_consumption_is_never_negative_when_export_exceeds_generation():
    # the export meter and the inverter are read at slightly different times: export 1,020 kWh
    # against 1,000 kWh generated is "none used on site", not −2 %
    assert self_consumption_rate(1000.0, 1020.0) == 0.0
    assert self_consumption_rate(1000.0, 1000.0) == 0.0


def test_peak_demand_and_load_factor():
    # 15-min energies 1, 2.5, 2 kWh: peak = 2.5 kWh / 0.25 h = 10 kW;
    # load factor = mean 1.8333 / max 2.5 = 0.7333. NaN intervals are ignored.
    e = [1.0, 2.5, 2.0, float("nan")]
    assert_allclose(peak_demand_kw(e, 900), 10.0)
    assert_allclose(load_factor(e), (5.5 / 3) / 2.5)
    assert math.isnan(peak_demand_kw([float("nan")], 900))
    assert math.isnan(load_factor([]))


def test_battery():
    # 500 kWh discharged from 100 kWh usable = 5 cycles.
    assert_allclose(equivalent_full_cycles(500.0, 100.0), 5.0)
    # 900 out / 1,000 in = 0.90; with SoC 10 kWh higher at the end: (900 + 10) / 1,000 = 0.91.
    assert_allclose(round_trip_efficiency(1000.0, 900.0), 0.9)
    assert_allclose(round_trip_efficiency(1000.0, 900.0, stored_change_kwh=10.0), 0.91)


def test_pv_yields_and_performance_ratio():
    # 10 kWp making 1,000 kWh → Y_f = 100 kWh/kWp; 125 kWh/m² POA → Y_r = 125 h; PR = 0.8.
    assert_allclose(specific_yield_kwh_per_kwp(1000.0, 10.0), 100.0)
    assert_allclose(reference_yield_h(125.0), 125.0)
    assert_allclose(performance_ratio(1000.0, 10.0, 125.0), 0.8)
