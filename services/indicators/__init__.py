"""Indicators of a park — or of a building, floor or tenant of it — for one local day, month or
year: energy (tce), carbon, shares, intensities, microgrid, battery, PV and electricity cost
(time-of-use energy and demand charges), each with its unit, completeness and the factors and
prices it used.

The inputs are the scope's energy balance (:func:`services.energy.energy_balance`) over the
period and the park's accounting profile (:class:`config.accounting.AccountingProfile`: the
electricity method, the grid-factor rule, Scope 2 net or gross, the gas heating value, the
boundary, who owns the PV certificates), which every report names; the factors come from the
effective-dated tables of :mod:`config.factors`; green instruments are matched to purchased
electricity month by month (:mod:`services.indicators.green`); prices from the park's
``tariff`` in the registry. An indicator that cannot be computed (no data,
no factor, a zero denominator, a park-level indicator asked of a part of the park) is ``None``
with a reason, never a made-up number. See docs/analytics.md, "Energy balances and indicators".

The package holds one module per concern: :mod:`~services.indicators.basis` (the flows of the
scope), :mod:`~services.indicators.energy_carbon` (tce, Scope 1 and 2, the 910 core indicator,
intensities), :mod:`~services.indicators.shares` (clean and renewable shares),
:mod:`~services.indicators.green` (certified green kWh from the instruments),
:mod:`~services.indicators.microgrid` (PV, battery, demand) and :mod:`~services.indicators.cost`
(TOU energy cost and demand charge); this module runs them in order."""

from __future__ import annotations

from analytics.intervals import DEFAULT_INTERVAL_S
from config.accounting import AccountingProfile
from config.messages import message
from config.registry import ParkRegistry
from services.energy import Balance, LedgerFn, Scope, energy_balance
from services.indicators.basis import park_basis, scope_basis, supply_balance
from services.indicators.cost import costs
from services.indicators.energy_carbon import carbon_indicators, comprehensive_energy, intensities
from services.indicators.green import InstrumentSource, certified_green, stored_instruments
from services.indicators.hybrid import rollup_plan
from services.indicators.microgrid import irradiance_w_per_m2, microgrid_indicators, sliding_demand
from services.indicators.model import (
    FactorUsed,
    Indicator,
    IndicatorReport,
    InstrumentUse,
    LocalPeriod,
    PeriodError,
    factor_regions,
    local_period,
)
from services.indicators.shares import shares
from services.ledger import device_ledger
from services.rollup import RollupReads
from store.base import Store

__all__ = [
    "FactorUsed",
    "Indicator",
    "IndicatorReport",
    "InstrumentSource",
    "InstrumentUse",
    "LocalPeriod",
    "PeriodError",
    "default_profile",
    "factor_regions",
    "local_period",
    "park_indicators",
    "scope_indicators",
]


def park_indicators(
    store: Store,
    park: ParkRegistry,
    period: str,
    *,
    profile: AccountingProfile | None = None,
    interval_s: int = DEFAULT_INTERVAL_S,
    ledger: LedgerFn | None = None,
    instruments: InstrumentSource = stored_instruments,
    shared: RollupReads | None = None,
) -> IndicatorReport:
    """Every indicator of ``park`` for the local ``period`` (``YYYY``, ``YYYY-MM``,
    ``YYYY-MM-DD``) under the accounting ``profile``, from the roll-up path unless a ``ledger``
    is given (see :func:`scope_indicators`). Raises :class:`PeriodError` for a bad period."""
    return scope_indicators(
        store,
        park,
        period,
        profile=profile,
        scope=Scope("park"),
        interval_s=interval_s,
        ledger=ledger,
        instruments=instruments,
        shared=shared,
    )


def default_profile(park: ParkRegistry) -> AccountingProfile:
    """The park's registry default profile, else the defaults named ``<park>/default``. The
    API, CLI and reports pass the profile in force for the year
    (:func:`services.accounting.profile_for`: the stored override, else this)."""
    if park.park.accounting is not None:
        return park.park.accounting
    return AccountingProfile(name=f"{park.id}/default")


