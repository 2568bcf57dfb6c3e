"""Indicators of a park — or of a building, floor or tenant of it — for one local day, month or
year: energy (tce), carbon, shares, intensities, microgrid, battery, PV and electricity cost
(time-of-use energy and demand charges), each with its unit, completeness and the factors and
prices it used.

The inputs are the scope's energy balance (:func:`services.energy.energy_balance`) over the
period; the factors come from the effective-dated tables of :mod:`config.factors`, the grid
factor of the park's province when the table has one, else of its grid region, else national;
prices from the park's ``tariff`` in the registry. An indicator that cannot be computed (no data,
no factor, a zero denominator, a park-level indicator asked of a part of the park) is ``None``
with a reason, never a made-up number. See docs/analytics.md, "Energy balances and indicators"."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from analytics import carbon, energy, microgrid, tariff
from analytics.calendar import Period
from analytics.energy import ElectricityMethod
from analytics.intervals import DEFAULT_INTERVAL_S, Quality
from config.errors import InvalidRequestError
from config.factors import (
    TOU_PERIOD_ORDER,
    Factor,
    FactorNotFoundError,
    FactorTable,
    coal_equivalents,
    emission_factors,
    tou_tariffs,
)
from config.registry import ParkRegistry
from services.energy import Balance, Figure, LedgerFn, Scope, Series, combine, energy_balance
from services.ledger import device_ledger
from store.base import Store

__all__ = [
    "FactorUsed",
    "Indicator",
    "IndicatorReport",
    "LocalPeriod",
    "PeriodError",
    "Profile",
    "factor_regions",
    "local_period",
    "park_indicators",
    "scope_indicators",
]

# ISO 3166-2:CN province codes, as the factor tables name provinces (CN-HB = Hubei).
_PROVINCES = {
    "beijing": "BJ", "tianjin": "TJ", "hebei": "HE", "shanxi": "SX", "inner_mongolia": "NM",
    "liaoning": "LN", "jilin": "JL", "heilongjiang": "HL", "shanghai": "SH", "jiangsu": "JS",
    "zhejiang": "ZJ", "anhui": "AH", "fujian": "FJ", "jiangxi": "JX", "shandong": "SD",
    "henan": "HA", "hubei": "HB", "hunan": "HN", "guangdong": "GD", "guangxi": "GX",
    "hainan": "HI", "chongqing": "CQ", "sichuan": "SC", "guizhou": "GZ", "yunnan": "YN",
    "tibet": "XZ", "xizang": "XZ", "shaanxi": "SN", "gansu": "GS", "qinghai": "QH",
    "ningxia": "NX", "xinjiang": "XJ",
}  # fmt: skip
# The seven regional grids of the MEE/NBS factor announcements.
_GRID_REGIONS = {
    "north_china": "CN-NORTH", "northeast_china": "CN-NORTHEAST", "east_china": "CN-EAST",
    "central_china": "CN-CENTRAL", "northwest_china": "CN-NORTHWEST", "south_china": "CN-SOUTH",
    "southwest_china": "CN-SOUTHWEST",
}  # fmt: skip
_NATIONAL = "CN"
_PERIOD = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")
_KG_PER_T = 1000.0


class PeriodError(InvalidRequestError):
    """A period that is not ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, or not a real date."""


@dataclass(frozen=True, slots=True)
class LocalPeriod:
    """A local calendar year, month or day: its label, kind, first day and UTC edges [ns]."""

    label: str
    kind: Period
    first_day: date
    start_ns: int
    end_ns: int


def local_period(text: str, tz: str) -> LocalPeriod:
    """``2026`` (year), ``2026-03`` (month) or ``2026-03-14`` (day) in the zone ``tz``."""
    match = _PERIOD.fullmatch(text.strip())
    if match is None:
        raise PeriodError(f"bad period {text!r}: use YYYY, YYYY-MM or YYYY-MM-DD")
    y, m, d = (int(g) if g else None for g in match.groups())
    assert y is not None  # the pattern always captures the year
    try:
        first = date(y, m or 1, d or 1)
        if d is not None:
            kind: Period = "day"
            after = first + timedelta(days=1)
        elif m is not None:
            kind = "month"
            after = date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)
        else:
            kind = "year"
            after = date(y + 1, 1, 1)
    except ValueError as exc:
        raise PeriodError(f"bad period {text!r}: {exc}") from None
    zone = ZoneInfo(tz)

    def edge(day: date) -> int:
        return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()) * 10**9

    return LocalPeriod(
        first.isoformat()[: len(text.strip())], kind, first, edge(first), edge(after)
    )


def factor_regions(park: ParkRegistry) -> tuple[str, ...]:
    """Regions to look factors up in, most specific first: province, grid region, national."""
    out: list[str] = []
    province = (park.park.province or "").strip()
    if province:
        code = province if province.upper().startswith("CN-") else _PROVINCES.get(province.lower())
        if code:
            out.append(code if code.upper().startswith("CN-") else f"CN-{code}")
    grid = park.park.grid_region.strip()
    code = grid if grid.upper().startswith("CN-") else _GRID_REGIONS.get(grid.lower())
    if code:
        out.append(code)
    out.append(_NATIONAL)
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True, slots=True)
class Profile:
    """The park's accounting profile: the choices a standard leaves open, and the instruments.

    ``method``: electricity to tce at the equivalent value or by coal consumption (GB/T 2589);
    ``gas_is_clean``: whether natural gas counts as clean energy; ``purchased_heat``: whether the
    heat meters measure heat bought from outside the park (then it counts in tce and Scope 2);
    ``gec_count`` green certificates retired and ``green_contract_kwh`` green power settled for the
    period (retired for the scope asked for: a park's instruments are never split to its
    tenants); ``flat_price_cny_per_kwh`` [CNY/kWh] the flat energy price the TOU ratios
    multiply, overriding the park tariff's in the registry.
    """

    method: ElectricityMethod = "equivalent_value"
    gas_is_clean: bool = False
    purchased_heat: bool = False
    gec_count: float = 0.0
    green_contract_kwh: float = 0.0
    flat_price_cny_per_kwh: float | None = None


@dataclass(frozen=True, slots=True)
class FactorUsed:
    """A factor an indicator used, with where it comes from."""

    name: str
    value: float
    unit: str
    source: str
    year: int
    region: str
    evidence: str

    @staticmethod
    def of(f: Factor) -> FactorUsed:
        return FactorUsed(f.key, f.value, f.unit, f.source, f.year, f.region, f.evidence)


@dataclass(frozen=True, slots=True)
class Indicator:
    """One indicator: value (None when it cannot be computed, then ``reason`` says why)."""

    name: str
    value: float | None
    unit: str
    completeness_pct: float | None
    factors: tuple[FactorUsed, ...] = ()
    reason: str | None = None
    note: str | None = None
    detail: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IndicatorReport:
    """Every indicator of a park, or of a building, floor or tenant of it (``scope``, as
    :func:`services.energy.parse_scope` writes it), for one local period."""

    park: str
    period: LocalPeriod
    tz: str
    regions: tuple[str, ...]
    profile: Profile
    indicators: tuple[Indicator, ...]
    scope: str = "park"


_GEC = FactorUsed(
    "kwh_per_gec",
    carbon.KWH_PER_GEC,
    "kWh/GEC",
    "发改能源[2023]1044号: one green electricity certificate per 1,000 kWh",
    2023,
    _NATIONAL,
    "P",
)


def _lookup(table: FactorTable, key: str, regions: Sequence[str], on: date) -> Factor | None:
    for region in regions:
        try:
            return table.lookup(key, region, on)
        except FactorNotFoundError:
            continue
    return None


@dataclass(frozen=True, slots=True)
class _Flow:
    """A flow's total over the period [its unit]; ``kwh`` None when the scope meters it but no
    interval is known (``why`` may then say why); ``metered`` False when the scope has no such
    meter (then the flow is 0)."""

    kwh: float | None
    completeness: float
    metered: bool
    series: Series
    why: str | None = None


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _completeness(series: Series) -> float:
    """Share of intervals measured [%]. The ledger calls an interval measured when the readings
    feeding it lie within the device's reporting cadence (services.maintenance), so this counts
    the expected readings received: an hourly meter with every reading is 100 % complete."""
    q = series.quality
    return 100.0 * float(np.count_nonzero(q == int(Quality.MEASURED))) / q.size if q.size else 0.0


def _flow_of(series: Series, why: str) -> _Flow:
    """The total of a derived series; ``why`` is the reason given when no interval is known."""
    known = bool(np.isfinite(series.energy).any())
    total = float(np.nansum(series.energy)) if known else None
    return _Flow(total, _completeness(series), True, series, None if known else why)


class _Inputs:
    def __init__(self, bal: Balance) -> None:
        self.bal = bal
        self.n = bal.start_ns.size

    def flow(self, name: str) -> _Flow:
        fig: Figure | None = self.bal.figure(name)
        if fig is None or fig.absent:
            return _Flow(0.0, 100.0, False, Series.zero(self.n))
        total = fig.total()
        return _Flow(_finite(total), fig.completeness_pct(), True, fig.series)


def _min(*values: float) -> float:
    return min(values) if values else 100.0


@dataclass(frozen=True, slots=True)
class _Basis:
    """The flows the indicator formulas take, for the park or a part of it.

    ``elec`` electricity consumed [kWh] (the tce basis); ``grid`` grid-supplied electricity [kWh]
    (Scope 2); ``pv_self`` on-site PV consumed [kWh]; ``billed`` the electricity the tariff prices
    [kWh per interval]; ``gas`` [m3]; ``heat`` [kWh]; ``production`` units of product (None with
    ``production_why`` when none can be used); ``area_m2`` floor area [m²] (None with
    ``area_why``); ``detail`` the allocation figures, shown with Scope 2.
    """

    scope: Scope
    elec: _Flow
    grid: _Flow
    pv_self: _Flow
    billed: _Flow
    gas: _Flow
    heat: _Flow
    elec_note: str
    grid_note: str
    production: _Flow | None
    production_why: str | None
    area_m2: float | None
    area_why: str | None
    detail: dict[str, float | None] = field(default_factory=dict)


def _production(bal: Balance) -> tuple[_Flow | None, str | None]:
    """Units of product of the scope: one tenant's counters only (units never add up across
    tenants, whose products differ)."""
    figs = [f for f in bal.figures if f.name.startswith("production_")]
    if not figs:
        return None, f"no production counter in {bal.scope}"
    if len(figs) > 1:
        return None, (
            f"{bal.scope} holds the production counters of {len(figs)} tenants, whose products "
            "differ: ask per tenant"
        )
    (fig,) = figs
    total = _finite(fig.total())
    if total is None:
        return None, "no production data in this period"
    return _Flow(total, fig.completeness_pct(), True, fig.series), None


def _floor_area(park: ParkRegistry, scope: Scope) -> tuple[float | None, str | None]:
    """Floor area [m²] of the scope: its floors' ``area_m2`` (a tenant: the floors it rents)."""
    floors = [
        (b.id, f)
        for b in park.buildings
        for f in b.floors
        if scope.kind == "park"
        or (scope.kind == "building" and b.id == scope.id)
        or (scope.kind == "floor" and b.id == scope.id and f.number == scope.floor)
        or (scope.kind == "tenant" and f.tenant == scope.id)
    ]
    if not floors:
        return None, f"{scope} has no floor in the registry"
    unknown = [f"{b}/{f.number}" for b, f in floors if f.area_m2 is None]
    if unknown:
        return None, f"no area_m2 in the registry for floor(s) {', '.join(unknown)}"
    return sum(f.area_m2 or 0.0 for _, f in floors), None


