"""What the API sends: response models, one per kind of answer.

Every instant goes out twice, as an ISO-8601 UTC string (``...Z``, millisecond precision) and as
integer milliseconds since the epoch (``*_ms``), so a browser and a script both read it without
parsing. Values are canonical units; the unit is in the field name (``power_kw``) or given beside
the value. Non-finite numbers (which JSON cannot carry) go out as ``null``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from store.base import Aggregate

__all__ = [
    "AccountingProfileOut",
    "BuildingOut",
    "DeviceOut",
    "EnergyFigureOut",
    "EnergyOut",
    "EnergyPeriodOut",
    "ErrorOut",
    "FactorOut",
    "FieldOut",
    "FloorOut",
    "HealthOut",
    "IndicatorOut",
    "IndicatorsOut",
    "LatestOut",
    "ParkDetailOut",
    "ParkOut",
    "QuarantineListOut",
    "QuarantineOut",
    "ReadingOut",
    "SeriesOut",
    "SeriesPointOut",
    "TenantOut",
    "finite_or_none",
    "iso_from_ns",
    "ms_from_ns",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ms_from_ns(time_ns: int) -> int:
    """Epoch milliseconds (floored) from epoch nanoseconds."""
    return time_ns // 1_000_000


def iso_from_ns(time_ns: int) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``, e.g. ``2025-06-01T04:00:00.000Z``."""
    when = _EPOCH + timedelta(milliseconds=ms_from_ns(time_ns))
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def finite_or_none(value: float) -> float | None:
    """The value, or None when it is NaN or infinite."""
    return value if math.isfinite(value) else None


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ErrorOut(_Out):
    """Every error the API returns: a stable code, a sentence for people, and details if any."""

    code: str = Field(examples=["not_found"])
    message: str = Field(examples=["unknown park 'nowhere'"])
    errors: list[dict[str, object]] | None = Field(
        default=None, description="Per-parameter problems (validation errors only)."
    )


class HealthOut(_Out):
    """Liveness and whether the store answers."""

    status: Literal["ok", "degraded"]
    store: Literal["ok", "unavailable"]
    parks: int = Field(description="Number of parks in the registry.")
    version: str


class ParkOut(_Out):
    """A park and how much it contains."""

    id: str
    name: str
    timezone: str = Field(description="IANA zone of the park's local calendar.")
    latitude: float
    longitude: float
    grid_region: str
    province: str | None
    tenants: int
    buildings: int
    devices: int


class TenantOut(_Out):
    """An enterprise in the park."""

    id: str
    name: str
    sector: str | None


class FloorOut(_Out):
    """A floor and who rents it."""

    number: int
    tenant: str | None
    area_m2: float | None


class BuildingOut(_Out):
    """A building and its floors."""

    id: str
    name: str
    floors: list[FloorOut]


class ParkDetailOut(_Out):
    """A park with its tenants and buildings (devices have their own endpoint)."""

    park: ParkOut
    tenants: list[TenantOut]
    buildings: list[BuildingOut]


class FieldOut(_Out):
    """A field as stored: its name (with the unit suffix), quantity and canonical unit."""

    name: str = Field(examples=["power_kw"])
    quantity: str = Field(examples=["power"])
    unit: str = Field(examples=["kW"])
    cumulative: bool = Field(description="True for registers (energy, volume) that only grow.")


class DeviceOut(_Out):
    """A device of the registry and the fields it stores."""

    id: str
    kind: str
    role: str
    name: str | None
    parent: str | None
    tenant: str | None
    building: str | None
    floor: int | None
    capacity_kw: float | None
    capacity_kwh: float | None
    fields: list[FieldOut]


class ReadingOut(_Out):
    """The newest reading of one device."""

    device: str
    kind: str | None = Field(description="None when the device is not in the registry.")
    role: str | None
    time: str = Field(examples=["2025-06-01T04:00:00.000Z"])
    time_ms: int
    age_s: float = Field(description="Seconds between the reading and the server's clock.")
    stale: bool = Field(description="True when the reading is older than `stale_after_s`.")
    fields: dict[str, float | None] = Field(examples=[{"power_kw": 412.5, "energy_kwh": 91234.2}])


