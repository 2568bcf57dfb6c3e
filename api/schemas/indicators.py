"""Indicators of a park or scope (``/indicators``) and parks side by side (``/city/indicators``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas._base import _RANGE, _example, _Out
from api.schemas.accounting import PROFILE_OUT_EXAMPLE, AccountingProfileOut
from config.accounting import ElectricityMethod

__all__ = [
    "CityIndicatorsOut",
    "CityParkOut",
    "CityValueOut",
    "FactorOut",
    "IndicatorOut",
    "IndicatorsOut",
]


class FactorOut(_Out):
    """A factor an indicator used, with its provenance."""

    name: str = Field(examples=["grid_average"])
    value: float
    unit: str
    source: str
    year: int = Field(description="Data year the factor describes.")
    region: str
    evidence: str = Field(description="P primary, S second-hand, U unverified.")


class IndicatorOut(_Out):
    """One indicator; ``value`` is null when it cannot be computed, and ``reason`` says why."""

    name: str = Field(examples=["tco2_per_tce"])
    value: float | None
    unit: str
    completeness_pct: float | None
    reason: str | None
    reason_zh: str | None = Field(description="The reason in Chinese (the message catalogue's).")
    note: str | None = Field(description="How the value is made: the formula, its basis.")
    note_zh: str | None = Field(
        description="The note in Chinese (the message catalogue's `note.*` entries)."
    )
    factors: list[FactorOut]
    detail: dict[str, float | None]


class IndicatorsOut(_Out):
    """Every indicator of a park, or of a building, floor or tenant, for one local period."""

    model_config = _example(
        {
            "park": "wuhan-demo",
            "scope": "park",
            "period": "2025-06-01",
            "kind": "day",
            "timezone": "Asia/Shanghai",
            **_RANGE,
            "profile": PROFILE_OUT_EXAMPLE,
            "regions": ["CN-HB", "CN-CENTRAL", "CN"],
            "indicators": [
                {
                    "name": "pv_self_consumption_rate",
                    "value": 0.93,
                    "unit": "fraction",
                    "completeness_pct": 100.0,
                    "reason": None,
                    "reason_zh": None,
                    "note": "(PV − export) / PV",
                    "note_zh": "（光伏发电量 − 上网电量）/ 光伏发电量",  # noqa: RUF001
                    "factors": [],
                    "detail": {},
                },
                {
                    "name": "billed_demand_kw",
                    "value": None,
                    "unit": "kW",
                    "completeness_pct": None,
                    "reason": "no contracted capacity (tariff contracted_kw) in the registry",
                    "reason_zh": "登记册未填电价的合同容量",
                    "note": None,
                    "note_zh": None,
                    "factors": [],
                    "detail": {},
                },
            ],
        }
    )

    park: str
    scope: str = Field(examples=["park", "building:tower-a", "floor:tower-a/3", "tenant:t01"])
    period: str = Field(examples=["2026-03"])
    kind: Literal["hour", "day", "month", "year"]
    timezone: str
    start: str
    start_ms: int
    end: str
    end_ms: int
    profile: AccountingProfileOut = Field(
        description="The accounting profile of the period's year the indicators were computed "
        "with (PUT /accounting/{year} changes it)."
    )
    regions: list[str] = Field(description="Factor regions tried, most specific first.")
    indicators: list[IndicatorOut]


class CityValueOut(_Out):
    """One indicator of one park."""

    name: str = Field(examples=["tco2_per_tce"])
    value: float | None
    unit: str
    completeness_pct: float | None
    reason: str | None = Field(description="Why the value is null.")
    reason_zh: str | None = Field(description="The reason in Chinese (the message catalogue's).")


class CityParkOut(_Out):
    """One park's indicators for the period (its own local calendar)."""

    id: str
    name: str
    timezone: str
    grid_region: str
    start: str
    start_ms: int
    end: str
    end_ms: int
    completeness_pct: float | None = Field(
        description="Lowest completeness of the park's indicators."
    )
    profile: AccountingProfileOut = Field(
        description="The park's accounting profile of the period's year (method overridden "
        "when the request gives `method=`)."
    )
    indicators: list[CityValueOut]


class CityIndicatorsOut(_Out):
    """Every park the key may see, side by side on the same indicators and the same basis."""

    model_config = _example(
        {
            "period": "2025-06",
            "kind": "month",
            "method": "calorific_value",
            "names": ["comprehensive_energy_tce", "tco2_per_tce"],
            "parks": [
                {
                    "id": "wuhan-demo",
                    "name": "Wuhan demo park",
                    "timezone": "Asia/Shanghai",
                    "grid_region": "central_china",
                    "start": "2025-05-31T16:00:00.000Z",
                    "start_ms": 1748707200000,
                    "end": "2025-06-30T16:00:00.000Z",
                    "end_ms": 1751299200000,
                    "completeness_pct": 99.1,
                    "profile": {**PROFILE_OUT_EXAMPLE, "year": 2025},
                    "indicators": [
                        {
                            "name": "comprehensive_energy_tce",
                            "value": 412.7,
                            "unit": "tce",
                            "completeness_pct": 99.1,
                            "reason": None,
                            "reason_zh": None,
                        },
                        {
                            "name": "tco2_per_tce",
                            "value": 1.71,
                            "unit": "tCO2/tce",
                            "completeness_pct": 99.1,
                            "reason": None,
                            "reason_zh": None,
                        },
                    ],
                }
            ],
        }
    )

    period: str = Field(examples=["2025-06"])
    kind: Literal["hour", "day", "month", "year"]
    method: ElectricityMethod | None = Field(
        description="Electricity to tce when every park uses the same (`calorific_value` 当量值 "
        "or `coal_equivalent` 等价值; the request's `method=` makes it so); null when the "
        "parks' profiles differ: compare them with care."
    )
    names: list[str] = Field(description="The indicators, in the order every park lists them.")
    parks: list[CityParkOut]