def _park_basis(bal: Balance, park: ParkRegistry) -> _Basis:
    inp = _Inputs(bal)
    imp, exp, pv = (
        inp.flow("grid_import_kwh"),
        inp.flow("grid_export_kwh"),
        inp.flow("pv_generation_kwh"),
    )
    elec = _flow_of(
        combine([(1.0, imp.series), (-1.0, exp.series), (1.0, pv.series)], inp.n),
        "no interval with the grid import, export and PV meters all known",
    )
    production, production_why = _production(bal)
    area, area_why = _floor_area(park, bal.scope)
    return _Basis(
        bal.scope,
        elec=elec,
        grid=imp,
        pv_self=inp.flow("pv_self_consumption_kwh"),
        billed=imp,
        gas=inp.flow("gas_m3"),
        heat=inp.flow("heat_kwh"),
        elec_note="electricity = import − export + PV",
        grid_note="grid import × the average grid factor of the most specific region published",
        production=production,
        production_why=production_why,
        area_m2=area,
        area_why=area_why,
    )


def _scope_basis(bal: Balance, supply: Balance, park: ParkRegistry) -> _Basis:
    """A building, floor or tenant: its metered consumption, and its pro-rata share of the park's
    grid import and on-site PV (the park's supply over the period, ``supply``)."""
    inp, sup = _Inputs(bal), _Inputs(supply)
    metered = inp.flow("electricity_kwh")
    elec = (
        metered
        if metered.metered
        else _Flow(
            None,
            0.0,
            True,
            Series.missing(inp.n),
            f"no electricity consumption meter in {bal.scope}",
        )
    )
    imp, load, pv = (
        sup.flow("grid_import_kwh"),
        sup.flow("load_kwh"),
        sup.flow("pv_self_consumption_kwh"),
    )
    share = pv_share = None
    if imp.kwh is not None and load.kwh is not None and pv.kwh is not None and load.kwh > 0:
        share, pv_share = imp.kwh / load.kwh, pv.kwh / load.kwh
    sup_completeness = _min(imp.completeness, load.completeness, pv.completeness)

    def allocated(fraction: float | None) -> _Flow:
        completeness = _min(elec.completeness, sup_completeness)
        if elec.kwh is None:
            return _Flow(None, completeness, True, elec.series, elec.why)
        if fraction is None:
            why = "no park supply data (grid import, PV, battery) to split grid from on-site power"
            return _Flow(None, completeness, True, elec.series, why)
        series = Series(elec.series.energy * fraction, elec.series.quality)
        return _Flow(elec.kwh * fraction, completeness, True, series)

    production, production_why = _production(bal)
    area, area_why = _floor_area(park, bal.scope)
    return _Basis(
        bal.scope,
        elec=elec,
        grid=allocated(share),
        pv_self=allocated(pv_share),
        billed=elec,
        gas=inp.flow("gas_m3"),
        heat=inp.flow("heat_kwh"),
        elec_note="electricity = the scope's highest consumption meters",
        grid_note=(
            "the scope's electricity × park grid import / park load (its pro-rata share of the "
            "park's grid power; on-site PV and battery are park assets) × the average grid factor"
        ),
        production=production,
        production_why=production_why,
        area_m2=area,
        area_why=area_why,
        detail={
            "park_grid_share": share,
            "park_pv_share": pv_share,
            "park_grid_import_kwh": imp.kwh,
            "park_load_kwh": load.kwh,
        },
    )


