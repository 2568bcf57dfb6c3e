"""The park registry: park → tenants → buildings → floors → devices, loaded from YAML.

A registry file describes one park. Loading validates the structure (pydantic, frozen models) and
the references between entries (a device's parent meter, tenant, building and floor must exist),
and reports *every* problem with its file and line, so an operator fixes a file in one pass.

Device kinds are a closed set; each kind declares the fields its payloads carry, the physical
quantity of each field and the unit the device reports by default. A device may override units
(``units: {power: W}``) and set a register ``multiplier`` (CT/PT ratio) that scales its energy
and power fields.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from config.accounting import AccountingProfile
from config.city import city_industries
from config.errors import Problem, RegistryError
from config.factors import emission_factors
from config.units import Quantity, UnknownUnitError, converter
from config.yamlfile import YamlFileError, describe_error, read_yaml

__all__ = [
    "APPROVED_SUFFIX",
    "KINDS",
    "OFFLINE_FIELD",
    "REGISTRY_POLL_S",
    "Building",
    "Device",
    "DeviceKind",
    "DispatchPolicy",
    "FieldSpec",
    "Floor",
    "MaintenanceEntry",
    "MaintenanceKind",
    "Park",
    "ParkRegistry",
    "Quantity",
    "Registry",
    "RegistryWatch",
    "Role",
    "Tariff",
    "Tenant",
    "TenantProfile",
    "Viewer",
    "approved_dir",
    "approved_file",
    "cross_check",
    "demo_registry_path",
    "load_registry",
    "merge_approved",
    "replace_device",
    "with_devices",
]

log = logging.getLogger("smartpark.registry")

_ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"


class DeviceKind(StrEnum):
    """What a device is."""

    ELECTRICITY_METER = "electricity_meter"
    PV_INVERTER = "pv_inverter"
    BATTERY = "battery"
    EV_CHARGER = "ev_charger"
    GAS_METER = "gas_meter"
    ENV_SENSOR = "env_sensor"
    HEAT_METER = (
        "heat_meter"  # heat or cooling energy delivered (district heat, steam, chilled water)
    )
    WATER_METER = "water_meter"
    PRODUCTION_COUNTER = "production_counter"  # units of product a tenant has made
    PYRANOMETER = "pyranometer"  # plane-of-array irradiance beside a PV array (IEC 61724-1)


class Role(StrEnum):
    """Where a device sits in the park's energy flow."""

    GRID_CONNECTION = "grid_connection"  # the utility meter at the park's point of connection
    FEEDER = "feeder"  # a building or plant main meter under the grid connection
    LOAD = "load"  # a tenant / floor / process sub-meter
    PV = "pv"
    STORAGE = "storage"
    EV_CHARGING = "ev_charging"
    GAS = "gas"
    ENVIRONMENT = "environment"
    HEAT = "heat"
    WATER = "water"
    PRODUCTION = "production"  # counts product, not energy: outside every energy balance


TenantProfile = Literal["fab_24x7", "assembly_2shift", "office", "data_room"]
"""How a tenant uses energy through the day and week (the simulator's load shape)."""

OFFLINE_FIELD = "offline"
"""Telemetry field of a device's reachability, written by the collector: 1 when the device was
declared unreachable (a Sparkplug B DEATH, an edge agent's ``offline`` status), 0 when it is back.
It belongs to no device kind's fields; the alarm engine reads it for every device (the shipped
rule ``device-down``)."""

