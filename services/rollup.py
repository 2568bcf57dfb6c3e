"""The daily roll-up of the stored ledger: one point per device per local day.

A year of a 2,000-meter park is 70 million 15-minute intervals; read back one value at a time
through InfluxDB's HTTP JSON that takes minutes. The roll-up keeps, per device, register and
**local day of the park's IANA zone** (00:00–24:00 in ``Asia/Shanghai``, never the UTC day), what
period figures need:

==========================  ===================================================================
field                       meaning
==========================  ===================================================================
``<register>``              Σ energy of the day's known intervals [register's canonical unit];
                            absent when no interval is known
``<register>_known``        intervals whose energy is not ``MISSING`` (possibly a lower bound)
``<register>_known_total``  intervals whose energy *total* is exact (quality in
                            :data:`analytics.intervals.KNOWN_TOTAL`; an hourly meter's
                            interpolated quarter hours count): the completeness of totals
``<register>_measured``     intervals of quality ``MEASURED`` (read, not spread over a gap): the
                            completeness of the 15-minute shape (peak demand, load factor, TOU)
``<register>_intervals``    intervals of the ledger in the day (96 of 15 min; 92/100 on DST days)
``<register>_max``          largest interval energy of the day (peak demand = max / interval [h])
``<register>_quality``      the day's quality as a slot: ``MISSING`` when nothing is known,
                            at least ``ESTIMATED`` when only part of the day is, else the worst
                            quality of its intervals; absent when ``MEASURED`` (the usual day:
                            one value less to read)
``<register>_digest``       a 48-bit hash of the day's intervals (energies and qualities):
                            what a figure's cache compares (absent on days rolled up before
                            it existed: those figures are made from their meters each time)
==========================  ===================================================================

A **figure's cache** lives beside the meters' days: a figure of several meters (every gas meter
of the park, the PV inverters …) keeps, under the device tag ``~fig-<hash of register and
meters>`` (:func:`figure_id`), its own day points (the fields above, ``_digest`` the hash of its
meters' digests, ``_fine`` 1 when the day's 15-minute ledger is kept too, in ``ledger``). The
indicators write it when they first make a figure's days and read it back while the meters'
digests stand (:meth:`RollupLedger.sum_series`): a 2,000-meter park's year went from 17–19 s to
1.2 s in process on InfluxDB (docs/benchmarks.md).

**Day marks.** Every :func:`write_day_rollups` ends with one point per local day it rolled up
under the device tag ``~days`` (:data:`MARK_DEVICE`), field ``mark`` a fresh random 48-bit
token, written after the roll-ups: :func:`day_marks` fingerprints them over a period, so
whoever keeps something made from a park's roll-ups (the city's reports,
:class:`services.city.ReportCache`) knows whether any of them was written since.

``_known_total`` is not ``_known``: ``_known`` (written since the roll-up exists) counts every
interval with a number, including a reset's lower bound. Roll-ups written before
``_known_total`` existed lack it; reading them, it is derived conservatively per day: equal to
``_known`` when the day's slot quality is ``INTERPOLATED`` or better (then every interval of the
day is one of those qualities, so the count is exact), else equal to ``_measured`` (a lower bound:
a measured interval is always a known total). Rebuild the roll-up for exact counts.

Measurement ``ledger_day`` (:data:`LEDGER_DAY`), tags ``park`` and ``device``, time = the UTC
instant of the local midnight that opens the day. Written again, a day replaces itself. It is one
of the store's long-term measurements (:data:`store.base.LONG_TERM`): where the store has
retention policies it keeps them apart, which is the store's business, not this module's.

When it is written
------------------
:func:`write_day_rollups` recomputes whole local days from the stored interval ledger
(:func:`services.ledger.stored_ledger`) and writes them. Call it after anything that writes the
interval ledger, over the same range and devices:

* ``rebuild_ledger(store, park, start_ns=s, end_ns=e, devices=ids)`` →
  ``write_day_rollups(store, park, start_ns=s, end_ns=e, devices=ids)`` (the range is widened to
  whole local days);
* the live ledger follower (:mod:`services.follow`), after each pass →
  ``write_day_rollups(store, park, start_ns=first, end_ns=last, devices=[device])`` once per
  device it rewrote intervals of: the local days those intervals touched (usually one).

When the caller already holds the interval ledger of whole days, :func:`day_points` turns it into
roll-up points without reading it back.

How it is read
--------------
:func:`read_day_rollups` reads one register of every device of a park with one
:meth:`~store.base.Store.columns` of the register's fields (on InfluxDB one query grouped by
device), not one query per device. :class:`DayLedger` is a :data:`services.energy.LedgerFn`
whose "intervals" are the local days, so
``energy_balance(..., interval_s=DAY_S, ledger=DayLedger())`` gives every figure of a scope per
day; totals equal those of the 15-minute balance whenever each day of each meter is either
complete or absent. :func:`device_totals` sums a register per device over a range on the server
(:meth:`~store.base.Store.aggregate`: ``sum()``/``max()`` … grouped by device): one row per
device. :class:`TotalLedger` is the LedgerFn over those sums, one slot for the whole range: the
cheapest way to a year's totals. On such day (or single) slots :mod:`services.indicators` gives
no peak demand, load factor, TOU cost, demand charge or electricity cost (None, with the reason
"needs interval data"): those need the 15-minute ledger. :class:`RollupLedger` is the hybrid
the indicators use by default (:mod:`services.indicators.hybrid`): a LedgerFn on the 15-minute
grid that takes the clean days of a group of meters from the roll-up and reads the rest, and the
meters a figure needs at 15 minutes, from the stored ledger: the numbers of the full path; its
:meth:`~RollupLedger.sum_series` gives a figure of several meters whole, from the figure's cache.

Everything here goes through the :class:`~store.base.Store` contract only.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import logging
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.typing import NDArray

from analytics.calendar import local_period_edges
from analytics.intervals import DEFAULT_INTERVAL_S, KNOWN_TOTAL, IntervalLedger, Quality
from config.errors import StoreError
from config.registry import Device, ParkRegistry
from config.units import CANONICAL_UNIT, stored_field_name
from services.ledger import (
    LOOKBACK_S,
    FieldLedger,
    device_ledger,
    ledger_points,
    stored_ledger,
    stored_ledgers,
    stored_or_computed,
)
from store.base import LEDGER_DAY, TELEMETRY, Columns, Point, Reduction, Store

__all__ = [
    "CHUNK_DAYS",
    "DAY_S",
    "KEEP_AFTER_S",
    "KEEP_BYTES",
    "LEDGER_DAY",
    "MARK_DEVICE",
    "MARK_FIELD",
    "MERGE_DAYS",
    "SUFFIXES",
    "DayLedger",
    "DayRollup",
    "DeviceTotal",
    "DirtyDays",
    "IntervalKeep",
    "RollupLedger",
    "RollupResult",
    "TotalLedger",
    "day_digests",
    "day_marks",
    "day_points",
    "device_totals",
    "known_total_mask",
    "local_days",
    "read_day_rollups",
    "write_day_rollups",
]

DAY_S = 86_400
"""Slot length [s] of :class:`DayLedger`: a local day in a zone without daylight saving time."""

SUFFIXES = ("", "_known", "_measured", "_intervals", "_max", "_quality", "_known_total")
"""Field name suffixes of one register in :data:`LEDGER_DAY`, in the order of :class:`DayRollup`."""

CHUNK_DAYS = 60
"""Local days of interval ledger :func:`write_day_rollups` reads at a time (5,760 intervals)."""

DIGEST_SUFFIX = "_digest"
"""Field suffix of a register's day digest in :data:`LEDGER_DAY`: a 48-bit hash of the day's
15-minute energies and qualities as rolled up (:func:`day_digests`); a figure's cached day
carries the hash of its meters' digests (:func:`figure_id`)."""

FINE_SUFFIX = "_fine"
"""Field suffix of a cached figure day: 1 when its 15-minute ledger is kept too."""

KEEP_AFTER_S = 0.05
"""A figure's days are kept (:meth:`RollupLedger.sum_series`) only when making them from their
meters took at least this long [s]: a figure that is cheap to make (a few meters, a short
period, the embedded store) gains little from being read back, and its writes would take turns
with the collector's on a store they share (the demo's SQLite file: the page's live readings came
170 ms later while the demo stored its history). At 0.25 s the full city kept too few figures
(its `/city/indicators` 43.5 → 65.1 s); docs/benchmarks.md has both."""

MARK_DEVICE = "~days"
"""Device tag of a park's day marks in :data:`LEDGER_DAY` (``~`` is not a registry device
id's first character, config/registry.py's pattern)."""

MARK_FIELD = "mark"
"""Field of a day mark: a random token [0, 2**48), new at every roll-up write of the day."""

_NS = 1_000_000_000
_log = logging.getLogger(__name__)
_WRITE_CHUNK = 20_000  # points per store.write call when rolling up many devices


@functools.lru_cache(maxsize=1024)
def local_days(start_ns: int, end_ns: int, tz: str) -> NDArray[np.int64]:
    """Edges [ns, UTC] of the local days of ``tz`` that overlap ``[start_ns, end_ns)``: ``n + 1``
    edges for ``n`` days, the first at or before ``start_ns``, the last at or after ``end_ns``.
    Read-only and kept: a park's year report asks for the same ranges thousands of times (each
    tenant's figures), and each answer walks the year's days in Python (~1.3 ms)."""
    edges, _ = local_period_edges(start_ns, end_ns, tz, "day")
    edges.setflags(write=False)
    return edges


@dataclass(frozen=True, slots=True)
class RollupResult:
    """What :func:`write_day_rollups` wrote."""

    devices: int
    registers: int
    days: int  # register-days written (points × registers in them)
    first_ns: int  # the whole local days covered, [first_ns, last_ns)
    last_ns: int


def _day_arrays(
    led: IntervalLedger, edges: NDArray[np.int64]
) -> tuple[NDArray[np.float64], ...] | None:
    """Per day of ``edges``: sum, known, measured, intervals, max, quality, known_total (float
    arrays, the order of :data:`SUFFIXES`), or None when the ledger covers no whole day. Days the
    ledger covers only partly are NaN rows."""
    n_days = edges.size - 1
    if led.start_ns.size == 0 or n_days <= 0:
        return None
    interval_ns = led.interval_s * _NS
    which = np.searchsorted(edges, led.start_ns, side="right") - 1
    inside = (which >= 0) & (which < n_days)
    which, energy, quality = which[inside], led.energy[inside], led.quality[inside]
    expected = (edges[1:] - edges[:-1]) // interval_ns
    present = np.bincount(which, minlength=n_days)[:n_days]
    whole = present == expected
    known = np.isfinite(energy)
    total = np.bincount(which[known], weights=energy[known], minlength=n_days)[:n_days]
    n_known = np.bincount(which[known], minlength=n_days)[:n_days].astype(np.float64)
    measured = np.bincount(which, weights=quality == Quality.MEASURED, minlength=n_days)[:n_days]
    exact = np.isin(quality, [int(q) for q in KNOWN_TOTAL])
    known_total = np.bincount(which, weights=exact, minlength=n_days)[:n_days]
    peak = np.full(n_days, -np.inf)
    np.maximum.at(peak, which[known], energy[known])
    worst = np.full(n_days, -1.0)
    np.maximum.at(worst, which[known], quality[known].astype(np.float64))
    slot_quality = np.where(
        n_known == 0,
        float(Quality.MISSING),
        np.where(n_known < expected, np.maximum(worst, float(Quality.ESTIMATED)), worst),
    )
    nan = np.full(n_days, np.nan)
    return (
        np.where(whole & (n_known > 0), total, nan),
        np.where(whole, n_known, nan),
        np.where(whole, measured, nan),
        np.where(whole, expected.astype(np.float64), nan),
        np.where(whole & (n_known > 0), peak, nan),
        np.where(whole, slot_quality, nan),
        np.where(whole, known_total, nan),
    )


