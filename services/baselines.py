"""Energy baselines of a park, a tenant, a building, a floor or a meter, and the savings they
show (IPMVP Option C; ASHRAE Guideline 14-2014; ISO 50006 statistical-model energy baseline).

A baseline is defined by its scope, the figure of the scope's energy balance it models
(``load_kwh`` of the park, ``electricity_kwh`` of a tenant, building or floor, a meter's own
register), its granularity (day or hour), the model kind (a change-point form of
:mod:`analytics.baseline`, or ``auto``: the lowest CV(RMSE)), a baseline period and a reporting
period (local dates, end excluded), and the acceptance limit set it is judged by
(``config/data/baseline_limits.yaml``).

**Inputs.** Energy from :func:`services.energy.energy_balance` on the 15-minute grid, summed per
local day or hour; a period enters the model only if the data-sufficiency share of its intervals
is known (the rest filled with the mean of the known ones). Outdoor temperature: the mean of the
``temperature`` readings of the park's outdoor environment sensor (an ``env_sensor`` placed in
no building). Day type from the Chinese working calendar (``chinese-calendar``): working day,
rest day (weekend or public holiday), adjusted working day (a weekend day worked, 调休上班);
hourly models use day type × hour of day; an adjusted working day in the reporting period that
the baseline period never saw counts as a working day, and a period of a category the baseline
never saw is left out (``reporting_periods`` < ``reporting_expected`` says so). Production:
every production figure of the scope's balance (units made per period), when asked for.

**Stored form.** Only the definition is stored (measurement :data:`BASELINE`, tags ``park`` and
``device`` = ``<id>?`` + the text attributes URL-encoded; fields: the periods as proleptic
ordinals of their local dates, the time of creation [ns]); results are computed again from the
ledger on every read, so data that arrives late counts. Writing an id again replaces it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, TypeVar, get_args
from urllib.parse import parse_qsl, quote, urlencode
from zoneinfo import ZoneInfo

import chinese_calendar
import numpy as np
from numpy.typing import NDArray

from analytics.baseline import (
    AcceptanceLimits,
    BaselineError,
    BaselineModel,
    Reason,
    SavingsClaim,
    claim_savings,
    fit_baseline,
    fit_best,
    judge,
    savings,
)
from config.baselines import BaselineLimitTable, LimitSet, baseline_limits
from config.errors import InvalidRequestError, NotFoundError
from config.messages import message
from config.registry import DeviceKind, ParkRegistry
from config.units import Quantity, stored_field_name
from services.energy import Balance, Scope, energy_balance, parse_scope, scope_devices
from store.base import TELEMETRY, Point, Store

__all__ = [
    "BASELINE",
    "DAY_TYPES",
    "REASON_CODES",
    "REASON_TEXT",
    "BaselineDataError",
    "BaselineDefinition",
    "BaselineNotFoundError",
    "BaselineRequestError",
    "BaselineResult",
    "Granularity",
    "KindChoice",
    "Periods",
    "create_baseline",
    "day_type_codes",
    "evaluate_baseline",
    "list_baselines",
    "read_baseline",
    "scope_periods",
]

BASELINE = "baseline"
"""Measurement of baseline definitions."""

Granularity = Literal["day", "hour"]
KindChoice = Literal["auto", "mean", "2p", "3p_heating", "3p_cooling", "4p", "5p"]
DAY_TYPES = ("working_day", "rest_day", "adjusted_working_day")
"""Day-type codes 0, 1, 2 passed to the model as its category."""

REASON_CODES = ("too_few_points", "cv_rmse", "nmbe", "r2", "fsu", "not_finite", "no_reporting_data")
REASON_TEXT: dict[str, tuple[str, str]] = {
    code: (message(f"baseline.reason.{code}", "zh"), message(f"baseline.reason.{code}", "en"))
    for code in REASON_CODES
}
"""Reason code → (Chinese, English) text shown with a refusal, from the message catalogue
(``config/messages/baselines.yaml``, keys ``baseline.reason.<code>``)."""

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
_NS = 1_000_000_000
_INTERVAL_S = 900
_MAX_DAYS = {"day": 3 * 366, "hour": 366}
_ALL_NS = (0, 2**62)
_MONTH_DAYS = 365.25 / 12


Text = tuple[str, tuple[object, ...]]
"""A catalogue key and the values of its placeholders."""


class BaselineRequestError(InvalidRequestError):
    """A baseline definition that cannot be used: bad id, scope, figure, periods or limit set.
    ``str()`` is the English text, ``message_zh`` the Chinese (both from the catalogue)."""

    message_zh: str = ""


class BaselineDataError(InvalidRequestError):
    """The stored data cannot fit the model (too few periods with energy and temperature, or
    no physically signed fit). ``str()`` English, ``message_zh`` Chinese."""

    message_zh: str = ""


class BaselineNotFoundError(NotFoundError):
    """No baseline with that id in the park. ``str()`` English, ``message_zh`` Chinese."""

    message_zh: str = ""


_E = TypeVar("_E", BaselineRequestError, BaselineDataError, BaselineNotFoundError)


def _error(cls: type[_E], *texts: Text) -> _E:
    """An error of ``cls`` saying ``texts`` (catalogue ``baseline.error.*`` keys) in English
    and, as ``message_zh``, in Chinese."""
    exc = cls("; ".join(message(key, "en", *values) for key, values in texts))
    exc.message_zh = "\uff1b".join(message(key, "zh", *values) for key, values in texts)
    return exc


@dataclass(frozen=True, slots=True)
class Periods:
    """Energy per local period of one scope, and what drives it (rows: the periods kept)."""

    start_ns: NDArray[np.int64]
    energy: NDArray[np.float64]  # [unit of the figure]
    temperature_c: NDArray[np.float64]  # [degC]
    category: NDArray[np.int64]  # day type (× 24 + hour for hourly)
    production: NDArray[np.float64] | None  # [units made per period], one column per figure
    expected: int  # periods in the range
    unit: str


@dataclass(frozen=True, slots=True)
class BaselineDefinition:
    """What a baseline is: dates are local, ``*_end`` excluded."""

    id: str
    scope: Scope
    figure: str
    granularity: Granularity
    kind: KindChoice
    baseline_start: date
    baseline_end: date
    reporting_start: date
    reporting_end: date
    limits: str | None  # a limit set id, or None: chosen by the reporting period's length
    production: bool
    created_ns: int
    day_type: bool = True  # False: no day type (hourly models keep the hour of day)


@dataclass(frozen=True, slots=True)
class BaselineResult:
    """A definition, its fitted model, the limit set it was judged by, every reason it fails
    (empty: it passes), and the savings over the reporting period with the claim (None when the
    reporting period has no usable data yet)."""

    definition: BaselineDefinition
    model: BaselineModel
    unit: str
    limit_set: LimitSet
    baseline_periods: int
    baseline_expected: int
    reasons: tuple[Reason, ...]
    claim: SavingsClaim | None
    reporting_periods: int
    reporting_expected: int

    @property
    def passed(self) -> bool:
        """True when the model meets its limits."""
        return not self.reasons


def day_type_codes(days: list[date]) -> NDArray[np.int64]:
    """Day type per local date: 0 working day, 1 rest day (weekend or holiday), 2 adjusted
    working day (a weekend day worked), from the Chinese working calendar; a year the calendar
    does not know falls back to weekends alone."""
    out = []
    for d in days:
        weekend = d.weekday() >= 5
        try:
            work = bool(chinese_calendar.is_workday(d))
        except NotImplementedError:  # a year the State Council notice is not out for yet
            work = not weekend
        out.append(0 if work and not weekend else 2 if work else 1)
    return np.asarray(out, dtype=np.int64)


def _midnight_ns(d: date, tz: str) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(tz)).timestamp()) * _NS


def _edges(start: date, end: date, tz: str, granularity: Granularity) -> NDArray[np.int64]:
    if granularity == "day":
        days = [date.fromordinal(o) for o in range(start.toordinal(), end.toordinal() + 1)]
        return np.asarray([_midnight_ns(d, tz) for d in days], dtype=np.int64)
    a, b = _midnight_ns(start, tz), _midnight_ns(end, tz)
    return np.arange(a, b + 1, 3600 * _NS, dtype=np.int64)


def _outdoor_sensor(park: ParkRegistry) -> str:
    for dev in park.devices:
        if (
            dev.kind is DeviceKind.ENV_SENSOR
            and dev.building is None
            and "temperature" in (dev.fields)
        ):
            return dev.id
    raise _error(BaselineDataError, ("baseline.error.no_outdoor_sensor", (park.id,)))


def _temperature(store: Store, park: ParkRegistry, edges: NDArray[np.int64]) -> NDArray[np.float64]:
    sensor = _outdoor_sensor(park)
    field = stored_field_name("temperature", Quantity.TEMPERATURE)
    cols = store.columns(
        park.id,
        measurement=TELEMETRY,
        fields=[field],
        start_ns=int(edges[0]),
        end_ns=int(edges[-1]),
    ).get(sensor)
    n = edges.size - 1
    if cols is None or not cols.time_ns.size:
        return np.full(n, np.nan)
    times = np.asarray(cols.time_ns, dtype=np.int64)
    values = np.asarray(cols.values[field], dtype=np.float64)
    idx = np.searchsorted(edges, times, side="right") - 1
    ok = (idx >= 0) & (idx < n) & np.isfinite(values)
    sums = np.bincount(idx[ok], weights=values[ok], minlength=n)
    counts = np.bincount(idx[ok], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _per_period(
    series: NDArray[np.float64],
    grid_ns: NDArray[np.int64],
    edges: NDArray[np.int64],
    min_coverage: float,
) -> NDArray[np.float64]:
    """Σ per period, filled with the mean where ≥ ``min_coverage`` of the intervals are known."""
    n = edges.size - 1
    idx = np.searchsorted(edges, grid_ns, side="right") - 1
    inside = (idx >= 0) & (idx < n)
    known = inside & np.isfinite(series)
    total = np.bincount(idx[known], weights=series[known], minlength=n)
    n_known = np.bincount(idx[known], minlength=n).astype(np.float64)
    n_all = np.bincount(idx[inside], minlength=n).astype(np.float64)
    ok = (n_all > 0) & (n_known >= min_coverage * n_all)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, total * n_all / np.maximum(n_known, 1.0), np.nan)


def _default_figure(scope: Scope, park: ParkRegistry) -> str:
    if scope.kind == "park":
        return "load_kwh"
    if scope.kind == "device":
        return "energy_kwh"
    return "electricity_kwh"


def scope_periods(
    store: Store,
    park: ParkRegistry,
    *,
    scope: Scope,
    figure: str,
    granularity: Granularity,
    start: date,
    end: date,
    production: bool = False,
    limits: BaselineLimitTable | None = None,
) -> Periods:
    """The periods of ``[start, end)`` (local dates) with their energy [unit of ``figure``],
    outdoor temperature [degC], day type and production; periods lacking energy or temperature
    are left out (``expected`` says how many there were)."""
    table = limits or baseline_limits()
    tz = park.park.timezone
    edges = _edges(start, end, tz, granularity)
    balance: Balance = energy_balance(
        store, park, scope, start_ns=int(edges[0]), end_ns=int(edges[-1]), interval_s=_INTERVAL_S
    )
    fig = balance.figure(figure)
    if fig is None:
        known = ", ".join(f.name for f in balance.figures) or "none"
        raise _error(BaselineRequestError, ("baseline.error.no_figure", (scope, figure, known)))
    cover = table.data_sufficiency.min_period_coverage
    energy = _per_period(fig.series.energy, balance.start_ns, edges, cover)
    temp = _temperature(store, park, edges)
    starts = edges[:-1]
    days = [datetime.fromtimestamp(int(s) // _NS, ZoneInfo(tz)).date() for s in starts.tolist()]
    category = day_type_codes(days)
    if granularity == "hour":
        hours = np.asarray(
            [datetime.fromtimestamp(int(s) // _NS, ZoneInfo(tz)).hour for s in starts.tolist()]
        )
        category = category * 24 + hours
    prod = None
    keep = np.isfinite(energy) & np.isfinite(temp)
    if production:
        figs = [f for f in balance.figures if f.name.startswith("production_")]
        if not figs:
            raise _error(BaselineRequestError, ("baseline.error.no_production", (scope,)))
        prod = np.column_stack(
            [_per_period(f.series.energy, balance.start_ns, edges, cover) for f in figs]
        )
        keep &= np.all(np.isfinite(prod), axis=1)
        prod = prod[keep]
    return Periods(
        start_ns=starts[keep],
        energy=energy[keep],
        temperature_c=temp[keep],
        category=category[keep],
        production=prod,
        expected=int(starts.size),
        unit=fig.unit,
    )


def _acceptance(s: LimitSet) -> AcceptanceLimits:
    if s.max_fsu is None or s.fsu_confidence is None:  # the table model requires them
        raise _error(BaselineRequestError, ("baseline.error.not_baseline_set", (s.id,)))
    return AcceptanceLimits(
        max_cv_rmse_pct=s.max_cv_rmse_pct,
        max_abs_nmbe_pct=s.max_abs_nmbe_pct,
        max_fsu=s.max_fsu,
        fsu_confidence=s.fsu_confidence,
        min_r2=s.min_r2,
        min_points=s.min_points,
    )


def _categories(category: NDArray[np.int64], defn: BaselineDefinition) -> NDArray[np.int64] | None:
    """The model's category: day type (× 24 + hour), or without day type the hour alone."""
    if defn.day_type:
        return category
    return category % 24 if defn.granularity == "hour" else None


