"""Indicator reports kept in the process while the data they were made of stand.

A :class:`ReportCache` keeps a park's (or a building's, floor's or tenant's) indicator report of a
local period, keyed by park, scope, period, accounting profile and the green instruments of the
year, and gives it back only while the park's data of that period stand: the same registry entry
and store, the same day marks (:func:`services.rollup.day_marks`: no roll-up of any of its days
written since — the follower's passes, a rebuild, a declared replacement all write one), no
readings of the period stored since it was made (:func:`store.touched.arrived_since`: what a
park without a ledger follower computes from) and at most :data:`CACHE_MAX_AGE_S` old. A closed
year asked again (the city view, a dashboard polling ``/indicators``) answers from it; a period
still receiving data is computed again. One per ``serve`` process (``app.state.report_cache``).
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from analytics.instruments import Instrument
from config.accounting import AccountingProfile
from config.registry import ParkRegistry
from services.energy import Scope
from services.indicators import IndicatorReport, LocalPeriod, local_period
from services.indicators.green import InstrumentSource, stored_instruments
from services.instruments import instruments_for_year
from services.rollup import IntervalKeep, RollupReads, day_marks
from store.base import Store
from store.touched import arrived_since

__all__ = ["CACHE_MAX_AGE_S", "REFRESH_WORKERS", "Kept", "ReportCache"]

log = logging.getLogger("smartpark.report_cache")

CACHE_MAX_AGE_S = 3_600.0
"""Oldest park report a :class:`ReportCache` gives [s]: the bound on what its day marks do not
see (a late reading of a sensor without a ledger, e.g. the pyranometer of the PV performance
ratio, which no roll-up follows)."""


REFRESH_WORKERS = 2
"""Stale reports made again at once in the background [threads] (a live city's parks, refreshed
while the page shows the kept figures)."""


@dataclass(frozen=True, slots=True)
class _Held:
    park: ParkRegistry
    store: Store
    marks: str
    made_s: float  # the cache's clock [s]
    made_ns: int  # the wall clock [ns] before the report's data were read
    checked_ns: int  # the wall clock [ns] of the last look at the touched marks (made, or asked)
    report: IndicatorReport


@dataclass(frozen=True, slots=True)
class Kept:
    """A report as :meth:`ReportCache.kept` gives it: ``as_of_ms`` [ms since the epoch] when its
    data were read; ``stale`` True when the park's data of the period moved since (it is given
    because it is at most the asker's ``stale_s`` old, and a fresh one is being made)."""

    report: IndicatorReport
    as_of_ms: int
    stale: bool = False


