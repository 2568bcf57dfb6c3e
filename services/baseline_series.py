"""A baseline period by period over its reporting period: the adjusted baseline (the model fed
each period's conditions), the actual energy and the uncertainty band of one period, for the
chart of the tenant page (docs/baselines.md). The totals are those of
:func:`services.baselines.read_baseline`.

The band of one period is Guideline 14's absolute savings uncertainty with m = 1:
± t · 1.26 · RMSE · √((n / n') · (1 + 2 / n')) [unit of the figure], t two-sided at the limit
set's confidence with n − p degrees of freedom (ASHRAE Guideline 14-2014 Annex B)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from analytics.baseline import FSU_CORRECTION, predict, student_t_ppf
from config.registry import ParkRegistry
from services.baselines import BaselineResult, read_baseline, scope_periods
from store.base import Store

__all__ = ["BaselineSeries", "baseline_series"]

_PER_DAY = {"day": 1, "hour": 24}


@dataclass(frozen=True, slots=True)
class BaselineSeries:
    """Per reporting period kept: its start [ns], the adjusted ``baseline`` and the ``actual``
    [unit]; ``band`` the ± uncertainty of one period [unit] at ``confidence`` [-]."""

    result: BaselineResult
    start_ns: NDArray[np.int64]
    baseline: NDArray[np.float64]
    actual: NDArray[np.float64]
    band: float
    confidence: float


def baseline_series(store: Store, park: ParkRegistry, baseline_id: str) -> BaselineSeries:
    """The reporting period of baseline ``baseline_id`` period by period (404 and 422 as
    :func:`services.baselines.read_baseline`)."""
    result = read_baseline(store, park, baseline_id)
    d, model = result.definition, result.model
    rep = scope_periods(
        store,
        park,
        scope=d.scope,
        figure=d.figure,
        granularity=d.granularity,
        start=d.reporting_start,
        end=d.reporting_end,
        production=d.production,
    )
    per_day = _PER_DAY[d.granularity]
    category: NDArray[np.int64] | None = rep.category
    if not d.day_type:
        category = rep.category % 24 if d.granularity == "hour" else None
    usable = np.ones(rep.energy.size, dtype=bool)
    if category is not None:
        # an adjusted working day the baseline never saw counts as a working day
        levels = np.asarray(model.category_levels, dtype=np.int64)
        adjusted = (category // per_day == 2) & ~np.isin(category, levels)
        category = np.where(adjusted, category - 2 * per_day, category)
        usable = np.isin(category, levels)
    base = (
        predict(
            model,
            rep.temperature_c[usable],
            category=None if category is None else category[usable],
            production=None if rep.production is None else rep.production[usable],
        )
        if usable.any()
        else np.zeros(0)
    )
    st = model.stats
    confidence = result.limit_set.fsu_confidence or 0.68
    t = student_t_ppf(0.5 + confidence / 2.0, st.n - st.p)
    band = t * FSU_CORRECTION * st.rmse * math.sqrt((st.n / st.n_eff) * (1 + 2 / st.n_eff))
    return BaselineSeries(
        result=result,
        start_ns=rep.start_ns[usable],
        baseline=np.asarray(base, dtype=np.float64),
        actual=rep.energy[usable],
        band=band,
        confidence=confidence,
    )