DispatchPolicy = Literal["self_consumption", "peak_shaving", "tou_arbitrage"]
"""How a battery is dispatched (the simulator's controller)."""


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A payload field of a device kind: its quantity, default unit, whether it is a register,
    and the range of plausible values in the quantity's canonical unit (wider values are refused
    as implausible; a device narrows or widens it with ``limits``)."""

    quantity: Quantity
    default_unit: str
    cumulative: bool = False
    scaled: bool = False  # multiplied by the device's register multiplier
    plausible: tuple[float, float] = (-1e9, 1e9)


_REGISTER = (0.0, 1e12)  # kWh, m3 or units: a register never goes negative
_POWER = (-1e6, 1e6)  # kW: 1 GW either way is beyond any park connection
_PERCENT = (0.0, 100.0)
_VOLTAGE = (0.0, 1e6)  # V: up to a 1 MV transmission connection
_CURRENT = (0.0, 1e6)  # A
_POWER_FACTOR = (0.0, 1.0)  # [-] |cos φ|: the sign of power says the direction
_IRRADIANCE = (0.0, 2000.0)  # [W/m²] plane-of-array, cloud enhancement included
_CAPACITY_MARGIN = 1.5  # |power| may exceed the rated capacity by this factor (surges, ratings)


KINDS: Mapping[DeviceKind, Mapping[str, FieldSpec]] = {
    DeviceKind.ELECTRICITY_METER: {
        "energy": FieldSpec(
            Quantity.ENERGY, "kWh", cumulative=True, scaled=True, plausible=_REGISTER
        ),
        "power": FieldSpec(Quantity.POWER, "kW", scaled=True, plausible=_POWER),
        # a bidirectional meter's export register (energy counts import only)
        "export_energy": FieldSpec(
            Quantity.ENERGY, "kWh", cumulative=True, scaled=True, plausible=_REGISTER
        ),
        # instantaneous electrical quantities, optional in a payload; three-phase:
        # power [kW] = √3 · voltage [V] · current [A] · pf / 1000. Not scaled: a meter reports
        # them on the primary side (the register multiplier applies to energy and power only)
        "voltage": FieldSpec(Quantity.VOLTAGE, "V", plausible=_VOLTAGE),  # line-to-line
        "current": FieldSpec(Quantity.CURRENT, "A", plausible=_CURRENT),  # per phase
        "pf": FieldSpec(Quantity.POWER_FACTOR, "1", plausible=_POWER_FACTOR),
    },
    DeviceKind.PV_INVERTER: {
        "energy": FieldSpec(
            Quantity.ENERGY, "kWh", cumulative=True, scaled=True, plausible=_REGISTER
        ),
        "power": FieldSpec(Quantity.POWER, "kW", scaled=True, plausible=_POWER),
    },
    DeviceKind.BATTERY: {
        "charge_energy": FieldSpec(
            Quantity.ENERGY, "kWh", cumulative=True, scaled=True, plausible=_REGISTER
        ),
        "discharge_energy": FieldSpec(
            Quantity.ENERGY, "kWh", cumulative=True, scaled=True, plausible=_REGISTER
        ),
        # positive while discharging into the park, negative while charging
        "power": FieldSpec(Quantity.POWER, "kW", scaled=True, plausible=_POWER),
        "soc": FieldSpec(Quantity.RATIO, "%", plausible=_PERCENT),
    },
    DeviceKind.EV_CHARGER: {
        "energy": FieldSpec(
            Quantity.ENERGY, "kWh", cumulative=True, scaled=True, plausible=_REGISTER
        ),
        "power": FieldSpec(Quantity.POWER, "kW", scaled=True, plausible=_POWER),
    },
    DeviceKind.GAS_METER: {
        "volume": FieldSpec(
            Quantity.VOLUME, "m3", cumulative=True, scaled=True, plausible=_REGISTER
        ),
        "flow": FieldSpec(Quantity.FLOW, "m3/h", scaled=True, plausible=(0.0, 1e6)),
    },
    DeviceKind.ENV_SENSOR: {
        "temperature": FieldSpec(Quantity.TEMPERATURE, "degC", plausible=(-60.0, 100.0)),
        "humidity": FieldSpec(Quantity.RATIO, "%", plausible=_PERCENT),
        "pm25": FieldSpec(Quantity.CONCENTRATION, "ug/m3", plausible=(0.0, 5000.0)),
        "co2": FieldSpec(Quantity.PPM, "ppm", plausible=(0.0, 50000.0)),
    },
    DeviceKind.HEAT_METER: {
        "energy": FieldSpec(
            Quantity.ENERGY, "kWh", cumulative=True, scaled=True, plausible=_REGISTER
        ),
        "power": FieldSpec(Quantity.POWER, "kW", scaled=True, plausible=(0.0, 1e6)),
    },
    DeviceKind.WATER_METER: {
        "volume": FieldSpec(
            Quantity.VOLUME, "m3", cumulative=True, scaled=True, plausible=_REGISTER
        ),
        "flow": FieldSpec(Quantity.FLOW, "m3/h", scaled=True, plausible=(0.0, 1e6)),
    },
    DeviceKind.PRODUCTION_COUNTER: {
        # not scaled: the register multiplier is a CT x PT ratio, meaningless for a count
        "produced": FieldSpec(Quantity.COUNT, "units", cumulative=True, plausible=_REGISTER),
    },
    DeviceKind.PYRANOMETER: {
        # mean plane-of-array irradiance over the reading's interval, in the array's plane
        # (tilt_deg, azimuth_deg); above the solar constant (1,361 W/m²) only with cloud
        # enhancement, never above 2,000 W/m²
        "irradiance": FieldSpec(Quantity.IRRADIANCE, "W/m2", plausible=_IRRADIANCE),
    },
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


DemandBasis = Literal["max_demand", "capacity"]
"""How the two-part tariff's demand charge is billed: on the month's highest 15-minute average
power (需量) or on the contracted transformer capacity (容量)."""


class Tariff(_Frozen):
    """The park's electricity tariff at its grid connection: what the TOU ratios multiply and the
    demand (two-part, 两部制) charge. Every figure carries its source, year and evidence grade.

    ``flat_price_cny_per_kwh`` [CNY/kWh] the flat-period energy price the TOU ratios of the
    province's schedule multiply; ``demand_charge_cny_per_kw_month`` [CNY/(kW·month)], or
    [CNY/(kVA·month)] on the capacity basis; ``demand_basis`` ``max_demand`` (the month's highest
    15-minute average power) or ``capacity`` (``contracted_kw``, billed whatever the load);
    ``contracted_kw`` [kW or kVA] the contracted capacity, required on the capacity basis.
    """

    flat_price_cny_per_kwh: float = Field(gt=0, le=10, description="CNY/kWh")
    demand_charge_cny_per_kw_month: float | None = Field(
        default=None, ge=0, le=1000, description="CNY/(kW·month); null = single-part tariff"
    )
    demand_basis: DemandBasis = "max_demand"
    contracted_kw: float | None = Field(default=None, gt=0, description="kW (kVA), capacity basis")
    source: str = Field(min_length=1, description="where the prices come from")
    year: int = Field(ge=2000, le=2100, description="year the prices apply to")
    evidence: Literal["P", "S", "U"] = Field(
        default="U", description="P primary, S second-hand, U unverified or example value"
    )

    @model_validator(mode="after")
    def _basis_needs_capacity(self) -> Tariff:
        if self.demand_basis == "capacity" and self.contracted_kw is None:
            raise ValueError(
                "tariff: demand_basis capacity bills the contracted capacity: set contracted_kw"
            )
        if self.demand_basis == "capacity" and self.demand_charge_cny_per_kw_month is None:
            raise ValueError("tariff: demand_basis capacity needs demand_charge_cny_per_kw_month")
        return self


class Park(_Frozen):
    """The park itself."""

    id: str = Field(pattern=_ID_PATTERN)
    name: str = Field(min_length=1)
    timezone: str = "Asia/Shanghai"
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    grid_region: str = Field(min_length=1, description="e.g. central_china")
    province: str | None = None
    tariff: Tariff | None = Field(
        default=None, description="electricity tariff at the grid connection (cost indicators)"
    )
    accounting: AccountingProfile | None = Field(
        default=None,
        description="the park's default accounting profile (a year's stored profile overrides it)",
    )
    store: str = Field(
        default="default",
        pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
        description="the named store the park lives in (SMARTPARK_STORES; docs/stores.md)",
    )
    land_mu: float | None = Field(
        default=None, gt=0, le=1e7, description="land area [亩, mu; 1 mu = 666.67 m2] (亩均)"
    )
    industry: str | None = Field(
        default=None, description="leading industry, a code of config/data/city_industries.yaml"
    )

    @field_validator("industry")
    @classmethod
    def _known_industry(cls, value: str | None) -> str | None:
        if value is not None and city_industries().get(value) is None:
            known = ", ".join(i.code for i in city_industries().industries)
            raise ValueError(f"industry: {value!r} is not a known industry code (known: {known})")
        return value

    @field_validator("accounting")
    @classmethod
    def _factor_keys_exist(cls, value: AccountingProfile | None) -> AccountingProfile | None:
        key = None if value is None else value.fixed_grid_factor_key
        if key is not None:
            units = {f.unit for f in emission_factors().entries if f.key == key}
            if units != {"kgCO2/kWh"}:
                known = sorted({f.key for f in emission_factors().entries if f.unit == "kgCO2/kWh"})
                raise ValueError(
                    f"fixed_grid_factor_key: {key!r} is not a grid factor (kgCO2/kWh) of the "
                    f"emission factor table; known: {', '.join(known)}"
                )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value


class Tenant(_Frozen):
    """An enterprise renting space in the park."""

    id: str = Field(pattern=_ID_PATTERN)
    name: str = Field(min_length=1)
    sector: str | None = None
    profile: TenantProfile | None = Field(
        default=None, description="load shape: fab_24x7, assembly_2shift, office or data_room"
    )


class Floor(_Frozen):
    """A floor of a building, optionally let to one tenant."""

    number: int
    tenant: str | None = None
    area_m2: float | None = Field(default=None, gt=0)


class Building(_Frozen):
    """A building with its floors."""

    id: str = Field(pattern=_ID_PATTERN)
    name: str = Field(min_length=1)
    floors: tuple[Floor, ...] = ()

    @model_validator(mode="after")
    def _unique_floors(self) -> Building:
        numbers = [f.number for f in self.floors]
        if len(numbers) != len(set(numbers)):
            raise ValueError(f"building {self.id!r} lists a floor number twice")
        return self


MaintenanceKind = Literal["replacement", "multiplier", "register_width"]
"""What a maintenance-log entry records: a meter swapped, its CT/PT multiplier changed, or its
register display width changed."""

_MAX_READING = 1e15  # a 15-digit register display, the widest register_width allows
_MAX_MULTIPLIER = 1e6  # CT x PT: 10 kV/100 V x 1000/5 A is 20,000; a million is no meter
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)  # the store's times are int64 ns since then
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)  # and end in 2262

_KIND_FIELDS: dict[str, frozenset[str]] = {
    "replacement": frozenset({"meter_register", "old_final", "new_initial"}),
    "multiplier": frozenset({"old_multiplier", "multiplier", "reading"}),
    "register_width": frozenset({"old_register_width", "register_width"}),
}
_ALL_KIND_FIELDS = frozenset().union(*_KIND_FIELDS.values())


class MaintenanceEntry(_Frozen):
    """One entry of a meter's maintenance log, in force from ``at`` (with its UTC offset).

    ``replacement``: ``old_final`` the old register's last reading (omit if unread) and
    ``new_initial`` the new one's first, in the device's own unit (before the multiplier), as read
    off the displays, of ``meter_register`` (default the device's first register; the others restart
    at 0 with their last reading unknown). ``multiplier``: the CT x PT ratio goes from
    ``old_multiplier`` to ``multiplier``; ``reading`` the display count at the change, if noted.
    ``register_width``: the display wraps at 10^``register_width`` from ``at`` on
    (``old_register_width`` before; omit it for a register that never wrapped).
    """

    kind: MaintenanceKind
    at: AwareDatetime = Field(description="when it takes effect, ISO-8601 with offset")
    meter_register: str | None = Field(
        default=None, description="replacement: the register read (default the first, e.g. energy)"
    )
    old_final: float | None = Field(
        default=None, ge=0, le=_MAX_READING, description="old meter's last reading"
    )
    new_initial: float | None = Field(
        default=None, ge=0, le=_MAX_READING, description="new meter's first reading"
    )
    old_multiplier: float | None = Field(default=None, gt=0, le=_MAX_MULTIPLIER)
    multiplier: float | None = Field(default=None, gt=0, le=_MAX_MULTIPLIER)
    reading: float | None = Field(
        default=None, ge=0, le=_MAX_READING, description="display count at the change"
    )
    old_register_width: int | None = Field(default=None, ge=3, le=15)
    register_width: int | None = Field(default=None, ge=3, le=15)
    note: str | None = Field(default=None, max_length=500)

    @field_validator("at")
    @classmethod
    def _storable(cls, value: datetime) -> datetime:
        if not _EARLIEST <= value < _LATEST:
            raise ValueError(f"at: {value.isoformat()} is outside 1970-01-01 .. 2200-01-01")
        return value

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> MaintenanceEntry:
        own = _KIND_FIELDS[self.kind]
        stray = sorted(f for f in _ALL_KIND_FIELDS - own if getattr(self, f) is not None)
        if stray:
            raise ValueError(f"{', '.join(stray)} do not belong to a {self.kind} entry")
        if self.kind == "replacement":
            if self.new_initial is None:
                raise ValueError("new_initial: a replacement needs the new meter's first reading")
            if self.old_final is not None and self.new_initial > self.old_final:
                raise ValueError(
                    f"new_initial: the new meter's first reading {self.new_initial:g} is above the "
                    f"old meter's final reading {self.old_final:g}; check the two readings"
                )
        if self.kind == "multiplier" and (self.multiplier is None or self.old_multiplier is None):
            raise ValueError("multiplier: a multiplier change needs old_multiplier and multiplier")
        if self.kind == "register_width" and self.register_width is None:
            raise ValueError("register_width: a width change needs the new register_width")
        return self

    @property
    def time_ns(self) -> int:
        """When it takes effect [ns since the epoch, UTC]."""
        delta = self.at - datetime(1970, 1, 1, tzinfo=UTC)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000

    def same_time(self, other: MaintenanceEntry) -> bool:
        """True when both record the same kind of event (of one register) at the same instant."""
        return (
            self.kind == other.kind
            and self.meter_register == other.meter_register
            and self.time_ns == other.time_ns
        )

    def same_event(self, other: MaintenanceEntry) -> bool:
        """True when both record the same event (the note aside)."""
        return self.same_time(other) and all(
            getattr(self, f) == getattr(other, f) for f in _KIND_FIELDS[self.kind]
        )


class Device(_Frozen):
    """A meter, inverter, battery, charger or sensor that publishes telemetry."""

    id: str = Field(pattern=_ID_PATTERN)
    kind: DeviceKind
    role: Role
    name: str | None = None
    parent: str | None = Field(default=None, description="id of the meter this one is under")
    tenant: str | None = None
    building: str | None = None
    floor: int | None = None
    units: dict[str, str] = Field(default_factory=dict, description="field -> unit overrides")
    multiplier: float = Field(default=1.0, gt=0, description="register multiplier (CT x PT)")
    capacity_kw: float | None = Field(default=None, gt=0)
    dc_kwp: float | None = Field(
        default=None, gt=0, description="PV array DC nameplate at STC [kWp] (IEC 61724-1 P0)"
    )
    capacity_kwh: float | None = Field(default=None, gt=0)
    limits: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description="field -> (min, max) plausible values, in the field's canonical unit",
    )
    register_width: int | None = Field(
        default=None, ge=3, le=15, description="digits of the register display: it rolls over"
    )
    tilt_deg: float | None = Field(default=None, ge=0, le=90, description="PV module tilt")
    azimuth_deg: float | None = Field(
        default=None, ge=0, lt=360, description="PV module azimuth, clockwise from north"
    )
    dispatch: DispatchPolicy | None = Field(default=None, description="battery controller")
    round_trip_efficiency: float | None = Field(default=None, gt=0, le=1)
    peak_limit_kw: float | None = Field(
        default=None, gt=0, description="peak shaving: keep the park's import below this"
    )
    loss_fraction: float | None = Field(
        default=None, ge=0, lt=0.5, description="losses between this meter and its sub-meters"
    )
    voltage_v: float = Field(
        default=400.0, gt=0, description="nominal line-to-line voltage [V] of a meter's supply"
    )
    expected_interval_s: int | None = Field(
        default=None,
        ge=1,
        le=31 * 86_400,
        description="seconds between readings the device is expected to report; else learned",
    )
    maintenance: tuple[MaintenanceEntry, ...] = Field(
        default=(), description="maintenance log: replacements, multiplier and width changes"
    )
    retired: AwareDatetime | None = Field(
        default=None,
        description="from this instant its readings are quarantined (reason retired); what it "
        "stored before stays, in the ledger and reports too",
    )

    @model_validator(mode="after")
    def _maintenance_is_consistent(self) -> Device:
        if self.maintenance and not any(s.cumulative for s in KINDS[self.kind].values()):
            raise ValueError(f"maintenance: a {self.kind.value} has no register to maintain")
        registers = [n for n, s in KINDS[self.kind].items() if s.cumulative]
        for i, entry in enumerate(self.maintenance):
            if entry.meter_register is not None and entry.meter_register not in registers:
                raise ValueError(
                    f"maintenance.{i}.meter_register: a {self.kind.value} has no register "
                    f"{entry.meter_register!r} (registers: {', '.join(registers)})"
                )
            for other in self.maintenance[:i]:
                if entry.same_time(other) and not entry.same_event(other):
                    raise ValueError(
                        f"maintenance: two different {entry.kind} entries at {entry.at.isoformat()}"
                    )
        return self

    @model_validator(mode="after")
    def _units_are_known(self) -> Device:
        fields = KINDS[self.kind]
        unknown = sorted(set(self.units) - set(fields))
        if unknown:
            raise ValueError(
                f"units given for fields a {self.kind.value} does not have: {', '.join(unknown)}"
            )
        for name, unit in self.units.items():
            try:
                converter(fields[name].quantity, unit)
            except UnknownUnitError as exc:
                raise ValueError(f"field {name!r}: {exc}") from exc
        for name, (low, high) in self.limits.items():
            if name not in fields:
                raise ValueError(
                    f"limits given for a field a {self.kind.value} does not have: {name}"
                )
            if low >= high:
                raise ValueError(f"limits of {name!r}: min must be below max")
        return self

    @property
    def fields(self) -> Mapping[str, FieldSpec]:
        """The fields this device's payloads carry."""
        return KINDS[self.kind]

    def unit_of(self, field: str) -> str:
        """The unit this device reports ``field`` in."""
        return self.units.get(field, KINDS[self.kind][field].default_unit)

    def plausible(self, field: str) -> tuple[float, float]:
        """The (min, max) a value of ``field`` may take, in its canonical unit.

        The device's own ``limits`` win; otherwise a rated ``capacity_kw`` bounds power at
        ±1.5 × capacity; otherwise the kind's defaults apply.
        """
        if field in self.limits:
            return self.limits[field]
        spec = KINDS[self.kind][field]
        if spec.quantity is Quantity.POWER and self.capacity_kw is not None:
            bound = _CAPACITY_MARGIN * self.capacity_kw
            return (-bound, bound)
        return spec.plausible


