"""Maximum demand as billed: 15-minute window sliding by the meter's step, contract floor of
40 % of the contracted capacity (发改办价格[2016]1583号)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from analytics.microgrid import peak_demand_kw
from analytics.tariff import (
    billed_demand_kw,
    max_sliding_demand_kw,
    sliding_demand_kw,
    sliding_demand_kw_from_register,
)

# 30 one-minute intervals: 1,000 kW from minute 7 to minute 22 (15 minutes), else 0.
# Each loaded minute is 1,000 kW × 1/60 h = 16.667 kWh.
MINUTE_KWH = np.where((np.arange(30) >= 7) & (np.arange(30) < 22), 1000.0 / 60, 0.0)


def test_sliding_window_finds_the_peak_fixed_blocks_split():
    # Fixed blocks: [0, 15) holds 8 loaded minutes → 8 × 16.667 kWh / 0.25 h = 533.3 kW;
    # [15, 30) holds 7 → 466.7 kW. The window starting at minute 7 holds all 15 → 1,000 kW.
    blocks = MINUTE_KWH.reshape(2, 15).sum(axis=1)
    assert_allclose(peak_demand_kw(blocks, 900), 8000 / 15)
    assert_allclose(max_sliding_demand_kw(blocks, interval_s=900), 8000 / 15)
    assert_allclose(max_sliding_demand_kw(MINUTE_KWH, interval_s=60), 1000.0)
    assert sliding_demand_kw(MINUTE_KWH, interval_s=60).shape == (16,)


def test_register_readings_give_the_same_demand():
    register = 12_345.0 + np.concatenate(([0.0], np.cumsum(MINUTE_KWH)))
    assert_allclose(
        sliding_demand_kw_from_register(register, interval_s=60),
        sliding_demand_kw(MINUTE_KWH, interval_s=60),
    )


def test_missing_minutes_make_their_windows_unknown():
    e = MINUTE_KWH.copy()
    e[10] = np.nan  # every window holding minute 10 (starts 0..10) is unknown
    d = sliding_demand_kw(e, interval_s=60)
    assert np.isnan(d[:11]).all()
    assert np.isfinite(d[11:]).all()
    # Best known window starts at 11: minutes 11–21 loaded = 11 × 16.667 / 0.25 = 733.3 kW.
    assert_allclose(max_sliding_demand_kw(e, interval_s=60), 11000 / 15)
    assert math.isnan(max_sliding_demand_kw([np.nan] * 15, interval_s=60))
    assert sliding_demand_kw([1.0] * 5, interval_s=60).size == 0


def test_billed_demand_has_the_contract_floor():
    # 3,150 kVA contracted × 40 % = 1,260 kW > 1,000 kW measured → billed 1,260 kW.
    assert_allclose(billed_demand_kw(1000.0, 3150.0), 1260.0)
    # 2,000 kVA × 40 % = 800 kW < 1,000 kW → billed 1,000 kW.
    assert_allclose(billed_demand_kw(1000.0, 2000.0), 1000.0)
    assert_allclose(billed_demand_kw(1000.0, 3150.0, floor_fraction=0.5), 1575.0)
    assert math.isnan(billed_demand_kw(float("nan"), 2000.0))


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="multiple of interval_s"):
        sliding_demand_kw([1.0] * 20, interval_s=120, window_s=900)
    with pytest.raises(ValueError, match="floor_fraction"):
        billed_demand_kw(1.0, 1.0, floor_fraction=1.5)
    with pytest.raises(ValueError, match="contract_capacity_kva"):
        billed_demand_kw(1.0, -1.0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 500, allow_nan=False), min_size=15, max_size=120))
def test_sliding_is_the_naive_window_sum_and_never_below_fixed_blocks(minutes: list[float]):
    e = np.asarray(minutes)
    d = sliding_demand_kw(e, interval_s=60)
    naive = [e[j : j + 15].sum() / 0.25 for j in range(e.size - 14)]
    assert_allclose(d, naive, rtol=1e-9, atol=1e-9)
    blocks = e[: e.size // 15 * 15].reshape(-1, 15).sum(axis=1)
    assert max_sliding_demand_kw(e, interval_s=60) >= peak_demand_kw(blocks, 900) - 1e-9
