"""The city evaluation: every park on the same figures, scored, ranked and compared with the
previous period, with the weights and indicators of ``config/data/city_evaluation.yaml``.

Per park and local period (:func:`park_figures`): comprehensive energy [tce], electricity [kWh],
CO2 [tCO2], tCO2/tce, the clean and renewable shares, energy per mu [tce/mu], the industrial
value added the park declared for the year [10k CNY] (:mod:`services.declared`) per mu and per
tce, and the completeness of its energy data [%]; each figure None with a reason when it cannot
be had (no land area, nothing declared, a month asked for an annual declaration …).

A :class:`~services.report_cache.ReportCache` keeps each park's indicator report of a period
in the process while the park's data of that period stand: an evaluation of a closed year asked
again answers from it. A park whose data moved is computed again, or, with ``stale_s``, given
from its kept report while that is at most ``stale_s`` old and made again in the background
(:data:`CITY_STALE_S` for the city view).

The parks are computed concurrently on a bounded thread pool (:func:`evaluate_city`): parks may
live on different stores, and a park whose store is unavailable comes back with an error naming
it while the others answer. Scores follow the table's rule (:func:`score_parks`, docs/city.md):
each indicator gives ``weight × min(value / benchmark, cap)`` (more is better) or
``weight × min(benchmark / value, cap)`` (less is better), the benchmark the mean of the parks
that have the value; a park without a value scores 0 on it. Ranks are by score, highest first,
ties sharing a rank (1, 2, 2, 4).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Literal

from config.accounting import AccountingProfile, ElectricityMethod
from config.city import CITY_FIGURES, CityEvaluation, CityIndicator, city_evaluation
from config.errors import StoreError, UnavailableError
from config.messages import message
from config.registry import ParkRegistry
from services.accounting import ProfileSource, profile_source, with_method
from services.declared import read_declared
from services.energy import Scope
from services.indicators import IndicatorReport, local_period, park_indicators
from services.report_cache import ReportCache
from store.base import Store
from store.routed import NamedStoreUnavailableError, RoutedStore

__all__ = [
    "CITY_STALE_S",
    "CITY_WORKERS",
    "OUTPUT_KEY",
    "CityResult",
    "IndicatorScore",
    "ParkFigures",
    "ParkResult",
    "Trend",
    "evaluate_city",
    "park_figures",
    "previous_period",
    "score_parks",
]

log = logging.getLogger("smartpark.city")

CITY_WORKERS = 8
"""Parks computed at once [threads]: each mostly waits on its store's HTTP answers, so a few
threads per core keep two stores busy without flooding either."""

CITY_STALE_S = 900.0
"""How old a park's kept figures the city view gives while the park's data of the period move
[s] (:meth:`~services.report_cache.ReportCache.kept`): a live city's ranking is a comparison of
parks, not a meter reading, and computing its ~100 parks again at every ask of a period still
receiving data takes tens of seconds; each park's time is given with its figures, and fresh
ones are made in the background once a third of this has passed."""

OUTPUT_KEY = "industrial_value_added_10k_cny"
"""The declared value (:mod:`services.declared`) the output figures divide [10k CNY/yr]."""

ErrorKind = Literal["unavailable", "store"]


@dataclass(frozen=True, slots=True)
class ParkFigures:
    """The figures of one park for one period (keys and units of
    :data:`config.city.CITY_FIGURES`), why each None one is None, the accounting profile used
    (and where it came from), and the indicator report they came from. ``error`` (with
    ``error_kind``: ``unavailable`` for a store that did not answer, ``store`` for one that
    refused the query) when the park could not be computed at all."""

    park: str
    period: str
    figures: Mapping[str, float | None] = field(default_factory=dict)
    reasons: Mapping[str, str] = field(default_factory=dict)
    profile: AccountingProfile | None = None
    profile_source: ProfileSource | None = None
    profile_overridden: bool = False
    report: IndicatorReport | None = None
    error: str | None = None
    error_kind: ErrorKind | None = None
    as_of_ms: int | None = None
    stale: bool = False


@dataclass(frozen=True, slots=True)
class IndicatorScore:
    """One indicator of the evaluation for one park: the value read, the city's benchmark (mean
    of the parks that have the value), the points [0, weight × cap], and why the value is None."""

    key: str
    value: float | None
    benchmark: float | None
    points: float
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Trend:
    """The park against the previous period: its score and rank then, their change (a positive
    ``rank_change`` = moved up), the change of its energy [%] and of its tCO2/tce."""

    period: str
    score: float | None
    rank: int | None
    score_change: float | None
    rank_change: int | None
    energy_change_pct: float | None
    tco2_per_tce_change: float | None


@dataclass(frozen=True, slots=True)
class ParkResult:
    """One park in the city evaluation."""

    park: ParkRegistry
    figures: ParkFigures
    scores: tuple[IndicatorScore, ...]
    score: float | None  # None when the park could not be computed
    rank: int | None
    trend: Trend | None = None


@dataclass(frozen=True, slots=True)
class CityResult:
    """The city for one period: the evaluation table used, the benchmark of each indicator and
    every park (ordered by rank, the parks in error last, by id)."""

    period: str
    kind: str
    previous: str | None
    evaluation: CityEvaluation
    benchmarks: Mapping[str, float | None]
    parks: tuple[ParkResult, ...]


def previous_period(label: str) -> str:
    """The period before ``label`` of the same kind: ``2026`` → ``2025``, ``2026-01`` →
    ``2025-12``, ``2026-03-01`` → ``2026-02-28``."""
    parts = label.split("-")
    if len(parts) == 1:
        return str(int(label) - 1)
    if len(parts) == 2:
        y, m = int(parts[0]), int(parts[1])
        return f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}"
    return (date.fromisoformat(label) - timedelta(days=1)).isoformat()


def _value(report: IndicatorReport, name: str) -> float | None:
    for i in report.indicators:
        if i.name == name:
            return None if i.value is None or not math.isfinite(i.value) else float(i.value)
    return None


def _reason(report: IndicatorReport, name: str) -> str:
    for i in report.indicators:
        if i.name == name:
            return i.reason or message("reason.not_available", "en", item=name)
    return message("reason.not_computed", "en", item=name)


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den <= 0:
        return None
    return num / den


def park_figures(
    store: Store,
    park: ParkRegistry,
    period: str,
    *,
    method: ElectricityMethod | None = None,
    indicators: Callable[..., IndicatorReport] = park_indicators,
    cache: ReportCache | None = None,
    stale_s: float = 0.0,
) -> ParkFigures:
    """The figures of ``park`` for the local ``period`` (its own time zone) under its
    accounting profile of the period's year (``method`` overriding the electricity method).
    A store that is unavailable or refuses a query gives a :class:`ParkFigures` with ``error``
    instead of raising: ``park <id>: the store '<name>' is unavailable: <why>`` when there are
    several stores (:class:`~store.RoutedStore`; the name a person finds in
    ``SMARTPARK_STORES``, ``default`` included), ``park <id>: its store is unavailable: <why>``
    with the one store of ``SMARTPARK_STORE_URL`` (there is no other to tell it from).
    With a ``cache``, the park's report comes from it when it still stands
    (:class:`ReportCache`), or, with ``stale_s`` [s] > 0, when it is at most that old although
    the park's data moved since (``stale`` set; ``as_of_ms`` says when its data were read)."""
    year = int(period[:4])
    stale, as_of_ms = False, time.time_ns() // 1_000_000
    try:
        base, source = profile_source(store, park, year)
        profile = with_method(base, method)
        if cache is None:
            report = indicators(store, park, period, profile=profile)
        else:
            got = cache.kept(
                store,
                park,
                period,
                profile,
                lambda held: indicators(
                    store, park, period, profile=profile, instruments=held, shared=cache.reads()
                ),
                stale_s=stale_s,
            )
            report, stale, as_of_ms = got.report, got.stale, got.as_of_ms
        declared = (
            read_declared(store, park, scope=Scope("park"), year=year)
            if report.period.kind == "year"
            else {}
        )
    except (UnavailableError, StoreError) as exc:
        kind: ErrorKind = "unavailable" if isinstance(exc, UnavailableError) else "store"
        what = "is unavailable" if kind == "unavailable" else "refused the query"
        name = _store_name(store, park.id, exc)
        where = "its store" if name is None else f"the store {name!r}"
        # a routed store's error already names the store: say it once, with the adapter's words
        why = exc.__cause__ if name is not None and isinstance(exc.__cause__, StoreError) else exc
        log.warning("city: park %s: %s %s: %s", park.id, where, what, why)
        return ParkFigures(
            park.id, period, error=f"park {park.id}: {where} {what}: {why}", error_kind=kind
        )
    fig = _figures(park, period, report, declared)
    return replace(
        fig,
        profile=profile,
        profile_source=source,
        profile_overridden=profile is not base,
        as_of_ms=as_of_ms,
        stale=stale,
    )


