"""The savings section of the reports: every stored energy baseline of the report's scope whose
reporting period overlaps the report's year, fitted again from the data stored now, with its
fit statistics, the limits it was judged by, the savings and their uncertainty, and whether
they may be claimed (ASHRAE Guideline 14-2014, IPMVP Option C; docs/baselines.md).

A park evaluation lists the park's baselines of every scope; a green-factory report those of
its tenant. Nothing is computed here beyond :func:`services.baselines.evaluate_baseline`."""

from __future__ import annotations

import math
from datetime import date

from config.errors import InvalidRequestError
from config.registry import ParkRegistry
from reports.savings import SavingsRow
from services.baselines import BaselineResult, evaluate_baseline, list_baselines
from store.base import Store

__all__ = ["savings_row", "savings_rows"]


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def savings_row(result: BaselineResult) -> SavingsRow:
    """The report row of one evaluated baseline."""
    d, st, claim = result.definition, result.model.stats, result.claim
    s = claim.savings if claim is not None else None
    reasons: list[str] = [r.code for r in (claim.reasons if claim is not None else result.reasons)]
    if claim is None:
        reasons.append("no_reporting_data")
    ls = result.limit_set
    return SavingsRow(
        id=d.id,
        scope=str(d.scope),
        figure=d.figure,
        unit=result.unit,
        model=result.model.kind,
        change_points_c=result.model.change_points_c,
        baseline_start=d.baseline_start,
        baseline_end=d.baseline_end,
        reporting_start=d.reporting_start,
        reporting_end=d.reporting_end,
        baseline_periods=result.baseline_periods,
        baseline_expected=result.baseline_expected,
        parameters=st.p,
        cv_rmse_pct=st.cv_rmse_pct,
        nmbe_pct=st.nmbe_pct,
        r2=_finite(st.r2),
        limit_set=ls.id,
        limit_title=ls.title,
        limit_clause=ls.clause,
        limit_source=ls.source,
        limit_year=ls.year,
        limit_evidence=ls.evidence,
        max_cv_rmse_pct=ls.max_cv_rmse_pct,
        max_abs_nmbe_pct=ls.max_abs_nmbe_pct,
        max_fsu=ls.max_fsu,
        fsu_confidence=ls.fsu_confidence,
        min_r2=ls.min_r2,
        passed=result.passed,
        adjusted_baseline=s.adjusted_baseline if s else None,
        actual=s.actual if s else None,
        savings=s.savings if s else None,
        fraction=_finite(s.fraction) if s else None,
        uncertainty=s.uncertainty if s else None,
        fsu=_finite(s.fsu) if s else None,
        confidence=s.confidence if s else None,
        reporting_periods=result.reporting_periods,
        reporting_expected=result.reporting_expected,
        claimed=bool(claim and claim.claimed),
        reasons=tuple(dict.fromkeys(reasons)),
    )


def savings_rows(
    store: Store, park: ParkRegistry, year: int, tenant: str | None = None
) -> tuple[SavingsRow, ...]:
    """The rows of the baselines of ``park`` (of ``tenant`` only, when given) whose reporting
    period overlaps calendar ``year``; a baseline whose data can no longer fit its model is left
    out (it has no figures to show)."""
    first, end = date(year, 1, 1), date(year + 1, 1, 1)
    rows = []
    for d in list_baselines(store, park):
        if d.reporting_end <= first or d.reporting_start >= end:
            continue
        if tenant is not None and (d.scope.kind, d.scope.id) != ("tenant", tenant):
            continue
        try:
            rows.append(savings_row(evaluate_baseline(store, park, d)))
        except InvalidRequestError:  # BaselineDataError / BaselineRequestError: no figures
            continue
    return tuple(rows)
