"""Measuring one published load: the publisher process, and what InfluxDB says was stored."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import orjson

from bench._procs import CpuMeter
from store.base import TELEMETRY
from store.lineproto import quote_ident, quote_string

REPO = Path(__file__).resolve().parent.parent
BUCKET_MS = 10  # latency resolution of the publish-time buckets
POLL_S = 0.1  # how often the harness asks InfluxDB what is stored (default of --poll-s)
FIELD = "power_kw"  # every stored point of the workload has it, so count(FIELD) counts points


# -- helpers -------------------------------------------------------------------------------------


def _now_ms() -> float:
    return time.time() * 1000


def weighted_percentile(samples: dict[int, int], q: float) -> float | None:
    """The ``q`` quantile (0..1) of values with integer weights (nearest rank)."""
    total = sum(samples.values())
    if not total:
        return None
    rank = max(1, round(q * total))
    seen = 0
    for value in sorted(samples):
        seen += samples[value]
        if seen >= rank:
            return float(value)
    return float(max(samples))


def scrape_metrics(port: int | None) -> dict[str, float]:
    """The collector's Prometheus samples (name{labels} → value); empty when unreachable."""
    if not port:
        return {}
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5.0).text
    except httpx.HTTPError:
        return {}
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            with contextlib.suppress(ValueError):
                out[name] = float(value)
    return out


def lag_quantiles(
    before: list[dict[str, float]], after: list[dict[str, float]], qs: Sequence[float]
) -> dict[str, float | None]:
    """Quantiles of the collectors' own ``lag_seconds`` histogram over a phase, as the upper
    bound [s] of the bucket they fall in (Prometheus buckets: coarse, but independent of the
    harness's polling)."""
    prefix = 'smartpark_collector_lag_seconds_bucket{le="'
    cum: dict[float, float] = {}
    for b, a in zip(before, after, strict=True):
        for name, value in a.items():
            if name.startswith(prefix):
                le = float(name[len(prefix) : -2])
                cum[le] = cum.get(le, 0.0) + value - b.get(name, 0.0)
    if not cum or not cum.get(float("inf")):
        return {f"p{round(q * 100)}": None for q in qs}
    total = cum[float("inf")]
    out: dict[str, float | None] = {}
    for q in qs:
        out[f"p{round(q * 100)}"] = next(le for le in sorted(cum) if cum[le] >= q * total)
    return out


def flags(**options: object) -> list[str]:
    """``--some-option value`` pairs for a command line, from keyword arguments."""
    out = []
    for name, value in options.items():
        out += [f"--{name.replace('_', '-')}", str(value)]
    return out


