"""Acceptance limits of energy-baseline models, shipped as data in
``config/data/baseline_limits.yaml``.

Each limit set carries its source, year and evidence grade; ``use`` says whether it is meant for
baseline (regression) models or lists the calibration criteria of simulation models for reference
— :meth:`BaselineLimitTable.for_baseline` never returns a calibration set. See docs/baselines.md.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from config.errors import ConfigError, Problem
from config.factors import Evidence, read_table

__all__ = [
    "BaselineLimitError",
    "BaselineLimitTable",
    "DataSufficiency",
    "LimitSet",
    "baseline_limits",
    "load_baseline_limits",
]


class BaselineLimitError(ConfigError):
    """The limit table is invalid, or a limit set asked for does not exist or does not fit."""

    def __init__(self, problems: list[Problem] | str) -> None:
        self.problems = problems if isinstance(problems, list) else []
        text = problems if isinstance(problems, str) else "\n".join(str(p) for p in problems)
        super().__init__(text)


class LimitSet(BaseModel):
    """One set of limits (units in the field names: [%], [-], [months])."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    use: Literal["baseline", "calibration"]
    title: str
    clause: str = Field(min_length=1)  # what part of the document, as a report cites it
    source: str
    year: int = Field(ge=1990, le=2100)
    evidence: Evidence
    reporting_months_min: float = Field(ge=0)
    reporting_months_max: float | None = Field(gt=0)
    max_cv_rmse_pct: float = Field(gt=0, allow_inf_nan=False)
    max_abs_nmbe_pct: float = Field(ge=0, allow_inf_nan=False)
    max_fsu: float | None = Field(gt=0, allow_inf_nan=False)
    fsu_confidence: float | None = Field(gt=0, lt=1)
    min_r2: float | None = Field(ge=0, le=1)
    min_points: int = Field(ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> LimitSet:
        if (self.max_fsu is None) != (self.fsu_confidence is None):
            raise ValueError("max_fsu and fsu_confidence go together")
        if self.use == "baseline" and self.max_fsu is None:
            raise ValueError("a baseline limit set needs max_fsu and fsu_confidence")
        top = self.reporting_months_max
        if top is not None and top <= self.reporting_months_min:
            raise ValueError("reporting_months_max must be above reporting_months_min")
        return self


class DataSufficiency(BaseModel):
    """Share of a period's intervals that must be known for the period to enter a model [-]."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_period_coverage: float = Field(gt=0, le=1)
    source: str
    year: int | None = Field(ge=1990, le=2100)
    evidence: Evidence


class BaselineLimitTable(BaseModel):
    """The limit sets, the id of the default one and the data-sufficiency rule."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    table: Literal["baseline_limits"]
    default: str
    data_sufficiency: DataSufficiency
    sets: tuple[LimitSet, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids(self) -> BaselineLimitTable:
        ids = [s.id for s in self.sets]
        if len(set(ids)) != len(ids):
            raise ValueError("limit set ids must be unique")
        if self.default not in ids:
            raise ValueError(f"default {self.default!r} is not a limit set")
        return self

    def get(self, set_id: str) -> LimitSet:
        """The set ``set_id``; :class:`BaselineLimitError` if there is none."""
        for s in self.sets:
            if s.id == set_id:
                return s
        known = ", ".join(s.id for s in self.sets)
        raise BaselineLimitError(f"no baseline limit set {set_id!r} (known: {known})")

    def for_baseline(self, reporting_months: float, set_id: str | None = None) -> LimitSet:
        """The baseline set for a reporting period of ``reporting_months`` [months]: ``set_id``
        if given (it must be a baseline set), else the default set's family — the baseline set
        whose reporting-length band holds ``reporting_months``."""
        if set_id is not None:
            chosen = self.get(set_id)
            if chosen.use != "baseline":
                raise BaselineLimitError(
                    f"{set_id!r} lists calibration criteria of simulation models; a baseline "
                    "model is judged by a baseline set"
                )
            return chosen
        for s in self.sets:
            top = s.reporting_months_max
            if (
                s.use == "baseline"
                and s.reporting_months_min <= reporting_months
                and (top is None or reporting_months < top)
            ):
                return s
        return self.get(self.default)


def load_baseline_limits(
    path: Path | None = None, *, name: str = "baseline_limits.yaml"
) -> BaselineLimitTable:
    """Load the limit table from ``path``, or the shipped ``config/data/<name>``; raises
    :class:`BaselineLimitError` with every problem (file and line)."""
    return read_table(BaselineLimitTable, path, name, BaselineLimitError)


@functools.cache
def baseline_limits() -> BaselineLimitTable:
    """The shipped limit table (loaded once)."""
    return load_baseline_limits()
