"""Evaluate a target profile (:mod:`config.targets`) against a park's indicators.

For each indicator of the profile: its value (read from an :class:`IndicatorReport` of
:mod:`services.indicators`, computed as a ratio of report values and declared inputs, or declared
by the park), the threshold that applies (chosen by the park's annual energy for a banded one, or
the park's own for a configurable one), the status, the signed gap ``value − threshold`` in the
indicator's unit, the completeness of the data behind it, whether it was measured or declared,
and for a scored indicator (GB/T 36132-2025) a 0–100 score between the sector's baseline and
leading value. Given the year's monthly reports, each indicator also gets its year-to-date value
and a projection to the end of the year with an uncertainty (:mod:`analytics.projection`).

Statuses: ``met``, ``not_met``, ``not_enough_data`` (no value, or the measured data behind it
less than :data:`MIN_COMPLETENESS_PCT` complete), ``no_threshold`` (park-configurable without a
value, or no band for this park's size). See docs/targets.md.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from analytics.energy import CONVERSION_METHODS, ConversionMethod
from analytics.projection import project_ratio, project_total
from config.messages import message
from config.targets import (
    DECLARED_PREFIX,
    Band,
    Direction,
    Ratio,
    Role,
    SourcedValue,
    TargetIndicator,
    TargetProfile,
)
from services.indicators import Indicator, IndicatorReport

__all__ = [
    "MIN_COMPLETENESS_PCT",
    "Basis",
    "MethodResult",
    "ProfileResult",
    "Status",
    "TargetResult",
    "ThresholdUsed",
    "YearEnd",
    "evaluate",
    "score",
]

Status = Literal["met", "not_met", "not_enough_data", "no_threshold"]
Basis = Literal["measured", "declared", "mixed"]

_F64 = NDArray[np.float64]

# Below this completeness [%] of the measured data behind an indicator its status is
# ``not_enough_data``: a tenth of the intervals missing can hide a month's peak or a PV outage,
# and the ledger's gaps are never filled with guesses.
MIN_COMPLETENESS_PCT = 90.0

# Report indicators that add up over months (their year is the sum of their months).
_ADDITIVE = frozenset(
    {
        "comprehensive_energy_tce",
        "scope1_tco2",
        "scope2_location_tco2",
        "scope2_market_tco2",
        "tou_energy_cost_cny",
        "demand_charge_cny",
        "electricity_cost_cny",
    }
)


def _value(report: IndicatorReport, name: str) -> float | None:
    ind = _find(report, name)
    return ind.value if ind is not None else None


def _detail(name: str, key: str) -> Callable[[IndicatorReport], float | None]:
    def get(report: IndicatorReport) -> float | None:
        ind = _find(report, name)
        return ind.detail.get(key) if ind is not None else None

    return get


def _tce(report: IndicatorReport) -> float | None:
    return _value(report, "comprehensive_energy_tce")


_ELEC = _detail("comprehensive_energy_tce", "electricity_kwh")


def _tce_by(method: ConversionMethod) -> Callable[[IndicatorReport], float | None]:
    """Comprehensive energy [tce] at one GB/T 2589 electricity method."""
    return _detail("comprehensive_energy_tce", f"tce_{method}")


# The 910 core indicator read under each electricity method, beside the profile's.
_BY_METHOD = "tco2_per_tce"
# The denominator of each report ratio, per month: the year's value is Σ(value × weight) /
# Σ weight. Self-sufficiency and renewable penetration are shares of the load, which the report
# does not give: electricity consumed stands in for it as the monthly weight.
_WEIGHT: dict[str, tuple[Callable[[IndicatorReport], float | None], str]] = {
    "tco2_per_tce": (_tce, "comprehensive energy [tce]"),
    "tco2_per_tce_market": (_tce, "comprehensive energy [tce]"),
    "tco2_per_tce_location": (_tce, "comprehensive energy [tce]"),
    "tco2_per_tce_calorific_value": (_tce_by("calorific_value"), "energy at 当量值 [tce]"),
    "tco2_per_tce_coal_equivalent": (_tce_by("coal_equivalent"), "energy at 等价值 [tce]"),
    "clean_energy_share": (_tce, "comprehensive energy [tce]"),
    "renewable_share": (_tce, "comprehensive energy [tce]"),
    "renewable_electricity_share": (_ELEC, "electricity consumed [kWh]"),
    "self_sufficiency_rate": (_ELEC, "electricity consumed [kWh], standing in for the load"),
    "renewable_penetration": (_ELEC, "electricity consumed [kWh], standing in for the load"),
    "kgce_per_unit": (_detail("kgce_per_unit", "units"), "units produced"),
    "tco2_per_unit": (_detail("tco2_per_unit", "units"), "units produced"),
}


def _find(report: IndicatorReport, name: str) -> Indicator | None:
    return next((i for i in report.indicators if i.name == name), None)


@dataclass(frozen=True, slots=True)
class ThresholdUsed:
    """A number the evaluation compared with: ``kind`` threshold, baseline, leading or park
    (configured by the park, no published source)."""

    kind: Literal["threshold", "baseline", "leading", "park"]
    value: float
    source: str
    year: int | None
    evidence: str
    example: bool

    @staticmethod
    def of(kind: Literal["threshold", "baseline", "leading"], v: SourcedValue) -> ThresholdUsed:
        return ThresholdUsed(kind, v.value, v.source, v.year, v.evidence, v.example)


@dataclass(frozen=True, slots=True)
class YearEnd:
    """Year-to-date value and projection to the end of the year.

    ``sigma`` one standard deviation of ``value`` (0 once the year is complete, None when it
    cannot be estimated: fewer than two months observed); ``elapsed_share`` the share of the
    reference year already observed; ``status`` of the projected value against the threshold;
    ``method`` how it was projected; ``reason`` why there is no projection."""

    ytd: float | None
    value: float | None
    sigma: float | None
    elapsed_share: float | None
    status: Status
    gap: float | None
    completeness_pct: float | None
    method: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class MethodResult:
    """A banded indicator under one GB/T 2589-2020 electricity method: its value, the annual
    energy [tce/yr] (projected within the current year) its band was chosen by, the threshold
    and status, and whether it is the accounting profile's method (the verdict)."""

    method: ConversionMethod
    value: float | None
    annual_tce: float | None
    threshold: float | None
    status: Status
    chosen: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class TargetResult:
    """One indicator of a profile, evaluated."""

    key: str
    title: str
    role: Role
    veto: bool
    unit: str
    direction: Direction
    reads: str
    value: float | None
    threshold: float | None
    status: Status
    gap: float | None
    completeness_pct: float | None
    basis: Basis
    thresholds: tuple[ThresholdUsed, ...] = ()
    score: float | None = None
    reason: str | None = None
    year_end: YearEnd | None = None
    by_method: tuple[MethodResult, ...] = ()
    annual_tce: float | None = None