def _fallback(
    category: NDArray[np.int64], levels: tuple[int, ...], granularity: Granularity
) -> NDArray[np.int64]:
    """An adjusted working day the baseline period never saw counts as a working day."""
    per_day = 24 if granularity == "hour" else 1
    unseen = ~np.isin(category, np.asarray(levels, dtype=np.int64))
    adjusted = category // per_day == 2
    return np.where(unseen & adjusted, category - 2 * per_day, category)


def evaluate_baseline(
    store: Store,
    park: ParkRegistry,
    defn: BaselineDefinition,
    *,
    limits: BaselineLimitTable | None = None,
) -> BaselineResult:
    """Fit ``defn`` on its baseline period, judge it, and compute the savings of its reporting
    period (claimed only if the model passes and the savings uncertainty allows).

    Raises :class:`BaselineDataError` when the baseline period cannot fit the model."""
    table = limits or baseline_limits()
    try:
        chosen = table.for_baseline(
            (defn.reporting_end - defn.reporting_start).days / _MONTH_DAYS, defn.limits
        )
    except Exception as exc:
        raise _error(BaselineRequestError, ("baseline.error.limits", (exc,))) from None
    acc = _acceptance(chosen)
    common = {
        "scope": defn.scope,
        "figure": defn.figure,
        "granularity": defn.granularity,
        "production": defn.production,
        "limits": table,
    }
    base = scope_periods(
        store,
        park,
        start=defn.baseline_start,
        end=defn.baseline_end,
        **common,  # type: ignore[arg-type]
    )
    if base.energy.size == 0:
        raise _error(
            BaselineDataError,
            (
                "baseline.error.no_data",
                (defn.granularity, defn.baseline_start, defn.baseline_end, defn.figure),
            ),
        )
    base_cat = _categories(base.category, defn)
    try:
        if defn.kind == "auto":
            model = fit_best(
                base.energy,
                base.temperature_c,
                category=base_cat,
                production=base.production,
            )
        else:
            model = fit_baseline(
                base.energy,
                base.temperature_c,
                kind=defn.kind,
                category=base_cat,
                production=base.production,
            )
    except BaselineError as exc:
        raise _error(BaselineDataError, ("baseline.error.cannot_fit", (exc,))) from None
    reasons = judge(model, acc)
    rep = scope_periods(
        store,
        park,
        start=defn.reporting_start,
        end=defn.reporting_end,
        **common,  # type: ignore[arg-type]
    )
    category = _categories(rep.category, defn)
    if category is None:
        usable = np.ones(rep.energy.size, dtype=bool)
    else:
        category = _fallback(category, model.category_levels, defn.granularity)
        usable = np.isin(category, np.asarray(model.category_levels, dtype=np.int64))
    claim = None
    if usable.any():
        result = savings(
            model,
            rep.energy[usable],
            rep.temperature_c[usable],
            category=None if category is None else category[usable],
            production=None if rep.production is None else rep.production[usable],
            confidence=acc.fsu_confidence,
        )
        claim = claim_savings(model, result, acc)
    return BaselineResult(
        definition=defn,
        model=model,
        unit=base.unit,
        limit_set=chosen,
        baseline_periods=int(base.energy.size),
        baseline_expected=base.expected,
        reasons=reasons,
        claim=claim,
        reporting_periods=int(usable.sum()),
        reporting_expected=rep.expected,
    )


