"""A lease kept in the store: at most one holder of a name at a time, taken over when it dies.

Several replicas of a process share one store (the embedded SQLite file of one machine, or an
InfluxDB that several machines reach); some work must run in exactly one of them (the alarm
engine, the ledger follower of one park). Each replica makes a :class:`Lease` of the same
``name`` with its own ``holder`` id and calls :meth:`Lease.try_acquire` every ``ttl_s / 3`` or
so (:class:`LeaseKeeper` does it in a thread); it does the work only while :attr:`Lease.held`.

The store offers no compare-and-swap (InfluxDB has none), only writes that overwrite a point's
identity and reads. The lease is built from those alone:

- **A claim** is one point of the ``lease`` measurement, tags ``park`` = the lease's name and
  ``device`` = the holder, fields ``since_ms`` (when this holder's tenure began), ``expires_ms``
  and ``written_ms`` (all by the holder's clock, ms since the epoch). Its time is the UTC day of
  the write, so a holder's renewals of one day overwrite one point (a day of a holder is one point,
  whatever the store's retention of raw data, as long as it is at least a day). A holder's newest
  claim is the one with the largest ``written_ms``; it is *live* while ``expires_ms`` is ahead of
  the reader's clock. Releasing writes ``expires_ms = 0``.
- **The leader** is the live claim with the earliest ``since_ms`` (ties: the smaller holder id).
  Every reader who sees the same live claims picks the same one: no vote is needed.
- **To take the lease**, a holder that sees no live claim of another writes its claim
  (``since_ms`` = now), checks the write took less than ``settle_s - max_skew_s``, waits until
  ``settle_s`` after its stamp, reads every live claim again and holds the lease iff its own
  claim is the leader. Otherwise it withdraws its claim.
- **To keep it**, the leader rewrites its claim with the same ``since_ms`` and a new
  ``expires_ms`` while at least ``settle_s`` of its current claim is left, and acts only until
  ``expires_ms - max_skew_s`` by its own clock (:attr:`Lease.held`). A renewal that comes too late
  or whose write is too slow drops the lease (the claim is withdrawn; the next try is a new claim).

Why two holders never both hold it, under the assumptions below: of two claims whose tenures
overlap, the one stamped later (B) reads ``settle_s`` after its stamp; the earlier one (A) was
stamped at most ``max_skew_s`` later in real time and its write completed within
``settle_s - max_skew_s`` of its stamp, so B's read sees A's claim, which is live (``ttl_s`` is
more than twice ``settle_s``) and earlier: B withdraws. A renewal completes at least ``max_skew_s``
before its old claim expires by the holder's clock, so nobody sees the lease lapse while its holder
still acts.

Assumptions (docs/deploy-city.md repeats them for operators):

1. **Clock skew.** The clocks of any two holders differ by at most ``max_skew_s`` (default
   ``settle_s / 2``): NTP keeps machines of one site within milliseconds; processes of one machine
   share a clock.
2. **Read after write.** A write the store has acknowledged is seen by every read that starts
   after it: true of SQLite (one file, WAL) and of one InfluxDB 1.x server (a point is queryable
   once ``/write`` answers). A store that makes writes visible later (a cluster replicating
   asynchronously, InfluxDB 3's WAL flush) needs ``settle_s`` above that lag.
3. **Pauses.** A holder checks :attr:`Lease.held` right before each act; a process frozen for
   longer than what is left of its claim (a stop-the-world pause, SIGSTOP) between the check and
   the act may act once after its lease lapsed. Nothing here can fence that off without
   compare-and-swap; idempotent writes keep the damage to one repeated act.

A store that cannot be reached makes :meth:`Lease.try_acquire` raise
:class:`~config.errors.StoreUnavailableError`; the holder then stops acting when its claim runs
out (:attr:`Lease.held` turns False by the clock alone), and nobody else can claim either.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from config.errors import StoreUnavailableError
from services.periodic import Periodic
from store.base import Point, Store

__all__ = ["LEASE", "Claim", "Lease", "LeaseKeeper"]

log = logging.getLogger("smartpark.lease")

LEASE = "lease"
"""Measurement of the lease claims: tags park = lease name, device = holder id."""

_DAY_MS = 86_400_000
_NS_PER_MS = 1_000_000


@dataclass(frozen=True, slots=True)
class Claim:
    """A holder's newest claim: times in ms since the epoch (UTC), by the holder's clock."""

    holder: str
    since_ms: int
    expires_ms: int
    written_ms: int

    def live(self, now_ms: int) -> bool:
        """True while the claim has not expired at ``now_ms`` [ms]."""
        return self.expires_ms > now_ms


class Lease:
    """The lease ``name`` as seen by ``holder``, kept in ``store``.

    ``ttl_s`` [s] is how long a claim lasts without renewal: a dead holder's lease is free again
    ``ttl_s`` after its last renewal. ``settle_s`` [s] (default ``min(1, ttl_s / 8)``) is the
    wait between writing a claim and reading who won; ``max_skew_s`` [s] (default
    ``settle_s / 2``) the clock skew allowed between holders. ``clock`` returns seconds since
    the epoch; ``sleep`` waits seconds (tests pass fakes of both).

    Thread-safe. The protocol and its assumptions are in the module docstring. A claim blocks
    for ``settle_s``: a process taking many leases (one per park) claims them from a thread pool,
    or keeps one :class:`LeaseKeeper` per lease.
    """

    def __init__(
        self,
        store: Store,
        name: str,
        holder: str,
        ttl_s: float,
        *,
        clock: Callable[[], float] = time.time,
        settle_s: float | None = None,
        max_skew_s: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not name or not holder:
            raise ValueError("a lease needs a name and a holder id")
        settle = min(1.0, ttl_s / 8) if settle_s is None else settle_s
        skew = settle / 2 if max_skew_s is None else max_skew_s
        if not ttl_s > 0 or not settle > 0 or skew < 0:
            raise ValueError(
                f"lease {name!r}: ttl_s and settle_s must be > 0, max_skew_s >= 0 "
                f"(got {ttl_s}, {settle}, {skew})"
            )
        if skew >= settle:
            raise ValueError(
                f"lease {name!r}: max_skew_s ({skew} s) must be below settle_s ({settle} s): "
                "the claim's write needs the rest of settle_s"
            )
        if ttl_s < 4 * settle:
            raise ValueError(
                f"lease {name!r}: ttl_s ({ttl_s} s) must be at least 4 x settle_s ({settle} s)"
            )
        self.store = store
        self.name = name
        self.holder_id = holder
        self.ttl_s = ttl_s
        self.settle_s = settle
        self.max_skew_s = skew
        self._clock = clock
        self._sleep = sleep
        self._ttl_ms = round(ttl_s * 1000)
        self._settle_ms = round(settle * 1000)
        self._skew_ms = round(skew * 1000)
        self._write_budget_ms = self._settle_ms - self._skew_ms
        self._lock = threading.Lock()
        self._since_ms: int | None = None  # our tenure, while we hold the lease
        self._held_until_ms = 0  # by our clock: act only before this
        self._last_written_ms = 0

    def __repr__(self) -> str:
        return f"Lease({self.name!r}, holder={self.holder_id!r}, ttl_s={self.ttl_s})"

    # -- what callers use ----------------------------------------------------------------------

    @property
    def held(self) -> bool:
        """True while this holder holds the lease by its own clock (no store access)."""
        return self._now_ms() < self._held_until_ms

    def try_acquire(self) -> bool:
        """Take the lease if it is free, renew it if we hold it: True iff we hold it now.

        Takes up to ``settle_s`` [s] when claiming. Raises StoreUnavailableError when the store
        cannot be reached (the lease is then held only until the current claim runs out)."""
        with self._lock:
            now = self._now_ms()
            claims = self._live_claims(now)
            leader = _leader(claims)
            if self._since_ms is not None:
                ours = claims.get(self.holder_id)
                if (
                    leader is not None
                    and leader is ours
                    and leader.since_ms == self._since_ms
                    and self._renew(now, leader)
                ):
                    return True
                self._drop()  # lost it, or the renewal came too late: start afresh
                claims = self._live_claims(self._now_ms())
                leader = _leader(claims)
            if leader is not None and leader.holder != self.holder_id:
                return False
            return self._claim()

    def release(self) -> None:
        """Give the lease up now (others may take it at their next try); no-op unless held."""
        with self._lock:
            if self._since_ms is not None:
                self._drop()

    def holder(self) -> str | None:
        """The holder of the lease as the store says now, or None when nobody holds it."""
        now = self._now_ms()
        leader = _leader(self._live_claims(now))
        return leader.holder if leader is not None else None

    # -- the protocol --------------------------------------------------------------------------

    def _claim(self) -> bool:
        stamp = self._now_ms()
        self._write(stamp, since_ms=stamp, expires_ms=stamp + self._ttl_ms)
        wrote = self._now_ms()
        if wrote - stamp > self._write_budget_ms:
            log.info(
                "lease %s: claim by %s took %d ms (budget %d ms); withdrawn",
                self.name,
                self.holder_id,
                wrote - stamp,
                self._write_budget_ms,
            )
            self._withdraw(since_ms=stamp)
            return False
        wait_ms = stamp + self._settle_ms - wrote
        if wait_ms > 0:
            self._sleep(wait_ms / 1000)
        claims = self._live_claims(self._now_ms())
        leader = _leader(claims)
        if leader is None or leader.holder != self.holder_id or leader.since_ms != stamp:
            self._withdraw(since_ms=stamp)
            return False
        self._since_ms = stamp
        self._held_until_ms = stamp + self._ttl_ms - self._skew_ms
        log.info("lease %s: held by %s", self.name, self.holder_id)
        return True

    def _renew(self, now_ms: int, ours: Claim) -> bool:
        """Extend our claim; False when it is too late or the write too slow to be safe."""
        if now_ms + self._write_budget_ms + self._skew_ms > ours.expires_ms:
            return False
        self._write(now_ms, since_ms=ours.since_ms, expires_ms=now_ms + self._ttl_ms)
        if self._now_ms() - now_ms > self._write_budget_ms:
            return False
        self._held_until_ms = now_ms + self._ttl_ms - self._skew_ms
        return True

    def _drop(self) -> None:
        since = self._since_ms
        self._since_ms = None
        self._held_until_ms = 0
        if since is not None:
            log.info("lease %s: %s no longer holds it", self.name, self.holder_id)
            self._withdraw(since_ms=since)

    def _withdraw(self, *, since_ms: int) -> None:
        """Best effort: a withdrawal that fails leaves a claim that expires by itself."""
        try:
            self._write(self._now_ms(), since_ms=since_ms, expires_ms=0)
        except StoreUnavailableError as exc:
            log.info("lease %s: withdrawal by %s failed (%s)", self.name, self.holder_id, exc)

    # -- the store -----------------------------------------------------------------------------

    def _write(self, now_ms: int, *, since_ms: int, expires_ms: int) -> None:
        written = max(now_ms, self._last_written_ms + 1)  # a holder's claims strictly in order
        self._last_written_ms = written
        day_ns = (written - written % _DAY_MS) * _NS_PER_MS
        point = Point(
            LEASE,
            {"park": self.name, "device": self.holder_id},
            {
                "since_ms": float(since_ms),
                "expires_ms": float(expires_ms),
                "written_ms": float(written),
            },
            day_ns,
        )
        self.store.write([point])

    def _live_claims(self, now_ms: int) -> dict[str, Claim]:
        """Each holder's newest claim, where it is live at ``now_ms``."""
        oldest = now_ms - self._ttl_ms - self._skew_ms
        start_ns = (oldest - oldest % _DAY_MS) * _NS_PER_MS
        end_ns = (now_ms - now_ms % _DAY_MS + 2 * _DAY_MS) * _NS_PER_MS
        rows = self.store.scan(self.name, measurement=LEASE, start_ns=start_ns, end_ns=end_ns)
        newest: dict[str, Claim] = {}
        for row in rows:
            f = row.fields
            if not {"since_ms", "expires_ms", "written_ms"} <= f.keys():
                continue
            claim = Claim(
                row.device, int(f["since_ms"]), int(f["expires_ms"]), int(f["written_ms"])
            )
            known = newest.get(claim.holder)
            if known is None or claim.written_ms > known.written_ms:
                newest[claim.holder] = claim
        return {h: c for h, c in newest.items() if c.live(now_ms)}

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)


