"""Assemble reports: a park evaluation (park, year) or a green-factory report (tenant, year).

Every figure comes from :func:`services.indicators.scope_indicators` (the year, each month, each
tenant) and the target evaluation of :mod:`services.evaluation`; this module only picks and
labels them into a :class:`reports.model.ReportDoc`, which :mod:`reports.render` turns into JSON,
CSV, HTML or PDF without computing anything. The one derived breakdown is tCO2 per carrier:
natural gas is the Scope 1 figure, purchased heat its share of Scope 2 (``purchased_heat_tco2``),
electricity the rest of Scope 2 location-based.

Layering: reports/ composes the services' results into documents, so it may import services/
(README, "Layout"); nothing below it imports reports/.

What an evaluator needs beside the figures comes from :func:`evaluator_sections`: the boundary and
method statement (the accounting profile), the 910 veto under both GB/T 2589-2020 electricity
methods, and the green instruments matched to the scope's consumption by month.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import get_args
from zoneinfo import ZoneInfo

from analytics.intervals import DEFAULT_INTERVAL_S
from config.accounting import AccountingProfile, ElectricityMethod
from config.registry import ParkRegistry, Tenant
from reports.baselines import savings_rows
from reports.model import (
    Basis,
    CarrierRow,
    FactorRow,
    IndicatorRow,
    InstrumentRow,
    MethodComparison,
    MethodRow,
    MonthRow,
    Note,
    ProfileStatement,
    ReportDoc,
    ScopeRow,
    Status,
    TargetBlock,
    TargetRow,
)
from services.declared import read_declared
from services.energy import LedgerFn, Scope
from services.evaluation import (
    PARK_PROFILES,
    TENANT_PROFILES,
    YearLedger,
    evaluate_profiles,
    months_begun,
    tenant_of,
)
from services.indicators import (
    Indicator,
    IndicatorReport,
    local_period,
    scope_indicators,
)
from services.ledger import device_ledger
from services.rollup import RollupReads
from services.targets import MIN_COMPLETENESS_PCT, ProfileResult
from store.base import Store

__all__ = [
    "MICROGRID_KEYS",
    "MONTHLY_KEYS",
    "PARK_PROFILES",
    "TENANT_PROFILES",
    "VETO_KEYS",
    "ReportRequest",
    "build_report",
    "evaluator_sections",
    "profile_statement",
]

VETO_KEYS: dict[ElectricityMethod, str] = {
    "calorific_value": "tco2_per_tce_calorific_value",
    "coal_equivalent": "tco2_per_tce_coal_equivalent",
}
"""The indicator key of the 910 core indicator (tCO2 per tce) under each electricity method."""

MONTHLY_KEYS = (
    "comprehensive_energy_tce",
    "scope1_tco2",
    "scope2_location_tco2",
    "tco2_per_tce",
    "clean_energy_share",
    "renewable_share",
    "electricity_cost_cny",
)
"""Indicators shown per month (the trends)."""

MICROGRID_KEYS = (
    "pv_self_consumption_rate",
    "self_sufficiency_rate",
    "renewable_penetration",
    "peak_demand_kw",
    "load_factor",
    "battery_equivalent_full_cycles",
    "battery_round_trip_efficiency",
    "pv_specific_yield_kwh_per_kw",
)
"""Park indicators of the microgrid section."""

_CARRIERS = (  # carrier, quantity detail key, unit
    ("electricity", "electricity_kwh", "kWh"),
    ("natural_gas", "natural_gas_m3", "m3"),
    ("heat", "heat_kwh", "kWh"),
)


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """What to report: the park's year, or one tenant's (``tenant``), and the choices a reader
    must see: the accounting profile, declared values (by target indicator key), the sector of
    the green-factory scores, and the present moment (for year-to-date and projections)."""

    year: int
    tenant: str | None = None
    profile: AccountingProfile = field(default_factory=AccountingProfile)
    declared: Mapping[str, float] = field(default_factory=dict)
    sector: str | None = None
    now: datetime | None = None
    interval_s: int = DEFAULT_INTERVAL_S


Progress = Callable[[int, int], None]


def build_report(
    store: Store,
    park: ParkRegistry,
    request: ReportRequest,
    *,
    ledger: LedgerFn | None = None,
    progress: Progress | None = None,
    software: str = "smartpark",
) -> ReportDoc:
    """The report the request asks for. ``progress(done, total)`` is called after each step
    (the year, each month, each tenant). Declared values are those stored for the scope and year
    (:mod:`services.declared`), overridden by the request's. Raises ``LookupError`` for an
    unknown tenant."""
    tz = park.park.timezone
    year = local_period(str(request.year), tz)
    now = request.now or datetime.now(UTC)
    tenant = tenant_of(park, request.tenant) if request.tenant else None
    scope = Scope("tenant", tenant.id) if tenant else Scope("park", park.id)
    months = months_begun(request.year, now, ZoneInfo(tz))
    tenants = [] if tenant else list(park.tenants)
    total = 1 + len(months) + len(tenants)
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    # None: the roll-up path of scope_indicators (15-minute intervals only)
    cached: LedgerFn | None = None
    if ledger is not None or request.interval_s != DEFAULT_INTERVAL_S:
        cached = YearLedger(
            ledger or device_ledger,
            start_ns=year.start_ns,
            end_ns=year.end_ns,
            interval_s=request.interval_s,
        )

    shared = RollupReads()  # the roll-up path's reads, shared by the year, months and tenants

    def indicators(period: str, of: Scope) -> IndicatorReport:
        return scope_indicators(
            store,
            park,
            period,
            profile=request.profile,
            scope=of,
            interval_s=request.interval_s,
            ledger=cached,
            shared=shared,
        )

    annual = indicators(str(request.year), scope)
    step()
    monthly = []
    for m in months:
        monthly.append(indicators(m, scope))
        step()
    tenant_reports = []
    for t in tenants:
        tenant_reports.append((t, indicators(str(request.year), Scope("tenant", t.id))))
        step()

    by_key = {i.name: i for i in annual.indicators}
    profiles = TENANT_PROFILES if tenant else PARK_PROFILES
    declared = {
        **read_declared(store, park, scope=scope, year=request.year),
        **request.declared,  # given with the request: wins over what is stored
    }
    request = dataclasses.replace(request, declared=declared)
    blocks, notes = _targets(
        profiles, annual, monthly=monthly, request=request, tenant=tenant, now=now
    )
    factors = _factors([annual, *monthly, *(r for _, r in tenant_reports)])
    notes += _notes(annual, request, factors)
    statement, methods, instruments = evaluator_sections(
        annual, request.profile, park, blocks, monthly=monthly
    )
    return ReportDoc(
        kind="green_factory" if tenant else "park_evaluation",
        park_id=park.id,
        park_name=park.park.name,
        tenant_id=tenant.id if tenant else None,
        tenant_name=tenant.name if tenant else None,
        sector=(request.sector or (tenant.sector if tenant else None)),
        year=request.year,
        tz=tz,
        generated_at=now.astimezone(ZoneInfo(tz)).isoformat(timespec="seconds"),
        software=software,
        profile=statement,
        completeness_pct=_completeness(by_key),
        indicators=tuple(_row(i) for i in annual.indicators if i.name not in MICROGRID_KEYS),
        targets=tuple(blocks),
        monthly=tuple(_month(r) for r in monthly),
        carriers=_carriers(by_key),
        tenants=tuple(_tenant_row(t, r) for t, r in tenant_reports),
        microgrid=() if tenant else tuple(_row(by_key[k]) for k in MICROGRID_KEYS if k in by_key),
        factors=factors,
        methods=methods,
        instruments=instruments,
        notes=tuple(notes),
        savings=savings_rows(store, park, request.year, tenant.id if tenant else None),
    )


def evaluator_sections(
    annual: IndicatorReport,
    profile: AccountingProfile,
    park: ParkRegistry,
    blocks: Sequence[TargetBlock],
    *,
    monthly: Sequence[IndicatorReport] = (),
) -> tuple[ProfileStatement, MethodComparison, tuple[InstrumentRow, ...]]:
    """The sections an evaluator reproduces the figures from, out of the year's indicators
    ``annual`` (and its ``monthly`` reports): the boundary and method statement of ``profile``,
    the 910 veto under both electricity methods (the indicator keys of :data:`VETO_KEYS`,
    threshold and verdict from the veto row of ``blocks``), and the green instruments used.

    The one place that reads what ``services.indicators`` adds for issue 13: once
    ``IndicatorReport.profile`` and ``.instruments`` exist, ``profile`` is ``annual.profile``
    and the instrument rows are ``annual.instruments`` (see :func:`instrument_rows`)."""
    return (
        profile_statement(profile, park),
        method_comparison(annual, profile.electricity_method, blocks),
        instrument_rows(annual, monthly),
    )


def profile_statement(profile: AccountingProfile, park: ParkRegistry) -> ProfileStatement:
    """The boundary and method statement of ``profile`` for ``park`` (its grid location and,
    unless the profile sets one, its tariff's flat price [CNY/kWh])."""
    tariff = park.park.tariff
    return ProfileStatement(
        name=profile.name,
        electricity_method=profile.electricity_method,
        rationale=profile.rationale,
        grid_factor=profile.grid_factor,
        fixed_grid_factor_key=profile.fixed_grid_factor_key,
        province=park.park.province,
        grid_region=park.park.grid_region,
        scope2_basis=profile.scope2_basis,
        gas_is_clean=profile.gas_is_clean,
        purchased_heat=profile.purchased_heat,
        gas_supplier=profile.gas.supplier,
        gas_lhv_mj_per_m3=profile.gas.lhv_mj_per_m3,
        gas_reference=profile.gas.reference,
        gas_meter_reference=profile.gas.meter_reference,
        gas_source=profile.gas.source,
        ev_charging=profile.boundary.ev_charging,
        public_areas=profile.boundary.public_areas,
        losses=profile.boundary.losses,
        pv_certificates=profile.pv_certificates,
        flat_price_cny_per_kwh=profile.flat_price_cny_per_kwh
        if profile.flat_price_cny_per_kwh is not None
        else (tariff.flat_price_cny_per_kwh if tariff else None),
    )


def _veto_row(blocks: Sequence[TargetBlock]) -> tuple[TargetBlock, TargetRow] | None:
    for b in blocks:
        for r in b.rows:
            if r.veto and r.reads == "tco2_per_tce":
                return b, r
    return None


def method_comparison(
    annual: IndicatorReport, chosen: ElectricityMethod, blocks: Sequence[TargetBlock]
) -> MethodComparison:
    """tCO2 per tce under both electricity methods, judged against the veto row of ``blocks``
    that reads it (the zero-carbon park's ≤ 0.2 tCO2/tce). The chosen method's status is the
    target evaluation's verdict; the other's applies the same rule to its own value (the same
    meters, so the same completeness). A method whose value the indicators do not carry (keys
    of :data:`VETO_KEYS`) reads ``tco2_per_tce`` for the chosen method and is ``not_enough_data``
    for the other."""
    by_key = {i.name: i for i in annual.indicators}
    found = _veto_row(blocks)
    block, veto = found if found is not None else (None, None)
    rows = []
    for method in get_args(ElectricityMethod):
        ind = by_key.get(VETO_KEYS[method])
        if ind is None and method == chosen:
            ind = by_key.get("tco2_per_tce")
        value = ind.value if ind is not None else None
        verdict = veto is not None and method == chosen  # the target evaluation's own
        status: Status = veto.status if verdict and veto is not None else _status(value, ind, veto)
        rows.append(MethodRow(method=method, value=value, status=status, chosen=method == chosen))
    return MethodComparison(
        target_key=veto.key if veto is not None else None,
        document=block.document if block is not None else None,
        threshold=veto.threshold if veto is not None else None,
        direction=veto.direction if veto is not None else "<=",
        chosen=chosen,
        rows=tuple(rows),
    )


def _status(value: float | None, ind: Indicator | None, veto: TargetRow | None) -> Status:
    if value is None:
        return "not_enough_data"
    if veto is None or veto.threshold is None:
        return "no_threshold"
    pct = ind.completeness_pct if ind is not None else None
    if pct is None or pct < MIN_COMPLETENESS_PCT:
        return "not_enough_data"
    met = value <= veto.threshold if veto.direction == "<=" else value >= veto.threshold
    return "met" if met else "not_met"


def instrument_rows(
    annual: IndicatorReport, monthly: Sequence[IndicatorReport] = ()
) -> tuple[InstrumentRow, ...]:
    """The green instruments the figures used: one row per instrument, month and tenant, as
    the matcher used them (each once, never above the consumption it is matched to), from the
    annual report's ``instruments`` (the monthly reports repeat the same claims month by month,
    so they add nothing). Empty when none were used; the report then says so."""
    del monthly
    return tuple(
        InstrumentRow(
            id=u.instrument_id, kind=u.kind, kwh=u.energy_kwh, month=u.month, tenant=u.tenant
        )
        for u in sorted(
            annual.instruments, key=lambda u: (u.month, u.tenant or "", u.instrument_id)
        )
    )


def _basis(i: Indicator) -> Basis:
    if i.value is not None and i.completeness_pct is not None and i.completeness_pct < 100.0:
        return "estimated"
    return "measured"


def _row(i: Indicator) -> IndicatorRow:
    return IndicatorRow(
        key=i.name,
        value=i.value,
        unit=i.unit,
        completeness_pct=i.completeness_pct,
        basis=_basis(i),
        reason=i.reason,
        factors=tuple(dict.fromkeys(f"{f.name}:{f.region}:{f.year}" for f in i.factors)),
    )


def _month(r: IndicatorReport) -> MonthRow:
    by_key = {i.name: i for i in r.indicators}
    values = {k: by_key[k].value if k in by_key else None for k in MONTHLY_KEYS}
    return MonthRow(month=r.period.label, values=values, completeness_pct=_completeness(by_key))


def _completeness(by_key: Mapping[str, Indicator]) -> float | None:
    """The completeness of the comprehensive energy: what the headline figures rest on."""
    tce = by_key.get("comprehensive_energy_tce")
    return tce.completeness_pct if tce is not None else None


def _carriers(by_key: Mapping[str, Indicator]) -> tuple[CarrierRow, ...]:
    tce = by_key.get("comprehensive_energy_tce")
    s1 = by_key.get("scope1_tco2")
    s2 = by_key.get("scope2_location_tco2")
    if tce is None:
        return ()
    heat_tco2 = s2.detail.get("purchased_heat_tco2") if s2 is not None else None
    tco2: dict[str, float | None] = {
        "natural_gas": s1.value if s1 is not None else None,
        "heat": heat_tco2,
        "electricity": (
            s2.value - (heat_tco2 or 0.0) if s2 is not None and s2.value is not None else None
        ),
    }
    rows = []
    for carrier, quantity_key, unit in _CARRIERS:
        if quantity_key not in tce.detail:
            continue
        rows.append(
            CarrierRow(
                carrier=carrier,
                quantity=tce.detail[quantity_key],
                unit=unit,
                tce=tce.detail.get(carrier),
                tco2=tco2.get(carrier),
                completeness_pct=tce.completeness_pct,
            )
        )
    return tuple(rows)


def _value(by_key: Mapping[str, Indicator], key: str) -> float | None:
    i = by_key.get(key)
    return i.value if i is not None else None


def _tenant_row(t: Tenant, r: IndicatorReport) -> ScopeRow:
    by_key = {i.name: i for i in r.indicators}
    s1, s2 = _value(by_key, "scope1_tco2"), _value(by_key, "scope2_location_tco2")
    tce = by_key.get("comprehensive_energy_tce")
    return ScopeRow(
        key=t.id,
        name=t.name,
        sector=t.sector,
        electricity_kwh=tce.detail.get("electricity_kwh") if tce is not None else None,
        tce=tce.value if tce is not None else None,
        tco2=s1 + s2 if s1 is not None and s2 is not None else None,
        tco2_per_tce=_value(by_key, "tco2_per_tce"),
        cost_cny=_value(by_key, "electricity_cost_cny"),
        completeness_pct=_completeness(by_key),
    )


def _targets(
    profile_ids: tuple[str, ...],
    annual: IndicatorReport,
    *,
    monthly: list[IndicatorReport],
    request: ReportRequest,
    tenant: Tenant | None,
    now: datetime,
) -> tuple[list[TargetBlock], list[Note]]:
    current = now.astimezone(ZoneInfo(annual.tz)).year == request.year
    results, missing = evaluate_profiles(
        profile_ids,
        annual,
        on=date(request.year, 12, 31),
        declared=request.declared,
        sector=request.sector or (tenant.sector if tenant else None),
        months=monthly if current else None,
        now=now if current else None,
    )
    del missing  # the messages name the profiles; the note names them in the report's language
    evaluated = {r.profile.id for r in results}
    not_in_force = tuple(f"profile.{p}" for p in profile_ids if p not in evaluated)
    notes = [Note(kind="missing", code="profile_not_in_force", items=not_in_force)]
    return [_block(r) for r in results], notes if not_in_force else []


def _block(result: ProfileResult) -> TargetBlock:
    rows = []
    for r in result.results:
        shown = r.thresholds[0] if r.thresholds else None
        ye = r.year_end
        rows.append(
            TargetRow(
                key=r.key,
                title=r.title,
                reads=r.reads,
                unit=r.unit,
                direction="<=" if r.direction == "le" else ">=",
                veto=r.veto,
                value=r.value,
                threshold=r.threshold,
                status=r.status,
                gap=r.gap,
                completeness_pct=r.completeness_pct,
                basis=r.basis,
                score=r.score,
                reason=r.reason,
                threshold_source=shown.source if shown else None,
                threshold_evidence=shown.evidence if shown else None,
                example_threshold=any(t.example for t in r.thresholds),
                ytd=ye.ytd if ye else None,
                projected=ye.value if ye else None,
                projected_sigma=ye.sigma if ye else None,
                projected_status=ye.status if ye else None,
            )
        )
    p = result.profile
    vetoes = [r for r in rows if r.veto]
    lacking = tuple(r.key for r in vetoes if r.status == "not_enough_data")
    met: bool | None = None  # no veto, or a veto without a status: nothing to badge as met
    if any(r.status == "not_met" for r in vetoes):
        met = False
    elif vetoes and all(r.status == "met" for r in vetoes):
        met = True
    return TargetBlock(
        key=p.id,
        title=p.title,
        document=p.document,
        year=p.year,
        indicative=result.indicative,
        vetoes_met=met,
        rows=tuple(rows),
        vetoes_lacking_data=lacking,
    )


def _factors(reports: list[IndicatorReport]) -> tuple[FactorRow, ...]:
    seen: dict[str, FactorRow] = {}
    for r in reports:
        for i in r.indicators:
            for f in i.factors:
                key = f"{f.name}:{f.region}:{f.year}"
                if key not in seen:
                    seen[key] = FactorRow(
                        key=key,
                        name=f.name,
                        value=f.value,
                        unit=f.unit,
                        source=f.source,
                        year=f.year,
                        region=f.region,
                        evidence=f.evidence,
                    )
    return tuple(seen.values())


def _notes(
    annual: IndicatorReport, request: ReportRequest, factors: tuple[FactorRow, ...]
) -> list[Note]:
    """The notes of the report, as codes and label keys (words come from reports.i18n)."""
    notes = []
    incomplete = tuple(
        i.name
        for i in annual.indicators
        if i.value is not None and i.completeness_pct is not None and i.completeness_pct < 100.0
    )
    if incomplete:
        notes.append(Note(kind="estimated", code="estimated", items=incomplete))
    for key, value in sorted(request.declared.items()):
        notes.append(Note(kind="declared", code="declared", items=(f"target.{key}",), value=value))
    unverified = tuple(
        dict.fromkeys(f"factor.{f.name}" for f in factors if f.evidence.upper() not in ("P", "V"))
    )
    if unverified:
        notes.append(Note(kind="example", code="unverified_factors", items=unverified))
    missing = tuple(i.name for i in annual.indicators if i.value is None)
    if missing:
        notes.append(Note(kind="missing", code="not_computed", items=missing))
    return notes
