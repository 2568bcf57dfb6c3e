"""The ledger follower of ``smartpark collect`` as a child process (``SMARTPARK_LEDGER_FOLLOW``
``process``, the default): ``smartpark follow`` started, watched and stopped by the collector.

Why a process and not a thread: in the collector the follower's passes (numpy, JSON, the
store's answers) hold the GIL that paho's network loop, the decoder and the writer wait on; on
this 2-core machine the in-process follower cost the collector 10–15 % of its single-reading
receive rate, the same follower as a process of its own about 0–5 % (docs/benchmarks.md, "The
follower as a child process"). The child is what an operator would otherwise run by hand
(``SMARTPARK_LEDGER_FOLLOW=off`` and ``smartpark follow``), started for them:

- it follows the parks by lease as holder ``SMARTPARK_CLIENT_ID``, so the children of several
  collectors (``collect --share``) split the parks, and a restarted collector's child takes its
  parks back at once (same holder); the cursor of each park lives in its store;
- it exits within a second of its parent's death (it watches its parent pid), so a collector
  killed with SIGKILL leaves no follower behind;
- when it dies, the collector logs its exit code and starts it again after a pause that doubles
  from 1 s to 60 s and falls back to 1 s after a minute of life;
- its Prometheus metrics are served on a private port of 127.0.0.1 and re-exported on the
  collector's ``/metrics`` (:class:`ChildMetrics`): one scrape target per collector, as before.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping

import httpx
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["ChildMetrics", "FollowerChild", "free_port"]

log = logging.getLogger(__name__)

_FIRST_PAUSE_S = 1.0  # before the first restart [s]
_LONGEST_PAUSE_S = 60.0  # the pause doubles up to this [s]
_STEADY_S = 60.0  # a life this long resets the pause [s]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (also the demo's broker port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FollowerChild:
    """``python -m smartpark follow --holder HOLDER --parent <this pid>`` as a supervised child.

    ``env`` is the child's environment (default: this process's); ``metrics`` gives it a
    private metrics port for :class:`ChildMetrics`. Not thread-safe: one thread calls
    :meth:`start`, :meth:`check` and :meth:`stop`.
    """

    def __init__(
        self, *, holder: str, metrics: bool = True, env: Mapping[str, str] | None = None
    ) -> None:
        self.holder = holder
        self.metrics = metrics
        self.env = dict(os.environ if env is None else env)
        self.metrics_port: int | None = None
        self.restarts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._started = 0.0  # monotonic [s]
        self._pause_s = _FIRST_PAUSE_S
        self._restart_at: float | None = None  # monotonic [s]
        self._stopping = False

    def alive(self) -> bool:
        """True while the child runs."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start the child (it logs to this process's stdout and stderr)."""
        env = dict(self.env)
        if self.metrics:
            self.metrics_port = free_port()
            env["SMARTPARK_METRICS_HOST"] = "127.0.0.1"
            env["SMARTPARK_FOLLOW_METRICS_PORT"] = str(self.metrics_port)
        else:
            self.metrics_port = None
            env["SMARTPARK_FOLLOW_METRICS_PORT"] = "0"
        args = ["follow", "--holder", self.holder, "--parent", str(os.getpid())]
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "smartpark", *args], env=env, stdin=subprocess.DEVNULL
        )
        self._started = time.monotonic()
        self._restart_at = None
        log.info("ledger follower started as process %d (holder %s)", self._proc.pid, self.holder)

    def check(self) -> None:
        """Start the child again if it died (after the pause); call every second or so."""
        if self._stopping or self._proc is None:
            return
        now = time.monotonic()
        if self._restart_at is None:
            code = self._proc.poll()
            if code is None:
                return
            if now - self._started >= _STEADY_S:
                self._pause_s = _FIRST_PAUSE_S
            log.error(
                "ledger follower (process %d) exited with code %s; starting it again in %.0f s",
                self._proc.pid,
                code,
                self._pause_s,
            )
            self._restart_at = now + self._pause_s
            self._pause_s = min(2 * self._pause_s, _LONGEST_PAUSE_S)
        if now >= self._restart_at:
            self.restarts += 1
            self.start()

    def terminate(self) -> None:
        """Ask the child to finish its pass and stop (SIGTERM); no restart after this."""
        self._stopping = True
        if self.alive():
            assert self._proc is not None
            self._proc.send_signal(signal.SIGTERM)

    def stop(self, *, timeout_s: float = 15.0) -> int | None:
        """:meth:`terminate`, then wait up to ``timeout_s`` [s] (then SIGKILL); its exit code."""
        self.terminate()
        if self._proc is None:
            return None
        try:
            return self._proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            log.error("ledger follower did not stop within %.0f s; killing it", timeout_s)
            self._proc.kill()
            return self._proc.wait()


class ChildMetrics:
    """A Prometheus collector of the child: ``smartpark_collector_follower_up`` (1 while it
    runs), ``smartpark_collector_follower_restarts_total``, and its own ``/metrics`` re-exported
    (the ``smartpark_follower_*`` families; none while it is down)."""

    def __init__(self, child: FollowerChild, *, timeout_s: float = 2.0) -> None:
        self.child = child
        self.timeout_s = timeout_s

    def describe(self) -> list[Metric]:
        """None known in advance (the registry does not collect at registration)."""
        return []

    def collect(self) -> Iterator[Metric]:
        """The supervisor's two families, then the child's, as it serves them now."""
        yield GaugeMetricFamily(
            "smartpark_collector_follower_up",
            "1 while the collector's ledger follower process runs.",
            value=1.0 if self.child.alive() else 0.0,
        )
        yield CounterMetricFamily(
            "smartpark_collector_follower_restarts",
            "Times the collector started its ledger follower process again after it died.",
            value=float(self.child.restarts),
        )
        port = self.child.metrics_port
        if port is None or not self.child.alive():
            return
        try:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=self.timeout_s).text
        except httpx.HTTPError:
            return  # starting, or stopping: its figures come back with it
        yield from text_string_to_metric_families(text)
