"""Certified green electricity of a scope and period: the park's green instruments (GECs,
green-power contracts, direct supply) matched to its purchased electricity month by month
(:func:`analytics.instruments.match`, docs/accounting.md §3).

The match runs over the local months of the period's year up to the end of the period, on the
purchased electricity of the park (every month's park-level bucket) and of every tenant that
holds an instrument or is asked about. An instrument is used once and never above the
consumption it is matched to; a tenant-scoped instrument covers only its tenant; the park's
figure sums park-level and tenant claims, which never exceed the park's purchase. A day, or a
month still running, takes its share of its month's claim in proportion to its purchased kWh.
A building or floor holds no instrument (they are retired by the park or a tenant)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from analytics import instruments as inst
from analytics.calendar import LocalPeriod, local_period_edges
from config.accounting import AccountingProfile
from config.registry import ParkRegistry
from services.energy import Balance, LedgerFn, Scope, energy_balance
from services.indicators.basis import purchased, supply_balance
from services.indicators.model import Inputs, InstrumentUse, local_period
from services.instruments import instruments_for_year
from store.base import Store

__all__ = ["Green", "InstrumentSource", "certified_green", "stored_instruments"]

InstrumentSource = Callable[[Store, ParkRegistry, int], Sequence[inst.Instrument]]
"""The green instruments of a park retired against one reporting year."""


def stored_instruments(store: Store, park: ParkRegistry, year: int) -> Sequence[inst.Instrument]:
    """The instruments stored for ``park`` retired against ``year`` (the green-instrument
    ledger, :func:`services.instruments.instruments_for_year`)."""
    return instruments_for_year(store, park, year)


@dataclass(frozen=True, slots=True)
class Green:
    """Certified green kWh [kWh] claimed for the scope and period, by instrument kind, and the
    instruments behind them."""

    kwh: float
    uses: tuple[InstrumentUse, ...] = ()
    by_kind: dict[str, float] = field(default_factory=dict)
    note: str = "no green instrument retired against this year"


_NONE = Green(0.0)


def _monthly(
    bal: Balance, series: NDArray[np.float64], edges: NDArray[np.int64], lo_ns: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per local month: the known sum of ``series`` [kWh], and the part from ``lo_ns`` on."""
    n = edges.size - 1
    which = np.searchsorted(edges, bal.start_ns, side="right") - 1
    ok = np.isfinite(series) & (which >= 0) & (which < n)
    total = np.bincount(which[ok], weights=series[ok], minlength=n)[:n]
    late = ok & (bal.start_ns >= lo_ns)
    part = np.bincount(which[late], weights=series[late], minlength=n)[:n]
    return np.asarray(total, np.float64), np.asarray(part, np.float64)


def certified_green(
    store: Store,
    park: ParkRegistry,
    scope: Scope,
    when: LocalPeriod,
    profile: AccountingProfile,
    *,
    source: InstrumentSource,
    interval_s: int,
    ledger: LedgerFn,
) -> Green:
    """The certified green kWh of ``scope`` in ``when`` under ``profile`` (its Scope 2 basis
    defines the purchased electricity the instruments are matched to) [kWh]."""
    year = when.first_day.year
    held = [i for i in source(store, park, year) if i.reporting_year == year]
    if not held:
        return _NONE
    if scope.kind in ("building", "floor"):
        return Green(0.0, note="instruments are retired by the park or a tenant, not by a part")
    tz = park.park.timezone
    start = local_period(f"{year:04d}", tz).start_ns
    edges, labels = local_period_edges(start, when.end_ns, tz, "month")
    first = int(labels[0][:4]) * 12 + int(labels[0][5:]) - 1
    year_to_date = LocalPeriod(f"{year:04d}", "year", when.first_day, start, when.end_ns)
    supply = supply_balance(store, park, year_to_date, interval_s=interval_s, ledger=ledger)
    sup = Inputs(supply)
    bought, _ = purchased(sup.flow("grid_import_kwh"), sup.flow("grid_export_kwh"), sup.n, profile)
    park_total, park_part = _monthly(supply, bought.series.energy, edges, when.start_ns)
    load, _ = _monthly(supply, sup.flow("load_kwh").series.energy, edges, when.start_ns)
    share = np.divide(park_total, load, out=np.zeros_like(load), where=load > 0)
    buckets = [inst.ConsumptionBucket(first + k, float(v)) for k, v in enumerate(park_total)]
    parts: dict[str | None, NDArray[np.float64]] = {None: park_part}
    totals: dict[str | None, NDArray[np.float64]] = {None: park_total}
    tenants = {i.tenant for i in held if i.tenant is not None}
    if scope.kind == "tenant" and scope.id is not None:
        tenants.add(scope.id)
    for tenant in sorted(t for t in tenants if t is not None):
        if not any(t.id == tenant for t in park.tenants):
            continue
        bal = energy_balance(
            store,
            park,
            Scope("tenant", tenant),
            start_ns=start,
            end_ns=when.end_ns,
            interval_s=interval_s,
            ledger=ledger,
        )
        elec = Inputs(bal).flow("electricity_kwh").series.energy
        total, part = _monthly(bal, elec, edges, when.start_ns)
        totals[tenant], parts[tenant] = total * share, part * share
        buckets.extend(
            inst.ConsumptionBucket(first + k, float(v), tenant)
            for k, v in enumerate(totals[tenant])
        )
    result = inst.match(held, buckets)
    kinds = {i.id: i.kind for i in held}
    mine = None if scope.kind == "park" else scope.id
    uses: list[InstrumentUse] = []
    for a in result.allocations:
        if mine is not None and a.tenant != mine:
            continue
        k = a.month - first
        owner = a.tenant
        whole = totals[owner][k] if owner in totals else 0.0
        fraction = parts[owner][k] / whole if owner in parts and whole > 0 else 0.0
        if fraction <= 0:
            continue
        y, m = inst.year_month(a.month)
        uses.append(
            InstrumentUse(
                a.instrument_id,
                kinds[a.instrument_id],
                a.energy_kwh * fraction,
                f"{y:04d}-{m:02d}",
                a.tenant,
            )
        )
    by_kind: dict[str, float] = {}
    for u in uses:
        by_kind[u.kind] = by_kind.get(u.kind, 0.0) + u.energy_kwh
    note = (
        f"{len(held)} instrument(s) retired against {year}, matched month by month to purchased "
        "electricity (docs/accounting.md §3)"
    )
    return Green(sum(u.energy_kwh for u in uses), tuple(uses), by_kind, note)