@dataclass(frozen=True, slots=True)
class ProfileResult:
    """A profile evaluated for one scope and period. ``indicative`` is True when the period is
    shorter than the year the targets judge."""

    profile: TargetProfile
    park: str
    scope: str
    period: str
    indicative: bool
    results: tuple[TargetResult, ...]

    @property
    def vetoes_met(self) -> bool | None:
        """True when every veto indicator is met, False when one is not met, None when one has
        no status yet (not enough data, no threshold) and none failed."""
        vetoes = [r.status for r in self.results if r.veto]
        if "not_met" in vetoes:
            return False
        return True if all(s == "met" for s in vetoes) else None

    def result(self, key: str) -> TargetResult:
        """The result of indicator ``key``."""
        for r in self.results:
            if r.key == key:
                return r
        raise KeyError(key)


def score(value: float, baseline: float, leading: float) -> float:
    """0 at (or worse than) ``baseline``, 100 at (or better than) ``leading``, linear between;
    works for both directions (leading below baseline for ≤ indicators)."""
    if baseline == leading:
        raise ValueError("baseline and leading value must differ")
    return 100.0 * min(max((value - baseline) / (leading - baseline), 0.0), 1.0)


def _met(value: float, threshold: float, direction: Direction) -> bool:
    return value <= threshold if direction == "le" else value >= threshold


