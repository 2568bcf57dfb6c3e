"""A seeded park model driven by the registry: every device's readings at each tick.

Deliberately simple for now (a later issue makes it realistic), but physically consistent:

- leaf load meters follow a daily working-hours shape with autocorrelated noise;
- PV follows the sun's daily arc (zero at night) scaled to each inverter's capacity;
- the battery charges around midday and discharges in the evening within its limits;
- EV chargers run sessions during the day;
- a meter with sub-meters reads the sum of its children (PV and battery discharge reduce it) plus
  1 % losses, so the grid connection equals loads − PV − battery discharge + battery charge;
- every cumulative register advances by exactly power × interval, so registers and instantaneous
  power agree.

Values are produced in canonical units (kW, kWh, m3 …) and converted to each device's declared
units and register multiplier when the payload is built.
"""

from __future__ import annotations

import math
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from config.registry import Device, DeviceKind, ParkRegistry
from config.units import UNITS

__all__ = ["LOSS_FRACTION", "ParkModel", "Reading"]

LOSS_FRACTION = 0.01  # distribution losses between a parent meter and its children [-]
_HOURS_PER_NS = 1 / 3.6e12


@dataclass(frozen=True, slots=True)
class Reading:
    """One device's payload at one instant: field → value in the device's own units."""

    device: str
    time_ms: int
    values: Mapping[str, float]

    def payload(self) -> dict[str, float | int]:
        """The JSON object a device publishes."""
        return {"ts": self.time_ms, **self.values}


@dataclass
class _State:
    registers: dict[str, float] = field(default_factory=dict)  # canonical units
    noise: float = 0.0
    soc_kwh: float = 0.0
    session_left_kwh: float = 0.0


