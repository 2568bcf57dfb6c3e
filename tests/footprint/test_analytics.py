"""Known-value tests of the gate-to-gate product footprint (analytics/footprint.py), with the
arithmetic written out: one month of a tenant making two products."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analytics.footprint import (
    FootprintError,
    FootprintFactors,
    allocation_shares,
    carrier_energy,
    energy_kgce,
    footprint_kgco2e,
    product_footprints,
)

# 2024 electricity footprint 0.5777 kgCO2e/kWh, PV 0.052 kgCO2e/kWh, gas combustion
# 2.162 kgCO2/m³, purchased heat 110 kgCO2/GJ = 0.396 kgCO2/kWh; standard coal 0.1229 kgce/kWh
# (当量值), 1.2143 kgce/m³, heat 0.03412 kgce/MJ = 0.122832 kgce/kWh
FACTORS = FootprintFactors(
    electricity=0.5777,
    green_electricity=0.052,
    gas=2.162,
    heat=110.0 * 0.0036,
    electricity_kgce=0.1229,
    gas_kgce=1.2143,
    heat_kgce=0.03412 * 3.6,
)
# one month: 10,000 kWh of electricity of which 2,000 kWh certified green, 500 m³ of gas,
# 1,000 kWh of purchased heat; product A 4,000 units, product B 1,000 units
ENERGY = carrier_energy([10_000.0], green_kwh=[2_000.0], gas_m3=[500.0], heat_kwh=[1_000.0])
UNITS = [[4_000.0, 1_000.0]]


def test_site_totals_by_hand() -> None:
    # 8,000 × 0.5777 = 4,621.6; 2,000 × 0.052 = 104; 500 × 2.162 = 1,081; 1,000 × 0.396 = 396
    np.testing.assert_allclose(footprint_kgco2e(ENERGY, FACTORS), [6_202.6], rtol=1e-12)
    # 10,000 × 0.1229 = 1,229; 500 × 1.2143 = 607.15; 1,000 × 0.122832 = 122.832
    np.testing.assert_allclose(energy_kgce(ENERGY, FACTORS), [1_958.982], rtol=1e-12)


@pytest.mark.parametrize(
    ("rule", "per_unit", "share_a", "co2_a", "co2_b"),
    [
        # by units: 4,000 / 5,000 = 0.8 → A 4,962.08 kg / 4,000 = 1.24052, B 1,240.52 / 1,000
        ("counter", None, 0.8, 1.24052, 1.24052),
        # by mass 0.5 and 2 kg/unit: 2,000 kg and 2,000 kg → 0.5 each → 3,101.3 kg each
        ("mass", [0.5, 2.0], 0.5, 3_101.3 / 4_000, 3.1013),
        # by value 10 and 60 CNY/unit: 40,000 and 60,000 CNY → 0.4 / 0.6
        ("value", [10.0, 60.0], 0.4, 2_481.04 / 4_000, 3_721.56 / 1_000),
    ],
)
def test_two_products_by_each_rule(
    rule: str, per_unit: list[float] | None, share_a: float, co2_a: float, co2_b: float
) -> None:
    a, b = product_footprints(ENERGY, UNITS, FACTORS, rule=rule, per_unit=per_unit)  # type: ignore[arg-type]
    assert a.share[0] == pytest.approx(share_a, rel=1e-12)
    assert b.share[0] == pytest.approx(1 - share_a, rel=1e-12)
    assert a.kgco2e_per_unit[0] == pytest.approx(co2_a, rel=1e-12)
    assert b.kgco2e_per_unit[0] == pytest.approx(co2_b, rel=1e-12)
    # nothing lost or counted twice
    assert a.total_kgco2e + b.total_kgco2e == pytest.approx(6_202.6, rel=1e-12)
    assert a.total_kgce + b.total_kgce == pytest.approx(1_958.982, rel=1e-12)
    # electricity per unit: A's share of 10,000 kWh over its 4,000 units
    assert a.kwh_per_unit[0] == pytest.approx(share_a * 10_000 / 4_000, rel=1e-12)


def test_months_allocate_separately_and_the_year_sums_them() -> None:
    """Month 1 as above; month 2 uses 5,000 kWh, no gas, and makes only product B (500 units):
    B carries all of month 2. Year, by units: A 4,962.08 kg / 4,000 units; B (1,240.52 +
    5,000 × 0.5777 = 2,888.5) / 1,500 units."""
    energy = carrier_energy([10_000.0, 5_000.0], green_kwh=[2_000.0, 0.0],
                            gas_m3=[500.0, 0.0], heat_kwh=[1_000.0, 0.0])  # fmt: skip
    a, b = product_footprints(energy, [[4_000.0, 1_000.0], [0.0, 500.0]], FACTORS)
    assert math.isnan(a.kgco2e_per_unit[1])
    assert b.share[1] == 1.0
    assert a.total_kgco2e_per_unit == pytest.approx(4_962.08 / 4_000, rel=1e-12)
    assert b.total_kgco2e_per_unit == pytest.approx((1_240.52 + 2_888.5) / 1_500, rel=1e-12)
    assert b.total_units == 1_500


def test_a_month_without_output_carries_nothing() -> None:
    shares = allocation_shares([[0.0, 0.0], [1.0, 3.0]], "counter")
    assert np.isnan(shares[0]).all()
    np.testing.assert_allclose(shares[1], [0.25, 0.75])


def test_bad_input_is_refused() -> None:
    with pytest.raises(FootprintError, match="green"):
        carrier_energy([100.0], green_kwh=[200.0])
    with pytest.raises(FootprintError, match="finite"):
        carrier_energy([math.nan])
    with pytest.raises(FootprintError, match="≥ 0"):
        allocation_shares([[-1.0, 2.0]], "counter")
    with pytest.raises(FootprintError, match="needs the declared mass"):
        allocation_shares([[1.0, 2.0]], "mass")
    with pytest.raises(FootprintError, match="> 0"):
        allocation_shares([[1.0, 2.0]], "value", per_unit=[1.0, 0.0])
    with pytest.raises(FootprintError, match="unknown allocation"):
        allocation_shares([[1.0, 2.0]], "area")  # type: ignore[arg-type]
    with pytest.raises(FootprintError, match="periods"):
        product_footprints(ENERGY, [[1.0], [2.0]], FACTORS)
