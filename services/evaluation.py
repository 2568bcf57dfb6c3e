"""Target profiles evaluated for a scope and period, as ``GET .../targets`` and the reports
(:mod:`reports.build`) both evaluate them: the values declared for the scope and year, the
tenant's sector, the profile versions in force at the end of the period's year and, for the
current year, year to date and a projection from the monthly reports so far.

Each meter's ledger is computed once for the whole period and sliced for its months
(:class:`YearLedger`), so an evaluation reads each register once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from analytics.intervals import DEFAULT_INTERVAL_S, IntervalLedger
from config.accounting import AccountingProfile
from config.registry import Device, ParkRegistry, Tenant
from config.targets import TargetNotFoundError, targets
from services.declared import read_declared
from services.energy import LedgerFn, Scope
from services.indicators import IndicatorReport, default_profile, local_period, scope_indicators
from services.indicators.green import InstrumentSource, stored_instruments
from services.ledger import FieldLedger, device_ledger
from services.report_cache import ReportCache
from services.targets import ProfileResult, evaluate
from store.base import Store

__all__ = [
    "PARK_PROFILES",
    "TENANT_PROFILES",
    "TargetEvaluation",
    "YearLedger",
    "evaluate_profiles",
    "evaluate_targets",
    "months_begun",
    "profiles_for",
    "tenant_of",
]

PARK_PROFILES = ("zero_carbon_park", "miit_green_park", "microgrid")
"""Target profiles a park evaluation is judged on (config/data/targets.yaml)."""
TENANT_PROFILES = ("green_factory",)
"""Target profiles a green-factory report is judged on."""


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


def tenant_of(park: ParkRegistry, tenant_id: str) -> Tenant:
    """The tenant ``tenant_id`` of ``park``; ``LookupError`` when it has none of that id."""
    for t in park.tenants:
        if t.id == tenant_id:
            return t
    raise LookupError(f"park {park.id!r} has no tenant {tenant_id!r}")


def months_begun(year: int, now: datetime, zone: ZoneInfo) -> list[str]:
    """The months ``YYYY-MM`` of ``year`` that have begun by ``now`` in ``zone`` (all twelve
    for a past year)."""
    today = now.astimezone(zone).date()
    return [f"{year}-{m:02d}" for m in range(1, 13) if date(year, m, 1) <= today]


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
    ledger: LedgerFn | None = None,
    cache: ReportCache | None = None,
) -> TargetEvaluation:
    """The target profiles of ``scope`` (the park or a tenant; default :func:`profiles_for`)
    evaluated for the local ``period`` (``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``), as the reports
    evaluate them: with the values declared for the scope and the period's year, the tenant's
    sector (unless ``sector`` is given), the profile versions in force at the end of the period's
    year, and for the current year the monthly reports so far (year to date and projection).

    Raises :class:`~services.indicators.PeriodError`, ``ValueError`` for a scope that is not the
    park or a tenant, and :class:`~services.energy.UnknownScopeError` for an unknown tenant.
    ``ledger`` None: the roll-up path of :func:`~services.indicators.scope_indicators` (on
    15-minute intervals; another ``interval_s`` computes from the raw registers); a
    ``ledger``: every meter through it, computed once for the period. ``cache`` (roll-up path
    only): the period's and months' indicator reports from it while their data stand
    (:class:`~services.report_cache.ReportCache`)."""
    default = profiles_for(scope)  # refuses building, floor and device scopes
    ids = tuple(profile_ids) if profile_ids is not None else default
    tz = park.park.timezone
    zone = ZoneInfo(tz)
    when = local_period(period, tz)
    now = now or datetime.now(UTC)
    year = when.first_day.year
    cached: LedgerFn | None = None
    if ledger is not None or interval_s != DEFAULT_INTERVAL_S:
        cached = YearLedger(
            ledger or device_ledger,
            start_ns=when.start_ns,
            end_ns=when.end_ns,
            interval_s=interval_s,
        )

    chosen = profile or default_profile(park)

    def indicators(label: str) -> IndicatorReport:
        def make(instruments: InstrumentSource) -> IndicatorReport:
            return scope_indicators(
                store,
                park,
                label,
                profile=chosen,
                scope=scope,
                interval_s=interval_s,
                ledger=cached,
                instruments=instruments,
                shared=None if cache is None or cached is not None else cache.reads(),
            )

        if cache is None or cached is not None:
            return make(stored_instruments)
        return cache.report(store, park, label, chosen, make, scope=scope)

    report = indicators(when.label)
    tenant = tenant_of(park, scope.id or "") if scope.kind == "tenant" else None
    current = when.kind == "year" and now.astimezone(zone).year == year
    monthly = [indicators(m) for m in months_begun(year, now, zone)] if current else None
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
