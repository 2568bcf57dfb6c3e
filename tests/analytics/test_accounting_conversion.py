"""GB/T 2589-2020 electricity conversion by method, with the standard's arithmetic shown.

当量值 (calorific value): the heat content of 1 kWh, 860 kcal (3,600 kJ), over the heat content
of 1 kgce, 7,000 kcal (29,307.6 kJ) → 0.122857 kgce/kWh, which Annex A publishes as 0.1229.
等价值 (coal equivalent): the year's national average coal consumption per kWh supplied; CEC
statistics give 303.6 gce/kWh for 2023 (config/data/coal_equivalents.yaml, evidence U).
"""

from __future__ import annotations

import typing

import pytest
from numpy.testing import assert_allclose

from analytics.energy import (
    CONVERSION_METHODS,
    ELECTRICITY_CALORIFIC_KGCE_PER_KWH,
    KJ_PER_KGCE,
    ConversionMethod,
    conversion_method_from_legacy,
    electricity_kgce_per_kwh,
    tce_from_electricity_kwh,
    tce_from_electricity_kwh_by,
)

COAL_2023_KGCE_PER_KWH = 0.3036  # CEC 2023, 303.6 gce/kWh supplied (unverified, see yaml)


def test_calorific_value_from_its_definition():
    # 860 kcal/kWh ÷ 7,000 kcal/kgce = 0.122857 → published 0.1229 (4 decimals).
    assert round(860 / 7000, 4) == ELECTRICITY_CALORIFIC_KGCE_PER_KWH
    # In kJ: 1 kgce = 7,000 kcal × 4.1868 kJ/kcal = 29,307.6 kJ; 3,600 / 29,307.6 = 0.12283,
    # within 0.06 % of the published coefficient.
    assert_allclose(7000 * 4.1868, KJ_PER_KGCE)
    assert_allclose(3600 / KJ_PER_KGCE, 0.1229, rtol=6e-4)


def test_one_gwh_under_both_methods():
    # 1,000,000 kWh × 0.1229 kgce/kWh = 122,900 kgce = 122.9 tce (当量值).
    assert_allclose(tce_from_electricity_kwh_by("calorific_value", 1e6), 122.9)
    # 1,000,000 kWh × 0.3036 kgce/kWh = 303.6 tce (等价值, 2023) — 2.47× the calorific figure.
    tce = tce_from_electricity_kwh_by(
        "coal_equivalent", [1e6, 0.0], coal_equivalent_kgce_per_kwh=COAL_2023_KGCE_PER_KWH
    )
    assert_allclose(tce, [303.6, 0.0])
    assert_allclose(electricity_kgce_per_kwh("calorific_value"), 0.1229)


def test_new_method_agrees_with_the_legacy_function():
    # The legacy "equivalent_value" is 当量值: same 0.1229 kgce/kWh.
    assert_allclose(
        tce_from_electricity_kwh_by("calorific_value", 5e5),
        tce_from_electricity_kwh(5e5, method="equivalent_value"),
    )
    assert conversion_method_from_legacy("equivalent_value") == "calorific_value"
    assert conversion_method_from_legacy("coal_consumption") == "coal_equivalent"
    assert conversion_method_from_legacy("coal_equivalent") == "coal_equivalent"
    with pytest.raises(ValueError, match="unknown electricity conversion method 'kcal'"):
        conversion_method_from_legacy("kcal")


def test_the_literal_is_closed_and_listed():
    assert set(typing.get_args(ConversionMethod)) == set(CONVERSION_METHODS)
    assert CONVERSION_METHODS == ("calorific_value", "coal_equivalent")


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="coal_equivalent_kgce_per_kwh"):
        tce_from_electricity_kwh_by("coal_equivalent", 1.0)
    with pytest.raises(ValueError, match="unknown electricity conversion method"):
        tce_from_electricity_kwh_by("equivalent_value", 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be > 0"):
        electricity_kgce_per_kwh("coal_equivalent", coal_equivalent_kgce_per_kwh=0.0)


def test_nan_stays_nan():
    out = tce_from_electricity_kwh_by("calorific_value", [float("nan"), 1000.0])
    assert_allclose(out, [float("nan"), 0.1229], equal_nan=True)
