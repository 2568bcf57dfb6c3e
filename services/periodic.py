"""A pass of work repeated in a background thread: the ledger follower and the alarm engine.

A subclass implements :meth:`Periodic.run_pass`; :meth:`Periodic.start` calls it every
``every_s`` seconds (at once again while it reports more work waiting), and after a failed pass
waits twice as long each time, up to a minute, logging the failure (a store outage as one
WARNING line per retry, without a traceback). A failure never ends the thread: the next pass
retries. :meth:`Periodic.stop` lets the current pass finish.
"""

from __future__ import annotations

import logging
import threading

from config.errors import StoreUnavailableError

__all__ = ["Periodic"]

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