class Viewer(Protocol):
    """Who looks at a park: whether they may see a tenant's data (``tenant_id`` None: the
    park-level, shared data). :class:`config.auth.Principal` is one."""

    def sees_tenant(self, park_id: str, tenant_id: str | None) -> bool:
        """Whether data of ``tenant_id`` in park ``park_id`` is visible."""
        ...


class ParkRegistry(_Frozen):
    """One park with everything in it, cross-checked."""

    park: Park
    tenants: tuple[Tenant, ...] = ()
    buildings: tuple[Building, ...] = ()
    devices: tuple[Device, ...] = ()

    @property
    def id(self) -> str:
        """The park's id."""
        return self.park.id

    def device(self, device_id: str) -> Device | None:
        """The device with this id, or None."""
        return self._device_index().get(device_id)

    def visible_to(self, viewer: Viewer) -> ParkRegistry:
        """The park as ``viewer`` (an API principal, :class:`config.auth.Principal`) may see it.

        A viewer that sees park-level data sees the whole park (this object). Otherwise (a tenant
        key) only the tenants it sees, the floors they occupy (in their buildings) and their own
        devices remain; a building stays when it holds such a floor or device.
        """
        if viewer.sees_tenant(self.id, None):
            return self
        devices = tuple(d for d in self.devices if viewer.sees_tenant(self.id, d.tenant))
        buildings = []
        for b in self.buildings:
            floors = tuple(f for f in b.floors if viewer.sees_tenant(self.id, f.tenant))
            if floors or any(d.building == b.id for d in devices):
                buildings.append(b.model_copy(update={"floors": floors}))
        seen = self.model_copy(
            update={
                "tenants": tuple(t for t in self.tenants if viewer.sees_tenant(self.id, t.id)),
                "buildings": tuple(buildings),
                "devices": devices,
            }
        )
        seen.__dict__.pop("_index", None)  # the whole park's device index, copied with the model
        return seen

    def _device_index(self) -> dict[str, Device]:
        index: dict[str, Device] | None = self.__dict__.get("_index")
        if index is None:
            index = {d.id: d for d in self.devices}
            object.__setattr__(self, "_index", index)  # cache on a frozen model
        return index


