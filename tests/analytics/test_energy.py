"""GB/T 2589 standard-coal conversions and energy balances, with the arithmetic shown."""

from __future__ import annotations

import pytest
from numpy.testing import assert_allclose

from analytics.energy import (
    ELECTRICITY_EQUIVALENT_KGCE_PER_KWH,
    comprehensive_energy_tce,
    electricity_balance,
    tce_from_electricity_kwh,
    tce_from_heat_kwh,
    tce_from_natural_gas_m3,
    unmetered_kwh,
)


def test_electricity_at_equivalent_value():
    # 1,000,000 kWh × 0.1229 kgce/kWh = 122,900 kgce = 122.9 tce.
    assert_allclose(tce_from_electricity_kwh(1e6), 122.9)
    # 0.1229 = 860 kcal/kWh ÷ 7,000 kcal/kgce = 0.122857, rounded to 4 places.
    assert round(860 / 7000, 4) == ELECTRICITY_EQUIVALENT_KGCE_PER_KWH


def test_electricity_by_coal_consumption_is_an_explicit_choice():
    # 1,000,000 kWh × 0.3036 kgce/kWh = 303.6 tce, about 2.5 × the equivalent value.
    tce = tce_from_electricity_kwh(
        1e6, method="coal_consumption", coal_consumption_kgce_per_kwh=0.3036
    )
    assert_allclose(tce, 303.6)
    with pytest.raises(ValueError, match="coal_consumption_kgce_per_kwh"):
        tce_from_electricity_kwh(1e6, method="coal_consumption")
    with pytest.raises(ValueError, match="unknown"):
        tce_from_electricity_kwh(1e6, method="bogus")  # type: ignore[arg-type]


def test_natural_gas_and_heat():
    # 10,000 m3 × 1.2143 kgce/m3 = 12,143 kgce = 12.143 tce.
    assert_allclose(tce_from_natural_gas_m3(1e4), 12.143)
    # 1,000 kWh of steam = 3,600 MJ × 0.03412 kgce/MJ = 122.832 kgce = 0.122832 tce.
    assert_allclose(tce_from_heat_kwh(1000.0), 0.122832)


def test_comprehensive_energy_sums_carriers():
    # 1e6 kWh × 0.1229 + 1e4 m3 × 1.2143 = 122.9 + 12.143 = 135.043 tce; NaN counts as missing.
    total = comprehensive_energy_tce(
        {"electricity": [5e5, 5e5, float("nan")], "natural_gas": 1e4},
        {"electricity": 0.1229, "natural_gas": 1.2143},
    )
    assert_allclose(total, 135.043)
    with pytest.raises(ValueError, match="no kgce coefficient for heat"):
        comprehensive_energy_tce({"heat": 1.0}, {})


def test_electricity_balance():
    # load = import 100 − export 20 + PV 50 + discharge 8 − charge 10 = 128 kWh;
    # PV self-consumed = 50 − 20 = 30 kWh; exported PV = min(20, 50) = 20 kWh.
    b = electricity_balance(
        grid_import_kwh=[100.0, 0.0],
        grid_export_kwh=[20.0, 5.0],
        pv_generation_kwh=[50.0, 3.0],
        battery_charge_kwh=[10.0, 0.0],
        battery_discharge_kwh=[8.0, 2.0],
    )
    assert_allclose(b.load_kwh, [128.0, 0.0])
    assert_allclose(b.pv_self_consumed_kwh, [30.0, 0.0])
    assert_allclose(b.pv_exported_kwh, [20.0, 3.0])


def test_unmetered_is_parent_minus_children():
    # 1,000 − (400 + 550) = 50 kWh of losses and unmetered use; 900 − 950 = −50 flags an error.
    assert_allclose(unmetered_kwh([1000.0, 900.0], [[400.0, 400.0], [550.0, 550.0]]), [50, -50])
