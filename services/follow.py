"""Keep the stored ledger current as data arrives, recomputing exactly the intervals it touches.

How it knows what arrived: with every batch it stores, the collector writes one *touched mark*
per device (:mod:`store.touched`: measurement :data:`store.base.TOUCHED`, tags park + device +
collector, fields ``first_ms`` and ``last_ms``: the device times the batch covered), in the same
store write as the readings, stamped with the wall-clock time of the write. A mark is durable
exactly when its readings are, so a crash can lose neither one without the other.

What it recomputes: a reading at time t changes the intervals from the one holding the reading
before it to the one holding the reading after it (energy between two readings is spread over
the intervals between them). For each device with marks, the follower looks up those
neighbouring readings, recomputes the ledger with a little context either side (the second
neighbours and ``context_s`` more, so spikes and resets near the edges are judged as a full
rebuild judges them), and writes only the touched intervals. A live stream therefore rewrites the
newest interval or two; a late reading rewrites the gap it fills; a correction (the same
timestamp written again) rewrites the intervals around it.

Then the daily roll-up (:mod:`services.rollup`): once per device and pass, the local days of the
park that hold the intervals just rewritten are rolled up again from the stored ledger (usually
one day, today's; for a late reading into yesterday, yesterday's). Devices with the same days
share one :func:`~services.rollup.write_day_rollups` call, so a pass writes its roll-up points in
batches. A day in progress is written with what is known so far (its slot quality says so) and
replaced as the day fills.

Reads in bulk: a pass reads the readings of a park once, not device by device. When a pass's
marks cover many devices (a park-wide mark of a live stream, see :data:`store.touched.ALL_DEVICES`,
or at least :data:`PREFETCH_MIN_DEVICES` device marks close in time), one
:meth:`~store.base.Store.columns` query reads every register reading of the park around them,
and the recomputation's queries are answered from that answer wherever it holds them whole
(:class:`PrefetchedStore`; anything it cannot answer exactly goes to the store, so the result
is the same). The roll-up reads the stored ledger of its days the same way. A pass thus costs a
handful of queries per park, not a handful per device; pacing passes (``SMARTPARK_LEDGER_POLL_S``)
batches the work of many readings per device into one recomputation.

Kept between passes: each park's newest window of readings (its last hour or so, within
:data:`KEEP_BYTES` for all parks). Every reading written since was written with a mark, so the
window is still true before the first device time the next pass's marks name; that pass reads
only from there on (for a live park, the seconds since the last pass, not the hour of context
before them). A park followed elsewhere meanwhile (its lease lost, or its store down) drops its
window.

Cursor: marks are read by their stamp, from the cursor minus ``settle_s`` (a write's stamp
precedes its completion by up to the store's timeout) to now; marks already handled in that
overlap are remembered and skipped. The cursor per park is kept in a small JSON file, written
atomically; without one the follower starts from the beginning (idempotent, just slower).

Several followers (collectors sharing a subscription, or ``smartpark follow`` processes) split
the parks with a lease per park (:class:`services.lease.Lease` ``follow:<park>``, given
``holder`` and ``lease_ttl_s``; with several stores it lives in the park's own store): a pass
follows only the parks whose lease it holds, so no park is followed twice, and a park whose
follower died is taken by another within ``lease_ttl_s``.
With leases the cursor of each park is also kept in the store (:data:`FOLLOW_CURSOR`), so the
follower that takes a park over goes on where the last one stopped. Without leases, two followers
on one store do the same work twice, harmlessly.

Several stores: a park whose named store is down is skipped (one log line naming the store) and
retried with back-off while the other parks are followed; see :meth:`LedgerFollower.step`.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from analytics.intervals import DEFAULT_INTERVAL_S
from config.registry import Device, ParkRegistry, Registry
from config.units import stored_field_name
from services.lease import Lease
from services.ledger import (
    LEDGER,
    LOOKBACK_S,
    QUALITY_SUFFIX,
    device_ledger,
    ledger_points,
    series_arrays,
)
from services.periodic import ParkOutages, Periodic
from services.rollup import local_days, write_day_rollups
from store.base import (
    TELEMETRY,
    TOUCHED,
    Columns,
    LatestReading,
    Point,
    QuarantineRecord,
    Reduction,
    SeriesQuery,
    SeriesRow,
    Store,
)
from store.routed import NamedStoreUnavailableError, PartialWriteError
from store.touched import (  # re-exported: the marks this module reads
    ALL_DEVICES,
    SETTLE_S,
    touched_marks,
)

__all__ = [
    "FOLLOW_CURSOR",
    "KEEP_BYTES",
    "PREFETCH_MIN_DEVICES",
    "FollowStep",
    "FollowerMetrics",
    "LedgerFollower",
    "PrefetchedStore",
    "merge_ranges",
    "touched_marks",
]

log = logging.getLogger("smartpark.ledger")

_NS_PER_MS = 1_000_000
_CHUNK_S = 7 * 86_400  # one recomputation covers at most this much device time
_MARKS_BEHIND_NS = 600 * 10**9  # a cursor further behind now [ns] reads its marks in bounds
_MARKS_LIMIT = 50_000  # marks read per park and step when behind (24 bytes each as columns)
_MARKS_HALVINGS = 48  # at most so many count queries narrow a step's marks under the limit
_WRITE_CHUNK = 20_000  # ledger points per store write
_SLICE_S = 900  # readings read in bulk per query [s of device time]

FOLLOW_CURSOR = "follow_cursor"
"""Measurement of the followers' shared cursors: tags park, device ``*``; fields ``cursor_s``
and ``cursor_frac_ns`` (the cursor [ns] = s × 10⁹ + frac, exact in floats); stamped with the UTC
day of the write, so a day holds one point per park."""

KEEP_BYTES = 256 * 1024 * 1024
"""Bytes [B] of readings a follower keeps between passes, for all its parks: a park's newest
window (its last hour or so, 16 B a reading: ~4 MB for 1,000 meters with one cumulative
register read every 15 s), so the next pass reads only what is new (see
:meth:`LedgerFollower._prefetch_readings`)."""

PREFETCH_MIN_DEVICES = 8
"""Devices touched close together from which a pass reads the park's readings in one query
instead of device by device (a park-wide mark always does)."""


def merge_ranges(ranges: Iterable[tuple[int, int]], *, gap: int = 0) -> list[tuple[int, int]]:
    """Sorted, merged closed ranges ``[lo, hi]``; ranges less than ``gap`` apart are joined."""
    out: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + gap:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [(lo, hi) for lo, hi in out]


def _merged(lo: NDArray[np.int64], hi: NDArray[np.int64]) -> list[tuple[int, int]]:
    """:func:`merge_ranges` (``gap=0``) of the closed ranges ``[lo[i], hi[i]]``, on arrays: the
    marks of a pass after an outage (tens of thousands) become a few ranges, not a tuple each."""
    order = np.argsort(lo, kind="stable")
    lo, hi = lo[order], hi[order]
    reach = np.maximum.accumulate(hi)
    first = np.flatnonzero(np.concatenate(([True], lo[1:] > reach[:-1])))
    last = np.append(first[1:], lo.size) - 1
    return list(zip(lo[first].tolist(), reach[last].tolist(), strict=True))


@dataclass(frozen=True, slots=True)
class FollowStep:
    """What one pass did: marks read, devices recomputed, intervals written, the register-days of
    the daily roll-up written again, and the parks whose store is down."""

    marks: int
    devices: int
    intervals: int
    caught_up: bool
    rollup_days: int = 0
    unavailable: tuple[str, ...] = ()
    """The parks skipped because their store is down (retried later)."""


class LedgerFollower(Periodic):
    """Reads touched marks and rewrites the touched intervals of the stored ledger.

    ``interval_s`` [s] is the ledger's interval; ``settle_s`` [s] how far back each pass re-reads
    marks (at least the store's write timeout); ``context_s`` [s] readings beyond the neighbours
    that the recomputation sees; ``cursor_path`` where the cursor survives restarts (None: in
    memory only); ``store_retry_s`` [s] the first wait before a park whose store is down is
    tried again (doubling up to a minute); ``keep_bytes`` [B] the readings kept between passes
    (:data:`KEEP_BYTES`; 0 keeps none).
    """

    name = "ledger-follower"

    def __init__(
        self,
        store: Store,
        registry: Registry,
        *,
        interval_s: int = DEFAULT_INTERVAL_S,
        settle_s: float = SETTLE_S,
        context_s: int = 3_600,
        cursor_path: Path | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
        holder: str | None = None,
        lease_ttl_s: float = 60.0,
        store_retry_s: float = 5.0,
        keep_bytes: int = KEEP_BYTES,
    ) -> None:
        super().__init__(log)
        self.outages = ParkOutages(log, self.name, first_s=store_retry_s)
        self.store = store
        self.registry = registry
        self.interval_s = interval_s
        self.settle_ns = int(settle_s * 1e9)
        self.context_s = context_s
        self.cursor_path = cursor_path
        self._clock_ns = clock_ns
        self._cursor: dict[str, int] = self._load_cursor()
        # per park and device: the marks read within the settle window, rows (stamp [ns],
        # first [ms], last [ms]), so a re-read does not recompute them again
        self._seen: dict[str, dict[str, NDArray[np.int64]]] = defaultdict(dict)
        self._view = PrefetchedStore(store)
        self.holder = holder
        self.lease_ttl_s = lease_ttl_s
        self._leases: dict[str, Lease] = {}
        self.followed: set[str] = set()  # parks whose lease this follower held at its last pass
        self._ledgered_cache: dict[str, tuple[tuple[str, int], dict[str, Device]]] = {}
        self.keep_bytes = keep_bytes
        self._kept: dict[str, _Window] = {}  # per park: its readings as of its last pass
        self._kept_bytes: dict[str, int] = {}  # their bytes, the park kept longest ago first
        self.intervals_written = 0
        self.rollup_days_written = 0
        self.marks_read = 0
        self.passes = 0
        self.pass_s = 0.0  # the last pass's wall time [s]
        self.pass_cpu_s = 0.0  # the CPU time of this process during it [s]

    def cursor_age_s(self) -> dict[str, float]:
        """Per park followed at the last pass, how far its cursor is behind now [s]: the marks
        written since are not in the ledger yet (about one poll interval plus a pass when
        keeping up; it grows while the follower stalls or the park's store is down)."""
        now = self._clock_ns()
        cursors = dict(self._cursor)  # the pass thread may add parks meanwhile
        return {
            park: max(0.0, (now - at) / 1e9)
            for park, at in sorted(cursors.items())
            if park in self.registry.parks and (self.holder is None or park in self.followed)
        }

    @property
    def kept_bytes(self) -> int:
        """Bytes of readings kept between passes, all parks [B] (at most :attr:`keep_bytes`)."""
        return sum(dict(self._kept_bytes).values())

    @property
    def kept_reads(self) -> int:
        """Reads of readings that took part of a park's window kept from its last pass."""
        return self._view.kept_reads

    # -- one pass --------------------------------------------------------------------------------

    def step(self) -> FollowStep:
        """One pass over every park's new marks.

        A park whose named store is down (:class:`~store.NamedStoreUnavailableError`) is skipped
        until its retry time (:class:`~services.periodic.ParkOutages`) while the other parks are
        followed; its cursor stays where its last pass ended, so the marks written meanwhile
        (the collector writes a replayed batch's marks with the replay) are followed once it
        answers. An outage of the only store still ends the pass (one log line, a retry)."""
        wall, cpu = time.perf_counter(), time.process_time()
        marks = devices = intervals = days = 0
        caught_up = True
        done_parks: list[str] = []
        for park in self.registry.parks.values():
            if not self.outages.due(park.id):
                continue
            try:
                if not self._may_follow(park.id):
                    self.outages.answered(park.id)
                    continue
                m, d, i, r, done = self._step_park(park)
            except NamedStoreUnavailableError as exc:
                self._park_down(park.id, exc)
                continue
            self.outages.answered(park.id)
            done_parks.append(park.id)
            marks, devices, intervals, days = marks + m, devices + d, intervals + i, days + r
            caught_up = caught_up and done
        self._save_cursor()
        if self.holder is not None:
            self._store_cursors(done_parks)
        self.intervals_written += intervals
        self.rollup_days_written += days
        self.marks_read += marks
        self.passes += 1
        self.pass_s = time.perf_counter() - wall
        self.pass_cpu_s = time.process_time() - cpu
        return FollowStep(marks, devices, intervals, caught_up, days, self.outages.parks)

    def _park_down(self, park_id: str, exc: NamedStoreUnavailableError) -> None:
        """``park_id``'s store failed mid-pass: skip the park until its retry. What the pass
        wrote is idempotent and its cursor did not move, so the retry recomputes it whole; the
        park's lease is given up in our books (it runs out in the store by itself), so a retry
        reads the stored cursor, whoever followed the park meanwhile."""
        self.outages.failed(park_id, exc)
        self._view.clear()
        self._forget(park_id)
        self.followed.discard(park_id)

    def _may_follow(self, park_id: str) -> bool:
        """True when this follower follows ``park_id`` now: always without leases, else while it
        holds the park's lease (taking it when free; on taking it over, the stored cursor)."""
        if self.holder is None:
            return True
        lease = self._leases.get(park_id)
        if lease is None:
            lease = Lease(self.store, f"follow:{park_id}", self.holder, self.lease_ttl_s)
            self._leases[park_id] = lease
        if not lease.try_acquire():
            if park_id in self.followed:
                log.info("ledger: park %s is followed by %s now", park_id, lease.holder())
            self.followed.discard(park_id)
            self._forget(park_id)
            return False
        if park_id not in self.followed:
            self._forget(park_id)  # another follower's marks passed us by meanwhile
            stored = self._stored_cursor(park_id)
            if stored is not None:
                self._cursor[park_id] = stored
                self._seen.pop(park_id, None)
            log.info("ledger: following park %s (as %s)", park_id, self.holder)
            self.followed.add(park_id)
        return True

    def _stored_cursor(self, park_id: str) -> int | None:
        rows = self.store.latest(park_id, measurement=FOLLOW_CURSOR)
        row = next((r for r in rows if r.device == ALL_DEVICES), None)
        if row is None or "cursor_s" not in row.fields:
            return None
        return int(row.fields["cursor_s"]) * 1_000_000_000 + int(
            row.fields.get("cursor_frac_ns", 0.0)
        )

    def _store_cursors(self, parks: Sequence[str]) -> None:
        """Keep the cursors of ``parks`` (followed by this pass) in their stores, one write; a
        park whose store fails here is skipped like one that failed in its pass."""
        day_ns = 86_400 * 1_000_000_000
        today = self._clock_ns() // day_ns * day_ns
        points = [
            Point(
                FOLLOW_CURSOR,
                {"park": park_id, "device": ALL_DEVICES},
                {
                    "cursor_s": float(self._cursor[park_id] // 1_000_000_000),
                    "cursor_frac_ns": float(self._cursor[park_id] % 1_000_000_000),
                },
                today,
            )
            for park_id in sorted(parks)
            if park_id in self._cursor and park_id in self.followed
        ]
        if not points:
            return
        try:
            self.store.write(points)
        except PartialWriteError as exc:
            for park_id in sorted({p.tags["park"] for p in exc.unwritten}):
                self._park_down(park_id, exc)

    def stop(self, *, timeout_s: float = 10.0) -> None:
        """Finish the current pass, stop, and give up the leases (others take them at once)."""
        super().stop(timeout_s=timeout_s)
        for lease in self._leases.values():
            try:
                lease.release()
            except Exception:  # the store may be gone: the claims run out by themselves
                log.warning("ledger: could not release %r", lease)
        self.followed.clear()

    def catch_up(self, *, timeout_s: float = 60.0) -> FollowStep:
        """Pass until every mark up to now is handled (or ``timeout_s`` [s] passed); a park whose
        store is down does not hold this up (it is named in ``unavailable``)."""
        deadline = time.monotonic() + timeout_s
        total = FollowStep(0, 0, 0, False)
        while time.monotonic() < deadline:
            s = self.step()
            total = FollowStep(
                total.marks + s.marks,
                total.devices + s.devices,
                total.intervals + s.intervals,
                s.caught_up,
                total.rollup_days + s.rollup_days,
                s.unavailable,
            )
            if s.caught_up:
                break
        return total

    def _step_park(self, park: ParkRegistry) -> tuple[int, int, int, int, bool]:
        now = self._clock_ns()
        cursor = self._cursor.get(park.id, 0)
        marks_lo, marks_hi, caught_up = self._marks_window(park.id, cursor, now)
        fresh, ranges = self._fresh_marks(park.id, marks_lo, marks_hi)
        self._view.clear()
        devices_of = self._ledgered(park)
        read = self._prefetch_readings(park, ranges, devices_of, now)
        intervals = devices = 0
        written: dict[str, list[tuple[int, int]]] = {}
        pending: list[Point] = []
        step_ns = self.interval_s * 1_000_000_000
        for device_id, spans in ranges.items():
            device = devices_of.get(device_id)
            if device is None:
                continue
            devices += 1
            for lo, hi in merge_ranges(spans, gap=step_ns):
                for chunk_lo in range(lo, hi + 1, _CHUNK_S * 1_000_000_000):
                    chunk_hi = min(hi, chunk_lo + _CHUNK_S * 1_000_000_000 - 1)
                    points, w_lo, w_hi = self._recompute(park.id, device, chunk_lo, chunk_hi)
                    intervals += len(points)
                    pending.extend(points)
                    if points:
                        written.setdefault(device.id, []).append((w_lo, w_hi))
                    if len(pending) >= _WRITE_CHUNK:
                        self.store.write(pending)
                        pending = []
        if pending:
            self.store.write(pending)
        days = self._roll_up(park, written)
        self._view.clear()
        if read is not None:
            self._keep(park.id, read)
        new_cursor = max(cursor, now) if caught_up else marks_hi
        horizon = new_cursor - self.settle_ns
        seen = self._seen[park.id]
        for dev_id, rows in fresh.items():
            before = seen.get(dev_id)
            seen[dev_id] = rows if before is None else np.concatenate([before, rows])
        self._seen[park.id] = {
            dev_id: kept
            for dev_id, rows in seen.items()
            if (kept := rows[rows[:, 0] >= horizon]).size
        }
        self._cursor[park.id] = new_cursor
        return sum(len(rows) for rows in fresh.values()), devices, intervals, days, caught_up

    def _marks_window(self, park_id: str, cursor: int, now: int) -> tuple[int, int, bool]:
        """The stamps [ns] of the marks this pass reads, ``[lo, hi)``, and whether that reaches
        now: from the settle window before ``cursor`` to now. When the cursor is more than
        :data:`_MARKS_BEHIND_NS` behind (an outage, a first start), ``hi`` is narrowed (halving,
        a count query each) until at most :data:`_MARKS_LIMIT` marks lie between the first mark
        since the cursor and ``hi``, so a follower far behind catches up in passes of bounded
        memory; the window always ends past that first mark, so each pass moves on."""
        lo, hi = max(0, cursor - self.settle_ns), now + 1
        if hi - cursor <= _MARKS_BEHIND_NS:
            return lo, hi, True
        first = self.store.scan(
            park_id, measurement=TOUCHED, start_ns=max(0, cursor), end_ns=hi, limit=1
        )
        if not first:
            return lo, hi, True
        base = first[0].time_ns
        for _ in range(_MARKS_HALVINGS):
            counted = self.store.aggregate(
                park_id,
                measurement=TOUCHED,
                fields={"n": ("count", "first_ms")},
                start_ns=base,
                end_ns=hi,
            )
            if sum(c.get("n", 0.0) for c in counted.values()) <= _MARKS_LIMIT or hi - base < 2:
                break
            hi = base + (hi - base) // 2
        return lo, hi, hi > now

    def _fresh_marks(
        self, park_id: str, lo: int, hi: int
    ) -> tuple[dict[str, NDArray[np.int64]], dict[str, list[tuple[int, int]]]]:
        """The marks stamped in ``[lo, hi)`` [ns] not read before, per device as rows (stamp
        [ns], first [ms], last [ms]; -1 where a mark lacks one), read as columns (24 bytes a
        mark, not a row object each), and the device-time ranges [ns] they cover."""
        got = self.store.columns(
            park_id,
            measurement=TOUCHED,
            fields=["first_ms", "last_ms"],
            start_ns=lo,
            end_ns=hi,
        )
        seen = self._seen[park_id]
        fresh: dict[str, NDArray[np.int64]] = {}
        ranges: dict[str, list[tuple[int, int]]] = defaultdict(list)  # prefetch adds devices
        for device, col in got.items():
            first = np.asarray(col.values["first_ms"], dtype=np.float64)
            last = np.asarray(col.values["last_ms"], dtype=np.float64)
            rows = np.empty((first.size, 3), dtype=np.int64)
            rows[:, 0] = np.asarray(col.time_ns, dtype=np.int64)
            rows[:, 1] = np.where(np.isnan(first), -1, first)
            rows[:, 2] = np.where(np.isnan(last), -1, last)
            before = seen.get(device)
            if before is not None and before.size:
                rows = rows[~np.isin(_row_keys(rows), _row_keys(before))]
            if not rows.size:
                continue
            fresh[device] = rows
            spans = rows[(rows[:, 1] >= 0) & (rows[:, 2] >= 0)]
            if spans.size:
                ranges[device] = _merged(spans[:, 1] * _NS_PER_MS, spans[:, 2] * _NS_PER_MS)
        return fresh, ranges

    def _ledgered(self, park: ParkRegistry) -> dict[str, Device]:
        """The devices of ``park`` with registers, by id (kept while the registry is the same)."""
        key = (park.id, id(park))
        hit = self._ledgered_cache.get(park.id)
        if hit is None or hit[0] != key:
            hit = (key, {d.id: d for d in park.devices if _registers(d)})
            self._ledgered_cache[park.id] = hit
        return hit[1]

    def _prefetch_readings(
        self,
        park: ParkRegistry,
        ranges: dict[str, list[tuple[int, int]]],
        devices_of: dict[str, Device],
        now_ns: int,
    ) -> _Window | None:
        """Read the park's register readings around the marks in one query per cluster of
        marks, where they cover many devices; turn each park-wide mark into marks of the devices
        with readings in its span (in ``ranges``, in place). Returns the last window read (the
        newest), to keep for the next pass.

        A window kept from the park's last pass (:meth:`_keep`) is true up to the first device
        time a mark of this pass names (every reading written since is marked), so only the
        readings from there on are read again: a live park's pass reads the seconds since the
        last pass, not the hour of context before them."""
        step_ns = self.interval_s * 1_000_000_000
        wide = ranges.pop(ALL_DEVICES, [])
        spans = [(lo, hi, ALL_DEVICES) for lo, hi in wide]
        spans += [(lo, hi, d) for d, dev_spans in ranges.items() for lo, hi in dev_spans]
        if not spans:
            return None
        kept = self._kept.get(park.id)
        self._forget(park.id)
        last: _Window | None = None
        fields = sorted({f for d in devices_of.values() for f in _registers(d)})
        context_ns = self.context_s * 1_000_000_000
        # clusters: spans less than an interval apart
        spans.sort()
        clusters: list[tuple[int, int, set[str]]] = []
        for lo, hi, dev in spans:
            if clusters and lo <= clusters[-1][1] + step_ns:
                c_lo, c_hi, devs = clusters[-1]
                devs.add(dev)
                clusters[-1] = (c_lo, max(c_hi, hi), devs)
            else:
                clusters.append((lo, hi, {dev}))
        for c_lo, c_hi, devs in clusters:
            if ALL_DEVICES not in devs and len(devs) < PREFETCH_MIN_DEVICES:
                continue
            # before: the context of the recomputation, and an interval's worth for the second
            # neighbour; after: for a cluster near now, the neighbour window whole (nothing
            # can be there yet, so the answer is complete), else the context and an interval
            start = c_lo - context_ns - step_ns
            end = c_hi + context_ns + step_ns
            if c_hi + LOOKBACK_S * 1_000_000_000 >= now_ns:
                end = max(end, now_ns + (LOOKBACK_S + self.context_s) * 1_000_000_000 + 1)
            # in slices of time, each turned into arrays at once: a pass never holds the whole
            # answer as Python objects (the memory a pass needs stays small and the same)
            # the kept window is stale from the first device time any mark of the pass names
            # that lies in this window (a late mark's span inside it counts too)
            stale = min((lo for lo, hi, _ in spans if hi >= start), default=c_lo)
            window = self._view.read(
                park.id,
                measurement=TELEMETRY,
                fields=fields,
                start_ns=start,
                end_ns=end,
                slice_ns=_SLICE_S * 1_000_000_000,
                until_ns=now_ns + 1,
                kept=kept,
                stale_ns=stale,
            )
            last = window
            self._reach_back(park.id, window, c_lo, devices_of, devs)
            if ALL_DEVICES not in devs:
                continue
            inside = merge_ranges(((lo, hi) for lo, hi in wide if c_lo <= lo <= c_hi), gap=step_ns)
            for device_id, per in window.data.items():
                device = devices_of.get(device_id)
                if device is None:
                    continue
                times = [per[f][0] for f in _registers(device) if f in per]
                if not times:
                    continue
                held = np.unique(np.concatenate(times))
                for lo, hi in inside:
                    i = int(np.searchsorted(held, lo, side="left"))
                    j = int(np.searchsorted(held, hi, side="right"))
                    if j > i:
                        ranges[device_id].append((int(held[i]), int(held[j - 1])))
        return last

    def _keep(self, park_id: str, window: _Window) -> None:
        """Keep ``window`` (a park's readings as of this pass) for the park's next pass, within
        ``keep_bytes`` for all parks (the parks kept longest ago dropped first)."""
        size = sum(t.nbytes + v.nbytes for per in window.data.values() for t, v in per.values())
        if size > self.keep_bytes:
            return
        self._kept[park_id] = window
        self._kept_bytes[park_id] = size
        while sum(self._kept_bytes.values()) > self.keep_bytes:
            oldest = next(iter(self._kept_bytes))
            self._forget(oldest)

    def _forget(self, park_id: str) -> None:
        """Drop the window kept for ``park_id`` (its marks may be followed elsewhere)."""
        self._kept.pop(park_id, None)
        self._kept_bytes.pop(park_id, None)

    def _reach_back(
        self,
        park_id: str,
        window: _Window,
        c_lo: int,
        devices_of: dict[str, Device],
        devs: set[str],
    ) -> None:
        """Read back, in one query, the readings of the ``window``'s devices with fewer than two
        of a register held before ``c_lo`` [ns] and some after it (a new meter, one that
        reports hourly, one back from an outage) over the neighbour look-back before the
        window: their nearest readings before a touched one (:meth:`_neighbours`) are then
        answered from memory, not asked of the store one device at a time (a thousand new
        meters made a thousand queries)."""
        ids = devices_of if ALL_DEVICES in devs else [d for d in devs if d in devices_of]
        needy = []
        for device_id in ids:
            per = window.data.get(device_id, {})
            for field in _registers(devices_of[device_id]):
                t = per.get(field, (_EMPTY_T, _EMPTY_V))[0]
                held_before = int(t.searchsorted(c_lo, side="left"))
                # a register with no reading from c_lo on is not recomputed (_recompute): it
                # needs no neighbours (an export register the meter does not report)
                if held_before < min(2, t.size):
                    needy.append(device_id)
                    break
        if not needy:
            return
        back_lo = c_lo - LOOKBACK_S * 1_000_000_000
        if back_lo >= window.start_ns:
            return
        fields = sorted({f for d in needy for f in _registers(devices_of[d])})
        got = _arrays(
            self.store.columns(
                park_id,
                measurement=window.measurement,
                fields=fields,
                start_ns=back_lo,
                end_ns=window.start_ns,
                devices=needy,
            )
        )
        for device_id in needy:
            per = window.data.setdefault(device_id, {})
            for field, (t, v) in got.get(device_id, {}).items():
                held_t, held_v = per.get(field, (_EMPTY_T, _EMPTY_V))
                per[field] = (np.concatenate((t, held_t)), np.concatenate((v, held_v)))
            window.starts[device_id] = back_lo

    def _roll_up(self, park: ParkRegistry, written: dict[str, list[tuple[int, int]]]) -> int:
        """Roll up again the local days of ``park`` that hold the intervals ``written`` (per
        device, ranges ``[lo, hi)`` [ns]): each device once, for those days only; devices with
        the same days share one :func:`write_day_rollups` call (and its batched writes).
        Returns the register-days written."""
        tz = park.park.timezone
        by_days: dict[tuple[tuple[int, int], ...], list[str]] = defaultdict(list)
        for device_id, spans in written.items():
            day_spans = []
            for lo, hi in spans:
                edges = local_days(lo, hi, tz)
                day_spans.append((int(edges[0]), int(edges[-1])))
            by_days[tuple(merge_ranges(day_spans))].append(device_id)
        days = 0
        devices_of = self._ledgered(park)
        for day_ranges, device_ids in by_days.items():
            for lo, hi in day_ranges:  # one run of consecutive days, usually the only one
                if len(device_ids) >= PREFETCH_MIN_DEVICES:
                    registers = sorted(
                        {
                            f
                            for d in device_ids
                            if d in devices_of
                            for f in _registers(devices_of[d])
                        }
                    )
                    fields = registers + [f + QUALITY_SUFFIX for f in registers]
                    columns = self.store.columns(
                        park.id, measurement=LEDGER, fields=fields, start_ns=lo, end_ns=hi
                    )
                    self._view.add(
                        park.id,
                        measurement=LEDGER,
                        fields=fields,
                        start_ns=lo,
                        end_ns=hi,
                        columns=columns,
                    )
                days += write_day_rollups(
                    self._view,
                    park,
                    start_ns=lo,
                    end_ns=hi,
                    devices=device_ids,
                    interval_s=self.interval_s,
                ).days
        return days

    def _recompute(
        self, park_id: str, device: Device, first_ns: int, last_ns: int
    ) -> tuple[list[Point], int, int]:
        """The ledger points of the intervals readings in ``[first_ns, last_ns]`` touch (to
        write), and the range ``[lo, hi)`` [ns] of intervals they lie in (whole intervals)."""
        step_ns = self.interval_s * 1_000_000_000
        write_lo, write_hi = first_ns, last_ns
        context_lo, context_hi = first_ns, last_ns
        for field in _registers(device):
            inside = SeriesQuery(park_id, device.id, field, first_ns, last_ns + 1, limit=1)
            known = self._view.known(inside)
            if known is not None and known[0].size == 0:
                continue  # no reading of this register was touched: its intervals stand
            before = self._neighbours(park_id, device.id, field, first_ns, before=True)
            after = self._neighbours(park_id, device.id, field, last_ns, before=False)
            if before:
                write_lo = min(write_lo, before[0])
                context_lo = min(context_lo, before[-1])
            if after:
                write_hi = max(write_hi, after[0])
                context_hi = max(context_hi, after[-1])
        # the intervals that overlap (reading before, reading after): energy between two
        # readings is spread over exactly those
        lo = write_lo - write_lo % step_ns
        hi = -(-write_hi // step_ns) * step_ns
        if hi == lo:
            hi += step_ns  # a lone reading on an interval edge: the interval it opens
        results = device_ledger(
            self._view,
            park_id,
            device,
            start_ns=min(lo, context_lo),
            end_ns=max(hi, context_hi + 1),
            interval_s=self.interval_s,
            lookback_s=self.context_s,
        )
        points: list[Point] = []
        for result in results:
            starts = result.ledger.start_ns
            points.extend(
                ledger_points(park_id, device.id, result, only=(starts >= lo) & (starts < hi))
            )
        return points, lo, hi

    def _neighbours(
        self, park_id: str, device_id: str, field: str, t_ns: int, *, before: bool
    ) -> list[int]:
        """Times [ns] of the two readings nearest before (or after) ``t_ns``, nearest first."""
        window = LOOKBACK_S * 1_000_000_000
        query = (
            SeriesQuery(park_id, device_id, field, t_ns - window, t_ns, limit=2, descending=True)
            if before
            else SeriesQuery(park_id, device_id, field, t_ns + 1, t_ns + window, limit=2)
        )
        times: list[int] = self._view.series_arrays(query)[0].tolist()
        return times

    # -- the thread (services.periodic) ---------------------------------------------------------

    def run_pass(self) -> bool:
        """One :meth:`step`; True while more marks wait."""
        result = self.step()
        if result.intervals:
            log.debug(
                "ledger: %d marks, %d devices, %d intervals, %d roll-up days rewritten",
                result.marks,
                result.devices,
                result.intervals,
                result.rollup_days,
            )
        return not result.caught_up

    # -- the cursor file -------------------------------------------------------------------------

    def _load_cursor(self) -> dict[str, int]:
        if self.cursor_path is None or not self.cursor_path.exists():
            return {}
        try:
            data = json.loads(self.cursor_path.read_text(encoding="utf-8"))
            return {str(k): int(v) for k, v in data.items()}
        except (OSError, ValueError, AttributeError) as exc:
            log.warning("ledger cursor %s unreadable (%s); starting over", self.cursor_path, exc)
            return {}

    def _save_cursor(self) -> None:
        if self.cursor_path is None:
            return
        self.cursor_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.cursor_path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(self._cursor, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.cursor_path)


def _registers(device: Device) -> list[str]:
    """Stored names of the device's cumulative registers (the ones with a ledger)."""
    return [
        stored_field_name(name, spec.quantity)
        for name, spec in device.fields.items()
        if spec.cumulative
    ]


def _row_keys(rows: NDArray[np.int64]) -> NDArray[np.void]:
    """Each row of ``rows`` (C-contiguous int64) as one comparable value, for :func:`np.isin`."""
    rows = np.ascontiguousarray(rows)
    return rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()


_EMPTY_T: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
_EMPTY_V: NDArray[np.float64] = np.zeros(0, dtype=np.float64)


@dataclass(slots=True)
class _Window:
    """A park's points of one measurement over ``[start_ns, end_ns)``, per device and field:
    times [ns] and values, oldest first, only where the point has the field."""

    park: str
    measurement: str
    fields: frozenset[str]
    start_ns: int
    end_ns: int
    data: dict[str, dict[str, tuple[NDArray[np.int64], NDArray[np.float64]]]]
    # devices whose readings are held from earlier than start_ns [ns] (read back for them)
    starts: dict[str, int] = dataclasses.field(default_factory=dict)

    def answer(self, q: SeriesQuery) -> list[SeriesRow] | None:
        """The rows ``q`` would get from the store, or None when this window cannot tell."""
        got = self.answer_arrays(q)
        if got is None:
            return None
        return [SeriesRow(a, b) for a, b in zip(got[0].tolist(), got[1].tolist(), strict=True)]

    def answer_arrays(self, q: SeriesQuery) -> tuple[NDArray[np.int64], NDArray[np.float64]] | None:
        """:meth:`answer` as times [ns] and values (arrays of their own), or None."""
        if (
            q.every_s is not None
            or q.park != self.park
            or q.measurement != self.measurement
            or q.field not in self.fields
        ):
            return None
        t, v = self.data.get(q.device, {}).get(q.field, (_EMPTY_T, _EMPTY_V))
        start_ns = self.starts.get(q.device, self.start_ns)
        starts_inside, ends_inside = q.start_ns >= start_ns, q.end_ns <= self.end_ns
        i = int(t.searchsorted(max(q.start_ns, start_ns), side="left"))
        j = int(t.searchsorted(min(q.end_ns, self.end_ns), side="left"))
        if q.descending:  # the newest first: exact if the window holds the end and enough rows
            if not ends_inside or (not starts_inside and j - i < q.limit):
                return None
            i = max(i, j - q.limit)
            return t[i:j][::-1].copy(), v[i:j][::-1].copy()
        if not starts_inside or (not ends_inside and j - i < q.limit):
            return None
        j = min(j, i + q.limit)
        return t[i:j].copy(), v[i:j].copy()


def _arrays(
    columns: dict[str, Columns],
) -> dict[str, dict[str, tuple[NDArray[np.int64], NDArray[np.float64]]]]:
    """Per device and field: times [ns] and values where the point has the field."""
    data: dict[str, dict[str, tuple[NDArray[np.int64], NDArray[np.float64]]]] = {}
    for device, col in columns.items():
        t = np.asarray(col.time_ns, dtype=np.int64)
        per: dict[str, tuple[NDArray[np.int64], NDArray[np.float64]]] = {}
        for name, values in col.values.items():
            v = np.asarray(values, dtype=np.float64)
            keep = ~np.isnan(v)
            per[name] = (t[keep], v[keep])
        data[device] = per
    return data


class PrefetchedStore:
    """A :class:`~store.base.Store` that answers raw :meth:`series` queries from points read
    in bulk beforehand (:meth:`add`, one :meth:`~store.base.Store.columns` answer), exactly
    as the store would have when the answer lies whole inside what was read; everything else
    goes to the wrapped store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._windows: list[_Window] = []
        self.answered = 0  # series queries answered from memory (for tests and the bench)
        self.kept_reads = 0  # reads that took part of a kept window

    def add(
        self,
        park: str,
        *,
        measurement: str,
        fields: Sequence[str],
        start_ns: int,
        end_ns: int,
        columns: dict[str, Columns],
    ) -> None:
        """Hold ``columns``, the store's answer for ``fields`` of ``measurement`` in ``park``
        over ``[start_ns, end_ns)`` [ns]."""
        self._windows.append(
            _Window(park, measurement, frozenset(fields), start_ns, end_ns, _arrays(columns))
        )

    def read(
        self,
        park: str,
        *,
        measurement: str,
        fields: Sequence[str],
        start_ns: int,
        end_ns: int,
        slice_ns: int,
        until_ns: int,
        kept: _Window | None = None,
        stale_ns: int | None = None,
    ) -> _Window:
        """Read ``fields`` of ``measurement`` in ``park`` over ``[start_ns, end_ns)`` [ns] from
        the store and hold it: one :meth:`~store.base.Store.columns` query per ``slice_ns`` of
        time up to ``until_ns`` (then one for the rest, e.g. the empty future), each turned into
        arrays before the next is read. Returns what is held.

        With ``kept`` (a window read earlier, still true before ``stale_ns`` [ns]: nothing was
        written there since) that holds ``[start_ns, stale_ns)``, only ``[stale_ns, end_ns)``
        is read; the rest is taken from ``kept``."""
        old: dict[str, dict[str, tuple[NDArray[np.int64], NDArray[np.float64]]]] = {}
        if (
            kept is not None
            and stale_ns is not None
            and (kept.park, kept.measurement, kept.fields) == (park, measurement, frozenset(fields))
            and kept.start_ns <= start_ns <= stale_ns <= min(kept.end_ns, end_ns)
        ):
            for device, per in kept.data.items():
                still: dict[str, tuple[NDArray[np.int64], NDArray[np.float64]]] = {}
                for name, (t, v) in per.items():
                    i, j = t.searchsorted(start_ns), t.searchsorted(stale_ns)
                    if j > i:
                        still[name] = (t[i:j], v[i:j])
                if still:
                    old[device] = still
            self.kept_reads += 1
            read_from = stale_ns
        else:
            read_from = start_ns
        cuts = [*range(read_from, min(end_ns, until_ns), slice_ns), min(end_ns, until_ns)]
        if cuts[-1] < end_ns:
            cuts.append(end_ns)
        parts: dict[str, dict[str, tuple[list[NDArray[np.int64]], list[NDArray[np.float64]]]]] = {
            device: {name: ([t], [v]) for name, (t, v) in per.items()}
            for device, per in old.items()
        }
        for lo, hi in itertools.pairwise(cuts):
            if hi <= lo:
                continue
            got = self.store.columns(
                park, measurement=measurement, fields=fields, start_ns=lo, end_ns=hi
            )
            for device, per in _arrays(got).items():
                held = parts.setdefault(device, {})
                for name, (t, v) in per.items():
                    ts, vs = held.setdefault(name, ([], []))
                    ts.append(t)
                    vs.append(v)
            del got
        data = {
            device: {
                name: (np.concatenate(ts), np.concatenate(vs)) for name, (ts, vs) in per.items()
            }
            for device, per in parts.items()
        }
        window = _Window(park, measurement, frozenset(fields), start_ns, end_ns, data)
        self._windows.append(window)
        return window

    def clear(self) -> None:
        """Forget what was read."""
        self._windows = []

    # -- the Store protocol ----------------------------------------------------------------------

    def known(self, query: SeriesQuery) -> tuple[NDArray[np.int64], NDArray[np.float64]] | None:
        """The answer to ``query`` as times [ns] and values when a window holds it whole, else
        None (no store access)."""
        for window in self._windows:
            got = window.answer_arrays(query)
            if got is not None:
                return got
        return None

    def series(self, query: SeriesQuery) -> list[SeriesRow]:
        """From memory when a window holds the answer whole, else from the store."""
        for window in self._windows:
            rows = window.answer(query)
            if rows is not None:
                self.answered += 1
                return rows
        return self.store.series(query)

    def series_arrays(self, query: SeriesQuery) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """:meth:`series` as arrays (:class:`services.ledger.ArraySeries`): from memory without
        a row object per reading when a window holds the answer whole."""
        for window in self._windows:
            got = window.answer_arrays(query)
            if got is not None:
                self.answered += 1
                return got
        return series_arrays(self.store, query)

    def write(self, points: Sequence[Point]) -> None:
        """To the store."""
        self.store.write(points)

    def latest(self, park: str, *, measurement: str = TELEMETRY) -> list[LatestReading]:
        """From the store."""
        return self.store.latest(park, measurement=measurement)

    def scan(
        self, park: str, *, measurement: str, start_ns: int, end_ns: int, limit: int = 100_000
    ) -> list[LatestReading]:
        """From the store."""
        return self.store.scan(
            park, measurement=measurement, start_ns=start_ns, end_ns=end_ns, limit=limit
        )

    def columns(
        self,
        park: str,
        *,
        measurement: str,
        fields: Sequence[str],
        start_ns: int,
        end_ns: int,
        devices: Sequence[str] | None = None,
    ) -> dict[str, Columns]:
        """From the store."""
        return self.store.columns(
            park,
            measurement=measurement,
            fields=fields,
            start_ns=start_ns,
            end_ns=end_ns,
            devices=devices,
        )

    def aggregate(
        self,
        park: str,
        *,
        measurement: str,
        fields: Mapping[str, tuple[Reduction, str]],
        start_ns: int,
        end_ns: int,
    ) -> dict[str, dict[str, float]]:
        """From the store."""
        return self.store.aggregate(
            park, measurement=measurement, fields=fields, start_ns=start_ns, end_ns=end_ns
        )

    def count(self, park: str, *, device: str | None = None, measurement: str = TELEMETRY) -> int:
        """From the store."""
        return self.store.count(park, device=device, measurement=measurement)

    def write_quarantine(self, records: Sequence[QuarantineRecord]) -> None:
        """To the store."""
        self.store.write_quarantine(records)

    def quarantined(self, *, park: str | None = None, limit: int = 1000) -> list[QuarantineRecord]:
        """From the store."""
        return self.store.quarantined(park=park, limit=limit)

    def ping(self) -> bool:
        """The store's."""
        return self.store.ping()

    def close(self) -> None:
        """Forget what was read (the wrapped store stays open: its owner closes it)."""
        self.clear()


class FollowerMetrics:
    """A follower's figures as Prometheus metrics (names ``smartpark_follower_*``), read from it
    at each scrape, so a pass pays nothing for them: ``registry.register(FollowerMetrics(f))``.
    ``smartpark collect`` adds them to its ``/metrics``; ``smartpark follow`` serves them on
    ``SMARTPARK_FOLLOW_METRICS_PORT``."""

    def __init__(self, follower: LedgerFollower) -> None:
        self.follower = follower

    def collect(self) -> Iterator[Metric]:
        """The metrics as they stand (called by the registry at each scrape)."""
        f = self.follower
        counters = (
            ("passes", "Passes of the ledger follower.", f.passes),
            ("marks_read", "Touched marks read.", f.marks_read),
            ("intervals_written", "Ledger intervals written.", f.intervals_written),
            ("rollup_days_written", "Register-days of the day roll-up written.",
             f.rollup_days_written),
            ("kept_reads", "Reads answered in part from the readings kept since the last pass.",
             f.kept_reads),
        )  # fmt: skip
        for name, text, count in counters:
            yield CounterMetricFamily(f"smartpark_follower_{name}", text, value=count)
        gauges = (
            ("pass_seconds", "Wall time of the last pass [s].", f.pass_s),
            ("pass_cpu_seconds", "CPU time of the process during the last pass [s].",
             f.pass_cpu_s),
            ("kept_bytes", "Readings kept between passes, all parks [B].", f.kept_bytes),
            ("parks_unavailable", "Parks skipped because their store is down.",
             len(f.outages.parks)),
        )  # fmt: skip
        for name, text, value in gauges:
            yield GaugeMetricFamily(f"smartpark_follower_{name}", text, value=value)
        age = GaugeMetricFamily(
            "smartpark_follower_cursor_age_seconds",
            "How far the park's ledger cursor is behind now [s] (marks since are not in the "
            "ledger yet).",
            labels=["park"],
        )
        for park, seconds in f.cursor_age_s().items():
            age.add_metric([park], seconds)
        yield age
