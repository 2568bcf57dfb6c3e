"""Energy balances by local period and scope (``/energy``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas._base import _RANGE, _example, _Out
from api.schemas.accounting import PROFILE_OUT_EXAMPLE, AccountingProfileOut

__all__ = ["EnergyFigureOut", "EnergyOut", "EnergyPeriodOut"]

# -- energy balances and indicators -------------------------------------------------------------


class EnergyPeriodOut(_Out):
    """A figure over one local period."""

    label: str = Field(examples=["2026-03-14"], description="Local period.")
    start: str
    start_ms: int
    end: str
    end_ms: int
    value: float | None = Field(description="Sum of the known intervals; null when none is known.")
    completeness_pct: float = Field(
        description="Share of intervals whose total is known from every input [%] (a gap "
        "between two readings counts: only its spread is estimated)."
    )
    coverage_pct: float = Field(description="Share of intervals with a value from every input.")


class EnergyFigureOut(_Out):
    """One line of a balance: grid import, PV, load, gas … by period."""

    name: str = Field(examples=["grid_import_kwh"])
    unit: str = Field(examples=["kWh"])
    devices: list[str] = Field(description="The meters this figure is computed from.")
    note: str | None = Field(description="How the figure is made, when it is derived.")
    note_zh: str | None = Field(
        description="The note in Chinese (the message catalogue's `note.*` entries)."
    )
    total: float | None = Field(description="Over the whole range; null when nothing is known.")
    completeness_pct: float
    periods: list[EnergyPeriodOut]


class EnergyOut(_Out):
    """Energy balance of a scope by local period."""

    model_config = _example(
        {
            "park": "wuhan-demo",
            "scope": "park",
            "every": "day",
            "timezone": "Asia/Shanghai",
            "interval_s": 900,
            **_RANGE,
            "profile": PROFILE_OUT_EXAMPLE,
            "figures": [
                {
                    "name": "grid_import_kwh",
                    "unit": "kWh",
                    "devices": ["grid-main"],
                    "note": None,
                    "note_zh": None,
                    "total": 9876.5,
                    "completeness_pct": 100.0,
                    "periods": [
                        {
                            "label": "2025-06-01",
                            **_RANGE,
                            "value": 9876.5,
                            "completeness_pct": 100.0,
                            "coverage_pct": 100.0,
                        }
                    ],
                },
                {
                    "name": "load_kwh",
                    "unit": "kWh",
                    "devices": ["grid-main", "pv-roof"],
                    "note": "import − export + PV + discharge − charge",
                    "note_zh": "电网购入 − 上网 + 光伏发电 + 储能放电 − 储能充电",
                    "total": 11234.0,
                    "completeness_pct": 100.0,
                    "periods": [
                        {
                            "label": "2025-06-01",
                            **_RANGE,
                            "value": 11234.0,
                            "completeness_pct": 100.0,
                            "coverage_pct": 100.0,
                        }
                    ],
                },
            ],
        }
    )

    park: str
    scope: str = Field(examples=["park", "building:tower-a", "floor:tower-a/3", "tenant:t01"])
    every: Literal["hour", "day", "month", "year"] = Field(
        description="The local calendar period each value sums (the request's `period`)."
    )
    timezone: str
    interval_s: int
    start: str
    start_ms: int
    end: str
    end_ms: int
    profile: AccountingProfileOut = Field(
        description="The accounting profile of the range's first year (its boundary says what "
        "the park's figures hold)."
    )
    figures: list[EnergyFigureOut]
