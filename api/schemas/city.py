"""What the city view sends: every park with its figures, 亩均 figures, score, rank and trend,
and the evaluation (indicators, weights, scoring rule) that produced them. Extends the city
models of :mod:`api.schemas.indicators` (their fields stay as they were)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas._base import _example, _Out
from api.schemas.accounting import AccountingProfileOut
from api.schemas.indicators import CityIndicatorsOut, CityParkOut

__all__ = [
    "CityEvaluationOut",
    "CityIndustryOut",
    "CityRankedOut",
    "CityRankedParkOut",
    "CityScoreOut",
    "CityScoringOut",
    "CityTrendOut",
    "CityWeightOut",
]


class CityIndustryOut(_Out):
    """A park's leading industry: its GB/T 4754-2017 division code and names."""

    code: str = Field(examples=["c39"])
    zh: str
    en: str


class CityScoreOut(_Out):
    """One indicator of the evaluation for one park."""

    key: str = Field(examples=["output_per_mu"])
    value: float | None = Field(description="The figure read, in the indicator's unit.")
    benchmark: float | None = Field(description="Mean of the parks that have the figure.")
    points: float = Field(description="weight × min(value / benchmark, cap), or inverted for le.")
    reason: str | None = Field(description="Why the value is null (it then scores 0).")
    reason_zh: str | None = Field(description="The reason in Chinese (the message catalogue's).")


class CityTrendOut(_Out):
    """The park against the previous period of the same kind."""

    period: str = Field(examples=["2024"])
    score: float | None
    rank: int | None
    score_change: float | None
    rank_change: int | None = Field(description="Places moved up (negative: down).")
    energy_change_pct: float | None = Field(description="Change of comprehensive energy [%].")
    tco2_per_tce_change: float | None = Field(description="Change of tCO2/tce [tCO2/tce].")


class CityWeightOut(_Out):
    """An indicator of the evaluation with its weight and provenance."""

    key: str
    reads: str = Field(description="The figure (key of each park's `figures`) it reads.")
    direction: Literal["ge", "le"] = Field(description="ge: more is better; le: less is better.")
    unit: str
    weight: float = Field(description="Points out of the evaluation's total.")
    zh: str
    en: str
    source: str
    year: int
    evidence: Literal["P", "S", "U"]


class CityScoringOut(_Out):
    """The scoring rule of the evaluation."""

    method: str = Field(examples=["ratio_to_benchmark"])
    benchmark: str = Field(examples=["city_mean"])
    cap: float = Field(description="Most times its weight one indicator can score.")
    source: str
    evidence: Literal["P", "S", "U"]


class CityEvaluationOut(_Out):
    """The evaluation used (config/data/city_evaluation.yaml, or the city's own table)."""

    id: str
    zh: str
    en: str
    total: float = Field(description="Sum of the weights [points].")
    scoring: CityScoringOut
    indicators: list[CityWeightOut]


class CityRankedParkOut(CityParkOut):
    """One park: its indicators (as before), the city's figures (亩均 included), its score,
    rank and trend; or, when its store did not answer, `error` naming it."""

    profile: AccountingProfileOut | None = Field(  # type: ignore[assignment]
        description="The park's accounting profile of the period's year (null when its store "
        "did not answer)."
    )
    industry: CityIndustryOut | None
    land_mu: float | None = Field(description="Land area [mu] from the registry.")
    figures: dict[str, float | None] = Field(
        description="energy, tce, tCO2, shares, 亩均 and output figures (keys with their units "
        "in docs/city.md)."
    )
    figure_reasons: dict[str, str] = Field(description="Why each null figure is null.")
    figure_reasons_zh: dict[str, str] = Field(description="The same in Chinese.")
    score: float | None = Field(description="Points out of the evaluation's total.")
    rank: int | None = Field(description="1 = best; ties share a rank; null for a park in error.")
    scores: list[CityScoreOut]
    trend: CityTrendOut | None
    error: str | None = Field(description="Why the park could not be computed (its store named).")
    error_zh: str | None = Field(default=None, description="The same in Chinese.")
    as_of: str | None = Field(
        default=None, description="When the park's figures were computed (ISO 8601, UTC)."
    )
    as_of_ms: int | None = Field(default=None, description="The same [ms since the epoch].")
    stale: bool = Field(
        default=False,
        description="True when the park's data of the period moved since `as_of`: the kept "
        "figures are given (at most `stale_s` old) while fresh ones are computed for the next "
        "ask.",
    )


