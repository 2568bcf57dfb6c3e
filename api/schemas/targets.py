"""Target profiles evaluated (``/targets``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas._base import _example, _Out
from api.schemas.accounting import PROFILE_OUT_EXAMPLE, AccountingProfileOut

__all__ = [
    "MethodResultOut",
    "TargetProfileOut",
    "TargetRowOut",
    "TargetsOut",
    "ThresholdOut",
    "YearEndOut",
]


class ThresholdOut(_Out):
    """A number an evaluation compared with, and where it comes from."""

    kind: Literal["threshold", "baseline", "leading", "park"] = Field(
        description="threshold (published), baseline / leading (scored, GB/T 36132), or park "
        "(configured by the park, no published source)"
    )
    value: float
    source: str
    year: int | None
    evidence: str = Field(description="P primary, S second-hand, U unverified, park.")
    example: bool = Field(description="True when the number is an example, from no standard.")


class YearEndOut(_Out):
    """Year to date and the projection to the end of the year (current year only)."""

    ytd: float | None = Field(description="Year-to-date value.")
    value: float | None = Field(description="Projected value at the end of the year.")
    sigma: float | None = Field(description="One standard deviation of the projection.")
    elapsed_share: float | None = Field(description="Share of the year observed, 0–1.")
    status: Literal["met", "not_met", "not_enough_data", "no_threshold"]
    gap: float | None = Field(description="Projected value − threshold.")
    completeness_pct: float | None
    method: str
    reason: str | None
    reason_zh: str | None = Field(description="The reason in Chinese (the message catalogue's).")


class MethodResultOut(_Out):
    """The 910 core indicator under one GB/T 2589-2020 electricity method: its value, the annual
    energy its band was chosen by, the threshold and the status. The accounting profile's method
    is ``chosen``: its status is the row's verdict; the other method is shown, not judged by."""

    method: Literal["calorific_value", "coal_equivalent"] = Field(
        description="calorific_value (当量值) or coal_equivalent (等价值)."
    )
    value: float | None = Field(description="tCO2/tce under this method.")
    annual_tce: float | None = Field(
        description="Annual energy [tce/yr] under this method (projected within the current "
        "year) that chose the band; null when the period is not a year."
    )
    threshold: float | None = Field(description="The band's threshold under this method.")
    status: Literal["met", "not_met", "not_enough_data", "no_threshold"]
    chosen: bool = Field(description="True for the accounting profile's method: the verdict.")
    reason: str | None
    reason_zh: str | None = Field(description="The reason in Chinese (the message catalogue's).")


class TargetRowOut(_Out):
    """One indicator of a target profile, evaluated."""

    key: str = Field(examples=["tco2_per_tce"])
    title: str
    role: str = Field(description="core, guiding, indicator, scored or target")
    veto: bool
    reads: str = Field(description="The indicator it reads, `declared`, or the ratio computed.")
    unit: str
    direction: Literal["<=", ">="]
    value: float | None
    threshold: float | None = Field(description="The number compared with (a baseline if scored).")
    status: Literal["met", "not_met", "not_enough_data", "no_threshold"]
    gap: float | None = Field(description="value − threshold, in the unit.")
    completeness_pct: float | None = Field(description="Of the measured data behind the value.")
    basis: Literal["measured", "declared", "mixed"]
    score: float | None = Field(description="0–100 between baseline and leading value (scored).")
    reason: str | None
    reason_zh: str | None = Field(description="The reason in Chinese (the message catalogue's).")
    example_threshold: bool = Field(description="True when a threshold shown is an example.")
    thresholds: list[ThresholdOut]
    year_end: YearEndOut | None = Field(
        description="Year to date and projection ± sigma: when the period is the current year."
    )
    by_method: list[MethodResultOut] | None = Field(
        default=None,
        description="The 910 core indicator (`tco2_per_tce`) under both electricity methods, "
        "in the order calorific_value, coal_equivalent; the accounting profile's method is "
        "`chosen` (its status is the row's), the other is shown; null on other rows.",
    )


