"""Natural gas from one heating value, with the arithmetic and the sources shown.

Defaults of the national accounting guidelines (《工业其他行业企业温室气体排放核算方法与报告指南
(试行)》, 2015; GB/T 32151.34-2024 Annex C): NCV 389.31 GJ/10⁴Nm³ = 38.931 MJ/Nm³, carbon
content 0.0153 tC/GJ = 15.3 tC/TJ, oxidation 0.99. GB/T 2589-2020: 1 kgce = 29,307.6 kJ.
GB/T 2589 Annex A gas-field gas: 35,544 kJ/m³ → 1.2143 kgce/m³ (= 8,500 kcal / 7,000 kcal).
"""

from __future__ import annotations

import pytest
from numpy.testing import assert_allclose

from analytics.gas import (
    convert_heating_value,
    convert_volume,
    kgce_per_m3_from_lhv,
    kgco2_per_m3_from_lhv,
    tce_from_gas_volume,
    tco2_from_gas_volume,
    tco2_per_tce_of_gas,
)


def test_co2_factor_reproduces_the_guideline_default():
    # 389.31 GJ/10⁴Nm³ × 0.0153 tC/GJ × 0.99 × 44/12 = 21.622 tCO2/10⁴Nm³ = 2.1622 kgCO2/Nm³.
    assert_allclose(
        kgco2_per_m3_from_lhv(38.931), 389.31 * 0.0153 * 0.99 * 44 / 12 / 10, rtol=1e-12
    )
    assert_allclose(kgco2_per_m3_from_lhv(38.931), 2.162, atol=5e-4)


def test_kgce_from_heating_value():
    # 35,544 kJ/m³ ÷ 29,307.6 kJ/kgce = 1.21279 kgce/m³; Annex A's 1.2143 is 8,500/7,000 kcal,
    # 0.12 % apart (the table rounds the heating value to 8,500 kcal).
    assert_allclose(kgce_per_m3_from_lhv(35.544), 35544 / 29307.6)
    assert_allclose(kgce_per_m3_from_lhv(35.544), 1.2143, rtol=1.5e-3)
    # 38.931 MJ/Nm³ ÷ 29.3076 = 1.32836 kgce/Nm³ (Annex A oil-field gas, 1.3300).
    assert_allclose(kgce_per_m3_from_lhv(38.931), 1.32836, rtol=1e-5)


def test_co2_per_tce_does_not_depend_on_the_heating_value():
    # 15.3 tC/TJ × 0.99 × 44/12 × 29.3076e-3 TJ/tce = 1.6277 tCO2/tce.
    expected = 15.3 * 0.99 * 44 / 12 * 29.3076e-3
    assert_allclose(tco2_per_tce_of_gas(), expected, rtol=1e-12)
    assert_allclose(expected, 1.628, atol=5e-4)
    for lhv in (31.0, 35.544, 38.931):
        assert_allclose(kgco2_per_m3_from_lhv(lhv) / kgce_per_m3_from_lhv(lhv), expected)


def test_todays_mixed_constants_are_about_nine_percent_high():
    # 2.162 kgCO2/m³ (38.93 MJ) ÷ 1.2143 kgce/m³ (35.54 MJ) = 1.7804 tCO2/tce, vs 1.6277.
    mixed = 2.162 / 1.2143
    assert_allclose(mixed, 1.7804, atol=1e-4)
    assert_allclose(mixed / tco2_per_tce_of_gas() - 1, 0.0938, atol=1e-3)


def test_reference_conditions():
    # Ideal gas at 101.325 kPa: V20 = V0 × 293.15 / 273.15; 1,000 Nm³ = 1,073.22 m³ at 20 °C.
    assert_allclose(convert_volume(1000.0, "0C", "20C"), 1000 * 293.15 / 273.15)
    assert_allclose(convert_volume(1073.2198, "20C", "0C"), 1000.0, rtol=1e-7)
    # The same gas per larger volume: 38.931 MJ/Nm³ × 273.15 / 293.15 = 36.275 MJ/m³ at 20 °C.
    assert_allclose(convert_heating_value(38.931, "0C", "20C"), 36.27495, rtol=1e-6)


def test_volume_metered_at_20c_with_heating_value_per_nm3():
    # 1,000 m³ at 20 °C = 1000 × 273.15/293.15 = 931.776 Nm³;
    # × 38.931 MJ/Nm³ = 36,275.0 MJ; ÷ 29,307.6 MJ/tce = 1.23774 tce;
    # × 15.3e-6 tC/MJ × 0.99 × 44/12 = 2.01464 tCO2.
    nm3 = 1000 * 273.15 / 293.15
    tce = tce_from_gas_volume(
        1000.0, volume_reference="20C", lhv_mj_per_m3=38.931, lhv_reference="0C"
    )
    assert_allclose(tce, nm3 * 38.931 / 29307.6)
    assert_allclose(tce, 1.23774, rtol=1e-5)
    tco2 = tco2_from_gas_volume(
        1000.0, volume_reference="20C", lhv_mj_per_m3=38.931, lhv_reference="0C"
    )
    assert_allclose(tco2, nm3 * 38.931 * 15.3e-6 * 0.99 * 44 / 12)
    # Treating the 20 °C m³ as Nm³ would overstate both by 293.15/273.15 − 1 = 7.3 %.
    wrong = tce_from_gas_volume(
        1000.0, volume_reference="0C", lhv_mj_per_m3=38.931, lhv_reference="0C"
    )
    assert_allclose(wrong / tce - 1, 20 / 273.15, rtol=1e-9)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="lhv_mj_per_m3"):
        kgce_per_m3_from_lhv(0.0)
    with pytest.raises(ValueError, match="oxidation"):
        kgco2_per_m3_from_lhv(38.931, oxidation=1.2)
    with pytest.raises(ValueError, match="carbon_tc_per_tj"):
        kgco2_per_m3_from_lhv(38.931, carbon_tc_per_tj=-1.0)
    with pytest.raises(ValueError, match="reference condition '15C'"):
        convert_volume(1.0, "15C", "0C")  # type: ignore[arg-type]