class CityRankedOut(CityIndicatorsOut):
    """Every park the key may see (ordered by id), each scored and ranked by the evaluation,
    with the benchmarks and the weights used."""

    model_config = _example(
        {  # abridged: one park, two indicators of the evaluation
            "period": "2025",
            "kind": "year",
            "method": "calorific_value",
            "names": ["comprehensive_energy_tce", "tco2_per_tce"],
            "previous": "2024",
            "evaluation": {
                "id": "city_park_evaluation_2026",
                "zh": "园区亩均效益与绿色低碳综合评价（示例权重）",  # noqa: RUF001
                "en": "Park land productivity and low-carbon evaluation (example weights)",
                "total": 100,
                "scoring": {
                    "method": "ratio_to_benchmark",
                    "benchmark": "city_mean",
                    "cap": 1.5,
                    "source": "docs/sources/standards.md §12.1",
                    "evidence": "U",
                },
                "indicators": [
                    {
                        "key": "output_per_mu",
                        "reads": "output_per_mu_10k_cny",
                        "direction": "ge",
                        "unit": "10k CNY/mu",
                        "weight": 30,
                        "zh": "亩均工业增加值",
                        "en": "Industrial value added per mu",
                        "source": "docs/sources/standards.md §12.1",
                        "year": 2016,
                        "evidence": "S",
                    }
                ],
            },
            "benchmarks": {"output_per_mu": 152.4},
            "parks": [
                {
                    "id": "city-001",
                    "name": "City park 001",
                    "timezone": "Asia/Shanghai",
                    "grid_region": "central_china",
                    "start": "2024-12-31T16:00:00.000Z",
                    "start_ms": 1735660800000,
                    "end": "2025-12-31T16:00:00.000Z",
                    "end_ms": 1767196800000,
                    "completeness_pct": 99.1,
                    "profile": None,
                    "indicators": [],
                    "industry": {"code": "c39", "zh": "计算机、通信和其他电子设备制造业",
                                 "en": "Computers, communication and other electronic equipment"},
                    "land_mu": 693.5,
                    "figures": {"comprehensive_energy_tce": 41250.0,
                                "output_per_mu_10k_cny": 188.0},
                    "figure_reasons": {},
                    "figure_reasons_zh": {},
                    "score": 104.2,
                    "rank": 1,
                    "scores": [{"key": "output_per_mu", "value": 188.0, "benchmark": 152.4,
                                "points": 37.0, "reason": None,
                                "reason_zh": None}],
                    "trend": {"period": "2024", "score": 98.1, "rank": 2, "score_change": 6.1,
                              "rank_change": 1, "energy_change_pct": -3.2,
                              "tco2_per_tce_change": -0.05},
                    "error": None,
                    "error_zh": None,
                    "as_of": "2026-01-05T02:14:09.512Z",
                    "as_of_ms": 1767579249512,
                    "stale": False,
                }
            ],
            "stale_s": 900.0,
        }
    )  # fmt: skip

    previous: str | None = Field(description="The period the trend compares with.")
    evaluation: CityEvaluationOut
    benchmarks: dict[str, float | None] = Field(
        description="The city mean of each indicator of the evaluation, by key."
    )
    stale_s: float = Field(
        default=0.0,
        description="How old [s] a park's figures may be when its data moved since (its `stale` "
        "and `as_of` say which and when); 0 with `fresh=true`.",
    )
    parks: list[CityRankedParkOut]  # type: ignore[assignment]
