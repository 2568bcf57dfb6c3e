"""Energy balances of a park, a building, a floor, a tenant or a device, by local period.

Meters are read through their interval ledgers (:func:`services.ledger.device_ledger`, or any
function of the same shape, e.g. one that reads the stored ledger) on one grid of intervals, then
combined into *figures* — grid import, PV generation, load, gas … — and rolled up by local hour,
day, month or year with :func:`analytics.calendar.rollup`.

Composition rules (see docs/analytics.md, "Energy balances and indicators"):

* a figure is the sum of the **highest** meters of its kind in the scope: a meter whose parent
  chain holds another meter of the same kind in the scope is already counted by it, so parents
  and children are never added together;
* electricity consumption meters are roles ``feeder``, ``load`` and ``ev_charging``; every other
  role (``gas``, ``heat``, ``water`` and roles added later) gives one figure per register;
* an interval of a figure is known only when every meter feeding it is known; its quality is the
  worst of theirs, so a period's completeness says how much of it the figure rests on: the
  *known* share for totals (:meth:`Figure.known_pct`, exact totals, gaps between two readings
  included), the *measured* share for the 15-minute shape (:meth:`Figure.measured_pct`);
* the park's load is import − export + PV + battery discharge − battery charge
  (:func:`analytics.energy.electricity_balance`), and unmetered use and losses are that load minus
  the lowest consumption meters, and each parent meter minus its children.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from analytics.calendar import Period, Rollup, rollup
from analytics.intervals import DEFAULT_INTERVAL_S, Quality, known_pct, measured_pct
from config.errors import InvalidRequestError, NotFoundError
from config.registry import Device, ParkRegistry
from config.units import stored_field_name
from services.ledger import FieldLedger, device_ledger
from store.base import Store

__all__ = [
    "CONSUMPTION_ROLES",
    "Balance",
    "Figure",
    "LedgerFn",
    "Scope",
    "ScopeError",
    "Series",
    "SummingLedger",
    "UnknownScopeError",
    "energy_balance",
    "parse_scope",
    "scope_devices",
    "top_meters",
]

CONSUMPTION_ROLES = frozenset({"feeder", "load", "ev_charging"})
"""Roles of meters that measure electricity used in the park (their ``energy_kwh``)."""

# Registers a meter may lack (an import-only meter has no export register): absent, they count 0.
_OPTIONAL_REGISTERS = frozenset({"export_energy_kwh"})

# (role, register) -> figure name; any other pair is named generically (see _figure_name).
_ROLE_FIGURES: dict[tuple[str, str], str] = {
    ("grid_connection", "energy_kwh"): "grid_import_kwh",
    ("grid_connection", "export_energy_kwh"): "grid_export_kwh",
    ("pv", "energy_kwh"): "pv_generation_kwh",
    ("storage", "charge_energy_kwh"): "battery_charge_kwh",
    ("storage", "discharge_energy_kwh"): "battery_discharge_kwh",
    ("ev_charging", "energy_kwh"): "ev_charging_kwh",
}

LedgerFn = Callable[..., list[FieldLedger]]
"""``(store, park_id, device, *, start_ns, end_ns, interval_s) -> list[FieldLedger]``."""


@runtime_checkable
class SummingLedger(Protocol):
    """A :data:`LedgerFn` that can also give a figure's sum over several meters directly, with
    the totals, known and measured counts and period roll-ups that :func:`combine` of each
    meter's ledger gives (NaN and ``MISSING`` wherever a meter is unknown, else the sum, quality
    the worst) — the interval shape only where the ledger says so — without a series per meter
    (:meth:`services.rollup.RollupLedger.sum_series`)."""

    def __call__(
        self,
        store: Store,
        park_id: str,
        device: Device,
        *,
        start_ns: int,
        end_ns: int,
        interval_s: int,
    ) -> list[FieldLedger]: ...

    def sum_series(
        self,
        store: Store,
        park_id: str,
        devices: Sequence[Device],
        field: str,
        *,
        start_ns: int,
        end_ns: int,
        interval_s: int,
    ) -> FieldLedger | None:
        """Σ of register ``field`` over ``devices`` on the grid of ``[start_ns, end_ns)`` [ns,
        intervals of ``interval_s`` s], or None when it cannot (then each meter is read)."""


ScopeKind = Literal["park", "building", "floor", "tenant", "device"]


class ScopeError(InvalidRequestError):
    """A scope that is not written as ``park``, ``building:<id>``, ``floor:<building>/<n>``,
    ``tenant:<id>`` or ``device:<id>``."""


class UnknownScopeError(NotFoundError):
    """A scope naming a building, floor, tenant or device the park does not have."""


@dataclass(frozen=True, slots=True)
class Scope:
    """What a balance covers."""

    kind: ScopeKind
    id: str | None = None  # building, tenant or device id
    floor: int | None = None

    def __str__(self) -> str:
        if self.kind == "park":
            return "park"
        if self.kind == "floor":
            return f"floor:{self.id}/{self.floor}"
        return f"{self.kind}:{self.id}"


def parse_scope(text: str) -> Scope:
    """``park`` | ``building:<id>`` | ``floor:<building>/<n>`` | ``tenant:<id>`` | ``device:<id>``.

    Raises :class:`ScopeError` when the text has none of these forms.
    """
    text = text.strip()
    if text == "park":
        return Scope("park")
    kind, sep, rest = text.partition(":")
    if not sep or not rest:
        raise ScopeError(
            f"bad scope {text!r}: use park, building:<id>, floor:<building>/<n>, tenant:<id> "
            "or device:<id>"
        )
    if kind in ("building", "tenant", "device"):
        return Scope(kind, rest)  # type: ignore[arg-type]  # narrowed by the membership test
    if kind == "floor":
        building, slash, number = rest.rpartition("/")
        try:
            floor = int(number)
        except ValueError:
            floor = None
        if not slash or not building or floor is None:
            raise ScopeError(f"bad floor scope {text!r}: use floor:<building>/<number>")
        return Scope("floor", building, floor)
    raise ScopeError(f"unknown scope kind {kind!r}: use park, building, floor, tenant or device")


def scope_devices(park: ParkRegistry, scope: Scope) -> list[Device]:
    """The devices of ``park`` in ``scope``.

    A building holds the devices placed in it; a floor those placed on it; a tenant the devices
    assigned to it and those on a floor it rents that name no other tenant. Raises
    :class:`UnknownScopeError` for an unknown building, floor, tenant or device.
    """
    if scope.kind == "park":
        return list(park.devices)
    if scope.kind == "device":
        dev = park.device(scope.id or "")
        if dev is None:
            raise UnknownScopeError(f"unknown device {scope.id!r} in park {park.id!r}")
        return [dev]
    if scope.kind in ("building", "floor"):
        building = next((b for b in park.buildings if b.id == scope.id), None)
        if building is None:
            raise UnknownScopeError(f"unknown building {scope.id!r} in park {park.id!r}")
        if scope.kind == "building":
            return [d for d in park.devices if d.building == building.id]
        if all(f.number != scope.floor for f in building.floors):
            raise UnknownScopeError(f"building {building.id!r} has no floor {scope.floor}")
        return [d for d in park.devices if d.building == building.id and d.floor == scope.floor]
    if all(t.id != scope.id for t in park.tenants):
        raise UnknownScopeError(f"unknown tenant {scope.id!r} in park {park.id!r}")
    rented = {(b.id, f.number) for b in park.buildings for f in b.floors if f.tenant == scope.id}
    return [
        d
        for d in park.devices
        if d.tenant == scope.id or (d.tenant is None and (d.building, d.floor) in rented)
    ]


def top_meters(park: ParkRegistry, candidates: Iterable[Device]) -> list[Device]:
    """The candidates none of whose ancestors (parent, grandparent …) is also a candidate."""
    chosen = list(candidates)
    ids = {d.id for d in chosen}
    out = []
    for dev in chosen:
        seen: set[str] = set()
        parent = dev.parent
        while parent is not None and parent not in ids and parent not in seen:
            seen.add(parent)  # a cycle in a hand-edited registry must not hang the request
            above = park.device(parent)
            parent = above.parent if above is not None else None
        if parent is None or parent in seen:
            out.append(dev)
    return out


@dataclass(frozen=True, slots=True)
class Series:
    """Energy per interval (NaN = missing) and the worst quality code behind each interval."""

    energy: NDArray[np.float64]
    quality: NDArray[np.int8]

    @staticmethod
    def missing(n: int) -> Series:
        return Series(np.full(n, np.nan), np.full(n, int(Quality.MISSING), dtype=np.int8))

    @staticmethod
    def zero(n: int) -> Series:
        return Series(np.zeros(n), np.zeros(n, dtype=np.int8))


def combine(terms: Sequence[tuple[float, Series]], n: int) -> Series:
    """Σ sign × series, element-wise; NaN (missing) wherever any term is missing."""
    energy = np.zeros(n)
    quality = np.zeros(n, dtype=np.int8)
    for sign, s in terms:
        energy = energy + sign * s.energy
        quality = np.maximum(quality, s.quality)
    quality[np.isnan(energy)] = int(Quality.MISSING)
    return Series(energy, quality)


@dataclass(frozen=True, slots=True)
class Figure:
    """One line of a balance: its name, unit, the meters behind it and its interval series."""

    name: str
    unit: str
    devices: tuple[str, ...]
    series: Series
    note: str | None = None
    absent: bool = False  # no meter reports this optional register: the flow counts as 0

    def rollup(
        self, start_ns: NDArray[np.int64], interval_s: int, tz: str, period: Period
    ) -> Rollup:
        """This figure by local period (see :func:`analytics.calendar.rollup`)."""
        return rollup(
            start_ns,
            self.series.energy,
            self.series.quality,
            interval_s=interval_s,
            tz=tz,
            period=period,
        )

    def known(self) -> bool:
        """True when at least one interval is known."""
        return bool(np.isfinite(self.series.energy).any())

    def total(self) -> float:
        """Sum of the known intervals (NaN when none is known)."""
        return float(np.nansum(self.series.energy)) if self.known() else float("nan")

    def known_pct(self) -> float:
        """Share of intervals whose total is known from every input [%]: quality in
        :data:`analytics.intervals.KNOWN_TOTAL` (an hourly meter's quarter hours, interpolated
        inside each hour, are known). The completeness of totals and what derives from them."""
        return known_pct(self.series.quality)

    def measured_pct(self) -> float:
        """Share of intervals whose every input was measured, not spread over a gap [%]. The
        completeness of figures that need the 15-minute shape (peak demand, load factor, TOU)."""
        return measured_pct(self.series.quality)

    def completeness_pct(self) -> float:
        """Completeness of the figure's total [%]: the same as :meth:`known_pct` (the share of
        intervals whose total is known). For a figure that needs the interval shape use
        :meth:`measured_pct`."""
        return self.known_pct()


@dataclass(frozen=True, slots=True)
class Balance:
    """The figures of one scope on one grid of intervals ``[start_ns[0], end_ns)``."""

    park: str
    scope: Scope
    start_ns: NDArray[np.int64]
    interval_s: int
    figures: tuple[Figure, ...]

    def figure(self, name: str) -> Figure | None:
        """The figure of that name, or None."""
        return next((f for f in self.figures if f.name == name), None)


class _Registers:
    """Interval series of every register of some devices, on one grid, each device read through
    the ledger when a figure first needs it; a figure's sum over several meters is asked of the
    ledger first (:class:`SummingLedger`), when it can give it."""

    def __init__(
        self,
        store: Store,
        park: ParkRegistry,
        devices: Iterable[Device],
        *,
        start_ns: int,
        end_ns: int,
        interval_s: int,
        ledger: LedgerFn,
    ) -> None:
        self.step = interval_s * 1_000_000_000
        self.grid = np.arange(start_ns, end_ns, self.step, dtype=np.int64)
        self.n = self.grid.size
        self.units: dict[str, str] = {}
        self._series: dict[tuple[str, str], Series] = {}
        self._devices = {d.id: d for d in devices}
        self._read: set[str] = set()
        self._store, self._park, self._ledger = store, park, ledger
        self._span = {"start_ns": start_ns, "end_ns": end_ns, "interval_s": interval_s}

    def _load(self, device_id: str) -> None:
        if device_id in self._read:
            return
        self._read.add(device_id)
        dev = self._devices.get(device_id)
        if dev is None:
            return
        for result in self._ledger(self._store, self._park.id, dev, **self._span):
            self.units[result.field] = result.unit
            self._series[(dev.id, result.field)] = self._on_grid(result)

    def _on_grid(self, result: FieldLedger) -> Series:
        """The ledger placed on the grid (device_ledger already returns this grid; a stored
        ledger may hold fewer intervals)."""
        out = Series.missing(self.n)
        led = result.ledger
        if self.n == 0:
            return out
        offset = led.start_ns - self.grid[0]
        idx = offset // self.step
        ok = (idx >= 0) & (idx < self.n) & (offset % self.step == 0)
        out.energy[idx[ok]] = led.energy[ok]
        out.quality[idx[ok]] = led.quality[ok]
        return out

    def has(self, device_id: str, field: str) -> bool:
        self._load(device_id)
        return (device_id, field) in self._series

    def get(self, device_id: str, field: str) -> Series:
        """The register's series; all missing when it reported nothing (a silent meter)."""
        self._load(device_id)
        return self._series.get((device_id, field)) or Series.missing(self.n)

    def summed(self, meters: Sequence[Device], field: str) -> Series | None:
        """Σ of one register over ``meters`` as :func:`combine` gives it, from the ledger's
        :meth:`SummingLedger.sum_series`; None when the ledger has none or cannot give it."""
        if not isinstance(self._ledger, SummingLedger) or not meters:
            return None
        got = self._ledger.sum_series(self._store, self._park.id, meters, field, **self._span)
        if got is None:
            return None
        self.units[got.field] = got.unit
        out = self._on_grid(got)
        out.quality[np.isnan(out.energy)] = int(Quality.MISSING)
        return out


