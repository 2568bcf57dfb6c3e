"""Assemble reports: a park evaluation (park, year) or a green-factory report (tenant, year).

Every figure comes from :func:`services.indicators.scope_indicators` (the year, each month, each
tenant) and :func:`services.targets.evaluate`; this module only picks and labels them into a
:class:`reports.model.ReportDoc`, which ``reports.render`` turns into JSON, CSV, HTML or PDF
without computing anything. The one derived breakdown is tCO2 per carrier: natural gas is the
Scope 1 figure, purchased heat its share of Scope 2 (``purchased_heat_tco2``), electricity the
rest of Scope 2 location-based.

Each meter's ledger is computed once for the whole year and sliced for the months and tenants
(:class:`YearLedger`), so a report reads each register once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from analytics.intervals import DEFAULT_INTERVAL_S, IntervalLedger
from config.accounting import AccountingProfile
from config.registry import Device, ParkRegistry, Tenant
from config.targets import TargetNotFoundError, targets
from reports.model import (
    Basis,
    CarrierRow,
    FactorRow,
    IndicatorRow,
    MonthRow,
    Note,
    ReportDoc,
    ScopeRow,
    TargetBlock,
    TargetRow,
)
from services.declared import read_declared
from services.energy import LedgerFn, Scope
from services.indicators import (
    Indicator,
    IndicatorReport,
    local_period,
    scope_indicators,
)
from services.ledger import FieldLedger, device_ledger
from services.targets import ProfileResult, evaluate
from store.base import Store

__all__ = [
    "MICROGRID_KEYS",
    "MONTHLY_KEYS",
    "PARK_PROFILES",
    "TENANT_PROFILES",
    "ReportRequest",
    "TargetEvaluation",
    "YearLedger",
    "build_report",
    "evaluate_profiles",
    "evaluate_targets",
    "profiles_for",
]

PARK_PROFILES = ("zero_carbon_park", "miit_green_park", "microgrid")
"""Target profiles a park evaluation is judged on (config/data/targets.yaml)."""
TENANT_PROFILES = ("green_factory",)
"""Target profiles a green-factory report is judged on."""

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


class YearLedger:
    """A :data:`~services.energy.LedgerFn` that computes each device's ledger once over
    ``[start_ns, end_ns)`` [ns] with ``base`` and serves any sub-range by slicing it."""

    def __init__(
        self, base: LedgerFn, *, start_ns: int, end_ns: int, interval_s: int = DEFAULT_INTERVAL_S
    ) -> None:
        self.base = base
        self.start_ns = start_ns
        self.end_ns = end_ns
        self.interval_s = interval_s
        self._cache: dict[tuple[str, str], list[FieldLedger]] = {}

    def __call__(
        self,
        store: Store,
        park_id: str,
        device: Device,
        *,
        start_ns: int,
        end_ns: int,
        interval_s: int = DEFAULT_INTERVAL_S,
    ) -> list[FieldLedger]:
        """The device's ledger over ``[start_ns, end_ns)``, sliced from the year's."""
        if interval_s != self.interval_s or start_ns < self.start_ns or end_ns > self.end_ns:
            return self.base(
                store, park_id, device, start_ns=start_ns, end_ns=end_ns, interval_s=interval_s
            )
        key = (park_id, device.id)
        if key not in self._cache:
            self._cache[key] = self.base(
                store,
                park_id,
                device,
                start_ns=self.start_ns,
                end_ns=self.end_ns,
                interval_s=interval_s,
            )
        step = interval_s * 1_000_000_000
        lo = start_ns - start_ns % step
        hi = -(-end_ns // step) * step
        out = []
        for f in self._cache[key]:
            led = f.ledger
            keep = (led.start_ns >= lo) & (led.start_ns < hi)
            out.append(
                FieldLedger(
                    f.field,
                    f.unit,
                    IntervalLedger(
                        led.start_ns[keep], led.energy[keep], led.quality[keep], interval_s, ()
                    ),
                )
            )
        return out


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
    ledger: LedgerFn = device_ledger,
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
    tenant = _tenant(park, request.tenant) if request.tenant else None
    scope = Scope("tenant", tenant.id) if tenant else Scope("park", park.id)
    months = _months(request.year, now, ZoneInfo(tz))
    tenants = [] if tenant else list(park.tenants)
    total = 1 + len(months) + len(tenants)
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    cached = YearLedger(
        ledger, start_ns=year.start_ns, end_ns=year.end_ns, interval_s=request.interval_s
    )

    def indicators(period: str, of: Scope) -> IndicatorReport:
        return scope_indicators(
            store,
            park,
            period,
            profile=request.profile,
            scope=of,
            interval_s=request.interval_s,
            ledger=cached,
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
        accounting=_accounting(request.profile, park),
        completeness_pct=_completeness(by_key),
        indicators=tuple(_row(i) for i in annual.indicators if i.name not in MICROGRID_KEYS),
        targets=tuple(blocks),
        monthly=tuple(_month(r) for r in monthly),
        carriers=_carriers(by_key),
        tenants=tuple(_tenant_row(t, r) for t, r in tenant_reports),
        microgrid=() if tenant else tuple(_row(by_key[k]) for k in MICROGRID_KEYS if k in by_key),
        factors=factors,
        notes=tuple(notes),
    )


def _tenant(park: ParkRegistry, tenant_id: str) -> Tenant:
    for t in park.tenants:
        if t.id == tenant_id:
            return t
    raise LookupError(f"park {park.id!r} has no tenant {tenant_id!r}")


def _months(year: int, now: datetime, zone: ZoneInfo) -> list[str]:
    """The months of ``year`` that have begun by ``now`` (all twelve for a past year)."""
    today = now.astimezone(zone).date()
    return [f"{year}-{m:02d}" for m in range(1, 13) if date(year, m, 1) <= today]


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
    return [_block(r) for r in results], [Note(kind="missing", text=m) for m in missing]


def evaluate_profiles(
    profile_ids: Sequence[str],
    report: IndicatorReport,
    *,
    on: date,
    declared: Mapping[str, float],
    sector: str | None,
    months: Sequence[IndicatorReport] | None = None,
    now: datetime | None = None,
) -> tuple[list[ProfileResult], list[str]]:
    """Evaluate each profile of ``profile_ids`` (the version in force ``on``) against
    ``report`` with :func:`services.targets.evaluate`; ``months`` (the current year's monthly
    reports) add year-to-date values and projections. Returns the results and, for each profile
    not in force, why."""
    table = targets()
    results, missing = [], []
    for pid in profile_ids:
        try:
            profile = table.profile(pid, on)
        except TargetNotFoundError as exc:
            missing.append(str(exc))
            continue
        results.append(evaluate(profile, report, declared, sector=sector, months=months, now=now))
    return results, missing


@dataclass(frozen=True, slots=True)
class TargetEvaluation:
    """Target profiles evaluated for one scope and local period (:func:`evaluate_targets`).

    ``projected`` is True when the results carry year-to-date values and projections (the
    period is the current year); ``missing`` says why a profile asked for was not evaluated."""

    report: IndicatorReport
    sector: str | None
    declared: Mapping[str, float]
    projected: bool
    results: tuple[ProfileResult, ...]
    missing: tuple[str, ...]


def profiles_for(scope: Scope) -> tuple[str, ...]:
    """The target profiles a scope is judged on: :data:`PARK_PROFILES` for the park,
    :data:`TENANT_PROFILES` for a tenant. Raises ``ValueError`` for any other scope."""
    if scope.kind == "park":
        return PARK_PROFILES
    if scope.kind == "tenant":
        return TENANT_PROFILES
    raise ValueError(f"targets apply to the park or a tenant, not to scope {scope}")


def evaluate_targets(
    store: Store,
    park: ParkRegistry,
    period: str,
    *,
    scope: Scope,
    profile_ids: Sequence[str] | None = None,
    profile: AccountingProfile | None = None,
    sector: str | None = None,
    now: datetime | None = None,
    interval_s: int = DEFAULT_INTERVAL_S,
    ledger: LedgerFn = device_ledger,
) -> TargetEvaluation:
    """The target profiles of ``scope`` (the park or a tenant; default :func:`profiles_for`)
    evaluated for the local ``period`` (``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``), as the reports
    evaluate them: with the values declared for the scope and the period's year, the tenant's
    sector (unless ``sector`` is given), the profile versions in force at the end of the period's
    year, and for the current year the monthly reports so far (year to date and projection).

    Raises :class:`~services.indicators.PeriodError`, ``ValueError`` for a scope that is not the
    park or a tenant, and :class:`~services.energy.UnknownScopeError` for an unknown tenant."""
    default = profiles_for(scope)  # refuses building, floor and device scopes
    ids = tuple(profile_ids) if profile_ids is not None else default
    tz = park.park.timezone
    zone = ZoneInfo(tz)
    when = local_period(period, tz)
    now = now or datetime.now(UTC)
    year = when.first_day.year
    cached = YearLedger(ledger, start_ns=when.start_ns, end_ns=when.end_ns, interval_s=interval_s)

    def indicators(label: str) -> IndicatorReport:
        return scope_indicators(
            store, park, label, profile=profile, scope=scope, interval_s=interval_s, ledger=cached
        )

    report = indicators(when.label)
    tenant = _tenant(park, scope.id or "") if scope.kind == "tenant" else None
    current = when.kind == "year" and now.astimezone(zone).year == year
    monthly = [indicators(m) for m in _months(year, now, zone)] if current else None
    declared = read_declared(store, park, scope=scope, year=year)
    chosen_sector = sector or (tenant.sector if tenant else None)
    results, missing = evaluate_profiles(
        ids,
        report,
        on=date(year, 12, 31),  # the targets judge the period's year, as in the reports
        declared=declared,
        sector=chosen_sector,
        months=monthly,
        now=now if current else None,
    )
    return TargetEvaluation(
        report=report,
        sector=chosen_sector,
        declared=declared,
        projected=current,
        results=tuple(results),
        missing=tuple(missing),
    )


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
    return TargetBlock(
        key=p.id,
        title=p.title,
        document=p.document,
        year=p.year,
        indicative=result.indicative,
        vetoes_met=result.vetoes_met,
        rows=tuple(rows),
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
                        value=f.value,
                        unit=f.unit,
                        source=f.source,
                        year=f.year,
                        region=f.region,
                        evidence=f.evidence,
                    )
    return tuple(seen.values())


def _accounting(
    profile: AccountingProfile, park: ParkRegistry
) -> dict[str, str | float | bool | None]:
    tariff = park.park.tariff
    return {
        "electricity_method": profile.electricity_method,
        "gas_is_clean": profile.gas_is_clean,
        "purchased_heat": profile.purchased_heat,
        "flat_price_cny_per_kwh": profile.flat_price_cny_per_kwh
        if profile.flat_price_cny_per_kwh is not None
        else (tariff.flat_price_cny_per_kwh if tariff else None),
        "province": park.park.province,
        "grid_region": park.park.grid_region,
    }


def _notes(
    annual: IndicatorReport, request: ReportRequest, factors: tuple[FactorRow, ...]
) -> list[Note]:
    notes = []
    incomplete = [
        i.name
        for i in annual.indicators
        if i.value is not None and i.completeness_pct is not None and i.completeness_pct < 100.0
    ]
    if incomplete:
        notes.append(
            Note(
                kind="estimated",
                text="rest partly on interpolated or estimated intervals (completeness < 100 %): "
                + ", ".join(incomplete),
            )
        )
    for key, value in sorted(request.declared.items()):
        notes.append(Note(kind="declared", text=f"{key} = {value:g} (declared, not measured)"))
    unverified = [f.key for f in factors if f.evidence.upper() not in ("P", "V")]
    if unverified:
        notes.append(
            Note(
                kind="example",
                text="factors not verified against their primary source: " + ", ".join(unverified),
            )
        )
    missing = [i.name for i in annual.indicators if i.value is None]
    if missing:
        notes.append(Note(kind="missing", text="not computed (see reasons): " + ", ".join(missing)))
    return notes