_SUPPLY_ROLES = frozenset({"grid_connection", "pv", "storage"})


def _supply_balance(
    store: Store,
    park: ParkRegistry,
    when: LocalPeriod,
    *,
    interval_s: int,
    ledger: LedgerFn,
) -> Balance:
    """The park balance of the supply meters only (grid, PV, battery): the park's import, PV
    self-consumption and load, without reading every consumption meter of the park."""
    supply = ParkRegistry.model_construct(
        park=park.park,
        tenants=park.tenants,
        buildings=park.buildings,
        devices=tuple(d for d in park.devices if d.role.value in _SUPPLY_ROLES),
    )
    return energy_balance(
        store,
        supply,
        Scope("park"),
        start_ns=when.start_ns,
        end_ns=when.end_ns,
        interval_s=interval_s,
        ledger=ledger,
    )


def park_indicators(
    store: Store,
    park: ParkRegistry,
    period: str,
    profile: Profile | None = None,
    *,
    interval_s: int = DEFAULT_INTERVAL_S,
    ledger: LedgerFn = device_ledger,
) -> IndicatorReport:
    """Every indicator of ``park`` for the local ``period`` (``YYYY``, ``YYYY-MM``,
    ``YYYY-MM-DD``). Raises :class:`PeriodError` for a bad period."""
    return scope_indicators(
        store, park, period, profile, scope=Scope("park"), interval_s=interval_s, ledger=ledger
    )


def scope_indicators(
    store: Store,
    park: ParkRegistry,
    period: str,
    profile: Profile | None = None,
    *,
    scope: Scope,
    interval_s: int = DEFAULT_INTERVAL_S,
    ledger: LedgerFn = device_ledger,
) -> IndicatorReport:
    """The indicators of ``scope`` (park, building, floor or tenant) of ``park`` for the local
    ``period``, with the formulas of the park (see docs/analytics.md, "Indicators per scope").

    A building, floor or tenant takes its highest consumption meters, its own gas and heat
    meters, a pro-rata share of the park's grid import and on-site PV (park import / park load
    and PV self-consumed / park load over the period), its floor area and, for one tenant, its
    production counters; the instruments of ``profile`` (GEC, contracts) are those retired for
    this scope, never a split of the park's. Park-level indicators (PV, battery, self-
    sufficiency) are None with a reason for a part of the park.

    Raises :class:`PeriodError` for a bad period, :class:`ValueError` for a device scope and
    :class:`~services.energy.UnknownScopeError` for a scope the park does not have.
    """
    if scope.kind == "device":
        raise ValueError("indicators cover the park, a building, a floor or a tenant, not a device")
    profile = profile or Profile()
    tz = park.park.timezone
    when = local_period(period, tz)
    regions = factor_regions(park)
    bal = energy_balance(
        store,
        park,
        scope,
        start_ns=when.start_ns,
        end_ns=when.end_ns,
        interval_s=interval_s,
        ledger=ledger,
    )
    if scope.kind == "park":
        basis = _park_basis(bal, park)
        park_bal: Balance | None = bal
    else:
        supply = _supply_balance(store, park, when, interval_s=interval_s, ledger=ledger)
        basis = _scope_basis(bal, supply, park)
        park_bal = None
    out = _compute(
        basis,
        bal.start_ns,
        park_bal,
        park=park,
        when=when,
        regions=regions,
        profile=profile,
        tz=tz,
        interval_s=interval_s,
    )
    return IndicatorReport(park.id, when, tz, regions, profile, tuple(out), str(scope))