@dataclass(frozen=True)
class Registry:
    """All parks this deployment knows, by id, and the files they came from."""

    parks: Mapping[str, ParkRegistry]
    sources: Mapping[str, Path]

    def park(self, park_id: str) -> ParkRegistry | None:
        """The park with this id, or None."""
        return self.parks.get(park_id)

    def device(self, park_id: str, device_id: str) -> Device | None:
        """The device ``device_id`` of park ``park_id``, or None."""
        park = self.parks.get(park_id)
        return park.device(device_id) if park else None


def demo_registry_path() -> Path:
    """Path of the demo park shipped with the package (a Wuhan high-tech park)."""
    return Path(str(resources.files("config") / "parks" / "demo.yaml"))


MAX_REGISTRY_FILE_BYTES = 64 * 1024 * 1024
"""Largest registry file read [bytes]; a 10,000-device park is about 2 MB of YAML."""

MAX_REGISTRY_DEVICES = 200_000
"""Most devices in one registry (all parks together); beyond it, split the deployment."""


def load_registry(
    path: Path | None = None,
    *,
    approved: Path | None = None,
    max_file_bytes: int = MAX_REGISTRY_FILE_BYTES,
    max_devices: int = MAX_REGISTRY_DEVICES,
) -> Registry:
    """Load and validate a registry file, or every ``*.yaml`` in a folder.

    ``approved`` is the folder of devices approved at run time (:func:`approved_dir`); its
    ``*.approved.yaml`` files are merged into their parks (:func:`merge_approved`) and checked
    with them. Files above ``max_file_bytes`` [bytes] are refused before parsing, and a registry
    of more than ``max_devices`` devices is refused. Raises :class:`RegistryError` listing every
    problem found, each with file and line.
    """
    path = path or demo_registry_path()
    if path.is_dir():
        files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
        if not files:
            raise RegistryError([Problem(str(path), 0, "no *.yaml registry files in this folder")])
    elif path.exists():
        files = [path]
    else:
        raise RegistryError([Problem(str(path), 0, "registry file not found")])

    problems: list[Problem] = []
    parks: dict[str, ParkRegistry] = {}
    sources: dict[str, Path] = {}
    devices = 0
    for file in files:
        park, park_problems = _load_park_file(file, max_file_bytes)
        problems.extend(park_problems)
        if park is None:
            continue
        devices += len(park.devices)
        if devices > max_devices:
            problems.append(
                Problem(
                    str(file),
                    1,
                    f"the registry holds {devices:,} devices with this park, more than "
                    f"{max_devices:,}; split the parks over several deployments",
                )
            )
            continue
        if park.id in parks:
            problems.append(
                Problem(str(file), 1, f"park id {park.id!r} already defined in {sources[park.id]}")
            )
            continue
        parks[park.id] = park
        sources[park.id] = file
    if problems:
        raise RegistryError(problems)
    registry = Registry(parks=parks, sources=sources)
    if approved is not None:
        registry = merge_approved(registry, _approved_files(approved), max_file_bytes)
    return registry


