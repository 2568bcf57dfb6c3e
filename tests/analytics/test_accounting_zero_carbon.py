"""The 910 core indicator: band from the projected annual tce, and both GB/T 2589 methods.

Bands (发改环资[2025]910号 annex, as in config/data/targets.yaml): ≤ 0.20 tCO2/tce for
200,000 ≤ tce < 1,000,000; ≤ 0.30 from 1,000,000. 当量值 0.1229 kgce/kWh (GB/T 2589-2020
Annex A); 等价值 2023: 0.3036 kgce/kWh (CEC, unverified); Hubei 2023 0.4044 kgCO2/kWh.
"""

from __future__ import annotations

import math

import pytest
from numpy.testing import assert_allclose

from analytics.zero_carbon import BandTable, band_threshold, core_indicator_by_method

BANDS_910 = BandTable(
    min_annual_tce=(200_000.0, 1_000_000.0),
    max_annual_tce=(1_000_000.0, None),
    threshold=(0.20, 0.30),
)
COAL_2023 = 0.3036
HUBEI_2023 = 0.4044


def test_band_edges():
    assert math.isnan(band_threshold(150_000.0, BANDS_910))  # no published band below 20万
    assert band_threshold(200_000.0, BANDS_910) == 0.20  # min inclusive
    assert band_threshold(999_999.0, BANDS_910) == 0.20
    assert band_threshold(1_000_000.0, BANDS_910) == 0.30  # max exclusive
    assert math.isnan(band_threshold(float("nan"), BANDS_910))


def test_current_year_uses_the_projection_not_year_to_date():
    # End of June: 120,000 tce so far, projected 240,000 for the year. Year-to-date is in no
    # band; the projection is in the 0.20 band.
    assert math.isnan(band_threshold(120_000.0, BANDS_910))
    assert band_threshold(240_000.0, BANDS_910) == 0.20


def test_band_table_is_checked():
    with pytest.raises(ValueError, match="one entry each"):
        BandTable((0.0,), (1.0, 2.0), (0.1,))
    with pytest.raises(ValueError, match="overlap"):
        BandTable((0.0, 5.0), (10.0, None), (0.1, 0.2))
    with pytest.raises(ValueError, match="empty"):
        BandTable((5.0,), (5.0,), (0.1,))


def test_grid_powered_hubei_park_under_both_methods():
    # 1,000,000,000 kWh a year from the Hubei grid, nothing else:
    # tCO2 = 1e9 × 0.4044 / 1000 = 404,400 t.
    # 当量值: 1e9 × 0.1229 / 1000 = 122,900 tce → 3.2905 tCO2/tce, below every band (no verdict).
    # 等价值: 1e9 × 0.3036 / 1000 = 303,600 tce → 1.3320 tCO2/tce, band 0.20 → not met.
    v = core_indicator_by_method(
        tco2=404_400.0,
        electricity_kwh=1e9,
        other_tce=0.0,
        coal_equivalent_kgce_per_kwh=COAL_2023,
        bands=BANDS_910,
    )
    cal, coal = v["calorific_value"], v["coal_equivalent"]
    assert_allclose([cal.energy_tce, coal.energy_tce], [122_900.0, 303_600.0])
    assert_allclose([cal.tco2_per_tce, coal.tco2_per_tce], [3.2905, 1.3320], atol=1e-4)
    assert math.isnan(cal.threshold)
    assert cal.met is None
    assert coal.threshold == 0.20
    assert coal.met is False
    assert cal.tco2 == coal.tco2 == 404_400.0


def test_mostly_certified_green_park_passes_only_at_coal_equivalent():
    # 95 % of the 1e9 kWh certified green: grey 5e7 × 0.4044 / 1000 = 20,220 t, plus gas
    # 5,000 tce burned at 1.6277 tCO2/tce = 8,138.6 t → 28,358.6 t.
    # 当量值: 122,900 + 5,000 = 127,900 tce → 0.22172; the year projects to 127,900: no band.
    # 等价值: 303,600 + 5,000 = 308,600 tce → 0.09189 ≤ 0.20 → met.
    tco2 = 20_220.0 + 5_000 * 1.6277
    v = core_indicator_by_method(
        tco2=tco2,
        electricity_kwh=1e9,
        other_tce=5_000.0,
        coal_equivalent_kgce_per_kwh=COAL_2023,
        bands=BANDS_910,
    )
    assert_allclose(v["calorific_value"].tco2_per_tce, tco2 / 127_900)
    assert_allclose(v["coal_equivalent"].tco2_per_tce, tco2 / 308_600)
    assert v["coal_equivalent"].met is True
    assert v["calorific_value"].met is None


def test_band_from_projected_year_for_a_partial_period():
    # June alone: 1e8 kWh, tCO2 3,000 t. The year projects to 1.2e9 kWh:
    # 等价值 annual 1.2e9 × 0.3036 / 1000 = 364,320 tce → band 0.20;
    # June: 3,000 / 30,360 = 0.09881 → met.
    v = core_indicator_by_method(
        tco2=3_000.0,
        electricity_kwh=1e8,
        other_tce=0.0,
        coal_equivalent_kgce_per_kwh=COAL_2023,
        bands=BANDS_910,
        annual_electricity_kwh=1.2e9,
        annual_other_tce=0.0,
    )
    coal = v["coal_equivalent"]
    assert_allclose(coal.annual_tce, 364_320.0)
    assert_allclose(coal.tco2_per_tce, 3_000 / 30_360)
    assert coal.threshold == 0.20
    assert coal.met is True
    # Without the projection the month alone (30,360 tce) would be in no band.
    alone = core_indicator_by_method(
        tco2=3_000.0,
        electricity_kwh=1e8,
        other_tce=0.0,
        coal_equivalent_kgce_per_kwh=COAL_2023,
        bands=BANDS_910,
    )
    assert alone["coal_equivalent"].met is None
