"""A pass of work repeated in a background thread: the ledger follower and the alarm engine.

A subclass implements :meth:`Periodic.run_pass`; :meth:`Periodic.start` calls it every
``every_s`` seconds (at once again while it reports more work waiting), and after a failed pass
waits twice as long each time, up to a minute, logging the failure (a store outage as one
WARNING line per retry, without a traceback). A failure never ends the thread: the next pass
retries. :meth:`Periodic.stop` lets the current pass finish.

With several stores (:class:`store.RoutedStore`) one park's store may be down while the others
answer. A worker then keeps a :class:`ParkOutages`: a park whose named store failed is skipped
until its retry time (doubling from ``first_s`` up to a minute, one WARNING line naming the park
and the store per retry, no traceback) while the other parks' work goes on every pass; the first
pass that gets through logs that the store answers again, and the park's work resumes where it
stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from config.errors import StoreUnavailableError
from store.routed import NamedStoreUnavailableError

__all__ = ["ParkOutages", "Periodic"]

_MAX_BACKOFF_S = 60.0


class Periodic:
    """Base of a background worker; ``name`` names its thread and its log lines."""

    name = "periodic"

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def run_pass(self) -> bool:
        """One pass of work; True when more is waiting (the next pass starts at once)."""
        raise NotImplementedError

    def start(self, *, every_s: float = 5.0) -> None:
        """Run passes in a background thread, one every ``every_s`` [s]."""
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(every_s,), name=self.name, daemon=True
        )
        self._thread.start()

    def stop(self, *, timeout_s: float = 10.0) -> None:
        """Finish the current pass and stop (waits up to ``timeout_s`` [s])."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self, every_s: float) -> None:
        backoff = every_s
        store_down = False
        while not self._stop.is_set():
            try:
                more = self.run_pass()
            except StoreUnavailableError as exc:
                # an outage is expected: one WARNING line per retry, never a traceback
                backoff = min(_MAX_BACKOFF_S, backoff * 2)
                store_down = True
                self._log.warning(
                    "%s: the store is unavailable (%s); retrying in %.0f s", self.name, exc, backoff
                )
            except Exception:  # a background thread must outlive any one bad pass
                self._log.exception("%s: a pass failed; retrying", self.name)
                backoff = min(_MAX_BACKOFF_S, backoff * 2)
            else:
                if store_down:
                    self._log.info("%s: the store answers again", self.name)
                    store_down = False
                backoff = every_s
                if more:
                    continue
            self._stop.wait(backoff)


@dataclass(slots=True)
class _Outage:
    store: str
    backoff_s: float
    retry_at: float


class ParkOutages:
    """Parks whose named store is down, as one worker (``name``, its log lines) sees them.

    :meth:`due` says whether to try a park this pass; :meth:`failed` records a failure (the park
    is skipped for ``first_s`` [s], then twice as long after each failed retry, up to a minute);
    :meth:`answered` records success. ``clock`` returns monotonic seconds (tests pass a fake).
    Used from one worker thread.
    """

    def __init__(
        self,
        log: logging.Logger,
        name: str,
        *,
        first_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = log
        self._name = name
        self.first_s = first_s
        self._clock = clock
        self._down: dict[str, _Outage] = {}

    def __contains__(self, park: object) -> bool:
        return park in self._down

    @property
    def parks(self) -> tuple[str, ...]:
        """The parks whose store is down, sorted."""
        return tuple(sorted(self._down))

    def due(self, park: str) -> bool:
        """True when ``park`` should be tried now: its store answered last time, or its retry
        time has come."""
        outage = self._down.get(park)
        return outage is None or self._clock() >= outage.retry_at

    def failed(self, park: str, exc: NamedStoreUnavailableError) -> None:
        """``park``'s store did not answer: skip it until the next retry (one log line)."""
        outage = self._down.get(park)
        backoff = self.first_s if outage is None else min(_MAX_BACKOFF_S, outage.backoff_s * 2)
        self._down[park] = _Outage(exc.store, backoff, self._clock() + backoff)
        self._log.warning(
            "%s: park %s skipped: %s; retrying in %.0f s", self._name, park, exc, backoff
        )

    def answered(self, park: str) -> None:
        """``park``'s work went through: when its store was down, say it answers again."""
        outage = self._down.pop(park, None)
        if outage is not None:
            self._log.info(
                "%s: park %s: the store %r answers again; catching up",
                self._name,
                park,
                outage.store,
            )
