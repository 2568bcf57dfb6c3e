"""Energy baselines (``/baselines``): a definition in; definitions, fitted models, their
verdict against the acceptance limits and the savings with their uncertainty out."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

__all__ = [
    "BaselineDefinitionOut",
    "BaselineIn",
    "BaselineLimitsOut",
    "BaselineListOut",
    "BaselineModelOut",
    "BaselineReasonOut",
    "BaselineResultOut",
    "BaselineSavingsOut",
    "BaselineStatsOut",
]

_DEFINITION: dict[str, JsonValue] = {
    "id": "park-2025q1",
    "scope": "park",
    "figure": "load_kwh",
    "granularity": "day",
    "kind": "auto",
    "baseline_start": "2025-01-01",
    "baseline_end": "2025-01-22",
    "reporting_start": "2025-01-22",
    "reporting_end": "2025-01-29",
    "limits": None,
    "production": False,
    "day_type": True,
}


class BaselineIn(BaseModel):
    """A baseline to create and fit. Dates are local to the park; the ends are excluded."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{k: v for k, v in _DEFINITION.items() if k not in ("figure", "limits")}]
        },
    )

    id: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$",
        description="Baseline id; generated when absent. Writing an id again replaces it.",
    )
    scope: str = Field(
        default="park",
        description="`park`, `tenant:<id>`, `building:<id>`, `floor:<b>/<n>`, `device:<id>`",
    )
    figure: str | None = Field(
        default=None,
        description="Figure of the scope's energy balance to model; default `load_kwh` (park), "
        "`electricity_kwh` (tenant, building, floor), `energy_kwh` (device).",
    )
    granularity: Literal["day", "hour"] = "day"
    kind: Literal["auto", "mean", "2p", "3p_heating", "3p_cooling", "4p", "5p"] = Field(
        default="auto", description="Model form; `auto`: the lowest CV(RMSE)."
    )
    baseline_start: date
    baseline_end: date
    reporting_start: date
    reporting_end: date
    limits: str | None = Field(
        default=None,
        description="Acceptance limit set (config/data/baseline_limits.yaml); default: the "
        "Guideline 14 baseline set for the reporting period's length.",
    )
    production: bool = Field(
        default=False, description="Add the scope's production counters as regressors."
    )
    day_type: bool = Field(
        default=True,
        description="Day type from the Chinese working calendar (working, rest, adjusted "
        "working day); false: none (hourly models keep the hour of day).",
    )


class BaselineDefinitionOut(BaseModel):
    """A stored baseline definition."""

    id: str
    scope: str
    figure: str
    granularity: Literal["day", "hour"]
    kind: str
    baseline_start: date
    baseline_end: date
    reporting_start: date
    reporting_end: date
    limits: str | None
    production: bool
    day_type: bool
    created: str = Field(description="ISO-8601 UTC")
    created_ms: int