def day_points(park_id: str, device_id: str, result: FieldLedger, tz: str) -> list[Point]:
    """Roll-up points of one register's interval ledger: one per local day of ``tz`` that the
    ledger covers whole (a day it covers only partly is left out, never written half)."""
    led = result.ledger
    if led.start_ns.size == 0:
        return []
    end = int(led.start_ns[-1]) + led.interval_s * _NS
    edges = local_days(int(led.start_ns[0]), end, tz)
    arrays = _day_arrays(led, edges)
    if arrays is None:
        return []
    names = [result.field + s for s in SUFFIXES]
    tags = {"park": park_id, "device": device_id}
    points = []
    columns = [a.tolist() for a in arrays]
    digests = day_digests(led.energy, led.quality, np.searchsorted(led.start_ns, edges)).tolist()
    for i, day_ns in enumerate(edges[:-1].tolist()):
        if math.isnan(columns[3][i]):
            continue  # not a whole day of the ledger
        fields = {
            name: col[i] for name, col in zip(names, columns, strict=True) if not math.isnan(col[i])
        }
        if fields[names[5]] == Quality.MEASURED:
            del fields[names[5]]  # implied by the energy: most days carry one value less to read
        fields[result.field + DIGEST_SUFFIX] = digests[i]
        points.append(Point(LEDGER_DAY, tags, fields, day_ns))
    return points


_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)  # splitmix64's