# -- devices approved at run time (services/provisioning.py) --------------------------------------

APPROVED_SUFFIX = ".approved.yaml"
"""Name ending of a file of approved devices: ``<park id>.approved.yaml``."""

REGISTRY_POLL_S = 2.0
"""How often a process looks for changed approved devices [s] (:class:`RegistryWatch`)."""


class _ApprovedFile(_Frozen):
    """Devices an operator approved into a park at run time, kept apart from the hand-edited
    registry so that the service only ever writes a file of its own."""

    park: str = Field(pattern=_ID_PATTERN)
    devices: tuple[Device, ...] = ()
    retired: dict[str, AwareDatetime] = Field(
        default_factory=dict, description="device id -> when it was retired (any device)"
    )


def approved_dir(data_dir: Path) -> Path:
    """The folder of approved devices under the data folder ``data_dir``: ``registry.d``."""
    return data_dir / "registry.d"


def approved_file(folder: Path, park_id: str) -> Path:
    """The file of devices approved into park ``park_id`` in ``folder``."""
    return folder / f"{park_id}{APPROVED_SUFFIX}"


def _approved_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"*{APPROVED_SUFFIX}")) if folder.is_dir() else []


def with_devices(park: ParkRegistry, devices: Sequence[Device]) -> ParkRegistry:
    """``park`` with ``devices`` added after its own (not cross-checked: :func:`cross_check`)."""
    merged = park.model_copy(update={"devices": (*park.devices, *devices)})
    merged.__dict__.pop("_index", None)  # the old device index, copied with the model
    return merged


