"""The park model: deterministic, conserving, plausible, and shaped by calendar, sun and weather."""

from __future__ import annotations

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import pytest

from config.registry import DeviceKind, Registry, Role, load_registry
from config.settings import DEFAULT_TOPIC_TEMPLATE
from ingest.decode import Decoder
from simulators import solar
from simulators.park import (
    DEFAULT_AZIMUTH_DEG,
    DEFAULT_TILT_DEG,
    LOSS_FRACTION,
    SOC_MAX,
    SOC_MIN,
    ParkModel,
    Tick,
)
from simulators.workdays import DayType

REGISTRY = load_registry()
PARK = REGISTRY.parks["wuhan-demo"]
ZONE = ZoneInfo("Asia/Shanghai")
H_NS = 3600 * 10**9


def at(*args: int) -> int:
    return int(datetime(*args, tzinfo=ZONE).timestamp()) * 10**9


NOON = at(2026, 6, 10, 12, 0)
MIDNIGHT = at(2026, 6, 10, 0, 30)


def run(start_ns: int, ticks: int, interval_s: float = 60.0, seed: int = 1) -> list[Tick]:
    model = ParkModel(PARK, seed=seed)
    return [model.advance(start_ns + int(i * interval_s * 1e9), interval_s) for i in range(ticks)]


def by_device(tick: Tick) -> dict[str, dict[str, float]]:
    return {r.device: dict(r.values) for r in tick.readings()}


def payload_bytes(ticks: list[Tick]) -> bytes:
    return b"\n".join(orjson.dumps(r.payload()) for t in ticks for r in t.readings())


@pytest.fixture(scope="module")
def day() -> list[Tick]:
    """A summer working day at 15-minute resolution."""
    return run(at(2026, 6, 10, 0, 15), 96, interval_s=900)


def test_same_seed_same_bytes_other_seed_differs():
    assert payload_bytes(run(NOON, 20)) == payload_bytes(run(NOON, 20))
    assert payload_bytes(run(NOON, 20)) != payload_bytes(run(NOON, 20, seed=2))


def test_every_device_reports_every_field_of_its_kind():
    for reading in run(NOON, 1)[0].readings():
        device = PARK.device(reading.device)
        assert device is not None
        assert set(reading.values) == set(device.fields)


def test_the_collector_accepts_every_normal_reading(day):
    """Simulated data without faults is never quarantined: fields, units and plausible ranges."""
    decoder = Decoder(Registry({PARK.id: PARK}, {}), topic_template=DEFAULT_TOPIC_TEMPLATE)
    year = run(at(2026, 1, 1, 0, 0), 365 * 4, interval_s=6 * 3600, seed=3)  # every season
    for tick in [*day, *year]:
        for r in tick.readings():
            topic = DEFAULT_TOPIC_TEMPLATE.format(park=PARK.id, device=r.device)
            out = decoder.decode(topic, orjson.dumps(r.payload()), tick.time_ns + H_NS)
            assert not out.rejected, out.rejected


@pytest.mark.parametrize("start", [NOON, MIDNIGHT])
def test_registers_advance_by_power_times_interval(start):
    """In each device's own units: import − export = power × interval."""
    interval_s = 60.0
    ticks = [by_device(t) for t in run(start, 4, interval_s)]
    for device in PARK.devices:
        if "power" not in device.fields or device.kind is DeviceKind.BATTERY:
            continue
        scale = {"Wh": 1000.0, "GJ": 1 / 277.777777}.get(device.unit_of("energy"), 1.0)
        per_h = {"W": 1000.0}.get(device.unit_of("power"), 1.0)
        for before, after in itertools.pairwise(ticks):
            b, a = before[device.id], after[device.id]
            delta = (
                a["energy"] - b["energy"] - (a.get("export_energy", 0) - b.get("export_energy", 0))
            )
            expected = a["power"] / per_h * interval_s / 3600 * scale
            assert delta == pytest.approx(expected, abs=2e-6 * max(1.0, scale))