def _mix(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """splitmix64's finaliser, element-wise (wrapping uint64 arithmetic): every input bit
    reaches every output bit."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    out: NDArray[np.uint64] = x ^ (x >> np.uint64(31))
    return out


def day_digests(
    energy: NDArray[np.float64], quality: NDArray[np.int8], bounds: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Per day ``[bounds[i], bounds[i + 1])`` of the intervals, a 48-bit hash of their
    energies [any unit], quality codes and places in the day, as floats (exact below 2⁵³): two
    days with the same intervals have the same digest; a change of an energy, a quality or an
    order changes it but for a chance of about 2⁻⁴⁸. All days at once: each interval's bits are
    mixed (splitmix64) with its quality and its place, and a day's are summed."""
    n = bounds.size - 1
    if n <= 0:
        return np.zeros(0)
    edge = np.clip(bounds, 0, energy.size)
    count = np.diff(edge)
    lo, hi = int(edge[0]), int(edge[-1])
    e = np.where(np.isnan(energy[lo:hi]), np.nan, energy[lo:hi] + 0.0)  # one NaN, no -0.0
    bits = e.astype("<f8").view(np.uint64)
    place = (np.arange(lo, hi) - np.repeat(edge[:-1], count)).astype(np.uint64)
    code = np.asarray(quality[lo:hi], dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = _mix(bits ^ _mix(code + (place << np.uint64(8)) + np.uint64(1)))
        sums = np.add.reduceat(np.append(x, np.uint64(0)), edge[:-1] - lo)
        sums[count == 0] = 0
        out: NDArray[np.float64] = (_mix(sums) >> np.uint64(16)).astype(np.float64)
    return out


def figure_id(field: str, devices: Sequence[str]) -> str:
    """The device tag under which a figure (register ``field`` summed over ``devices``) keeps
    its days in the roll-up and its 15-minute ledger: ``~fig-`` and a hash of the register and
    the meters, so a change of the meters is another figure."""
    text = field + "|" + ",".join(sorted(devices))
    return "~fig-" + hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def write_day_rollups(
    store: Store,
    park: ParkRegistry,
    *,
    start_ns: int,
    end_ns: int,
    devices: Sequence[str] | None = None,
    interval_s: int = DEFAULT_INTERVAL_S,
    ledger: Callable[..., list[FieldLedger]] = stored_ledger,
    progress: Callable[[int, int], None] | None = None,
) -> RollupResult:
    """Recompute and store the daily roll-up of the local days overlapping ``[start_ns,
    end_ns)`` for every device of ``park`` with registers (or those in ``devices``).

    The interval ledger of those whole days is read with ``ledger`` (default: the stored one),
    :data:`CHUNK_DAYS` days at a time (so no read of one register exceeds 10,000 rows, the size
    of influxd's internal chunks, and memory stays bounded). ``progress(done, total)`` is called
    after each device. Idempotent. ``registers`` in the result counts registers per chunk.
    """
    edges = local_days(start_ns, end_ns, park.park.timezone)
    first, last = int(edges[0]), int(edges[-1])
    cuts = [int(e) for e in edges[::CHUNK_DAYS]]
    if cuts[-1] != last:
        cuts.append(last)
    chosen = [
        d
        for d in park.devices
        if any(spec.cumulative for spec in d.fields.values())
        and (devices is None or d.id in devices)
    ]
    pending: list[Point] = []
    registers = days = 0
    for done, device in enumerate(chosen, 1):
        for lo, hi in itertools.pairwise(cuts):
            for result in ledger(
                store, park.id, device, start_ns=lo, end_ns=hi, interval_s=interval_s
            ):
                points = day_points(park.id, device.id, result, park.park.timezone)
                pending.extend(points)
                registers += 1
                days += len(points)
        if len(pending) >= _WRITE_CHUNK:
            store.write(pending)
            pending = []
        if progress is not None:
            progress(done, len(chosen))
    store.write(pending)
    if chosen:
        store.write(_marks(park.id, edges[:-1]))  # after the roll-ups: see day_marks
    return RollupResult(len(chosen), registers, days, first, last)


def _marks(park_id: str, day_ns: NDArray[np.int64]) -> list[Point]:
    tags = {"park": park_id, "device": MARK_DEVICE}
    return [
        Point(LEDGER_DAY, tags, {MARK_FIELD: float(secrets.randbits(48))}, t)
        for t in day_ns.tolist()
    ]


def day_marks(store: Store, park_id: str, *, start_ns: int, end_ns: int) -> str:
    """A fingerprint of the day marks of ``park_id`` over ``[start_ns, end_ns)`` [ns]: it
    changes whenever :func:`write_day_rollups` writes a roll-up of a day in the range (the
    follower's every pass over it, a rebuild, a declared replacement). Marks are written after
    their roll-ups, so something made from the roll-ups after reading a fingerprint is at least
    as new as the fingerprint says; read it before, keep it with what was made."""
    got = store.columns(
        park_id,
        measurement=LEDGER_DAY,
        fields=[MARK_FIELD],
        devices=[MARK_DEVICE],
        start_ns=start_ns,
        end_ns=end_ns,
    ).get(MARK_DEVICE)
    h = hashlib.blake2b(digest_size=12)
    if got is not None:
        h.update(np.asarray(got.time_ns, dtype="<i8").tobytes())
        h.update(np.asarray(got.values[MARK_FIELD], dtype="<f8").tobytes())
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class DayRollup:
    """One register of one device per local day (NaN where the day is not stored), aligned to
    the ``day_ns`` it was read for."""

    field: str
    day_ns: NDArray[np.int64]
    energy: NDArray[np.float64]  # Σ known intervals; NaN = nothing known / not stored
    known: NDArray[np.float64]
    measured: NDArray[np.float64]
    intervals: NDArray[np.float64]
    max: NDArray[np.float64]
    quality: NDArray[np.int8]  # slot quality; MISSING where not stored
    known_total: NDArray[np.float64]  # derived for roll-ups written without it (module docstring)
    # per day: ``known_total`` is exact (stored, or derived on a day no worse than INTERPOLATED)
    known_total_exact: NDArray[np.bool_] | None = None
    digest: NDArray[np.float64] | None = None  # the day's ``_digest`` when it was read


def _rollup_of(
    field: str, day_ns: NDArray[np.int64], columns: Columns, suffixes: Sequence[str]
) -> DayRollup:
    """``columns``: the device's roll-up points, with the fields ``field + s`` of ``suffixes``."""
    n = day_ns.size
    cols = np.full((n, len(SUFFIXES)), np.nan)
    digest = np.full(n, np.nan) if DIGEST_SUFFIX in suffixes else None
    if columns.time_ns.size:
        times = np.array(columns.time_ns, dtype=np.int64)
        idx = np.searchsorted(day_ns, times)
        ok = (idx < n) & (day_ns[np.minimum(idx, n - 1)] == times)
        for suffix in suffixes:
            got = np.array(columns.values[field + suffix], dtype=np.float64)
            if suffix == DIGEST_SUFFIX:
                digest[idx[ok]] = got[ok]  # type: ignore[index]  # not None: in suffixes
            else:
                cols[idx[ok], SUFFIXES.index(suffix)] = got[ok]
    implied = np.where(np.isnan(cols[:, 0]), float(Quality.MISSING), float(Quality.MEASURED))
    quality = np.where(np.isnan(cols[:, 5]), implied, cols[:, 5]).astype(np.int8)
    known_total = np.where(
        np.isnan(cols[:, 6]) & ~np.isnan(cols[:, 3]),
        _conservative_known_total(cols[:, 1], cols[:, 2], quality),
        cols[:, 6],
    )
    return DayRollup(
        field,
        day_ns,
        cols[:, 0],
        cols[:, 1],
        cols[:, 2],
        cols[:, 3],
        cols[:, 4],
        quality,
        known_total,
        ~np.isnan(cols[:, 6]) | (quality <= Quality.INTERPOLATED),
        digest,
    )


def _conservative_known_total(
    known: NDArray[np.float64], measured: NDArray[np.float64], worst: NDArray[np.integer]
) -> NDArray[np.float64]:
    """``_known_total`` of roll-ups written without it: ``known`` where the slot quality
    ``worst`` is ``INTERPOLATED`` or better (every interval of the day then has a known total),
    else ``measured`` (a lower bound). NaN where the needed count was not read."""
    return np.where(np.asarray(worst) <= Quality.INTERPOLATED, known, measured)


def read_day_rollups(
    store: Store,
    park_id: str,
    field: str,
    *,
    day_ns: NDArray[np.int64],
    suffixes: Sequence[str] = SUFFIXES,
    devices: Sequence[str] | None = None,
) -> dict[str, DayRollup]:
    """The roll-up of register ``field`` of every device of the park that has one (of
    ``devices`` only, when given), over the local days opened by ``day_ns`` (ascending local
    midnights [ns]), by device id.

    Only the fields of ``suffixes`` are read (the others are NaN); ``_quality`` is always read.
    One :meth:`Store.columns` of those fields (on InfluxDB a query grouped by device).
    """
    if day_ns.size == 0:
        return {}
    wanted = list(dict.fromkeys([*suffixes, "_quality"]))
    found = store.columns(
        park_id,
        measurement=LEDGER_DAY,
        fields=[field + s for s in wanted],
        start_ns=int(day_ns[0]),
        end_ns=int(day_ns[-1]) + 1,
        devices=devices,
    )
    return {device: _rollup_of(field, day_ns, columns, wanted) for device, columns in found.items()}


class DayLedger:
    """A :data:`services.energy.LedgerFn` over the daily roll-up: each "interval" is a local day.

    Call ``energy_balance(store, park, scope, start_ns=..., end_ns=..., interval_s=DAY_S,
    ledger=DayLedger())`` with local-midnight edges. The first call for a range reads each
    register of the whole park once (:func:`read_day_rollups`) and keeps it; later calls for other
    devices of that range are served from memory, so a park costs one query per register, not one
    per device. A day's energy is the sum of its known intervals, its quality the day's slot
    quality (``ESTIMATED`` or worse when only part of it is known). Only zones without daylight
    saving time have days of a fixed ``DAY_S``; others raise ``ValueError``.
    """

    def __init__(self, tz: str | None = None) -> None:
        self.tz = tz
        self._cache: dict[tuple[int, str, int, int, str], dict[str, DayRollup]] = {}
        self._checked: set[tuple[int, int]] = set()
        self.queries = 0

    def day_rollups(
        self, store: Store, park_id: str, field: str, start_ns: int, end_ns: int
    ) -> dict[str, DayRollup]:
        """Every device's roll-up of ``field`` over the days ``[start_ns, end_ns)`` (cached)."""
        key = (id(store), park_id, start_ns, end_ns, field)
        found = self._cache.get(key)
        if found is None:
            day_ns = np.arange(start_ns, end_ns, DAY_S * _NS, dtype=np.int64)
            found = read_day_rollups(store, park_id, field, day_ns=day_ns, suffixes=("",))
            self.queries += 1
            self._cache[key] = found
        return found

    def __call__(
        self,
        store: Store,
        park_id: str,
        device: Device,
        *,
        start_ns: int,
        end_ns: int,
        interval_s: int = DAY_S,
    ) -> list[FieldLedger]:
        if interval_s != DAY_S:
            raise ValueError(f"the day roll-up has slots of {DAY_S} s, not {interval_s} s")
        if self.tz is not None and (start_ns, end_ns) not in self._checked:
            edges = local_days(start_ns, end_ns, self.tz)
            if int(edges[0]) != start_ns or np.any(np.diff(edges) != DAY_S * _NS):
                raise ValueError(f"{start_ns} is not a local midnight or {self.tz} has DST days")
            self._checked.add((start_ns, end_ns))
        out = []
        for name, spec in device.fields.items():
            if not spec.cumulative:
                continue
            field = stored_field_name(name, spec.quantity)
            rollup = self.day_rollups(store, park_id, field, start_ns, end_ns).get(device.id)
            if rollup is None:
                continue
            out.append(
                FieldLedger(
                    field,
                    CANONICAL_UNIT[spec.quantity],
                    IntervalLedger(rollup.day_ns, rollup.energy, rollup.quality, DAY_S, ()),
                )
            )
        return out


@dataclass(frozen=True, slots=True)
class DeviceTotal:
    """One register of one device summed over a range of stored days."""

    device: str
    field: str
    energy: float  # Σ known intervals; NaN when none
    known: int
    measured: int
    intervals: int  # intervals of the days stored
    max: float  # largest interval energy; NaN when none
    days: int  # days stored
    worst: int  # worst slot quality of those days (Quality code)
    known_total: int = 0  # intervals whose total is known (derived for old roll-ups: see above)


def device_totals(
    store: Store, park_id: str, fields: Iterable[str], *, start_ns: int, end_ns: int
) -> list[DeviceTotal]:
    """Per device and register, the roll-up summed over the stored days in ``[start_ns,
    end_ns)``: aggregated by the store (:meth:`Store.aggregate`), one row per device and
    register, one query per register."""
    out: list[DeviceTotal] = []
    for field in fields:
        f = {s: field + s for s in SUFFIXES}
        spec: dict[str, tuple[Reduction, str]] = {
            "energy": ("sum", f[""]),
            "known": ("sum", f["_known"]),
            "measured": ("sum", f["_measured"]),
            "intervals": ("sum", f["_intervals"]),
            "max": ("max", f["_max"]),
            "days": ("count", f["_intervals"]),
            "worst": ("max", f["_quality"]),
            "known_total": ("sum", f["_known_total"]),
            "known_total_days": ("count", f["_known_total"]),
        }
        found = store.aggregate(
            park_id, measurement=LEDGER_DAY, fields=spec, start_ns=start_ns, end_ns=end_ns
        )
        for device, v in found.items():
            if "days" not in v:
                continue  # no whole day of this register stored
            out.append(
                DeviceTotal(
                    device,
                    field,
                    v.get("energy", math.nan),
                    int(v.get("known", 0)),
                    int(v.get("measured", 0)),
                    int(v["intervals"]),
                    v.get("max", math.nan),
                    int(v["days"]),
                    int(v.get("worst", 0)),  # no _quality stored: every day MEASURED
                    _known_total(v),
                )
            )
    return sorted(out, key=lambda t: (t.field, t.device))


def _known_total(v: dict[str, float]) -> int:
    """Σ ``_known_total`` over the days aggregated; when some days were written without it,
    conservatively (as :func:`_conservative_known_total` per day): ``known`` when no day is worse
    than ``INTERPOLATED``, else the larger of ``measured`` and the days that carry it (both lower
    bounds)."""
    if int(v.get("known_total_days", 0)) == int(v.get("days", 0)):
        return int(v.get("known_total", 0))
    if int(v.get("worst", 0)) <= Quality.INTERPOLATED:
        return int(v.get("known", 0))
    return int(max(v.get("measured", 0), v.get("known_total", 0)))


class TotalLedger:
    """A :data:`services.energy.LedgerFn` with a single slot: the whole range, from
    :func:`device_totals` (summed on the server, one query per register for the whole park).

    ``energy_balance(store, park, scope, start_ns=s, end_ns=e, interval_s=(e - s) // 10**9,
    ledger=TotalLedger())`` gives each figure's total over ``[s, e)`` (whole local days of the
    roll-up). The slot's quality is ``MEASURED`` only when every interval of the range was;
    :meth:`known_pct` gives a register's exact share of intervals whose total is known (an
    hourly meter with every reading is 100 %), :meth:`measured_pct` of measured intervals (the
    same meter: 0 %), :meth:`completeness_pct` is :meth:`known_pct`.
    ``ledger_interval_s`` is the interval ledger's own interval (for the expected count).
    """

    def __init__(self, ledger_interval_s: int = DEFAULT_INTERVAL_S) -> None:
        self.ledger_interval_s = ledger_interval_s
        self._cache: dict[tuple[int, str, int, int, str], dict[str, DeviceTotal]] = {}
        self.queries = 0

    def totals(
        self, store: Store, park_id: str, field: str, start_ns: int, end_ns: int
    ) -> dict[str, DeviceTotal]:
        """Every device's total of ``field`` over ``[start_ns, end_ns)`` (cached)."""
        key = (id(store), park_id, start_ns, end_ns, field)
        found = self._cache.get(key)
        if found is None:
            found = {
                t.device: t
                for t in device_totals(store, park_id, [field], start_ns=start_ns, end_ns=end_ns)
            }
            self.queries += 1
            self._cache[key] = found
        return found

    def _share(
        self,
        count: Callable[[DeviceTotal], int],
        store: Store,
        *,
        key: tuple[str, str, str],
        start_ns: int,
        end_ns: int,
    ) -> float:
        """``count`` of the register ``key`` = (park, device, field) over the range's expected
        intervals [%]."""
        park_id, device_id, field = key
        total = self.totals(store, park_id, field, start_ns, end_ns).get(device_id)
        expected = (end_ns - start_ns) // (self.ledger_interval_s * _NS)
        return 100.0 * count(total) / expected if total is not None and expected else 0.0

    def known_pct(
        self, store: Store, park_id: str, device_id: str, field: str, *, start_ns: int, end_ns: int
    ) -> float:
        """Share of the range's intervals of one register whose total is known [%]."""
        key = (park_id, device_id, field)
        return self._share(
            lambda t: t.known_total, store, key=key, start_ns=start_ns, end_ns=end_ns
        )

    def measured_pct(
        self, store: Store, park_id: str, device_id: str, field: str, *, start_ns: int, end_ns: int
    ) -> float:
        """Share of the range's intervals of one register that were measured [%]."""
        key = (park_id, device_id, field)
        return self._share(lambda t: t.measured, store, key=key, start_ns=start_ns, end_ns=end_ns)

    def completeness_pct(
        self, store: Store, park_id: str, device_id: str, field: str, *, start_ns: int, end_ns: int
    ) -> float:
        """Completeness of one register's total over the range [%]: :meth:`known_pct`."""
        return self.known_pct(store, park_id, device_id, field, start_ns=start_ns, end_ns=end_ns)

    def __call__(
        self,
        store: Store,
        park_id: str,
        device: Device,
        *,
        start_ns: int,
        end_ns: int,
        interval_s: int,
    ) -> list[FieldLedger]:
        if start_ns + interval_s * _NS != end_ns:
            raise ValueError("TotalLedger has one slot: pass interval_s = (end_ns - start_ns) [s]")
        expected = (end_ns - start_ns) // (self.ledger_interval_s * _NS)
        out = []
        for name, spec in device.fields.items():
            if not spec.cumulative:
                continue
            field = stored_field_name(name, spec.quantity)
            t = self.totals(store, park_id, field, start_ns, end_ns).get(device.id)
            if t is None:
                continue
            if t.known == 0:
                quality = Quality.MISSING
            elif t.known < expected:
                quality = Quality(max(t.worst, Quality.ESTIMATED))
            else:
                quality = Quality(t.worst)
            out.append(
                FieldLedger(
                    field,
                    CANONICAL_UNIT[spec.quantity],
                    IntervalLedger(
                        np.array([start_ns], dtype=np.int64),
                        np.array([t.energy if t.known else math.nan]),
                        np.array([int(quality)], dtype=np.int8),
                        interval_s,
                        (),
                    ),
                )
            )
        return out


DirtyDays = Callable[[Store, int, int, NDArray[np.int64]], NDArray[np.bool_]]
"""``(store, start_ns, end_ns, day_edges) -> bool per day``: days a group must read at 15 minutes
for a reason outside its own meters (e.g. a partner meter with a gap on that day)."""


class RollupReads:
    """What several :class:`RollupLedger` may share: the 15-minute reads of a device over a range
    and the day roll-ups of a register over a range of days, keyed by store, device or park,
    and range. A report asks for the park's year, each month and each tenant's year: each asks
    for the grid connection's year (or month) at 15 minutes, read once here instead of once per
    tenant. A read of the stored 15-minute ledger over a range inside one read before (a
    month's inside the year's) is cut from it (:func:`slice_stored`) instead of asked again: a
    40-meter park's year report in ``bench/city.py``'s data went from 29 to 2.4 s. Only for one
    request's lifetime: nothing here notices new data."""

    def __init__(self, keep: IntervalKeep | None = None) -> None:
        self.keep = keep  # 15-minute reads kept across requests, per day (IntervalKeep)
        self.fine: dict[tuple[int, str, int, int], list[FieldLedger]] = {}
        self.rollups: dict[tuple[int, str, int, int, str, tuple[str, ...]], dict[str, DayRollup]]
        self.rollups = {}
        # the stored 15-minute ledger of a device over a range, by (store, device): a later
        # read of a range inside one of them is cut from it (:func:`slice_stored`)
        self.stored: dict[tuple[int, str], list[tuple[int, int, list[FieldLedger]]]] = {}
        self.cut = 0  # reads answered by cutting an earlier read
        # a figure's sum over several meters (:meth:`RollupLedger.sum_series`) over a range, by
        # (store, meters, register): a range of whole local days inside one is cut from it
        self.sums: dict[tuple[int, tuple[str, ...], str], list[tuple[int, int, FieldLedger]]] = {}


def _digests_by_day(
    store: Store, park_id: str, devices: Sequence[Device], edges: NDArray[np.int64]
) -> dict[str, NDArray[np.float64]]:
    """Per device, its registers' day digests (:data:`DIGEST_SUFFIX`, one row per register in
    :func:`_cumulative_fields` order) on the local days of ``edges`` [ns], read in one query:
    NaN where a day has no roll-up, and 0 for a register with none in the range (a register
    the meter never reported: the same until one is written)."""
    out = _day_digests(store, park_id, devices, edges)
    for tokens in out.values():
        tokens[np.isnan(tokens).all(axis=1)] = 0.0
    return out


def _day_digests(
    store: Store, park_id: str, devices: Sequence[Device], edges: NDArray[np.int64]
) -> dict[str, NDArray[np.float64]]:
    """:func:`_digests_by_day` as stored: NaN wherever a register's day has no roll-up."""
    fields = sorted({f + DIGEST_SUFFIX for d in devices for f, _ in _cumulative_fields(d)})
    got = store.columns(
        park_id,
        measurement=LEDGER_DAY,
        fields=fields,
        devices=[d.id for d in devices],
        start_ns=int(edges[0]),
        end_ns=int(edges[-1]),
    )
    starts = edges[:-1]
    out = {}
    for dev in devices:
        regs = _cumulative_fields(dev)
        tokens = np.full((len(regs), starts.size), np.nan)
        cols = got.get(dev.id)
        if cols is not None and cols.time_ns.size:
            t = np.asarray(cols.time_ns, dtype=np.int64)
            idx = np.searchsorted(starts, t)
            ok = (idx < starts.size) & (starts[np.minimum(idx, starts.size - 1)] == t)
            for row, (field, _) in enumerate(regs):
                values = np.asarray(cols.values[field + DIGEST_SUFFIX], dtype=np.float64)
                tokens[row, idx[ok]] = values[ok]
        out[dev.id] = tokens
    return out


def _same_days(held: NDArray[np.float64], now: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Per day (the last axis), whether every token ``held`` is the token ``now`` (NaN never
    is)."""
    if held.shape != now.shape:
        return np.zeros(now.shape[-1], dtype=bool)
    same = np.asarray(held == now, dtype=bool)
    return same if same.ndim == 1 else np.asarray(same.all(axis=0), dtype=bool)


KEEP_BYTES = 64 * 1024 * 1024
"""Bytes of 15-minute intervals an :class:`IntervalKeep` holds [B] (a 2,000-meter park's year
at 15 minutes as its indicators read it — the grid meter and three figures — is ~3 MB)."""


@dataclass(frozen=True, slots=True)
class _KeptRead:
    store: Store
    tokens: NDArray[np.float64]  # per local day: what vouched for it when read; NaN = nothing
    held: object
    nbytes: int


class IntervalKeep:
    """15-minute reads of the roll-up path kept across requests in one process, each local day
    with the tokens that vouched for it when it was read: for a meter, its registers' day
    digests (:func:`day_digests`: the hash of the day's 15-minute intervals, written with every
    roll-up of the day, which follows every write of its 15-minute ledger; read before the
    intervals), for a figure, its kept day's digest (:meth:`RollupLedger.sum_series`: the same
    digest, the same kept intervals). A later read of the same range reads again only the days
    whose tokens changed or are missing (a day with no roll-up), so a year asked again after
    today's pass reads today, not the year: the indicators of a 2,000-meter park computed again
    went from ~1.0 to ~0.6 s in process (docs/benchmarks.md). Least recently used first out
    beyond ``max_bytes``; thread-safe. One per ``serve``
    (:class:`services.report_cache.ReportCache`), handed to each request's
    :class:`RollupReads`; ``days_kept`` and ``days_read`` count the days (per meter or figure)
    answered from it and read."""

    def __init__(self, max_bytes: int = KEEP_BYTES) -> None:
        self.max_bytes = max_bytes
        self._held: OrderedDict[tuple[object, ...], _KeptRead] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.days_kept = self.days_read = 0

    def get(
        self, store: Store, key: tuple[object, ...]
    ) -> tuple[NDArray[np.float64], object] | None:
        """The tokens and what was kept under ``key`` for ``store``, or None."""
        with self._lock:
            found = self._held.get((id(store), *key))
            if found is None or found.store is not store:
                return None
            self._held.move_to_end((id(store), *key))
            return found.tokens, found.held

    def put(
        self,
        store: Store,
        key: tuple[object, ...],
        tokens: NDArray[np.float64],
        held: object,
        nbytes: int,
    ) -> None:
        """Keep ``held`` (``nbytes`` [B]) under ``key`` with its days' ``tokens``."""
        full = (id(store), *key)
        with self._lock:
            old = self._held.pop(full, None)
            if old is not None:
                self._bytes -= old.nbytes
            if not np.isfinite(tokens).any() or nbytes > self.max_bytes:
                return
            self._held[full] = _KeptRead(store, tokens.copy(), held, nbytes)
            self._bytes += nbytes
            while self._bytes > self.max_bytes:
                _, dropped = self._held.popitem(last=False)
                self._bytes -= dropped.nbytes

    def count(self, kept: int, read: int) -> None:
        """Count days answered from the keep and read from the store."""
        with self._lock:
            self.days_kept += kept
            self.days_read += read


def slice_stored(
    ledgers: Sequence[FieldLedger], start_ns: int, end_ns: int
) -> list[FieldLedger] | None:
    """What :func:`services.ledger.stored_ledger` answers for ``[start_ns, end_ns)`` [ns], cut
    from its answer ``ledgers`` for a range that holds this one; None when the cut cannot tell:
    a register with no known interval in the range (``stored_ledger`` leaves out a register
    with nothing stored in the range, and a stored ``MISSING`` interval looks the same as
    none)."""
    out = []
    for fl in ledgers:
        led = fl.ledger
        step = led.interval_s * _NS
        first, last = start_ns - start_ns % step, -(-end_ns // step) * step
        if led.start_ns.size == 0:
            return None
        a, b = (first - int(led.start_ns[0])) // step, (last - int(led.start_ns[0])) // step
        if a < 0 or b > led.start_ns.size:
            return None
        quality = led.quality[a:b]
        if not np.any(quality != Quality.MISSING):
            return None
        out.append(
            FieldLedger(
                fl.field,
                fl.unit,
                IntervalLedger(
                    led.start_ns[a:b].copy(),
                    led.energy[a:b].copy(),
                    quality.copy(),
                    led.interval_s,
                    (),
                ),
            )
        )
    return out


class RollupLedger:
    """A :data:`services.energy.LedgerFn` on the 15-minute grid that reads whole clean days from
    the day roll-up and everything else from the 15-minute ledger (``base``, default the stored
    one, else the one computed from the raw registers when none is stored:
    :func:`services.ledger.stored_or_computed`): the hybrid behind
    :func:`services.indicators.scope_indicators`.

    ``fine`` devices are read from ``base`` over the whole range: the meters a figure needs at
    15 minutes (peak demand, load factor, the TOU split, net purchase per interval). Every other
    device belongs to a ``groups`` key (the meters one figure sums: e.g. every gas meter of the
    scope); a device in no group is read from ``base`` too.

    A figure sums its meters per interval and an interval is known only when every meter is
    (:func:`services.energy.combine`), so a day of a group is taken from the roll-up only when
    it is **clean** for every meter of the group: the roll-up is stored for the whole local day
    and the meter's day is either wholly known with exact totals (``_known`` = ``_known_total``
    = ``_intervals``) or wholly missing (``_known`` = 0); and the group's ``partners`` callable
    (when given) does not flag it. Then the day's energy sits in its first interval (the others
    hold 0), with quality ``MEASURED`` when every interval was measured, else ``INTERPOLATED``:
    every sum, difference, known share and period total of the day is exact, the 15-minute shape
    is not (never use such a figure for a peak, a TOU split or an hour). Every other day of the
    group — a partial day at an edge of the range, a day with a gap, a day whose roll-up is not
    stored (missing or not yet written: detected per meter and day from the roll-up's own
    ``_intervals``) — is read for every meter of the group from ``base``. A meter of a group
    with no roll-up at all in the range is read from ``base`` first: nothing there either means
    the meter has no such register in the range (as ``base`` answers), else its days are judged
    from those 15-minute intervals. The measured share (:meth:`Figure.measured_pct`) of a
    group's figure is exact only on days read at 15 minutes.

    ``reads`` counts the device-ranges read from ``base``; ``rollup_reads`` the roll-up queries.
    ``shared`` lets the ledgers of one request (a report's periods and scopes) share those reads.
    """

    def __init__(
        self,
        park: ParkRegistry,
        *,
        fine: Iterable[str],
        groups: Mapping[str, str],
        partners: Mapping[str, DirtyDays] | None = None,
        base: Callable[..., list[FieldLedger]] = stored_or_computed,
        interval_s: int = DEFAULT_INTERVAL_S,
        shared: RollupReads | None = None,
        totals_only: Iterable[str] = (),
    ) -> None:
        self.park = park
        self.fine = frozenset(fine)
        self.groups = dict(groups)
        self.totals_only = frozenset(totals_only)
        self.summed = 0  # figures given by sum_series
        self.cached_days = 0  # figure days taken from the figure's cache
        self.kept_days = 0  # figure days written to it
        self.partners = dict(partners or {})
        self.base = base
        self.interval_s = interval_s
        self.reads = 0
        self.rollup_reads = 0
        self.filled_days = 0  # register-days never stored, computed from the raw registers
        # reads shared with other ledgers of the same request (``shared``, only with the
        # default ``base``: another base answers other numbers), else this ledger's own
        reads = shared if shared is not None and base is stored_or_computed else RollupReads()
        self._fine = reads.fine
        self._rollups = reads.rollups
        self._reads = reads
        self._group: dict[tuple[int, str, int, int], dict[str, list[FieldLedger]]] = {}

    def fine_ledger(
        self, store: Store, park_id: str, device: Device, *, start_ns: int, end_ns: int
    ) -> list[FieldLedger]:
        """``base`` of a device over the range (cached)."""
        key = (id(store), device.id, start_ns, end_ns)
        found = self._fine.get(key)
        if found is None:
            found = self._read(store, park_id, device, start_ns, end_ns)
            self._fine[key] = found
        return found

    def _read(
        self, store: Store, park_id: str, device: Device, start_ns: int, end_ns: int
    ) -> list[FieldLedger]:
        return self._read_many(store, park_id, [device], start_ns, end_ns)[device.id]

    def _read_many(
        self, store: Store, park_id: str, devices: Sequence[Device], start_ns: int, end_ns: int
    ) -> dict[str, list[FieldLedger]]:
        """``base`` of each of ``devices`` over the range, by device id. With the default base,
        a range inside one read before is cut from it (a report's months inside its year), the
        others are read together (:func:`services.ledger.stored_ledgers`, one query), and a
        device with nothing stored there is computed from its raw registers, as
        :func:`services.ledger.stored_or_computed` does."""
        out: dict[str, list[FieldLedger]] = {}
        span = {"start_ns": start_ns, "end_ns": end_ns, "interval_s": self.interval_s}
        if self.base is not stored_or_computed:
            for dev in devices:
                self.reads += 1
                out[dev.id] = self.base(store, park_id, dev, **span)
            return out
        todo = []
        for dev in devices:
            cut = None
            for lo, hi, ledgers in self._reads.stored.get((id(store), dev.id), ()):
                if lo <= start_ns and end_ns <= hi:
                    cut = slice_stored(ledgers, start_ns, end_ns)
                    if cut is not None:
                        break
            if cut is not None:
                self._reads.cut += 1
                out[dev.id] = cut
            else:
                todo.append(dev)
        if not todo:
            return out
        self.reads += len(todo)
        found = self._stored(store, park_id, todo, start_ns, end_ns)
        stored_some = [dev for dev in todo if found[dev.id]]
        self._fill_unstored(store, park_id, stored_some, found, start_ns=start_ns, end_ns=end_ns)
        for dev in todo:
            got = found[dev.id]
            if got:
                self._reads.stored.setdefault((id(store), dev.id), []).append(
                    (start_ns, end_ns, got)
                )
            else:
                got = device_ledger(store, park_id, dev, **span)
            out[dev.id] = got
        return out

    def _fill_unstored(
        self,
        store: Store,
        park_id: str,
        devices: Sequence[Device],
        found: dict[str, list[FieldLedger]],
        *,
        start_ns: int,
        end_ns: int,
    ) -> None:
        """Compute from the raw registers, in place in ``found``, each whole local day of the
        range in which a stored register of ``devices`` has nothing stored: every interval
        MISSING and no roll-up of the day (every writer of the ledger writes the roll-up of the
        days it touched, so such a day was never written: no follower then, no rebuild since).
        That day asked alone has nothing stored in its range and is computed from the raw
        registers, so every range gives it the same energy. Days with no reading within
        :data:`services.ledger.LOOKBACK_S` [s] are left missing (one count query per run of
        such days, runs :data:`MERGE_DAYS` or fewer apart joined). Partial days at the range's
        edges (today) and registers with nothing stored in the whole range stay as stored."""
        step = self.interval_s * _NS
        if not devices or start_ns % step or end_ns % step or end_ns <= start_ns:
            return
        edges = local_days(start_ns, end_ns, self.park.park.timezone)
        if np.any((edges - start_ns) % step):  # a zone whose midnights are off the grid
            return
        whole = (edges[:-1] >= start_ns) & (edges[1:] <= end_ns)
        if not whole.any():
            return
        at = np.clip((edges - start_ns) // step, 0, (end_ns - start_ns) // step)
        shortest = int(np.diff(at)[whole].min())  # fewer missing intervals: no day all missing
        blank: dict[str, dict[str, NDArray[np.bool_]]] = {}
        for dev in devices:
            for fl in found[dev.id]:
                known = fl.ledger.quality != Quality.MISSING
                if known.size - np.count_nonzero(known) < shortest:
                    continue
                seen = np.concatenate(([0], np.cumsum(known)))
                days = whole & (seen[at[1:]] == seen[at[:-1]])
                if days.any():
                    blank.setdefault(dev.id, {})[fl.field] = days
        if not blank:
            return
        chosen = [dev for dev in devices if dev.id in blank]
        digests = _day_digests(store, park_id, chosen, edges)
        union = np.zeros(whole.size, dtype=bool)
        for dev in chosen:
            rows = {f: i for i, (f, _) in enumerate(_cumulative_fields(dev))}
            regs = blank[dev.id]
            for field in regs:
                regs[field] = regs[field] & np.isnan(digests[dev.id][rows[field]])
                union |= regs[field]
        names = sorted({f for regs in blank.values() for f in regs})
        reduce: dict[str, tuple[Reduction, str]] = {
            f"n{i}": ("count", f) for i, f in enumerate(names)
        }
        back = LOOKBACK_S * _NS
        for a, b in _runs(union):
            lo, hi = int(edges[a]), int(edges[b])
            counts = store.aggregate(
                park_id,
                measurement=TELEMETRY,
                fields=reduce,
                start_ns=lo - back,
                end_ns=hi + back,
            )
            for dev in chosen:
                has = counts.get(dev.id, {})
                want = {
                    f: days[a:b]
                    for f, days in blank[dev.id].items()
                    if days[a:b].any() and f"n{names.index(f)}" in has
                }
                if want:
                    raw = device_ledger(
                        store, park_id, dev, start_ns=lo, end_ns=hi, interval_s=self.interval_s
                    )
                    found[dev.id] = self._splice_days(found[dev.id], raw, want, at[a : b + 1])

    def _splice_days(
        self,
        stored: list[FieldLedger],
        raw: list[FieldLedger],
        want: Mapping[str, NDArray[np.bool_]],
        at: NDArray[np.int64],
    ) -> list[FieldLedger]:
        """``stored`` with the ``want`` days of each register (``at``: the days' first interval
        indices in ``stored``, one more than the days; the raw ledger starts at ``at[0]``)
        taken from ``raw``."""
        by_field = {fl.field: fl.ledger for fl in raw}
        out = []
        for fl in stored:
            days, led = want.get(fl.field), by_field.get(fl.field)
            if days is None or led is None:
                out.append(fl)
                continue
            s = fl.ledger
            energy, quality = s.energy.copy(), s.quality.copy()
            for d in np.flatnonzero(days).tolist():
                i0, i1 = int(at[d]), int(at[d + 1])
                r0, r1 = i0 - int(at[0]), i1 - int(at[0])
                energy[i0:i1], quality[i0:i1] = led.energy[r0:r1], led.quality[r0:r1]
                self.filled_days += 1
            merged = IntervalLedger(
                s.start_ns, energy, quality, s.interval_s, s.issues + led.issues
            )
            out.append(FieldLedger(fl.field, fl.unit, merged))
        return out

    def _stored(
        self, store: Store, park_id: str, devices: Sequence[Device], start_ns: int, end_ns: int
    ) -> dict[str, list[FieldLedger]]:
        """:func:`services.ledger.stored_ledgers` of ``devices`` over the range; with the
        request's :class:`IntervalKeep`, only the days whose day mark changed since a read of
        the same range are read, the others taken from the keep."""
        span = {"start_ns": start_ns, "end_ns": end_ns, "interval_s": self.interval_s}
        keep, step = self._reads.keep, self.interval_s * _NS
        if keep is None or start_ns % step or end_ns % step or end_ns <= start_ns:
            return stored_ledgers(store, park_id, devices, **span)
        edges = local_days(start_ns, end_ns, self.park.park.timezone)
        if np.any((edges - start_ns) % step):  # a zone whose midnights are off the grid
            return stored_ledgers(store, park_id, devices, **span)
        digests = _digests_by_day(store, park_id, devices, edges)  # before the data
        grid = np.arange(start_ns, end_ns, step, dtype=np.int64)
        out: dict[str, list[FieldLedger]] = {}
        alike: dict[bytes, list[tuple[Device, list[FieldLedger] | None]]] = {}
        for dev in devices:
            got = keep.get(store, ("device", park_id, dev.id, start_ns, end_ns, self.interval_s))
            need = np.ones(edges.size - 1, dtype=bool)
            held: list[FieldLedger] | None = None
            if got is not None:
                need = ~_same_days(got[0], digests[dev.id])
                held = cast(list[FieldLedger], got[1])
            alike.setdefault(need.tobytes(), []).append((dev, held))
        for raw, members in alike.items():
            need = np.frombuffer(raw, dtype=bool)
            devs = [d for d, _ in members]
            fresh: list[tuple[int, int, dict[str, list[FieldLedger]]]] = []
            if need.all():
                whole = stored_ledgers(store, park_id, devs, **span)
                fresh.append((0, grid.size, whole))
            else:
                for a, b in _runs(need):
                    lo, hi = max(int(edges[a]), start_ns), min(int(edges[b]), end_ns)
                    got_run = stored_ledgers(store, park_id, devs, start_ns=lo, end_ns=hi,
                                             interval_s=self.interval_s)  # fmt: skip
                    fresh.append(((lo - start_ns) // step, (hi - start_ns) // step, got_run))
            read_days = int(np.count_nonzero(need))
            keep.count((need.size - read_days) * len(devs), read_days * len(devs))
            for dev, held in members:
                runs = [(i0, i1, got_run[dev.id]) for i0, i1, got_run in fresh]
                joined = _splice(dev, held or [], runs, grid, self.interval_s)
                if joined is None:  # a register stored as nothing but MISSING: read it whole
                    joined = stored_ledgers(store, park_id, [dev], **span)[dev.id]
                out[dev.id] = joined
                if joined:
                    nbytes = sum(17 * fl.ledger.energy.size for fl in joined)
                    key = ("device", park_id, dev.id, start_ns, end_ns, self.interval_s)
                    keep.put(store, key, digests[dev.id], _copies(joined), nbytes)
        return out

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
        if interval_s != self.interval_s:
            raise ValueError(f"this ledger has intervals of {self.interval_s} s, not {interval_s}")
        step = interval_s * _NS
        if start_ns % step or end_ns % step:
            raise ValueError("the range must start and end on interval edges")
        key = self.groups.get(device.id)
        if device.id in self.fine or key is None:
            return self.fine_ledger(store, park_id, device, start_ns=start_ns, end_ns=end_ns)
        gkey = (id(store), key, start_ns, end_ns)
        found = self._group.get(gkey)
        if found is None:
            found = self._read_group(store, park_id, key, start_ns, end_ns)
            self._group[gkey] = found
        return found.get(device.id, [])

    def sum_series(
        self,
        store: Store,
        park_id: str,
        devices: Sequence[Device],
        field: str,
        *,
        start_ns: int,
        end_ns: int,
        interval_s: int = DEFAULT_INTERVAL_S,
    ) -> FieldLedger | None:
        """Σ of register ``field`` over ``devices`` (one figure's meters) on the 15-minute grid
        of ``[start_ns, end_ns)`` [ns], with the numbers :func:`services.energy.combine` of
        their ledgers as :meth:`__call__` gives them would give the indicators
        (:class:`services.energy.SummingLedger`); None when the meters are not all of one group,
        a meter has no roll-up of ``field`` in the range, or the range is not on the grid (then
        :func:`~services.energy.energy_balance` reads each meter).

        * **Several meters: the figure's cache.** A figure keeps its days in the roll-up under
          its own device tag (:func:`figure_id`), each with the hash of its meters' day digests
          (:data:`DIGEST_SUFFIX`, written with every roll-up day): a kept day whose hash is
          that of the meters' digests now is taken as it is — one point per day instead of 96
          intervals per meter. Every other day is made from the meters (as :meth:`__call__`
          does, per figure rather than per group: a day is clean when every meter's roll-up is
          whole and either wholly known with exact totals or wholly missing and the group's
          partner does not flag it; a clean day is the sum of the meters' days in its first
          interval, the others are read at 15 minutes, all meters in one read per run of days)
          and then kept: its day point, and the 15-minute ledger of the days read at 15
          minutes (``_fine`` = 1) — only a day every meter's part of which (the roll-up read,
          or the digest of the intervals read) is that meter's day now, so a read the request
          made before the follower rewrote a day is never kept under the new digest. A group
          that needs the interval shape (PV and storage) takes a kept day as a sum only when it
          is clean and its partner does not flag it, else its kept 15 minutes, else the
          meters. A day made from the meters is given in the form it is read in once kept
          (:class:`_DayForm`), kept or not: a figure reads the same to the last bit before
          and after it is kept. A late reading, a rebuild or a declared
          replacement changes a meter's digest and so the day is made again; a store that
          refuses the write leaves the cache as it was.
        * **One meter of a group in ``totals_only``** (gas, heat, production: figures only
          summed over periods, never combined per interval): every day whose roll-up is whole
          with an exact ``_known_total`` is laid out from the roll-up alone — the day's energy
          in its first interval, then as many ``MEASURED``, known-total, other known and
          ``MISSING`` intervals as the roll-up counts (the day's worst code among them) — so
          every total, known share, measured share and period roll-up of whole days is that of
          the 15-minute ledger; the interval shape is not. A figure of several such meters is
          laid out the same way from its kept day. Other days are read from ``base``.
        * One meter of another group: as :meth:`__call__` gives it.
        """
        step = interval_s * _NS
        if interval_s != self.interval_s or not devices or start_ns % step or end_ns % step:
            return None
        keys = {self.groups.get(d.id) for d in devices}
        key = next(iter(keys))
        if len(keys) != 1 or key is None or any(d.id in self.fine for d in devices):
            return None
        units = {dev.id: dict(_cumulative_fields(dev)).get(field) for dev in devices}
        unit = units[devices[0].id]
        if unit is None or any(u is None for u in units.values()):
            return None
        ids = tuple(d.id for d in devices)
        known = self._cut_sum(store, ids, field, start_ns, end_ns)
        if known is not None:
            return known
        g = _GroupRead(self, store, park_id, start_ns, end_ns)
        if not g.whole.any():
            return None
        if len(devices) > 1:
            found = self._figure(g, key, devices, field, unit)
            if found is None:
                return None
            led = found
        else:
            cols = [g.rollup_columns(devices[0].id, field, unit)]
            if np.all(np.isnan(cols[0]["n"])):
                return None
            if key in self.totals_only:
                led = self._day_exact(g, devices[0], field, cols[0])
            else:
                e, q, _, _ = self._per_interval(g, key, devices, field, cols)
                led = IntervalLedger(g.grid, e, q, self.interval_s, ())
        self.summed += 1
        got = FieldLedger(field, unit, led)
        self._reads.sums.setdefault((id(store), ids, field), []).append((start_ns, end_ns, got))
        return got

    def _cut_sum(
        self, store: Store, ids: tuple[str, ...], field: str, start_ns: int, end_ns: int
    ) -> FieldLedger | None:
        """A sum given before over a range holding ``[start_ns, end_ns)``, cut to it; only for
        whole local days (a day's lump sits in its first interval), else None."""
        held = self._reads.sums.get((id(store), ids, field), ())
        if not held:
            return None
        edges = local_days(start_ns, end_ns, self.park.park.timezone)
        if int(edges[0]) != start_ns or int(edges[-1]) != end_ns:
            return None
        for lo, hi, got in held:
            if lo <= start_ns and end_ns <= hi:
                led = got.ledger
                step = led.interval_s * _NS
                a, b = (start_ns - lo) // step, (end_ns - lo) // step
                self._reads.cut += 1
                return FieldLedger(
                    got.field,
                    got.unit,
                    IntervalLedger(
                        led.start_ns[a:b].copy(),
                        led.energy[a:b].copy(),
                        led.quality[a:b].copy(),
                        led.interval_s,
                        (),
                    ),
                )
        return None

    def _day_exact(
        self, g: _GroupRead, dev: Device, field: str, c: dict[str, NDArray[np.float64]]
    ) -> IntervalLedger:
        """One meter of a totals-only group: whole days with exact counts laid out from the
        roll-up, the others read at 15 minutes (see :meth:`sum_series`)."""
        laid = g.whole & (c["n"] == g.expected) & (c["x"] == 1.0)
        if not laid.all():
            g.read_many([dev], ~laid)
        size = g.grid.size
        real = g.real.get((dev.id, field))
        e = np.full(size, np.nan) if real is None else real[0].copy()
        q = np.full(size, Quality.MISSING, dtype=np.int8) if real is None else real[1].copy()
        laid &= ~g.read_days.get(dev.id, np.zeros(g.n_days, dtype=bool))
        _lay_out(g, laid, c, e, q)
        return IntervalLedger(g.grid, e, q, self.interval_s, ())

    def _figure(
        self, g: _GroupRead, key: str, devices: Sequence[Device], field: str, unit: str
    ) -> IntervalLedger | None:
        """Several meters: the days of the figure's cache whose digest is that of the meters'
        days now (:func:`figure_id`), the others from the meters (:meth:`_per_interval`), then
        kept in the cache (see :meth:`sum_series`). None: a meter has no roll-up in the
        range."""
        ids = [d.id for d in devices]
        fid = figure_id(field, ids)
        whole_ns = g.edges[:-1][g.whole]
        span = {"start_ns": int(whole_ns[0]), "end_ns": int(whole_ns[-1]) + 1}
        want, now = _figure_digests(
            g, field, ids, g.store.columns(
                g.park_id, measurement=LEDGER_DAY, fields=[field + DIGEST_SUFFIX], devices=ids,
                **span,
            ),
        )  # fmt: skip
        names = [field + x for x in (*SUFFIXES, DIGEST_SUFFIX, FINE_SUFFIX)]
        held = g.store.columns(
            g.park_id, measurement=LEDGER_DAY, fields=names, devices=[fid], **span
        ).get(fid)
        fc = g.figure_columns(field, held)
        totals = key in self.totals_only
        valid = g.whole & (fc["n"] == g.expected) & (fc["digest"] == want)
        partner = self.partners.get(key)
        flagged = np.zeros(g.n_days, dtype=bool)
        if not totals and partner is not None:
            flagged = partner(g.store, g.start_ns, int(g.hi[-1]), g.edges)
        form = _DayForm(g, totals=totals, flagged=flagged)
        valid &= ~form.shaped(fc) | (fc["fine"] == 1.0)
        size = g.grid.size
        e = np.full(size, np.nan)
        q = np.full(size, Quality.MISSING, dtype=np.int8)
        form.place(valid, fc, e, q)
        if not totals:
            self._fine_days(
                g, _virtual(devices[0], fid, field), valid & form.shaped(fc), fc, e=e, q=q
            )
        self.cached_days += int(np.count_nonzero(valid))
        stale = ~valid
        if not stale.any():
            return IntervalLedger(g.grid, e, q, self.interval_s, ())
        cols = [g.rollup_columns(dev.id, field, unit) for dev in devices]
        if any(np.all(np.isnan(c["n"])) for c in cols):
            return None
        began = time.perf_counter()
        pe, pq, fine, used = self._per_interval(g, key, devices, field, cols, only=stale)
        slow = time.perf_counter() - began >= KEEP_AFTER_S
        at = stale[g.day_of]
        e[at], q[at] = pe[at], pq[at]
        # the days made, in the form a kept day is read in whether or not they are kept: a
        # figure must read the same to the last bit before and after it is kept (a period
        # summed interval by interval and day by day differs in the last bits), e.g. a clean
        # day read at 15 minutes because it lies between two that are not (MERGE_DAYS)
        arrays = _day_arrays(IntervalLedger(g.grid, pe, pq, self.interval_s, ()), g.edges)
        if arrays is not None:
            made = dict(zip(("e", "k", "m", "n", "max", "w", "kt"), arrays, strict=True))
            form.place(stale & np.isfinite(made["n"]), made, e, q)
        # keep a day only when every meter's day it was made of is the meter's day now: a
        # roll-up or a 15-minute read of this request made before the digests were read (and
        # since rewritten by the follower) would otherwise be kept under the newer digest
        keep = stale & g.whole & np.isfinite(want) & (used == now).all(axis=0)
        if slow and keep.any():
            self._keep(
                g, fid, field, unit, (pe, pq), days=keep, digest=want, fine=fine & (not totals)
            )
        return IntervalLedger(g.grid, e, q, self.interval_s, ())

    def _fine_days(
        self,
        g: _GroupRead,
        virtual: Device,
        fine_days: NDArray[np.bool_],
        fc: Mapping[str, NDArray[np.float64]],
        *,
        e: NDArray[np.float64],
        q: NDArray[np.int8],
    ) -> None:
        """Place on ``e``, ``q`` the figure's kept 15 minutes of ``fine_days`` (``virtual``: the
        figure as a device): the days the request's :class:`IntervalKeep` holds under the
        figure's digest of the day now (the same digest, the same kept intervals) from it, the
        others read, one read per run of them, runs :data:`MERGE_DAYS` or fewer apart joined
        (a query costs more than a few days of rows: a figure whose days alternate would
        otherwise take a query per day); only the days kept at 15 minutes are placed."""
        keep, fid = self._reads.keep, virtual.id
        key = ("figure", g.park_id, fid, g.start_ns, g.grid.size, self.interval_s)
        todo = fine_days
        got = None if keep is None or not fine_days.any() else keep.get(g.store, key)
        if got is not None:
            he, hq = cast(tuple[NDArray[np.float64], NDArray[np.int8]], got[1])
            same = fine_days & _same_days(got[0], fc["digest"])
            at = same[g.day_of]
            e[at], q[at] = he[at], hq[at]
            todo = fine_days & ~same
        for a, b in _runs(todo):
            lo, hi = int(g.lo[a]), int(g.hi[b - 1])
            read = stored_ledgers(
                g.store, g.park_id, [virtual], start_ns=lo, end_ns=hi, interval_s=self.interval_s
            )[fid]
            i0, i1 = (lo - g.start_ns) // g.step, (hi - g.start_ns) // g.step
            re, rq = _on(g, lo, i1 - i0, read[0] if read else None)
            at = fine_days[g.day_of[i0:i1]]
            e[i0:i1][at], q[i0:i1][at] = re[at], rq[at]
        if keep is not None and fine_days.any():
            n_read = int(np.count_nonzero(todo))
            keep.count(int(np.count_nonzero(fine_days)) - n_read, n_read)
            on = fine_days[g.day_of]
            kept = (np.where(on, e, np.nan), np.where(on, q, Quality.MISSING).astype(np.int8))
            tokens = np.where(fine_days, fc["digest"], np.nan)
            keep.put(g.store, key, tokens, kept, 9 * g.grid.size)

    def _keep(
        self,
        g: _GroupRead,
        fid: str,
        field: str,
        unit: str,
        series: tuple[NDArray[np.float64], NDArray[np.int8]],
        *,
        days: NDArray[np.bool_],
        digest: NDArray[np.float64],
        fine: NDArray[np.bool_],
    ) -> None:
        """Write the figure's ``days`` to its cache: its 15-minute ledger on the ``fine`` days
        (read at 15 minutes), then its day points with the meters' digest. A store that
        refuses the write leaves the cache as it was (the answer stands)."""
        led = IntervalLedger(g.grid, series[0], series[1], self.interval_s, ())
        arrays = _day_arrays(led, g.edges)
        if arrays is None:
            return
        tags = {"park": g.park_id, "device": fid}
        names = [field + x for x in SUFFIXES]
        points = []
        if fine.any():
            points = ledger_points(
                g.park_id, fid, FieldLedger(field, unit, led), only=(fine & days)[g.day_of]
            )
        columns = [a.tolist() for a in arrays]
        for d in np.flatnonzero(days).tolist():
            fields = {
                n: col[d] for n, col in zip(names, columns, strict=True) if not math.isnan(col[d])
            }
            if names[3] not in fields:
                continue
            fields[field + DIGEST_SUFFIX] = float(digest[d])
            fields[field + FINE_SUFFIX] = 1.0 if fine[d] else 0.0
            points.append(Point(LEDGER_DAY, tags, fields, int(g.edges[d])))
        try:
            g.store.write(points)  # the 15-minute points first: a day point promises them
        except StoreError as exc:
            _log.warning("figure %s of park %s not kept: %s", fid, g.park_id, exc)
            return
        self.kept_days += int(np.count_nonzero(days))
        keep = self._reads.keep
        if keep is None or not (fine & days).any():
            return
        # the request's IntervalKeep takes the 15 minutes just kept, as a read of them would
        # give them back (energy NaN where MISSING), under the digest they were kept with: the
        # next report of the period does not read back what this one wrote
        key = ("figure", g.park_id, fid, g.start_ns, g.grid.size, self.interval_s)
        held = keep.get(g.store, key)
        tokens = np.full(g.n_days, np.nan) if held is None else held[0].copy()
        if held is None:
            ke, kq = np.full(g.grid.size, np.nan), np.full(g.grid.size, Quality.MISSING, np.int8)
        else:
            he, hq = cast(tuple[NDArray[np.float64], NDArray[np.int8]], held[1])
            ke, kq = he.copy(), hq.copy()
        on = (fine & days)[g.day_of]
        ke[on] = np.where(series[1][on] == Quality.MISSING, np.nan, series[0][on])
        kq[on] = series[1][on]
        tokens[fine & days] = digest[fine & days]
        keep.put(g.store, key, tokens, (ke, kq), 9 * g.grid.size)

    def _per_interval(
        self,
        g: _GroupRead,
        key: str,
        devices: Sequence[Device],
        field: str,
        cols: Sequence[dict[str, NDArray[np.float64]]],
        *,
        only: NDArray[np.bool_] | None = None,
    ) -> tuple[NDArray[np.float64], NDArray[np.int8], NDArray[np.bool_], NDArray[np.float64]]:
        """The meters' sum per interval (energy, quality) on the days of ``only`` (default all;
        the others are left missing): clean days from the roll-up, the others read at 15
        minutes, all meters in one read per run of days; the days read at 15 minutes; and per
        meter and day the digest of what the sum was made of (the roll-up's, or that of the
        intervals read: :func:`day_digests`)."""
        clean = np.ones(g.n_days, dtype=bool)
        all_known = np.ones(g.n_days, dtype=bool)
        all_measured = np.ones(g.n_days, dtype=bool)
        total = np.zeros(g.n_days)
        for c in cols:
            n, k, kt = c["n"], c["k"], c["kt"]
            clean &= (n == g.expected) & ((k == 0) | ((k == n) & (kt == n)))
            all_known &= k == n
            all_measured &= c["m"] == n
            total += np.nan_to_num(c["e"])
        dirty = ~g.whole | ~clean
        partner = self.partners.get(key)
        if partner is not None:
            dirty |= partner(g.store, g.start_ns, int(g.hi[-1]), g.edges)
        if only is not None:
            dirty &= only
        size = g.grid.size
        e = np.full(size, np.nan)
        q = np.full(size, Quality.MISSING, dtype=np.int8)
        lump = ~dirty & all_known & (True if only is None else only)
        fill = lump[g.day_of]
        e[fill] = 0.0
        e[g.first[lump]] = total[lump]
        q[fill] = np.where(all_measured[g.day_of[fill]], Quality.MEASURED, Quality.INTERPOLATED)
        fine = np.zeros(g.n_days, dtype=bool)
        used = np.array([c["d"] for c in cols]).reshape(len(cols), g.n_days)
        for a, b in _runs(dirty):
            lo, hi = int(g.lo[a]), int(g.hi[b - 1])
            i0, i1 = (lo - g.start_ns) // g.step, (hi - g.start_ns) // g.step
            fine[a:b] = True
            got = self._read_many(g.store, g.park_id, devices, lo, hi)
            run_e, run_q = np.zeros(i1 - i0), np.zeros(i1 - i0, dtype=np.int8)
            bounds = g.first[a:b] - i0
            bounds = np.append(bounds, i1 - i0)
            for row, dev in enumerate(devices):
                mine = next((r for r in got[dev.id] if r.field == field), None)
                de, dq = _on(g, lo, i1 - i0, mine)
                used[row, a:b] = day_digests(de, dq, bounds)
                run_e = run_e + de
                run_q = np.maximum(run_q, dq)
            e[i0:i1] = run_e
            q[i0:i1] = np.where(np.isfinite(run_e), run_q, Quality.MISSING)
        return e, q, fine, used

    def _day_rollups(
        self, store: Store, park_id: str, field: str, day_ns: NDArray[np.int64]
    ) -> dict[str, DayRollup]:
        if day_ns.size == 0:
            return {}
        ids = tuple(sorted(d.id for d in self.park.devices if field in dict(_cumulative_fields(d))))
        key = (id(store), park_id, int(day_ns[0]), int(day_ns[-1]), field, ids)
        found = self._rollups.get(key)
        if found is None:
            found = read_day_rollups(
                store,
                park_id,
                field,
                day_ns=day_ns,
                suffixes=("", "_known", "_known_total", "_measured", "_intervals", DIGEST_SUFFIX),
                devices=ids,  # the meters of this ledger's registry, not every meter of the park
            )
            self.rollup_reads += 1
            self._rollups[key] = found
        return found

    def _read_group(
        self, store: Store, park_id: str, key: str, start_ns: int, end_ns: int
    ) -> dict[str, list[FieldLedger]]:
        """Every member of group ``key`` over the range: clean days from the roll-up, the rest
        from ``base`` (see the class docstring)."""
        members = [d for d in self.park.devices if self.groups.get(d.id) == key]
        g = _GroupRead(self, store, park_id, start_ns, end_ns)
        days = {
            (dev.id, field): g.rollup_columns(dev.id, field, unit)
            for dev in members
            for field, unit in _cumulative_fields(dev)
        }
        by_id = {d.id: d for d in members}
        # a register with no roll-up in the range: its days are judged from the 15-minute ledger
        for (dev_id, _field), cols in days.items():
            if g.whole.any() and np.all(np.isnan(cols["n"])):
                g.read(by_id[dev_id], np.ones(g.n_days, dtype=bool))
        dirty = ~g.whole
        for (dev_id, field), cols in days.items():
            if (dev_id, field) in g.real:
                dirty |= ~g.clean_from_intervals(*g.real[(dev_id, field)])
            elif not g.read_days.get(dev_id, np.zeros(1, dtype=bool)).all():
                n, k, kt = cols["n"], cols["k"], cols["kt"]
                dirty |= ~((n == g.expected) & ((k == 0) | ((k == n) & (kt == n))))
            # else: read whole, nothing there: no such register in the range
        partner = self.partners.get(key)
        if partner is not None:
            dirty |= partner(store, start_ns, end_ns, g.edges)
        g.read_many(members, dirty)
        out: dict[str, list[FieldLedger]] = {}
        for (dev_id, field), cols in days.items():
            led = g.assemble(dev_id, field, cols)
            if led is not None:
                out.setdefault(dev_id, []).append(FieldLedger(field, g.units[field], led))
        return out


def _copies(ledgers: Sequence[FieldLedger]) -> list[FieldLedger]:
    """``ledgers`` with arrays of their own (what a keep holds is never handed out)."""
    return [
        FieldLedger(
            fl.field,
            fl.unit,
            IntervalLedger(
                fl.ledger.start_ns.copy(),
                fl.ledger.energy.copy(),
                fl.ledger.quality.copy(),
                fl.ledger.interval_s,
                (),
            ),
        )
        for fl in ledgers
    ]


def _splice(
    dev: Device,
    held: Sequence[FieldLedger],
    runs: Sequence[tuple[int, int, list[FieldLedger]]],
    grid: NDArray[np.int64],
    interval_s: int,
) -> list[FieldLedger] | None:
    """What :func:`services.ledger.stored_ledgers` answers for ``dev`` over ``grid``: the
    ``held`` answer of an earlier read with the intervals ``[i0, i1)`` of each of ``runs`` read
    again; None when that cannot be told (a register left with no known interval: a stored
    ``MISSING`` interval and none look the same)."""
    if len(runs) == 1 and runs[0][0] == 0 and runs[0][1] == grid.size:
        return _copies(runs[0][2])
    kept = {fl.field: fl for fl in held}
    out = []
    for name, spec in dev.fields.items():
        if not spec.cumulative:
            continue
        field = stored_field_name(name, spec.quantity)
        old = kept.get(field)
        parts = [(i0, i1, next((f for f in got if f.field == field), None)) for i0, i1, got in runs]
        if old is None and all(p is None for _, _, p in parts):
            continue  # nothing stored then, nothing now
        e = np.full(grid.size, np.nan) if old is None else old.ledger.energy.copy()
        q = (
            np.full(grid.size, Quality.MISSING, dtype=np.int8)
            if old is None
            else old.ledger.quality.copy()
        )
        for i0, i1, part in parts:
            if part is None:
                e[i0:i1], q[i0:i1] = np.nan, Quality.MISSING
            else:
                e[i0:i1], q[i0:i1] = part.ledger.energy, part.ledger.quality
        if not np.any(q != Quality.MISSING):
            return None
        unit = old.unit if old is not None else next(p.unit for _, _, p in parts if p is not None)
        out.append(FieldLedger(field, unit, IntervalLedger(grid.copy(), e, q, interval_s, ())))
    return out


def _on(
    g: _GroupRead, lo: int, size: int, got: FieldLedger | None
) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
    """A register's ledger placed on ``size`` intervals from ``lo`` [ns] (NaN and ``MISSING``
    where it has none); energy NaN wherever the quality is ``MISSING``."""
    e = np.full(size, np.nan)
    q = np.full(size, Quality.MISSING, dtype=np.int8)
    if got is not None:
        off = got.ledger.start_ns - lo
        idx = off // g.step
        ok = (idx >= 0) & (idx < size) & (off % g.step == 0)
        e[idx[ok]], q[idx[ok]] = got.ledger.energy[ok], got.ledger.quality[ok]
    e[q == Quality.MISSING] = np.nan
    return e, q


def _figure_digests(
    g: _GroupRead, field: str, ids: Sequence[str], found: Mapping[str, Columns]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per day of ``g``, the hash of the meters' day digests (``found``: their
    ``<field>_digest`` columns) in the order of ``ids`` (NaN where one has none), and those
    digests (a row per meter)."""
    digests = np.full((len(ids), g.n_days), np.nan)
    starts = g.edges[:-1]
    for row, dev_id in enumerate(ids):
        col = found.get(dev_id)
        if col is None or not col.time_ns.size:
            continue
        t = np.asarray(col.time_ns, dtype=np.int64)
        idx = np.searchsorted(starts, t)
        ok = (idx < g.n_days) & (starts[np.minimum(idx, g.n_days - 1)] == t)
        digests[row, idx[ok]] = np.asarray(col.values[field + DIGEST_SUFFIX])[ok]
    out = np.full(g.n_days, np.nan)
    for d in np.flatnonzero(np.isfinite(digests).all(axis=0)).tolist():
        h = hashlib.blake2b(field.encode(), digest_size=6)
        h.update(digests[:, d].astype("<f8").tobytes())
        out[d] = float(int.from_bytes(h.digest(), "big"))
    return out, digests


def _virtual(member: Device, fid: str, field: str) -> Device:
    """A device to read a figure's kept 15-minute ledger with: ``member`` renamed ``fid``,
    with only the register ``field``."""
    fields = {
        name: spec
        for name, spec in member.fields.items()
        if spec.cumulative and stored_field_name(name, spec.quantity) == field
    }
    return member.model_copy(update={"id": fid, "fields": fields})


class _DayForm:
    """The form a figure's day takes when it is not needed at 15 minutes, the same whether it
    is read from the figure's cache or made from its meters."""

    def __init__(self, g: _GroupRead, *, totals: bool, flagged: NDArray[np.bool_]) -> None:
        self.g, self.totals, self.flagged = g, totals, flagged

    def shaped(self, c: Mapping[str, NDArray[np.float64]]) -> NDArray[np.bool_]:
        """The days the figure of day columns ``c`` is needed at 15 minutes: not wholly known
        with exact totals nor wholly missing, or flagged by the group's partner (never for a
        totals-only figure)."""
        if self.totals:
            return np.zeros(self.g.n_days, dtype=bool)
        clean = (c["k"] == 0) | ((c["k"] == c["n"]) & (c["kt"] == c["n"]))
        out: NDArray[np.bool_] = ~clean | self.flagged
        return out

    def place(
        self,
        days: NDArray[np.bool_],
        c: Mapping[str, NDArray[np.float64]],
        e: NDArray[np.float64],
        q: NDArray[np.int8],
    ) -> None:
        """``days`` of day columns ``c`` in ``e`` and ``q``: laid out (totals only,
        :func:`_lay_out`), or, on a wholly known day not needed at 15 minutes, the day's sum
        in its first interval (``MEASURED`` when every interval was, else
        ``INTERPOLATED``); other days are left as they are."""
        g = self.g
        if self.totals:
            _lay_out(g, days, c, e, q)
            return
        lump = days & ~self.shaped(c) & (c["k"] == c["n"])
        fill = lump[g.day_of]
        e[fill] = 0.0
        e[g.first[lump]] = c["e"][lump]
        measured = (c["m"] == c["n"])[g.day_of[fill]]
        q[fill] = np.where(measured, Quality.MEASURED, Quality.INTERPOLATED)


def _lay_out(
    g: _GroupRead,
    days: NDArray[np.bool_],
    c: Mapping[str, NDArray[np.float64]],
    e: NDArray[np.float64],
    q: NDArray[np.int8],
) -> None:
    """Lay out ``days`` from their roll-up ``c`` in ``e`` and ``q`` (on ``g``'s grid): the
    day's energy in its first interval, then as many ``MEASURED``, other known-total, other
    known and ``MISSING`` intervals as the roll-up counts, the day's worst code among them."""
    fill = days[g.day_of]
    day = g.day_of[fill]
    pos = np.flatnonzero(fill) - g.first[day]
    m, kt, k, w = c["m"][day], c["kt"][day], c["k"][day], c["w"][day]
    exact_other = np.isin(w, [int(x) for x in KNOWN_TOTAL if x != Quality.MEASURED])
    inexact = np.isin(w, [int(Quality.RESET_CORRECTED), int(Quality.ESTIMATED)])
    q[fill] = np.where(
        pos < m,
        Quality.MEASURED,
        np.where(
            pos < kt,
            np.where(exact_other, w, Quality.INTERPOLATED),
            np.where(pos < k, np.where(inexact, w, Quality.ESTIMATED), Quality.MISSING),
        ),
    ).astype(np.int8)
    e[fill] = np.where(pos < k, np.where(pos == 0, c["e"][day], 0.0), np.nan)


def _cumulative_fields(dev: Device) -> list[tuple[str, str]]:
    return [
        (stored_field_name(name, spec.quantity), CANONICAL_UNIT[spec.quantity])
        for name, spec in dev.fields.items()
        if spec.cumulative
    ]


class _GroupRead:
    """The local days of one range, the roll-up columns and 15-minute intervals read for one
    group of :class:`RollupLedger`."""

    def __init__(
        self, owner: RollupLedger, store: Store, park_id: str, start_ns: int, end_ns: int
    ) -> None:
        self.owner, self.store, self.park_id = owner, store, park_id
        self.start_ns = start_ns
        self.step = owner.interval_s * _NS
        self.grid = np.arange(start_ns, end_ns, self.step, dtype=np.int64)
        self.edges = local_days(start_ns, end_ns, owner.park.park.timezone)
        self.lo = np.maximum(self.edges[:-1], start_ns)
        self.hi = np.minimum(self.edges[1:], end_ns)
        self.whole = (self.edges[:-1] >= start_ns) & (self.edges[1:] <= end_ns)
        self.expected = ((self.hi - self.lo) // self.step).astype(np.float64)
        self.day_of = np.searchsorted(self.edges, self.grid, side="right") - 1
        self.first = np.searchsorted(self.grid, self.lo)
        self.n_days = self.edges.size - 1
        self.units: dict[str, str] = {}
        self.real: dict[tuple[str, str], tuple[NDArray[np.float64], NDArray[np.int8]]] = {}
        self.read_days: dict[str, NDArray[np.bool_]] = {}

    def rollup_columns(self, device: str, field: str, unit: str) -> dict[str, NDArray[np.float64]]:
        """The register's roll-up per day: e(nergy), k(nown), kt (known total), m(easured),
        n (intervals); NaN where not stored (and on the partial days at the edges)."""
        self.units[field] = unit
        whole_ns = self.edges[:-1][self.whole]
        r = self.owner._day_rollups(self.store, self.park_id, field, whole_ns).get(device)
        cols = {s: np.full(self.n_days, np.nan) for s in ("e", "k", "kt", "m", "n", "x", "w", "d")}
        if r is not None:
            where = np.flatnonzero(self.whole)
            cols["e"][where], cols["k"][where] = r.energy, r.known
            cols["kt"][where], cols["m"][where] = r.known_total, r.measured
            cols["n"][where], cols["w"][where] = r.intervals, r.quality
            if r.known_total_exact is not None:
                cols["x"][where] = r.known_total_exact
            if r.digest is not None:
                cols["d"][where] = r.digest
        return cols

    def figure_columns(self, field: str, held: Columns | None) -> dict[str, NDArray[np.float64]]:
        """A figure's kept days (``held``: its roll-up fields with digest and fine) per day:
        e, k, kt, m, n, w (slot quality), digest, fine; NaN where none is kept."""
        cols = {
            s: np.full(self.n_days, np.nan)
            for s in ("e", "k", "kt", "m", "n", "w", "digest", "fine")
        }
        if held is None or not held.time_ns.size:
            return cols
        t = np.asarray(held.time_ns, dtype=np.int64)
        starts = self.edges[:-1]
        idx = np.searchsorted(starts, t)
        ok = (idx < self.n_days) & (starts[np.minimum(idx, self.n_days - 1)] == t)
        for key, suffix in (
            ("e", ""), ("k", "_known"), ("kt", "_known_total"), ("m", "_measured"),
            ("n", "_intervals"), ("w", "_quality"), ("digest", DIGEST_SUFFIX),
            ("fine", FINE_SUFFIX),
        ):  # fmt: skip
            cols[key][idx[ok]] = np.asarray(held.values[field + suffix], dtype=np.float64)[ok]
        implied = np.where(np.isnan(cols["e"]), float(Quality.MISSING), float(Quality.MEASURED))
        cols["w"] = np.where(np.isnan(cols["w"]), implied, cols["w"])
        return cols

    def read(self, dev: Device, want: NDArray[np.bool_]) -> None:
        """``base`` of ``dev`` on the days of ``want`` not read yet (and the days between runs of
        them :data:`MERGE_DAYS` or fewer apart), placed on the grid."""
        self.read_many([dev], want)

    def read_many(self, devices: Sequence[Device], want: NDArray[np.bool_]) -> None:
        """:meth:`read` of each of ``devices``; the devices with the same days to read are read
        together, one query per run of days."""
        alike: dict[bytes, list[Device]] = {}
        for dev in devices:
            have = self.read_days.setdefault(dev.id, np.zeros(self.n_days, dtype=bool))
            alike.setdefault((want & ~have).tobytes(), []).append(dev)
        for devs in alike.values():
            todo = want & ~self.read_days[devs[0].id]
            for a, b in _runs(todo):
                got = self.owner._read_many(
                    self.store, self.park_id, devs, int(self.lo[a]), int(self.hi[b - 1])
                )
                for dev in devs:
                    self._place(dev.id, got[dev.id])
                    self.read_days[dev.id][a:b] = True

    def _place(self, dev_id: str, got: list[FieldLedger]) -> None:
        size = self.grid.size
        for res in got:
            e, q = self.real.setdefault(
                (dev_id, res.field),
                (np.full(size, np.nan), np.full(size, Quality.MISSING, np.int8)),
            )
            self.units.setdefault(res.field, res.unit)
            off = res.ledger.start_ns - self.start_ns
            idx = off // self.step
            ok = (idx >= 0) & (idx < size) & (off % self.step == 0)
            e[idx[ok]], q[idx[ok]] = res.ledger.energy[ok], res.ledger.quality[ok]

    def clean_from_intervals(
        self, energy: NDArray[np.float64], quality: NDArray[np.int8]
    ) -> NDArray[np.bool_]:
        """Per day: wholly known with exact totals, or wholly missing."""
        n = self.n_days
        known = np.bincount(self.day_of, weights=np.isfinite(energy), minlength=n)[:n]
        exact = np.bincount(self.day_of, weights=known_total_mask(quality), minlength=n)[:n]
        out: NDArray[np.bool_] = (known == 0) | (
            (known == self.expected) & (exact == self.expected)
        )
        return out

    def assemble(
        self, dev_id: str, field: str, cols: dict[str, NDArray[np.float64]]
    ) -> IntervalLedger | None:
        """The register on the grid: what was read at 15 minutes, and each other day with a
        known energy as that energy in its first interval (None: no such register)."""
        got = self.real.get((dev_id, field))
        if got is None and np.all(np.isnan(cols["n"])):
            return None  # neither a roll-up nor 15-minute intervals: no such register
        if got is not None:
            e, q = got[0].copy(), got[1].copy()
        else:
            e = np.full(self.grid.size, np.nan)
            q = np.full(self.grid.size, Quality.MISSING, dtype=np.int8)
        lumped = ~self.read_days[dev_id] & (np.nan_to_num(cols["k"]) > 0)
        fill = lumped[self.day_of]
        e[fill] = 0.0
        e[self.first[lumped]] = cols["e"][lumped]
        measured = (cols["m"] == cols["n"])[self.day_of[fill]]
        q[fill] = np.where(measured, Quality.MEASURED, Quality.INTERPOLATED)
        return IntervalLedger(self.grid, e, q, self.owner.interval_s, ())


def known_total_mask(quality: NDArray[np.int8]) -> NDArray[np.bool_]:
    """True where a quality code is one of :data:`analytics.intervals.KNOWN_TOTAL`."""
    return np.isin(quality, [int(q) for q in KNOWN_TOTAL])


MERGE_DAYS = 14
"""Runs of days to read at 15 minutes this close [days] are read as one range (the days between
come back at 15 minutes too, which is exact): a query costs about as much as two weeks of one
register's intervals on this machine (docs/benchmarks.md, "Analytics benchmarks")."""


def _runs(mask: NDArray[np.bool_], merge: int = MERGE_DAYS) -> list[tuple[int, int]]:
    """``[a, b)`` index runs where ``mask`` is true, runs at most ``merge`` apart joined."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    change = np.flatnonzero(np.diff(padded))
    out: list[tuple[int, int]] = []
    for a, b in zip(change[::2].tolist(), change[1::2].tolist(), strict=True):
        if out and a - out[-1][1] <= merge:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out
