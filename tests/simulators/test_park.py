"""The simple park model: deterministic, registers agree with power, energy balances at the grid."""

from __future__ import annotations

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from config.registry import DeviceKind, load_registry
from simulators.park import LOSS_FRACTION, ParkModel

PARK = load_registry().parks["wuhan-demo"]
NOON = int(datetime(2026, 6, 10, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()) * 10**9
MIDNIGHT = int(datetime(2026, 6, 10, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()) * 10**9


def run(start_ns: int, ticks: int, interval_s: float = 60.0, seed: int = 1):
    model = ParkModel(PARK, seed=seed)
    return [model.step(start_ns + int(i * interval_s * 1e9), interval_s) for i in range(ticks)]


def by_device(readings):
    return {r.device: r.values for r in readings}


def test_same_seed_same_readings_other_seed_differs():
    assert run(NOON, 5) == run(NOON, 5)
    assert run(NOON, 5) != run(NOON, 5, seed=2)


def test_every_device_reports_every_field_of_its_kind():
    (tick,) = run(NOON, 1)
    for reading in tick:
        device = PARK.device(reading.device)
        assert device is not None
        assert set(reading.values) == set(device.fields)


@pytest.mark.parametrize("start", [NOON, MIDNIGHT])
def test_registers_advance_by_power_times_interval(start):
    interval_s = 60.0
    ticks = [by_device(t) for t in run(start, 3, interval_s)]
    for device in PARK.devices:
        if "energy" not in device.fields or device.units:
            continue  # plant-2-main reports in W/Wh; covered below
        for before, after in itertools.pairwise(ticks):
            delta_kwh = after[device.id]["energy"] - before[device.id]["energy"]
            assert delta_kwh == pytest.approx(
                after[device.id]["power"] * interval_s / 3600, abs=1e-5
            )


def test_units_declared_in_the_registry_are_used():
    (tick,) = run(NOON, 1)
    values = by_device(tick)
    # plant-2-main is declared in W and Wh: a single-storey plant draws ~10^4-10^5 W
    assert values["plant-2-main"]["power"] > 1000


def test_grid_meter_equals_its_children_plus_losses():
    for tick in run(NOON, 10):
        v = by_device(tick)
        children = [d for d in PARK.devices if d.parent == "grid-main"]
        net_kw = 0.0
        for child in children:
            p = v[child.id]["power"]
            if child.id == "plant-2-main":
                p /= 1000  # W → kW
            if child.kind is DeviceKind.PV_INVERTER:
                p = -p
            net_kw += p if child.kind is not DeviceKind.BATTERY else -p
        assert v["grid-main"]["power"] == pytest.approx(net_kw * (1 + LOSS_FRACTION), rel=1e-6)


def test_pv_is_zero_at_night_and_producing_at_noon():
    night = by_device(run(MIDNIGHT, 1)[0])
    noon = by_device(run(NOON, 1)[0])
    for device in PARK.devices:
        if device.kind is DeviceKind.PV_INVERTER:
            assert night[device.id]["power"] == 0
            assert 0 < noon[device.id]["power"] <= (device.capacity_kw or 0)