def _leader(claims: dict[str, Claim]) -> Claim | None:
    """The live claim that holds the lease: earliest tenure, then smallest holder id."""
    if not claims:
        return None
    return min(claims.values(), key=lambda c: (c.since_ms, c.holder))


class LeaseKeeper(Periodic):
    """Tries to take or renew ``lease`` every ``ttl_s / 8`` in a background thread, so the work
    it guards never delays a renewal; :meth:`stop` releases the lease. ``on_change(held)`` is
    called (from the keeper's thread) when this holder gains or loses the lease."""

    name = "lease-keeper"

    def __init__(self, lease: Lease, *, on_change: Callable[[bool], None] | None = None) -> None:
        super().__init__(log)
        self.lease = lease
        self.on_change = on_change
        self._was_held = False
        self._store_down = False

    def start(self, *, every_s: float | None = None) -> None:
        """Run in a thread, one try every ``every_s`` [s] (default ``ttl_s / 8``: a free lease is
        taken at most ``ttl_s / 8 + settle_s`` after it lapsed)."""
        super().start(every_s=every_s if every_s is not None else self.lease.ttl_s / 8)

    def run_pass(self) -> bool:
        """One try; a store outage is logged once and retried at the normal pace (a keeper that
        backed off would lose the lease to its own back-off)."""
        try:
            self.lease.try_acquire()
        except StoreUnavailableError as exc:
            if not self._store_down:
                log.warning("lease %s: the store is unavailable (%s)", self.lease.name, exc)
                self._store_down = True
        else:
            self._store_down = False
        held = self.lease.held
        if held != self._was_held:
            self._was_held = held
            if self.on_change is not None:
                self.on_change(held)
        return False

    def stop(self, *, timeout_s: float = 10.0) -> None:
        """Stop trying and release the lease, so another replica takes over at once."""
        super().stop(timeout_s=timeout_s)
        try:
            self.lease.release()
        except StoreUnavailableError as exc:
            log.info("lease %s: release failed (%s); it expires by itself", self.lease.name, exc)
