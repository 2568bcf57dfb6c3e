"""The footprint of a tenant with two products from stored readings (services/footprint.py):
a toy park whose tenant ``a`` uses 10,000 kWh and 500 m³ of gas on 15 January 2025 and makes
4,000 units of product A and 1,000 of product B."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pytest

from config.accounting import AccountingProfile
from config.registry import ParkRegistry
from services.accounting import put_profile
from services.footprint import (
    FootprintNotFoundError,
    FootprintRequestError,
    tenant_footprint,
)
from store import EmbeddedStore
from tests.indicators.toy import registry, spread, write

DAY = date(2025, 1, 15)
EXTRA = """\
  - {id: gas-a, kind: gas_meter, role: gas, building: b1, floor: 1, tenant: a}
  - {id: heat-a, kind: heat_meter, role: heat, building: b1, floor: 1, tenant: a}
  - {id: prod-a1, kind: production_counter, role: production, building: b1, floor: 1, tenant: a,
     name: Product A}
  - {id: prod-a2, kind: production_counter, role: production, building: b1, floor: 1, tenant: a,
     name: Product B}
"""


@pytest.fixture
def park(tmp_path: Path) -> ParkRegistry:
    return registry(tmp_path, extra=EXTRA)


@pytest.fixture
def store(embedded_store: EmbeddedStore) -> EmbeddedStore:
    write(embedded_store, "ma", "energy_kwh", {DAY: spread(10_000.0)})
    write(embedded_store, "gas-a", "volume_m3", {DAY: spread(500.0)})
    write(embedded_store, "heat-a", "energy_kwh", {DAY: spread(1_000.0)})
    write(embedded_store, "prod-a1", "produced_units", {DAY: spread(4_000.0)})
    write(embedded_store, "prod-a2", "produced_units", {DAY: spread(1_000.0)})
    return embedded_store


def test_two_products_by_mass(park: ParkRegistry, store: EmbeddedStore) -> None:
    """2025 consumption takes the newest footprint factors (data year 2024): electricity
    10,000 × 0.5777 = 5,777 kg, gas 500 × 2.162 = 1,081 kg, heat not purchased (the default
    profile) so not counted: 6,858 kgCO2e. By declared mass 0.5 and 2 kg/unit the two products
    weigh 2,000 kg each: 3,429 kg each → A 0.85725 kg/unit, B 3.429 kg/unit. Energy: 10,000 ×
    0.1229 + 500 × 1.2143 = 1,836.15 kgce, 918.075 each → A 0.22951875, B 0.918075 kgce/unit."""
    fp = tenant_footprint(
        store, park, "a", "2025-01", rule="mass", declared={"prod-a1": 0.5, "prod-a2": 2.0}
    )
    assert fp.period == "2025-01"
    assert [m.label for m in fp.months] == ["2025-01"]
    month = fp.months[0]
    assert month.electricity_kwh == pytest.approx(10_000.0, rel=1e-9)
    assert month.gas_m3 == pytest.approx(500.0, rel=1e-9)
    assert month.heat_kwh == 0.0
    assert not fp.heat_included
    assert fp.kgco2e[0] == pytest.approx(6_858.0, rel=1e-9)
    a, b = fp.products
    assert (a.counter, a.name, a.declared_per_unit) == ("prod-a1", "Product A", 0.5)
    assert a.footprint.total_units == pytest.approx(4_000.0)
    assert a.footprint.total_kgco2e_per_unit == pytest.approx(0.85725, rel=1e-9)
    assert b.footprint.total_kgco2e_per_unit == pytest.approx(3.429, rel=1e-9)
    assert a.footprint.total_kgce_per_unit == pytest.approx(0.22951875, rel=1e-9)
    assert b.footprint.total_kgce_per_unit == pytest.approx(0.918075, rel=1e-9)
    keys = {f.name: f for f in fp.factors}
    assert keys["electricity_footprint"].value == 0.5777
    assert keys["electricity_footprint"].year == 2024
    assert "purchased_heat_footprint" not in keys


def test_the_year_has_twelve_months_and_the_same_totals(
    park: ParkRegistry, store: EmbeddedStore
) -> None:
    fp = tenant_footprint(store, park, "a", "2025")  # by units: 0.8 / 0.2
    assert len(fp.months) == 12
    a, b = fp.products
    assert a.footprint.total_kgco2e == pytest.approx(0.8 * 6_858.0, rel=1e-9)
    assert a.footprint.total_kgco2e_per_unit == pytest.approx(6_858.0 / 5_000, rel=1e-9)
    assert b.footprint.total_kgco2e_per_unit == pytest.approx(6_858.0 / 5_000, rel=1e-9)
    assert math.isnan(a.footprint.kgco2e_per_unit[1])  # nothing made in February


def test_purchased_heat_counts_when_the_profile_says_so(
    park: ParkRegistry, store: EmbeddedStore
) -> None:
    # + 1,000 kWh × 0.0036 GJ/kWh × 110 kgCO2e/GJ = 396 kg
    put_profile(store, park, 2025, AccountingProfile(name="toy/2025", purchased_heat=True))
    fp = tenant_footprint(store, park, "a", "2025-01")
    assert fp.heat_included
    assert fp.months[0].heat_kwh == pytest.approx(1_000.0, rel=1e-9)
    assert fp.kgco2e[0] == pytest.approx(6_858.0 + 396.0, rel=1e-9)
    assert "purchased_heat_footprint" in {f.name for f in fp.factors}


def test_a_2023_month_takes_the_2023_factor(
    park: ParkRegistry, embedded_store: EmbeddedStore
) -> None:
    day = date(2023, 6, 1)
    write(embedded_store, "ma", "energy_kwh", {day: spread(1_000.0)})
    write(embedded_store, "prod-a1", "produced_units", {day: spread(100.0)})
    write(embedded_store, "prod-a2", "produced_units", {day: spread(100.0)})
    fp = tenant_footprint(embedded_store, park, "a", "2023-06")
    # 1,000 kWh × 0.6205 (公告2025年第3号) = 620.5 kg over 200 units
    assert fp.kgco2e[0] == pytest.approx(620.5, rel=1e-9)
    assert fp.products[0].footprint.total_kgco2e_per_unit == pytest.approx(3.1025, rel=1e-9)


def test_bad_requests(park: ParkRegistry, store: EmbeddedStore) -> None:
    with pytest.raises(FootprintNotFoundError, match="no tenant"):
        tenant_footprint(store, park, "zz", "2025")
    with pytest.raises(FootprintNotFoundError, match="no production counter"):
        tenant_footprint(store, park, "b", "2025")
    with pytest.raises(FootprintRequestError, match="allocation 'area'"):
        tenant_footprint(store, park, "a", "2025", rule="area")
    with pytest.raises(FootprintRequestError, match="missing: prod-a2"):
        tenant_footprint(store, park, "a", "2025", rule="value", declared={"prod-a1": 3.0})
    with pytest.raises(FootprintRequestError, match="> 0"):
        tenant_footprint(
            store, park, "a", "2025", rule="mass", declared={"prod-a1": 1.0, "prod-a2": -1.0}
        )
    with pytest.raises(FootprintRequestError):
        tenant_footprint(store, park, "a", "2025-01-15")
    with pytest.raises(FootprintRequestError):
        tenant_footprint(store, park, "a", "twenty")
