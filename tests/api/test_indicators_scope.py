"""Indicators per tenant, building and floor, and the electricity cost (TOU energy + demand).

A toy park with two tenants, hand-computed. Day 2026-03-14 in Wuhan (UTC+8); quarter hour i
starts at 00:00 local + 15 min × i. Every meter reports each quarter hour of the day, so every
interval of the day is measured; energy is 0 except in the intervals listed.

March uses Hubei's ordinary-month TOU schedule (config/data/tariffs_hubei.yaml): critical
18–20 ×1.8, peak 16–18 & 20–24 ×1.49, flat 0–1, 7–12, 14–16 ×1, valley 1–7 & 12–14 ×0.48. The
toy tariff: flat price 0.5 CNY/kWh, demand 40 CNY/(kW·month) on the monthly 15-min maximum.

    interval (local)        tenant a (ma)  tenant b (mb)   PV   grid import
    i =  8  02:00 valley          10             –           –        10
    i = 36  09:00 flat             –             5           –         5
    i = 48  12:00 valley           –            10          10         0
    i = 64  16:00 peak             –             5           –         5
    i = 72  18:00 critical        20             –           –        30   (10 kWh losses)
    total                         30            20          10        50

Park load = import + PV = 60 kWh; grid share = 50 / 60 = 5/6, PV share = 10 / 60 = 1/6.
Tenant a also burns 2 m3 of gas at i = 8 and makes 100 units over the day.
Grid factor (Hubei 2023) 0.4044 kgCO2/kWh, residual 0.6096, electricity 0.1229 kgce/kWh,
natural gas from the profile's one heating value (GB/T 2589 Annex A gas-field gas, 35.544 MJ/m3,
meters and heating value both at 20 °C): 35.544 / 29.3076 MJ/kgce = 1.212791 kgce/m3 (GB/T
2589-2020 §3) and 35.544e-6 TJ × 15.3 tC/TJ × 0.99 × 44/12 × 1000 = 1.974078 kgCO2/m3 (national
accounting guidelines 2015). Before issue 13 the table's 1.2143 kgce/m3 and 2.162 kgCO2/m3 (from
38.93 MJ/Nm3) were mixed: ~9 % too much CO2 per tce.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from analytics.instruments import Instrument, month_index
from api.main import create_app
from config.accounting import AccountingProfile
from config.registry import ParkRegistry, Registry, load_registry
from config.settings import Settings
from services.energy import Scope, UnknownScopeError
from services.indicators import Indicator, park_indicators, scope_indicators
from services.rollup import write_day_rollups
from store import TELEMETRY, EmbeddedStore, Point

DAY = "2026-03-14"
MONTH = "2026-03"
T0 = 1_773_417_600 * 10**9  # 2026-03-14T00:00:00+08:00
Q = 15 * 60 * 10**9
N = 96
URL = "/api/v1/parks/toy"
HAN = re.compile(r"[\u4e00-\u9fff]")

TOY = """\
park:
  id: toy
  name: Toy park
  latitude: 30.5
  longitude: 114.3
  grid_region: central_china
  province: hubei
  tariff:
    flat_price_cny_per_kwh: 0.5
    demand_charge_cny_per_kw_month: 40
    demand_basis: {basis}
    {contracted}
    source: test tariff
    year: 2026
tenants:
  - {{id: a, name: Tenant A}}
  - {{id: b, name: Tenant B}}
buildings:
  - id: b1
    name: Building one
    floors:
      - {{number: 1, tenant: a, area_m2: 1000}}
      - {{number: 2, tenant: b, area_m2: 500}}
devices:
  - {{id: grid, kind: electricity_meter, role: grid_connection}}
  - {{id: pv, kind: pv_inverter, role: pv, parent: grid, capacity_kw: 100}}
  - {{id: ma, kind: electricity_meter, role: load, parent: grid, building: b1, floor: 1, tenant: a}}
  - {{id: mb, kind: electricity_meter, role: load, parent: grid, building: b1, floor: 2, tenant: b}}
  - {{id: gas-a, kind: gas_meter, role: gas, building: b1, floor: 1, tenant: a}}
  - {{id: prod-a, kind: production_counter, role: production, building: b1, floor: 1, tenant: a}}
