"""PV yields and PR per IEC 61724-1:2021: Y_f = E_AC / P0 (DC kWp at STC), Y_r = H_POA / G_ref
(1 kW/m²), PR = Y_f / Y_r; irradiation H = Σ G × τ."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from analytics.microgrid import (
    irradiation_kwh_per_m2,
    performance_ratio,
    performance_ratio_from_series,
    reference_yield_h,
    specific_yield_kwh_per_kwp,
)


def test_worked_month_on_dc_nameplate():
    # 250 modules × 400 Wp = 100 kWp DC on 80 kW of inverters (DC/AC 1.25). A month of
    # 12,000 kWh AC under 150 kWh/m² POA: Y_f = 12,000 / 100 = 120 h; Y_r = 150 / 1 = 150 h;
    # PR = 120 / 150 = 0.80. Dividing by the 80 kW AC rating would give 150 h and PR 1.00.
    p0_kwp = 250 * 0.400
    assert_allclose(specific_yield_kwh_per_kwp(12_000.0, p0_kwp), 120.0)
    assert_allclose(reference_yield_h(150.0), 150.0)
    assert_allclose(performance_ratio(12_000.0, p0_kwp, 150.0), 0.80)
    assert_allclose(performance_ratio(12_000.0, 80.0, 150.0), 1.00)


def test_irradiation_from_one_minute_irradiance():
    # One hour of 60 one-minute means at 800 W/m²: 60 × 800 W/m² × 60 s = 2.88 MJ/m²
    # = 0.8 kWh/m².
    assert_allclose(irradiation_kwh_per_m2(np.full(60, 800.0), 60), 0.8)
    assert math.isnan(irradiation_kwh_per_m2([800.0, float("nan")], 60))
    with pytest.raises(ValueError, match="interval_s"):
        irradiation_kwh_per_m2([800.0], 0)


def test_pr_from_series_drops_the_same_intervals_from_both_sides():
    # Four 15-min intervals, 100 kWp: G = 800, 1000, NaN, 600 W/m²; E = 16, 20, 18, NaN kWh.
    # Usable: the first two. H = (800 + 1000) × 900 s / 3600 / 1000 = 0.45 kWh/m² → Y_r = 0.45 h;
    # Y_f = (16 + 20) / 100 = 0.36 h; PR = 0.36 / 0.45 = 0.80.
    pr = performance_ratio_from_series(
        [16.0, 20.0, 18.0, float("nan")],
        [800.0, 1000.0, float("nan"), 600.0],
        interval_s=900,
        p0_kwp=100.0,
    )
    assert_allclose(pr, 0.80)
    assert math.isnan(
        performance_ratio_from_series([float("nan")], [500.0], interval_s=900, p0_kwp=100.0)
    )
    with pytest.raises(ValueError, match="same length"):
        performance_ratio_from_series([1.0], [1.0, 2.0], interval_s=900, p0_kwp=100.0)