# -- definitions: check, store, read -------------------------------------------------------------


def _check(park: ParkRegistry, defn: BaselineDefinition) -> None:
    problems: list[Text] = []
    if not _ID.match(defn.id):
        problems.append(("baseline.error.id", (defn.id,)))
    if defn.kind not in get_args(KindChoice):
        problems.append(("baseline.error.kind", (defn.kind, ", ".join(get_args(KindChoice)))))
    if defn.granularity not in ("day", "hour"):
        problems.append(("baseline.error.granularity", (defn.granularity,)))
    if defn.baseline_end <= defn.baseline_start:
        problems.append(("baseline.error.baseline_order", ()))
    if defn.reporting_end <= defn.reporting_start:
        problems.append(("baseline.error.reporting_order", ()))
    if defn.reporting_start < defn.baseline_end:
        problems.append(("baseline.error.overlap", ()))
    limit = _MAX_DAYS.get(defn.granularity, 0)
    for name, a, b in (
        ("baseline", defn.baseline_start, defn.baseline_end),
        ("reporting", defn.reporting_start, defn.reporting_end),
    ):
        if (b - a).days > limit:
            problems.append((f"baseline.error.too_long.{name}", (limit, defn.granularity)))
    if problems:
        raise _error(BaselineRequestError, *problems)
    scope_devices(park, defn.scope)  # UnknownScopeError for a scope the park does not have
    try:
        table = baseline_limits()
        if defn.limits is not None:
            table.for_baseline(0.0, defn.limits)
    except Exception as exc:
        raise _error(BaselineRequestError, ("baseline.error.limits", (exc,))) from None


