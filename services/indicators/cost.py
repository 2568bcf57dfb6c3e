"""Electricity cost: time-of-use energy cost, demand charge and their sum, of the electricity
the tariff bills (the park's grid import, or a scope's metered consumption re-billed at the
park's tariff)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from analytics import tariff
from analytics.calendar import LocalPeriod
from config.accounting import AccountingProfile
from config.factors import TOU_PERIOD_ORDER, FactorNotFoundError, tou_tariffs
from config.messages import message
from config.registry import ParkRegistry
from services.indicators.basis import Basis
from services.indicators.model import FactorUsed, Indicator, finite, min_of, shape_completeness

__all__ = ["costs"]


def _months(when: LocalPeriod) -> list[int]:
    """The local months (1-12) the period covers."""
    return list(range(1, 13)) if when.kind == "year" else [when.first_day.month]


def _price(
    park: ParkRegistry, profile: AccountingProfile, when: LocalPeriod, region: str
) -> FactorUsed | None:
    """The flat energy price [CNY/kWh]: the profile's, else the registry tariff's, else None."""
    if profile.flat_price_cny_per_kwh is not None:
        return FactorUsed(
            "flat_price_cny_per_kwh",
            profile.flat_price_cny_per_kwh,
            "CNY/kWh",
            f"accounting profile {profile.name}: flat_price_cny_per_kwh",
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


def costs(
    basis: Basis,
    start_ns: NDArray[np.int64],
    *,
    park: ParkRegistry,
    when: LocalPeriod,
    regions: Sequence[str],
    profile: AccountingProfile,
    tz: str,
    interval_s: int,
    sliding: Mapping[str, float] | None = None,
) -> list[Indicator]:
    """TOU energy cost, demand charge and their sum, of the electricity the tariff bills: the
    park's grid import, or a scope's metered consumption (re-billed at the park's tariff)."""
    tou = _tou(basis, start_ns, park=park, when=when, regions=regions, profile=profile, tz=tz)
    dc, owed = _demand(
        basis,
        start_ns,
        park=park,
        when=when,
        regions=regions,
        tz=tz,
        ivl=interval_s,
        sliding=sliding,
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
            min_of(*(c for c in (tou.completeness_pct, dc.completeness_pct) if c is not None)),
            tou.factors + tuple(f for f in dc.factors if f not in tou.factors),
            reason,
            "TOU energy cost + demand charge"
            + ("" if dc.value is not None else f" (no demand charge: {dc.reason})"),
            {"energy_cny": tou.value, "demand_cny": dc.value},
        ),
    ]


def _tou(
    basis: Basis,
    start_ns: NDArray[np.int64],
    *,
    park: ParkRegistry,
    when: LocalPeriod,
    regions: Sequence[str],
    profile: AccountingProfile,
    tz: str,
) -> Indicator:
    on = when.first_day
    billed = basis.billed
    shape_pct = shape_completeness(billed.series)  # these need the 15-min shape
    what = "grid import" if basis.scope.kind == "park" else "metered electricity"
    schedule = None
    for region in regions:
        try:
            schedule = tou_tariffs().lookup(region, on)
            break
        except FactorNotFoundError:
            continue
    if schedule is None:
        why = message("reason.no_tou_schedule", "en", on=on, regions=", ".join(regions))
        return Indicator("tou_energy_cost_cny", None, "CNY", None, (), why)
    used = FactorUsed(
        schedule.name, 1.0, "ratio to the flat price", schedule.source, schedule.year,
        schedule.region, schedule.evidence,
    )  # fmt: skip
    flat = _price(park, profile, when, regions[0])
    factors = (used,) if flat is None else (flat, used)
    if billed.kwh is None:
        why = billed.why or message("reason.no_data", "en", flow=what)
        return Indicator("tou_energy_cost_cny", None, "CNY", shape_pct, factors, why)
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
        shape_pct,
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
    basis: Basis,
    start_ns: NDArray[np.int64],
    *,
    park: ParkRegistry,
    when: LocalPeriod,
    regions: Sequence[str],
    tz: str,
    ivl: int,
    sliding: Mapping[str, float] | None = None,
) -> tuple[Indicator, bool]:
    """Demand charge of the period [CNY]: each local month's highest ``ivl``-average power of the
    billed electricity [kW] × the price [CNY/(kW·month)], or the contracted capacity × price.
    For the park, the month's highest 15-minute window ``sliding`` [kW by month label] replaces
    the fixed blocks where known, and the demand is not below 40 % of ``contracted_kw``.

    Returns the indicator and whether a demand charge is owed for this scope and period: False
    when none applies (none configured, a day, a capacity charge asked of a part of the park),
    then the total cost is the energy cost alone.
    """
    name, unit = "demand_charge_cny", "CNY"
    t = park.park.tariff
    billed = basis.billed
    shape_pct = shape_completeness(billed.series)  # these need the 15-min shape
    if t is None or t.demand_charge_cny_per_kw_month is None:
        why = message("reason.no_demand_charge", "en")
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
            why = message("reason.capacity_basis", "en", scope=basis.scope)
            return Indicator(name, None, unit, None, (factor,), why, note), False
        if when.kind == "day":
            why = message("reason.demand_charge_monthly", "en")
            return Indicator(name, None, unit, None, (factor,), why, note), False
        kw = t.contracted_kw or 0.0
        return Indicator(
            name, kw * price * months, unit, 100.0, (factor,), None, note,
            {"contracted_kw": kw, "price_cny_per_kw_month": price, "months": float(months)},
        ), True  # fmt: skip
    park_scope = basis.scope.kind == "park"
    what = "grid import" if park_scope else "metered electricity"
    note = f"highest {ivl // 60}-minute average {what} of each local month × price"
    if park_scope and sliding:
        note = f"highest 15-minute window sliding over the {what} of each local month × price"
    if park_scope and t.contracted_kw is not None:
        note += ", not below 40 % of the contracted capacity (发改办价格[2016]1583号)"
    if billed.kwh is None:
        why = billed.why or message("reason.no_data", "en", flow=what)
        return Indicator(name, None, unit, shape_pct, (factor,), why, note), True
    blocks = tariff.demand_charge(
        start_ns, billed.series.energy, interval_s=ivl, price_cny_per_kw_month=price, tz=tz
    )
    detail: dict[str, float | None] = {"price_cny_per_kw_month": price}
    charged: dict[str, float] = {}
    for label, kw in zip(blocks.month, blocks.max_demand_kw, strict=True):
        detail[f"fixed_block_max_kw:{label}"] = finite(float(kw))
        measured = float(kw)
        if park_scope and sliding is not None and math.isfinite(sliding.get(label, math.nan)):
            measured = sliding[label]
        detail[f"max_demand_kw:{label}"] = finite(measured)
        if park_scope and t.contracted_kw is not None:
            measured = tariff.billed_demand_kw(measured, t.contracted_kw)
            detail[f"billed_demand_kw:{label}"] = finite(measured)
        charged[label] = measured * price
    if when.kind == "day":
        why = message("reason.demand_charge_monthly", "en")
        return Indicator(name, None, unit, shape_pct, (factor,), why, note, detail), False
    unknown = [m for m, c in charged.items() if np.isnan(c)]
    if unknown:
        why = message("reason.no_data_in_months", "en", flow=what, months=", ".join(unknown))
        return Indicator(name, None, unit, shape_pct, (factor,), why, note, detail), True
    for label, c in charged.items():
        detail[f"charge_cny:{label}"] = c
    return Indicator(
        name,
        sum(charged.values()),
        unit,
        shape_pct,
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
