"""A row of the savings section of the reports (one energy baseline, ASHRAE Guideline 14-2014,
IPMVP Option C; docs/baselines.md); built by :mod:`reports.baselines`. Model only: the
renderers import it, so it imports nothing of services/ or store/."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

__all__ = ["SAVINGS_NUMBERS", "SavingsRow"]


class SavingsRow(BaseModel):
    """One baseline in a report: the model, the periods, the fit statistics and the limits they
    were judged by, and the savings with their uncertainty and whether they are claimed.

    Energies in ``unit`` (the figure's, e.g. kWh) over the reporting period; ``cv_rmse_pct``,
    ``nmbe_pct`` [%], ``r2`` [-] on ``baseline_periods`` periods (of ``baseline_expected``) with
    ``parameters`` parameters; ``change_points_c`` [degC]; ``fraction`` F = savings / adjusted
    baseline [-]; ``uncertainty`` ± at ``confidence`` [-], ``fsu`` its ratio to the savings [-]
    (Guideline 14's fractional savings uncertainty; None when the savings are 0);
    ``reporting_periods`` m of ``reporting_expected``. The limits: ``limit_set`` with its
    ``limit_title``, ``limit_clause`` (the part of Guideline 14 cited), ``limit_source``,
    ``limit_year``, ``limit_evidence`` (P/S/U) and the values ``max_cv_rmse_pct``,
    ``max_abs_nmbe_pct`` [%], ``max_fsu`` [-] at ``fsu_confidence`` [-], ``min_r2`` [-] (None:
    not checked). ``passed``: the model meets them; ``claimed``: so do the savings;
    ``reasons`` the codes of every limit broken (catalogue ``baseline.reason.<code>``). The
    savings fields are None when the reporting period has no data yet."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    scope: str
    figure: str
    unit: str
    model: str
    change_points_c: tuple[float, ...]
    baseline_start: date
    baseline_end: date
    reporting_start: date
    reporting_end: date
    baseline_periods: int | None
    baseline_expected: int | None
    parameters: int | None
    cv_rmse_pct: float
    nmbe_pct: float
    r2: float | None
    limit_set: str
    limit_title: str | None
    limit_clause: str | None
    limit_source: str | None
    limit_year: int | None
    limit_evidence: str | None
    max_cv_rmse_pct: float | None
    max_abs_nmbe_pct: float | None
    max_fsu: float | None
    fsu_confidence: float | None
    min_r2: float | None
    passed: bool
    adjusted_baseline: float | None
    actual: float | None
    savings: float | None
    fraction: float | None
    uncertainty: float | None
    fsu: float | None
    confidence: float | None
    reporting_periods: int | None
    reporting_expected: int | None
    claimed: bool
    reasons: tuple[str, ...]


SAVINGS_NUMBERS = (
    "baseline_periods",
    "baseline_expected",
    "parameters",
    "cv_rmse_pct",
    "nmbe_pct",
    "r2",
    "max_cv_rmse_pct",
    "max_abs_nmbe_pct",
    "max_fsu",
    "fsu_confidence",
    "min_r2",
    "adjusted_baseline",
    "actual",
    "savings",
    "fraction",
    "uncertainty",
    "fsu",
    "confidence",
    "reporting_periods",
    "reporting_expected",
)
"""The numeric fields of a :class:`SavingsRow`, in the order the CSV writes them."""
