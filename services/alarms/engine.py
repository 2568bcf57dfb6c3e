"""The alarm engine: raises, acknowledges and clears alarms from the store's data.

:class:`AlarmEngine` holds one detector per (park, rule, device), feeds them from the store every
few seconds (new telemetry since the last pass, ``latest`` for offline), and keeps every alarm in
the store (:mod:`services.alarms.records`). Its listeners (the live stream) hear of every raise,
acknowledgement and clear.

Replicas: several ``serve`` processes may share one store, each with its engine. Given a
:class:`~services.lease.Lease`, an engine evaluates only while it holds the lease (so each alarm is
raised once), and every engine, holding it or not, reads the stored alarms once per evaluation
period, so each replica's API and live stream show the alarms raised, acknowledged or cleared by
the others. A replica that gains the lease starts afresh (detectors warmed up from the stored
readings, the stored alarms reloaded) and evaluates at once: an alarm the previous leader raised
is known as active and not raised again. With several named stores there is one lease per store,
kept in that store (:func:`alarm_leases`): a replica evaluates the parks of each store whose
lease it holds, so a store that is down stops the alarms of its own parks only (nobody can renew
or take its lease), and the parks of the other stores keep theirs.

Several stores: a park whose named store is down (:class:`~store.NamedStoreUnavailableError`) is
skipped, and retried with one log line naming the park and the store (doubling from
``store_retry_s`` up to a minute, :class:`~services.periodic.ParkOutages`), while the other parks
are evaluated every pass; its API routes answer 503 naming the store until its alarms could be
read. Its detectors keep their state and its cursor stays where its last pass read, so the readings
stored meanwhile (the collector's spool replayed) are fed and judged when it answers again.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
import zoneinfo
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from config.alarm_rules import AlarmKind, Rule, RuleSet
from config.errors import ConflictError
from config.registry import OFFLINE_FIELD, Device, ParkRegistry, Registry
from config.units import stored_field_name
from services.alarms.collector_metrics import read_spool_bytes
from services.alarms.detectors import (
    Detector,
    NightBaseLoadDetector,
    OfflineDetector,
    RegisterResetDetector,
    RegisterStuckDetector,
    ThresholdDetector,
    Verdict,
    night_baseline,
    night_windows,
    quarantine_rate_verdict,
    spool_growth_verdict,
)
from services.alarms.records import (
    ALARM,
    ALARM_BY,
    NO_DEVICE,
    Alarm,
    AlarmState,
    actor_point,
    actors_from_rows,
    alarm_from_row,
    with_messages,
)
from services.lease import Lease, LeaseKeeper
from services.periodic import ParkOutages, Periodic
from store.base import TELEMETRY, Store
from store.routed import NamedStoreUnavailableError, RoutedStore

__all__ = ["ALARM_LEASE", "AlarmConflictError", "AlarmEngine", "alarm_lease", "alarm_leases"]

log = logging.getLogger("smartpark.alarms")

_NS = 1_000_000_000

ALARM_LEASE = "alarms"
"""Name of the lease whose holder runs the alarm engine (:func:`alarm_lease`)."""


class AlarmConflictError(ConflictError):
    """The alarm is in a state that does not allow the action (acknowledging a cleared one)."""


@dataclass
class _Watch:
    park: ParkRegistry
    rule: Rule
    device: str | None
    detector: Detector


@dataclass
class _ParkRate:
    """Quarantine-rate bookkeeping of one park: readings stored per pass."""

    stored: deque[tuple[int, int]] = field(default_factory=deque)


class AlarmEngine(Periodic):
    """Evaluates the rules of every park of ``registry`` against ``store``.

    :meth:`step` is one pass (the tests call it with their own ``now_ns``); :meth:`start` runs
    passes in a background thread every ``every_s``. Alarms are kept in the store and in memory;
    listeners get every alarm that changed (called from the engine's thread or the API's).
    """

    name = "alarm-engine"

    def __init__(
        self,
        store: Store,
        registry: Registry,
        rules: RuleSet,
        *,
        metrics_url: str | None = None,
        warmup_s: float = 1800.0,
        lease: Lease | Mapping[str, Lease] | None = None,
        store_retry_s: float = 5.0,
    ) -> None:
        super().__init__(log)
        self.outages = ParkOutages(log, self.name, first_s=store_retry_s)
        # by store name (:func:`alarm_leases`), or one lease for every park under the key ""
        self.leases: dict[str, Lease] = (
            {} if lease is None else {"": lease} if isinstance(lease, Lease) else dict(lease)
        )
        self._keepers = {name: LeaseKeeper(held) for name, held in self.leases.items()}
        self._leading: dict[str, bool] = dict.fromkeys(self.leases, False)
        self._every_s = 5.0
        self._next_pass = 0.0
        self.store = store
        self.registry = registry
        self.rules = rules
        self.metrics_url = metrics_url
        self.warmup_ns = int(warmup_s * _NS)
        self.listeners: list[Callable[[Alarm], None]] = []
        self._lock = threading.RLock()
        self._alarms: dict[str, dict[str, Alarm]] = {p: {} for p in registry.parks}
        self._active: dict[tuple[str, str], str] = {}  # (park, key) -> id
        self._watches: dict[str, list[_Watch]] = {}
        self._cursor: dict[str, int] = {}
        self._seen: dict[str, int] = {}
        self._rates: dict[str, _ParkRate] = {p: _ParkRate() for p in registry.parks}
        self._baseline_day: dict[tuple[str, str], date] = {}
        self._spool: deque[tuple[int, float]] = deque()
        self._metrics_failed = False
        for park in registry.parks.values():
            self._watches[park.id] = self._build_watches(park)
        self._loaded: set[str] = set()  # parks whose stored alarms were read

    # -- set-up --------------------------------------------------------------------------------

    def _build_watches(self, park: ParkRegistry) -> list[_Watch]:
        tz = zoneinfo.ZoneInfo(park.park.timezone)
        out: list[_Watch] = []
        for rule in self.rules.rules:
            if not rule.applies_to_park(park.id) or not rule.per_device_kind:
                continue
            for dev in park.devices:
                if not rule.devices.matches(dev) or dev.retired is not None:
                    continue  # a retired device is silent by design, not offline
                detector = _detector(rule, dev, tz)
                if detector is not None:
                    out.append(_Watch(park, rule, dev.id, detector))
        return out

    def lease_of(self, park: str) -> Lease | None:
        """The lease under which ``park`` is evaluated: its store's (a routed store's
        :meth:`~store.RoutedStore.store_of`), the one lease of every park, or None (no lease:
        this engine evaluates alone)."""
        if not self.leases:
            return None
        every = self.leases.get("")
        if every is not None:
            return every
        name = self.store.store_of(park) if isinstance(self.store, RoutedStore) else ""
        return self.leases.get(name)

    def _evaluates(self, park: str) -> bool:
        """Whether this engine evaluates ``park`` now (no lease, or its lease held)."""
        lease = self.lease_of(park)
        return lease is None or lease.held

    def use_registry(self, registry: Registry) -> None:
        """Evaluate ``registry`` from the next pass on: devices approved at run time get their
        watches, retired ones lose theirs; the watches of unchanged devices keep their state
        (a pending threshold keeps its start). Parks added at run time are not picked up (a
        restart is; approvals only add devices). Safe to call from any thread."""
        with self._lock:
            for park in registry.parks.values():
                if park.id not in self._watches:
                    continue
                old = {(w.rule.id, w.device): w for w in self._watches[park.id]}
                self._watches[park.id] = [
                    old.get((w.rule.id, w.device), w) for w in self._build_watches(park)
                ]
            self.registry = Registry(
                {pid: registry.parks.get(pid, p) for pid, p in self.registry.parks.items()},
                registry.sources,
            )

    def load(self) -> list[Alarm]:
        """Read the stored alarms (every park) into memory; returns those that are new or
        changed since the last load (written by another replica, or before a restart).

        A park whose named store is down is skipped until its retry (:attr:`outages`); an
        outage of the only store raises :class:`~config.errors.StoreUnavailableError`."""
        changed: list[Alarm] = []
        # held throughout, so no acknowledgement through the API lands between read and apply
        with self._lock:
            for park in self.registry.parks:
                if not self.outages.due(park):
                    continue
                try:
                    changed.extend(self._load_park(park))
                except NamedStoreUnavailableError as exc:
                    self.outages.failed(park, exc)
        return changed

    def _load_park(self, park: str) -> list[Alarm]:
        """Read the stored alarms of ``park``; returns those new or changed. Call with the lock
        held."""
        end = time.time_ns() + 86_400 * _NS
        rows = self.store.scan(park, measurement=ALARM, start_ns=0, end_ns=end)
        who = self.store.scan(park, measurement=ALARM_BY, start_ns=0, end_ns=end)
        by = actors_from_rows(who)
        known = self._alarms.setdefault(park, {})
        changed: list[Alarm] = []
        for row in rows:
            alarm = alarm_from_row(park, row)
            if alarm is None:
                continue
            alarm = replace(
                alarm,
                acknowledged_by=by.get((alarm.id, "ack")),
                cleared_by=by.get((alarm.id, "clear")),
            )
            alarm = with_messages(alarm, self.rules.rule(alarm.rule))
            mine = known.get(alarm.id)
            # unchanged: keep what this process knows (a NaN value reads back as -1)
            if mine is None or _stored_form(mine) != alarm:
                changed.append(alarm)
                known[alarm.id] = alarm
            if alarm.active:
                self._active[(park, alarm.key)] = alarm.id
            elif self._active.get((park, alarm.key)) == alarm.id:
                del self._active[(park, alarm.key)]
        self._loaded.add(park)
        return changed

    # -- reading -------------------------------------------------------------------------------

    def _ensure_loaded(self, park: str) -> None:
        """Load the stored alarms of ``park`` if its store was down when they were last read, so
        nobody is told "no alarms" for lack of a store; :class:`StoreUnavailableError` (naming
        the store, with several) while it still is."""
        if park not in self._loaded:
            with self._lock:
                self._load_park(park)

    def alarms(self, park: str, *, active_only: bool = False) -> list[Alarm]:
        """The park's alarms, newest raise first. Raises :class:`StoreUnavailableError` while
        the stored alarms could not be read yet."""
        with self._lock:
            self._ensure_loaded(park)
            found = [a for a in self._alarms.get(park, {}).values() if a.active or not active_only]
        return sorted(found, key=lambda a: (-a.raised_ms, a.id))

    def get(self, park: str, alarm_id: str) -> Alarm | None:
        """One alarm, or None."""
        with self._lock:
            self._ensure_loaded(park)
            return self._alarms.get(park, {}).get(alarm_id)

    # -- actions -------------------------------------------------------------------------------

    def acknowledge(self, park: str, alarm_id: str, *, by: str, now_ms: int | None = None) -> Alarm:
        """Acknowledge an active alarm (again: no change). KeyError unknown, AlarmConflictError
        when it is already cleared."""
        with self._lock:
            self._ensure_loaded(park)
            alarm = self._alarms.get(park, {}).get(alarm_id)
            if alarm is None:
                raise KeyError(alarm_id)
            if alarm.state is AlarmState.ACKNOWLEDGED:
                return alarm
            if alarm.state is AlarmState.CLEARED:
                raise AlarmConflictError(f"alarm {alarm_id!r} is already cleared")
            now_ms = now_ms if now_ms is not None else time.time_ns() // 10**6
            updated = replace(
                alarm, state=AlarmState.ACKNOWLEDGED, acknowledged_ms=now_ms, acknowledged_by=by
            )
            self._save(updated, by=("ack", by))
        self._notify(updated)
        return updated

    def clear(
        self, park: str, alarm_id: str, *, by: str | None, now_ms: int | None = None
    ) -> Alarm:
        """Clear an alarm (a cleared one: no change). KeyError when unknown. A condition that
        still holds raises a new alarm after the rule's duration again."""
        with self._lock:
            self._ensure_loaded(park)
            alarm = self._alarms.get(park, {}).get(alarm_id)
            if alarm is None:
                raise KeyError(alarm_id)
            if alarm.state is AlarmState.CLEARED:
                return alarm
            now_ms = now_ms if now_ms is not None else time.time_ns() // 10**6
            updated = replace(alarm, state=AlarmState.CLEARED, cleared_ms=now_ms, cleared_by=by)
            self._save(updated, by=("clear", by) if by is not None else None)
            if by is not None:
                self._reset_watch(park, alarm)
        self._notify(updated)
        return updated

    def _reset_watch(self, park: str, alarm: Alarm) -> None:
        """After a manual clear the condition must hold for the rule's duration anew."""
        for w in self._watches.get(park, []):
            if w.rule.id == alarm.rule and w.device == alarm.device:
                if isinstance(w.detector, ThresholdDetector | RegisterStuckDetector):
                    dev = w.park.device(w.device or "")
                    tz = zoneinfo.ZoneInfo(w.park.park.timezone)
                    fresh = _detector(w.rule, dev, tz) if dev is not None else None
                    if fresh is not None:
                        w.detector = fresh
                elif isinstance(w.detector, RegisterResetDetector):
                    w.detector.forget()

    def _save(self, alarm: Alarm, *, by: tuple[str, str] | None = None) -> None:
        points = [alarm.to_point()]
        if by is not None:
            points.append(actor_point(alarm, *by))
        self.store.write(points)
        self._alarms.setdefault(alarm.park, {})[alarm.id] = alarm
        if alarm.active:
            self._active[(alarm.park, alarm.key)] = alarm.id
        elif self._active.get((alarm.park, alarm.key)) == alarm.id:
            del self._active[(alarm.park, alarm.key)]

    def _notify(self, alarm: Alarm) -> None:
        for listener in list(self.listeners):
            try:
                listener(alarm)
            except Exception:  # a listener's failure never stops the engine
                log.exception("alarm listener failed")

    # -- evaluation ----------------------------------------------------------------------------

    def step(self, now_ns: int | None = None) -> list[Alarm]:
        """One pass over every park: feed new readings, judge, raise and clear. Returns the
        alarms that changed."""
        now_ns = now_ns if now_ns is not None else time.time_ns()
        changed: list[Alarm] = []
        for park in self.registry.parks.values():
            if not self._evaluates(park.id):
                continue  # another replica holds the lease of its store
            if not self.outages.due(park.id):
                continue  # its store is down: retried at its time, the other parks go on
            try:
                self._ensure_loaded(park.id)
                self._step_park(park, now_ns, changed)
            except NamedStoreUnavailableError as exc:
                self.outages.failed(park.id, exc)
                continue
            self.outages.answered(park.id)
        changed.extend(self._step_spool(now_ns))
        for alarm in changed:
            self._notify(alarm)
        return changed

    def _step_park(self, park: ParkRegistry, now_ns: int, changed: list[Alarm]) -> None:
        """Feed, judge, raise and clear ``park``; the alarms that changed go to ``changed`` as
        they are stored (so a store failing mid-park loses none of those already stored)."""
        watches = self._watches[park.id]
        by_device: dict[str, list[_Watch]] = {}
        for w in watches:
            by_device.setdefault(w.device or "", []).append(w)
        start = self._cursor.get(park.id, now_ns - self.warmup_ns)
        names = sorted(
            {stored_field_name(n, s.quantity) for d in park.devices for n, s in d.fields.items()}
            | {OFFLINE_FIELD}  # reachability, any kind: a Sparkplug DEATH, an edge's status
        )
        cols = (
            self.store.columns(
                park.id, measurement=TELEMETRY, fields=names, start_ns=start, end_ns=now_ns + _NS
            )
            if start < now_ns + _NS
            else {}
        )
        stored = 0
        seen_before = self._seen.get(park.id, start)
        last_seen = start
        for device, c in cols.items():
            times: list[int] = c.time_ns.tolist()  # detectors take Python numbers
            values = {k: v.tolist() for k, v in c.values.items()}
            stored += sum(1 for t in times if t > seen_before)
            for i, t in enumerate(times):
                row = {k: v[i] for k, v in values.items() if math.isfinite(v[i])}
                for w in by_device.get(device, ()):
                    w.detector.feed(t, row)
                last_seen = max(last_seen, t)
        # late readings land before the newest: look back a little each pass
        self._cursor[park.id] = max(start, min(last_seen + 1, now_ns) - 30 * _NS)
        self._seen[park.id] = max(seen_before, last_seen)
        for reading in self.store.latest(park.id):
            for w in by_device.get(reading.device, ()):
                if isinstance(w.detector, OfflineDetector):
                    w.detector.feed(reading.time_ns, reading.fields)
        self._refresh_baselines(park, watches, now_ns)
        for w in watches:
            changed.extend(
                self._judge(park.id, w.rule, w.device, w.detector.verdict(now_ns), now_ns)
            )
        changed.extend(self._step_quarantine(park, now_ns, stored))

    def _judge(
        self, park: str, rule: Rule, device: str | None, verdict: Verdict, now_ns: int
    ) -> list[Alarm]:
        if not self._evaluates(park):
            return []  # checked right before each write: the lease may have lapsed mid-pass
        key = f"{rule.id}~{device or NO_DEVICE}"
        with self._lock:
            active_id = self._active.get((park, key))
            if verdict.on is True and active_id is None:
                alarm = Alarm(
                    park=park,
                    rule=rule.id,
                    device=device,
                    kind=rule.kind,
                    severity=rule.severity,
                    value=verdict.value,
                    threshold=verdict.threshold,
                    raised_ms=now_ns // 10**6,
                )
                alarm = with_messages(alarm, rule)
                self._save(alarm)
                return [alarm]
            if verdict.on is False and active_id is not None:
                alarm = self._alarms[park][active_id]
                cleared = replace(alarm, state=AlarmState.CLEARED, cleared_ms=now_ns // 10**6)
                self._save(cleared)
                return [cleared]
        return []

    def _refresh_baselines(self, park: ParkRegistry, watches: list[_Watch], now_ns: int) -> None:
        night = [w for w in watches if isinstance(w.detector, NightBaseLoadDetector)]
        if not night:
            return
        tz = zoneinfo.ZoneInfo(park.park.timezone)
        today = datetime.fromtimestamp(now_ns / _NS, tz).date()
        for rule in {w.rule.id: w.rule for w in night}.values():
            if self._baseline_day.get((park.id, rule.id)) == today:
                continue
            self._baseline_day[(park.id, rule.id)] = today
            means: dict[str, list[float]] = {}
            for lo, hi in night_windows(
                today, tz, rule.night_start_h, rule.night_end_h, rule.nights
            ):
                agg = self.store.aggregate(
                    park.id,
                    measurement=TELEMETRY,
                    fields={"s": ("sum", rule.field), "n": ("count", rule.field)},
                    start_ns=lo,
                    end_ns=hi,
                )
                for device, values in agg.items():
                    if values.get("n"):
                        means.setdefault(device, []).append(values["s"] / values["n"])
            for w in night:
                if w.rule.id == rule.id and isinstance(w.detector, NightBaseLoadDetector):
                    w.detector.baseline = night_baseline(
                        means.get(w.device or "", []), min_nights=rule.min_nights
                    )

    def _step_quarantine(self, park: ParkRegistry, now_ns: int, stored: int) -> list[Alarm]:
        rules = [
            r
            for r in self.rules.rules
            if r.kind is AlarmKind.QUARANTINE_RATE and r.applies_to_park(park.id)
        ]
        rate = self._rates[park.id]
        rate.stored.append((now_ns, stored))
        if not rules:
            return []
        longest = max(int(r.window_s * _NS) for r in rules)
        while rate.stored and rate.stored[0][0] < now_ns - longest:
            rate.stored.popleft()
        records = self.store.quarantined(park=park.id, limit=10_000)
        changed: list[Alarm] = []
        for rule in rules:
            since = now_ns - int(rule.window_s * _NS)
            q = sum(1 for r in records if r.received_ns >= since)
            n = sum(c for t, c in rate.stored if t >= since)
            verdict = quarantine_rate_verdict(
                q, n, min_count=rule.min_count, max_share=rule.above or 0.0
            )
            changed.extend(self._judge(park.id, rule, None, verdict, now_ns))
        return changed

    def _step_spool(self, now_ns: int) -> list[Alarm]:
        rules = [r for r in self.rules.rules if r.kind is AlarmKind.SPOOL_GROWING]
        if not rules or not self.metrics_url:
            return []
        spool = read_spool_bytes(self.metrics_url)
        if spool is None:
            if not self._metrics_failed:
                log.info("alarms: the collector's metrics at %s cannot be read", self.metrics_url)
                self._metrics_failed = True
            return []
        self._metrics_failed = False
        self._spool.append((now_ns, spool))
        changed: list[Alarm] = []
        for rule in rules:
            window = int(rule.window_s * _NS)
            while self._spool and self._spool[0][0] < now_ns - 2 * window:
                self._spool.popleft()
            old = [b for t, b in self._spool if t <= now_ns - window]
            verdict = spool_growth_verdict(spool, old[-1] if old else None)
            for park in self.registry.parks:
                if not rule.applies_to_park(park) or park in self.outages:
                    continue
                try:
                    changed.extend(self._judge(park, rule, None, verdict, now_ns))
                except NamedStoreUnavailableError as exc:
                    self.outages.failed(park, exc)
        return changed

    # -- the thread (services.periodic) ---------------------------------------------------------

    def start(self, *, every_s: float = 5.0) -> None:
        """Evaluate every ``every_s`` [s] in a background thread. With leases the thread also
        wakes every ``ttl_s / 8`` to notice at once that this replica gained one."""
        self._every_s = every_s
        if not self._keepers:
            super().start(every_s=every_s)
            return
        for keeper in self._keepers.values():
            keeper.run_pass()  # a lone replica holds the lease before its first pass
            keeper.start()
        shortest = min(held.ttl_s for held in self.leases.values())
        super().start(every_s=min(every_s, shortest / 8))

    def stop(self, *, timeout_s: float = 10.0) -> None:
        """Finish the current pass and stop; release the lease, so another replica takes over
        at once."""
        super().stop(timeout_s=timeout_s)
        for keeper in self._keepers.values():
            keeper.stop(timeout_s=timeout_s)

    def run_pass(self) -> bool:
        """One :meth:`step` when due (never more waiting: the engine looks at the newest data);
        with leases, a step of the parks whose lease this replica holds, and a reload of the
        stored alarms the other leaders write."""
        if not self.leases:
            self.step()
            return False
        now = time.monotonic()
        gained = []
        for name, lease in self.leases.items():
            held = lease.held
            if held and not self._leading[name]:
                gained.append(name)
            self._leading[name] = held
        if not gained and now < self._next_pass:
            return False
        self._next_pass = now + self._every_s
        if gained:
            for name in gained:
                where = f" of store {name!r}" if name else ""
                log.info("alarms: this replica evaluates (lease %r%s)", ALARM_LEASE, where)
            self._take_over(gained)
        for alarm in self.load():
            self._notify(alarm)
        if any(self._leading.values()):
            self.step()
        return False

    def _take_over(self, stores: Sequence[str]) -> None:
        """Start afresh as a new process would for the parks of ``stores`` (their leases just
        gained): new detectors warmed up from the store."""
        gained = [self.leases[name] for name in stores]
        with self._lock:
            for park in self.registry.parks.values():
                lease = self.lease_of(park.id)
                if not any(lease is g for g in gained):
                    continue
                self._watches[park.id] = self._build_watches(park)
                self._cursor.pop(park.id, None)
                self._seen.pop(park.id, None)
                self._rates[park.id] = _ParkRate()
                for key in [k for k in self._baseline_day if k[0] == park.id]:
                    del self._baseline_day[key]
            self._spool.clear()


def alarm_leases(
    store: Store, *, ttl_s: float, settle_s: float | None = None, holder: str = ""
) -> Lease | dict[str, Lease]:
    """The alarm lease(s) of this process (:func:`alarm_lease`): for a store of several named
    stores (:class:`~store.RoutedStore`) one per store, by name, each kept in its own store (so
    the parks of a store that is up keep their alarms while another is down); else one."""
    if isinstance(store, RoutedStore) and len(store.stores) > 1:
        return {
            name: alarm_lease(inner, ttl_s=ttl_s, settle_s=settle_s, holder=holder)
            for name, inner in store.stores.items()
        }
    return alarm_lease(store, ttl_s=ttl_s, settle_s=settle_s, holder=holder)


def alarm_lease(
    store: Store, *, ttl_s: float, settle_s: float | None = None, holder: str = ""
) -> Lease:
    """The lease :data:`ALARM_LEASE` of this process: ``holder`` (default ``<host>:<pid>``),
    ``ttl_s`` [s]; ``settle_s`` [s] by default the lease's own (``min(1, ttl_s / 8)``), on the
    embedded store too: a claim's write must finish within ``settle_s`` minus the clock skew,
    and one SQLite file shared with a busy collector took 48–97 ms a write in the demo, so the
    0.05 s it once had here (a 25 ms budget) dropped and retook the lease every few seconds."""
    return Lease(
        store,
        ALARM_LEASE,
        holder or f"{socket.gethostname()}:{os.getpid()}",
        ttl_s,
        settle_s=settle_s,
    )


def _stored_form(alarm: Alarm) -> Alarm:
    """``alarm`` as it reads back from the store (a NaN value or threshold is stored as -1)."""
    value = alarm.value if math.isfinite(alarm.value) else -1.0
    threshold = alarm.threshold if math.isfinite(alarm.threshold) else -1.0
    return replace(alarm, value=value, threshold=threshold)


def _detector(rule: Rule, dev: Device, tz: zoneinfo.ZoneInfo) -> Detector | None:
    registers = [stored_field_name(n, s.quantity) for n, s in dev.fields.items() if s.cumulative]
    match rule.kind:
        case AlarmKind.THRESHOLD:
            threshold = rule.threshold_for(dev.id)
            if threshold is None:
                return None
            return ThresholdDetector(
                rule.field, threshold, for_s=rule.for_s, hysteresis=rule.hysteresis
            )
        case AlarmKind.OFFLINE:
            return OfflineDetector(
                intervals=rule.intervals,
                interval_s=rule.interval_s,
                default_interval_s=rule.default_interval_s,
                min_after_s=rule.min_after_s,
            )
        case AlarmKind.REGISTER_RESET:
            if not registers:
                return None
            return RegisterResetDetector(
                registers, tolerance=rule.tolerance, clear_after_s=rule.clear_after_s
            )
        case AlarmKind.REGISTER_STUCK:
            if rule.field not in registers:
                return None
            return RegisterStuckDetector(
                rule.field, rule.power_field, for_s=rule.for_s, min_power_kw=rule.min_power_kw
            )
        case AlarmKind.NIGHT_BASE_LOAD:
            return NightBaseLoadDetector(
                rule.field,
                tz=tz,
                start_h=rule.night_start_h,
                end_h=rule.night_end_h,
                window_s=rule.window_s,
                factor=rule.factor,
                min_excess_kw=rule.min_excess_kw,
            )
    return None