def scope_indicators(
    store: Store,
    park: ParkRegistry,
    period: str,
    *,
    scope: Scope,
    profile: AccountingProfile | None = None,
    interval_s: int = DEFAULT_INTERVAL_S,
    ledger: LedgerFn | None = None,
    instruments: InstrumentSource = stored_instruments,
    shared: RollupReads | None = None,
) -> IndicatorReport:
    """The indicators of ``scope`` (park, building, floor or tenant) of ``park`` for the local
    ``period`` under the accounting ``profile`` (default :func:`default_profile`), with the
    formulas of the park (see docs/analytics.md, "Indicators per scope", and
    docs/accounting.md).

    A building, floor or tenant takes its highest consumption meters, its own gas and heat
    meters, a pro-rata share of the park's purchased electricity and on-site PV (park purchase /
    park load and PV self-consumed / park load over the period), its floor area and, for one
    tenant, its production counters. Green instruments (``instruments``: the park's, by
    reporting year) are matched month by month to purchased electricity: a tenant counts only
    its own, the park all, never more than it bought. Park-level indicators (PV, battery,
    self-sufficiency, billed demand) are None with a reason for a part of the park.

    ``ledger`` None (the default) is the **roll-up path**: the 15-minute stored ledger of only
    the meters a figure needs at 15 minutes, every other meter from the day roll-up with the
    days it cannot answer exactly read at 15 minutes (:mod:`services.indicators.hybrid`); the
    same numbers as the full path on the same stored ledger, at a fraction of the reads, on the
    15-minute grid only. A ``ledger`` (e.g. :func:`services.ledger.device_ledger` from the raw
    registers, or :func:`services.ledger.stored_ledger`) reads every meter of the scope through
    it: the full path. ``shared`` (roll-up path only): reads to share with the same request's
    other calls (a report's months and tenants), :class:`services.rollup.RollupReads`.

    Raises :class:`PeriodError` for a bad period, :class:`ValueError` for a device scope and
    :class:`~services.energy.UnknownScopeError` for a scope the park does not have.
    """
    if scope.kind == "device":
        raise ValueError("indicators cover the park, a building, a floor or a tenant, not a device")
    profile = profile or default_profile(park)
    tz = park.park.timezone
    when = local_period(period, tz)
    regions = factor_regions(park)
    read = park  # the registry the balances read: every meter, or those the roll-up path needs
    raw: LedgerFn
    if ledger is None:
        if interval_s != DEFAULT_INTERVAL_S:
            raise ValueError(
                f"the roll-up path has {DEFAULT_INTERVAL_S} s intervals, pass a ledger"
            )
        read, ledger = rollup_plan(park, scope, profile, shared)
        raw = device_ledger  # the sliding demand steps through raw registers (hybrid docstring)
    else:
        raw = ledger
    bal = energy_balance(
        store,
        read,
        scope,
        start_ns=when.start_ns,
        end_ns=when.end_ns,
        interval_s=interval_s,
        ledger=ledger,
    )
    sliding = irradiance = None
    if scope.kind == "park":
        basis = park_basis(bal, park, profile)
        park_bal: Balance | None = bal
        if interval_s <= _MAX_INTERVAL_S:
            sliding = sliding_demand(store, park, when, ledger=raw)
        irradiance = irradiance_w_per_m2(store, park, bal.start_ns, interval_s)
    else:
        supply = supply_balance(store, read, when, interval_s=interval_s, ledger=ledger)
        basis = scope_basis(bal, supply, park, profile)
        park_bal = None
    green = certified_green(
        store,
        park,  # a tenant holding instruments: its meters, at 15 minutes on the roll-up path
        scope,
        when,
        profile,
        source=instruments,
        interval_s=interval_s,
        ledger=ledger,
    )
    on = when.first_day
    en, tce = comprehensive_energy(basis, profile=profile, regions=regions, on=on)
    co2, carbon_out = carbon_indicators(basis, en, green, profile=profile, regions=regions, on=on)
    out = [tce, *carbon_out, *shares(basis, en, co2, profile=profile), *intensities(basis, en, co2)]
    out += microgrid_indicators(
        basis,
        park_bal,
        bal.start_ns,
        park=park,
        green_kwh=co2.green_kwh,
        interval_s=interval_s,
        tz=tz,
        sliding=sliding,
        irradiance=irradiance,
    )
    out += costs(
        basis,
        bal.start_ns,
        park=park,
        when=when,
        regions=regions,
        profile=profile,
        tz=tz,
        interval_s=interval_s,
        sliding=sliding.by_month if sliding is not None else None,
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
    return IndicatorReport(park.id, when, tz, regions, profile, tuple(out), str(scope), green.uses)


_MAX_INTERVAL_S = 3600
"""Longest slot [s] the demand and TOU indicators are computed on; beyond it they are None."""

_NEEDS_INTERVALS = frozenset(
    {
        "peak_demand_kw",
        "billed_demand_kw",
        "load_factor",
        "tou_energy_cost_cny",
        "demand_charge_cny",  # on the max-demand basis; a capacity charge needs no intervals
        "electricity_cost_cny",
    }
)


def _needs_intervals(ind: Indicator, interval_s: int) -> Indicator:
    reason = message("reason.needs_intervals", "en", slot_s=interval_s, max_s=_MAX_INTERVAL_S)
    return Indicator(ind.name, None, ind.unit, None, ind.factors, reason, ind.note)
