"""Product carbon footprints of a tenant, gate to gate: energy and CO2e per unit of each product
its production counters count, per local month and over the period (ISO 14067:2018, GB/T
24067-2024; formula and allocation in :mod:`analytics.footprint`, docs/footprint.md).

**Inputs.** The tenant's energy balance (:func:`services.energy.energy_balance`): electricity
(``electricity_kwh``, the tenant's highest load meters), natural gas (``gas_m3``) and — only when
the accounting profile says its heat meters measure *purchased* heat (``purchased_heat``) — heat
(``heat_kwh``; heat made on site from gas or electricity is already counted in them). Certified
green electricity: the green instruments matched to the tenant month by month under the profile
(:func:`services.indicators.green.certified_green`). Output: each production counter of the
tenant (a device of kind ``production_counter``), one product per counter. Factors: the
effective-dated footprint table ``config/data/footprint_factors.yaml`` (looked up on the
period's first day) and the standard-coal table at the profile's electricity method.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import get_args

import numpy as np

from analytics.footprint import (
    AllocationRule,
    CarrierEnergy,
    FootprintError,
    FootprintFactors,
    ProductFootprint,
    carrier_energy,
    energy_kgce,
    footprint_kgco2e,
    product_footprints,
)
from config.accounting import AccountingProfile
from config.errors import InvalidRequestError, NotFoundError
from config.factors import (
    Factor,
    FactorNotFoundError,
    FactorTable,
    coal_equivalents,
    load_factor_table,
)
from config.messages import template
from config.registry import Device, DeviceKind, ParkRegistry, Tenant
from services.accounting import profile_for
from services.energy import Figure, LedgerFn, Scope, energy_balance
from services.indicators.green import InstrumentSource, certified_green, stored_instruments
from services.indicators.model import FactorUsed, PeriodError, local_period
from services.ledger import device_ledger
from store.base import Store

__all__ = [
    "BOUNDARY",
    "CarrierMonth",
    "FootprintNotFoundError",
    "FootprintRequestError",
    "Product",
    "TenantFootprint",
    "footprint_factors",
    "tenant_footprint",
]

BOUNDARY: tuple[str, str] = (
    template("footprint_boundary.gate_to_gate", "zh"),
    template("footprint_boundary.gate_to_gate", "en"),
)
"""(zh, en) the system boundary every footprint states (the message catalogue's)."""

_NATIONAL = "CN"
_METHOD_KEYS = {
    "calorific_value": "electricity_equivalent",
    "coal_equivalent": "electricity_coal_consumption",
}
_MJ_PER_KWH = 3.6
_GJ_PER_KWH = 0.0036


class FootprintRequestError(InvalidRequestError):
    """A footprint that cannot be asked for: bad period, rule or declaration."""


class FootprintNotFoundError(NotFoundError):
    """A tenant the park does not have, or one without a production counter."""


@functools.cache
def footprint_factors() -> FactorTable:
    """The shipped footprint-factor table (``config/data/footprint_factors.yaml``)."""
    return load_factor_table(name="footprint_factors.yaml")


@dataclass(frozen=True, slots=True)
class CarrierMonth:
    """The tenant's energy in one local month: ``electricity_kwh``, ``green_kwh``, ``heat_kwh``
    [kWh], ``gas_m3`` [m³] and the completeness [%] of the least complete carrier used."""

    label: str
    electricity_kwh: float
    green_kwh: float
    gas_m3: float
    heat_kwh: float
    completeness_pct: float


@dataclass(frozen=True, slots=True)
class Product:
    """One product (its counter), the declared mass or value per unit used to allocate
    (None for ``counter``) and its footprint per month and over the period."""

    counter: str
    name: str
    declared_per_unit: float | None
    footprint: ProductFootprint


@dataclass(frozen=True, slots=True)
class TenantFootprint:
    """Footprints of every product of a tenant over ``period`` (a year or a month)."""

    park: str
    tenant: str
    tenant_name: str
    period: str
    months: tuple[CarrierMonth, ...]
    rule: AllocationRule
    products: tuple[Product, ...]
    factors: tuple[FactorUsed, ...]
    profile: AccountingProfile
    heat_included: bool
    kgco2e: tuple[float, ...]  # the site's CO2e per month [kgCO2e]
    kgce: tuple[float, ...]  # the site's energy per month [kgce]

    @property
    def completeness_pct(self) -> float:
        """The least complete month's completeness [%]."""
        return min((m.completeness_pct for m in self.months), default=0.0)


def _lookup(table: FactorTable, key: str, on: date) -> Factor:
    try:
        return table.lookup(key, _NATIONAL, on)
    except FactorNotFoundError as exc:
        raise FootprintRequestError(f"no factor for {on}: {exc}") from None


def _factors(
    profile: AccountingProfile, on: date, heat: bool
) -> tuple[FootprintFactors, list[Factor]]:
    fp, coal = footprint_factors(), coal_equivalents()
    elec = _lookup(fp, "electricity_footprint", on)
    green = _lookup(fp, "green_electricity_footprint", on)
    gas = _lookup(fp, "natural_gas_footprint", on)
    heat_f = _lookup(fp, "purchased_heat_footprint", on)
    elec_ce = _lookup(coal, _METHOD_KEYS[profile.electricity_method], on)
    gas_ce = _lookup(coal, "natural_gas", on)
    heat_ce = _lookup(coal, "heat", on)
    used = [elec, green, gas, elec_ce, gas_ce] + ([heat_f, heat_ce] if heat else [])
    return (
        FootprintFactors(
            electricity=elec.value,
            green_electricity=green.value,
            gas=gas.value,
            heat=heat_f.value * _GJ_PER_KWH,  # [kgCO2e/GJ] → [kgCO2e/kWh]
            electricity_kgce=elec_ce.value,
            gas_kgce=gas_ce.value,
            heat_kgce=heat_ce.value * _MJ_PER_KWH,  # [kgce/MJ] → [kgce/kWh]
        ),
        used,
    )


def _monthly(
    fig: Figure | None, start_ns: np.ndarray, interval_s: int, tz: str, n: int
) -> tuple[np.ndarray, np.ndarray]:
    if fig is None:
        return np.zeros(n), np.full(n, 100.0)
    r = fig.rollup(start_ns, interval_s, tz, "month")
    return np.asarray(r.energy, dtype=np.float64), np.asarray(r.completeness_pct, dtype=np.float64)


def _check_request(
    park: ParkRegistry, tenant: str, rule: str, declared: Mapping[str, float] | None
) -> tuple[Tenant, list[Device], AllocationRule, list[float] | None]:
    """The tenant, its counters, the rule and the declared value per counter (in order)."""
    info = next((t for t in park.tenants if t.id == tenant), None)
    if info is None:
        raise FootprintNotFoundError(f"park {park.id!r} has no tenant {tenant!r}")
    counters = [
        d for d in park.devices if d.kind is DeviceKind.PRODUCTION_COUNTER and d.tenant == tenant
    ]
    if not counters:
        raise FootprintNotFoundError(
            f"tenant {tenant!r} has no production counter: a footprint per unit needs one"
        )
    if rule not in get_args(AllocationRule):
        raise FootprintRequestError(
            f"allocation {rule!r}: use one of {', '.join(get_args(AllocationRule))}"
        )
    chosen: AllocationRule = rule  # type: ignore[assignment]  # checked above
    declared = dict(declared or {})
    per_unit = None
    if chosen != "counter":
        unknown = sorted(set(declared) - {c.id for c in counters})
        missing = [c.id for c in counters if c.id not in declared]
        if unknown or missing:
            raise FootprintRequestError(
                f"allocation by {chosen} needs a declared {chosen} per unit for every counter "
                f"(missing: {', '.join(missing) or 'none'}; "
                f"unknown: {', '.join(unknown) or 'none'})"
            )
        per_unit = [declared[c.id] for c in counters]
        if not all(math.isfinite(v) and v > 0 for v in per_unit):
            raise FootprintRequestError(f"the declared {chosen} per unit must be > 0")
    return info, counters, chosen, per_unit


def tenant_footprint(
    store: Store,
    park: ParkRegistry,
    tenant: str,
    period: str,
    *,
    rule: str = "counter",
    declared: Mapping[str, float] | None = None,
    interval_s: int = 900,
    instruments: InstrumentSource = stored_instruments,
    ledger: LedgerFn = device_ledger,
) -> TenantFootprint:
    """The footprint of each product of ``tenant`` over ``period`` (``YYYY`` or ``YYYY-MM``,
    local), allocated by ``rule`` (``counter``, ``mass``, ``value``) with ``declared`` mass
    [kg/unit] or value [CNY/unit] per counter id.

    Raises :class:`FootprintNotFoundError` for an unknown tenant or one without a production
    counter, :class:`FootprintRequestError` for a bad period, rule or declaration."""
    info, counters, chosen, per_unit = _check_request(park, tenant, rule, declared)
    tz = park.park.timezone
    try:
        when = local_period(period, tz)
    except PeriodError as exc:
        raise FootprintRequestError(str(exc)) from None
    if when.kind not in ("year", "month"):
        raise FootprintRequestError(f"period {period!r}: give a year (YYYY) or a month (YYYY-MM)")
    profile = profile_for(store, park, when.first_day.year)
    heat = profile.purchased_heat
    factors, used = _factors(profile, when.first_day, heat)

    scope = Scope("tenant", tenant)
    common = {
        "start_ns": when.start_ns,
        "end_ns": when.end_ns,
        "interval_s": interval_s,
        "ledger": ledger,
    }
    bal = energy_balance(store, park, scope, **common)  # type: ignore[arg-type]
    labels = (
        bal.figures[0].rollup(bal.start_ns, interval_s, tz, "month").label if bal.figures else ()
    )
    n = len(labels)
    elec, c_elec = _monthly(bal.figure("electricity_kwh"), bal.start_ns, interval_s, tz, n)
    gas, c_gas = _monthly(bal.figure("gas_m3"), bal.start_ns, interval_s, tz, n)
    heat_kwh, c_heat = _monthly(
        bal.figure("heat_kwh") if heat else None, bal.start_ns, interval_s, tz, n
    )
    units = np.zeros((n, len(counters)))
    c_units = np.full(n, 100.0)
    for j, c in enumerate(counters):
        dev = energy_balance(store, park, Scope("device", c.id), **common)  # type: ignore[arg-type]
        u, cu = _monthly(dev.figures[0] if dev.figures else None, dev.start_ns, interval_s, tz, n)
        units[:, j] = u
        c_units = np.minimum(c_units, cu)
    green = np.zeros(n)
    for k, label in enumerate(labels):
        month = local_period(label, tz)
        green[k] = min(
            certified_green(
                store,
                park,
                scope,
                month,
                profile,
                source=instruments,
                interval_s=interval_s,
                ledger=ledger,
            ).kwh,
            float(elec[k]),
        )
    try:
        energy: CarrierEnergy = carrier_energy(elec, green_kwh=green, gas_m3=gas, heat_kwh=heat_kwh)
        prods = product_footprints(energy, units, factors, rule=chosen, per_unit=per_unit)
    except FootprintError as exc:
        raise FootprintRequestError(str(exc)) from None
    completeness = np.minimum.reduce([c_elec, c_gas, c_heat, c_units])
    months = tuple(
        CarrierMonth(
            labels[k],
            float(elec[k]),
            float(green[k]),
            float(gas[k]),
            float(heat_kwh[k]),
            float(completeness[k]),
        )
        for k in range(n)
    )
    return TenantFootprint(
        park=park.id,
        tenant=tenant,
        tenant_name=info.name,
        period=when.label,
        months=months,
        rule=chosen,
        products=tuple(
            Product(c.id, c.name or c.id, None if per_unit is None else per_unit[j], prods[j])
            for j, c in enumerate(counters)
        ),
        factors=tuple(FactorUsed.of(f) for f in used),
        profile=profile,
        heat_included=heat,
        kgco2e=tuple(float(v) for v in footprint_kgco2e(energy, factors)),
        kgce=tuple(float(v) for v in energy_kgce(energy, factors)),
    )