# -- reading a value ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Read:
    value: float | None
    completeness: float | None
    basis: Basis
    reason: str | None


def _term(
    report: IndicatorReport, term: str, declared: Mapping[str, float]
) -> tuple[float | None, float | None, bool, str | None]:
    """(value, completeness, is_declared, reason) of a ratio term."""
    if term.startswith(DECLARED_PREFIX):
        name = term.removeprefix(DECLARED_PREFIX)
        v = declared.get(name)
        return (
            v,
            None,
            True,
            None if v is not None else message("reason.not_declared", "en", items=name),
        )
    ind = _find(report, term)
    if ind is None:
        return None, None, False, f"the report has no indicator {term!r}"
    return ind.value, ind.completeness_pct, False, ind.reason


def _read(ti: TargetIndicator, report: IndicatorReport, declared: Mapping[str, float]) -> _Read:
    if ti.declared:
        v = declared.get(ti.key)
        why = None if v is not None else message("reason.not_declared", "en", items=ti.key)
        return _Read(v, None, "declared", why)
    if ti.ratio is None:
        assert ti.reads is not None  # the model requires one of reads and ratio
        ind = _find(report, ti.reads)
        if ind is None:
            return _Read(None, None, "measured", f"the report has no indicator {ti.reads!r}")
        if ind.unit != ti.unit:
            raise ValueError(
                f"target {ti.key} is in {ti.unit!r} but indicator {ind.name} is in {ind.unit!r}"
            )
        return _Read(ind.value, ind.completeness_pct, "measured", ind.reason)
    parts = {
        side: [_term(report, t, declared) for t in terms]
        for side, terms in (("num", ti.ratio.numerator), ("den", ti.ratio.denominator))
    }
    flat = parts["num"] + parts["den"]
    kinds = {d for _, _, d, _ in flat}
    basis: Basis = "mixed" if len(kinds) == 2 else ("declared" if True in kinds else "measured")
    completeness = [c for _, c, _, _ in flat if c is not None]
    comp = min(completeness) if completeness else None
    reasons = [r for v, _, _, r in flat if v is None and r]
    if reasons:
        return _Read(None, comp, basis, "; ".join(dict.fromkeys(reasons)))
    num = sum(v or 0.0 for v, _, _, _ in parts["num"])
    den = sum(v or 0.0 for v, _, _, _ in parts["den"])
    if den == 0:
        return _Read(None, comp, basis, "the denominator is 0")
    return _Read(ti.ratio.scale * num / den, comp, basis, None)


# -- choosing the threshold ------------------------------------------------------------------


def _threshold(
    ti: TargetIndicator,
    *,
    overrides: Mapping[str, float],
    sector: str | None,
    annual_tce: float | None,
) -> tuple[tuple[ThresholdUsed, ...], float | None, Status | None, str | None]:
    """(thresholds shown, the one compared with, a status forced by the choice, its reason)."""
    if ti.key in overrides:
        used = ThresholdUsed("park", overrides[ti.key], "park configuration", None, "park", False)
        return (used,), used.value, None, None
    if ti.sectors:
        if sector is None:
            names = ", ".join(s.sector for s in ti.sectors)
            return (), None, "no_threshold", message("reason.no_sector", "en", sectors=names)
        scale = ti.sector(sector)
        if scale is None:
            return (), None, "no_threshold", message("reason.no_sector_values", "en", sector=sector)
        shown = (
            ThresholdUsed.of("baseline", scale.baseline),
            ThresholdUsed.of("leading", scale.leading),
        )
        return shown, scale.baseline.value, None, None
    if not ti.thresholds:
        return (), None, "no_threshold", message("reason.no_default_threshold", "en")
    band: Band | None
    if not any(b.banded for b in ti.thresholds):
        band = ti.thresholds[0]
    elif annual_tce is None:
        why = message("reason.band_unknown", "en")
        return (), None, "not_enough_data", why
    else:
        band = next((b for b in ti.thresholds if b.covers(annual_tce)), None)
        if band is None:
            bands = ", ".join(
                f"[{b.min_annual_tce:g}, {b.max_annual_tce or math.inf:g})" for b in ti.thresholds
            )
            why = message("reason.no_band", "en", tce=f"{annual_tce:,.0f}", bands=bands)
            return (), None, "no_threshold", why
    return (ThresholdUsed.of("threshold", band),), band.value, None, None