def replace_device(park: ParkRegistry, device: Device) -> ParkRegistry:
    """``park`` with its device of the same id as ``device`` replaced by ``device``."""
    devices = tuple(device if d.id == device.id else d for d in park.devices)
    replaced = park.model_copy(update={"devices": devices})
    replaced.__dict__.pop("_index", None)
    return replaced


def cross_check(park: ParkRegistry) -> list[tuple[tuple[str | int, ...], str]]:
    """The references between a park's entries that do not hold, as (location, message): what
    ``smartpark check-config`` reports beyond the structure."""
    return list(_cross_check(park))


def merge_approved(
    registry: Registry, files: Iterable[Path], max_file_bytes: int = MAX_REGISTRY_FILE_BYTES
) -> Registry:
    """``registry`` with the devices of each approved file (``park:`` and ``devices:``) added to
    its park, checked as ``check-config`` checks a park. Raises :class:`RegistryError` with every
    problem at its file and line."""
    parks = dict(registry.parks)
    problems: list[Problem] = []
    for file in files:
        try:
            doc = read_yaml(file, max_bytes=max_file_bytes)
            extra = _ApprovedFile.model_validate(doc.data)
        except YamlFileError as exc:
            problems.extend(exc.problems)
            continue
        except ValidationError as exc:
            problems.extend(doc.problems(exc, describe=_describe))
            continue
        park = parks.get(extra.park)
        if park is None:
            problems.append(doc.problem(("park",), f"park {extra.park!r} is not in the registry"))
            continue
        merged = with_devices(park, extra.devices)
        base = len(park.devices)
        found = False
        for loc, msg in _cross_check(merged):
            if len(loc) >= 2 and loc[0] == "devices" and isinstance(loc[1], int) and loc[1] >= base:
                problems.append(doc.problem(("devices", loc[1] - base, *loc[2:]), msg))
                found = True
            elif loc[:1] == ("devices",) and len(loc) == 1:
                continue  # a park-wide finding the hand-edited file already answers for
            else:
                problems.append(doc.problem((), msg))
                found = True
        for device_id, at in extra.retired.items():
            device = merged.device(device_id)
            if device is None:
                loc = ("retired", device_id)
                problems.append(
                    doc.problem(loc, f"retired device {device_id!r} is not in the park")
                )
                found = True
            else:
                merged = replace_device(merged, device.model_copy(update={"retired": at}))
        if not found:
            parks[park.id] = merged
    if problems:
        raise RegistryError(problems)
    return Registry(parks=parks, sources=registry.sources)


