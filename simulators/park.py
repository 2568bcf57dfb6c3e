"""A seeded, vectorised park model driven by the registry: every device's readings at each tick.

State lives in numpy arrays over all devices, so a tick of 10,000 devices costs milliseconds.
Each tick covers the interval ``(t − interval, t]`` and holds power constant over it, so every
cumulative register advances by exactly power × interval and the reading's instantaneous power
agrees with its register.

- **Loads** (electricity meters without sub-meters) follow their tenant's profile
  (``fab_24x7``, ``assembly_2shift``, ``office``, ``data_room``) by hour and day type — Chinese
  working days, weekends and public holidays, adjusted working days included — plus HVAC that
  follows the outdoor temperature, times AR(1) noise.
- **PV** from the sun's position and clear-sky irradiance at the park's coordinates, each
  inverter's tilt, azimuth and rating, cloudiness, and temperature derating (:mod:`.solar`).
- **Pyranometers** report the plane-of-array irradiance [W/m²] the same sun and clouds give in
  their own plane (``tilt_deg``, ``azimuth_deg``): the irradiance an inverter of that plane turns
  into power, so a park's performance ratio (IEC 61724-1) can be checked against it.
- **Batteries** dispatched by policy (PV self-consumption, peak shaving, TOU arbitrage on the
  Hubei tariff periods) within power, state-of-charge and round-trip efficiency limits.
- **EV chargers** run sessions whose arrivals depend on hour and day type.
- **Gas, heat and water meters** follow process demand and the outdoor temperature.
- **Production counters** count whole units of product, at a rate set by their tenant's peak
  load and profile and shaped by its working time (zero outside an assembly plant's shifts),
  drawn as Poisson counts per interval. They are outside every energy balance.
- **A meter with sub-meters** reads the sum of its children plus its ``loss_fraction`` (default
  ``LOSS_FRACTION``) of the flow through it (distribution losses), per carrier. So the grid
  connection reads loads − PV + battery charge − battery discharge + EV + losses, exactly.
- **Electricity meters are bidirectional**: ``energy`` counts import, ``export_energy`` export,
  and ``power`` is signed (negative while exporting).
- **Electricity meters also report** line-to-line ``voltage`` (the meter's nominal ``voltage_v``
  times 1 + noise, sd ``VOLTAGE_SD`` clipped at 4 sd), power factor ``pf`` (by tenant profile,
  0.85–0.98) and phase ``current`` = |P| · 1000 / (√3 · U · pf), so the three-phase identity
  P [kW] = √3 · U [V] · I [A] · pf / 1000 holds for every reading. Their noise comes from a
  stream of its own, so adding them left every other quantity's random draws as they were.

Values are computed in canonical units (kW, kWh, m3 …) and converted to each device's declared
units, register multiplier and register width when the payload is built.
"""

from __future__ import annotations

import math
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import numpy.typing as npt

from config.registry import Device, DeviceKind, ParkRegistry
from config.units import UNITS, Quantity
from simulators import solar
from simulators.climate import Weather
from simulators.retrofit import Retrofit, load_scale, retrofit_devices
from simulators.workdays import DayType, day_type

__all__ = [
    "DEFAULT_AZIMUTH_DEG",
    "DEFAULT_TILT_DEG",
    "LOSS_FRACTION",
    "PROFILES",
    "ParkModel",
    "Reading",
    "Tick",
]

Array = npt.NDArray[np.float64]

LOSS_FRACTION = 0.01  # default distribution losses between a parent meter and its children [-]
NOISE_TAU_S = 1800.0  # [s] correlation time of load noise
NOISE_SD = 0.06  # [-] relative standard deviation of load noise
SOC_MIN, SOC_MAX = 0.10, 0.95  # [-] battery operating window
DEFAULT_ROUND_TRIP = 0.90  # [-] LFP AC-AC (docs/sources/standards.md §7.3: 85-90 %)
EV_SESSION_MEDIAN_KWH = 18.0  # [kWh] lognormal median of energy per session
EV_CHARGE_FACTOR = 0.95
DEFAULT_TILT_DEG = 20.0  # [deg] near the annual optimum at Wuhan's latitude (≈ 30.5° N)
DEFAULT_AZIMUTH_DEG = 180.0  # [deg] due south  # [-] share of the charger's rating a car draws
VOLTAGE_SD = 0.005  # [-] relative standard deviation of a meter's voltage about its nominal
PF_SD = 0.01  # [-] standard deviation of the power factor about its profile's typical value
PF_RANGE = (0.85, 0.98)  # [-] the power factor a simulated meter reports
_SQRT3 = math.sqrt(3.0)