def test_battery_registers_soc_and_limits(day):
    dev = PARK.device("bess-1")
    assert dev is not None
    assert dev.capacity_kwh
    assert dev.capacity_kw
    values = [by_device(t)["bess-1"] for t in day]
    for before, after in itertools.pairwise(values):
        charged = after["charge_energy"] - before["charge_energy"]
        discharged = after["discharge_energy"] - before["discharge_energy"]
        assert charged * discharged == 0  # never both in one interval
        assert after["power"] * 0.25 == pytest.approx(discharged - charged, abs=1e-5)
        assert abs(after["power"]) <= dev.capacity_kw + 1e-9
        assert SOC_MIN * 100 - 1e-6 <= after["soc"] <= SOC_MAX * 100 + 1e-6
        # stored energy changes by charge × η − discharge / η, η = √(round-trip efficiency)
        eta = np.sqrt(dev.round_trip_efficiency or 0.9)
        d_soc_kwh = (after["soc"] - before["soc"]) / 100 * dev.capacity_kwh
        assert d_soc_kwh == pytest.approx(charged * eta - discharged / eta, abs=1e-4)
    # TOU arbitrage: charges in the valley, discharges in the evening peak
    assert sum(v["power"] < 0 for v in values[4:28]) >= 3  # 01:00-07:00
    assert values[27]["soc"] == pytest.approx(SOC_MAX * 100, abs=0.5)  # full by 07:00
    assert sum(v["power"] > 0 for v in values[64:96]) > 4  # 16:00-24:00


def test_energy_is_conserved_at_every_interval(day):
    """Grid = loads + EV − PV + charge − discharge + losses; every parent = Σ children + loss."""
    assert PARK.device("tower-a-main").loss_fraction == 0.02  # type: ignore[union-attr]
    idx = {d.id: i for i, d in enumerate(PARK.devices)}
    children: dict[str, list[str]] = {}
    for d in PARK.devices:
        if d.parent is not None:
            children.setdefault(d.parent, []).append(d.id)
    grid = next(d.id for d in PARK.devices if d.role is Role.GRID_CONNECTION)
    for tick in day:
        net = tick.delta["energy"] - tick.delta["export_energy"]  # kWh for electricity meters
        for parent, kids in children.items():
            kind = PARK.device(parent).kind  # type: ignore[union-attr]
            total = 0.0
            for k in kids:
                dev = PARK.device(k)
                assert dev is not None
                i = idx[k]
                if dev.kind is DeviceKind.PV_INVERTER:
                    total -= tick.delta["energy"][i]
                elif dev.kind is DeviceKind.BATTERY:
                    total += tick.delta["charge_energy"][i] - tick.delta["discharge_energy"][i]
                elif kind is DeviceKind.WATER_METER:
                    total += tick.delta["volume"][i]
                else:
                    total += net[i]
            p = idx[parent]
            own = tick.delta["volume"][p] if kind is DeviceKind.WATER_METER else net[p]
            fraction = PARK.device(parent).loss_fraction  # type: ignore[union-attr]
            fraction = LOSS_FRACTION if fraction is None else fraction
            assert tick.loss[p] == pytest.approx(fraction * abs(total), rel=1e-9, abs=1e-12)
            assert own == pytest.approx(total + tick.loss[p], rel=1e-9, abs=1e-9)
        # the whole park at once
        leaves = [d for d in PARK.devices if d.id not in children]
        end_use = sum(
            net[idx[d.id]]
            for d in leaves
            if d.kind in (DeviceKind.ELECTRICITY_METER, DeviceKind.EV_CHARGER)
        )
        pv = sum(
            tick.delta["energy"][idx[d.id]] for d in leaves if d.kind is DeviceKind.PV_INVERTER
        )
        batt = sum(
            tick.delta["charge_energy"][idx[d.id]] - tick.delta["discharge_energy"][idx[d.id]]
            for d in leaves
            if d.kind is DeviceKind.BATTERY
        )
        electric_loss = sum(
            tick.loss[idx[p]]
            for p in children
            if PARK.device(p).kind is DeviceKind.ELECTRICITY_METER  # type: ignore[union-attr]
        )
        assert net[idx[grid]] == pytest.approx(end_use - pv + batt + electric_loss, rel=1e-9)


