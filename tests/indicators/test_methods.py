"""GB/T 2589-2020 both electricity methods on a scope, the 910 core indicator under both, the
grid-factor rule, Scope 2 net or gross, and the EV-charging boundary, through the real
pipeline (store → ledger → balance → indicators).

Known values from each standard's own definitions:

- 当量值 (calorific value), GB/T 2589-2020 §3: 1 kWh = 860 kcal, 1 kgce = 7,000 kcal, so
  860 / 7,000 = 0.122857 kgce/kWh, which Annex A publishes as 0.1229 kgce/kWh.
- 等价值 (coal-equivalent value): the year's national average coal consumption of power
  supplied; 2023: 303.6 gce/kWh (China Electricity Council) = 0.3036 kgce/kWh.
- Hubei grid 2023 average factor 0.4044 kgCO2/kWh, Central China 0.5271, national 0.5306
  (MEE/NBS 2023 factors, announced 2025).
- The 910 core indicator 单位能耗碳排放 = tCO2 / tce (发改环资[2025]910号 annex).
"""

from __future__ import annotations

from datetime import date

import pytest

from config.accounting import AccountingProfile, Boundary
from services.energy import Scope
from services.indicators import Indicator, park_indicators, scope_indicators
from store import EmbeddedStore
from tests.indicators import toy

DAY = date(2026, 3, 10)
K_CV = 860 / 7000  # kgce/kWh, 当量值 by definition; the standard publishes it rounded
K_CV_PUBLISHED = 0.1229  # kgce/kWh, GB/T 2589-2020 Annex A
K_CE_2023 = 303.6 / 1000  # kgce/kWh, 等价值 2023 (CEC: 303.6 gce/kWh)
EF_HUBEI, EF_CENTRAL, EF_CN = 0.4044, 0.5271, 0.5306  # kgCO2/kWh, 2023


def by_name(report_indicators: tuple[Indicator, ...]) -> dict[str, Indicator]:
    return {i.name: i for i in report_indicators}


def value(ind: Indicator) -> float:
    assert ind.value is not None, f"{ind.name}: {ind.reason}"
    return ind.value


@pytest.fixture
def plain(tmp_path):
    """1,000 kWh from the grid in the day: tenant a 600 kWh, tenant b 400 kWh; no PV, no gas."""
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    toy.write(store, "grid", "energy_kwh", {DAY: toy.spread(1000.0)})
    toy.write(store, "ma", "energy_kwh", {DAY: toy.spread(600.0)})
    toy.write(store, "mb", "energy_kwh", {DAY: toy.spread(400.0)})
    return store, toy.registry(tmp_path)


def test_both_methods_on_a_tenant(plain):
    store, park = plain
    assert pytest.approx(K_CV_PUBLISHED, abs=5e-5) == K_CV  # the published rounding
    tenant = Scope("tenant", "a")
    cv = scope_indicators(store, park, DAY.isoformat(), scope=tenant)
    ce = scope_indicators(
        store,
        park,
        DAY.isoformat(),
        scope=tenant,
        profile=AccountingProfile(name="toy/ce", electricity_method="coal_equivalent"),
    )
    i_cv, i_ce = by_name(cv.indicators), by_name(ce.indicators)
    # 600 kWh × 0.1229 kgce/kWh = 73.74 kgce; × 0.3036 = 182.16 kgce
    assert value(i_cv["comprehensive_energy_tce"]) == pytest.approx(600 * K_CV_PUBLISHED / 1000)
    assert value(i_ce["comprehensive_energy_tce"]) == pytest.approx(600 * K_CE_2023 / 1000)
    # the detail gives both, whichever the profile chose
    for i in (i_cv, i_ce):
        d = i["comprehensive_energy_tce"].detail
        assert d["tce_calorific_value"] == pytest.approx(0.07374)
        assert d["tce_coal_equivalent"] == pytest.approx(0.18216)
    # 910 core indicator: 600 kWh × 0.4044 kgCO2/kWh = 242.64 kgCO2 over each method's tce:
    # 0.24264 / 0.07374 = 3.29048 (当量值), 0.24264 / 0.18216 = 1.33201 (等价值)
    for i in (i_cv, i_ce):
        assert value(i["tco2_per_tce_calorific_value"]) == pytest.approx(3.290480, rel=1e-6)
        assert value(i["tco2_per_tce_coal_equivalent"]) == pytest.approx(1.332016, rel=1e-6)
    assert value(i_cv["tco2_per_tce"]) == pytest.approx(3.290480, rel=1e-6)
    assert value(i_ce["tco2_per_tce"]) == pytest.approx(1.332016, rel=1e-6)
    # without instruments the location-based definition reads the same
    assert value(i_ce["tco2_per_tce_location"]) == pytest.approx(1.332016, rel=1e-6)
    assert "当量值" in (i_cv["tco2_per_tce"].note or "")
    assert "等价值" in (i_ce["tco2_per_tce"].note or "")
    assert cv.profile.name == "toy/default"
    assert ce.profile.name == "toy/ce"


@pytest.mark.parametrize(
    ("rule", "ef"), [("province", EF_HUBEI), ("region", EF_CENTRAL), ("national", EF_CN)]
)
def test_grid_factor_rule(plain, rule, ef):
    store, park = plain
    profile = AccountingProfile(grid_factor=rule)
    ind = by_name(park_indicators(store, park, DAY.isoformat(), profile=profile).indicators)
    assert value(ind["scope2_location_tco2"]) == pytest.approx(1000 * ef / 1000)
    (factor,) = ind["scope2_location_tco2"].factors
    assert factor.value == ef