def _store_name(store: Store, park_id: str, exc: Exception) -> str | None:
    """The name of the store of ``park_id`` that failed with ``exc``, when there are several."""
    if isinstance(exc, NamedStoreUnavailableError):
        return exc.store
    if isinstance(store, RoutedStore):
        return store.store_of(park_id)
    return None


def _figures(
    park: ParkRegistry,
    period: str,
    report: IndicatorReport,
    declared: Mapping[str, float],
) -> ParkFigures:
    figures: dict[str, float | None] = dict.fromkeys(CITY_FIGURES)
    reasons: dict[str, str] = {}
    for name in ("comprehensive_energy_tce", "tco2_per_tce", "clean_energy_share"):
        figures[name] = _value(report, name)
    figures["renewable_electricity_share"] = _value(report, "renewable_electricity_share")
    tce_ind = next((i for i in report.indicators if i.name == "comprehensive_energy_tce"), None)
    if tce_ind is not None:
        kwh = tce_ind.detail.get("electricity_kwh")
        figures["electricity_kwh"] = kwh if kwh is None or math.isfinite(kwh) else None
        figures["completeness_pct"] = tce_ind.completeness_pct
    scope1, scope2 = _value(report, "scope1_tco2"), _value(report, "scope2_location_tco2")
    figures["tco2"] = None if scope1 is None or scope2 is None else scope1 + scope2
    tce = figures["comprehensive_energy_tce"]
    land = park.park.land_mu
    figures["energy_per_mu_tce"] = _ratio(tce, land)
    output = declared.get(OUTPUT_KEY)
    figures["output_10k_cny"] = output
    figures["output_per_mu_10k_cny"] = _ratio(output, land)
    figures["output_per_tce_10k_cny"] = _ratio(output, tce)
    no_output = (
        message("reason.output_yearly", "en", item=OUTPUT_KEY)
        if report.period.kind != "year"
        else message("reason.no_output", "en", item=OUTPUT_KEY, year=period[:4])
    )
    no_land = message("reason.no_land", "en")
    for name, value in figures.items():
        if value is not None:
            continue
        if name in ("energy_per_mu_tce", "output_per_mu_10k_cny") and land is None:
            reasons[name] = no_land
        elif name.startswith("output") and output is None:
            reasons[name] = no_output
        elif name in ("energy_per_mu_tce", "output_per_tce_10k_cny"):
            reasons[name] = _reason(report, "comprehensive_energy_tce")
        elif name == "tco2":
            reasons[name] = _reason(
                report, "scope1_tco2" if scope1 is None else "scope2_location_tco2"
            )
        elif name in ("electricity_kwh", "completeness_pct"):
            reasons[name] = _reason(report, "comprehensive_energy_tce")
        else:
            reasons[name] = _reason(report, name)
    return ParkFigures(
        park.id,
        period,
        figures=figures,
        reasons=reasons,
        report=report,
    )