PROFILES = ("fab_24x7", "assembly_2shift", "office", "data_room")

# Load shapes: fraction of peak load at each hour 0..24 (the last repeats hour 0) for a working
# day and a day off; a holiday runs as a day off at HOLIDAY_FACTOR. Illustrative, from the usual
# shapes of the four tenant types.
_H = np.arange(25.0)


def _shape(
    night: float, day: float, start: float, end: float, breaks: Sequence[float] = ()
) -> Array:
    ramp = np.clip(np.minimum(_H - start + 1.0, end - _H), 0.0, 1.0)
    out = night + (day - night) * ramp
    for b in breaks:
        out[int(b)] -= 0.15 * (day - night)
    out[24] = out[0]
    return out


_SHAPES = np.stack(
    [
        np.stack([_shape(0.88, 0.95, 0, 24), _shape(0.85, 0.9, 0, 24)]),  # fab: round the clock
        np.stack([_shape(0.25, 0.92, 8, 24, (12, 18)), _shape(0.2, 0.3, 8, 18)]),  # 2 shifts
        np.stack([_shape(0.2, 0.85, 8, 18, (12,)), _shape(0.15, 0.2, 9, 17)]),  # office
        np.stack([_shape(0.95, 0.97, 8, 18), _shape(0.95, 0.95, 8, 18)]),  # data room
    ]
)
_HVAC_SHARE = np.array([0.25, 0.2, 0.35, 0.3])  # [-] HVAC share of peak load by profile
_HVAC_FOLLOWS_OCCUPANCY = np.array([False, True, True, False])
_PEAK_KW_PER_M2 = np.array([0.15, 0.08, 0.05, 0.5])  # [kW/m2] peak electric intensity
_WATER_M3_PER_H = np.array([8.0, 2.0, 0.6, 0.3])  # [m3/h] peak water flow per tenant meter
# typical power factor by profile: motors and compressors in a fab and on assembly lines pull it
# down; offices and data rooms (power-factor-corrected supplies) run close to unity
_POWER_FACTOR = np.array([0.90, 0.87, 0.95, 0.97])
HOLIDAY_FACTOR = 0.9  # [-] a public holiday runs a little below an ordinary day off

# Production: share of the rated output rate at each hour, by profile and day type, on the same
# working window as the load shapes. A fab runs round the clock, every day; an assembly plant
# makes nothing outside its two shifts (08-24, output dips in the 12:00 and 18:00 breaks) and
# nothing on days off, when only a skeleton crew is in; offices and data rooms make no product.
_PRODUCTION_SHAPES = np.stack(
    [
        np.stack([_shape(1.0, 1.0, 0, 24), _shape(1.0, 1.0, 0, 24)]),  # fab
        np.stack([_shape(0.0, 1.0, 8, 24, (12, 18)), np.zeros(25)]),  # 2 shifts
        np.zeros((2, 25)),  # office
        np.zeros((2, 25)),  # data room
    ]
)
# [units/kWh] rated output per kW of the tenant's peak load and hour (illustrative: what makes
# energy per unit land near 0.5 kWh/unit for packaged chips and 2 kWh/unit for assembled goods)
_UNITS_PER_KWH_PEAK = np.array([2.0, 0.5, 0.0, 0.0])

# EV arrivals per charger and hour on a working day [1/h]; days off × EV_OFF_DAY_FACTOR
_EV_ARRIVALS = np.array(
    [0.01, 0.01, 0.01, 0.01, 0.01, 0.02, 0.05, 0.2, 0.35, 0.25, 0.1, 0.08,
     0.15, 0.12, 0.08, 0.06, 0.05, 0.08, 0.12, 0.1, 0.06, 0.04, 0.02, 0.01]
)  # fmt: skip
EV_OFF_DAY_FACTOR = 0.45

# Hubei C&I time-of-use periods (docs/sources/standards.md §10): 0 valley, 1 flat, 2 peak,
# 3 critical
_TOU = np.array([1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 2, 2])
_TOU_JUL_AUG = np.array([1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 2, 2])

_ELECTRIC = frozenset(
    {
        DeviceKind.ELECTRICITY_METER,
        DeviceKind.PV_INVERTER,
        DeviceKind.BATTERY,
        DeviceKind.EV_CHARGER,
    }
)