def _registers_of(dev: Device) -> list[str]:
    return [
        stored_field_name(name, spec.quantity)
        for name, spec in dev.fields.items()
        if spec.cumulative
    ]


def _figure_name(role: str, field: str) -> str:
    name = _ROLE_FIGURES.get((role, field))
    if name is not None:
        return name
    if field in ("energy_kwh", "volume_m3"):  # a meter's main register: gas_m3, heat_kwh …
        return f"{role}_{field.rsplit('_', 1)[1]}"
    return f"{role}_{field}"


def _unit_of(field: str, regs: _Registers) -> str:
    if field in regs.units:
        return regs.units[field]
    return "m3" if field.endswith("_m3") else "kWh"


def _sum_figure(
    name: str, field: str, meters: Sequence[Device], regs: _Registers, note: str | None = None
) -> Figure:
    """Σ of one register over meters; an optional register no meter reports counts as absent."""
    if field in _OPTIONAL_REGISTERS:
        reporting = [d for d in meters if regs.has(d.id, field)]
        if not reporting:
            return Figure(
                name,
                _unit_of(field, regs),
                tuple(d.id for d in meters),
                Series.missing(regs.n),
                note or "no meter reports this register; taken as 0 in derived figures",
                absent=True,
            )
        meters = reporting
        series = combine([(1.0, regs.get(d.id, field)) for d in meters], regs.n)
    else:
        summed = regs.summed(meters, field)
        series = (
            combine([(1.0, regs.get(d.id, field)) for d in meters], regs.n)
            if summed is None
            else summed
        )
    return Figure(name, _unit_of(field, regs), tuple(d.id for d in meters), series, note)