class RegistryWatch:
    """The registry of a running process, with the approved devices merged in again whenever
    they change.

    The hand-edited registry is read once: ``registry`` when given (as loaded, without approved
    devices), else the file or folder ``path``. :meth:`poll` looks at the approved files in
    ``approved`` (name, size, modification time) at most every ``poll_s`` [s]; when they changed
    it merges them into that registry again (:func:`merge_approved`). A merge that fails
    validation keeps the registry in use and logs one line.
    """

    def __init__(
        self,
        path: Path | None,
        approved: Path,
        registry: Registry | None = None,
        *,
        poll_s: float = REGISTRY_POLL_S,
        clock_s: Callable[[], float] = time.monotonic,
    ) -> None:
        self.approved = approved
        self.poll_s = poll_s
        self._clock_s = clock_s
        self._lock = threading.Lock()
        self._next_s = 0.0
        self.listeners: list[Callable[[Registry], None]] = []
        """Called with each registry :meth:`poll` loads (the live stream, the alarm engine)."""
        if registry is None:
            self._base = load_registry(path)
            self._seen = self._signature()
            registry = merge_approved(self._base, _approved_files(approved))
        else:
            self._base = registry
            self._seen = ()  # the first poll that finds approved files merges them
        self.registry = registry

    def _signature(self) -> tuple[tuple[str, int, int], ...]:
        out = []
        for file in _approved_files(self.approved):
            try:
                st = file.stat()
            except OSError:
                continue  # replaced between the listing and the stat: the next poll sees it
            out.append((file.name, st.st_mtime_ns, st.st_size))
        return tuple(out)

    def poll(self, *, force: bool = False) -> Registry | None:
        """The reloaded registry when the approved files changed since the last look, else None
        (also when it is not yet time to look, or the new files do not validate)."""
        now = self._clock_s()
        if (not force and now < self._next_s) or not self._lock.acquire(blocking=False):
            return None
        try:
            self._next_s = now + self.poll_s
            seen = self._signature()
            if seen == self._seen:
                return None
            self._seen = seen
            try:
                registry = merge_approved(self._base, _approved_files(self.approved))
            except RegistryError as exc:
                first = exc.problems[0] if exc.problems else "?"
                log.error(
                    "approved devices changed but do not validate; keeping the registry in use "
                    "(%d problems, first: %s)",
                    len(exc.problems),
                    first,
                )
                return None
            self.registry = registry
            log.info("registry reloaded: approved devices in %s changed", self.approved)
            for listener in self.listeners:
                try:
                    listener(registry)
                except Exception:  # one consumer's failure must not keep the others stale
                    log.exception("registry reloaded: a listener failed")
            return registry
        finally:
            self._lock.release()


# -- loading with line numbers (config/yamlfile.py) -----------------------------------------------

