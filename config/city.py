"""The city's tables, shipped as data: the industries a park may name
(``config/data/city_industries.yaml``, GB/T 4754-2017 divisions) and the evaluation of parks
(``config/data/city_evaluation.yaml``: indicators, weights, scoring), each entry with its source,
year and evidence grade. :mod:`services.city` computes the evaluation; docs/city.md explains it.

A table in ``SMARTPARK_TABLES_DIR`` of the same file name replaces the shipped one (the city sets
its own weights); every problem of a file is reported with its file and line.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from config.errors import ConfigError, Problem
from config.factors import Evidence, FactorError, override_stamp, read_table, tables_dir

__all__ = [
    "CITY_FIGURES",
    "CityEvaluation",
    "CityIndicator",
    "CityTableError",
    "Direction",
    "Industry",
    "IndustryTable",
    "Scoring",
    "city_evaluation",
    "city_industries",
    "load_city_evaluation",
    "load_city_industries",
]

_CODE = r"^[a-z][0-9]{2,4}$"
_KEY = r"^[a-z0-9][a-z0-9_.-]{0,63}$"

CITY_FIGURES: dict[str, str] = {
    "comprehensive_energy_tce": "tce",
    "electricity_kwh": "kWh",
    "tco2": "tCO2",
    "tco2_per_tce": "tCO2/tce",
    "clean_energy_share": "fraction",
    "renewable_electricity_share": "fraction",
    "energy_per_mu_tce": "tce/mu",
    "output_10k_cny": "10k CNY",
    "output_per_mu_10k_cny": "10k CNY/mu",
    "output_per_tce_10k_cny": "10k CNY/tce",
    "completeness_pct": "%",
}
"""The figures the city evaluation computes for every park (:mod:`services.city`), with their
units; an indicator of the evaluation ``reads`` one of them."""

Direction = Literal["ge", "le"]


class CityTableError(ConfigError):
    """A city table is invalid; ``problems`` lists every problem with file and line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Industry(_Frozen):
    """An industry: its GB/T 4754-2017 division code (``c39``) and its names."""

    code: str = Field(pattern=_CODE)
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class IndustryTable(_Frozen):
    """The industries a park may name."""

    table: Literal["city_industries"]
    source: str = Field(min_length=1)
    year: int
    evidence: Evidence
    industries: tuple[Industry, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> IndustryTable:
        codes = [i.code for i in self.industries]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise ValueError(f"industry codes listed twice: {', '.join(twice)}")
        return self

    def get(self, code: str) -> Industry | None:
        """The industry of ``code``, or None."""
        return next((i for i in self.industries if i.code == code), None)


class Scoring(_Frozen):
    """How an indicator's value becomes points: ``weight × min(value / benchmark, cap)`` (more
    is better) or ``weight × min(benchmark / value, cap)`` (less is better), the benchmark the
    mean of the city's parks that have the value."""

    method: Literal["ratio_to_benchmark"]
    benchmark: Literal["city_mean"]
    cap: float = Field(gt=1.0, le=10.0, allow_inf_nan=False)
    source: str = Field(min_length=1)
    evidence: Evidence


class CityIndicator(_Frozen):
    """One indicator of the evaluation: the figure it reads, its direction, unit and weight
    [points], its names and provenance."""

    key: str = Field(pattern=_KEY)
    reads: str
    direction: Direction
    unit: str = Field(min_length=1)
    weight: float = Field(gt=0, allow_inf_nan=False)
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)
    source: str = Field(min_length=1)
    year: int = Field(ge=1990, le=2100)
    evidence: Evidence

    @model_validator(mode="after")
    def _known_figure(self) -> CityIndicator:
        unit = CITY_FIGURES.get(self.reads)
        if unit is None:
            raise ValueError(
                f"reads: {self.reads!r} is not a city figure (known: {', '.join(CITY_FIGURES)})"
            )
        if unit != self.unit:
            raise ValueError(f"unit: {self.reads} is in {unit}, not {self.unit!r}")
        return self


class CityEvaluation(_Frozen):
    """The evaluation: its id and names, the total of its weights [points], the scoring rule and
    the indicators."""

    table: Literal["city_evaluation"]
    id: str = Field(pattern=_KEY)
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)
    year: int
    total: float = Field(gt=0, allow_inf_nan=False)
    scoring: Scoring
    indicators: tuple[CityIndicator, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _weights(self) -> CityEvaluation:
        keys = [i.key for i in self.indicators]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise ValueError(f"indicator keys listed twice: {', '.join(twice)}")
        weights = math.fsum(i.weight for i in self.indicators)
        if not math.isclose(weights, self.total, rel_tol=1e-9):
            raise ValueError(f"the weights add up to {weights:g}, not total {self.total:g}")
        return self


def load_city_industries(path: Path | None = None) -> IndustryTable:
    """The industry table at ``path``, or the shipped one; raises :class:`CityTableError`."""
    return read_table(IndustryTable, path, "city_industries.yaml", CityTableError)


def load_city_evaluation(path: Path | None = None) -> CityEvaluation:
    """The evaluation table at ``path``, or the shipped one; raises :class:`CityTableError`."""
    return read_table(CityEvaluation, path, "city_evaluation.yaml", CityTableError)


@functools.cache
def _industries(stamp: tuple[Path, int, int] | None) -> IndustryTable:
    return load_city_industries(None if stamp is None else stamp[0])


@functools.cache
def _evaluation(stamp: tuple[Path, int, int] | None) -> CityEvaluation:
    return load_city_evaluation(None if stamp is None else stamp[0])


def city_industries() -> IndustryTable:
    """The industry table: ``city_industries.yaml`` of ``SMARTPARK_TABLES_DIR`` if there is
    one, else the shipped one."""
    try:
        return _industries(override_stamp(tables_dir(), "city_industries.yaml"))
    except FactorError as exc:
        raise CityTableError(exc.problems) from None


def city_evaluation() -> CityEvaluation:
    """The evaluation table: ``city_evaluation.yaml`` of ``SMARTPARK_TABLES_DIR`` if there is
    one, else the shipped one."""
    try:
        return _evaluation(override_stamp(tables_dir(), "city_evaluation.yaml"))
    except FactorError as exc:
        raise CityTableError(exc.problems) from None
