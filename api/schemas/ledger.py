"""Interval energy with quality codes (``/ledger``)."""

from __future__ import annotations

from pydantic import Field

from api.schemas._base import _RANGE, _example, _Out

__all__ = ["LedgerFieldOut", "LedgerIntervalOut", "LedgerIssueOut", "LedgerOut"]


class LedgerIntervalOut(_Out):
    """Energy of one interval and how it was obtained."""

    start: str
    start_ms: int
    energy: float | None = Field(description="Energy in the field's unit; null where missing.")
    quality: str = Field(
        examples=["measured"],
        description="measured, rollover_corrected, interpolated, reset_corrected, "
        "meter_replaced, estimated or missing (from best to worst)",
    )


class LedgerIssueOut(_Out):
    """A data-quality finding behind the ledger (a reset, a gap, a spike …)."""

    code: str
    message: str


class LedgerFieldOut(_Out):
    """The interval ledger of one register of a device."""

    field: str = Field(examples=["energy_kwh"])
    unit: str = Field(examples=["kWh"])
    total: float = Field(description="Sum of the known intervals.")
    completeness_pct: float = Field(
        description="Completeness of the total: the same as known_pct [%]."
    )
    known_pct: float = Field(
        description="Share of intervals whose energy total is known [%]: measured, "
        "rollover_corrected, interpolated (a gap between two readings) or meter_replaced."
    )
    measured_pct: float = Field(
        description="Share of intervals of quality measured (read, not spread over a gap) [%]."
    )
    quality_counts: dict[str, int]
    intervals: list[LedgerIntervalOut]
    issues: list[LedgerIssueOut]


class LedgerOut(_Out):
    """Interval energy of a device with quality codes."""

    model_config = _example(
        {
            "park": "wuhan-demo",
            "device": "grid-main",
            "interval_s": 900,
            **_RANGE,
            "fields": [
                {
                    "field": "energy_kwh",
                    "unit": "kWh",
                    "total": 9876.5,
                    "completeness_pct": 100.0,
                    "known_pct": 100.0,
                    "measured_pct": 100.0,
                    "quality_counts": {"measured": 96},
                    "intervals": [
                        {
                            "start": "2025-05-31T16:00:00.000Z",
                            "start_ms": 1748707200000,
                            "energy": 101.2,
                            "quality": "measured",
                        }
                    ],
                    "issues": [],
                }
            ],
        }
    )

    park: str
    device: str
    interval_s: int
    start: str
    start_ms: int
    end: str
    end_ms: int
    fields: list[LedgerFieldOut]