def _compute(  # noqa: PLR0915  one flat sequence of indicators reads best
    basis: _Basis,
    start_ns: NDArray[np.int64],
    park_bal: Balance | None,
    *,
    park: ParkRegistry,
    when: LocalPeriod,
    regions: tuple[str, ...],
    profile: Profile,
    tz: str,
    interval_s: int,
) -> list[Indicator]:
    on = when.first_day
    coal, ef = coal_equivalents(), emission_factors()
    elec, grid, pv_self, gas, heat = basis.elec, basis.grid, basis.pv_self, basis.gas, basis.heat
    out: list[Indicator] = []

    def missing(*flows: tuple[str, _Flow]) -> str | None:
        absent = [
            f.why or f"no data from the {name} meters in this period"
            for name, f in flows
            if f.kwh is None
        ]
        return "; ".join(dict.fromkeys(absent)) or None

    # --- comprehensive energy consumption (GB/T 2589-2020) ---------------------------------
    key_e = (
        "electricity_equivalent"
        if profile.method == "equivalent_value"
        else ("electricity_coal_consumption")
    )
    k_e = _lookup(coal, key_e, regions, on)
    k_gas = _lookup(coal, "natural_gas", regions, on)
    k_heat = _lookup(coal, "heat", regions, on)
    heat_counts = profile.purchased_heat and heat.metered
    tce_inputs = [("electricity", elec), ("gas", gas)]
    if heat_counts:
        tce_inputs.append(("heat", heat))
    tce_completeness = _min(*(f.completeness for _, f in tce_inputs))
    tce: float | None = None
    tce_by: dict[str, float] = {}
    why = missing(*tce_inputs)
    if why is None:
        if k_e is None or (gas.metered and k_gas is None) or (heat_counts and k_heat is None):
            why = f"no standard-coal coefficient for {on} in {regions}"
        else:
            tce_by["electricity"] = float(energy.tce_from_quantity(elec.kwh or 0.0, k_e.value))
            tce_by["natural_gas"] = (
                float(energy.tce_from_natural_gas_m3(gas.kwh or 0.0, kgce_per_m3=k_gas.value))
                if k_gas is not None
                else 0.0
            )
            if heat_counts and k_heat is not None:
                tce_by["heat"] = float(
                    energy.tce_from_heat_kwh(heat.kwh or 0.0, kgce_per_mj=k_heat.value)
                )
            tce = sum(tce_by.values())
    factors_tce = tuple(
        FactorUsed.of(f)
        for f in (k_e, k_gas if gas.metered else None, k_heat if heat_counts else None)
        if f is not None
    )
    carriers: dict[str, float | None] = {"electricity_kwh": elec.kwh}
    if gas.metered:
        carriers["natural_gas_m3"] = gas.kwh
    if heat.metered:
        carriers["heat_kwh"] = heat.kwh
    out.append(
        Indicator(
            "comprehensive_energy_tce",
            tce,
            "tce",
            tce_completeness,
            factors_tce,
            why,
            f"{basis.elec_note} at the {profile.method.replace('_', ' ')}; "
            + ("purchased heat included" if heat_counts else "heat meters not counted (internal)"),
            {**tce_by, **carriers},
        )
    )

    # --- carbon ----------------------------------------------------------------------------
    ef_gas = _lookup(ef, "natural_gas_combustion", regions, on)
    scope1: float | None = None
    why1 = missing(("gas", gas))
    if why1 is None:
        if not gas.metered:
            scope1 = 0.0
        elif ef_gas is None:
            why1 = f"no natural-gas emission factor for {on}"
        else:
            scope1 = float(carbon.scope1_tco2(gas.kwh or 0.0, ef_gas.value))
    s1_factors = (FactorUsed.of(ef_gas),) if ef_gas is not None and gas.metered else ()
    out.append(
        Indicator(
            "scope1_tco2",
            scope1,
            "tCO2",
            gas.completeness,
            s1_factors,
            why1,
            None if gas.metered else f"no fuel meter in {basis.scope}: no metered Scope 1",
        )
    )

    ef_grid = _lookup(ef, "grid_average", regions, on)
    ef_resid = _lookup(ef, "grid_excl_market_nonfossil", regions, on)
    ef_heat = _lookup(ef, "purchased_heat", regions, on)
    heat_tco2 = 0.0
    heat_factors: tuple[FactorUsed, ...] = ()
    why_heat = missing(("heat", heat)) if heat_counts else None
    if heat_counts and why_heat is None:
        if ef_heat is None:
            why_heat = f"no purchased-heat factor for {on}"
        else:
            heat_tco2 = float(carbon.heat_tco2(heat.kwh or 0.0, ef_heat.value))
            heat_factors = (FactorUsed.of(ef_heat),)
    s2_completeness = _min(grid.completeness, *((heat.completeness,) if heat_counts else ()))
    s2_loc: float | None = None
    why2 = missing(("grid import", grid)) or why_heat
    if why2 is None:
        if ef_grid is None:
            why2 = f"no grid emission factor for {on} in {regions}"
        else:
            s2_loc = float(carbon.scope2_location_tco2(grid.kwh or 0.0, ef_grid.value)) + heat_tco2
    loc_factors = ((FactorUsed.of(ef_grid),) if ef_grid else ()) + heat_factors
    s2_detail: dict[str, float | None] = {"grid_kwh": grid.kwh, **basis.detail}
    out.append(
        Indicator(
            "scope2_location_tco2",
            s2_loc,
            "tCO2",
            s2_completeness,
            loc_factors,
            why2,
            basis.grid_note,
            {**s2_detail, **({"purchased_heat_tco2": heat_tco2} if heat_counts else {})},
        )
    )
    market: carbon.MarketBasedScope2 | None = None
    why_m = missing(("grid import", grid)) or why_heat
    if why_m is None:
        if ef_resid is None:
            why_m = f"no residual-mix (excl. market-traded non-fossil) factor for {on}"
        else:
            market = carbon.scope2_market_based(
                max(grid.kwh or 0.0, 0.0),
                residual_ef_kgco2_per_kwh=ef_resid.value,
                gec_count=profile.gec_count,
                green_contract_kwh=profile.green_contract_kwh,
            )
    s2_mkt = market.tco2 + heat_tco2 if market is not None else None
    mkt_factors = ((FactorUsed.of(ef_resid), _GEC) if ef_resid else ()) + heat_factors
    out.append(
        Indicator(
            "scope2_market_tco2",
            s2_mkt,
            "tCO2",
            s2_completeness,
            mkt_factors,
            why_m,
            "(grid kWh − certified green kWh retired for this scope) × residual-mix proxy "
            "(GHG Protocol Scope 2)",
            {
                "green_kwh": market.green_kwh,
                "residual_kwh": market.residual_kwh,
                "surplus_green_kwh": market.surplus_green_kwh,
            }
            if market is not None
            else {},
        )
    )
    carbon_completeness = _min(tce_completeness, gas.completeness, s2_completeness)
    for name, s2, s2_factors in (
        ("tco2_per_tce", s2_loc, loc_factors),
        ("tco2_per_tce_market", s2_mkt, mkt_factors),
    ):
        value: float | None = None
        reason = why or why1 or (why2 if name == "tco2_per_tce" else why_m)
        if reason is None and tce is not None and scope1 is not None and s2 is not None:
            value = _finite(carbon.tco2_per_tce(scope1 + s2, tce))
            reason = None if value is not None else "comprehensive energy is 0"
        out.append(
            Indicator(
                name,
                value,
                "tCO2/tce",
                carbon_completeness,
                factors_tce + s1_factors + s2_factors,
                reason,
                "zero-carbon park core indicator: ≤ 0.2 (0.2–1 Mtce/yr parks), ≤ 0.3 (≥ 1 Mtce/yr)"
                " — 发改环资[2025]910号",
            )
        )

    # --- clean and renewable shares ----------------------------------------------------------
    green_kwh = market.green_kwh if market is not None else None
    elec_kwh = elec.kwh
    re_kwh = (
        min((pv_self.kwh or 0.0) + green_kwh, elec_kwh)
        if green_kwh is not None and elec_kwh is not None and pv_self.kwh is not None
        else None
    )
    share_reason = why or why_m or missing(("PV", pv_self))
    clean_share = re_share = re_elec_share = None
    if share_reason is None and tce is not None and re_kwh is not None and k_e is not None:
        re_tce = float(energy.tce_from_quantity(re_kwh, k_e.value))
        by_carrier = {
            "renewable_electricity": re_tce,
            "other_electricity": tce_by["electricity"] - re_tce,
            "natural_gas": tce_by["natural_gas"],
            "heat": tce_by.get("heat", 0.0),
        }
        clean = {"renewable_electricity"} | ({"natural_gas"} if profile.gas_is_clean else set())
        clean_share = _finite(carbon.clean_energy_share(by_carrier, clean))
        re_share = _finite(carbon.clean_energy_share(by_carrier, {"renewable_electricity"}))
        re_elec_share = _finite(
            carbon.renewable_electricity_share(
                total_electricity_kwh=elec_kwh or 0.0,
                pv_self_consumed_kwh=pv_self.kwh or 0.0,
                green_contract_kwh=green_kwh or 0.0,
            )
        )
    share_factors = factors_tce + ((_GEC,) if profile.gec_count else ())
    zero = "no energy consumed"
    pv_words = "on-site PV used" if basis.scope.kind == "park" else "its share of on-site PV"
    for name, value, note in (
        (
            "clean_energy_share",
            clean_share,
            f"tce basis; clean = {pv_words} + certified green power"
            + (" + natural gas" if profile.gas_is_clean else " (natural gas not counted as clean)"),
        ),
        ("renewable_share", re_share, f"tce basis: ({pv_words} + certified green) / total"),
        (
            "renewable_electricity_share",
            re_elec_share,
            f"({pv_words} + certified green kWh) / electricity",
        ),
    ):
        out.append(
            Indicator(
                name,
                value,
                "fraction",
                carbon_completeness,
                share_factors,
                share_reason or (None if value is not None else zero),
                note,
            )
        )

    # --- intensities per floor area and per unit of product ----------------------------------
    total_loc = scope1 + s2_loc if scope1 is not None and s2_loc is not None else None
    total_mkt = scope1 + s2_mkt if scope1 is not None and s2_mkt is not None else None
    carbon_why = why1 or why2
    area = basis.area_m2
    per_m2: float | None = None
    area_reason = carbon_why or basis.area_why
    if area_reason is None and total_loc is not None and area is not None:
        per_m2 = _finite(carbon.kgco2_per_m2(total_loc, area))
    out.append(
        Indicator(
            "kgco2_per_m2",
            per_m2,
            "kgCO2/m2",
            _min(gas.completeness, s2_completeness),
            s1_factors + loc_factors,
            area_reason,
            "1000 × (Scope 1 + Scope 2 location-based) / floor area (registry area_m2)",
            {
                "area_m2": area,
                "kgco2_per_m2_market": _finite(carbon.kgco2_per_m2(total_mkt, area))
                if total_mkt is not None and area is not None
                else None,
                "kwh_per_m2": elec.kwh / area if elec.kwh is not None and area else None,
            },
        )
    )
    prod = basis.production
    units = prod.kwh if prod is not None else None
    prod_completeness = prod.completeness if prod is not None else None
    per_unit: float | None = None
    unit_reason = basis.production_why or carbon_why
    if unit_reason is None and total_loc is not None and units is not None:
        per_unit = _finite(carbon.tco2_per_unit(total_loc, units))
        unit_reason = None if per_unit is not None else "no unit produced in this period"
    out.append(
        Indicator(
            "tco2_per_unit",
            per_unit,
            "tCO2/unit",
            _min(carbon_completeness, prod_completeness or 0.0) if prod is not None else None,
            s1_factors + loc_factors,
            unit_reason,
            "(Scope 1 + Scope 2 location-based) / units produced (GB/T 36132 unit-product carbon)",
            {
                "units": units,
                "tco2_per_unit_market": _finite(carbon.tco2_per_unit(total_mkt, units))
                if total_mkt is not None and units is not None
                else None,
            },
        )
    )
    kgce: float | None = None
    kgce_reason = basis.production_why or why
    if kgce_reason is None and tce is not None and units is not None:
        kgce = _finite(_KG_PER_T * tce / units) if units > 0 else None
        kgce_reason = None if kgce is not None else "no unit produced in this period"
    out.append(
        Indicator(
            "kgce_per_unit",
            kgce,
            "kgce/unit",
            _min(tce_completeness, prod_completeness or 0.0) if prod is not None else None,
            factors_tce,
            kgce_reason,
            "1000 × comprehensive energy [tce] / units produced (unit-product energy)",
            {"units": units},
        )
    )

    # --- microgrid, battery and PV (park) and the scope's own demand ---------------------------
    out.extend(_microgrid(basis, park_bal, park=park, green_kwh=green_kwh, interval_s=interval_s))

    # --- electricity cost --------------------------------------------------------------------
    out.extend(
        _costs(
            basis,
            start_ns,
            park=park,
            when=when,
            regions=regions,
            profile=profile,
            tz=tz,
            interval_s=interval_s,
        )
    )
    if interval_s > _MAX_INTERVAL_S:
        # day (or single) slots, e.g. from the daily roll-up: a peak, a load factor or a TOU
        # split computed from them would be a wrong number, so there is none
        capacity = park.park.tariff is not None and park.park.tariff.demand_basis == "capacity"
        out = [
            _needs_intervals(i, interval_s)
            if i.name in _NEEDS_INTERVALS and not (i.name == "demand_charge_cny" and capacity)
            else i
            for i in out
        ]
    return out