class Influx:
    """The few InfluxQL calls the harness needs, over its own HTTP client."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30.0)

    def query(self, db: str, q: str) -> list[dict[str, Any]]:
        r = self.http.get("/query", params={"db": db, "q": q, "epoch": "ms"})
        r.raise_for_status()
        body = orjson.loads(r.content)
        series: list[dict[str, Any]] = []
        for result in body.get("results") or []:
            if "error" in result:
                raise RuntimeError(f"InfluxDB: {result['error']} in {q!r}")
            series.extend(result.get("series") or [])
        return series

    def execute(self, q: str) -> None:
        self.http.post("/query", params={"q": q}).raise_for_status()

    def count(
        self,
        db: str,
        *,
        park: str | None,
        field: str = FIELD,
        measurement: str = TELEMETRY,
        lo_ns: int | None = None,
        hi_ns: int | None = None,
    ) -> int:
        where = []
        if park is not None:
            where.append(f"{quote_ident('park')} = {quote_string(park)}")
        if lo_ns is not None:
            where.append(f"time >= {lo_ns}")
        if hi_ns is not None:
            where.append(f"time < {hi_ns}")
        q = f"SELECT count({quote_ident(field)}) FROM {quote_ident(measurement)}"
        if where:
            q += " WHERE " + " AND ".join(where)
        return sum(int(v[1] or 0) for s in self.query(db, q) for v in s.get("values") or [])

    def close(self) -> None:
        self.http.close()


class Publisher:
    """``bench._mqtt_pub`` as a subprocess; its progress lines are read by a thread."""

    def __init__(
        self,
        port: int,
        *,
        n: int,
        readings: int,
        devices: int,
        park: str,
        window: int,
        rate: float,
        deadline_s: float,
        log_path: Path,
    ) -> None:
        self.n = n
        self.readings = readings
        self.launched_ms = int(_now_ms())
        self._lock = threading.Lock()
        self.expected: dict[int, int] = {}
        self.upto_ms = self.launched_ms
        self.result: dict[str, Any] | None = None
        self.connected = threading.Event()  # set by its first line, right after CONNACK
        self._stderr: IO[bytes] = log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench._mqtt_pub",
                *flags(
                    port=port,
                    park=park,
                    devices=devices,
                    readings=readings,
                    n=n,
                    window=window,
                    rate=rate,
                    deadline_s=deadline_s,
                    client_id=f"bench-pub-{os.getpid()}-{time.monotonic_ns()}",
                    bucket_ms=BUCKET_MS,
                ),
            ],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            msg = orjson.loads(line)
            with self._lock:
                for bucket, readings in msg["buckets"].items():
                    b = int(bucket)
                    self.expected[b] = self.expected.get(b, 0) + readings
                self.upto_ms = msg["upto_ms"]
                self.connected.set()
                if msg.get("done"):
                    self.result = msg

    def snapshot(self) -> tuple[dict[int, int], int, bool]:
        """(readings expected per bucket, the publisher's watermark [ms], finished?)."""
        with self._lock:
            finished = self.result is not None or self.proc.poll() is not None
            return dict(self.expected), self.upto_ms, finished

    def wait(self, timeout_s: float) -> dict[str, Any] | None:
        """The publisher's final report (None if it failed or did not finish in time)."""
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.stop()
        self._reader.join(5)
        return self.result

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self._stderr.close()


@dataclass
class Phase:
    """What one published load turned into in InfluxDB."""

    name: str
    readings_expected: int
    readings_published: int = 0
    stored: int = 0
    verified_count: int | None = None
    complete: bool = False
    timed_out: bool = False
    publish_start: float = 0.0
    publish_end: float = 0.0
    all_stored_at: float | None = None
    last_increase_at: float | None = None
    rate_readings_s: float | None = None
    steady_rate_readings_s: float | None = None
    offered_msgs_s: float | None = None
    latency_ms: dict[int, int] = field(default_factory=dict)
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None
    latency_max_ms: float | None = None
    polls: int = 0
    collector_lag_s: dict[str, float | None] = field(default_factory=dict)
    collector_counts: dict[str, float] = field(default_factory=dict)
    publisher_cpu_pct: float | None = None
    cpu_pct: dict[str, float] = field(default_factory=dict)
    note: str = ""

    @property
    def loss(self) -> int:
        got = self.verified_count if self.verified_count is not None else self.stored
        return self.readings_expected - got

    def summary(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "latency_ms"}
        out["loss"] = self.loss
        return out


class StoredWatcher:
    """Polls InfluxDB for the stored readings of a park, per ``BUCKET_MS`` bucket of their ``ts``.

    A reading's ``ts`` is its publish time. Each poll counts, per bucket, the readings stored so
    far; readings that appear between two polls became queryable between the two polls' start
    times, so each gets the latency (midpoint of the two polls) − (middle of its bucket), accurate
    to about ± (poll interval + ``BUCKET_MS``) / 2. Only buckets that are not yet complete are asked
    for, so a poll stays cheap however much is stored.
    """

    def __init__(self, influx: Influx, db: str, park: str) -> None:
        self.influx = influx
        self.db = db
        self.park = park
        self.stored: dict[int, int] = {}
        self.total = 0
        self.latency_ms: dict[int, int] = {}
        self.polls = 0
        self._prev_ms: float | None = None

    def poll(self, expected: dict[int, int], upto_ms: int, floor_ms: int) -> int:
        final_before = upto_ms // BUCKET_MS  # buckets below this get no more readings
        lo = final_before
        for b, n in expected.items():
            if b < lo and self.stored.get(b, 0) < n:
                lo = b
        lo = max(min(lo, final_before), floor_ms // BUCKET_MS)
        started_ms = _now_ms()
        hi_ms = int(started_ms) + 2_000
        q = (
            f"SELECT count({quote_ident(FIELD)}) FROM {quote_ident(TELEMETRY)} "
            f"WHERE {quote_ident('park')} = {quote_string(self.park)} "
            f"AND time >= {lo * BUCKET_MS * 1_000_000} AND time < {hi_ms * 1_000_000} "
            f"GROUP BY time({BUCKET_MS}ms) fill(none)"
        )
        prev_ms = self._prev_ms if self._prev_ms is not None else float(floor_ms)
        seen_ms = (prev_ms + started_ms) / 2
        for series in self.influx.query(self.db, q):
            for t_ms, count in series.get("values") or []:
                if not count:
                    continue
                b = int(t_ms) // BUCKET_MS
                new = int(count) - self.stored.get(b, 0)
                if new <= 0:
                    continue
                self.stored[b] = int(count)
                self.total += new
                latency = round(seen_ms - (b * BUCKET_MS + BUCKET_MS / 2))
                self.latency_ms[latency] = self.latency_ms.get(latency, 0) + new
        self._prev_ms = started_ms
        self.polls += 1
        return self.total


def run_phase(
    phase: Phase,
    publisher: Publisher,
    watcher: StoredWatcher,
    *,
    timeout_s: float,
    idle_s: float,
    poll_s: float = POLL_S,
    cpu: CpuMeter | None = None,
) -> Phase:
    """Poll until every published reading is stored, nothing new arrives for ``idle_s`` after
    publishing ended, or ``timeout_s`` passes; then fill in ``phase``."""
    # CPU is measured from the publisher's connection on, not from its interpreter's start-up
    publisher.connected.wait(15)
    start = time.monotonic()
    history: list[tuple[float, int]] = []
    last_total, last_change = -1, start
    if cpu is not None:
        cpu.start()
    while True:
        expected, upto_ms, finished = publisher.snapshot()
        total = watcher.poll(expected, upto_ms, publisher.launched_ms)
        now = time.time()
        history.append((now, total))
        mono = time.monotonic()
        if total != last_total:
            last_total, last_change = total, mono
            phase.last_increase_at = now
        if finished and total >= phase.readings_expected:
            phase.complete = True
            phase.all_stored_at = now
            break
        if finished and mono - last_change > idle_s:
            phase.note = f"nothing new stored for {idle_s:.0f} s after publishing ended"
            break
        if mono - start > timeout_s:
            phase.timed_out = True
            phase.note = f"timed out after {timeout_s:.0f} s"
            break
        time.sleep(max(0.0, poll_s - (time.monotonic() - mono)))
    if cpu is not None:
        phase.cpu_pct = dict(cpu.stop())
    result = publisher.wait(30)
    phase.stored = watcher.total
    phase.polls = watcher.polls
    phase.latency_ms = watcher.latency_ms
    phase.latency_p50_ms = weighted_percentile(watcher.latency_ms, 0.50)
    phase.latency_p99_ms = weighted_percentile(watcher.latency_ms, 0.99)
    phase.latency_max_ms = float(max(watcher.latency_ms)) if watcher.latency_ms else None
    if result is None:
        phase.note = (phase.note + "; publisher failed (see its log)").lstrip("; ")
        return phase
    phase.readings_published = int(result["acked"]) * publisher.readings
    phase.publish_start, phase.publish_end = result["start"], result["end"]
    if result["timed_out"]:
        phase.note = (phase.note + "; publisher hit its deadline").lstrip("; ")
    busy_s = max(result["end"] - result["start"], 1e-9)
    phase.publisher_cpu_pct = round(100 * result["cpu_s"] / busy_s, 1)
    end = phase.all_stored_at or phase.last_increase_at
    if end is not None and phase.stored:
        phase.rate_readings_s = phase.stored / max(end - phase.publish_start, 1e-9)
    lo, hi = 0.1 * phase.readings_expected, 0.9 * phase.readings_expected
    t10 = next((t for t, n in history if n >= lo), None)
    t90 = next((t for t, n in history if n >= hi), None)
    if t10 is not None and t90 is not None and t90 > t10:
        phase.steady_rate_readings_s = (hi - lo) / (t90 - t10)
    return phase


def verify(phase: Phase, influx: Influx, db: str, park: str, result: dict[str, Any] | None) -> None:
    """``SELECT count`` over the phase's ``ts`` range: the figure that decides loss."""
    if result is None or not result["first_ms"]:
        return
    lo_ns = int(result["first_ms"]) * 1_000_000
    hi_ns = (int(result["last_ms"]) + 1) * 1_000_000
    phase.verified_count = influx.count(db, park=park, lo_ns=lo_ns, hi_ns=hi_ns)