def _role_figures(park: ParkRegistry, devices: Sequence[Device], regs: _Registers) -> list[Figure]:
    """One figure per (role, register) for roles other than feeder/load, highest meters only."""
    roles: dict[str, list[Device]] = {}
    for dev in devices:
        if dev.role.value not in ("feeder", "load"):
            roles.setdefault(dev.role.value, []).append(dev)
    figures: list[Figure] = []
    for role, members in roles.items():
        top = top_meters(park, members)
        fields = sorted({f for d in top for f in _registers_of(d)})
        if role == "production":
            # units of different tenants are different products: never add them together
            tenants = sorted({d.tenant or "" for d in top})
            for tenant in tenants:
                own = [d for d in top if (d.tenant or "") == tenant]
                suffix = f":{tenant}" if len(tenants) > 1 else ""
                figures.extend(
                    _sum_figure(_figure_name(role, f) + suffix, f, own, regs) for f in fields
                )
            continue
        figures.extend(_sum_figure(_figure_name(role, f), f, top, regs) for f in fields)
    return figures


def _consumption_meters(devices: Iterable[Device]) -> list[Device]:
    return [
        d for d in devices if d.role.value in CONSUMPTION_ROLES and "energy_kwh" in _registers_of(d)
    ]


def _park_figures(park: ParkRegistry, regs: _Registers) -> list[Figure]:
    figures = _role_figures(park, park.devices, regs)
    by_name = {f.name: f for f in figures}
    n = regs.n

    def flow(name: str) -> Series:
        fig = by_name.get(name)
        if fig is None:
            return Series.zero(n)  # the park has no such meter: no such flow
        if fig.absent:
            return Series.zero(n)  # e.g. import-only grid meters: nothing exported
        return fig.series

    imp, exp = flow("grid_import_kwh"), flow("grid_export_kwh")
    pv, charge, discharge = (
        flow("pv_generation_kwh"),
        flow("battery_charge_kwh"),
        flow("battery_discharge_kwh"),
    )
    load = combine([(1.0, imp), (-1.0, exp), (1.0, pv), (1.0, discharge), (-1.0, charge)], n)
    sources = tuple(
        d
        for key in (
            "grid_import_kwh",
            "grid_export_kwh",
            "pv_generation_kwh",
            "battery_discharge_kwh",
            "battery_charge_kwh",
        )
        if key in by_name
        for d in by_name[key].devices
    )
    figures.append(
        Figure("load_kwh", "kWh", sources, load, "import − export + PV + discharge − charge")
    )
    if "pv_generation_kwh" in by_name:
        self_use = combine([(1.0, pv), (-1.0, exp)], n)
        figures.append(
            Figure(
                "pv_self_consumption_kwh",
                "kWh",
                by_name["pv_generation_kwh"].devices,
                Series(np.maximum(self_use.energy, 0.0), self_use.quality),
                "max(PV − export, 0) per interval: exports come from PV first",
            )
        )
    figures.extend(_unmetered_figures(park, load, sources, regs))
    return figures