def _to_point(park: str, defn: BaselineDefinition) -> Point:
    text = {
        "scope": str(defn.scope),
        "figure": defn.figure,
        "granularity": defn.granularity,
        "kind": defn.kind,
    }
    if defn.limits is not None:
        text["limits"] = defn.limits
    fields = {
        "baseline_start": float(defn.baseline_start.toordinal()),
        "baseline_end": float(defn.baseline_end.toordinal()),
        "reporting_start": float(defn.reporting_start.toordinal()),
        "reporting_end": float(defn.reporting_end.toordinal()),
        "production": 1.0 if defn.production else 0.0,
        "day_type": 1.0 if defn.day_type else 0.0,
    }
    device = defn.id + "?" + urlencode(text, quote_via=quote)
    return Point(BASELINE, {"park": park, "device": device}, fields, defn.created_ns)


def _from_row(device: str, fields: dict[str, float], time_ns: int) -> BaselineDefinition:
    bid, _, query = device.partition("?")
    text = dict(parse_qsl(query, keep_blank_values=True))
    return BaselineDefinition(
        id=bid,
        scope=parse_scope(text["scope"]),
        figure=text["figure"],
        granularity=text["granularity"],  # type: ignore[arg-type]  # written by _to_point
        kind=text["kind"],  # type: ignore[arg-type]
        baseline_start=date.fromordinal(int(fields["baseline_start"])),
        baseline_end=date.fromordinal(int(fields["baseline_end"])),
        reporting_start=date.fromordinal(int(fields["reporting_start"])),
        reporting_end=date.fromordinal(int(fields["reporting_end"])),
        limits=text.get("limits"),
        production=fields.get("production", 0.0) >= 1.0,
        day_type=fields.get("day_type", 1.0) >= 1.0,
        created_ns=time_ns,
    )