"""

LHV = 35.544  # MJ/m3 at 20 °C, the profile's default
EF_GAS = LHV * 1e-6 * 15.3 * 0.99 * 44 / 12 * 1000  # kgCO2/m3 = 1.974078
EF_GRID, EF_RESIDUAL = 0.4044, 0.6096  # kgCO2 per kWh
K_ELEC, K_GAS = 0.1229, LHV / 29.3076  # kgce per kWh, per m3 (1.212791)
FLAT, DEMAND = 0.5, 40.0  # CNY/kWh, CNY/(kW·month)
GRID_SHARE, PV_SHARE = 50 / 60, 10 / 60


def toy_registry(tmp_path: Path, basis: str = "max_demand", contracted: str = "") -> ParkRegistry:
    path = tmp_path / "toy.yaml"
    path.write_text(TOY.format(basis=basis, contracted=contracted))
    return load_registry(path).parks["toy"]


def write(store: EmbeddedStore, device: str, field: str, steps: dict[int, float]) -> None:
    """Register readings at T0 + i·15 min, i = 0 … 96, growing by ``steps[i]`` in interval i."""
    value, points = 100.0, []
    for i in range(N + 1):
        points.append(
            Point(TELEMETRY, {"park": "toy", "device": device}, {field: value}, T0 + i * Q)
        )
        value += steps.get(i, 0.0)
    store.write(points)


@pytest.fixture
def toy(tmp_path: Path) -> Iterator[tuple[EmbeddedStore, ParkRegistry]]:
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    write(store, "grid", "energy_kwh", {8: 10, 36: 5, 64: 5, 72: 30})
    write(store, "pv", "energy_kwh", {48: 10})
    write(store, "ma", "energy_kwh", {8: 10, 72: 20})
    write(store, "mb", "energy_kwh", {36: 5, 48: 10, 64: 5})
    write(store, "gas-a", "volume_m3", {8: 2})
    write(store, "prod-a", "produced_units", dict.fromkeys(range(N), 100 / N))
    yield store, toy_registry(tmp_path)
    store.close()


def by_name(indicators: tuple[Indicator, ...]) -> dict[str, Indicator]:
    return {i.name: i for i in indicators}


def value(ind: Indicator) -> float:
    assert ind.value is not None, f"{ind.name}: {ind.reason}"
    return ind.value


def test_tenant_energy_carbon_intensities_and_cost(toy):
    store, park = toy
    ind = by_name(scope_indicators(store, park, DAY, scope=Scope("tenant", "a")).indicators)
    # energy: 30 kWh × 0.1229 + 2 m3 × 1.212791 kgce = 3.687 + 2.425582 = 6.112582 kgce
    tce = 30 * K_ELEC / 1000 + 2 * K_GAS / 1000
    assert value(ind["comprehensive_energy_tce"]) == pytest.approx(0.006112582)
    assert ind["comprehensive_energy_tce"].detail["electricity_kwh"] == pytest.approx(30.0)
    assert ind["comprehensive_energy_tce"].detail["natural_gas_m3"] == pytest.approx(2.0)
    # Scope 1: 2 m3 × 1.974078 = 3.948156 kgCO2
    s1 = 2 * EF_GAS / 1000
    assert value(ind["scope1_tco2"]) == pytest.approx(0.003948156)
    # Scope 2: the tenant's share of grid power, 30 × 5/6 = 25 kWh, × 0.4044 = 10.11 kgCO2
    s2 = 25 * EF_GRID / 1000
    assert value(ind["scope2_location_tco2"]) == pytest.approx(0.01011)
    assert ind["scope2_location_tco2"].detail["grid_kwh"] == pytest.approx(25.0)
    assert ind["scope2_location_tco2"].detail["park_grid_share"] == pytest.approx(GRID_SHARE)
    # market-based, no instrument retired for the tenant: 25 × 0.6096 = 15.24 kgCO2
    assert value(ind["scope2_market_tco2"]) == pytest.approx(0.01524)
    assert value(ind["tco2_per_tce"]) == pytest.approx((s1 + s2) / tce)
    # renewable electricity: its PV share 30 × 1/6 = 5 kWh of 30
    assert value(ind["renewable_electricity_share"]) == pytest.approx(5 / 30)
    # floor 1: 1000 m2 → (3.948156 + 10.11) kgCO2 / 1000 m2 = 0.014058156
    assert value(ind["kgco2_per_m2"]) == pytest.approx(0.014058156)
    # 100 units: 14.058156 kgCO2 / 100 = 0.00014058156 tCO2/unit; 6.112582 kgce / 100
    assert value(ind["tco2_per_unit"]) == pytest.approx(0.00014058156)
    assert value(ind["kgce_per_unit"]) == pytest.approx(0.06112582)
    # own peak: 20 kWh in a quarter hour = 80 kW
    assert value(ind["peak_demand_kw"]) == pytest.approx(80.0)
    # TOU: valley 10 × 0.48 × 0.5 = 2.4; critical 20 × 1.8 × 0.5 = 18 → 20.4 CNY
    tou = ind["tou_energy_cost_cny"]
    assert value(tou) == pytest.approx(20.4)
    assert tou.detail["valley_cny"] == pytest.approx(2.4)
    assert tou.detail["critical_cny"] == pytest.approx(18.0)
    assert tou.detail["ordinary_months:critical_price_cny_per_kwh"] == pytest.approx(0.9)
    assert tou.detail["ordinary_months:valley_price_cny_per_kwh"] == pytest.approx(0.24)
    assert [f.name for f in tou.factors] == ["flat_price_cny_per_kwh", "hubei_ci_tou_2024_draft"]
    assert tou.factors[0].source == "test tariff"
    # a day: no demand charge (billed per month); the total is the energy cost
    assert ind["demand_charge_cny"].value is None
    assert "per month" in (ind["demand_charge_cny"].reason or "")
    assert ind["demand_charge_cny"].detail["max_demand_kw:2026-03"] == pytest.approx(80.0)
    assert value(ind["electricity_cost_cny"]) == pytest.approx(20.4)
    # the park's microgrid is not split to a tenant
    for name in (
        "self_sufficiency_rate",
        "battery_round_trip_efficiency",
        "pv_specific_yield_kwh_per_kw",
    ):
        assert ind[name].value is None
        assert "park-level" in (ind[name].reason or "")


def test_other_tenant_floor_and_building(toy):
    store, park = toy
    b = by_name(scope_indicators(store, park, DAY, scope=Scope("tenant", "b")).indicators)
    assert value(b["comprehensive_energy_tce"]) == pytest.approx(20 * K_ELEC / 1000)  # 0.002458
    assert value(b["scope1_tco2"]) == 0.0  # no fuel meter
    # 20 × 5/6 = 16.667 kWh × 0.4044 = 6.74 kgCO2; over 500 m2 = 0.01348 kgCO2/m2
    assert value(b["scope2_location_tco2"]) == pytest.approx(0.00674)
    assert value(b["kgco2_per_m2"]) == pytest.approx(0.01348)
    assert b["tco2_per_unit"].value is None  # no production counter
    # TOU: flat 5 × 0.5 = 2.5; valley 10 × 0.48 × 0.5 = 2.4; peak 5 × 1.49 × 0.5 = 3.725
    assert value(b["tou_energy_cost_cny"]) == pytest.approx(8.625)
    floor = by_name(scope_indicators(store, park, DAY, scope=Scope("floor", "b1", 2)).indicators)
    assert value(floor["tou_energy_cost_cny"]) == pytest.approx(8.625)
    assert value(floor["kgco2_per_m2"]) == pytest.approx(0.01348)
    # building b1: ma + mb = 50 kWh, gas 2 m3, 1500 m2:
    # (50 × 5/6 × 0.4044 + 2 × 1.974078) kgCO2 / 1500 m2 = (16.85 + 3.948156) / 1500 = 0.0138654
    bld = by_name(scope_indicators(store, park, DAY, scope=Scope("building", "b1")).indicators)
    assert value(bld["kgco2_per_m2"]) == pytest.approx(0.0138654376)
    assert bld["kgco2_per_m2"].detail["area_m2"] == pytest.approx(1500.0)
    assert value(bld["tou_energy_cost_cny"]) == pytest.approx(20.4 + 8.625)


def test_park_scope_and_allocation_adds_up(toy):
    store, park = toy
    ind = by_name(park_indicators(store, park, DAY).indicators)
    # park Scope 2 = import 50 × 0.4044 = 20.22 kgCO2 = tenants' 25 + 16.667 kWh + unmetered
    # 10 × 5/6 = 8.333 kWh, all at 0.4044
    assert value(ind["scope2_location_tco2"]) == pytest.approx(0.02022)
    allocated_kwh = 25 + 50 / 3 + 10 * GRID_SHARE
    assert allocated_kwh == pytest.approx(50.0)
    # kgCO2/m2 of the park: (3.948156 + 20.22) / 1500 m2
    assert value(ind["kgco2_per_m2"]) == pytest.approx(0.024168156 / 1.5)
    # TOU of the grid import: 10 × 0.24 + 5 × 0.5 + 5 × 0.745 + 30 × 0.9 = 35.625 CNY
    assert value(ind["tou_energy_cost_cny"]) == pytest.approx(35.625)
    assert value(ind["peak_demand_kw"]) == pytest.approx(120.0)  # 30 kWh / 0.25 h
    assert value(ind["self_sufficiency_rate"]) == pytest.approx(10 / 60)


def test_demand_charge_per_month_on_each_own_peak(toy):
    store, park = toy
    # the month holds only the known day: the other intervals are missing and ignored
    a = by_name(scope_indicators(store, park, MONTH, scope=Scope("tenant", "a")).indicators)
    b = by_name(scope_indicators(store, park, MONTH, scope=Scope("tenant", "b")).indicators)
    whole = by_name(park_indicators(store, park, MONTH).indicators)
    # tenant a 80 kW × 40 = 3200; tenant b 10 kWh / 0.25 h = 40 kW × 40 = 1600; park 120 kW × 40
    assert value(a["demand_charge_cny"]) == pytest.approx(80 * DEMAND)
    assert value(b["demand_charge_cny"]) == pytest.approx(40 * DEMAND)
    assert value(whole["demand_charge_cny"]) == pytest.approx(120 * DEMAND)
    assert a["demand_charge_cny"].detail["price_cny_per_kw_month"] == DEMAND
    assert a["demand_charge_cny"].factors[0].unit == "CNY/(kW·month)"
    # total = TOU energy + demand: 20.4 + 3200
    assert value(a["electricity_cost_cny"]) == pytest.approx(20.4 + 3200)
    assert a["electricity_cost_cny"].detail["demand_cny"] == pytest.approx(3200)


def test_capacity_basis_charges_the_park_only(tmp_path, toy):
    store, _ = toy
    park = toy_registry(tmp_path, "capacity", "contracted_kw: 315")
    whole = by_name(park_indicators(store, park, MONTH).indicators)
    assert value(whole["demand_charge_cny"]) == pytest.approx(315 * DEMAND)  # one month
    a = by_name(scope_indicators(store, park, MONTH, scope=Scope("tenant", "a")).indicators)
    assert a["demand_charge_cny"].value is None
    assert "not allocated" in (a["demand_charge_cny"].reason or "")
    assert value(a["electricity_cost_cny"]) == pytest.approx(20.4)  # energy alone


def test_instruments_are_those_of_the_scope_and_profile_price_wins(toy):
    store, park = toy
    march = month_index(2026, 3)
    gec = Instrument("a-gec", "gec", 10.0, march, march + 1, march, march + 1, tenant="a")
    profile = AccountingProfile(name="toy/2026", flat_price_cny_per_kwh=1.0)
    report = scope_indicators(
        store, park, DAY, profile=profile, scope=Scope("tenant", "a"),
        instruments=lambda *_: (gec,),
    )  # fmt: skip
    ind = by_name(report.indicators)
    # tenant a bought 30 × 5/6 = 25 kWh; (25 − 10) kWh × 0.6096 = 9.144 kgCO2
    assert value(ind["scope2_market_tco2"]) == pytest.approx(0.009144)
    assert [(u.instrument_id, u.energy_kwh, u.month) for u in report.instruments] == [
        ("a-gec", pytest.approx(10.0), "2026-03")
    ]
    # tenant b holds no instrument: its Scope 2 market-based is its whole purchase, 20 × 5/6
    b = by_name(
        scope_indicators(
            store, park, DAY, scope=Scope("tenant", "b"), instruments=lambda *_: (gec,)
        ).indicators
    )
    assert value(b["scope2_market_tco2"]) == pytest.approx(20 * 5 / 6 * 0.6096 / 1000)
    # TOU at 1.0 CNY/kWh: 10 × 0.48 + 20 × 1.8 = 40.8
    assert value(ind["tou_energy_cost_cny"]) == pytest.approx(40.8)
    assert ind["tou_energy_cost_cny"].factors[0].source.startswith("accounting profile toy/2026")


def test_unknown_and_device_scopes_are_refused(toy):
    store, park = toy
    with pytest.raises(UnknownScopeError):
        scope_indicators(store, park, DAY, scope=Scope("tenant", "nope"))
    with pytest.raises(ValueError, match="not a device"):
        scope_indicators(store, park, DAY, scope=Scope("device", "ma"))


# -- the endpoint ------------------------------------------------------------------------------


async def test_indicators_asked_again_answer_from_the_kept_report_while_the_data_stand(
    toy, tmp_path
):
    # services.report_cache.ReportCache, as the city view uses it: per scope, until a roll-up
    # of a day of the period is written (the follower's pass after new readings)
    store, park = toy
    registry = Registry(parks={"toy": park}, sources={"toy": tmp_path / "toy.yaml"})
    app = create_app(settings=Settings(data_dir=tmp_path), store=store, registry=registry)
    cache = app.state.report_cache
    transport = httpx.ASGITransport(app=app)

    def tce(body: dict[str, object]) -> float:
        found = {i["name"]: i["value"] for i in body["indicators"]}  # type: ignore[attr-defined]
        return float(found["comprehensive_energy_tce"])

    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        first = await client.get(f"{URL}/indicators", params={"period": DAY})
        assert first.status_code == 200, first.text
        assert (cache.made, cache.hits) == (1, 0)
        again = await client.get(f"{URL}/indicators", params={"period": DAY})
        assert again.json() == first.json()
        assert (cache.made, cache.hits) == (1, 1)
        tenant = await client.get(f"{URL}/indicators", params={"period": DAY, "scope": "tenant:a"})
        assert tenant.json()["scope"] == "tenant:a"  # another scope, another report
        assert (cache.made, cache.hits) == (2, 1)
        # /targets of the same scope and period judges the same kept report
        targets = await client.get(f"{URL}/targets", params={"period": DAY})
        assert targets.status_code == 200, targets.text
        assert (cache.made, cache.hits) == (2, 2)
        # 100 kWh more bought at 20:00, then the day rolled up again
        write(store, "grid", "energy_kwh", {8: 10, 36: 5, 64: 5, 72: 30, 80: 100})
        write_day_rollups(store, park, start_ns=T0, end_ns=T0 + N * Q)
        after = await client.get(f"{URL}/indicators", params={"period": DAY})
        assert (cache.made, cache.hits) == (3, 2)
        # 100 kWh × 0.1229 kgce/kWh (the default profile's 当量值) more
        assert tce(after.json()) - tce(first.json()) == pytest.approx(100 * 0.1229 / 1000)


async def test_scoped_indicators_endpoint(toy, tmp_path):
    store, park = toy
    registry = Registry(parks={"toy": park}, sources={"toy": tmp_path / "toy.yaml"})
    app = create_app(settings=Settings(data_dir=tmp_path), store=store, registry=registry)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        resp = await client.get(f"{URL}/indicators", params={"period": MONTH, "scope": "tenant:a"})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["scope"] == "tenant:a"
        ind = {i["name"]: i for i in body["indicators"]}
        assert ind["tou_energy_cost_cny"]["value"] == pytest.approx(20.4)
        assert ind["demand_charge_cny"]["value"] == pytest.approx(3200.0)
        assert ind["kgco2_per_m2"]["value"] == pytest.approx(0.014058156)
        assert ind["self_sufficiency_rate"]["value"] is None
        assert ind["self_sufficiency_rate"]["reason"] == (
            "a park-level indicator: the park's PV, battery and grid connection are not split "
            "to tenant:a"
        )
        # the same reason in Chinese, from the catalogue, the tenant named in words
        assert ind["self_sufficiency_rate"]["reason_zh"] == (
            "园区级指标：园区的光伏、储能和电网接入不分摊到企业「a」"  # noqa: RUF001
        )
        assert ind["tou_energy_cost_cny"]["reason_zh"] is None
        # how each figure is made, in Chinese too (the note.* entries of the catalogue)
        assert ind["tou_energy_cost_cny"]["note_zh"] == (
            "各时段计量用电量 × 平段电价 × 所在月份与小时的峰谷分时电价系数；仅含电量电费"  # noqa: RUF001
        )
        assert ind["scope1_tco2"]["note_zh"].startswith("天然气用量 × 低位发热量")
        assert ind["self_sufficiency_rate"]["note"] is None  # park-level: no formula here
        assert ind["self_sufficiency_rate"]["note_zh"] is None
        noted = [i for i in body["indicators"] if i["note"] is not None]
        assert len(noted) > 10
        for i in noted:
            assert HAN.search(i["note_zh"]), i
            assert i["note_zh"] != i["note"], i
        resp = await client.get(f"{URL}/indicators", params={"period": MONTH})
        park_ind = {i["name"]: i for i in resp.json()["indicators"]}
        assert park_ind["pv_self_consumption_rate"]["note"] == "(PV − export) / PV"
        assert park_ind["pv_self_consumption_rate"]["note_zh"] == (
            "（光伏发电量 − 上网电量）/ 光伏发电量"  # noqa: RUF001
        )
        assert park_ind["comprehensive_energy_tce"]["note_zh"].startswith(
            "用电量 = 电网购入 − 上网 + 光伏发电，按当量值 (GB/T 2589-2020) 折标准煤；"  # noqa: RUF001
        )
        # a balance figure's note as well (/energy)
        resp = await client.get(
            f"{URL}/energy",
            params={"start": "2026-03-14T00:00:00+08:00", "end": "2026-03-15T00:00:00+08:00"},
        )
        figures = {f["name"]: f for f in resp.json()["figures"]}
        assert figures["load_kwh"]["note_zh"] == "电网购入 − 上网 + 光伏发电 + 储能放电 − 储能充电"
        assert figures["grid_import_kwh"]["note"] is figures["grid_import_kwh"]["note_zh"] is None
        for scope, status, words in (
            ("tenant:nope", 404, "unknown tenant 'nope'"),
            ("building:nope", 404, "unknown building 'nope'"),
            ("floor:b1/9", 404, "has no floor 9"),
            ("tenant:", 422, "bad scope"),
            ("floor:b1/x", 422, "bad floor scope"),
            ("device:ma", 422, "not a device"),
        ):
            got = await client.get(f"{URL}/indicators", params={"period": DAY, "scope": scope})
            assert got.status_code == status, (scope, got.text)
            assert words in got.json()["message"], got.text