class ReportCache:
    """Indicator reports kept in this process, each while the park's data of its period
    stand: the key is the park, the scope, the period, the accounting profile and the green
    instruments of the year (read each time, one query each); a report is given back only for
    the same registry entry and store, the same day marks over the period
    (:func:`services.rollup.day_marks`: no roll-up of any of its days written since — the
    follower's passes, a rebuild, a declared replacement all write one), no readings of the
    period stored since it was made (:func:`store.touched.arrived_since`: what a park without
    a ledger follower computes from) and at most ``max_age_s`` [s] old. Both are read before
    the report is made, so a roll-up or a reading written while it is made shows at the next
    ask. At most ``max_entries`` reports, the least recently used dropped first.

    An asker that accepts figures a few minutes old (:meth:`kept` with ``stale_s``: the city
    view of a period still receiving data) gets the kept report of a park whose data moved, as
    long as it is at most ``stale_s`` old, marked stale with its time; once it is a third of
    that old, a fresh one is made in the background (one per report, at most
    :data:`REFRESH_WORKERS` at once) for the next ask. Thread-safe; ``hits``, ``stale_hits``
    and ``made`` count the answers."""

    def __init__(
        self,
        *,
        max_entries: int = 4_096,
        max_age_s: float = CACHE_MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries, self.max_age_s, self._clock = max_entries, max_age_s, clock
        self._held: OrderedDict[tuple[object, ...], _Held] = OrderedDict()
        self._making: dict[tuple[object, ...], threading.Lock] = {}
        self._refreshing: set[tuple[object, ...]] = set()
        self._workers = threading.BoundedSemaphore(REFRESH_WORKERS)
        self._lock = threading.Lock()
        self.hits = self.stale_hits = self.made = 0
        # the 15-minute reads of the reports made here, per day while its day mark stands: a
        # report made again after today's roll-up reads today, not the period
        self.intervals = IntervalKeep()

    def reads(self) -> RollupReads:
        """A request's reads of the roll-up path (:class:`~services.rollup.RollupReads`) that
        keep their 15-minute intervals in this cache's :class:`~services.rollup.IntervalKeep`
        for the next report of the same park and period: give it to the ``make`` of
        :meth:`report` (``shared=``)."""
        return RollupReads(keep=self.intervals)

    def report(
        self,
        store: Store,
        park: ParkRegistry,
        period: str,
        profile: AccountingProfile,
        make: Callable[[InstrumentSource], IndicatorReport],
        *,
        scope: Scope | None = None,
    ) -> IndicatorReport:
        """The report of ``scope`` (default the park) of ``park`` for the local ``period``
        under ``profile``: kept, or made by ``make(instruments)`` (``instruments`` answers the
        green instruments of the year as read here) and kept."""
        return self.kept(store, park, period, profile, make, scope=scope).report

    def kept(
        self,
        store: Store,
        park: ParkRegistry,
        period: str,
        profile: AccountingProfile,
        make: Callable[[InstrumentSource], IndicatorReport],
        *,
        scope: Scope | None = None,
        stale_s: float = 0.0,
    ) -> Kept:
        """:meth:`report` with the time its data were read; with ``stale_s`` [s] > 0, the kept
        report of a park whose data moved since, while it is at most ``stale_s`` old (see the
        class docstring)."""
        when = local_period(period, park.park.timezone)
        held_instruments = instruments_for_year(store, park, when.first_day.year)
        marks = day_marks(store, park.id, start_ns=when.start_ns, end_ns=when.end_ns)
        key = (
            park.id,
            str(scope or Scope("park")),
            when.label,
            profile.model_dump_json(),
            hashlib.blake2b(repr(held_instruments).encode(), digest_size=16).hexdigest(),
        )
        with self._lock:  # one maker per report: a second ask (a retry) waits for the first
            making = self._making.setdefault(key, threading.Lock())

        def made() -> Kept:
            with making:
                return self._report(
                    store, park, when=when, key=key, marks=marks, read=held_instruments, make=make
                )

        if stale_s > 0:
            found = self._standing(store, park, when, key, marks)
            if found is not None:
                return found
            with self._lock:
                held = self._held.get(key)
            age = math.inf if held is None else self._clock() - held.made_s
            if held is not None and held.park is park and held.store is store and age <= stale_s:
                if age >= stale_s / 3:
                    self._refresh(key, made)
                with self._lock:
                    self.stale_hits += 1
                return Kept(held.report, held.made_ns // 1_000_000, stale=True)
        return made()

    def _refresh(self, key: tuple[object, ...], made: Callable[[], Kept]) -> None:
        """``made()`` in a background thread, unless one for ``key`` already runs."""
        with self._lock:
            if key in self._refreshing:
                return
            self._refreshing.add(key)

        def work() -> None:
            try:
                with self._workers:
                    made()
            except Exception as exc:  # the stale report stands until it is too old
                log.warning("report of %s %s not made again: %s", key[0], key[2], exc)
            finally:
                with self._lock:
                    self._refreshing.discard(key)

        threading.Thread(target=work, name="report-refresh", daemon=True).start()

    def _standing(
        self,
        store: Store,
        park: ParkRegistry,
        when: LocalPeriod,
        key: tuple[object, ...],
        marks: str,
    ) -> Kept | None:
        """The kept report of ``key`` if it still stands (counted as a hit), else None."""
        now, now_ns = self._clock(), time.time_ns()
        with self._lock:
            held = self._held.get(key)
        if (
            held is None
            or held.park is not park
            or held.store is not store
            or held.marks != marks
            or now - held.made_s > self.max_age_s
            or arrived_since(
                store,
                park.id,
                since_ns=held.checked_ns,  # only the marks since the last look: a live city
                now_ns=now_ns,  # writes one a second, asked about a closed year
                start_ns=when.start_ns,
                end_ns=when.end_ns,
            )
        ):
            return None
        with self._lock:
            if self._held.get(key) is held:
                self._held[key] = replace(held, checked_ns=now_ns)
                self._held.move_to_end(key)
            self.hits += 1
        return Kept(held.report, held.made_ns // 1_000_000)

    def _report(
        self,
        store: Store,
        park: ParkRegistry,
        *,
        when: LocalPeriod,
        key: tuple[object, ...],
        marks: str,
        read: Sequence[Instrument],
        make: Callable[[InstrumentSource], IndicatorReport],
    ) -> Kept:
        """:meth:`kept` once its key is known and no other thread makes it (``read``: the
        instruments of the year as read)."""
        year = when.first_day.year
        found = self._standing(store, park, when, key, marks)
        if found is not None:
            return found
        now, now_ns = self._clock(), time.time_ns()

        def instruments(s: Store, p: ParkRegistry, y: int) -> Sequence[Instrument]:
            if s is store and p is park and y == year:
                return read
            return stored_instruments(s, p, y)

        report = make(instruments)
        with self._lock:
            self._held[key] = _Held(park, store, marks, now, now_ns, now_ns, report)
            self._held.move_to_end(key)
            while len(self._held) > self.max_entries:
                dropped, _ = self._held.popitem(last=False)
                self._making.pop(dropped, None)
            self.made += 1
        return Kept(report, now_ns // 1_000_000)