def carrier_of(kind: DeviceKind) -> str:
    """The energy carrier a device kind measures."""
    if kind in _ELECTRIC:
        return "electricity"
    return {
        DeviceKind.GAS_METER: "gas",
        DeviceKind.HEAT_METER: "heat",
        DeviceKind.WATER_METER: "water",
    }.get(kind, "none")


@dataclass(frozen=True, slots=True)
class Reading:
    """One device's payload at one instant: field → value in the device's own units."""

    device: str
    time_ms: int
    values: Mapping[str, float]

    def payload(self) -> dict[str, float | int]:
        """The JSON object a device publishes."""
        return {"ts": self.time_ms, **self.values}


@dataclass(frozen=True)
class _Group:
    """The devices of one kind: positions, ids, fields and their unit conversion."""

    kind: DeviceKind
    index: npt.NDArray[np.intp]
    ids: list[str]
    fields: tuple[str, ...]
    divisor: Mapping[str, Array]  # canonical → device units (unit factor × multiplier)
    modulus: Mapping[str, Array]  # register width in device units (inf: no rollover)
    integer: frozenset[str] = frozenset()  # counts: published as JSON integers when whole


@dataclass(frozen=True)
class Tick:
    """One interval's state: exact canonical values of every device and the interval's energy.

    ``values[field]`` holds the reported quantity of every device that has ``field`` (canonical
    units, before multiplier and rollover); ``delta[register]`` the exact increment of each
    register over the interval; ``loss`` the distribution losses attributed to each parent meter
    [kWh, or m3 for water/gas].
    """

    time_ns: int
    interval_s: float
    day_type: DayType
    outdoor_c: float
    values: Mapping[str, Array]
    delta: Mapping[str, Array]
    loss: Array
    groups: Sequence[_Group]
    saved: Array | None = None  # [kWh] per device: what a retrofit saved (None: no retrofit)

    def readings(self) -> list[Reading]:
        """Every device's reading, in registry order."""
        time_ms = self.time_ns // 1_000_000
        n = len(self.loss)
        out: list[Reading | None] = [None] * n
        for g in self.groups:
            cols = []
            for f in g.fields:
                v = self.values[f][g.index] / g.divisor[f]
                if f in g.modulus:
                    v = np.mod(v, g.modulus[f])
                col = np.round(v, 6).tolist()
                if f in g.integer:
                    col = [int(x) if x.is_integer() else x for x in col]
                cols.append(col)
            fields = g.fields
            for pos, dev_id, *vals in zip(g.index.tolist(), g.ids, *cols, strict=True):
                out[pos] = Reading(dev_id, time_ms, dict(zip(fields, vals, strict=True)))
        return [r for r in out if r is not None]


