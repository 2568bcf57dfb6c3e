"""Indicators of a park or scope (``/indicators``) and parks side by side (``/city/indicators``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas._base import _RANGE, _example, _Out

__all__ = [
    "AccountingProfileOut",
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
    note: str | None
    factors: list[FactorOut]
    detail: dict[str, float | None]


class AccountingProfileOut(_Out):
    """The accounting choices the indicators were computed with."""

    method: str
    gas_is_clean: bool
    purchased_heat: bool
    gec_count: float
    green_contract_kwh: float
    flat_price_cny_per_kwh: float | None = Field(
        description="The request's flat price [CNY/kWh]; null = the park tariff's (see factors)."
    )
    regions: list[str] = Field(description="Factor regions tried, most specific first.")


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
            "profile": {
                "method": "equivalent_value",
                "gas_is_clean": False,
                "purchased_heat": False,
                "gec_count": 0.0,
                "green_contract_kwh": 0.0,
                "flat_price_cny_per_kwh": None,
                "regions": ["hubei", "central_china", "CN"],
            },
            "indicators": [
                {
                    "name": "tco2_per_tce",
                    "value": 1.71,
                    "unit": "tCO2/tce",
                    "completeness_pct": 100.0,
                    "reason": None,
                    "note": None,
                    "factors": [],
                    "detail": {},
                }
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
    profile: AccountingProfileOut
    indicators: list[IndicatorOut]


class CityValueOut(_Out):
    """One indicator of one park."""

    name: str = Field(examples=["tco2_per_tce"])
    value: float | None
    unit: str
    completeness_pct: float | None
    reason: str | None = Field(description="Why the value is null.")


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
    indicators: list[CityValueOut]


class CityIndicatorsOut(_Out):
    """Every park the key may see, side by side on the same indicators and the same basis."""

    model_config = _example(
        {
            "period": "2025-06",
            "kind": "month",
            "method": "equivalent_value",
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
                    "indicators": [
                        {
                            "name": "comprehensive_energy_tce",
                            "value": 412.7,
                            "unit": "tce",
                            "completeness_pct": 99.1,
                            "reason": None,
                        },
                        {
                            "name": "tco2_per_tce",
                            "value": 1.71,
                            "unit": "tCO2/tce",
                            "completeness_pct": 99.1,
                            "reason": None,
                        },
                    ],
                }
            ],
        }
    )

    period: str = Field(examples=["2025-06"])
    kind: Literal["hour", "day", "month", "year"]
    method: str = Field(description="Electricity to tce: equivalent value (the same for all).")
    names: list[str] = Field(description="The indicators, in the order every park lists them.")
    parks: list[CityParkOut]
