"""Indicators of a park — or of a building, floor or tenant of it — for one local day, month or
year: energy (tce), carbon, shares, intensities, microgrid, battery, PV and electricity cost
(time-of-use energy and demand charges), each with its unit, completeness and the factors and
prices it used.

The inputs are the scope's energy balance (:func:`services.energy.energy_balance`) over the
period; the factors come from the effective-dated tables of :mod:`config.factors`, the grid
factor of the park's province when the table has one, else of its grid region, else national;
prices from the park's ``tariff`` in the registry. An indicator that cannot be computed (no data,
no factor, a zero denominator, a park-level indicator asked of a part of the park) is ``None``
with a reason, never a made-up number. See docs/analytics.md, "Energy balances and indicators".

The package holds one module per concern: :mod:`~services.indicators.basis` (the flows of the
scope), :mod:`~services.indicators.energy_carbon` (tce, Scope 1 and 2, the 910 core indicator,
intensities), :mod:`~services.indicators.shares` (clean and renewable shares),
:mod:`~services.indicators.microgrid` (PV, battery, demand) and :mod:`~services.indicators.cost`
(TOU energy cost and demand charge); this module runs them in order."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from analytics.intervals import DEFAULT_INTERVAL_S
from config.registry import ParkRegistry
from services.energy import Balance, LedgerFn, Scope, energy_balance
from services.indicators.basis import Basis, park_basis, scope_basis, supply_balance
from services.indicators.cost import costs
from services.indicators.energy_carbon import carbon_indicators, comprehensive_energy, intensities
from services.indicators.microgrid import microgrid_indicators
from services.indicators.model import (
    FactorUsed,
    Indicator,
    IndicatorReport,
    LocalPeriod,
    PeriodError,
    Profile,
    factor_regions,
    local_period,
)
from services.indicators.shares import shares
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
        basis = park_basis(bal, park)
        park_bal: Balance | None = bal
    else:
        supply = supply_balance(store, park, when, interval_s=interval_s, ledger=ledger)
        basis = scope_basis(bal, supply, park)
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


def _compute(
    basis: Basis,
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
    en, tce = comprehensive_energy(basis, profile=profile, regions=regions, on=on)
    co2, carbon_out = carbon_indicators(basis, en, profile=profile, regions=regions, on=on)
    out = [tce, *carbon_out, *shares(basis, en, co2, profile=profile), *intensities(basis, en, co2)]
    out += microgrid_indicators(
        basis, park_bal, park=park, green_kwh=co2.green_kwh, interval_s=interval_s
    )
    out += costs(
        basis,
        start_ns,
        park=park,
        when=when,
        regions=regions,
        profile=profile,
        tz=tz,
        interval_s=interval_s,
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