def test_fixed_grid_factor(plain):
    store, park = plain
    profile = AccountingProfile(
        grid_factor="fixed", fixed_grid_factor_key="grid_excl_market_nonfossil"
    )
    ind = by_name(park_indicators(store, park, DAY.isoformat(), profile=profile).indicators)
    # the national factor excluding market-traded non-fossil power, 2023: 0.6096 kgCO2/kWh
    assert value(ind["scope2_location_tco2"]) == pytest.approx(0.6096)


@pytest.fixture
def exporting(tmp_path):
    """Quarter hour 10: 100 kWh imported (tenant a 80, EV charging 20). Quarter hour 20: 50 kWh
    imported and 20 kWh exported in the same quarter hour (tenant b 30 kWh net)."""
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    toy.write(store, "grid", "energy_kwh", {DAY: {10: 100.0, 20: 50.0}})
    toy.write(store, "grid", "export_energy_kwh", {DAY: {20: 20.0}})
    toy.write(store, "ma", "energy_kwh", {DAY: {10: 80.0}})
    toy.write(store, "mb", "energy_kwh", {DAY: {20: 30.0}})
    toy.write(store, "ev", "energy_kwh", {DAY: {10: 20.0}})
    extra = "  - {id: ev, kind: ev_charger, role: ev_charging, parent: grid}\n"
    return store, toy.registry(tmp_path, extra=extra)


def test_scope2_gross_or_net(exporting):
    store, park = exporting
    gross = by_name(park_indicators(store, park, DAY.isoformat()).indicators)
    net = by_name(
        park_indicators(
            store, park, DAY.isoformat(), profile=AccountingProfile(scope2_basis="net")
        ).indicators
    )
    # gross: 150 kWh imported; net: max(100 − 0, 0) + max(50 − 20, 0) = 130 kWh (per interval,
    # GHG Protocol / the profile's net basis: export never offsets another period's import)
    assert gross["scope2_location_tco2"].detail["grid_kwh"] == pytest.approx(150.0)
    assert net["scope2_location_tco2"].detail["grid_kwh"] == pytest.approx(130.0)
    assert value(net["scope2_location_tco2"]) == pytest.approx(130 * EF_HUBEI / 1000)
    # comprehensive energy nets export either way: 150 − 20 = 130 kWh
    assert net["comprehensive_energy_tce"].detail["electricity_kwh"] == pytest.approx(130.0)


def test_ev_charging_outside_the_boundary(exporting):
    store, park = exporting
    profile = AccountingProfile(boundary=Boundary(ev_charging=False))
    ind = by_name(park_indicators(store, park, DAY.isoformat(), profile=profile).indicators)
    # electricity 130 − 20 kWh of EV charging = 110 kWh
    assert ind["comprehensive_energy_tce"].detail["electricity_kwh"] == pytest.approx(110.0)
    # purchased 150 kWh less EV charging's pro-rata share of the load: 150 × (1 − 20/130)
    s2 = ind["scope2_location_tco2"]
    assert s2.detail["grid_kwh"] == pytest.approx(150 * 110 / 130)
    assert s2.detail["ev_charging_excluded_kwh"] == pytest.approx(20.0)
    # public areas cannot be told apart in the registry: stated, not excluded
    assert s2.detail["boundary_public_areas_supported"] == 0.0
    # tenant a has no EV charger: unchanged
    a = by_name(
        scope_indicators(
            store, park, DAY.isoformat(), scope=Scope("tenant", "a"), profile=profile
        ).indicators
    )
    assert a["comprehensive_energy_tce"].detail["electricity_kwh"] == pytest.approx(80.0)


@pytest.fixture
def solar(tmp_path):
    """The grid supplies 800 kWh and on-site PV 200 kWh, all used on site (tenant a 1,000)."""
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    toy.write(store, "grid", "energy_kwh", {DAY: toy.spread(800.0)})
    toy.write(store, "pv", "energy_kwh", {DAY: toy.spread(200.0)})
    toy.write(store, "ma", "energy_kwh", {DAY: toy.spread(1000.0)})
    extra = "  - {id: pv, kind: pv_inverter, role: pv, parent: grid, capacity_kw: 100}\n"
    return store, toy.registry(tmp_path, extra=extra)


def test_self_consumed_pv_is_green_only_while_its_certificates_are_kept(solar):
    store, park = solar
    kept = by_name(park_indicators(store, park, DAY.isoformat()).indicators)
    sold = by_name(
        park_indicators(
            store, park, DAY.isoformat(), profile=AccountingProfile(pv_certificates="sold")
        ).indicators
    )
    # kept: 200 of 1,000 kWh renewable; sold: the attribute went with the certificate (GHG
    # Protocol Scope 2 Guidance 2015, Quality Criteria 2), so none
    assert value(kept["renewable_electricity_share"]) == pytest.approx(0.2)
    assert value(sold["renewable_electricity_share"]) == pytest.approx(0.0)
    # market-based: kept 800 × 0.6096; sold (800 + 200) × 0.6096 kgCO2
    assert value(kept["scope2_market_tco2"]) == pytest.approx(0.48768)
    assert value(sold["scope2_market_tco2"]) == pytest.approx(0.6096)
    # 910 core: kept 800 × 0.4044 / (1,000 × 0.1229); sold 1,000 × 0.4044 / (1,000 × 0.1229)
    assert value(kept["tco2_per_tce"]) == pytest.approx(800 * EF_HUBEI / (1000 * K_CV_PUBLISHED))
    assert value(sold["tco2_per_tce"]) == pytest.approx(EF_HUBEI / K_CV_PUBLISHED)
