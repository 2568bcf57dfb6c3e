"""Energy balances and indicators of a park: ``GET /api/v1/parks/{park}/energy`` and
``GET /api/v1/parks/{park}/indicators``."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query

from analytics.calendar import local_period_edges
from analytics.intervals import DEFAULT_INTERVAL_S
from api.deps import ParkDep, ReportCacheDep, StoreDep, scope_query
from api.params import InstantNs
from api.routes.accounting import MethodQuery, refuse_retired_parameters, used_profile
from api.schemas import (
    EnergyFigureOut,
    EnergyOut,
    EnergyPeriodOut,
    FactorOut,
    IndicatorOut,
    IndicatorsOut,
    finite_or_none,
    iso_from_ns,
    ms_from_ns,
)
from config.errors import InvalidRequestError
from config.messages import note_text, reason_text
from services.energy import energy_balance, parse_scope
from services.indicators import local_period, scope_indicators

__all__ = ["MAX_RANGE_DAYS", "router"]

router = APIRouter(prefix="/api/v1/parks", tags=["energy"])

MAX_RANGE_DAYS = 367
"""Longest range one request computes from raw registers (a leap year and a DST day)."""

_NS_PER_DAY = 86_400 * 1_000_000_000
_MAX_PERIODS = 10_000  # as MAX_POINTS of the series endpoint

Every = Literal["hour", "day", "month", "year"]


@router.get(
    "/{park}/energy",
    summary="Energy balance by local period and scope",
    responses={404: {"description": "Unknown park or scope"}},
)
def energy(
    park: ParkDep,
    store: StoreDep,
    *,
    start: Annotated[
        InstantNs | None,
        Query(description="Start; rounded down to its local period. Default: the current one."),
    ] = None,
    end: Annotated[
        InstantNs | None, Query(description="End; rounded up to a local period edge. Default now.")
    ] = None,
    period: Annotated[
        Every | None,
        Query(
            description="Local calendar period each value sums: `hour`, `day` (default), `month` "
            "or `year`, edges at local midnight and DST-aware, in the park's time zone. The same "
            "as `every`."
        ),
    ] = None,
    every: Annotated[
        Every | None,
        Query(
            description="The older name of `period`, kept: a **calendar period** here, not the "
            "duration in seconds that `every` is on `/series` (epoch-aligned buckets)."
        ),
    ] = None,
    scope: Annotated[
        str,
        Depends(
            scope_query(
                "park, building:<id>, floor:<building>/<n>, tenant:<id> or device:<id>. "
                "Default park (a tenant key: its own tenant, the only scope it may ask for)."
            )
        ),
    ],
) -> EnergyOut:
    """Grid import/export, PV, battery, EV charging, load, gas and unmetered use (park), or the
    highest meters of each kind in a building, floor, tenant or device — summed by local hour,
    day, month or year, every figure with its completeness."""
    if period is not None and every is not None and period != every:
        raise InvalidRequestError(f"period={period} and every={every} disagree: give one")
    per: Every = period or every or "day"
    chosen = parse_scope(scope)
    tz = park.park.timezone
    end_ns = end if end is not None else time.time_ns()
    start_ns = start if start is not None else end_ns - 1
    if end_ns <= start_ns:
        raise InvalidRequestError("end must be after start")
    if end_ns - start_ns > MAX_RANGE_DAYS * _NS_PER_DAY:
        raise InvalidRequestError(f"range longer than {MAX_RANGE_DAYS} days; ask for less")
    edges, _ = local_period_edges(start_ns, end_ns, tz, per)
    if len(edges) - 1 > _MAX_PERIODS:
        raise InvalidRequestError(f"more than {_MAX_PERIODS} periods; use a longer period")
    first_ns, last_ns = int(edges[0]), int(edges[-1])
    balance = energy_balance(
        store, park, chosen, start_ns=first_ns, end_ns=last_ns, interval_s=DEFAULT_INTERVAL_S
    )
    figures = []
    for fig in balance.figures:
        rolled = fig.rollup(balance.start_ns, balance.interval_s, tz, per)
        periods = [
            EnergyPeriodOut(
                label=label,
                start=iso_from_ns(int(s)),
                start_ms=ms_from_ns(int(s)),
                end=iso_from_ns(int(e)),
                end_ms=ms_from_ns(int(e)),
                value=float(v) if cov > 0 else None,
                completeness_pct=float(c),
                coverage_pct=float(cov),
            )
            for label, s, e, v, c, cov in zip(
                rolled.label,
                rolled.start_ns,
                rolled.end_ns,
                rolled.energy,
                rolled.completeness_pct,
                rolled.coverage_pct,
                strict=True,
            )
        ]
        figures.append(
            EnergyFigureOut(
                name=fig.name,
                unit=fig.unit,
                devices=list(fig.devices),
                note=fig.note,
                note_zh=note_text(fig.note, "zh"),
                total=finite_or_none(fig.total()),
                completeness_pct=fig.completeness_pct(),
                periods=periods,
            )
        )
    year = datetime.fromtimestamp(first_ns / 1e9, ZoneInfo(tz)).year
    return EnergyOut(
        park=park.id,
        scope=str(chosen),
        every=per,
        timezone=tz,
        interval_s=balance.interval_s,
        start=iso_from_ns(first_ns),
        start_ms=ms_from_ns(first_ns),
        end=iso_from_ns(last_ns),
        end_ms=ms_from_ns(last_ns),
        profile=used_profile(store, park, year, None)[1],
        figures=figures,
    )


@router.get(
    "/{park}/indicators",
    summary="Energy, carbon, cost and microgrid indicators of a period and scope",
    responses={
        404: {"description": "Unknown park or scope"},
        422: {
            "description": "Bad period or scope, a method other than calorific_value or "
            "coal_equivalent (the old names say which to use), or a retired parameter "
            "(gec_count, green_contract_kwh, gas_is_clean, purchased_heat, "
            "flat_price_cny_per_kwh: the accounting profile and the instrument ledger hold them)"
        },
    },
    dependencies=[Depends(refuse_retired_parameters)],
)
def indicators(
    park: ParkDep,
    store: StoreDep,
    cache: ReportCacheDep,
    *,
    period: Annotated[
        str,
        Query(description="Local year `2026`, month `2026-03` or day `2026-03-14`."),
    ],
    method: MethodQuery = None,
    scope: Annotated[
        str,
        Depends(
            scope_query(
                "park, building:<id>, floor:<building>/<n> or tenant:<id>. Default park (a "
                "tenant key: its own tenant, the only scope it may ask for)."
            )
        ),
    ],
) -> IndicatorsOut:
    """Comprehensive energy (tce), Scope 1, Scope 2 location- and market-based, tCO2/tce, clean
    and renewable shares, kgCO2/m², carbon and energy per unit of product, PV self-consumption,
    self-sufficiency, renewable penetration, peak demand and load factor, battery cycles and
    efficiency, PV yield, TOU energy cost and demand charge — of the park or of a building, floor
    or tenant, each with its unit, completeness and the factors and prices it used; null with a
    reason when it cannot be computed or does not apply to the scope. Computed with the accounting
    profile of the period's year (`GET /accounting/{year}`), which the answer names. A period
    asked again while its data stand (no roll-up of its days written, no reading of it stored,
    the same profile and green instruments, at most an hour) is answered from the report kept
    in this process."""
    chosen = parse_scope(scope)
    if chosen.kind == "device":
        raise InvalidRequestError(
            "indicators cover the park, a building, a floor or a tenant, not a device: use park, "
            "building:<id>, floor:<building>/<n> or tenant:<id>",
        )
    year = int(local_period(period, park.park.timezone).label[:4])
    profile, named = used_profile(store, park, year, method)
    report = cache.report(
        store,
        park,
        period,
        profile,
        lambda instruments: scope_indicators(
            store,
            park,
            period,
            profile=profile,
            scope=chosen,
            instruments=instruments,
            shared=cache.reads(),
        ),
        scope=chosen,
    )
    when = report.period
    return IndicatorsOut(
        park=report.park,
        scope=report.scope,
        period=when.label,
        kind=when.kind,
        timezone=report.tz,
        start=iso_from_ns(when.start_ns),
        start_ms=ms_from_ns(when.start_ns),
        end=iso_from_ns(when.end_ns),
        end_ms=ms_from_ns(when.end_ns),
        profile=named,
        regions=list(report.regions),
        indicators=[
            IndicatorOut(
                name=i.name,
                value=None if i.value is None else finite_or_none(float(i.value)),
                unit=i.unit,
                completeness_pct=i.completeness_pct,
                reason=i.reason,
                reason_zh=reason_text(i.reason, "zh"),
                note=i.note,
                note_zh=note_text(i.note, "zh"),
                factors=[FactorOut.model_validate(f) for f in i.factors],
                detail={
                    k: None if v is None else finite_or_none(float(v)) for k, v in i.detail.items()
                },
            )
            for i in report.indicators
        ],
    )