def test_pv_is_zero_at_night_and_within_the_clear_sky_envelope_at_noon():
    pv = [d for d in PARK.devices if d.kind is DeviceKind.PV_INVERTER]
    for tick in run(at(2026, 6, 10, 0, 0), 24 * 4, interval_s=900, seed=5):
        local = datetime.fromtimestamp(tick.time_ns / 1e9 - 450, ZONE)
        values = by_device(tick)
        for d in pv:
            power = values[d.id]["power"]
            if local.hour < 5 or local.hour >= 20:
                assert power == 0, (local, d.id)
            assert 0 <= power <= (d.capacity_kw or 0) + 1e-9
    # noon on a clear day: at most what the clear sky can give, and most of it
    for seed in range(4):
        tick = run(at(2026, 6, 21, 12, 0), 1, interval_s=60, seed=seed)[0]
        t_s = np.array([tick.time_ns / 1e9 - 30])
        zen, az, doy = solar.solar_position(t_s, PARK.park.latitude, PARK.park.longitude)
        for d in pv:
            poa = solar.plane_of_array(
                solar.clear_sky_ghi(zen), zen, az, doy,
                tilt_deg=np.array([d.tilt_deg if d.tilt_deg is not None else DEFAULT_TILT_DEG]),
                surface_azimuth_deg=np.array(
                    [d.azimuth_deg if d.azimuth_deg is not None else DEFAULT_AZIMUTH_DEG]
                ),
            )  # fmt: skip
            envelope = solar.pv_ac_power_kw(poa, 15.0, np.array([d.capacity_kw]))[0]
            power = by_device(tick)[d.id]["power"]
            assert 0.1 * envelope <= power <= envelope + 1e-9


def daily_load_kwh(day_start_ns: int, devices: list[str]) -> float:
    ticks = run(day_start_ns + 3600 * 10**9, 24, interval_s=3600, seed=11)
    idx = {d.id: i for i, d in enumerate(PARK.devices)}
    return sum(float(t.delta["energy"][idx[d]]) for t in ticks for d in devices)


def test_holidays_and_weekends_are_quieter_than_working_days():
    office = [d.id for d in PARK.devices if d.tenant in ("t03", "t11")]  # office tenants
    shifts = [d.id for d in PARK.devices if d.tenant in ("t02", "t04", "lumina")]
    workday = at(2026, 9, 29, 0, 0)  # a Tuesday
    national_day = at(2026, 10, 1, 0, 0)  # a Thursday, public holiday
    sunday = at(2026, 9, 13, 0, 0)
    for devices in (office, shifts):
        work = daily_load_kwh(workday, devices)
        assert daily_load_kwh(national_day, devices) < 0.7 * work
        assert daily_load_kwh(sunday, devices) < 0.7 * work
    # an adjusted working day (a Sunday worked to bridge the Spring Festival) runs as a workday
    adjusted = at(2026, 2, 14, 0, 0)  # Saturday 2026-02-14 is a working day
    assert run(adjusted + 12 * H_NS, 1)[0].day_type is DayType.WORKDAY
    assert run(national_day + 12 * H_NS, 1)[0].day_type is DayType.HOLIDAY
    assert run(sunday + 12 * H_NS, 1)[0].day_type is DayType.WEEKEND


def test_outdoor_temperature_follows_wuhan_seasons():
    def mean_temp(start: int) -> float:
        ticks = run(start, 24 * 7, interval_s=3600, seed=2)
        return float(np.mean([by_device(t)["env-outdoor"]["temperature"] for t in ticks]))

    january, july = mean_temp(at(2026, 1, 10, 0, 0)), mean_temp(at(2026, 7, 15, 0, 0))
    assert -5 < january < 12
    assert 24 < july < 36


def test_units_and_register_width_declared_in_the_registry_are_used():
    values = by_device(run(NOON, 1)[0])
    assert values["plant-2-main"]["power"] > 1000  # W
    assert values["water-main"]["volume"] < 1e6  # 6-digit register