class ParkModel:
    """Advance a park tick by tick; ``step(time_ns, interval_s)`` returns every device's reading."""

    def __init__(self, park: ParkRegistry, *, seed: int = 0) -> None:
        self.park = park
        self.rng = np.random.default_rng(seed)
        self.zone = zoneinfo.ZoneInfo(park.park.timezone)
        self.children: dict[str, list[Device]] = {}
        for dev in park.devices:
            if dev.parent is not None:
                self.children.setdefault(dev.parent, []).append(dev)
        self.state: dict[str, _State] = {}
        self.base_kw: dict[str, float] = {}
        for dev in park.devices:
            st = _State()
            for name, spec in dev.fields.items():
                if spec.cumulative:
                    st.registers[name] = float(self.rng.uniform(1e4, 5e5))
            if dev.kind is DeviceKind.BATTERY:
                st.soc_kwh = 0.5 * (dev.capacity_kwh or 200.0)
            self.state[dev.id] = st
            self.base_kw[dev.id] = float(self.rng.uniform(40.0, 140.0))
        # a parent's power depends on its children: evaluate leaves first
        self._order = sorted(park.devices, key=self._depth, reverse=True)

    def _depth(self, dev: Device) -> int:
        depth, cur = 0, dev.parent
        while cur is not None:
            depth += 1
            parent = self.park.device(cur)
            cur = parent.parent if parent else None
        return depth

    def step(self, time_ns: int, interval_s: float) -> list[Reading]:
        """Readings of every device at ``time_ns`` after ``interval_s`` seconds [s] of operation."""
        local = datetime.fromtimestamp(time_ns / 1e9, self.zone)
        hour = local.hour + local.minute / 60 + local.second / 3600
        workday = local.weekday() < 5
        power: dict[str, float] = {}  # kW, sign: contribution to the parent's import
        readings: dict[str, Reading] = {}
        time_ms = time_ns // 1_000_000
        for dev in self._order:
            st = self.state[dev.id]
            values = self._device_values(
                dev, st=st, hour=hour, workday=workday, interval_s=interval_s, power=power
            )
            readings[dev.id] = Reading(dev.id, time_ms, _to_device_units(dev, values))
        return [readings[d.id] for d in self.park.devices]

    def _device_values(
        self,
        dev: Device,
        *,
        st: _State,
        hour: float,
        workday: bool,
        interval_s: float,
        power: dict[str, float],
    ) -> dict[str, float]:
        dt_h = interval_s / 3600
        st.noise = 0.9 * st.noise + float(self.rng.normal(0, 0.03))  # AR(1), autocorrelated
        kind = dev.kind
        if kind is DeviceKind.ENV_SENSOR:
            return self._environment(dev, hour)
        if kind is DeviceKind.GAS_METER:
            flow = max(0.0, (45.0 if 6 <= hour < 22 else 12.0) * (1 + st.noise))  # m3/h
            st.registers["volume"] += flow * dt_h
            return {"volume": st.registers["volume"], "flow": flow}
        if kind is DeviceKind.PV_INVERTER:
            sun = max(0.0, math.sin(math.pi * (hour - 6.0) / 12.0)) if 6 <= hour <= 18 else 0.0
            p = (dev.capacity_kw or 100.0) * 0.78 * sun * max(0.0, 1 + 2 * st.noise)
            st.registers["energy"] += p * dt_h
            power[dev.id] = -p
            return {"energy": st.registers["energy"], "power": p}
        if kind is DeviceKind.BATTERY:
            return self._battery(dev, st, hour, dt_h, power)
        if kind is DeviceKind.EV_CHARGER:
            return self._ev(dev, st, hour, dt_h, power)
        # electricity meter: sum of its children, or a load profile if it has none
        children = self.children.get(dev.id, [])
        if children:
            p = sum(power.get(c.id, 0.0) for c in children if c.kind is not DeviceKind.GAS_METER)
            p = p * (1 + LOSS_FRACTION) if p > 0 else p
        else:
            occupied = workday and 8 <= hour < 19
            shape = 1.0 if occupied else 0.35
            p = self.base_kw[dev.id] * shape * (1 + st.noise)
        imported = max(p, 0.0)  # the register counts import only; export is not modelled yet
        st.registers["energy"] += imported * dt_h
        power[dev.id] = p
        return {"energy": st.registers["energy"], "power": imported}

    def _battery(
        self, dev: Device, st: _State, hour: float, dt_h: float, power: dict[str, float]
    ) -> dict[str, float]:
        cap_kwh = dev.capacity_kwh or 200.0
        limit_kw = dev.capacity_kw or 100.0
        if 10 <= hour < 14 and st.soc_kwh < 0.9 * cap_kwh:
            p = -min(0.6 * limit_kw, (0.9 * cap_kwh - st.soc_kwh) / dt_h)  # charging
        elif 18 <= hour < 22 and st.soc_kwh > 0.1 * cap_kwh:
            p = min(0.8 * limit_kw, (st.soc_kwh - 0.1 * cap_kwh) / dt_h)  # discharging
        else:
            p = 0.0
        efficiency = 0.95  # one-way [-]
        if p < 0:
            st.registers["charge_energy"] += -p * dt_h
            st.soc_kwh += -p * dt_h * efficiency
        else:
            st.registers["discharge_energy"] += p * dt_h
            st.soc_kwh -= p * dt_h / efficiency
        power[dev.id] = -p
        return {
            "charge_energy": st.registers["charge_energy"],
            "discharge_energy": st.registers["discharge_energy"],
            "power": p,
            "soc": 100.0 * st.soc_kwh / cap_kwh,
        }

    def _ev(
        self, dev: Device, st: _State, hour: float, dt_h: float, power: dict[str, float]
    ) -> dict[str, float]:
        rated = dev.capacity_kw or 7.0
        if st.session_left_kwh <= 0 and 7 <= hour < 21:
            arrivals_per_h = 0.4
            if self.rng.random() < arrivals_per_h * dt_h:
                st.session_left_kwh = float(self.rng.uniform(10.0, 50.0))
        p = 0.0
        if st.session_left_kwh > 0:
            p = min(0.92 * rated, st.session_left_kwh / dt_h)
            st.session_left_kwh -= p * dt_h
        st.registers["energy"] += p * dt_h
        power[dev.id] = p
        return {"energy": st.registers["energy"], "power": p}

    def _environment(self, dev: Device, hour: float) -> dict[str, float]:
        daily = math.sin(math.pi * (hour - 9.0) / 12.0)
        noise = float(self.rng.normal(0, 0.2))
        if dev.building is None:  # outdoors: a Wuhan late-autumn day
            return {
                "temperature": 12.0 + 4.0 * daily + noise,
                "humidity": 72.0 - 10.0 * daily + noise,
                "pm25": 48.0 + 8.0 * math.cos(math.pi * hour / 12.0) + noise,
                "co2": 420.0 + noise,
            }
        occupied = 8 <= hour < 19
        return {
            "temperature": 23.0 + 0.8 * daily + noise,
            "humidity": 55.0 + noise,
            "pm25": 18.0 + noise,
            "co2": (750.0 if occupied else 460.0) + 10 * noise,
        }


def _to_device_units(dev: Device, canonical: Mapping[str, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in canonical.items():
        spec = dev.fields[name]
        factor = UNITS[spec.quantity].get(dev.unit_of(name), 1.0)
        scale = dev.multiplier if spec.scaled else 1.0
        out[name] = round(value / (factor * scale), 6)
    return out