def _status(  # noqa: PLR0917  the inputs of one decision, read in order
    value: float | None,
    completeness: float | None,
    basis: Basis,
    threshold: float | None,
    forced: Status | None,
    direction: Direction,
) -> Status:
    if value is None:
        return "not_enough_data"
    if basis != "declared" and (completeness is None or completeness < MIN_COMPLETENESS_PCT):
        return "not_enough_data"
    if forced is not None:
        return forced
    if threshold is None:
        return "no_threshold"
    return "met" if _met(value, threshold, direction) else "not_met"


# -- evaluation ----------------------------------------------------------------------------------


def evaluate(
    profile: TargetProfile,
    report: IndicatorReport,
    declared: Mapping[str, float] | None = None,
    *,
    overrides: Mapping[str, float] | None = None,
    sector: str | None = None,
    annual_tce: float | None = None,
    months: Sequence[IndicatorReport] | None = None,
    reference: Sequence[IndicatorReport] | None = None,
    now: datetime | None = None,
) -> ProfileResult:
    """Evaluate ``profile`` against ``report``.

    Parameters
    ----------
    declared
        Values the park declares, by indicator key (``waste_heat_use``: 0.55) or by the name a
        ratio term gives after ``declared:`` (``industrial_value_added_10k_cny``).
    overrides
        Thresholds the park sets, by indicator key: fill a configurable indicator or replace the
        published value (shown with kind ``park``).
    sector
        Sector of the scored (green-factory) indicators' baseline and leading values.
    annual_tce
        The park's annual comprehensive energy [tce/yr], which chooses a banded threshold.
        Default: for a year report, its ``comprehensive_energy_tce``, or within the current year
        (``months`` given) that figure projected to the end of the year
        (:func:`analytics.projection.project_total`; 发改环资[2025]910号 bands parks by their
        annual consumption, which a year to date understates).
    months, reference, now
        The monthly reports of the current year so far, last year's monthly reports (the
        seasonal shape; without them each month weighs its number of days) and the present
        moment (default: now): each result then gets a :class:`YearEnd`.
    """
    declared = declared or {}
    overrides = overrides or {}
    kind = report.period.kind
    given_tce = annual_tce
    if annual_tce is None and kind == "year":
        annual_tce = _annual(report, _tce, months, reference, now)
    results: list[TargetResult] = []
    for ti in profile.indicators:
        read = _read(ti, report, declared)
        shown, threshold, forced, why = _threshold(
            ti, overrides=overrides, sector=sector, annual_tce=annual_tce
        )
        status = _status(read.value, read.completeness, read.basis, threshold, forced, ti.direction)
        reason = read.reason
        if status == "not_enough_data" and reason is None and read.value is not None:
            if why is not None and forced == "not_enough_data":
                reason = why
            else:
                reason = message(
                    "reason.incomplete",
                    "en",
                    pct=f"{read.completeness or 0.0:.1f}",
                    min=f"{MIN_COMPLETENESS_PCT:g}",
                )
        elif status == "no_threshold":
            reason = why
        gap = read.value - threshold if read.value is not None and threshold is not None else None
        sc = None
        if ti.sectors and sector is not None and read.value is not None:
            scale = ti.sector(sector)
            if scale is not None and ti.key not in overrides:
                sc = score(read.value, scale.baseline.value, scale.leading.value)
        year_end = None
        if months is not None:
            year_end = _Projector(
                ti,
                months,
                reference,
                now=now,
                threshold=threshold,
                forced=forced,
                basis=read.basis,
            ).run(declared)
        by_method: tuple[MethodResult, ...] = ()
        if ti.reads == _BY_METHOD and any(b.banded for b in ti.thresholds):
            by_method = _by_method(
                ti,
                report,
                overrides=overrides,
                given_tce=given_tce,
                months=months,
                reference=reference,
                now=now,
            )
        results.append(
            TargetResult(
                key=ti.key,
                title=ti.title,
                role=ti.role,
                veto=ti.veto,
                unit=ti.unit,
                direction=ti.direction,
                reads=ti.reads or _ratio_text(ti),
                value=read.value,
                threshold=threshold,
                status=status,
                gap=gap,
                completeness_pct=read.completeness,
                basis=read.basis,
                thresholds=shown,
                score=sc,
                reason=reason,
                year_end=year_end,
                by_method=by_method,
                annual_tce=annual_tce if any(b.banded for b in ti.thresholds) else None,
            )
        )
    return ProfileResult(
        profile, report.park, report.scope, report.period.label, kind != "year", tuple(results)
    )