class LatestOut(_Out):
    """The newest reading of every device of a park that has reported."""

    park: str
    server_time: str
    server_time_ms: int
    stale_after_s: float
    readings: list[ReadingOut]


class SeriesPointOut(_Out):
    """One value: a raw reading's time, or the start of an aggregation bucket."""

    time: str
    time_ms: int
    value: float | None


class SeriesOut(_Out):
    """One field of one device over ``[start, end)``."""

    park: str
    device: str
    field: str
    unit: str | None
    start: str
    start_ms: int
    end: str
    end_ms: int
    every_s: int | None = Field(description="Bucket width; None for raw readings.")
    agg: Aggregate | None = Field(description="Aggregate per bucket; None for raw readings.")
    points: list[SeriesPointOut]


class QuarantineOut(_Out):
    """A piece of input the collector kept aside, and why."""

    received: str
    received_ms: int
    reason: str
    detail: str
    topic: str
    excerpt: str
    park: str
    device: str


class QuarantineListOut(_Out):
    """The newest quarantined records, newest first."""

    park: str | None
    limit: int
    records: list[QuarantineOut]


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
    completeness_pct: float = Field(description="Share of intervals with quality measured.")
    quality_counts: dict[str, int]
    intervals: list[LedgerIntervalOut]
    issues: list[LedgerIssueOut]


class LedgerOut(_Out):
    """Interval energy of a device with quality codes."""

    park: str
    device: str
    interval_s: int
    start: str
    start_ms: int
    end: str
    end_ms: int
    fields: list[LedgerFieldOut]


# -- energy balances and indicators -------------------------------------------------------------


class EnergyPeriodOut(_Out):
    """A figure over one local period."""

    label: str = Field(examples=["2026-03-14"], description="Local period.")
    start: str
    start_ms: int
    end: str
    end_ms: int
    value: float | None = Field(description="Sum of the known intervals; null when none is known.")
    completeness_pct: float = Field(description="Share of intervals with every input measured.")
    coverage_pct: float = Field(description="Share of intervals with every input known.")


class EnergyFigureOut(_Out):
    """One line of a balance: grid import, PV, load, gas … by period."""

    name: str = Field(examples=["grid_import_kwh"])
    unit: str = Field(examples=["kWh"])
    devices: list[str] = Field(description="The meters this figure is computed from.")
    note: str | None
    total: float | None = Field(description="Over the whole range; null when nothing is known.")
    completeness_pct: float
    periods: list[EnergyPeriodOut]


class EnergyOut(_Out):
    """Energy balance of a scope by local period."""

    park: str
    scope: str = Field(examples=["park", "building:tower-a", "floor:tower-a/3", "tenant:t01"])
    every: Literal["hour", "day", "month", "year"]
    timezone: str
    interval_s: int
    start: str
    start_ms: int
    end: str
    end_ms: int
    figures: list[EnergyFigureOut]


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


class AlarmOut(_Out):
    """One alarm: raised → acknowledged → cleared (or raised → cleared). Times are epoch ms."""

    id: str = Field(
        examples=["floor-demand~tower-a-f03~1764000000000"],
        description="`<rule>~<device or ->~<raised_ms>`",
    )
    park: str
    device: str | None = Field(description="The device, or null for a park-level alarm.")
    rule: str = Field(examples=["floor-demand"])
    kind: Literal[
        "threshold",
        "offline",
        "register_reset",
        "register_stuck",
        "night_base_load",
        "quarantine_rate",
        "spool_growing",
    ]
    severity: Literal["info", "warning", "major", "critical"]
    message: str
    value: float | None = Field(description="The value that raised it (unit per kind).")
    threshold: float | None
    state: Literal["raised", "acknowledged", "cleared"]
    raised_ms: int
    acknowledged_ms: int | None
    acknowledged_by: str | None = Field(description="Name of the key that acknowledged it.")
    cleared_ms: int | None
    cleared_by: str | None = Field(
        description="Name of the key that cleared it; null when the condition ended by itself."
    )


class AlarmListOut(_Out):
    """A park's alarms, newest raise first."""

    park: str
    state: Literal["active", "all"]
    alarms: list[AlarmOut]