def _unmetered_figures(
    park: ParkRegistry, load: Series, load_sources: tuple[str, ...], regs: _Registers
) -> list[Figure]:
    """Park load − the lowest consumption meters; and each parent meter − its children."""
    meters = _consumption_meters(park.devices)
    if not meters:
        return []
    ids = {d.id for d in meters}
    children: dict[str, list[Device]] = {}
    for dev in meters:
        if dev.parent in ids:
            children.setdefault(dev.parent, []).append(dev)
    leaves = [d for d in meters if d.id not in children]
    total = combine([(1.0, load)] + [(-1.0, regs.get(d.id, "energy_kwh")) for d in leaves], regs.n)
    figures = [
        Figure(
            "unmetered_kwh",
            "kWh",
            load_sources + tuple(d.id for d in leaves),
            total,
            "park load − Σ lowest consumption meters: unmetered use and losses "
            "(negative = the meters disagree)",
        )
    ]
    for parent_id, kids in children.items():
        series = combine(
            [(1.0, regs.get(parent_id, "energy_kwh"))]
            + [(-1.0, regs.get(d.id, "energy_kwh")) for d in kids],
            regs.n,
        )
        figures.append(
            Figure(
                f"unmetered_kwh:{parent_id}",
                "kWh",
                (parent_id, *(d.id for d in kids)),
                series,
                f"{parent_id} − Σ its {len(kids)} child meters",
            )
        )
    return figures


