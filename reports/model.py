"""The data of a report: what the JSON holds, and all the CSV, HTML and PDF show.

A :class:`ReportDoc` is assembled by :mod:`reports.build` from the services' results, and
rendered by :mod:`reports.render` without computing anything new: every number in every format
comes from this document. Values are in the unit named beside them;
shares are fractions (0.9 = 90 %); completeness is a percentage of intervals measured.
Language-neutral: ``key`` fields are stable identifiers; the renderers translate titles
(Chinese by default, English with ``lang="en"``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from config.accounting import (
    ElectricityMethod,
    GasReference,
    GridFactorRule,
    PvCertificates,
    Scope2Basis,
)
from reports.savings import SavingsRow

__all__ = [
    "Basis",
    "CarrierRow",
    "FactorRow",
    "IndicatorRow",
    "InstrumentRow",
    "MethodComparison",
    "MethodRow",
    "MonthRow",
    "Note",
    "NoteCode",
    "ProfileStatement",
    "ReportDoc",
    "ReportKind",
    "ScopeRow",
    "Status",
    "TargetBlock",
    "TargetRow",
]

ReportKind = Literal["park_evaluation", "green_factory"]
Basis = Literal["measured", "estimated", "declared", "mixed"]
Status = Literal["met", "not_met", "not_enough_data", "no_threshold"]


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
    status: Status
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
    vetoes_met: bool | None  # None: the profile has no veto, or a veto has no status yet
    rows: tuple[TargetRow, ...]
    vetoes_lacking_data: tuple[str, ...] = ()  # keys of the veto rows "not_enough_data"


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
    """A factor or coefficient the figures used, with its provenance. ``value`` is the factor
    exactly as the factor table holds it; every format prints it in full (0.1229, not 0.123)."""

    key: str  # "name:region:year", e.g. "grid_average:CN-HB:2023"
    name: str  # the factor table's key, e.g. "grid_average"
    value: float
    unit: str
    source: str
    year: int
    region: str
    evidence: str


class ProfileStatement(_Frozen):
    """The boundary and method statement: the accounting profile the figures were computed
    with (:class:`config.accounting.AccountingProfile`, see its module for each choice) and the
    park's grid location. Flat, so the JSON and CSV name every choice by one key."""

    name: str  # the profile's name, e.g. "wuhan-demo/2026"
    electricity_method: ElectricityMethod  # GB/T 2589-2020: 当量值 or 等价值
    rationale: str | None  # why the park chose its method (the park's text, zh or en)
    grid_factor: GridFactorRule
    fixed_grid_factor_key: str | None
    province: str | None
    grid_region: str | None
    scope2_basis: Scope2Basis
    gas_is_clean: bool
    purchased_heat: bool
    gas_supplier: str
    gas_lhv_mj_per_m3: float  # [MJ/m³] lower heating value at gas_reference
    gas_reference: GasReference
    gas_meter_reference: GasReference
    gas_source: str
    ev_charging: bool  # inside the boundary
    public_areas: bool  # inside the boundary
    losses: Literal["inside", "outside"]
    pv_certificates: PvCertificates
    flat_price_cny_per_kwh: float | None  # [CNY/kWh] the profile's, else the tariff's


class MethodRow(_Frozen):
    """The 910 core indicator under one electricity method."""

    method: ElectricityMethod
    value: float | None  # [tCO2/tce]
    status: Status
    chosen: bool  # the park's profile uses this method (its status is the verdict)


class MethodComparison(_Frozen):
    """The zero-carbon park veto (tCO2 per tce, NDRC 2025 No. 910) under both GB/T 2589-2020
    electricity methods side by side, because the notice's annex does not say which applies.
    ``target_key``/``threshold`` come from the veto row of the report's targets; both are None
    when the report has no such row (a green-factory report): the values are then shown alone.
    """

    target_key: str | None
    document: str | None
    threshold: float | None
    direction: Literal["<=", ">="] = "<="
    unit: str = "tCO2/tce"
    chosen: ElectricityMethod
    rows: tuple[MethodRow, ...]


class InstrumentRow(_Frozen):
    """One green instrument (green certificate, green-power contract, direct supply) as matched
    to the scope's consumption of one month: used once, never above what it is matched to."""

    id: str
    kind: str  # gec, contract, direct (services/instruments.py)
    kwh: float  # [kWh] used against this month and scope
    month: str  # "2026-03"
    tenant: str | None  # None: a park-scoped instrument


NoteCode = Literal[
    "estimated",
    "declared",
    "unverified_factors",
    "not_computed",
    "profile_not_in_force",
    "example_thresholds",
    "year_incomplete",
]


class Note(_Frozen):
    """What a reader must know, as a code and the keys it concerns: the renderer words it in
    the report's language (``reports.i18n``: ``notetext.<code>`` and each item's label), so no
    identifier or English sentence reaches a Chinese report. ``items`` are label keys
    (an indicator key, ``target.<key>``, ``factor.<name>``, ``profile.<id>``); ``value`` is a
    declared value."""

    kind: Literal["estimated", "declared", "example", "missing", "info"]
    code: NoteCode
    items: tuple[str, ...] = ()
    value: float | None = None


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
    profile: ProfileStatement  # the boundary and method statement
    completeness_pct: float | None  # of the year, over the meters the figures rest on
    indicators: tuple[IndicatorRow, ...]
    targets: tuple[TargetBlock, ...]
    monthly: tuple[MonthRow, ...]
    carriers: tuple[CarrierRow, ...]
    tenants: tuple[ScopeRow, ...] = ()  # park evaluation only
    microgrid: tuple[IndicatorRow, ...] = ()  # park evaluation only
    factors: tuple[FactorRow, ...]
    methods: MethodComparison | None = None  # the 910 veto under both electricity methods
    instruments: tuple[InstrumentRow, ...] = ()  # green instruments used, by month and scope
    notes: tuple[Note, ...] = ()
    savings: tuple[SavingsRow, ...] = ()  # baselines whose reporting period overlaps the year