def _points(ind: CityIndicator, value: float, benchmark: float | None, cap: float) -> float:
    if ind.direction == "ge":
        ratio = value / benchmark if benchmark is not None and benchmark > 0 else 0.0
    else:
        ratio = cap if value <= 0 else (benchmark / value if benchmark is not None else 0.0)
    return ind.weight * min(max(ratio, 0.0), cap)


def score_parks(
    figures: Sequence[ParkFigures], table: CityEvaluation
) -> tuple[dict[str, float | None], dict[str, tuple[IndicatorScore, ...]], dict[str, float]]:
    """The benchmark of each indicator (mean over the parks that have its value, None when none
    has), every park's indicator scores and every park's total [points]; parks with an error
    take no part and get no score."""
    ok = [f for f in figures if f.error is None]
    benchmarks: dict[str, float | None] = {}
    for ind in table.indicators:
        values = [v for f in ok if (v := f.figures.get(ind.reads)) is not None]
        benchmarks[ind.key] = math.fsum(values) / len(values) if values else None
    scores: dict[str, tuple[IndicatorScore, ...]] = {}
    totals: dict[str, float] = {}
    for f in ok:
        row = []
        for ind in table.indicators:
            value = f.figures.get(ind.reads)
            bench = benchmarks[ind.key]
            if value is None:
                reason = f.reasons.get(
                    ind.reads, message("reason.not_available", "en", item=ind.reads)
                )
                row.append(IndicatorScore(ind.key, None, bench, 0.0, reason))
            else:
                pts = _points(ind, value, bench, table.scoring.cap)
                row.append(IndicatorScore(ind.key, value, bench, pts))
        scores[f.park] = tuple(row)
        totals[f.park] = math.fsum(s.points for s in row)
    return benchmarks, scores, totals