_MAX_INTERVAL_S = 3600
"""Longest slot [s] the demand and TOU indicators are computed on; beyond it they are None."""

_NEEDS_INTERVALS = frozenset(
    {
        "peak_demand_kw",
        "load_factor",
        "tou_energy_cost_cny",
        "demand_charge_cny",  # on the max-demand basis; a capacity charge needs no intervals
        "electricity_cost_cny",
    }
)


def _needs_intervals(ind: Indicator, interval_s: int) -> Indicator:
    reason = (
        f"needs interval data; the roll-up keeps days (slots of {interval_s} s here, at most "
        f"{_MAX_INTERVAL_S} s needed)"
    )
    return Indicator(ind.name, None, ind.unit, None, ind.factors, reason, ind.note)


_PARK_ONLY = (
    ("pv_self_consumption_rate", "fraction"),
    ("self_sufficiency_rate", "fraction"),
    ("renewable_penetration", "fraction"),
    ("battery_equivalent_full_cycles", "cycles"),
    ("battery_round_trip_efficiency", "fraction"),
    ("pv_specific_yield_kwh_per_kw", "kWh/kW"),
)


def _microgrid(
    basis: _Basis,
    bal: Balance | None,
    *,
    park: ParkRegistry,
    green_kwh: float | None,
    interval_s: int,
) -> list[Indicator]:
    """PV, self-sufficiency, battery indicators of the park (None with a reason for a part of
    the park), and the peak demand and load factor of the electricity the tariff bills."""
    billed = basis.billed
    known = billed.kwh is not None and bool(np.isfinite(billed.series.energy).any())
    what = "grid import" if bal is not None else "metered electricity"
    demand = [
        Indicator(
            "peak_demand_kw",
            _finite(microgrid.peak_demand_kw(billed.series.energy, interval_s)) if known else None,
            "kW",
            billed.completeness,
            (),
            None if known else (billed.why or f"no {what} data in this period"),
            f"highest {interval_s // 60}-minute average {what}",
        )
    ]
    lf = _finite(microgrid.load_factor(billed.series.energy)) if known else None
    demand.append(
        Indicator(
            "load_factor",
            lf,
            "fraction",
            billed.completeness,
            (),
            None if lf is not None else f"no {what} data (or none above 0) in this period",
            f"mean / peak interval {what}",
        )
    )
    if bal is None:
        reason = (
            f"a park-level indicator: the park's PV, battery and grid connection are not split "
            f"to {basis.scope}"
        )
        park_only = [Indicator(n, None, u, None, (), reason) for n, u in _PARK_ONLY]
        return park_only[:3] + demand + park_only[3:]
    return _park_microgrid(bal, park=park, green_kwh=green_kwh, demand=demand)


