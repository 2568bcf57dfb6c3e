"""Market-based Scope 2 from matched instruments, and the 910 certified-green core indicator.

GHG Protocol Scope 2 Guidance (2015): C_mb = (E − E_green) × EF_residual; residual proxy = MEE
national factor excluding market-traded non-fossil power, 2023: 0.6096 kgCO2/kWh (MEE/NBS 2025
No. 47). Location-based Hubei 2023: 0.4044 kgCO2/kWh (same announcement, table 3, [S]).
"""

from __future__ import annotations

import math

import pytest
from numpy.testing import assert_allclose

from analytics.carbon import (
    core_indicator_certified_green,
    purchased_electricity_kwh,
    scope2_market_based_green,
)
from analytics.instruments import ConsumptionBucket, gec_batch, match, month_index

RESIDUAL_2023 = 0.6096
HUBEI_2023 = 0.4044
MAR_2025 = month_index(2025, 3)


def test_net_purchase_is_netted_per_period_not_over_the_sum():
    # Period 1: 100 − 30 = 70; period 2: 50 − 80 < 0 → 0. Netting the sums would give 40.
    assert_allclose(
        purchased_electricity_kwh([100.0, 50.0], [30.0, 80.0], basis="net"), [70.0, 0.0]
    )
    assert_allclose(
        purchased_electricity_kwh([100.0, 50.0], [30.0, 80.0], basis="gross"), [100.0, 50.0]
    )
    with pytest.raises(ValueError, match="basis 'both'"):
        purchased_electricity_kwh(1.0, basis="both")  # type: ignore[arg-type]


def test_market_based_with_an_annual_batch_retired_against_one_month():
    # 500 GEC (500,000 kWh) retired against March 2025; March purchased 300,000 kWh, April
    # 300,000 kWh. March: (300,000 − 300,000) × 0.6096 = 0 t; April: 300,000 × 0.6096 / 1000
    # = 182.88 t — the batch does not reach April.
    batch = gec_batch(
        "g",
        500,
        generation_start=month_index(2025, 1),
        generation_end=month_index(2026, 1),
        retired_start=MAR_2025,
        retired_end=MAR_2025 + 1,
    )
    result = match(
        [batch], [ConsumptionBucket(MAR_2025, 3e5), ConsumptionBucket(MAR_2025 + 1, 3e5)]
    )
    march = scope2_market_based_green(
        3e5, result.park_green_kwh(MAR_2025), residual_ef_kgco2_per_kwh=RESIDUAL_2023
    )
    april = scope2_market_based_green(
        3e5, result.park_green_kwh(MAR_2025 + 1), residual_ef_kgco2_per_kwh=RESIDUAL_2023
    )
    assert march.tco2 == 0.0
    assert march.green_kwh == 3e5
    assert march.surplus_green_kwh == 0.0
    assert_allclose(april.tco2, 182.88)


def test_market_based_caps_green_at_purchase():
    # 1,000,000 kWh bought, 300,000 certified: 700,000 × 0.6096 / 1000 = 426.72 t.
    mb = scope2_market_based_green(1e6, 3e5, residual_ef_kgco2_per_kwh=RESIDUAL_2023)
    assert_allclose(mb.tco2, 426.72)
    assert (mb.green_kwh, mb.residual_kwh, mb.surplus_green_kwh) == (3e5, 7e5, 0.0)
    over = scope2_market_based_green(1e5, 3e5, residual_ef_kgco2_per_kwh=RESIDUAL_2023)
    assert (over.tco2, over.surplus_green_kwh) == (0.0, 2e5)
    with pytest.raises(ValueError, match="certified_green_kwh"):
        scope2_market_based_green(1.0, -1.0, residual_ef_kgco2_per_kwh=RESIDUAL_2023)


def test_core_indicator_counts_certified_green_at_zero():
    # Scope 1 50 t; 1,000,000 kWh bought, 600,000 certified; 0.4044 kgCO2/kWh; heat 10 t;
    # 150 tce. Grey 400,000 × 0.4044 / 1000 = 161.76 t; (50 + 161.76 + 10) / 150 = 1.47840.
    ci = core_indicator_certified_green(
        scope1_tco2=50.0,
        purchased_kwh=1e6,
        certified_green_kwh=6e5,
        location_ef_kgco2_per_kwh=HUBEI_2023,
        energy_tce=150.0,
        heat_tco2=10.0,
    )
    assert_allclose(ci.tco2, 221.76)
    assert_allclose(ci.tco2_per_tce, 221.76 / 150)
    assert (ci.green_kwh, ci.grey_kwh) == (6e5, 4e5)
    # Without certificates it is the location-based figure: (50 + 404.4 + 10) / 150 = 3.096.
    base = core_indicator_certified_green(
        scope1_tco2=50.0,
        purchased_kwh=1e6,
        certified_green_kwh=0.0,
        location_ef_kgco2_per_kwh=HUBEI_2023,
        energy_tce=150.0,
        heat_tco2=10.0,
    )
    assert_allclose(base.tco2_per_tce, 3.096)
    zero = core_indicator_certified_green(
        scope1_tco2=0.0,
        purchased_kwh=0.0,
        certified_green_kwh=0.0,
        location_ef_kgco2_per_kwh=HUBEI_2023,
        energy_tce=0.0,
    )
    assert math.isnan(zero.tco2_per_tce)


def test_tenant_scoped_gec_does_not_lower_another_tenants_core_indicator():
    # March: park 200,000 kWh, A 80,000, B 120,000; A holds 100 GEC for March.
    # B: 120,000 × 0.4044 / 1000 = 48.528 t over 120,000 × 0.1229 / 1000 = 14.748 tce = 3.2905.
    gec_a = gec_batch(
        "a",
        100,
        generation_start=MAR_2025,
        generation_end=MAR_2025 + 1,
        retired_start=MAR_2025,
        retired_end=MAR_2025 + 1,
        tenant="A",
    )
    result = match(
        [gec_a],
        [
            ConsumptionBucket(MAR_2025, 2e5),
            ConsumptionBucket(MAR_2025, 8e4, "A"),
            ConsumptionBucket(MAR_2025, 1.2e5, "B"),
        ],
    )
    b = core_indicator_certified_green(
        scope1_tco2=0.0,
        purchased_kwh=1.2e5,
        certified_green_kwh=result.green_kwh(MAR_2025, "B"),
        location_ef_kgco2_per_kwh=HUBEI_2023,
        energy_tce=14.748,
    )
    assert_allclose(b.tco2_per_tce, 0.4044 / 0.1229)
    a = core_indicator_certified_green(
        scope1_tco2=0.0,
        purchased_kwh=8e4,
        certified_green_kwh=result.green_kwh(MAR_2025, "A"),
        location_ef_kgco2_per_kwh=HUBEI_2023,
        energy_tce=9.832,
    )
    assert a.tco2_per_tce == 0.0
