"""Natural gas tce and CO2 from one heating value and one reference condition, through the
pipeline.

- GB/T 2589-2020 §3: 1 kgce = 29,307.6 kJ, so k [kgce/m³] = LHV [MJ/m³] / 29.3076.
- 《工业其他行业企业温室气体排放核算方法与报告指南(试行)》(NDRC 2015) defaults: NCV 389.31
  GJ/10⁴Nm³ = 38.931 MJ/Nm³, carbon content 15.3 tC/TJ, oxidation 0.99; EF = NCV × CC × OF ×
  44/12 = 38.931e-6 TJ × 15.3 × 0.99 × 44/12 t = 2.16219e-3 tCO2/Nm³.
- Reference conditions: Nm³ at 0 °C, the meters' m³ at 20 °C, both 101.325 kPa; ideal gas at
  equal pressure: V₀ = V₂₀ × 273.15 / 293.15.
"""

from __future__ import annotations

from datetime import date

import pytest

from config.accounting import AccountingProfile, GasSupply
from services.energy import Scope
from services.indicators import scope_indicators
from store import EmbeddedStore
from tests.indicators import toy

DAY = date(2026, 3, 10)
NCV_NM3 = 38.931  # MJ/Nm³
CC, OF = 15.3, 0.99  # tC/TJ, –


@pytest.fixture
def gas(tmp_path):
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    toy.write(store, "gas-a", "volume_m3", {DAY: toy.spread(100.0)})  # 100 m³ at 20 °C
    toy.write(store, "grid", "energy_kwh", {DAY: toy.spread(10.0)})
    toy.write(store, "ma", "energy_kwh", {DAY: toy.spread(10.0)})
    extra = "  - {id: gas-a, kind: gas_meter, role: gas, building: b1, floor: 1, tenant: a}\n"
    return store, toy.registry(tmp_path, extra=extra)


def test_gas_tce_and_co2_from_one_heating_value(gas):
    store, park = gas
    supply = GasSupply(supplier="pipeline", lhv_mj_per_m3=NCV_NM3, reference="0C",
                       meter_reference="20C", source="the guidelines' default NCV")  # fmt: skip
    profile = AccountingProfile(gas=supply)
    report = scope_indicators(store, park, DAY.isoformat(), scope=Scope("tenant", "a"),
                              profile=profile)  # fmt: skip
    ind = {i.name: i for i in report.indicators}
    nm3 = 100 * 273.15 / 293.15  # 93.1776 Nm³
    tce = nm3 * NCV_NM3 / 29.3076 / 1000  # 0.123771 tce
    tco2 = nm3 * NCV_NM3 * 1e-6 * CC * OF * 44 / 12  # 0.201468 tCO2
    assert ind["comprehensive_energy_tce"].detail["natural_gas"] == pytest.approx(tce, rel=1e-9)
    assert ind["scope1_tco2"].value == pytest.approx(tco2, rel=1e-9)
    # CO2 per tce of gas no longer depends on the heating value: CC × OF × 44/12 × 29.3076e-3
    assert tco2 / tce == pytest.approx(CC * OF * 44 / 12 * 29.3076e-3)  # 1.6277
    # the table's mixed pair read 2.162 / 1.2143 = 1.780 tCO2/tce, 9.4 % high
    assert 2.162 / 1.2143 / (tco2 / tce) == pytest.approx(1.0937, abs=1e-3)
    names = {f.name for f in ind["scope1_tco2"].factors}
    assert {"natural_gas_lhv", "natural_gas_carbon_content", "natural_gas_oxidation"} <= names
    lhv = next(f for f in ind["scope1_tco2"].factors if f.name == "natural_gas_lhv")
    assert (lhv.value, lhv.region) == (NCV_NM3, "supplier:pipeline")
