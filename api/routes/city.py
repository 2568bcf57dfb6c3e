"""The city view: ``GET /api/v1/city/indicators`` — every park the key may see, side by side on
the same indicators, each with the accounting profile it was computed with, the city's figures
(亩均 included), its score, rank and trend under the evaluation of
``config/data/city_evaluation.yaml`` (:mod:`services.city`) — and ``GET
/api/v1/city/reports/{period}``, the same evaluation as a report (PDF, HTML, CSV, JSON)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response

from api.deps import PrincipalDep, RegistryDep, ReportCacheDep, StoreDep, require_roles
from api.routes.accounting import MethodQuery, refuse_retired_parameters
from api.schemas import (
    CityValueOut,
    finite_or_none,
    iso_from_ns,
    ms_from_ns,
    profile_out,
)
from api.schemas.city import (
    CityEvaluationOut,
    CityIndustryOut,
    CityRankedOut,
    CityRankedParkOut,
    CityScoreOut,
    CityScoringOut,
    CityTrendOut,
    CityWeightOut,
)
from config.auth import Principal, PrincipalRole
from config.city import CityEvaluation, city_industries
from config.messages import reason_text
from config.registry import Registry
from config.version import __version__
from reports.city import build_city_report, render_city
from services.accounting import electricity_method
from services.city import CITY_STALE_S, CityResult, ParkResult, evaluate_city
from services.indicators import local_period
from services.report_cache import ReportCache
from store.base import Store

__all__ = ["router"]

# tenant keys are refused: the view compares whole parks
router = APIRouter(
    prefix="/api/v1/city",
    tags=["city"],
    dependencies=[Depends(require_roles(PrincipalRole.CITY, PrincipalRole.OPERATOR))],
)

PeriodQuery = Annotated[
    str,
    Query(
        description="Local year `2026`, month `2026-03` or day `2026-03-14`, each park in its own "
        "time zone."
    ),
]
TrendQuery = Annotated[
    bool,
    Query(description="Also evaluate the previous period and give each park's trend."),
]


def _evaluation_out(table: CityEvaluation) -> CityEvaluationOut:
    s = table.scoring
    return CityEvaluationOut(
        id=table.id,
        zh=table.zh,
        en=table.en,
        total=table.total,
        scoring=CityScoringOut(
            method=s.method, benchmark=s.benchmark, cap=s.cap, source=s.source, evidence=s.evidence
        ),
        indicators=[CityWeightOut.model_validate(i.model_dump()) for i in table.indicators],
    )


def _num(value: float | None) -> float | None:
    return None if value is None else finite_or_none(float(value))


def _park(result: ParkResult, period: str) -> CityRankedParkOut:
    park, fig = result.park, result.figures
    report = fig.report
    when = report.period if report is not None else local_period(period, park.park.timezone)
    indicators = [] if report is None else report.indicators
    comps = [i.completeness_pct for i in indicators if i.completeness_pct is not None]
    code = park.park.industry
    industry = None if code is None else city_industries().get(code)
    profile = None
    if fig.profile is not None and fig.profile_source is not None:
        profile = profile_out(
            fig.profile,
            source=fig.profile_source,
            year=int(period[:4]),
            overridden=fig.profile_overridden,
        )
    tr = result.trend
    return CityRankedParkOut(
        id=park.id,
        name=park.park.name,
        timezone=park.park.timezone,
        grid_region=park.park.grid_region,
        start=iso_from_ns(when.start_ns),
        start_ms=ms_from_ns(when.start_ns),
        end=iso_from_ns(when.end_ns),
        end_ms=ms_from_ns(when.end_ns),
        completeness_pct=min(comps) if comps else None,
        profile=profile,
        indicators=[
            CityValueOut(
                name=i.name,
                value=_num(i.value),
                unit=i.unit,
                completeness_pct=i.completeness_pct,
                reason=i.reason,
                reason_zh=reason_text(i.reason, "zh"),
            )
            for i in indicators
        ],
        industry=None
        if industry is None
        else CityIndustryOut(code=industry.code, zh=industry.zh, en=industry.en),
        land_mu=park.park.land_mu,
        figures={k: _num(v) for k, v in fig.figures.items()},
        figure_reasons=dict(fig.reasons),
        figure_reasons_zh={k: reason_text(v, "zh") or v for k, v in fig.reasons.items()},
        score=result.score,
        rank=result.rank,
        scores=[
            CityScoreOut(
                key=s.key,
                value=_num(s.value),
                benchmark=_num(s.benchmark),
                points=s.points,
                reason=s.reason,
                reason_zh=reason_text(s.reason, "zh"),
            )
            for s in result.scores
        ],
        trend=None
        if tr is None
        else CityTrendOut(
            period=tr.period,
            score=tr.score,
            rank=tr.rank,
            score_change=tr.score_change,
            rank_change=tr.rank_change,
            energy_change_pct=_num(tr.energy_change_pct),
            tco2_per_tce_change=_num(tr.tco2_per_tce_change),
        ),
        error=fig.error,
        error_zh=reason_text(fig.error, "zh"),
        as_of=None if fig.as_of_ms is None else iso_from_ns(fig.as_of_ms * 1_000_000),
        as_of_ms=fig.as_of_ms,
        stale=fig.stale,
    )


def _evaluate(
    registry: Registry,
    store: Store,
    principal: Principal,
    *,
    period: str,
    method: str | None,
    trend: bool,
    cache: ReportCache,
    stale_s: float = 0.0,
) -> CityResult:
    local_period(period, "UTC")  # a bad period: 422 before any park is computed
    chosen = None if method is None else electricity_method(method)
    parks = [registry.parks[p] for p in sorted(registry.parks) if principal.sees_park(p)]
    return evaluate_city(
        store, parks, period, method=chosen, trend=trend, cache=cache, stale_s=stale_s
    )


@router.get(
    "/indicators",
    summary="Parks compared, scored and ranked on the same indicators",
    responses={
        403: {"description": "A tenant key (or a gateway key)"},
        422: {
            "description": "Bad period, a method other than calorific_value or coal_equivalent "
            "(the old names say which to use) or a retired parameter"
        },
    },
    dependencies=[Depends(refuse_retired_parameters)],
)
def city_indicators(
    registry: RegistryDep,
    store: StoreDep,
    principal: PrincipalDep,
    cache: ReportCacheDep,
    *,
    period: PeriodQuery,
    method: MethodQuery = None,
    trend: TrendQuery = True,
    fresh: Annotated[
        bool,
        Query(
            description="true: compute every park whose data moved since its figures were "
            "kept, instead of giving those figures while they are at most 15 minutes old."
        ),
    ] = False,
) -> CityRankedOut:
    """Every park the key may see (a city key: all of them, an operator key: its own), ordered by
    id, each with the same indicators in the same order (name, value, unit, completeness and,
    for a null value, why), computed with its accounting profile of the period's year (named in
    its `profile`) as `GET /parks/{park}/indicators?period=`; `method=` puts every park on the
    same electricity method (`method` of the answer is null when the parks' differ).

    Each park also carries the city's `figures` (energy, tce, tCO2, shares, energy and
    industrial value added per mu, value added per tce, completeness), its `scores` on the
    evaluation's indicators (weights in `evaluation`, benchmarks in `benchmarks`), its `score`,
    `rank` and, with `trend=true`, its `trend` against the previous period. The parks are
    computed concurrently; a park whose store does not answer has `error` (naming the store),
    no score and no rank, and the others still answer.

    Each park's figures are kept in the server while its data of the period stand, so a period
    asked again answers at once. For a park whose data moved since (a period still receiving
    data), its kept figures are given while they are at most `stale_s` (15 minutes) old, with
    `stale: true` and their time in `as_of`, and fresh ones are computed in the background for
    the next ask; `fresh=true` computes them now."""
    stale_s = 0.0 if fresh else CITY_STALE_S
    city = _evaluate(
        registry,
        store,
        principal,
        period=period,
        method=method,
        trend=trend,
        cache=cache,
        stale_s=stale_s,
    )
    parks = sorted((_park(r, city.period) for r in city.parks), key=lambda p: p.id)
    methods = {p.profile.electricity_method for p in parks if p.profile is not None}
    return CityRankedOut(
        period=city.period,
        kind=city.kind,
        method=methods.pop() if len(methods) == 1 else None,
        names=list(dict.fromkeys(i.name for p in parks for i in p.indicators)),
        parks=parks,
        previous=city.previous,
        evaluation=_evaluation_out(city.evaluation),
        benchmarks={k: _num(v) for k, v in city.benchmarks.items()},
        stale_s=stale_s,
    )


_MEDIA = {
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}


@router.get(
    "/reports/{period}",
    summary="City evaluation report: every park scored and ranked",
    response_class=Response,
    responses={
        200: {
            "description": "The report document",
            "content": {
                **{media: {} for media in _MEDIA.values()},
                "application/json": {
                    "example": {  # abridged: see docs/city.md
                        "kind": "city",
                        "period": "2025",
                        "parks": [{"rank": 1, "id": "city-001", "score": 104.2}],
                    }
                },
            },
        },
        403: {"description": "A tenant key (or a gateway key)"},
        422: {"description": "Bad period, format, language or method"},
        503: {"description": "A Chinese PDF was asked for and the server has no CJK font"},
    },
    dependencies=[Depends(refuse_retired_parameters)],
)
def city_report(
    registry: RegistryDep,
    store: StoreDep,
    principal: PrincipalDep,
    cache: ReportCacheDep,
    period: Annotated[
        str, Path(description="Local year, month or day, as `period=` of /city/indicators.")
    ],
    *,
    format: Annotated[
        Literal["pdf", "html", "csv", "json"], Query(description="Document format.")
    ] = "json",
    lang: Annotated[
        Literal["zh", "en"], Query(description="Language: Chinese (default) or English.")
    ] = "zh",
    method: MethodQuery = None,
) -> Response:
    """The city evaluation of the period as a document: the ranking with each park's score,
    figures and trend, the weights and benchmarks, and the parks that could not be computed."""
    city = _evaluate(
        registry, store, principal, period=period, method=method, trend=True, cache=cache
    )
    doc = build_city_report(city, software=f"smartpark {__version__}")
    body = render_city(doc, format, lang)  # no CJK font for a PDF: 503, by api/errors.py
    disposition = "inline" if format in ("html", "json") else "attachment"
    name = f"city-{city.period}-{lang}.{format}"
    return Response(
        body,
        media_type=_MEDIA[format],
        headers={"Content-Disposition": f'{disposition}; filename="{name}"'},
    )