def _park_microgrid(
    bal: Balance, *, park: ParkRegistry, green_kwh: float | None, demand: list[Indicator]
) -> list[Indicator]:
    inp = _Inputs(bal)
    exp = inp.flow("grid_export_kwh")
    pv = inp.flow("pv_generation_kwh")
    pv_self = inp.flow("pv_self_consumption_kwh")
    charge = inp.flow("battery_charge_kwh")
    discharge = inp.flow("battery_discharge_kwh")
    load = inp.flow("load_kwh")
    out: list[Indicator] = []

    def ratio(
        name: str,
        *,
        num: float | None,
        den_name: str,
        compute: float,
        completeness: float,
        note: str,
    ) -> Indicator:
        value = _finite(compute) if num is not None else None
        reason = None
        if num is None:
            reason = "no data for its inputs in this period"
        elif value is None:
            reason = f"{den_name} is 0"
        return Indicator(name, value, "fraction", completeness, (), reason, note)

    pv_ok = pv.kwh is not None and exp.kwh is not None
    load_ok = load.kwh is not None and pv_self.kwh is not None
    if not pv.metered:
        out.append(Indicator("pv_self_consumption_rate", None, "fraction", None, (), "no PV"))
    else:
        out.append(
            ratio(
                "pv_self_consumption_rate",
                num=pv.kwh if pv_ok else None,
                den_name="PV generation",
                compute=microgrid.self_consumption_rate(pv.kwh or 0.0, exp.kwh or 0.0)
                if pv_ok
                else 0.0,
                completeness=_min(pv.completeness, exp.completeness),
                note="(PV − export) / PV",
            )
        )
    out.append(
        ratio(
            "self_sufficiency_rate",
            num=load.kwh if load_ok else None,
            den_name="load",
            compute=microgrid.self_sufficiency_rate(pv_self.kwh or 0.0, load.kwh or 0.0)
            if load_ok
            else 0.0,
            completeness=_min(load.completeness, pv_self.completeness),
            note="PV self-consumed / load",
        )
    )
    out.append(
        ratio(
            "renewable_penetration",
            num=load.kwh if load_ok and green_kwh is not None else None,
            den_name="load",
            compute=microgrid.renewable_penetration(
                (pv_self.kwh or 0.0) + (green_kwh or 0.0), load.kwh or 0.0
            )
            if load_ok
            else 0.0,
            completeness=_min(load.completeness, pv_self.completeness),
            note="(PV self-consumed + certified green kWh) / load",
        )
    )
    out.extend(demand)

    # --- battery and PV ---------------------------------------------------------------------
    storage = [d for d in park.devices if d.role.value == "storage"]
    usable = sum(d.capacity_kwh or 0.0 for d in storage)
    bat_completeness = _min(charge.completeness, discharge.completeness)
    if not storage:
        out.append(
            Indicator("battery_equivalent_full_cycles", None, "cycles", None, (), "no battery")
        )
        out.append(
            Indicator("battery_round_trip_efficiency", None, "fraction", None, (), "no battery")
        )
    else:
        efc = microgrid.equivalent_full_cycles(discharge.kwh or 0.0, usable)
        out.append(
            Indicator(
                "battery_equivalent_full_cycles",
                _finite(efc) if discharge.kwh is not None else None,
                "cycles",
                discharge.completeness,
                (),
                "no discharge data in this period"
                if discharge.kwh is None
                else (
                    None
                    if math.isfinite(efc)
                    else "no usable capacity (capacity_kwh) in the registry"
                ),
                "Σ discharge / Σ usable capacity (capacity_kwh)",
                {"usable_capacity_kwh": usable},
            )
        )
        both = charge.kwh is not None and discharge.kwh is not None
        rte = microgrid.round_trip_efficiency(charge.kwh or 0.0, discharge.kwh or 0.0)
        out.append(
            Indicator(
                "battery_round_trip_efficiency",
                _finite(rte) if both else None,
                "fraction",
                bat_completeness,
                (),
                "no charge/discharge data in this period"
                if not both
                else (None if math.isfinite(rte) else "no charge in this period"),
                "Σ discharge / Σ charge at the AC meters; not corrected for the change of SoC",
            )
        )
    pv_devices = [d for d in park.devices if d.role.value == "pv"]
    rated_kw = sum(d.capacity_kw or 0.0 for d in pv_devices)
    if not pv_devices:
        out.append(Indicator("pv_specific_yield_kwh_per_kw", None, "kWh/kW", None, (), "no PV"))
    else:
        yf = microgrid.specific_yield_kwh_per_kwp(pv.kwh or 0.0, rated_kw)
        out.append(
            Indicator(
                "pv_specific_yield_kwh_per_kw",
                _finite(yf) if pv.kwh is not None else None,
                "kWh/kW",
                pv.completeness,
                (),
                "no PV data in this period"
                if pv.kwh is None
                else (None if math.isfinite(yf) else "no PV capacity_kw in the registry"),
                "PV generation / Σ rated capacity_kw (IEC 61724-1 final yield, on the rated AC "
                "power where the DC nameplate is not registered)",
                {"rated_kw": rated_kw},
            )
        )
    return out