_Loc = tuple[str | int, ...]


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Python's cyclic garbage collector paused (then restored): parsing and validating a park
    file makes ~20 objects per device and no cycles to collect, yet each collection of the
    oldest generation walks every object alive, so a large registry took twice as long (100
    parks, 55,023 devices: 11.7 → 5.7 s, docs/benchmarks.md "Kept park reports"). Paused for
    the whole process, for the seconds of one park file."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _load_park_file(file: Path, max_file_bytes: int) -> tuple[ParkRegistry | None, list[Problem]]:
    with _no_cyclic_gc():
        return _read_park_file(file, max_file_bytes)


def _read_park_file(file: Path, max_file_bytes: int) -> tuple[ParkRegistry | None, list[Problem]]:
    try:
        doc = read_yaml(file, max_bytes=max_file_bytes)
    except YamlFileError as exc:
        return None, exc.problems
    if not isinstance(doc.data, dict):
        return None, [doc.problem((), "a registry file must be a mapping with a 'park' key")]
    try:
        park = ParkRegistry.model_validate(doc.data)
    except ValidationError as exc:
        return None, doc.problems(exc, describe=_describe)
    problems = [doc.problem(loc, msg) for loc, msg in _cross_check(park)]
    return (park if not problems else None), problems


def _describe(err: Mapping[str, Any]) -> str:
    if err["type"] == "string_pattern_mismatch":
        where = ".".join(str(p) for p in err["loc"])
        return (
            f"{where}: {err['input']!r} is not a valid id: use lowercase letters, digits, '.', "
            "'_' or '-' (at most 64, starting with a letter or digit)"
        )
    return describe_error(err)


def _cross_check(reg: ParkRegistry) -> Iterable[tuple[_Loc, str]]:
    """References between entries: every problem as (location, message)."""
    tenants = {t.id for t in reg.tenants}
    buildings = {b.id: b for b in reg.buildings}
    yield from _duplicates("tenants", [t.id for t in reg.tenants])
    yield from _duplicates("buildings", [b.id for b in reg.buildings])
    yield from _duplicates("devices", [d.id for d in reg.devices])
    for bi, building in enumerate(reg.buildings):
        for fi, floor in enumerate(building.floors):
            if floor.tenant is not None and floor.tenant not in tenants:
                loc: _Loc = ("buildings", bi, "floors", fi, "tenant")
                yield loc, f"floor {floor.number} names unknown tenant {floor.tenant!r}"
    devices = {d.id: d for d in reg.devices}
    for di, dev in enumerate(reg.devices):
        at: _Loc = ("devices", di)
        if dev.parent is not None:
            parent = devices.get(dev.parent)
            if parent is None:
                yield (*at, "parent"), f"device {dev.id!r}: unknown parent meter {dev.parent!r}"
            elif parent.kind not in _METER_KINDS:
                yield (*at, "parent"), f"device {dev.id!r}: parent {dev.parent!r} is not a meter"
        if dev.kind is DeviceKind.PRODUCTION_COUNTER and dev.tenant is None:
            # energy per unit of product is a tenant's figure: a count of nobody's product is noise
            yield (*at, "tenant"), f"device {dev.id!r}: a production_counter must name a tenant"
        if dev.tenant is not None and dev.tenant not in tenants:
            yield (*at, "tenant"), f"device {dev.id!r}: unknown tenant {dev.tenant!r}"
        if dev.building is not None and dev.building not in buildings:
            yield (*at, "building"), f"device {dev.id!r}: unknown building {dev.building!r}"
        if dev.floor is not None:
            if dev.building is None:
                yield (*at, "floor"), f"device {dev.id!r}: a floor needs a building"
            elif dev.building in buildings and dev.floor not in {
                f.number for f in buildings[dev.building].floors
            }:
                yield (
                    (*at, "floor"),
                    f"device {dev.id!r}: building {dev.building!r} has no floor {dev.floor}",
                )
    yield from _parent_cycles(reg.devices)
    grid = [d.id for d in reg.devices if d.role is Role.GRID_CONNECTION]
    if reg.devices and not grid:
        yield ("devices",), "no device has role grid_connection (the park's utility meter)"


_METER_KINDS = frozenset(
    {
        DeviceKind.ELECTRICITY_METER,
        DeviceKind.GAS_METER,
        DeviceKind.HEAT_METER,
        DeviceKind.WATER_METER,
    }
)


def _duplicates(section: str, ids: list[str]) -> Iterable[tuple[_Loc, str]]:
    seen: set[str] = set()
    for i, ident in enumerate(ids):
        if ident in seen:
            yield (section, i, "id"), f"{section[:-1]} id {ident!r} is used twice"
        seen.add(ident)


def _parent_cycles(devices: tuple[Device, ...]) -> Iterable[tuple[_Loc, str]]:
    parent = {d.id: d.parent for d in devices}
    for i, dev in enumerate(devices):
        seen = {dev.id}
        cur = parent.get(dev.id)
        while cur is not None and cur in parent:
            if cur in seen:
                yield ("devices", i, "parent"), f"device {dev.id!r}: parent meters form a loop"
                break
            seen.add(cur)
            cur = parent[cur]