def create_baseline(
    store: Store,
    park: ParkRegistry,
    *,
    scope: Scope,
    baseline_period: tuple[date, date],
    reporting_period: tuple[date, date],
    granularity: Granularity = "day",
    kind: KindChoice = "auto",
    figure: str | None = None,
    limits: str | None = None,
    production: bool = False,
    day_type: bool = True,
    baseline_id: str | None = None,
) -> BaselineResult:
    """Check, fit and store a baseline; returns its result. Nothing is stored when the
    definition is invalid (:class:`BaselineRequestError`) or the data cannot fit the model
    (:class:`BaselineDataError`)."""
    now = time.time_ns()
    defn = BaselineDefinition(
        id=baseline_id or f"bl-{now // _NS:x}-{now % 4096:03x}",
        scope=scope,
        figure=figure or _default_figure(scope, park),
        granularity=granularity,
        kind=kind,
        baseline_start=baseline_period[0],
        baseline_end=baseline_period[1],
        reporting_start=reporting_period[0],
        reporting_end=reporting_period[1],
        limits=limits,
        production=production,
        created_ns=now,
        day_type=day_type,
    )
    _check(park, defn)
    result = evaluate_baseline(store, park, defn)
    store.write([_to_point(park.id, defn)])
    return result


def list_baselines(store: Store, park: ParkRegistry) -> list[BaselineDefinition]:
    """Every baseline of the park (the newest definition of each id), by id."""
    newest: dict[str, BaselineDefinition] = {}
    for row in store.scan(park.id, measurement=BASELINE, start_ns=_ALL_NS[0], end_ns=_ALL_NS[1]):
        defn = _from_row(row.device, dict(row.fields), row.time_ns)
        if defn.id not in newest or newest[defn.id].created_ns <= defn.created_ns:
            newest[defn.id] = defn
    return [newest[k] for k in sorted(newest)]


def read_baseline(store: Store, park: ParkRegistry, baseline_id: str) -> BaselineResult:
    """The result of baseline ``baseline_id``, computed from the data stored now."""
    for defn in list_baselines(store, park):
        if defn.id == baseline_id:
            return evaluate_baseline(store, park, defn)
    raise _error(BaselineNotFoundError, ("baseline.error.not_found", (park.id, baseline_id)))