def _months(when: LocalPeriod) -> list[int]:
    """The local months (1-12) the period covers."""
    return list(range(1, 13)) if when.kind == "year" else [when.first_day.month]


def _price(
    park: ParkRegistry, profile: Profile, when: LocalPeriod, region: str
) -> FactorUsed | None:
    """The flat energy price [CNY/kWh]: the request's, else the registry tariff's, else None."""
    if profile.flat_price_cny_per_kwh is not None:
        return FactorUsed(
            "flat_price_cny_per_kwh",
            profile.flat_price_cny_per_kwh,
            "CNY/kWh",
            "request parameter flat_price_cny_per_kwh",
            when.first_day.year,
            region,
            "U",
        )
    t = park.park.tariff
    if t is None:
        return None
    return FactorUsed(
        "flat_price_cny_per_kwh", t.flat_price_cny_per_kwh, "CNY/kWh", t.source, t.year, region,
        t.evidence,
    )  # fmt: skip


def _costs(
    basis: _Basis,
    start_ns: NDArray[np.int64],
    *,
    park: ParkRegistry,
    when: LocalPeriod,
    regions: Sequence[str],
    profile: Profile,
    tz: str,
    interval_s: int,
) -> list[Indicator]:
    """TOU energy cost, demand charge and their sum, of the electricity the tariff bills: the
    park's grid import, or a scope's metered consumption (re-billed at the park's tariff)."""
    tou = _tou(basis, start_ns, park=park, when=when, regions=regions, profile=profile, tz=tz)
    dc, owed = _demand(
        basis, start_ns, park=park, when=when, regions=regions, tz=tz, ivl=interval_s
    )
    total: float | None = None
    reason = tou.reason or (dc.reason if owed else None)
    if reason is None and tou.value is not None:
        total = tou.value + (dc.value or 0.0)
    return [
        tou,
        dc,
        Indicator(
            "electricity_cost_cny",
            total,
            "CNY",
            _min(*(c for c in (tou.completeness_pct, dc.completeness_pct) if c is not None)),
            tou.factors + tuple(f for f in dc.factors if f not in tou.factors),
            reason,
            "TOU energy cost + demand charge"
            + ("" if dc.value is not None else f" (no demand charge: {dc.reason})"),
            {"energy_cny": tou.value, "demand_cny": dc.value},
        ),
    ]


