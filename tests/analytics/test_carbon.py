"""Scope 1/2 emissions and intensities, with the arithmetic shown."""

from __future__ import annotations

import math

import pytest
from numpy.testing import assert_allclose

from analytics.carbon import (
    NATURAL_GAS_KGCO2_PER_M3,
    clean_energy_share,
    heat_tco2,
    kgco2_per_m2,
    renewable_electricity_share,
    scope1_tco2,
    scope2_location_tco2,
    scope2_market_based,
    tco2_per_10k_cny,
    tco2_per_tce,
    tco2_per_unit,
)
from analytics.energy import tce_from_electricity_kwh, tce_from_natural_gas_m3

HUBEI_2023 = 0.4044  # kgCO2/kWh, MEE/NBS 2025 No. 47 (provincial table, [S])
NATIONAL_2023 = 0.5306  # kgCO2/kWh, same announcement
RESIDUAL_2023 = 0.6096  # kgCO2/kWh, national excl. market-traded non-fossil


def test_natural_gas_factor_from_its_parameters():
    # EF = NCV × CC × OF × 44/12 = 389.31 GJ/1e4 m3 × 0.0153 tC/GJ × 0.99 × 44/12
    #    = 21.62 tCO2/1e4 m3 = 2.162 kgCO2/m3.
    assert_allclose(389.31e-4 * 0.0153 * 0.99 * 44 / 12 * 1000, NATURAL_GAS_KGCO2_PER_M3, atol=5e-4)
    # 1,000 m3 × 2.162 kgCO2/m3 = 2,162 kg = 2.162 t.
    assert_allclose(scope1_tco2(1000.0, NATURAL_GAS_KGCO2_PER_M3), 2.162)


def test_scope2_location_based():
    # 10,000 kWh × 0.4044 kgCO2/kWh = 4,044 kg = 4.044 t (Hubei); × 0.5306 = 5.306 t (national).
    assert_allclose(scope2_location_tco2(1e4, HUBEI_2023), 4.044)
    assert_allclose(scope2_location_tco2(1e4, NATIONAL_2023), 5.306)


def test_scope2_market_based_deducts_certificates_and_contracts():
    # 10,000 kWh − (3 GEC × 1,000 kWh + 2,000 kWh green contract) = 5,000 kWh residual;
    # 5,000 kWh × 0.6096 kgCO2/kWh = 3,048 kg = 3.048 t.
    mb = scope2_market_based(
        1e4, residual_ef_kgco2_per_kwh=RESIDUAL_2023, gec_count=3, green_contract_kwh=2000
    )
    assert_allclose(mb.tco2, 3.048)
    assert (mb.green_kwh, mb.residual_kwh, mb.surplus_green_kwh) == (5000.0, 5000.0, 0.0)


def test_market_based_never_goes_below_zero():
    # 12 GEC = 12,000 kWh against 10,000 kWh: 0 t, 2,000 kWh surplus.
    mb = scope2_market_based(1e4, residual_ef_kgco2_per_kwh=RESIDUAL_2023, gec_count=12)
    assert mb.tco2 == 0.0
    assert mb.surplus_green_kwh == 2000.0
    with pytest.raises(ValueError, match="negative"):
        scope2_market_based(1e4, residual_ef_kgco2_per_kwh=RESIDUAL_2023, gec_count=-1)
    with pytest.raises(ValueError, match="negative"):
        scope2_market_based(1e4, residual_ef_kgco2_per_kwh=RESIDUAL_2023, green_contract_kwh=-1)
    with pytest.raises(ValueError, match="negative"):  # a reversed meter, not a green credit
        scope2_market_based(-1e4, residual_ef_kgco2_per_kwh=RESIDUAL_2023)


def test_purchased_heat():
    # 1,000 kWh = 3.6 GJ × 0.11 tCO2/GJ = 0.396 t.
    assert_allclose(heat_tco2(1000.0), 0.396)


def test_carbon_per_tce_matches_the_published_sensitivity_table():
    # docs/sources/standards.md §1.2: Hubei grid electricity 0.4044 / 0.1229 = 3.29 tCO2/tce,
    # national 0.5306 / 0.1229 = 4.32, natural gas 2.162 / 1.2143 = 1.78.
    kwh = 1e6
    assert_allclose(
        tco2_per_tce(
            float(scope2_location_tco2(kwh, HUBEI_2023)), float(tce_from_electricity_kwh(kwh))
        ),
        3.29,
        atol=0.005,
    )
    assert_allclose(
        tco2_per_tce(
            float(scope2_location_tco2(kwh, NATIONAL_2023)), float(tce_from_electricity_kwh(kwh))
        ),
        4.32,
        atol=0.005,
    )
    m3 = 1e4
    assert_allclose(
        tco2_per_tce(
            float(scope1_tco2(m3, NATURAL_GAS_KGCO2_PER_M3)), float(tce_from_natural_gas_m3(m3))
        ),
        1.78,
        atol=0.005,
    )


def test_intensities():
    assert_allclose(tco2_per_tce(20.0, 100.0), 0.2)  # the ≤ 0.2 zero-carbon threshold
    assert_allclose(tco2_per_10k_cny(50.0, 5e6), 0.1)  # 50 t / 500 × 10,000 CNY
    assert_allclose(kgco2_per_m2(2.0, 1000.0), 2.0)  # 2,000 kg / 1,000 m²
    assert_allclose(tco2_per_unit(3.0, 1500.0), 0.002)
    assert math.isnan(tco2_per_tce(1.0, 0.0))


def test_shares():
    # Clean = PV electricity 30 tce + gas 20 tce (profile counts gas) of 100 tce = 50 %.
    tce = {"pv": 30.0, "natural_gas": 20.0, "grid": 50.0}
    assert_allclose(clean_energy_share(tce, {"pv", "natural_gas"}), 0.5)
    assert_allclose(clean_energy_share(tce, {"pv"}), 0.3)
    # (PV self 200 + contract 300 + GEC 100) / 2,000 kWh = 30 %; capped at 100 %.
    assert_allclose(
        renewable_electricity_share(
            total_electricity_kwh=2000,
            pv_self_consumed_kwh=200,
            green_contract_kwh=300,
            gec_kwh=100,
        ),
        0.3,
    )
    assert renewable_electricity_share(total_electricity_kwh=10, gec_kwh=1000) == 1.0
    assert math.isnan(renewable_electricity_share(total_electricity_kwh=0))
