"""What the API sends: response models, one per kind of answer.

Every instant goes out twice, as an ISO-8601 UTC string (``...Z``, millisecond precision) and as
integer milliseconds since the epoch (``*_ms``), so a browser and a script both read it without
parsing. Values are canonical units; the unit is in the field name (``power_kw``) or given beside
the value. Non-finite numbers (which JSON cannot carry) go out as ``null``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from store.base import Aggregate

__all__ = [
    "AccountingProfileOut",
    "AlarmListOut",
    "AlarmOut",
    "BuildingOut",
    "CityIndicatorsOut",
    "CityParkOut",
    "CityValueOut",
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
    "LedgerOut",
    "MeOut",
    "ParkDetailOut",
    "ParkOut",
    "QuarantineListOut",
    "QuarantineOut",
    "ReadingOut",
    "SeriesOut",
    "SeriesPointOut",
    "TargetProfileOut",
    "TargetRowOut",
    "TargetsOut",
    "TenantOut",
    "ThresholdOut",
    "YearEndOut",
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


def _example(example: dict[str, Any]) -> ConfigDict:
    """The model config of a response model with ``example`` as its OpenAPI example."""
    return ConfigDict(frozen=True, json_schema_extra={"examples": [example]})


_ALARM: dict[str, Any] = {
    "id": "floor-demand~tower-a-f03~1764000000000",
    "park": "wuhan-demo",
    "device": "tower-a-f03",
    "rule": "floor-demand",
    "kind": "threshold",
    "severity": "warning",
    "message": "tower-a-f03 above its contracted demand for 15 min",
    "value": 182.0,
    "threshold": 160.0,
    "state": "raised",
    "raised_ms": 1764000000000,
    "acknowledged_ms": None,
    "acknowledged_by": None,
    "cleared_ms": None,
    "cleared_by": None,
}
_T = {"time": "2025-06-01T04:00:00.000Z", "time_ms": 1748750400000}
_RANGE = {
    "start": "2025-05-31T16:00:00.000Z",
    "start_ms": 1748707200000,
    "end": "2025-06-01T16:00:00.000Z",
    "end_ms": 1748793600000,
}


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

    model_config = _example(
        {
            "id": "wuhan-demo",
            "name": "Wuhan demo park",
            "timezone": "Asia/Shanghai",
            "latitude": 30.5,
            "longitude": 114.3,
            "grid_region": "central_china",
            "province": "hubei",
            "tenants": 6,
            "buildings": 4,
            "devices": 40,
        }
    )

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

    model_config = _example({"id": "chipcore", "name": "ChipCore Ltd", "sector": "electronics"})

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

    model_config = _example(
        {
            "id": "plant-1",
            "name": "Plant 1",
            "floors": [{"number": 1, "tenant": "chipcore", "area_m2": 2400.0}],
        }
    )

    id: str
    name: str
    floors: list[FloorOut]


class ParkDetailOut(_Out):
    """A park with its tenants and buildings (devices have their own endpoint)."""

    model_config = _example(
        {
            "park": ParkOut.model_json_schema()["examples"][0],
            "tenants": [{"id": "chipcore", "name": "ChipCore Ltd", "sector": "electronics"}],
            "buildings": [
                {
                    "id": "plant-1",
                    "name": "Plant 1",
                    "floors": [{"number": 1, "tenant": "chipcore", "area_m2": 2400.0}],
                }
            ],
        }
    )

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

    model_config = _example(
        {
            "id": "plant-1-main",
            "kind": "electricity_meter",
            "role": "load",
            "name": "Plant 1 main meter",
            "parent": "grid-main",
            "tenant": "chipcore",
            "building": "plant-1",
            "floor": None,
            "capacity_kw": None,
            "capacity_kwh": None,
            "fields": [
                {"name": "power_kw", "quantity": "power", "unit": "kW", "cumulative": False},
                {"name": "energy_kwh", "quantity": "energy", "unit": "kWh", "cumulative": True},
            ],
        }
    )

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

    model_config = _example(
        {
            "park": "wuhan-demo",
            "server_time": "2025-06-01T04:00:05.000Z",
            "server_time_ms": 1748750405000,
            "stale_after_s": 60.0,
            "readings": [
                {
                    "device": "grid-main",
                    "kind": "electricity_meter",
                    "role": "grid_connection",
                    **_T,
                    "age_s": 5.0,
                    "stale": False,
                    "fields": {"power_kw": 412.5, "energy_kwh": 91234.2},
                }
            ],
        }
    )

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
    min: float | None = Field(
        default=None,
        description="Smallest raw value in the bucket: only when the server chose `every` "
        "(`max_points`) and `agg=mean`; null otherwise.",
    )
    max: float | None = Field(default=None, description="Largest raw value, as `min`.")


class SeriesOut(_Out):
    """One field of one device over ``[start, end)``."""

    model_config = _example(
        {
            "park": "wuhan-demo",
            "device": "grid-main",
            "field": "power_kw",
            "unit": "kW",
            **_RANGE,
            "every_s": 300,
            "agg": "mean",
            "max_points": 288,
            "every_auto": True,
            "points": [{**_T, "value": 412.5, "min": 398.0, "max": 430.1}],
        }
    )

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
    max_points: int | None = Field(
        default=None, description="The request's `max_points`: the answer never holds more."
    )
    every_auto: bool = Field(
        default=False,
        description="True when the server chose `every` because the raw readings would have "
        "been more than `max_points`.",
    )
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

    model_config = _example(
        {
            "park": "wuhan-demo",
            "limit": 100,
            "records": [
                {
                    "received": "2025-06-01T04:00:00.000Z",
                    "received_ms": 1748750400000,
                    "reason": "bad_value",
                    "detail": "power: not a number",
                    "topic": "parks/wuhan-demo/devices/grid-main/telemetry",
                    "excerpt": '{"power": "x"}',
                    "park": "wuhan-demo",
                    "device": "grid-main",
                }
            ],
        }
    )

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

    model_config = _example(
        {
            "park": "wuhan-demo",
            "scope": "park",
            "every": "day",
            "timezone": "Asia/Shanghai",
            "interval_s": 900,
            **_RANGE,
            "figures": [
                {
                    "name": "grid_import_kwh",
                    "unit": "kWh",
                    "devices": ["grid-main"],
                    "note": None,
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
                }
            ],
        }
    )

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


class AlarmOut(_Out):
    """One alarm: raised → acknowledged → cleared (or raised → cleared). Times are epoch ms."""

    model_config = _example(_ALARM)

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

    model_config = _example({"park": "wuhan-demo", "state": "active", "alarms": [_ALARM]})

    park: str
    state: Literal["active", "all"]
    alarms: list[AlarmOut]


# -- who am I, targets, the city view ------------------------------------------------------------


class MeOut(_Out):
    """The caller's key: its name, role, the park and tenant it is bound to, and the parks it
    may see."""

    model_config = _example(
        {
            "name": "chipcore",
            "role": "tenant",
            "park": "wuhan-demo",
            "tenant": "chipcore",
            "parks": ["wuhan-demo"],
        }
    )

    name: str = Field(description="The key's name in the key file (not the token).")
    role: Literal["city", "operator", "tenant"]
    park: str | None = Field(description="The key's park; null for a city key.")
    tenant: str | None = Field(description="The key's tenant; null unless a tenant key.")
    parks: list[str] = Field(description="Ids of the parks the key may see, sorted.")


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
    example_threshold: bool = Field(description="True when a threshold shown is an example.")
    thresholds: list[ThresholdOut]
    year_end: YearEndOut | None = Field(
        description="Year to date and projection ± sigma: when the period is the current year."
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
                            },
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
    profiles: list[TargetProfileOut]


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
