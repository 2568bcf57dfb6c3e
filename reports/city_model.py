"""The data of a city report: what its JSON holds and all its CSV, HTML and PDF show.

A :class:`CityReportDoc` is assembled by :mod:`reports.city` from the city evaluation
(:mod:`services.city`) and rendered by :mod:`reports.city_render` without computing anything new.
Figures are in the units of :data:`config.city.CITY_FIGURES` (shares as fractions, 0.9 = 90 %);
points out of the evaluation's ``total``. Language-neutral: names in both languages, keys stable.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["CityParkRow", "CityReportDoc", "CityTotals", "CityWeightRow"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CityWeightRow(_Frozen):
    """An indicator of the evaluation: what it reads, its weight [points], the city's
    benchmark (mean of the parks with the value) and where it comes from."""

    key: str
    reads: str
    direction: Literal["ge", "le"]
    unit: str
    weight: float
    zh: str
    en: str
    benchmark: float | None
    source: str
    year: int
    evidence: Literal["P", "S", "U"]


class CityParkRow(_Frozen):
    """One park: rank, score, figures, the points of each indicator, the trend, or the error
    that kept it out."""

    rank: int | None
    id: str
    name: str
    industry: str | None
    industry_zh: str | None
    industry_en: str | None
    land_mu: float | None
    devices: int
    score: float | None
    figures: dict[str, float | None]
    points: dict[str, float]
    previous_rank: int | None = None
    rank_change: int | None = None
    score_change: float | None = None
    energy_change_pct: float | None = None
    error: str | None = None


class CityTotals(_Frozen):
    """The city as a whole, over the parks that answered: sums [tce, tCO2, mu, 10k CNY], the
    number of parks and of parks in error."""

    parks: int
    parks_in_error: int
    energy_tce: float | None
    tco2: float | None
    land_mu: float | None
    output_10k_cny: float | None


class CityReportDoc(_Frozen):
    """A whole city report for one period."""

    kind: Literal["city"] = "city"
    period: str
    period_kind: str
    previous: str | None
    generated_at: str  # ISO-8601 with offset
    software: str  # "smartpark <version>"
    evaluation_id: str
    evaluation_zh: str
    evaluation_en: str
    total: float
    cap: float
    scoring_source: str
    scoring_evidence: Literal["P", "S", "U"]
    figure_units: dict[str, str]
    weights: tuple[CityWeightRow, ...]
    totals: CityTotals
    parks: tuple[CityParkRow, ...]  # by rank, the parks in error last
