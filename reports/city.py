"""The city report: the city evaluation (:func:`services.city.evaluate_city`) as a
:class:`~reports.city_model.CityReportDoc`, rendered by :func:`render_city` as JSON, CSV, HTML or
PDF (docs/city.md)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from config.city import CITY_FIGURES, city_industries
from reports.city_model import CityParkRow, CityReportDoc, CityTotals, CityWeightRow
from reports.city_render import render_city
from services.city import CityResult

__all__ = ["build_city_report", "render_city"]


def _sum(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return math.fsum(known) if known else None


def build_city_report(
    city: CityResult, *, software: str, generated_at: datetime | None = None
) -> CityReportDoc:
    """The report of ``city``; ``generated_at`` defaults to now (UTC)."""
    table = city.evaluation
    industries = city_industries()
    rows = []
    for r in city.parks:
        code = r.park.park.industry
        ind = None if code is None else industries.get(code)
        tr = r.trend
        rows.append(
            CityParkRow(
                rank=r.rank,
                id=r.park.id,
                name=r.park.park.name,
                industry=code,
                industry_zh=None if ind is None else ind.zh,
                industry_en=None if ind is None else ind.en,
                land_mu=r.park.park.land_mu,
                devices=len(r.park.devices),
                score=r.score,
                figures=dict(r.figures.figures),
                points={s.key: s.points for s in r.scores},
                previous_rank=None if tr is None else tr.rank,
                rank_change=None if tr is None else tr.rank_change,
                score_change=None if tr is None else tr.score_change,
                energy_change_pct=None if tr is None else tr.energy_change_pct,
                error=r.figures.error,
            )
        )
    ok = [r for r in city.parks if r.figures.error is None]
    totals = CityTotals(
        parks=len(city.parks),
        parks_in_error=len(city.parks) - len(ok),
        energy_tce=_sum([r.figures.figures.get("comprehensive_energy_tce") for r in ok]),
        tco2=_sum([r.figures.figures.get("tco2") for r in ok]),
        land_mu=_sum([r.park.park.land_mu for r in ok]),
        output_10k_cny=_sum([r.figures.figures.get("output_10k_cny") for r in ok]),
    )
    when = generated_at or datetime.now(UTC)
    return CityReportDoc(
        period=city.period,
        period_kind=city.kind,
        previous=city.previous,
        generated_at=when.isoformat(timespec="seconds"),
        software=software,
        evaluation_id=table.id,
        evaluation_zh=table.zh,
        evaluation_en=table.en,
        total=table.total,
        cap=table.scoring.cap,
        scoring_source=table.scoring.source,
        scoring_evidence=table.scoring.evidence,
        figure_units=dict(CITY_FIGURES),
        weights=tuple(
            CityWeightRow(
                key=i.key,
                reads=i.reads,
                direction=i.direction,
                unit=i.unit,
                weight=i.weight,
                zh=i.zh,
                en=i.en,
                benchmark=city.benchmarks.get(i.key),
                source=i.source,
                year=i.year,
                evidence=i.evidence,
            )
            for i in table.indicators
        ),
        totals=totals,
        parks=tuple(rows),
    )
