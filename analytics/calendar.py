"""Roll-ups of interval energy by hour, day, month and year of a park's local calendar.

A park's day runs from local midnight to local midnight in its IANA zone (``Asia/Shanghai`` by
default), never from UTC midnight: in Wuhan (UTC+8) the day of 2024-03-01 runs from
2024-02-29T16:00Z to 2024-03-01T16:00Z. Period edges are computed with :mod:`zoneinfo`, so days
of 23 or 25 hours in zones with daylight saving time hold 92 or 100 fifteen-minute intervals.

Every figure carries its completeness, as shares of the period's expected intervals: whose total
is known (quality in :data:`~analytics.intervals.KNOWN_TOTAL`: ``known_pct``, which is also
``completeness_pct``, the completeness of the period's total), whose quality is ``MEASURED``
(``measured_pct``, for views that need the 15-minute shape) and that are not ``MISSING``
(``coverage_pct``). An hourly meter with every reading is 100 % known and 0 % measured. A period
the ledger only partly spans is less than 100 % complete, never silently full.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analytics.intervals import KNOWN_TOTAL, Quality

__all__ = [
    "DEFAULT_TZ",
    "LocalPeriod",
    "Period",
    "PeriodParseError",
    "Rollup",
    "local_fields",
    "local_period",
    "local_period_edges",
    "rollup",
    "utc_offset_s",
]

# Default park zone: Wuhan, Hubei (IANA tz database name).
DEFAULT_TZ = "Asia/Shanghai"

Period = Literal["hour", "day", "month", "year"]

_NS_PER_S = 1_000_000_000
_S_PER_DAY = 86_400
_KNOWN_CODES = [int(code) for code in KNOWN_TOTAL]


@dataclass(frozen=True, slots=True)
class Rollup:
    """Energy per local period.

    ``start_ns``/``end_ns`` are the UTC instants [ns] of each period's local start and end;
    ``label`` the local period (``2024-03-01``, ``2024-03``, ``2024``, or ``2024-03-01T13:00+08:00``
    for hours); ``energy`` the sum of known interval energies [unit of the ledger];
    ``completeness_pct`` (= ``known_pct``), ``measured_pct`` and ``coverage_pct`` [%] as in the
    module docstring; ``expected_intervals`` how many intervals the period holds.
    """

    period: Period
    tz: str
    start_ns: NDArray[np.int64]
    end_ns: NDArray[np.int64]
    label: tuple[str, ...]
    energy: NDArray[np.float64]
    completeness_pct: NDArray[np.float64]
    coverage_pct: NDArray[np.float64]
    expected_intervals: NDArray[np.int64]
    known_pct: NDArray[np.float64]
    measured_pct: NDArray[np.float64]


def _ns(dt: datetime) -> int:
    return int(dt.timestamp()) * _NS_PER_S


def local_period_edges(
    first_ns: int, last_ns: int, tz: str, period: Period
) -> tuple[NDArray[np.int64], tuple[str, ...]]:
    """Edges [ns, UTC] of the local periods covering ``[first_ns, last_ns)``, and their labels.

    Returns ``n + 1`` edges and ``n`` labels. Hours step by 3600 s from the local hour that holds
    ``first_ns`` (so a repeated local hour at the end of daylight saving time is its own period).
    """
    zone = ZoneInfo(tz)
    first = datetime.fromtimestamp(first_ns // _NS_PER_S, zone)
    edges: list[int] = []
    labels: list[str] = []
    if period == "hour":
        cur = first.replace(minute=0, second=0, microsecond=0)
        while True:
            edges.append(_ns(cur))
            if edges[-1] >= last_ns and len(edges) > 1:
                break
            labels.append(cur.isoformat(timespec="minutes"))
            cur = (cur.astimezone(UTC) + timedelta(hours=1)).astimezone(zone)
        return np.array(edges, dtype=np.int64), tuple(labels)
    if period == "day":
        day = first.date()
        while True:
            edges.append(_ns(datetime(day.year, day.month, day.day, tzinfo=zone)))
            if edges[-1] >= last_ns and len(edges) > 1:
                break
            labels.append(day.isoformat())
            day += timedelta(days=1)
        return np.array(edges, dtype=np.int64), tuple(labels)
    if period == "month":
        y, m = first.year, first.month
        while True:
            edges.append(_ns(datetime(y, m, 1, tzinfo=zone)))
            if edges[-1] >= last_ns and len(edges) > 1:
                break
            labels.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return np.array(edges, dtype=np.int64), tuple(labels)
    if period == "year":
        y = first.year
        while True:
            edges.append(_ns(datetime(y, 1, 1, tzinfo=zone)))
            if edges[-1] >= last_ns and len(edges) > 1:
                break
            labels.append(f"{y:04d}")
            y += 1
        return np.array(edges, dtype=np.int64), tuple(labels)
    raise ValueError(f"unknown period {period!r}; use hour, day, month or year")


def rollup(
    start_ns: ArrayLike,
    energy: ArrayLike,
    quality: ArrayLike,
    *,
    interval_s: int,
    tz: str = DEFAULT_TZ,
    period: Period = "day",
) -> Rollup:
    """Sum interval energy by local hour, day, month or year, with completeness.

    Parameters
    ----------
    start_ns : array of int
        Interval starts, ascending, on a regular grid. [ns since the epoch, UTC]
    energy : array of float
        Interval energy, NaN where missing. [any energy unit; the result keeps it]
    quality : array of int
        :class:`~analytics.intervals.Quality` codes.
    interval_s : int
        Interval length. [s]
    tz : str
        IANA zone of the park.
    period : {"hour", "day", "month", "year"}

    Raises
    ------
    ValueError
        If the arrays do not match, or an interval straddles a period edge (intervals not
        aligned to the zone's local hours), since its energy could not be placed.
    """
    starts = np.asarray(start_ns, dtype=np.int64).ravel()
    e = np.asarray(energy, dtype=np.float64).ravel()
    q = np.asarray(quality).ravel()
    if not starts.size == e.size == q.size:
        raise ValueError("start_ns, energy and quality must have the same length")
    interval_ns = int(interval_s) * _NS_PER_S
    if starts.size == 0:
        empty_i = np.zeros(0, dtype=np.int64)
        empty_f = np.zeros(0)
        return Rollup(
            period, tz, empty_i, empty_i, (), empty_f, empty_f, empty_f, empty_i, empty_f, empty_f
        )
    edges, labels = local_period_edges(int(starts[0]), int(starts[-1]) + interval_ns, tz, period)
    if np.any((edges - starts[0]) % interval_ns):
        raise ValueError(
            f"{interval_s} s intervals do not align with the {period} edges of {tz}; "
            "choose an interval that divides the zone's offset"
        )
    n = len(labels)
    which = np.searchsorted(edges, starts, side="right") - 1
    known = np.isfinite(e)
    total = np.asarray(np.bincount(which[known], weights=e[known], minlength=n)[:n], np.float64)
    measured = np.bincount(which, weights=(q == Quality.MEASURED), minlength=n)[:n]
    known_total = np.bincount(which, weights=np.isin(q, _KNOWN_CODES), minlength=n)[:n]
    present = np.bincount(which, weights=(q != Quality.MISSING), minlength=n)[:n]
    expected = (edges[1:] - edges[:-1]) // interval_ns
    known = 100.0 * known_total / expected
    return Rollup(
        period=period,
        tz=tz,
        start_ns=edges[:-1],
        end_ns=edges[1:],
        label=labels,
        energy=total,
        completeness_pct=known,
        coverage_pct=100.0 * present / expected,
        expected_intervals=expected,
        known_pct=known,
        measured_pct=100.0 * measured / expected,
    )


def utc_offset_s(time_ns: ArrayLike, tz: str) -> NDArray[np.int64]:
    """UTC offset [s] of ``tz`` at each instant [ns since the epoch, UTC].

    Offsets are looked up once per UTC day, and per instant only on days when they change.
    """
    t = np.asarray(time_ns, dtype=np.int64).ravel()
    zone = ZoneInfo(tz)

    def offset(sec: int) -> int:
        delta = datetime.fromtimestamp(sec, zone).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    days = t // (_S_PER_DAY * _NS_PER_S)
    uniq, inverse = np.unique(days, return_inverse=True)
    at_start = np.array([offset(int(d) * _S_PER_DAY) for d in uniq], dtype=np.int64)
    at_end = np.array([offset((int(d) + 1) * _S_PER_DAY) for d in uniq], dtype=np.int64)
    out = at_start[inverse]
    changing = (at_start != at_end)[inverse]
    for i in np.flatnonzero(changing):
        out[i] = offset(int(t[i] // _NS_PER_S))
    return out


def local_fields(
    time_ns: ArrayLike, tz: str
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Local month (1–12), hour (0–23) and ISO weekday (1 = Monday) of each instant [ns, UTC]."""
    t = np.asarray(time_ns, dtype=np.int64).ravel()
    local_s = t // _NS_PER_S + utc_offset_s(t, tz)
    days = local_s // _S_PER_DAY
    hour = (local_s % _S_PER_DAY) // 3600
    dates = days.astype("datetime64[D]")
    month = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    weekday = (days + 3) % 7 + 1  # 1970-01-01 was a Thursday
    return month, hour, weekday


# -- parsing a local period ------------------------------------------------------------------

_PERIOD_TEXT = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")


class PeriodParseError(ValueError):
    """A period that is not ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, or not a real date."""


@dataclass(frozen=True, slots=True)
class LocalPeriod:
    """A local calendar year, month or day: its label, kind, first day and UTC edges [ns]."""

    label: str
    kind: Period
    first_day: date
    start_ns: int
    end_ns: int


def local_period(text: str, tz: str) -> LocalPeriod:
    """``2026`` (year), ``2026-03`` (month) or ``2026-03-14`` (day) in the IANA zone ``tz``;
    edges at local midnight [ns since the epoch, UTC]. Raises :class:`PeriodParseError`."""
    match = _PERIOD_TEXT.fullmatch(text.strip())
    if match is None:
        raise PeriodParseError(f"bad period {text!r}: use YYYY, YYYY-MM or YYYY-MM-DD")
    y, m, d = (int(g) if g else None for g in match.groups())
    assert y is not None  # the pattern always captures the year
    try:
        first = date(y, m or 1, d or 1)
        if d is not None:
            kind: Period = "day"
            after = first + timedelta(days=1)
        elif m is not None:
            kind = "month"
            after = date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)
        else:
            kind = "year"
            after = date(y + 1, 1, 1)
    except ValueError as exc:
        raise PeriodParseError(f"bad period {text!r}: {exc}") from None
    zone = ZoneInfo(tz)

    def edge(day: date) -> int:
        return _ns(datetime(day.year, day.month, day.day, tzinfo=zone))

    return LocalPeriod(
        first.isoformat()[: len(text.strip())], kind, first, edge(first), edge(after)
    )