def _tou(
    basis: _Basis,
    start_ns: NDArray[np.int64],
    *,
    park: ParkRegistry,
    when: LocalPeriod,
    regions: Sequence[str],
    profile: Profile,
    tz: str,
) -> Indicator:
    on = when.first_day
    billed = basis.billed
    what = "grid import" if basis.scope.kind == "park" else "metered electricity"
    schedule = None
    for region in regions:
        try:
            schedule = tou_tariffs().lookup(region, on)
            break
        except FactorNotFoundError:
            continue
    if schedule is None:
        return Indicator(
            "tou_energy_cost_cny", None, "CNY", None, (), f"no TOU schedule for {on} in {regions}"
        )
    used = FactorUsed(
        schedule.name, 1.0, "ratio to the flat price", schedule.source, schedule.year,
        schedule.region, schedule.evidence,
    )  # fmt: skip
    flat = _price(park, profile, when, regions[0])
    factors = (used,) if flat is None else (flat, used)
    if billed.kwh is None:
        why = billed.why or f"no {what} data"
        return Indicator("tou_energy_cost_cny", None, "CNY", billed.completeness, factors, why)
    ratios = np.asarray(schedule.ratio_by_month_period(), dtype=np.float64)
    price = flat.value if flat is not None else 1.0
    cost = tariff.tou_cost(
        start_ns,
        billed.series.energy,
        period_by_month_hour=np.asarray(schedule.period_by_month_hour()),
        price_cny_per_kwh=tariff.prices_from_ratios(price, ratios),
        tz=tz,
    )
    detail: dict[str, float | None] = {}
    for i, p in enumerate(TOU_PERIOD_ORDER):
        detail[f"{p}_kwh"] = float(cost.energy_kwh_by_period[i])
        detail[f"{p}_cny"] = float(cost.cost_cny_by_period[i]) if flat is not None else None
    detail["ratio_weighted_kwh"] = cost.total_cny() / price
    detail["flat_price_cny_per_kwh"] = flat.value if flat is not None else None
    seasons = {s.name: s for s in schedule.seasons if set(s.months) & set(_months(when))}
    for name, season in seasons.items():
        for p in TOU_PERIOD_ORDER:
            detail[f"{name}:{p}_price_cny_per_kwh"] = (
                price * season.ratios[p] if flat is not None else None
            )
    return Indicator(
        "tou_energy_cost_cny",
        cost.total_cny() if flat is not None else None,
        "CNY",
        billed.completeness,
        factors,
        None
        if flat is not None
        else "no flat energy price: set the park's tariff in the registry or pass "
        "flat_price_cny_per_kwh (cost = flat price × ratio_weighted_kwh)",
        f"{what} of each interval × flat price × TOU ratio of its local month and hour; "
        "energy charge only",
        detail,
    )


def _demand(
    basis: _Basis,
    start_ns: NDArray[np.int64],
    *,
    park: ParkRegistry,
    when: LocalPeriod,
    regions: Sequence[str],
    tz: str,
    ivl: int,
) -> tuple[Indicator, bool]:
    """Demand charge of the period [CNY]: each local month's highest ``ivl``-average power of the
    billed electricity [kW] × the price [CNY/(kW·month)], or the contracted capacity × price.

    Returns the indicator and whether a demand charge is owed for this scope and period: False
    when none applies (none configured, a day, a capacity charge asked of a part of the park),
    then the total cost is the energy cost alone.
    """
    name, unit = "demand_charge_cny", "CNY"
    t = park.park.tariff
    billed = basis.billed
    if t is None or t.demand_charge_cny_per_kw_month is None:
        why = "no demand charge configured (no park tariff in the registry, or a single-part one)"
        return Indicator(name, None, unit, None, (), why), False
    price = t.demand_charge_cny_per_kw_month
    factor = FactorUsed(
        "demand_charge_cny_per_kw_month", price,
        "CNY/(kW·month)" if t.demand_basis == "max_demand" else "CNY/(kVA·month)",
        t.source, t.year, regions[0], t.evidence,
    )  # fmt: skip
    months = len(_months(when))
    if t.demand_basis == "capacity":
        note = "contracted capacity × price per month (capacity basis)"
        if basis.scope.kind != "park":
            why = (
                "capacity basis: the charge is on the park's contracted capacity, not on "
                f"{basis.scope}'s own demand, and is not allocated"
            )
            return Indicator(name, None, unit, None, (factor,), why, note), False
        if when.kind == "day":
            why = "a demand charge is billed per month: ask for a month or a year"
            return Indicator(name, None, unit, None, (factor,), why, note), False
        kw = t.contracted_kw or 0.0
        return Indicator(
            name, kw * price * months, unit, 100.0, (factor,), None, note,
            {"contracted_kw": kw, "price_cny_per_kw_month": price, "months": float(months)},
        ), True  # fmt: skip
    what = "grid import" if basis.scope.kind == "park" else "metered electricity"
    note = f"highest {ivl // 60}-minute average {what} of each local month × price"
    if billed.kwh is None:
        why = billed.why or f"no {what} data"
        return Indicator(name, None, unit, billed.completeness, (factor,), why, note), True
    charge = tariff.demand_charge(
        start_ns, billed.series.energy, interval_s=ivl, price_cny_per_kw_month=price, tz=tz
    )
    detail: dict[str, float | None] = {"price_cny_per_kw_month": price}
    for label, kw in zip(charge.month, charge.max_demand_kw, strict=True):
        detail[f"max_demand_kw:{label}"] = _finite(float(kw))
    if when.kind == "day":
        why = "a demand charge is billed per month: ask for a month or a year"
        return Indicator(name, None, unit, billed.completeness, (factor,), why, note, detail), False
    unknown = [m for m, c in zip(charge.month, charge.charge_cny, strict=True) if np.isnan(c)]
    if unknown:
        why = f"no {what} data in {', '.join(unknown)}"
        return Indicator(name, None, unit, billed.completeness, (factor,), why, note, detail), True
    for label, c in zip(charge.month, charge.charge_cny, strict=True):
        detail[f"charge_cny:{label}"] = float(c)
    return Indicator(
        name,
        float(np.sum(charge.charge_cny)),
        unit,
        billed.completeness,
        (factor,),
        None,
        note
        + (
            " (a lower bound: some intervals are missing)"
            if np.isnan(billed.series.energy).any()
            else ""
        ),
        detail,
    ), True