class BaselineListOut(BaseModel):
    """Every baseline of the park (definitions only; GET one for its results)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "park": "wuhan-demo",
                    "baselines": [
                        {
                            **_DEFINITION,
                            "created": "2026-12-05T09:00:00.000Z",
                            "created_ms": 1796461200000,
                        }
                    ],
                }
            ]
        }
    )

    park: str
    baselines: list[BaselineDefinitionOut]


class BaselineModelOut(BaseModel):
    """The fitted model: change points [degC], intercept [unit], temperature coefficients [unit
    per K], day-type (× hour) levels and their intercept shifts [unit], production coefficients
    [unit per production unit]."""

    kind: str
    change_points_c: list[float]
    intercept: float
    temperature_coefs: list[float]
    category_levels: list[int]
    category_shifts: list[float]
    production_coefs: list[float]


class BaselineStatsOut(BaseModel):
    """Fit statistics on the baseline period (ASHRAE Guideline 14 definitions, p parameters)."""

    n: int
    p: int
    r2: float | None
    cv_rmse_pct: float | None
    nmbe_pct: float | None
    rmse: float | None
    mean: float | None
    rho: float | None = Field(description="lag-1 autocorrelation of the residuals")
    n_eff: float | None = Field(description="n' = n (1 - rho) / (1 + rho)")


class BaselineLimitsOut(BaseModel):
    """The acceptance limit set the model was judged by, with its source."""

    id: str
    title: str
    clause: str = Field(description="The part of ASHRAE Guideline 14 the limits come from.")
    source: str
    year: int
    evidence: Literal["P", "S", "U"]
    max_cv_rmse_pct: float
    max_abs_nmbe_pct: float
    max_fsu: float | None
    fsu_confidence: float | None
    min_r2: float | None
    min_points: int


class BaselineReasonOut(BaseModel):
    """Why the model fails or no savings are claimed."""

    code: str
    value: float | None
    limit: float
    message_zh: str
    message_en: str


class BaselineSavingsOut(BaseModel):
    """Savings over the reporting period = adjusted baseline − actual [unit], with the
    uncertainty [unit] and the fractional savings uncertainty at ``confidence``."""

    adjusted_baseline: float
    actual: float
    savings: float
    fraction: float | None
    uncertainty: float
    fsu: float | None = Field(description="uncertainty / |savings|; null when savings are 0")
    confidence: float
    periods: int
    claimed: bool
    reasons: list[BaselineReasonOut]


class BaselineResultOut(BaseModel):
    """A baseline's fitted model, its verdict and its savings (computed from the data now)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "park": "wuhan-demo",
                    "definition": _DEFINITION
                    | {
                        "created": "2025-02-01T02:00:00.000Z",
                        "created_ms": 1738375200000,
                    },
                    "unit": "kWh",
                    "model": {
                        "kind": "3p_heating",
                        "change_points_c": [5.0],
                        "intercept": 171000.0,
                        "temperature_coefs": [4000.0],
                        "category_levels": [0, 1],
                        "category_shifts": [0.0, -42800.0],
                        "production_coefs": [],
                    },
                    "stats": {
                        "n": 21,
                        "p": 4,
                        "r2": 0.985,
                        "cv_rmse_pct": 1.64,
                        "nmbe_pct": 0.0,
                        "rmse": 2755.0,
                        "mean": 167788.0,
                        "rho": 0.155,
                        "n_eff": 15.36,
                    },
                    "baseline_periods": 21,
                    "baseline_expected": 21,
                    "limits": {
                        "id": "ashrae14_baseline_lt12m",
                        "title": "ASHRAE Guideline 14-2014, whole-building baseline model",
                        "clause": "ASHRAE Guideline 14-2014, whole-building approach, "
                        "compliance requirements of the baseline model",
                        "source": "ASHRAE Guideline 14-2014",
                        "year": 2014,
                        "evidence": "U",
                        "max_cv_rmse_pct": 20.0,
                        "max_abs_nmbe_pct": 0.005,
                        "max_fsu": 0.5,
                        "fsu_confidence": 0.68,
                        "min_r2": None,
                        "min_points": 14,
                    },
                    "passed": True,
                    "reasons": [],
                    "savings": {
                        "adjusted_baseline": 1045216.5,
                        "actual": 1034725.3,
                        "savings": 10491.2,
                        "fraction": 0.01,
                        "uncertainty": 10826.8,
                        "fsu": 1.03,
                        "confidence": 0.68,
                        "periods": 7,
                        "claimed": False,
                        "reasons": [
                            {
                                "code": "fsu",
                                "value": 1.03,
                                "limit": 0.5,
                                "message_zh": "节能量的不确定度相对节能量过大, 不能声称节能",
                                "message_en": "the savings are too uncertain for their size: "
                                "no savings can be claimed",
                            }
                        ],
                    },
                    "reporting_periods": 7,
                    "reporting_expected": 7,
                }
            ]
        }
    )

    park: str
    definition: BaselineDefinitionOut
    unit: str
    model: BaselineModelOut
    stats: BaselineStatsOut
    baseline_periods: int
    baseline_expected: int
    limits: BaselineLimitsOut
    passed: bool
    reasons: list[BaselineReasonOut]
    savings: BaselineSavingsOut | None = Field(
        description="null while the reporting period has no usable data"
    )
    reporting_periods: int
    reporting_expected: int
