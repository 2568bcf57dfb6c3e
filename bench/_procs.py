"""Servers and process accounting for the benchmarks.

The servers come from ``tests.support.servers`` (private ``influxd`` / ``mosquitto`` on free
127.0.0.1 ports, signalled by PID); only the broker's config differs here: no persistence (nothing
to save between runs) and the subscribe log, which says when a collector is ready.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.support.servers import InfluxService, MosquittoService, free_port

__all__ = [
    "BenchMosquitto",
    "CpuMeter",
    "InfluxService",
    "child_pids",
    "cpu_seconds",
    "free_port",
    "peak_rss_kib",
    "wait_subscribed",
]

_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


class BenchMosquitto(MosquittoService):
    """``mosquitto`` with no queue caps, 1,000 QoS 1 messages in flight per client, no persistence.

    ``max_queued_messages`` / ``max_queued_bytes`` 0 lift the caps that silently drop messages to
    a slow subscriber (``docs/sources/performance.md`` §7.1).
    """

    def _write_config(self) -> None:
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "max_queued_messages 0",
            "max_queued_bytes 0",
            f"max_inflight_messages {self.max_inflight_messages}",
            "persistence false",
            f"log_dest file {self.root / 'broker.log'}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "log_type subscribe",
            "connection_messages true",
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # as root, mosquitto 2 would switch to user "mosquitto"
        self.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    @property
    def broker_log(self) -> Path:
        return self.root / "broker.log"

    def broker_log_text(self) -> str:
        try:
            return self.broker_log.read_text(errors="replace")
        except OSError:
            return ""


def exit_on_sigterm() -> None:
    """Make SIGTERM (``timeout``, a CI runner cancelling, ``kill PID``) end a bench as Ctrl-C
    does: through the ``finally`` blocks that stop, by PID, every server and process it
    started. Python's default for SIGTERM ends at once and leaves them running."""

    def leave(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, leave)


def wait_subscribed(broker: BenchMosquitto, needles: list[str], *, timeout_s: float) -> bool:
    """True once every needle is in a line of the broker's log.

    mosquitto logs a SUBSCRIBE as ``<time>: <client id> <qos> <filter>``, so ``": ID 1 "`` means
    "client ID has subscribed at QoS 1".
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lines = broker.broker_log_text().splitlines()
        if all(any(needle in line for line in lines) for needle in needles):
            return True
        time.sleep(0.05)
    return False


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of a live process (None when it is gone)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_S


def child_pids(pid: int | None) -> list[int]:
    """The live children of a process (e.g. a collector's ledger follower), oldest first."""
    if pid is None:
        return []
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def peak_rss_kib(pid: int | None) -> int | None:
    """``VmHWM`` (peak resident set) of a live process [KiB]."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class CpuMeter:
    """CPU % of named processes between ``start()`` and ``stop()`` (100 % = one core)."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = pids
        self._t0 = 0.0
        self._cpu0: dict[str, float | None] = {}
        self.percent: dict[str, float] = {}

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._cpu0 = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def stop(self) -> dict[str, float]:
        elapsed = max(time.monotonic() - self._t0, 1e-9)
        for name, pid in self.pids.items():
            before, after = self._cpu0.get(name), cpu_seconds(pid)
            if before is not None and after is not None:
                self.percent[name] = round(100 * (after - before) / elapsed, 1)
        return self.percent