class TargetProfileOut(_Out):
    """A target profile evaluated for the scope and period."""

    id: str = Field(examples=["zero_carbon_park"])
    title: str
    document: str
    year: int = Field(description="Year of the document.")
    indicative: bool = Field(
        description="True when the period is shorter than the year the targets judge."
    )
    vetoes_met: bool | None = Field(
        description="Every veto indicator met (true), one not met (false), or not known yet."
    )
    rows: list[TargetRowOut]


class TargetsOut(_Out):
    """Target profiles of a scope evaluated for one local period."""

    model_config = _example(
        {
            "park": "wuhan-demo",
            "scope": "park",
            "period": "2025",
            "kind": "year",
            "timezone": "Asia/Shanghai",
            "start": "2024-12-31T16:00:00.000Z",
            "start_ms": 1735660800000,
            "end": "2025-12-31T16:00:00.000Z",
            "end_ms": 1767196800000,
            "sector": None,
            "declared": {"water_reuse": 0.82},
            "projected": True,
            "missing": [],
            "accounting": PROFILE_OUT_EXAMPLE,
            "profiles": [
                {
                    "id": "zero_carbon_park",
                    "title": "Zero-carbon park",
                    "document": "NDRC 2025",
                    "year": 2025,
                    "indicative": False,
                    "vetoes_met": None,
                    "rows": [
                        {
                            "key": "tco2_per_tce",
                            "title": "Carbon intensity of energy use",
                            "role": "core",
                            "veto": True,
                            "reads": "tco2_per_tce",
                            "unit": "tCO2/tce",
                            "direction": "<=",
                            "value": 0.21,
                            "threshold": 0.2,
                            "status": "not_met",
                            "gap": 0.01,
                            "completeness_pct": 98.5,
                            "basis": "measured",
                            "score": None,
                            "reason": None,
                            "reason_zh": None,
                            "example_threshold": False,
                            "thresholds": [
                                {
                                    "kind": "threshold",
                                    "value": 0.2,
                                    "source": "NDRC 2025",
                                    "year": 2025,
                                    "evidence": "P",
                                    "example": False,
                                }
                            ],
                            "year_end": {
                                "ytd": 0.22,
                                "value": 0.21,
                                "sigma": 0.02,
                                "elapsed_share": 0.45,
                                "status": "not_met",
                                "gap": 0.01,
                                "completeness_pct": 98.5,
                                "method": "ratio: numerator and denominator projected apart",
                                "reason": None,
                                "reason_zh": None,
                            },
                            "by_method": [
                                {
                                    "method": "calorific_value",
                                    "value": 0.21,
                                    "annual_tce": 480000.0,
                                    "threshold": 0.2,
                                    "status": "not_met",
                                    "chosen": True,
                                    "reason": None,
                                    "reason_zh": None,
                                },
                                {
                                    "method": "coal_equivalent",
                                    "value": 0.09,
                                    "annual_tce": 1120000.0,
                                    "threshold": 0.3,
                                    "status": "met",
                                    "chosen": False,
                                    "reason": None,
                                    "reason_zh": None,
                                },
                            ],
                        }
                    ],
                }
            ],
        }
    )

    park: str
    scope: str = Field(examples=["park", "tenant:chipcore"])
    period: str = Field(examples=["2025", "2025-06", "2025-06-01"])
    kind: Literal["hour", "day", "month", "year"]
    timezone: str
    start: str
    start_ms: int
    end: str
    end_ms: int
    sector: str | None = Field(description="Sector of the scored indicators (green factory).")
    declared: dict[str, float] = Field(description="Values declared for the scope and year.")
    projected: bool = Field(description="True when rows carry `year_end` (the current year).")
    missing: list[str] = Field(description="Profiles asked for that are not in force, and why.")
    accounting: AccountingProfileOut = Field(
        description="The accounting profile the indicators were computed with (named "
        "`accounting` here: `profile` and `profiles` are the target profiles)."
    )
    profiles: list[TargetProfileOut]
