"""Energy balances and indicators: services.energy, services.indicators and their endpoints.

The known day is 2026-03-14 in Wuhan (Asia/Shanghai, UTC+8): it runs from 2026-03-13T16:00Z to
2026-03-14T16:00Z. Every register gets a reading each quarter hour of that day, so every interval
is measured, and its energy per interval is chosen to give round daily totals.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import pytest

from analytics.instruments import Instrument, month_index
from api.main import create_app
from config.accounting import AccountingProfile
from config.registry import load_registry
from config.settings import Settings
from services.energy import (
    Scope,
    ScopeError,
    UnknownScopeError,
    energy_balance,
    parse_scope,
    scope_devices,
)
from services.indicators import PeriodError, local_period, park_indicators
from store import TELEMETRY, EmbeddedStore, Point

REGISTRY = load_registry()
PARK = REGISTRY.parks["wuhan-demo"]
DAY = "2026-03-14"
T0 = 1_773_417_600 * 10**9  # 2026-03-14T00:00:00+08:00 = 2026-03-13T16:00:00Z
Q = 15 * 60 * 10**9  # a quarter hour [ns]
N = 96  # quarter hours in the day
URL = "/api/v1/parks/wuhan-demo"

# Grid import: 10 kWh per quarter hour, except 30 kWh at 18:00 and 18:15 local (critical peak):
# 94 × 10 + 2 × 30 = 1000 kWh.
GRID = [30.0 if i in (72, 73) else 10.0 for i in range(N)]


def write(
    store: EmbeddedStore, device: str, field: str, per_interval: float | Sequence[float]
) -> None:
    """Register readings at T0 + i·15 min, i = 0 … 96, from 1000, growing by ``per_interval``."""
    steps = [per_interval] * N if isinstance(per_interval, float | int) else list(per_interval)
    value, points = 1000.0, []
    for i in range(N + 1):
        points.append(
            Point(TELEMETRY, {"park": "wuhan-demo", "device": device}, {field: value}, T0 + i * Q)
        )
        if i < N:
            value += steps[i]
    store.write(points)


def daily(total: float) -> float:
    return total / N


@pytest.fixture
def store(tmp_path):
    s = EmbeddedStore(tmp_path / "store.sqlite3")
    yield s
    s.close()


@pytest.fixture
def park_day(store):
    """The whole demo park metered for one day (export register absent: an import-only meter).

    grid 1000 kWh; PV 200 + 120 + 80 = 400 kWh; battery charge 100, discharge 90 kWh;
    tower-a-main 300 kWh over 24 floors of 12 kWh (288); plant-1 400, plant-2 300 kWh;
    ev-bank 200 kWh over 8 chargers of 24 kWh (192); gas 50 m3; heat 500 kWh;
    water-main 30 m3 with water-plant-1 (under it) 10 m3; the four production counters 960
    units each.
    """
    write(store, "grid-main", "energy_kwh", GRID)
    write(store, "pv-plant-1-a", "energy_kwh", daily(200))
    write(store, "pv-plant-1-b", "energy_kwh", daily(120))
    write(store, "pv-plant-2-a", "energy_kwh", daily(80))
    write(store, "bess-1", "charge_energy_kwh", daily(100))
    write(store, "bess-1", "discharge_energy_kwh", daily(90))
    write(store, "tower-a-main", "energy_kwh", daily(300))
    for floor in range(1, 25):
        write(store, f"tower-a-f{floor:02d}", "energy_kwh", daily(12))
    write(store, "plant-1-main", "energy_kwh", daily(400))
    write(store, "plant-2-main", "energy_kwh", daily(300))
    write(store, "ev-bank", "energy_kwh", daily(200))
    for ev in range(1, 9):
        write(store, f"ev-{ev:02d}", "energy_kwh", daily(24))
    write(store, "gas-boiler", "volume_m3", daily(50))
    write(store, "heat-tower-a", "energy_kwh", daily(500))
    write(store, "water-main", "volume_m3", daily(30))
    write(store, "water-plant-1", "volume_m3", daily(10))
    for counter in ("prod-chipcore", "prod-lumina", "prod-tower-a-f04", "prod-tower-a-f05"):
        write(store, counter, "produced_units", 10.0)
    return store


def client_for(store, tmp_path) -> httpx.AsyncClient:
    app = create_app(settings=Settings(data_dir=tmp_path), store=store, registry=REGISTRY)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def day_params(**extra: object) -> dict[str, object]:
    return {"start": "2026-03-14T00:00:00+08:00", "end": "2026-03-15T00:00:00+08:00", **extra}


def figures(body: dict) -> dict[str, dict]:
    return {f["name"]: f for f in body["figures"]}


# -- scopes --------------------------------------------------------------------------------------


def test_parse_scope():
    assert parse_scope("park") == Scope("park")
    assert parse_scope("building:tower-a") == Scope("building", "tower-a")
    assert parse_scope("floor:tower-a/3") == Scope("floor", "tower-a", 3)
    assert str(parse_scope("floor:tower-a/3")) == "floor:tower-a/3"
    assert parse_scope("tenant:t01") == Scope("tenant", "t01")
    assert parse_scope("device:grid-main") == Scope("device", "grid-main")
    for bad in ("", "parks", "building:", "floor:tower-a", "floor:tower-a/x", "site:x"):
        with pytest.raises(ScopeError):
            parse_scope(bad)


def test_scope_devices_and_unknown_scopes():
    tenant = {d.id for d in scope_devices(PARK, Scope("tenant", "chipcore"))}
    assert {"plant-1-main", "gas-boiler", "water-plant-1"} <= tenant
    assert "pv-plant-1-a" not in tenant  # on the plant's roof, but not assigned to the tenant
    for scope in (
        Scope("building", "nope"),
        Scope("floor", "tower-a", 99),
        Scope("tenant", "nope"),
        Scope("device", "nope"),
    ):
        with pytest.raises(UnknownScopeError):
            scope_devices(PARK, scope)


# -- balances ------------------------------------------------------------------------------------


def test_park_balance_of_a_known_day(park_day):
    bal = energy_balance(park_day, PARK, Scope("park"), start_ns=T0, end_ns=T0 + N * Q)
    total = {f.name: f.total() for f in bal.figures}
    assert total["grid_import_kwh"] == pytest.approx(1000.0)
    assert total["pv_generation_kwh"] == pytest.approx(400.0)
    assert total["battery_charge_kwh"] == pytest.approx(100.0)
    assert total["battery_discharge_kwh"] == pytest.approx(90.0)
    assert total["ev_charging_kwh"] == pytest.approx(192.0)  # the 8 chargers
    # load = import − export + PV + discharge − charge = 1000 − 0 + 400 + 90 − 100
    assert total["load_kwh"] == pytest.approx(1390.0)
    assert total["pv_self_consumption_kwh"] == pytest.approx(400.0)  # nothing exported
    assert total["gas_m3"] == pytest.approx(50.0)
    assert total["heat_kwh"] == pytest.approx(500.0)
    assert total["water_m3"] == pytest.approx(30.0)  # water-main only: its child is inside it
    # unmetered = load − Σ lowest consumption meters = 1390 − (24 × 12 + 400 + 300 + 8 × 24)
    assert total["unmetered_kwh"] == pytest.approx(1390.0 - 1180.0)
    assert total["unmetered_kwh:tower-a-main"] == pytest.approx(300.0 - 288.0)
    assert total["unmetered_kwh:ev-bank"] == pytest.approx(200.0 - 192.0)
    export = bal.figure("grid_export_kwh")
    assert export is not None
    assert export.absent
    assert all(f.completeness_pct() == 100.0 for f in bal.figures if not f.absent)


async def test_energy_endpoint_park_by_hour_and_day(park_day, tmp_path):
    async with client_for(park_day, tmp_path) as client:
        resp = await client.get(f"{URL}/energy", params=day_params(every="day"))
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["scope"] == "park"
        assert body["start"] == "2026-03-13T16:00:00.000Z"
        assert body["end"] == "2026-03-14T16:00:00.000Z"
        fig = figures(body)
        (day,) = fig["load_kwh"]["periods"]
        assert day["label"] == DAY
        assert day["value"] == pytest.approx(1390.0)
        assert day["completeness_pct"] == 100.0
        assert fig["grid_export_kwh"]["periods"][0]["value"] is None  # never reported, not 0
        assert fig["grid_export_kwh"]["total"] is None

        hourly = figures(
            (await client.get(f"{URL}/energy", params=day_params(every="hour"))).json()
        )
        hours = hourly["grid_import_kwh"]["periods"]
        assert len(hours) == 24
        assert hours[18]["label"] == "2026-03-14T18:00+08:00"
        assert hours[18]["value"] == pytest.approx(30 + 30 + 10 + 10)
        assert hours[0]["value"] == pytest.approx(40.0)


async def test_scopes_take_the_highest_meters_only(park_day, tmp_path):
    async with client_for(park_day, tmp_path) as client:

        async def get(scope: str) -> dict[str, dict]:
            resp = await client.get(f"{URL}/energy", params=day_params(scope=scope))
            assert resp.status_code == 200, resp.text
            return figures(resp.json())

        tower = await get("building:tower-a")
        # tower-a-main (300), not tower-a-main + its 24 floors (300 + 288)
        assert tower["electricity_kwh"]["total"] == pytest.approx(300.0)
        assert tower["electricity_kwh"]["devices"] == ["tower-a-main"]
        assert tower["heat_kwh"]["total"] == pytest.approx(500.0)
        floor = await get("floor:tower-a/3")
        assert floor["electricity_kwh"]["total"] == pytest.approx(12.0)
        assert floor["electricity_kwh"]["devices"] == ["tower-a-f03"]
        tenant = await get("tenant:chipcore")
        assert tenant["electricity_kwh"]["total"] == pytest.approx(400.0)
        assert tenant["gas_m3"]["total"] == pytest.approx(50.0)
        assert tenant["water_m3"]["total"] == pytest.approx(10.0)
        plant = await get("building:plant-1")
        assert plant["pv_generation_kwh"]["total"] == pytest.approx(320.0)  # its two inverters
        assert plant["electricity_kwh"]["total"] == pytest.approx(400.0)
        battery = await get("device:bess-1")
        assert battery["charge_energy_kwh"]["total"] == pytest.approx(100.0)
        assert battery["discharge_energy_kwh"]["total"] == pytest.approx(90.0)


async def test_local_day_boundaries(store, tmp_path):
    # 10 kWh per quarter hour from 23:00 to 24:00 local on 03-14, then 1 kWh per quarter hour
    # to 01:00 on 03-15. 23:30 local is 15:30Z: the same UTC date as 00:30 local on 03-15
    # (16:30Z), yet they belong to different local days.
    start = T0 + 92 * Q  # 2026-03-14T23:00+08:00
    value, points = 0.0, []
    for i in range(9):
        points.append(
            Point(
                TELEMETRY,
                {"park": "wuhan-demo", "device": "tower-a-f05"},
                {"energy_kwh": value},
                start + i * Q,
            )
        )
        value += 10.0 if i < 4 else 1.0
    store.write(points)
    async with client_for(store, tmp_path) as client:
        params = {
            "start": "2026-03-14T00:00:00+08:00",
            "end": "2026-03-16T00:00:00+08:00",
            "every": "day",
            "scope": "device:tower-a-f05",
        }
        body = (await client.get(f"{URL}/energy", params=params)).json()
        days = figures(body)["energy_kwh"]["periods"]
        assert [d["label"] for d in days] == ["2026-03-14", "2026-03-15"]
        assert days[0]["value"] == pytest.approx(40.0)
        assert days[1]["value"] == pytest.approx(4.0)
        assert days[0]["completeness_pct"] == pytest.approx(100 * 4 / 96)  # only 4 of 96 measured


def test_export_register_enters_load_and_self_consumption(store):
    write(store, "grid-main", "energy_kwh", daily(960))
    # 0.5 kWh exported each quarter hour (48 kWh); PV 2 kWh each (192 kWh)
    write(store, "grid-main", "export_energy_kwh", 0.5)
    write(store, "pv-plant-1-a", "energy_kwh", 2.0)
    write(store, "pv-plant-1-b", "energy_kwh", 0.0)
    write(store, "pv-plant-2-a", "energy_kwh", 0.0)
    write(store, "bess-1", "charge_energy_kwh", 0.0)
    write(store, "bess-1", "discharge_energy_kwh", 0.0)
    bal = energy_balance(store, PARK, Scope("park"), start_ns=T0, end_ns=T0 + N * Q)
    total = {f.name: f.total() for f in bal.figures}
    assert total["grid_export_kwh"] == pytest.approx(48.0)
    assert total["load_kwh"] == pytest.approx(960.0 - 48.0 + 192.0)
    assert total["pv_self_consumption_kwh"] == pytest.approx(192.0 - 48.0)


def test_a_silent_meter_makes_its_figures_missing_not_zero(store):
    write(store, "grid-main", "energy_kwh", 10.0)  # PV and battery never report
    bal = energy_balance(store, PARK, Scope("park"), start_ns=T0, end_ns=T0 + N * Q)
    load = bal.figure("load_kwh")
    assert load is not None
    assert not load.known()
    assert load.completeness_pct() == 0.0


# -- indicators ----------------------------------------------------------------------------------


# natural gas from one heating value: 35.544 MJ/m3 (GB/T 2589 Annex A, the profile default)
K_GAS = 35.544 / 29.3076  # kgce/m3, GB/T 2589-2020 §3
EF_GAS = 35.544e-6 * 15.3 * 0.99 * 44 / 12 * 1000  # kgCO2/m3, national guidelines 2015


def test_local_period():
    day = local_period("2026-03-14", "Asia/Shanghai")
    assert (day.kind, day.start_ns, day.end_ns) == ("day", T0, T0 + N * Q)
    month = local_period("2026-03", "Asia/Shanghai")
    assert month.kind == "month"
    assert (month.end_ns - month.start_ns) // Q == 31 * N
    assert local_period("2026", "Asia/Shanghai").label == "2026"
    for bad in ("2026-13", "26-03", "2026-02-30", "2026/03", "march"):
        with pytest.raises(PeriodError):
            local_period(bad, "Asia/Shanghai")


def test_indicators_of_a_known_day(park_day):
    report = park_indicators(
        park_day, PARK, DAY, profile=AccountingProfile(flat_price_cny_per_kwh=0.6)
    )
    ind = {i.name: i for i in report.indicators}
    assert report.regions == ("CN-HB", "CN-CENTRAL", "CN")

    def value(name: str) -> float:
        v = ind[name].value
        assert v is not None, ind[name].reason
        return v

    # electricity = import − export + PV = 1000 + 400 = 1400 kWh at 0.1229 kgce/kWh;
    # gas 50 m3 at 35.544 MJ/m3 / 29.3076 MJ/kgce (the profile's heating value, GB/T 2589);
    # heat meters not counted (internal by default)
    tce = 1400 * 0.1229 / 1000 + 50 * K_GAS / 1000
    assert value("comprehensive_energy_tce") == pytest.approx(tce)  # 0.232775
    assert ind["comprehensive_energy_tce"].completeness_pct == 100.0
    assert {f.name for f in ind["comprehensive_energy_tce"].factors} >= {
        "electricity_equivalent",
        "natural_gas_lhv",
    }
    scope1 = 50 * EF_GAS / 1000  # 0.0987 tCO2
    assert value("scope1_tco2") == pytest.approx(scope1)
    # Hubei 2023 grid factor, the latest published by 2026: 0.4044 kgCO2/kWh
    scope2 = 1000 * 0.4044 / 1000
    assert value("scope2_location_tco2") == pytest.approx(scope2)
    (grid_factor,) = ind["scope2_location_tco2"].factors
    assert (grid_factor.region, grid_factor.year, grid_factor.value) == ("CN-HB", 2023, 0.4044)
    assert value("scope2_market_tco2") == pytest.approx(1000 * 0.6096 / 1000)  # no instruments
    assert value("tco2_per_tce") == pytest.approx((scope1 + scope2) / tce)  # ≈ 2.2017
    # clean = PV self-consumed 400 kWh at 0.1229 kgce/kWh over all tce
    assert value("clean_energy_share") == pytest.approx(400 * 0.1229 / 1000 / tce)
    assert value("renewable_share") == pytest.approx(400 * 0.1229 / 1000 / tce)
    assert value("renewable_electricity_share") == pytest.approx(400 / 1400)
    assert value("pv_self_consumption_rate") == pytest.approx(1.0)
    assert value("self_sufficiency_rate") == pytest.approx(400 / 1390)
    assert value("renewable_penetration") == pytest.approx(400 / 1390)
    assert value("peak_demand_kw") == pytest.approx(30 / 0.25)  # 30 kWh in a quarter hour
    assert value("load_factor") == pytest.approx((1000 / 96) / 30)
    assert value("battery_equivalent_full_cycles") == pytest.approx(90 / 500)
    assert value("battery_round_trip_efficiency") == pytest.approx(90 / 100)
    # final yield on the demo arrays' DC nameplate dc_kwp (IEC 61724-1 P0), not their AC rating
    assert value("pv_specific_yield_kwh_per_kw") == pytest.approx(400 / (440 + 440 + 330))
    # March, ordinary months: critical 18–20 (6 × 10 + 2 × 30 = 120 kWh), peak 16–18 & 20–24
    # (24 × 10), flat 0–1, 7–12, 14–16 (32 × 10), valley 1–7, 12–14 (32 × 10);
    # 120 × 1.8 + 240 × 1.49 + 320 × 1 + 320 × 0.48 = 1047.2 kWh at the flat price
    tou = ind["tou_energy_cost_cny"]
    assert tou.detail["critical_kwh"] == pytest.approx(120.0)
    assert tou.detail["peak_kwh"] == pytest.approx(240.0)
    assert tou.detail["ratio_weighted_kwh"] == pytest.approx(1047.2)
    assert value("tou_energy_cost_cny") == pytest.approx(1047.2 * 0.6)


def test_profile_choices_change_the_indicators(park_day):
    profile = AccountingProfile(
        electricity_method="coal_equivalent", gas_is_clean=True, purchased_heat=True
    )
    march = month_index(2026, 3)
    gec = Instrument("g", "gec", 500.0, march, march + 1, march, march + 1)  # 0.5 GEC
    report = park_indicators(park_day, PARK, DAY, profile=profile, instruments=lambda *_: (gec,))
    ind = {i.name: i for i in report.indicators}
    # coal consumption 0.3036 kgce/kWh (2023); heat 500 kWh × 3.6 MJ/kWh × 0.03412 kgce/MJ
    tce_e, tce_gas = 1400 * 0.3036 / 1000, 50 * K_GAS / 1000
    tce_heat = 500 * 3.6 * 0.03412 / 1000
    assert ind["comprehensive_energy_tce"].value == pytest.approx(tce_e + tce_gas + tce_heat)
    heat_tco2 = 500 * 0.0036 * 0.11  # purchased heat 0.11 tCO2/GJ
    assert ind["scope2_location_tco2"].value == pytest.approx(0.4044 + heat_tco2)
    # 0.5 GEC = 500 kWh green: (1000 − 500) × 0.6096 / 1000
    assert ind["scope2_market_tco2"].value == pytest.approx(500 * 0.6096 / 1000 + heat_tco2)
    assert ind["renewable_electricity_share"].value == pytest.approx((400 + 500) / 1400)
    # clean = PV 400 + green 500 kWh of electricity, and the gas
    clean = (900 * 0.3036 / 1000 + tce_gas) / (tce_e + tce_gas + tce_heat)
    assert ind["clean_energy_share"].value == pytest.approx(clean)


def test_indicators_without_data_are_null_with_a_reason(store):
    report = park_indicators(store, PARK, DAY)
    for ind in report.indicators:
        assert ind.value is None, ind.name
        assert ind.reason, ind.name


async def test_indicators_endpoint_and_errors(park_day, tmp_path):
    async with client_for(park_day, tmp_path) as client:
        resp = await client.get(f"{URL}/indicators", params={"period": DAY})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["kind"] == "day"
        assert body["start"] == "2026-03-13T16:00:00.000Z"
        # the demo park's registry profile (config/parks/demo.yaml), named in the answer
        assert body["profile"]["name"] == "wuhan-demo/default"
        assert body["profile"]["electricity_method"] == "calorific_value"
        assert body["profile"]["source"] == "registry"
        ind = {i["name"]: i for i in body["indicators"]}
        # gec_count is no longer read: instruments come from the store (issue 13)
        assert ind["scope2_market_tco2"]["value"] == pytest.approx(1000 * 0.6096 / 1000)
        # 1000 kWh imported × Hubei 2023 0.4044 kgCO2/kWh
        assert ind["scope2_location_tco2"]["value"] == pytest.approx(1000 * 0.4044 / 1000)
        # no flat price given: the demo park's registry tariff, 0.65 CNY/kWh (an example value)
        assert ind["tou_energy_cost_cny"]["value"] == pytest.approx(1047.2 * 0.65)
        assert ind["tou_energy_cost_cny"]["factors"][0]["name"] == "flat_price_cny_per_kwh"
        factor = ind["scope2_location_tco2"]["factors"][0]
        assert factor["source"].startswith("MEE/NBS")
        assert factor["year"] == 2023

        for path, params, status in (
            ("/api/v1/parks/nowhere/indicators", {"period": DAY}, 404),
            ("/api/v1/parks/nowhere/energy", {}, 404),
            (f"{URL}/energy", {"scope": "building:nope"}, 404),
            (f"{URL}/energy", {"scope": "floor:tower-a/99"}, 404),
            (f"{URL}/energy", {"scope": "tenant:nope"}, 404),
            (f"{URL}/energy", {"scope": "device:nope"}, 404),
            (f"{URL}/energy", {"scope": "bogus"}, 422),
            (f"{URL}/energy", {"scope": "floor:tower-a/x"}, 422),
            (f"{URL}/energy", {"every": "week"}, 422),
            (
                f"{URL}/energy",
                {"start": "2020-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
                422,
            ),
            (f"{URL}/indicators", {"period": "2026-13"}, 422),
            (f"{URL}/indicators", {"period": "26-03"}, 422),
            (f"{URL}/indicators", {"period": DAY, "method": "magic"}, 422),
            # retired: instruments come from the ledger, choices from the accounting profile
            (f"{URL}/indicators", {"period": DAY, "gec_count": 1}, 422),
            (f"{URL}/indicators", {"period": DAY, "gas_is_clean": "true"}, 422),
            (f"{URL}/indicators", {"period": DAY, "method": "equivalent_value"}, 422),
        ):
            got = await client.get(path, params=params)
            assert got.status_code == status, (path, params, got.text)


def test_production_units_are_never_added_across_tenants(park_day):
    # each of the 4 counters makes 10 units per 15 min: 960 a day, per tenant, never summed
    bal = energy_balance(park_day, PARK, Scope("park"), start_ns=T0, end_ns=T0 + N * Q)
    production = {f.name: f for f in bal.figures if f.name.startswith("production_")}
    assert set(production) == {
        "production_produced_units:chipcore",
        "production_produced_units:lumina",
        "production_produced_units:t04",
        "production_produced_units:t05",
    }
    for figure in production.values():
        assert figure.total() == pytest.approx(960.0)
        assert figure.unit == "units"
    tenant = energy_balance(
        park_day, PARK, Scope("tenant", "chipcore"), start_ns=T0, end_ns=T0 + N * Q
    )
    own = [f for f in tenant.figures if f.name.startswith("production_")]
    assert [f.name for f in own] == ["production_produced_units"]  # one tenant: no suffix


async def test_indicators_of_a_tenant_of_the_demo_park(park_day, tmp_path):
    async with client_for(park_day, tmp_path) as client:
        resp = await client.get(
            f"{URL}/indicators", params={"period": DAY, "scope": "tenant:chipcore"}
        )
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["scope"] == "tenant:chipcore"
        ind = {i["name"]: i for i in body["indicators"]}
    # plant-1-main 400 kWh, gas-boiler 50 m3: 400 × 0.1229 + 50 × K_GAS kgce
    tce = 400 * 0.1229 / 1000 + 50 * K_GAS / 1000
    assert ind["comprehensive_energy_tce"]["value"] == pytest.approx(tce)
    # its share of the park's grid power: 400 × import 1000 / load 1390 kWh
    grid_kwh = 400 * 1000 / 1390
    scope2 = grid_kwh * 0.4044 / 1000
    assert ind["scope2_location_tco2"]["value"] == pytest.approx(scope2)
    assert ind["scope1_tco2"]["value"] == pytest.approx(50 * EF_GAS / 1000)
    # plant-1 floor 1: 12,000 m2; 960 units made in the day
    carbon = 50 * EF_GAS / 1000 + scope2
    assert ind["kgco2_per_m2"]["value"] == pytest.approx(1000 * carbon / 12000)
    assert ind["tco2_per_unit"]["value"] == pytest.approx(carbon / 960)
    assert ind["kgce_per_unit"]["value"] == pytest.approx(1000 * tce / 960)
    # flat 400/96 kWh per quarter hour: 8 critical, 24 peak, 32 flat, 32 valley hours' quarters
    # (2, 6, 8, 8 hours) at 0.65 CNY/kWh × 1.8, 1.49, 1, 0.48
    per_q = 400 / 96
    tou = per_q * 0.65 * (8 * 1.8 + 24 * 1.49 + 32 * 1 + 32 * 0.48)
    assert ind["tou_energy_cost_cny"]["value"] == pytest.approx(tou)
    assert ind["battery_round_trip_efficiency"]["value"] is None  # the park's battery
