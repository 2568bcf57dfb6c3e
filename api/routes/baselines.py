"""Energy baselines: ``POST``/``GET /api/v1/parks/{park}/baselines`` and
``GET …/baselines/{baseline_id}`` — a model of a scope's energy fitted on a baseline period, its
verdict against the acceptance limits, and the savings of a reporting period with their
uncertainty (docs/baselines.md). Park staff only: a baseline may cover the whole park."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from analytics.baseline import Reason
from api.deps import ParkDep, StoreDep, require_roles
from api.schemas import (
    BaselineDefinitionOut,
    BaselineIn,
    BaselineLimitsOut,
    BaselineListOut,
    BaselineModelOut,
    BaselineReasonOut,
    BaselineResultOut,
    BaselineSavingsOut,
    BaselineStatsOut,
    ErrorOut,
    finite_or_none,
    iso_from_ns,
    ms_from_ns,
)
from config.auth import PrincipalRole
from services.baselines import (
    REASON_TEXT,
    BaselineDefinition,
    BaselineResult,
    create_baseline,
    list_baselines,
    read_baseline,
)
from services.energy import parse_scope

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/parks", tags=["baselines"])

_STAFF = [Depends(require_roles(PrincipalRole.CITY, PrincipalRole.OPERATOR))]

BaselineIdPath = Annotated[
    str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$", description="Baseline id.")
]


def _definition(d: BaselineDefinition) -> BaselineDefinitionOut:
    return BaselineDefinitionOut(
        id=d.id,
        scope=str(d.scope),
        figure=d.figure,
        granularity=d.granularity,
        kind=d.kind,
        baseline_start=d.baseline_start,
        baseline_end=d.baseline_end,
        reporting_start=d.reporting_start,
        reporting_end=d.reporting_end,
        limits=d.limits,
        production=d.production,
        day_type=d.day_type,
        created=iso_from_ns(d.created_ns),
        created_ms=ms_from_ns(d.created_ns),
    )


def _reason(r: Reason) -> BaselineReasonOut:
    zh, en = REASON_TEXT[r.code]
    return BaselineReasonOut(
        code=r.code, value=finite_or_none(r.value), limit=r.limit, message_zh=zh, message_en=en
    )


def _result(park: str, r: BaselineResult) -> BaselineResultOut:
    m, st, ls = r.model, r.model.stats, r.limit_set
    saved = None
    if r.claim is not None:
        s = r.claim.savings
        saved = BaselineSavingsOut(
            adjusted_baseline=s.adjusted_baseline,
            actual=s.actual,
            savings=s.savings,
            fraction=finite_or_none(s.fraction),
            uncertainty=s.uncertainty,
            fsu=finite_or_none(s.fsu),
            confidence=s.confidence,
            periods=s.m,
            claimed=r.claim.claimed,
            reasons=[_reason(x) for x in r.claim.reasons],
        )
    return BaselineResultOut(
        park=park,
        definition=_definition(r.definition),
        unit=r.unit,
        model=BaselineModelOut(
            kind=m.kind,
            change_points_c=list(m.change_points_c),
            intercept=m.intercept,
            temperature_coefs=list(m.temperature_coefs),
            category_levels=list(m.category_levels),
            category_shifts=list(m.category_shifts),
            production_coefs=list(m.production_coefs),
        ),
        stats=BaselineStatsOut(
            n=st.n,
            p=st.p,
            r2=finite_or_none(st.r2),
            cv_rmse_pct=finite_or_none(st.cv_rmse_pct),
            nmbe_pct=finite_or_none(st.nmbe_pct),
            rmse=finite_or_none(st.rmse),
            mean=finite_or_none(st.mean),
            rho=finite_or_none(st.rho),
            n_eff=finite_or_none(st.n_eff),
        ),
        baseline_periods=r.baseline_periods,
        baseline_expected=r.baseline_expected,
        limits=BaselineLimitsOut(
            id=ls.id,
            title=ls.title,
            clause=ls.clause,
            source=ls.source,
            year=ls.year,
            evidence=ls.evidence,
            max_cv_rmse_pct=ls.max_cv_rmse_pct,
            max_abs_nmbe_pct=ls.max_abs_nmbe_pct,
            max_fsu=ls.max_fsu,
            fsu_confidence=ls.fsu_confidence,
            min_r2=ls.min_r2,
            min_points=ls.min_points,
        ),
        passed=r.passed,
        reasons=[_reason(x) for x in r.reasons],
        savings=saved,
        reporting_periods=r.reporting_periods,
        reporting_expected=r.reporting_expected,
    )


@router.post(
    "/{park}/baselines",
    summary="Create and fit an energy baseline",
    status_code=201,
    responses={
        400: {"model": ErrorOut, "description": "The body is not valid JSON"},
        404: {"model": ErrorOut, "description": "A scope the park does not have"},
        413: {
            "model": ErrorOut,
            "description": "`payload_too_large`: the body is over `SMARTPARK_MAX_BODY_BYTES`",
        },
        422: {"description": "Bad periods, kind, figure or limit set, or too little data to fit"},
    },
    dependencies=_STAFF,
)
def post_baseline(park: ParkDep, store: StoreDep, body: BaselineIn) -> BaselineResultOut:
    """Fit the model on the baseline period, judge it against the limits and compute the
    savings of the reporting period; the definition is stored only if the fit succeeds."""
    result = create_baseline(
        store,
        park,
        scope=parse_scope(body.scope),
        baseline_period=(body.baseline_start, body.baseline_end),
        reporting_period=(body.reporting_start, body.reporting_end),
        granularity=body.granularity,
        kind=body.kind,
        figure=body.figure,
        limits=body.limits,
        production=body.production,
        day_type=body.day_type,
        baseline_id=body.id,
    )
    return _result(park.id, result)


@router.get("/{park}/baselines", summary="Baselines of a park", dependencies=_STAFF)
def get_baselines(park: ParkDep, store: StoreDep) -> BaselineListOut:
    """Every stored baseline definition (GET one for its fitted model and savings)."""
    return BaselineListOut(
        park=park.id, baselines=[_definition(d) for d in list_baselines(store, park)]
    )


@router.get(
    "/{park}/baselines/{baseline_id}",
    summary="A baseline's model, verdict and savings",
    responses={404: {"model": ErrorOut, "description": "No such baseline"}},
    dependencies=_STAFF,
)
def get_baseline(park: ParkDep, store: StoreDep, baseline_id: BaselineIdPath) -> BaselineResultOut:
    """Fitted again from the data stored now, so readings that arrived late count."""
    return _result(park.id, read_baseline(store, park, baseline_id))
