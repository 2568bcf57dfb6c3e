"""The data of a report: what the JSON holds, and all the CSV, HTML and PDF show.

A :class:`ReportDoc` is assembled by the service layer (``services/reports.py``) from analytics
results, and rendered by the modules of this package without computing anything new: every
number in every format comes from this document. Values are in the unit named beside them;
shares are fractions (0.9 = 90 %); completeness is a percentage of intervals measured.
Language-neutral: ``key`` fields are stable identifiers; the renderers translate titles
(Chinese by default, English with ``lang="en"``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "Basis",
    "CarrierRow",
    "FactorRow",
    "IndicatorRow",
    "MonthRow",
    "Note",
    "ReportDoc",
    "ReportKind",
    "ScopeRow",
    "TargetBlock",
    "TargetRow",
]

ReportKind = Literal["park_evaluation", "green_factory"]
Basis = Literal["measured", "estimated", "declared", "mixed"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IndicatorRow(_Frozen):
    """One indicator for the report's year: None with a reason when it cannot be computed."""

    key: str  # the indicator's name in services.indicators, e.g. "tco2_per_tce"
    value: float | None
    unit: str
    completeness_pct: float | None
    basis: Basis = "measured"
    reason: str | None = None
    factors: tuple[str, ...] = ()  # keys into ReportDoc.factors


class TargetRow(_Frozen):
    """One target indicator evaluated for the year (see services/targets.py)."""

    key: str
    title: str  # as the target table names it (Chinese in the shipped tables)
    reads: str
    unit: str
    direction: Literal["<=", ">="]
    veto: bool
    value: float | None
    threshold: float | None
    status: Literal["met", "not_met", "not_enough_data", "no_threshold"]
    gap: float | None
    completeness_pct: float | None
    basis: Basis
    score: float | None = None  # 0-100 for scored (green-factory) indicators
    reason: str | None = None
    threshold_source: str | None = None
    threshold_evidence: str | None = None
    example_threshold: bool = False
    # year to date and projection to year end, for the current year only
    ytd: float | None = None
    projected: float | None = None
    projected_sigma: float | None = None
    projected_status: str | None = None


class TargetBlock(_Frozen):
    """A target profile (zero-carbon park, green park, green factory, microgrid) and its rows."""

    key: str
    title: str
    document: str
    year: int
    indicative: bool  # judged on less than a full year of data
    vetoes_met: bool | None
    rows: tuple[TargetRow, ...]


class MonthRow(_Frozen):
    """One local calendar month: the monthly-trend indicators (keys as in IndicatorRow.key)."""

    month: str  # "2026-03"
    values: dict[str, float | None]
    completeness_pct: float | None


class CarrierRow(_Frozen):
    """One energy carrier over the year: its quantity, standard coal and emissions."""

    carrier: str  # electricity, natural_gas, heat, ...
    quantity: float | None
    unit: str  # kWh, m3, ...
    tce: float | None
    tco2: float | None
    completeness_pct: float | None


class ScopeRow(_Frozen):
    """One tenant (or building) of the park over the year."""

    key: str  # tenant id
    name: str
    sector: str | None
    electricity_kwh: float | None
    tce: float | None
    tco2: float | None  # Scope 1 + Scope 2 location-based
    tco2_per_tce: float | None
    cost_cny: float | None
    completeness_pct: float | None


class FactorRow(_Frozen):
    """A factor or coefficient the figures used, with its provenance."""

    key: str
    value: float
    unit: str
    source: str
    year: int
    region: str
    evidence: str


class Note(_Frozen):
    """Where a value was estimated or declared, or what a reader must know."""

    kind: Literal["estimated", "declared", "example", "missing", "info"]
    text: str


class ReportDoc(_Frozen):
    """A whole report: a park evaluation (park, year) or a green-factory report (tenant, year)."""

    kind: ReportKind
    park_id: str
    park_name: str
    tenant_id: str | None = None
    tenant_name: str | None = None
    sector: str | None = None
    year: int
    tz: str
    generated_at: str  # ISO-8601 with offset
    software: str  # "smartpark <version>"
    accounting: dict[str, str | float | bool | None]  # the accounting profile, by setting name
    completeness_pct: float | None  # of the year, over the meters the figures rest on
    indicators: tuple[IndicatorRow, ...]
    targets: tuple[TargetBlock, ...]
    monthly: tuple[MonthRow, ...]
    carriers: tuple[CarrierRow, ...]
    tenants: tuple[ScopeRow, ...] = ()  # park evaluation only
    microgrid: tuple[IndicatorRow, ...] = ()  # park evaluation only
    factors: tuple[FactorRow, ...]
    notes: tuple[Note, ...] = ()