def _ranks(totals: Mapping[str, float]) -> dict[str, int]:
    order = sorted(totals, key=lambda p: (-totals[p], p))
    ranks: dict[str, int] = {}
    for i, pid in enumerate(order):
        prev = order[i - 1] if i else None
        same = prev is not None and math.isclose(totals[pid], totals[prev], abs_tol=1e-9)
        ranks[pid] = ranks[prev] if same and prev is not None else i + 1
    return ranks


def _change_pct(now: float | None, then: float | None) -> float | None:
    if now is None or then is None or then == 0:
        return None
    return 100.0 * (now - then) / then


def evaluate_city(
    store: Store,
    parks: Sequence[ParkRegistry],
    period: str,
    *,
    method: ElectricityMethod | None = None,
    trend: bool = True,
    workers: int = CITY_WORKERS,
    table: CityEvaluation | None = None,
    indicators: Callable[..., IndicatorReport] = park_indicators,
    cache: ReportCache | None = None,
    stale_s: float = 0.0,
) -> CityResult:
    """Evaluate ``parks`` for the local ``period`` (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``,
    each park in its own zone) and, with ``trend``, the period before, computing up to
    ``workers`` [threads] parks at once on ``store`` (a store that routes by park serves parks
    on several servers), each park's report from ``cache`` where it stands
    (:class:`ReportCache`; with ``stale_s`` [s] > 0 also where it is at most that old, see
    :func:`park_figures`). Raises :class:`~services.indicators.PeriodError` for a bad period,
    before any park is computed."""
    asked = local_period(period, "UTC")  # the label and kind; each park in its own zone
    table = table or city_evaluation()
    previous = previous_period(asked.label) if trend else None
    periods = [asked.label] if previous is None else [asked.label, previous]
    jobs = [(p, when) for when in periods for p in parks]
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(jobs) or 1))) as pool:
        done = list(
            pool.map(
                lambda job: park_figures(
                    store,
                    job[0],
                    job[1],
                    method=method,
                    indicators=indicators,
                    cache=cache,
                    stale_s=stale_s,
                ),
                jobs,
            )
        )
    now = done[: len(parks)]
    then = done[len(parks) :]
    benchmarks, scores, totals = score_parks(now, table)
    ranks = _ranks(totals)
    before: dict[str, tuple[float, int]] = {}
    then_by_park = {f.park: f for f in then}
    if then:
        _, _, totals_then = score_parks(then, table)
        ranks_then = _ranks(totals_then)
        before = {p: (totals_then[p], ranks_then[p]) for p in totals_then}
    out = []
    for park, fig in zip(parks, now, strict=True):
        tr = None
        if previous is not None:
            old = then_by_park.get(park.id)
            score_then, rank_then = before.get(park.id, (None, None))
            score_now, rank_now = totals.get(park.id), ranks.get(park.id)
            tr = Trend(
                period=previous,
                score=score_then,
                rank=rank_then,
                score_change=None
                if score_now is None or score_then is None
                else score_now - score_then,
                rank_change=None if rank_now is None or rank_then is None else rank_then - rank_now,
                energy_change_pct=_change_pct(
                    fig.figures.get("comprehensive_energy_tce"),
                    None if old is None else old.figures.get("comprehensive_energy_tce"),
                ),
                tco2_per_tce_change=_diff(
                    fig.figures.get("tco2_per_tce"),
                    None if old is None else old.figures.get("tco2_per_tce"),
                ),
            )
        out.append(
            ParkResult(
                park=park,
                figures=fig,
                scores=scores.get(park.id, ()),
                score=totals.get(park.id),
                rank=ranks.get(park.id),
                trend=tr,
            )
        )
    out.sort(key=lambda r: (r.rank is None, r.rank or 0, r.park.id))
    return CityResult(
        period=asked.label,
        kind=asked.kind,
        previous=previous,
        evaluation=table,
        benchmarks=benchmarks,
        parks=tuple(out),
    )


def _diff(now: float | None, then: float | None) -> float | None:
    return None if now is None or then is None else now - then
