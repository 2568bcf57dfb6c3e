"""Targets of a period and scope: ``GET /api/v1/parks/{park}/targets`` — the target profiles of
the park (zero-carbon park, MIIT green park, microgrid) or of a tenant (green factory), evaluated
as the reports evaluate them (:func:`services.evaluation.evaluate_targets`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import ParkDep, ReportCacheDep, StoreDep, scope_query
from api.routes.accounting import MethodQuery, refuse_retired_parameters, used_profile
from api.schemas import (
    MethodResultOut,
    TargetProfileOut,
    TargetRowOut,
    TargetsOut,
    ThresholdOut,
    YearEndOut,
    finite_or_none,
    iso_from_ns,
    ms_from_ns,
)
from config.errors import InvalidRequestError
from config.messages import reason_text
from config.targets import targets
from services.energy import parse_scope
from services.evaluation import PARK_PROFILES, TENANT_PROFILES, evaluate_targets, profiles_for
from services.indicators import local_period
from services.targets import MethodResult, ProfileResult, TargetResult, YearEnd

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/parks", tags=["targets"])

_PROFILES = ", ".join([*PARK_PROFILES, *TENANT_PROFILES])


def _sectors() -> set[str]:
    """The sectors the target table gives baseline and leading values for."""
    return {s.sector for p in targets().profiles for i in p.indicators for s in i.sectors}


def _num(value: float | None) -> float | None:
    return None if value is None else finite_or_none(float(value))


def _year_end(ye: YearEnd | None) -> YearEndOut | None:
    if ye is None:
        return None
    return YearEndOut(
        ytd=_num(ye.ytd),
        value=_num(ye.value),
        sigma=_num(ye.sigma),
        elapsed_share=_num(ye.elapsed_share),
        status=ye.status,
        gap=_num(ye.gap),
        completeness_pct=_num(ye.completeness_pct),
        method=ye.method,
        reason=ye.reason,
        reason_zh=reason_text(ye.reason, "zh"),
    )


def _method(m: MethodResult) -> MethodResultOut:
    return MethodResultOut(
        method=m.method,
        value=_num(m.value),
        annual_tce=_num(m.annual_tce),
        threshold=_num(m.threshold),
        status=m.status,
        chosen=m.chosen,
        reason=m.reason,
        reason_zh=reason_text(m.reason, "zh"),
    )


def _row(r: TargetResult) -> TargetRowOut:
    return TargetRowOut(
        key=r.key,
        title=r.title,
        role=r.role,
        veto=r.veto,
        reads=r.reads,
        unit=r.unit,
        direction="<=" if r.direction == "le" else ">=",
        value=_num(r.value),
        threshold=_num(r.threshold),
        status=r.status,
        gap=_num(r.gap),
        completeness_pct=_num(r.completeness_pct),
        basis=r.basis,
        score=_num(r.score),
        reason=r.reason,
        reason_zh=reason_text(r.reason, "zh"),
        example_threshold=any(t.example for t in r.thresholds),
        thresholds=[ThresholdOut.model_validate(t) for t in r.thresholds],
        year_end=_year_end(r.year_end),
        by_method=[_method(m) for m in r.by_method] or None,
    )


def _profile(result: ProfileResult) -> TargetProfileOut:
    p = result.profile
    return TargetProfileOut(
        id=p.id,
        title=p.title,
        document=p.document,
        year=p.year,
        indicative=result.indicative,
        vetoes_met=result.vetoes_met,
        rows=[_row(r) for r in result.results],
    )


@router.get(
    "/{park}/targets",
    summary="Target profiles evaluated for a period and scope",
    responses={
        404: {"description": "Unknown park or tenant"},
        422: {
            "description": "Bad period, a scope other than park or tenant, a profile that "
            "does not apply to the scope, a method other than calorific_value or "
            "coal_equivalent (the old names say which to use) or a retired parameter"
        },
    },
    dependencies=[Depends(refuse_retired_parameters)],
)
def park_targets(
    park: ParkDep,
    store: StoreDep,
    cache: ReportCacheDep,
    *,
    period: Annotated[
        str,
        Query(description="Local year `2026`, month `2026-03` or day `2026-03-14`."),
    ],
    profile: Annotated[
        str | None,
        Query(
            description=f"Only this profile ({_PROFILES}); default: every profile of the scope.",
            max_length=64,
        ),
    ] = None,
    method: MethodQuery = None,
    sector: Annotated[
        str | None,
        Query(
            description="Sector of the green-factory baseline and leading values (one the target "
            "table has); default: the tenant's in the registry.",
            max_length=64,
        ),
    ] = None,
    scope: Annotated[
        str,
        Depends(
            scope_query(
                "`park` (zero_carbon_park, miit_green_park, microgrid) or `tenant:<id>` "
                "(green_factory). Default park (a tenant key: its own tenant, the only scope it "
                "may ask for)."
            )
        ),
    ],
) -> TargetsOut:
    """Each indicator of each profile with its value, the threshold that applies, status, gap,
    completeness of the data behind it, basis (measured, declared or mixed) and, for scored
    indicators, a 0–100 score — computed from the period's indicators and the values declared
    for the scope and the period's year (`PUT /declared/{year}`), exactly as the reports do.
    When the period is the current year, each row also gets `year_end`: the year-to-date value
    and a projection to the end of the year ± one standard deviation. A period shorter than a
    year is `indicative`: the targets judge whole years. The indicators use the accounting
    profile of the period's year, named in `accounting`; they are the report
    `GET /indicators` gives for the same scope and period, kept in this process while its data
    stand."""
    # only domain errors are answered here (api/errors.py): any other error is a bug, and a 500
    chosen = parse_scope(scope)
    if chosen.kind not in ("park", "tenant"):
        raise InvalidRequestError(f"targets apply to the park or a tenant, not to scope {chosen}")
    ids = profiles_for(chosen)
    if sector is not None and sector not in _sectors():
        known = ", ".join(sorted(_sectors())) or "none"
        raise InvalidRequestError(f"unknown sector {sector!r}; the target table has: {known}")
    if profile is not None:
        if profile not in ids:
            raise InvalidRequestError(
                f"profile {profile!r} does not apply to scope {chosen}; it has: {', '.join(ids)}",
            )
        ids = (profile,)
    year = int(local_period(period, park.park.timezone).label[:4])
    accounting, named = used_profile(store, park, year, method)
    ev = evaluate_targets(
        store,
        park,
        period,
        scope=chosen,
        profile_ids=ids,
        profile=accounting,
        sector=sector,
        cache=cache,
    )
    when = ev.report.period
    return TargetsOut(
        park=park.id,
        scope=str(chosen),
        period=when.label,
        kind=when.kind,
        timezone=ev.report.tz,
        start=iso_from_ns(when.start_ns),
        start_ms=ms_from_ns(when.start_ns),
        end=iso_from_ns(when.end_ns),
        end_ms=ms_from_ns(when.end_ns),
        sector=ev.sector,
        declared=dict(ev.declared),
        projected=ev.projected,
        missing=list(ev.missing),
        accounting=named,
        profiles=[_profile(r) for r in ev.results],
    )