def _annual(
    report: IndicatorReport,
    get: Callable[[IndicatorReport], float | None],
    months: Sequence[IndicatorReport] | None,
    reference: Sequence[IndicatorReport] | None,
    now: datetime | None,
) -> float | None:
    """The year's value of an additive figure [its unit]: projected to the end of the year from
    the monthly reports within the current year, else the year report's own."""
    if months:
        actual, _ = _month_arrays(months, get)
        ref, present = _month_arrays(list(reference or []), get)
        year = months[0].period.first_day.year
        shape = ref if len(present) == 12 and float(np.nansum(ref)) > 0 else _days(year)
        observed = np.where(np.isfinite(actual), _elapsed(months, now), 0.0)
        if observed.any():
            p = project_total(actual, shape, observed)
            if math.isfinite(p.value):
                return float(p.value)
    return get(report)


def _by_method(
    ti: TargetIndicator,
    report: IndicatorReport,
    *,
    overrides: Mapping[str, float],
    given_tce: float | None,
    months: Sequence[IndicatorReport] | None,
    reference: Sequence[IndicatorReport] | None,
    now: datetime | None,
) -> tuple[MethodResult, ...]:
    """The 910 core indicator under 当量值 and 等价值: each method's value
    (``tco2_per_tce_<method>``), its band chosen from that method's (projected) annual tce, its
    threshold and status; the profile's method is ``chosen`` (its verdict is the result's)."""
    out = []
    chosen = report.profile.electricity_method
    for method in CONVERSION_METHODS:
        ind = _find(report, f"{ti.reads}_{method}")
        annual: float | None
        if given_tce is not None and method == chosen:
            annual = given_tce
        elif report.period.kind == "year":
            annual = _annual(report, _tce_by(method), months, reference, now)
        else:
            annual = None
        _, threshold, forced, why = _threshold(
            ti, overrides=overrides, sector=None, annual_tce=annual
        )
        value = ind.value if ind is not None else None
        completeness = ind.completeness_pct if ind is not None else None
        status = _status(value, completeness, "measured", threshold, forced, ti.direction)
        lacks = message("reason.report_lacks", "en", item=f"{ti.reads}_{method}")
        reason = (ind.reason if ind is not None else lacks) or (
            why if status in ("not_enough_data", "no_threshold") else None
        )
        out.append(MethodResult(method, value, annual, threshold, status, method == chosen, reason))
    return tuple(out)


def _ratio_text(ti: TargetIndicator) -> str:
    assert ti.ratio is not None
    num, den = " + ".join(ti.ratio.numerator), " + ".join(ti.ratio.denominator)
    scale = "" if ti.ratio.scale == 1.0 else f"{ti.ratio.scale:g} × "
    return f"{scale}({num}) / ({den})"


# -- year to date and year end ---------------------------------------------------------------