def _group_figures(park: ParkRegistry, devices: Sequence[Device], regs: _Registers) -> list[Figure]:
    figures = []
    consumers = top_meters(park, _consumption_meters(devices))
    if consumers:
        figures.append(
            _sum_figure(
                "electricity_kwh",
                "energy_kwh",
                consumers,
                regs,
                "Σ highest feeder/load/EV meters in scope (children of a counted meter are not "
                "added again)",
            )
        )
    figures.extend(_role_figures(park, devices, regs))
    return figures


def energy_balance(
    store: Store,
    park: ParkRegistry,
    scope: Scope,
    *,
    start_ns: int,
    end_ns: int,
    interval_s: int = DEFAULT_INTERVAL_S,
    ledger: LedgerFn = device_ledger,
) -> Balance:
    """The figures of ``scope`` per interval over ``[start_ns, end_ns)`` [ns, aligned to
    ``interval_s``].

    Raises :class:`UnknownScopeError` for a scope the park does not have.
    """
    devices = scope_devices(park, scope)
    regs = _Registers(
        store,
        park,
        [d for d in devices if _registers_of(d)],
        start_ns=start_ns,
        end_ns=end_ns,
        interval_s=interval_s,
        ledger=ledger,
    )
    if scope.kind == "park":
        figures = _park_figures(park, regs)
    elif scope.kind == "device":
        dev = devices[0]
        figures = [_sum_figure(field, field, [dev], regs) for field in _registers_of(dev)]
    else:
        figures = _group_figures(park, devices, regs)
    return Balance(park.id, scope, regs.grid, interval_s, tuple(figures))