class ParkModel:
    """Advance a park tick by tick; ``step(time_ns, interval_s)`` returns every device's reading.

    ``registers`` sets where meters stand at the start: per device id, register field name
    (``energy``, ``volume`` …) → its reading in canonical units (kWh, m3, units), as the store
    holds it; registers not named start from seeded values. Either way the random stream is the
    same, so only the register readings differ from a run without it.

    ``retrofits`` scale tenants' loads, or only their HVAC part, from a date on
    (:mod:`simulators.retrofit`); the random stream is the same with or without them, and each
    tick's ``saved`` holds what they saved.
    """

    def __init__(
        self,
        park: ParkRegistry,
        *,
        seed: int = 0,
        registers: Mapping[str, Mapping[str, float]] | None = None,
        retrofits: Sequence[Retrofit] = (),
    ) -> None:
        self.park = park
        self.rng = np.random.default_rng(seed)
        # voltage and power factor noise: a stream of its own, so the main stream is unchanged
        self.grid_rng = np.random.default_rng([seed, 1])
        self.zone = zoneinfo.ZoneInfo(park.park.timezone)
        self.weather = Weather(self.rng)
        self._topology()
        self._parameters()
        self.groups = self._groups()
        self.retrofits = [(r, retrofit_devices(park, r, self.loads)) for r in retrofits]
        if registers:
            self.set_registers(registers)

    def set_registers(self, registers: Mapping[str, Mapping[str, float]]) -> None:
        """Start the named registers from the given readings [canonical units]; raises
        ``ValueError`` for an unknown device or register, or a negative reading."""
        for device_id, values in registers.items():
            i = self.position.get(device_id)
            if i is None:
                raise ValueError(f"no device {device_id!r} in park {self.park.id!r}")
            spec = self.park.devices[i].fields
            for name, value in values.items():
                if name not in self.reg or name not in spec or not spec[name].cumulative:
                    raise ValueError(f"{device_id}: {name!r} is not a register of this device")
                if not math.isfinite(value) or value < 0:
                    raise ValueError(f"{device_id}.{name}: a register reads ≥ 0, not {value!r}")
                self.reg[name][i] = value

    def registers(self) -> dict[str, dict[str, float]]:
        """Where every device's registers stand now: device id → register → reading
        [canonical units, before multiplier and rollover]."""
        out: dict[str, dict[str, float]] = {}
        for i, device in enumerate(self.park.devices):
            names = [n for n, spec in device.fields.items() if spec.cumulative and n in self.reg]
            if names:
                out[device.id] = {n: float(self.reg[n][i]) for n in names}
        return out

    def _topology(self) -> None:
        """Which device is what, and the meter trees by carrier."""
        devices = self.park.devices
        self.n = n = len(devices)
        self.position = {d.id: i for i, d in enumerate(devices)}
        self.kind = [d.kind for d in devices]

        def where(pred: object) -> npt.NDArray[np.intp]:
            return np.array([i for i, d in enumerate(devices) if pred(d)], dtype=np.intp)  # type: ignore[operator]

        # parent/child edges within one carrier; a parent is never a leaf load
        self.parent = np.full(n, -1, dtype=np.intp)
        for i, d in enumerate(devices):
            if d.parent is not None:
                p = self.position[d.parent]
                if carrier_of(devices[p].kind) == carrier_of(d.kind):
                    self.parent[i] = p
        has_children = np.zeros(n, dtype=bool)
        has_children[self.parent[self.parent >= 0]] = True
        self.has_children = has_children
        depth = np.array([self._depth(i) for i in range(n)])
        # (children, parents) per level, deepest first
        self.levels: list[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]] = []
        for level in range(int(depth.max(initial=0)), 0, -1):
            kids = np.flatnonzero((depth == level) & (self.parent >= 0))
            if kids.size:
                self.levels.append((kids, self.parent[kids]))

        self.loads = where(lambda d: d.kind is DeviceKind.ELECTRICITY_METER)
        self.loads = self.loads[~has_children[self.loads]]
        self.pv = where(lambda d: d.kind is DeviceKind.PV_INVERTER)
        self.batt = where(lambda d: d.kind is DeviceKind.BATTERY)
        self.ev = where(lambda d: d.kind is DeviceKind.EV_CHARGER)
        self.gas = where(lambda d: d.kind is DeviceKind.GAS_METER)
        self.heat = where(lambda d: d.kind is DeviceKind.HEAT_METER)
        self.water = where(lambda d: d.kind is DeviceKind.WATER_METER)
        self.prod = where(lambda d: d.kind is DeviceKind.PRODUCTION_COUNTER)
        self.env = where(lambda d: d.kind is DeviceKind.ENV_SENSOR)
        self.pyr = where(lambda d: d.kind is DeviceKind.PYRANOMETER)
        self.electric = where(lambda d: d.kind in _ELECTRIC)
        self.electric_meters = where(lambda d: d.kind is DeviceKind.ELECTRICITY_METER)
        self.outdoor = np.array([devices[i].building is None for i in self.env], dtype=bool)

    def _parameters(self) -> None:
        """Per-device ratings and seeded parameters, and the initial state."""
        park, devices, n = self.park, self.park.devices, self.n
        tenants = {t.id: t for t in park.tenants}
        areas = {(b.id, f.number): f.area_m2 for b in park.buildings for f in b.floors if f.area_m2}
        profile = np.zeros(n, dtype=np.intp)
        base = self.rng.uniform(40.0, 140.0, n)  # [kW] peak load where no floor area is known
        for i, d in enumerate(devices):
            tenant = tenants.get(d.tenant) if d.tenant else None
            name = tenant.profile if tenant and tenant.profile else "office"
            profile[i] = PROFILES.index(name)
            area = areas.get((d.building, d.floor)) if d.building and d.floor else None
            if area is not None:
                base[i] = area * _PEAK_KW_PER_M2[profile[i]] * self.rng.uniform(0.8, 1.2)
        self.profile = profile
        self.base_kw = base
        self.gas_base = self.rng.uniform(20.0, 60.0, n)  # [m3/h] process gas
        self.heat_base = self.rng.uniform(200.0, 600.0, n)  # [kW] heating/cooling at 10 K lift
        self.water_base = _WATER_M3_PER_H[profile] * self.rng.uniform(0.7, 1.3, n)
        self.capacity_kw = np.array(
            [d.capacity_kw or _default_capacity(d.kind) for d in devices], dtype=np.float64
        )
        self.dc_kwp = np.array(  # [kWp] the PV inverters' DC nameplate, in self.pv order
            [
                devices[i].dc_kwp or self.capacity_kw[i] * solar.DC_AC_RATIO
                for i in self.pv.tolist()
            ],
            dtype=np.float64,
        )
        self.capacity_kwh = np.array([d.capacity_kwh or 200.0 for d in devices])
        self.tilt = np.array(
            [d.tilt_deg if d.tilt_deg is not None else DEFAULT_TILT_DEG for d in devices]
        )
        self.azimuth = np.array(
            [d.azimuth_deg if d.azimuth_deg is not None else DEFAULT_AZIMUTH_DEG for d in devices]
        )
        self.eta = np.sqrt(
            np.array([d.round_trip_efficiency or DEFAULT_ROUND_TRIP for d in devices])
        )  # one-way
        self.policy = np.array(
            [_POLICIES.index(d.dispatch or "self_consumption") for d in devices], dtype=np.intp
        )
        load_peak = float(base[self.loads].sum()) if self.loads.size else 0.0
        self.loss_fraction = np.array(
            [LOSS_FRACTION if d.loss_fraction is None else d.loss_fraction for d in devices]
        )
        self.peak_limit_kw = np.array([d.peak_limit_kw or 0.8 * load_peak for d in devices])

        self.noise = self.rng.normal(0.0, NOISE_SD, n)
        self.soc_kwh = 0.5 * self.capacity_kwh
        self.session_kwh = np.zeros(n)
        registers = ("energy", "export_energy", "charge_energy", "discharge_energy", "volume")
        self.reg = {r: self.rng.uniform(1e4, 5e5, n) for r in registers}
        self.reg["export_energy"][:] = self.rng.uniform(0.0, 1e3, n)
        # a count register holds whole units; drawn only where there are counters, so parks
        # without them keep the random stream they always had
        self.reg["produced"] = np.zeros(n)
        if self.prod.size:
            self.reg["produced"][self.prod] = np.floor(self.rng.uniform(1e4, 5e5, self.prod.size))
        # [units/h] rated output: the counter's own peak load (its floor's area, else seeded)
        self.units_per_h = base * _UNITS_PER_KWH_PEAK[profile]
        self.voltage_nominal = np.array([d.voltage_v for d in devices])  # [V] line-to-line

    def _depth(self, i: int) -> int:
        depth, cur = 0, int(self.parent[i])
        while cur >= 0:
            depth += 1
            cur = int(self.parent[cur])
        return depth

    def _groups(self) -> list[_Group]:
        groups = []
        for kind in DeviceKind:
            devs = [(i, d) for i, d in enumerate(self.park.devices) if d.kind is kind]
            if not devs:
                continue
            fields = tuple(devs[0][1].fields)
            divisor: dict[str, Array] = {}
            modulus: dict[str, Array] = {}
            for f in fields:
                divisor[f] = np.array([_divisor(d, f) for _, d in devs])
                if devs[0][1].fields[f].cumulative:
                    modulus[f] = np.array(
                        [10.0**d.register_width if d.register_width else np.inf for _, d in devs]
                    )
            groups.append(
                _Group(
                    kind,
                    np.array([i for i, _ in devs], dtype=np.intp),
                    [d.id for _, d in devs],
                    fields,
                    divisor,
                    modulus,
                    frozenset(f for f in fields if devs[0][1].fields[f].quantity is Quantity.COUNT),
                )
            )
        return groups

    def step(self, time_ns: int, interval_s: float) -> list[Reading]:
        """Readings of every device at ``time_ns`` after ``interval_s`` seconds [s] of operation."""
        return self.advance(time_ns, interval_s).readings()

    def advance(self, time_ns: int, interval_s: float) -> Tick:
        """Advance the park over the interval ending at ``time_ns`` [ns] and return its state."""
        n, rng = self.n, self.rng
        dt_h = interval_s / 3600.0
        mid_s = time_ns / 1e9 - interval_s / 2  # the interval's mid-point drives the physics
        local = datetime.fromtimestamp(mid_s, self.zone)
        hour = local.hour + local.minute / 60 + local.second / 3600
        dtype, _known = day_type(local.date())
        off = 0 if dtype is DayType.WORKDAY else 1
        self.weather.step(local.month, local.day, hour, interval_s)
        t_out = self.weather.temperature_c()
        phi = math.exp(-interval_s / NOISE_TAU_S)
        self.noise = phi * self.noise + NOISE_SD * math.sqrt(1 - phi * phi) * rng.normal(size=n)

        h0 = int(hour)
        frac = hour - h0
        shape = _SHAPES[:, off, h0] * (1 - frac) + _SHAPES[:, off, h0 + 1] * frac  # per profile
        if dtype is DayType.HOLIDAY:
            shape = shape * HOLIDAY_FACTOR
        occupancy = shape[self.profile]  # per device [-]
        hvac_lift = max(0.0, t_out - 24.0) / 10.0 + max(0.0, 12.0 - t_out) / 12.0
        hvac = _HVAC_SHARE[self.profile] * hvac_lift
        hvac = np.where(_HVAC_FOLLOWS_OCCUPANCY[self.profile], hvac * occupancy, hvac)

        net = np.zeros(n)  # [kW] contribution to the parent's import
        power = np.zeros(n)  # [kW] (or m3/h as flow) reported instantaneous value
        saved = self._place_loads(occupancy, hvac, local.date(), dt_h, net)
        ld = self.loads

        irradiance = self._sun(mid_s, t_out, power, net)
        if self.ev.size:
            self._ev(h0, off, dt_h, power, net)

        # batteries: positive = discharging into the park
        if self.batt.size:
            power[self.batt] = p_b = self._dispatch(
                float(net[self.electric].sum()), local.month, h0, dt_h
            )
            net[self.batt] = -p_b

        # aggregate sub-meters into parents, carrier by carrier, deepest first
        power[ld] = net[ld]
        loss = np.zeros(n)
        self._utilities(occupancy, t_out, hvac_lift, net)
        for kids, parents in self.levels:
            sums = np.bincount(parents, weights=net[kids], minlength=n)
            at = np.unique(parents)
            loss[at] = self.loss_fraction[at] * np.abs(sums[at])
            net[at] = sums[at] + loss[at]
        electric_meters = self.electric_meters
        power[electric_meters] = net[electric_meters]
        for idx in (self.gas, self.heat, self.water):
            power[idx] = net[idx]

        delta = self._registers(net, power, dt_h)
        if self.prod.size:
            delta["produced"][self.prod] = self._production(h0, frac, off, dtype, dt_h)
        values: dict[str, Array] = {r: v.copy() for r, v in self.reg.items()}
        values["power"] = values["flow"] = power
        values["soc"] = 100.0 * self.soc_kwh / self.capacity_kwh
        values["irradiance"] = irradiance
        values.update(
            self._environment(t_out, hour, local.month, occupancy) | self._electrical(power)
        )
        return Tick(
            time_ns, interval_s, dtype, t_out, values, delta, loss * dt_h, self.groups, saved
        )

    def _place_loads(
        self, occupancy: Array, hvac: Array, day: date, dt_h: float, net: Array
    ) -> Array | None:
        """Put the loads' power [kW] — occupancy shape plus HVAC [share of peak], times noise —
        into ``net``, retrofits of ``day`` applied (an HVAC one scales the HVAC term, a load one
        the whole); the energy they saved per device over the interval [kWh], or None when no
        retrofit applies yet."""
        ld = self.loads

        def power(hvac_ld: Array) -> Array:
            shape = np.maximum(occupancy[ld] + hvac_ld, 0.05)
            return self.base_kw[ld] * shape * (1 + self.noise[ld])

        p_load = power(hvac[ld])
        net[ld] = plain = np.maximum(p_load, 0.0)
        if not self.retrofits:
            return None
        scale = load_scale(self.n, day, self.retrofits, "load")
        hvac_scale = load_scale(self.n, day, self.retrofits, "hvac")
        if scale is None and hvac_scale is None:
            return None
        if hvac_scale is not None:
            p_load = power(hvac[ld] * hvac_scale[ld])
        if scale is not None:
            p_load = p_load * scale[ld]
        net[ld] = np.maximum(p_load, 0.0)
        saved = np.zeros(self.n)
        saved[ld] = (plain - net[ld]) * dt_h
        return saved

    def _electrical(self, power: Array) -> dict[str, Array]:
        """Voltage [V], power factor [-] and current [A] of every electricity meter.

        Voltage and power factor are rounded to the 6 decimals a reading carries before the
        current is derived from them, so P = √3 · U · I · pf / 1000 holds for the published
        values too, to the rounding of current and power.
        """
        n, em = self.n, self.electric_meters
        voltage, current, pf = np.zeros(n), np.zeros(n), np.zeros(n)
        if not em.size:
            return {"voltage": voltage, "current": current, "pf": pf}
        noise_v = self.grid_rng.normal(0.0, VOLTAGE_SD, em.size)
        noise_pf = self.grid_rng.normal(0.0, PF_SD, em.size)
        u = self.voltage_nominal[em] * (1.0 + np.clip(noise_v, -4 * VOLTAGE_SD, 4 * VOLTAGE_SD))
        voltage[em] = u = np.round(u, 6)
        pf[em] = cos_phi = np.round(
            np.clip(_POWER_FACTOR[self.profile[em]] + noise_pf, *PF_RANGE), 6
        )
        current[em] = np.abs(power[em]) * 1000.0 / (_SQRT3 * u * cos_phi)
        return {"voltage": voltage, "current": current, "pf": pf}

    def _utilities(self, occupancy: Array, t_out: float, hvac_lift: float, net: Array) -> None:
        """Gas [m3/h], heat [kW] and water [m3/h] of the leaf meters."""
        gas_flow = self.gas_base * (occupancy + max(0.0, 15.0 - t_out) / 10.0) * (1 + self.noise)
        heat_kw = self.heat_base * hvac_lift * occupancy * (1 + self.noise)
        water_flow = self.water_base * occupancy * (1 + self.noise)
        for idx, src in ((self.gas, gas_flow), (self.heat, heat_kw), (self.water, water_flow)):
            leaf = idx[~self.has_children[idx]]
            net[leaf] = np.maximum(src[leaf], 0.0)

    def _production(self, h0: int, frac: float, off: int, dtype: DayType, dt_h: float) -> Array:
        """Whole units made over the interval by each counter; advances its register."""
        p = self.prod
        shape = (
            _PRODUCTION_SHAPES[:, off, h0] * (1 - frac) + _PRODUCTION_SHAPES[:, off, h0 + 1] * frac
        )
        if dtype is DayType.HOLIDAY:
            shape = shape * HOLIDAY_FACTOR
        expected = self.units_per_h[p] * shape[self.profile[p]] * dt_h
        made: Array = self.rng.poisson(expected).astype(np.float64)
        self.reg["produced"][p] += made
        return made

    def _sun(self, mid_s: float, t_out: float, power: Array, net: Array) -> Array:
        """PV power [kW] of the inverters (into ``power`` and ``net``) and the plane-of-array
        irradiance [W/m²] of the pyranometers (returned, 0 for every other device), from one sun
        and one sky."""
        irradiance = np.zeros(self.n)
        pv, pyr = self.pv, self.pyr
        if not (pv.size or pyr.size):
            return irradiance
        site = self.park.park
        zen, az, doy = solar.solar_position(np.array([mid_s]), site.latitude, site.longitude)
        ghi = solar.clear_sky_ghi(zen) * self.weather.clearness()
        planes = np.concatenate([pv, pyr])
        poa = solar.plane_of_array(
            ghi, zen, az, doy, tilt_deg=self.tilt[planes], surface_azimuth_deg=self.azimuth[planes]
        )
        p_pv = solar.pv_ac_power_kw(poa[: pv.size], t_out, self.capacity_kw[pv], self.dc_kwp)
        power[pv] = p_pv
        net[pv] = -p_pv
        irradiance[pyr] = poa[pv.size :]
        return irradiance

    def _ev(self, hour: int, off: int, dt_h: float, power: Array, net: Array) -> None:
        """Sessions start at idle chargers by the hour's arrival rate and run until served."""
        ev, rng = self.ev, self.rng
        rate = _EV_ARRIVALS[hour] * (1.0 if off == 0 else EV_OFF_DAY_FACTOR)
        idle = self.session_kwh[ev] <= 1e-9
        arrive = idle & (rng.random(ev.size) < min(1.0, rate * dt_h))
        energy = np.minimum(rng.lognormal(math.log(EV_SESSION_MEDIAN_KWH), 0.5, ev.size), 90.0)
        self.session_kwh[ev] = np.where(arrive, energy, self.session_kwh[ev])
        p_ev = np.minimum(EV_CHARGE_FACTOR * self.capacity_kw[ev], self.session_kwh[ev] / dt_h)
        self.session_kwh[ev] -= p_ev * dt_h
        power[ev] = p_ev
        net[ev] = p_ev

    def _registers(self, net: Array, power: Array, dt_h: float) -> dict[str, Array]:
        """Advance every register by exactly power × interval; the increments."""
        n = self.n
        delta = {r: np.zeros(n) for r in self.reg}
        em = self.electric_meters
        delta["energy"][em] = np.maximum(net[em], 0.0) * dt_h
        delta["export_energy"][em] = np.maximum(-net[em], 0.0) * dt_h
        for idx in (self.pv, self.ev, self.heat):
            delta["energy"][idx] = power[idx] * dt_h
        delta["volume"][self.gas] = power[self.gas] * dt_h
        delta["volume"][self.water] = power[self.water] * dt_h
        b = self.batt
        delta["charge_energy"][b] = np.maximum(-power[b], 0.0) * dt_h
        delta["discharge_energy"][b] = np.maximum(power[b], 0.0) * dt_h
        self.soc_kwh[b] += (
            delta["charge_energy"][b] * self.eta[b] - delta["discharge_energy"][b] / self.eta[b]
        )
        for r, d in delta.items():
            self.reg[r] += d
        return delta

    def _dispatch(self, site_kw: float, month: int, hour: int, dt_h: float) -> Array:
        """Battery power [kW] by policy, positive discharging; never exports battery energy."""
        b = self.batt
        cap = self.capacity_kw[b]
        share = cap / cap.sum()
        site = site_kw * share  # each battery answers for its share of the park's net load
        tou = (_TOU_JUL_AUG if month in (7, 8) else _TOU)[hour]
        self_use = np.clip(site, -cap, cap)
        over = site - self.peak_limit_kw[b] * share
        shave = np.where(over > 0, over, np.where(tou == 0, -0.5 * cap, 0.0))
        arbitrage = {0: -cap, 1: np.zeros_like(cap), 2: np.maximum(site, 0.0), 3: cap}[int(tou)]
        want = np.choose(self.policy[b], [self_use, shave, arbitrage])
        want = np.minimum(want, np.maximum(site, 0.0))  # discharge covers park load, no export
        usable = np.maximum(self.soc_kwh[b] - SOC_MIN * self.capacity_kwh[b], 0.0)
        room = np.maximum(SOC_MAX * self.capacity_kwh[b] - self.soc_kwh[b], 0.0)
        p_out: Array = np.clip(
            want,
            -np.minimum(cap, room / (self.eta[b] * dt_h)),
            np.minimum(cap, usable * self.eta[b] / dt_h),
        )
        return p_out

    def _environment(
        self, t_out: float, hour: float, month: int, occupancy: Array
    ) -> dict[str, Array]:
        n, e = self.n, self.env
        temp, hum, pm25, co2 = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
        if not e.size:
            return {"temperature": temp, "humidity": hum, "pm25": pm25, "co2": co2}
        outdoor = self.outdoor
        jitter = self.noise[e]
        winter = month in (11, 12, 1, 2, 3)
        pm_out = (65.0 if winter else 30.0) * (1 + 2 * jitter) + 8 * math.cos(math.pi * hour / 12)
        setpoint = 21.0 if t_out < 16 else 25.0 if t_out > 26 else t_out
        temp[e] = np.where(
            outdoor, t_out + 2 * jitter, setpoint + 0.05 * (t_out - setpoint) + jitter
        )
        hum[e] = np.clip(
            np.where(outdoor, 78.0 - 2.0 * (t_out - 17.0) + 20 * jitter, 52.0 + 10 * jitter), 5, 100
        )
        pm25[e] = np.maximum(np.where(outdoor, pm_out, 0.4 * pm_out), 1.0)
        co2[e] = np.where(outdoor, 420.0 + 20 * jitter, 450.0 + 500.0 * occupancy[e] + 50 * jitter)
        return {"temperature": temp, "humidity": hum, "pm25": pm25, "co2": co2}


_POLICIES = ("self_consumption", "peak_shaving", "tou_arbitrage")


def _default_capacity(kind: DeviceKind) -> float:
    return {
        DeviceKind.PV_INVERTER: 100.0,
        DeviceKind.BATTERY: 100.0,
        DeviceKind.EV_CHARGER: 7.0,
    }.get(kind, 1e5)


def _divisor(dev: Device, field: str) -> float:
    spec = dev.fields[field]
    factor = UNITS[spec.quantity].get(dev.unit_of(field), 1.0)
    return factor * (dev.multiplier if spec.scaled else 1.0)