def _month_arrays(
    reports: Sequence[IndicatorReport], get: Callable[[IndicatorReport], float | None]
) -> tuple[_F64, list[int]]:
    """12 monthly values (NaN where absent) and the months present."""
    out = np.full(12, np.nan)
    present = []
    for r in reports:
        if r.period.kind != "month":
            raise ValueError(f"monthly reports expected, got the {r.period.kind} {r.period.label}")
        v = get(r)
        if v is not None and math.isfinite(v):
            out[r.period.first_day.month - 1] = v
            present.append(r.period.first_day.month)
    return out, present


def _days(year: int) -> _F64:
    return np.array([calendar.monthrange(year, m)[1] for m in range(1, 13)], dtype=np.float64)


def _elapsed(months: Sequence[IndicatorReport], now: datetime | None) -> _F64:
    now_ns = int((now or datetime.now().astimezone()).timestamp() * 1e9)
    e = np.zeros(12)
    for r in months:
        p = r.period
        span = p.end_ns - p.start_ns
        e[p.first_day.month - 1] = min(max((now_ns - p.start_ns) / span, 0.0), 1.0)
    return e


class _Projector:
    """Year-to-date and year-end values of one target indicator from monthly reports."""

    def __init__(
        self,
        ti: TargetIndicator,
        months: Sequence[IndicatorReport],
        reference: Sequence[IndicatorReport] | None,
        *,
        now: datetime | None,
        threshold: float | None,
        forced: Status | None,
        basis: Basis,
    ) -> None:
        self.ti, self.months, self.reference = ti, months, list(reference or [])
        self.threshold, self.forced, self.basis = threshold, forced, basis
        self.year = months[0].period.first_day.year if months else 0
        if any(r.period.first_day.year != self.year for r in months):
            raise ValueError("the monthly reports must all be of one year")
        self.elapsed = _elapsed(months, now)

    @staticmethod
    def none(method: str, why: str) -> YearEnd:
        return YearEnd(None, None, None, None, "not_enough_data", None, None, method, why)

    def series(self, get: Callable[[IndicatorReport], float | None]) -> tuple[_F64, _F64, str]:
        """This year's monthly values, the reference shape and what the shape is."""
        actual, _ = _month_arrays(self.months, get)
        ref, present = _month_arrays(self.reference, get)
        if len(present) == 12 and bool(np.all(ref >= 0)) and float(ref.sum()) > 0:
            return actual, ref, "last year's months"
        return actual, _days(self.year), "days per month"

    def observed(self, *arrays: _F64) -> _F64:
        """Elapsed shares, 0 for months where any of ``arrays`` has no value."""
        ok = np.ones(12, dtype=bool)
        for a in arrays:
            ok &= np.isfinite(a)
        return np.where(ok, self.elapsed, 0.0)

    def completeness(self, names: Sequence[str]) -> float | None:
        return _completeness(self.months, self.elapsed, names)

    def finish(
        self, p: tuple[float, float, float, float], method: str, names: Sequence[str]
    ) -> YearEnd:
        ytd, value, sigma, share = (x if math.isfinite(x) else None for x in p)
        comp = self.completeness(names)
        status = _status(value, comp, self.basis, self.threshold, self.forced, self.ti.direction)
        gap = value - self.threshold if value is not None and self.threshold is not None else None
        why = None if value is not None else message("reason.nothing_observed", "en")
        return YearEnd(ytd, value, sigma, share, status, gap, comp, method, why)

    def run(self, declared: Mapping[str, float]) -> YearEnd:
        ti = self.ti
        if ti.declared:
            return self.none("declared", message("reason.declared_not_projected", "en"))
        if not self.months:
            return self.none("none", message("reason.no_monthly_report", "en"))
        if ti.ratio is not None:
            return self.profile_ratio(ti.ratio, declared)
        name = ti.reads or ""
        if name in _ADDITIVE:
            actual, ref, how = self.series(lambda r: _value(r, name))
            p = project_total(actual, ref, self.observed(actual))
            return self.finish(
                (p.ytd, p.value, p.sigma, p.elapsed_share), f"additive; shape: {how}", [name]
            )
        if name not in _WEIGHT:
            return self.none("none", message("reason.no_monthly_split", "en", item=name))
        weight, what = _WEIGHT[name]

        def num(r: IndicatorReport) -> float | None:
            v, w = _value(r, name), weight(r)
            return v * w if v is not None and w is not None else None

        n, n_ref, how = self.series(num)
        d, d_ref, _ = self.series(weight)
        q = project_ratio(n, n_ref, d, d_ref, self.observed(n, d))
        method = f"ratio: numerator and denominator ({what}) projected apart; shape: {how}"
        return self.finish((q.ytd, q.value, q.sigma, q.denominator.elapsed_share), method, [name])

    def profile_ratio(self, ratio: Ratio, declared: Mapping[str, float]) -> YearEnd:
        """A profile ratio: its measured terms add up over months; declared terms are the
        year's."""
        sides: list[tuple[list[str], float | None]] = []
        for terms in (ratio.numerator, ratio.denominator):
            meas = [t for t in terms if not t.startswith(DECLARED_PREFIX)]
            decl = [t.removeprefix(DECLARED_PREFIX) for t in terms if t.startswith(DECLARED_PREFIX)]
            if meas and decl:
                why = message("reason.mixed_ratio_side", "en")
                return self.none("none", why)
            if any(t not in _ADDITIVE for t in meas):
                return self.none("none", message("reason.non_additive_ratio", "en"))
            missing = [t for t in decl if t not in declared]
            if missing:
                return self.none(
                    "none", message("reason.not_declared", "en", items=", ".join(missing))
                )
            sides.append((meas, sum(declared[t] for t in decl) if decl else None))
        (n_terms, n_fixed), (d_terms, d_fixed) = sides
        if not n_terms and not d_terms:
            return self.none("declared", message("reason.all_declared", "en"))
        k, names = ratio.scale, [*n_terms, *d_terms]
        if n_terms and d_terms:
            n, n_ref, how = self.series(_sum(n_terms))
            d, d_ref, _ = self.series(_sum(d_terms))
            q = project_ratio(n, n_ref, d, d_ref, self.observed(n, d))
            method = f"ratio: numerator and denominator projected apart; shape: {how}"
            p4 = (k * q.ytd, k * q.value, abs(k) * q.sigma, q.denominator.elapsed_share)
            return self.finish(p4, method, names)
        meas_terms, fixed = (n_terms, d_fixed) if n_terms else (d_terms, n_fixed)
        assert fixed is not None
        a, ref, how = self.series(_sum(meas_terms))
        p = project_total(a, ref, self.observed(a))
        method = f"the measured side projected (shape: {how}); the declared side is the year's"
        if n_terms:  # measured / declared
            if fixed == 0:
                return self.none(method, message("reason.declared_denominator_zero", "en"))
            value, sigma = k * p.value / fixed, abs(k) * p.sigma / abs(fixed)
        else:  # declared / measured
            value = k * fixed / p.value if p.value > 0 else math.nan
            sigma = abs(value) * p.sigma / p.value if p.value > 0 else math.nan
        # A year-to-date ratio against a whole year's declared figure would mean nothing.
        return self.finish((math.nan, value, sigma, p.elapsed_share), method, names)


def _sum(terms: Sequence[str]) -> Callable[[IndicatorReport], float | None]:
    def get(r: IndicatorReport) -> float | None:
        vs = [_value(r, t) for t in terms]
        return None if any(v is None for v in vs) else sum(v or 0.0 for v in vs)

    return get


def _completeness(
    months: Sequence[IndicatorReport], elapsed: _F64, names: Sequence[str]
) -> float | None:
    """The lowest completeness [%] of the named indicators over the months observed."""
    cs = [
        c
        for r in months
        if elapsed[r.period.first_day.month - 1] > 0
        for n in names
        if (i := _find(r, n)) is not None and (c := i.completeness_pct) is not None
    ]
    return min(cs) if cs else None
