"""A row of the savings section of the reports (one energy baseline, ASHRAE Guideline 14-2014,
IPMVP Option C; docs/baselines.md); built by :mod:`reports.baselines`. Model only: the
renderers import it, so it imports nothing of services/ or store/."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

__all__ = ["SavingsRow"]


class SavingsRow(BaseModel):
    """One baseline in a report. Energies in ``unit`` (the figure's, e.g. kWh) over the
    reporting period; ``cv_rmse_pct`` and ``nmbe_pct`` [%]; ``uncertainty`` ± at
    ``confidence`` [-]; ``reasons`` the codes of every limit broken (``services.baselines``
    ``REASON_TEXT``); the savings fields are None when the reporting period has no data yet."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    scope: str
    figure: str
    unit: str
    model: str
    baseline_start: date
    baseline_end: date
    reporting_start: date
    reporting_end: date
    cv_rmse_pct: float
    nmbe_pct: float
    r2: float | None
    limit_set: str
    passed: bool
    adjusted_baseline: float | None
    actual: float | None
    savings: float | None
    uncertainty: float | None
    confidence: float | None
    claimed: bool
    reasons: tuple[str, ...]
