"""Ingest benchmark: MQTT → ``smartpark collect`` → InfluxDB, against its ceilings and a peer.

``python -m bench.ingest [--quick] [--runs N] [--json FILE]`` measures, in one run, on this
machine:

1. the ceilings: mosquitto → a bare paho 2.x subscriber at QoS 1 [messages/s], and InfluxDB's
   own ingest of pre-encoded 5,000-line batches from one writer [points/s];
2. ``smartpark collect`` end to end (published → counted in InfluxDB), QoS 1, for single-reading
   messages and for 100-reading gateway batches, with one collector process and with two sharing
   one subscription: readings/s, loss, publish→stored latency (p50/p99) and peak RSS;
3. the same single-reading workload through ``mqtt2influxdb`` 1.5.2 in its own virtualenv;
4. the formats (``--only formats``; :func:`bench_formats`): the collector's decode stage, the one
   step that differs between payload formats, in this process, for the native JSON (single
   readings and 100-reading batches), each shipped payload mapping (config/mappings) and Sparkplug
   B DDATA: readings/s. The MQTT receive and the store write cost the same per message and
   reading whatever the format; they are measured by the cases above.

Every server is private (127.0.0.1, free ports, temporary folder), every load is bounded in count
and time, every wait has a timeout, and every process the benchmark starts is stopped by PID on
the way out. How the figures are computed, and why, is in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal
from zoneinfo import ZoneInfo

import httpx
import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench._measure import (
    POLL_S,
    REPO,
    Influx,
    Phase,
    Publisher,
    StoredWatcher,
    flags,
    lag_quantiles,
    run_phase,
    scrape_metrics,
    verify,
)
from bench._procs import (
    BenchMosquitto,
    CpuMeter,
    InfluxService,
    child_pids,
    cpu_seconds,
    exit_on_sigterm,
    free_port,
    peak_rss_kib,
    wait_subscribed,
)
from bench._report import (
    M2I_VERSION,
    TARGET_BATCH,
    TARGET_BATCH_OF_INFLUX,
    TARGET_SINGLE_PER_PROCESS,
    build_table,
    details,
    machine_notes,
)
from config.registry import load_registry
from ingest.collector import Router
from ingest.decode import Decoder
from ingest.mapping import load_mappings, shipped_mappings_path
from ingest.sparkplug import DataType, new_payload
from store.base import LEDGER_DAY, TELEMETRY, Point
from store.lineproto import encode_points, quote_ident

__all__ = ["main"]

PARK = "bench"
WARMUP_PARK = "warmup"
WARMUP_MESSAGES = 20
PROBE_KWH = 50.0  # the roll-up lag probe raises the warm-up meter's register by this [kWh]
PROBE_TIMEOUT_S = 180.0
SHARE_GROUP = "bench"


# -- processes under test ------------------------------------------------------------------------


class Collector:
    """``smartpark collect`` as a subprocess, configured only through ``SMARTPARK_*``."""

    def __init__(
        self,
        *,
        name: str,
        env: dict[str, str],
        workdir: Path,
        share: str | None,
        command: str = "collect",
    ) -> None:
        self.name = name
        self.client_id = env["SMARTPARK_CLIENT_ID"]
        self.metrics_port = int(env.get("SMARTPARK_METRICS_PORT", "0"))
        self.log_path = workdir / f"{name}.log"
        workdir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTPARK_")}
        full_env["PYTHONPATH"] = str(REPO)
        full_env.update(env)
        args = [sys.executable, "-m", "smartpark", command]
        if share:
            args += ["--share", share]
        # cwd = its own folder, so no stray .env file is read
        self.proc = subprocess.Popen(
            args,
            cwd=workdir,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.exit_code: int | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc.poll() is None else None

    def stop(self, timeout_s: float = 20.0) -> int | None:
        """SIGTERM (the collector flushes and acknowledges), SIGKILL if it does not exit."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait()
        self._log.close()
        self.exit_code = self.proc.returncode
        return self.exit_code

    def log_findings(self) -> dict[str, Any]:
        text = self.log_path.read_text(errors="replace")
        lines = text.splitlines()
        bad = [ln for ln in lines if "WARNING" in ln or "ERROR" in ln or "Traceback" in ln]
        final = next((ln for ln in reversed(lines) if "stopped:" in ln), "")
        return {"warnings_errors": len(bad), "examples": bad[:5], "final_line": final}


def registry_dir(root: Path, devices: int) -> Path:
    """A registry folder: park ``bench`` with ``devices`` meters, park ``warmup`` with one."""
    folder = root / "registry"
    folder.mkdir(parents=True, exist_ok=True)
    for park, count in ((PARK, devices), (WARMUP_PARK, 1)):
        lines = [
            f"park: {{id: {park}, name: Benchmark park {park}, timezone: Asia/Shanghai,",
            "       latitude: 30.47, longitude: 114.53, grid_region: central_china}",
            "devices:",
            "  - {id: m-0000, kind: electricity_meter, role: grid_connection}",
        ]
        lines += [
            f"  - {{id: m-{i:04d}, kind: electricity_meter, role: load, parent: m-0000}}"
            for i in range(1, count)
        ]
        (folder / f"{park}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def broker_findings(broker: BenchMosquitto, client_ids: Sequence[str]) -> list[str]:
    """Broker log lines that matter: drops, errors, and disconnects of the clients under test."""
    out = []
    for line in broker.broker_log_text().splitlines():
        low = line.lower()
        if (
            "dropped" in low
            or "out of memory" in low
            or "error" in low
            or (
                any(f" {cid} " in line or f" {cid}." in line for cid in client_ids)
                and ("disconnect" in low or "timeout" in low or "exceeded" in low)
            )
        ):
            out.append(line)
    return out


# -- the benchmark -------------------------------------------------------------------------------


@dataclass
class Config:
    runs: int
    n_single: int
    n_batch_readings: int
    batch_readings: int
    n_paho: int
    influx_batches: int
    influx_batch_lines: int
    n_m2i: int
    devices: int
    window: int
    paced_fraction: float
    paced_s: float
    phase_timeout_s: float
    idle_s: float
    poll_s: float
    only: set[str]
    m2i_venv: Path
    collector_env: dict[str, str]
    keep: bool


class Bench:
    """One benchmark invocation: a private influxd for the whole run, a fresh broker per case."""

    def __init__(self, cfg: Config, root: Path) -> None:
        self.cfg = cfg
        self.root = root
        self.influxd = InfluxService(root / "influxd")
        self.influx: Influx | None = None
        self._seq = 0

    def _dir(self, label: str) -> Path:
        self._seq += 1
        path = self.root / f"{self._seq:02d}-{label}"
        path.mkdir(parents=True)
        return path

    @contextlib.contextmanager
    def _broker(self, workdir: Path) -> Iterator[BenchMosquitto]:
        broker = BenchMosquitto(workdir / "mosquitto", max_inflight_messages=1000)
        broker.start()
        try:
            yield broker
        finally:
            broker.stop()

    def _db(self, name: str) -> str:
        assert self.influx is not None
        self.influx.execute(f"CREATE DATABASE {quote_ident(name)}")
        return name

    def _drop(self, name: str) -> None:
        assert self.influx is not None
        with contextlib.suppress(httpx.HTTPError):
            self.influx.execute(f"DROP DATABASE {quote_ident(name)}")

    # ceiling (a)
    def paho_ceiling(self, run: int) -> dict[str, Any]:
        cfg = self.cfg
        work = self._dir("paho-ceiling")
        out: dict[str, Any] = {"case": "paho_qos1", "run": run, "n": cfg.n_paho}
        with self._broker(work) as broker:
            sub_log = (work / "paho_sub.stderr").open("wb")
            sub = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench._paho_sub",
                    *flags(
                        port=broker.port,
                        n=cfg.n_paho,
                        idle_s=cfg.idle_s,
                        deadline_s=cfg.phase_timeout_s,
                    ),
                ],
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=sub_log,
            )
            pub: Publisher | None = None
            try:
                assert sub.stdout is not None
                ready = _read_json_line(sub.stdout, timeout_s=20)
                if not ready or not ready.get("ready"):
                    out["error"] = "subscriber did not become ready"
                    return out
                meter = CpuMeter({"mosquitto": broker.pid, "paho_sub": sub.pid})
                meter.start()
                pub = Publisher(
                    broker.port,
                    n=cfg.n_paho,
                    readings=1,
                    devices=cfg.devices,
                    park=PARK,
                    window=cfg.window,
                    rate=0,
                    deadline_s=cfg.phase_timeout_s,
                    log_path=work / "publisher.log",
                )
                done = _read_json_line(sub.stdout, timeout_s=cfg.phase_timeout_s + 15)
                out["cpu_pct"] = meter.stop()
                pub_result = pub.wait(30)
                if not done:
                    out["error"] = "subscriber did not report"
                    return out
                if pub_result is None:
                    out["error"] = "publisher failed (see its log)"
                count = int(done["count"])
                span = done["last"] - done["first"]
                out.update(
                    received=count,
                    loss=cfg.n_paho - count,
                    msgs_s=(count - 1) / span if span > 0 else None,
                    msgs_s_from_publish_start=(
                        count / (done["last"] - pub_result["start"]) if pub_result else None
                    ),
                    subscriber_cpu_s=done["cpu_s"],
                    subscriber_us_per_msg=1e6 * done["cpu_s"] / max(count, 1),
                    publisher_cpu_s=pub_result["cpu_s"] if pub_result else None,
                    timed_out=done["timed_out"],
                    broker_findings=broker_findings(broker, []),
                )
            finally:
                if pub is not None:
                    pub.stop()
                if sub.poll() is None:
                    sub.send_signal(signal.SIGKILL)
                sub.wait()
                sub_log.close()
        return out

    # ceiling (b)
    def influx_ceiling(self, run: int) -> dict[str, Any]:
        cfg = self.cfg
        assert self.influx is not None
        db = self._db(f"bench_ceiling_r{run}")
        n = cfg.influx_batches * cfg.influx_batch_lines
        out: dict[str, Any] = {"case": "influx_write", "run": run, "points": n}
        try:
            # the collector's own line shape: telemetry,device=…,park=… energy_kwh=…,power_kw=… ns
            base_ns = (int(time.time()) - 86_400) * 10**9
            bodies = []
            for b in range(cfg.influx_batches):
                points = []
                for j in range(b * cfg.influx_batch_lines, (b + 1) * cfg.influx_batch_lines):
                    d = j % cfg.devices
                    points.append(
                        Point(
                            TELEMETRY,
                            {"park": "ceiling", "device": f"m-{d:04d}"},
                            {"energy_kwh": 1000.0 + j * 0.001, "power_kw": 1.0 + d % 97 * 0.5},
                            base_ns + j * 1_000,
                        )
                    )
                bodies.append(encode_points(points))
            assert self.influxd.pid is not None
            meter = CpuMeter({"influxd": self.influxd.pid})
            with httpx.Client(base_url=self.influxd.url, timeout=60.0) as http:
                cpu0 = time.process_time()
                meter.start()
                t0 = time.perf_counter()
                for body in bodies:
                    r = http.post(
                        "/write",
                        params={"db": db, "precision": "ns"},
                        content=body,
                        headers={"Content-Type": "text/plain; charset=utf-8"},
                    )
                    if r.status_code != 204:
                        raise RuntimeError(f"InfluxDB /write answered {r.status_code}: {r.text}")
                elapsed = time.perf_counter() - t0
                out["cpu_pct"] = meter.stop()
                out["writer_cpu_pct"] = round(100 * (time.process_time() - cpu0) / elapsed, 1)
            counted = self.influx.count(db, park="ceiling")
            out.update(
                elapsed_s=elapsed,
                points_s=n / elapsed,
                counted=counted,
                loss=n - counted,
                bytes_per_batch=len(bodies[0]),
            )
        finally:
            self._drop(db)
        return out

    # the collector
    def collector_case(
        self,
        run: int,
        *,
        readings: int,
        procs: int,
        follow: Literal["process", "thread", "off"] | None = None,
        pair: bool = False,
    ) -> dict[str, Any]:
        """One collector case; ``follow`` sets ``SMARTPARK_LEDGER_FOLLOW``: ``process`` (each
        collector's follower is its child, whose CPU counts with it), ``thread`` (inside the
        collector) or ``off`` (it still writes touched marks); None leaves it to
        ``--collector-env`` or the collector's default (``process``); ``pair`` adds a
        ``smartpark follow`` process beside the collector(s), whose CPU counts too."""
        cfg = self.cfg
        assert self.influx is not None
        kind = "single" if readings == 1 else f"batch{readings}"
        suffix = {None: "", "process": "", "thread": "_thread", "off": "_nofollow"}[follow]
        case = f"{kind}_{procs}p" + ("_pair" if pair else suffix)
        work = self._dir(f"collector-{case}")
        n_readings = cfg.n_single if readings == 1 else cfg.n_batch_readings
        n_msgs = max(1, n_readings // readings)
        n_readings = n_msgs * readings
        db = self._db(f"bench_{case}_r{run}")
        registry = registry_dir(work, cfg.devices)
        out: dict[str, Any] = {
            "case": case,
            "run": run,
            "processes": procs,
            "readings_per_message": readings,
            "messages": n_msgs,
            "readings": n_readings,
        }
        collectors: list[Collector] = []
        follower: Collector | None = None
        with self._broker(work) as broker:
            try:
                for i in range(procs):
                    env = {
                        "SMARTPARK_MQTT_URL": broker.url,
                        "SMARTPARK_STORE_URL": self.influxd.store_url(db),
                        "SMARTPARK_CLIENT_ID": f"bench-{case}-r{run}-c{i + 1}",
                        "SMARTPARK_DATA_DIR": str(work / f"c{i + 1}-data"),
                        "SMARTPARK_REGISTRY": str(registry),
                        # the collector's own lag histogram cross-checks the harness's latency
                        "SMARTPARK_METRICS_PORT": str(free_port()),
                        **cfg.collector_env,
                    }
                    if follow is not None:
                        env["SMARTPARK_LEDGER_FOLLOW"] = follow
                    collectors.append(
                        Collector(
                            name=f"collector-{i + 1}",
                            env=env,
                            workdir=work,
                            share=SHARE_GROUP if procs > 1 else None,
                        )
                    )
                if pair:
                    follower = Collector(
                        name="follower",
                        env={**env, "SMARTPARK_METRICS_PORT": "0", "SMARTPARK_CLIENT_ID": "f"},
                        workdir=work,
                        share=None,
                        command="follow",
                    )
                ids = [c.client_id for c in collectors]
                if not wait_subscribed(broker, [f": {cid} 1 " for cid in ids], timeout_s=30):
                    out["error"] = "collector(s) did not subscribe within 30 s"
                    return out
                warm = self._warmup(broker, db, work, WARMUP_MESSAGES * procs)
                if warm is not None:
                    out["error"] = warm
                    return out
                burst = self._collector_phase(
                    "burst", broker, collectors, db, work, n_msgs, readings, rate=0, also=follower
                )
                out["burst"] = burst.summary()
                out["burst_latency_ms"] = burst.latency_ms
                if (follow != "off" or pair) and burst.complete:
                    out["rollup_lag"] = self._rollup_lag(broker, db)
                if burst.complete and burst.rate_readings_s:
                    offered = cfg.paced_fraction * burst.rate_readings_s / readings
                    paced_msgs = max(1, int(offered * cfg.paced_s))
                    paced = self._collector_phase(
                        "paced", broker, collectors, db, work, paced_msgs, readings, rate=offered
                    )
                    paced.offered_msgs_s = offered
                    out["paced"] = paced.summary()
                    out["paced_latency_ms"] = paced.latency_ms
                else:
                    out["paced"] = None
                out["peak_rss_kib"] = {c.name: peak_rss_kib(c.pid) for c in collectors}
                out["cpu_s_total"] = {c.name: cpu_seconds(c.pid) for c in collectors}
                for c in collectors:  # their follower children
                    for child in child_pids(c.pid):
                        out["peak_rss_kib"][f"{c.name}-follower"] = peak_rss_kib(child)
                        out["cpu_s_total"][f"{c.name}-follower"] = cpu_seconds(child)
                out["alive_at_end"] = {c.name: c.pid is not None for c in collectors}
                out["broker_findings"] = broker_findings(broker, ids)
                out["quarantined"] = self.influx.count(
                    db, park=None, field="detail", measurement="quarantine"
                )
            finally:
                for c in collectors:
                    c.stop()
                if follower is not None:
                    follower.stop()
                    out["follower_log"] = follower.log_findings()
                out["exit_codes"] = {c.name: c.exit_code for c in collectors}
                out["collector_logs"] = {c.name: c.log_findings() for c in collectors}
                self._drop(db)
        return out

    def _rollup_lag(self, broker: BenchMosquitto, db: str) -> dict[str, Any]:
        """How long after a reading is stored the park's day roll-up holds it [s].

        Right after a burst (the follower may still be working through it): one probe reading
        of park ``warmup``'s meter raises its register by :data:`PROBE_KWH` over the warm-up's
        readings; the time from the probe being stored to today's ``ledger_day`` energy of
        that meter reaching it is the lag."""
        assert self.influx is not None
        from store import open_store

        store = open_store(self.influxd.store_url(db), data_dir=self.root)
        try:
            ts_ms = int(time.time() * 1000)
            payload = orjson.dumps({"ts": ts_ms, "energy": 1000.0 + PROBE_KWH, "power": 1.0})
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-probe")
            client.connect("127.0.0.1", broker.port)
            client.loop_start()
            sent = time.monotonic()
            info = client.publish(f"parks/{WARMUP_PARK}/devices/m-0000/telemetry", payload, qos=1)
            info.wait_for_publish(10)
            client.disconnect()
            client.loop_stop()
            stored_at = rolled_at = None
            day0 = (ts_ms - 2 * 86_400_000) * 1_000_000
            end = (ts_ms + 86_400_000) * 1_000_000
            while time.monotonic() - sent < PROBE_TIMEOUT_S:
                if stored_at is None:
                    latest = store.latest(WARMUP_PARK)
                    if latest and latest[0].time_ns >= ts_ms * 1_000_000:
                        stored_at = time.monotonic()
                if stored_at is not None:
                    sums = store.aggregate(
                        WARMUP_PARK,
                        measurement=LEDGER_DAY,
                        fields={"e": ("sum", "energy_kwh")},
                        start_ns=day0,
                        end_ns=end,
                    )
                    if sums.get("m-0000", {}).get("e", 0.0) >= PROBE_KWH - 1e-6:
                        rolled_at = time.monotonic()
                        break
                time.sleep(0.5)
            return {
                "stored_s": None if stored_at is None else round(stored_at - sent, 2),
                "lag_s": (
                    None
                    if stored_at is None or rolled_at is None
                    else round(rolled_at - stored_at, 2)
                ),
                "timeout_s": PROBE_TIMEOUT_S,
            }
        finally:
            store.close()

    def _warmup(self, broker: BenchMosquitto, db: str, work: Path, n: int) -> str | None:
        """Publish a few readings to park ``warmup`` and wait until all are stored."""
        assert self.influx is not None
        pub = Publisher(
            broker.port,
            n=n,
            readings=1,
            devices=1,
            park=WARMUP_PARK,
            window=10,
            rate=0,
            deadline_s=20,
            log_path=work / "publisher.log",
        )
        try:
            if pub.wait(25) is None:
                return "warm-up publisher failed"
            deadline = time.monotonic() + 30
            got = 0
            while time.monotonic() < deadline:
                with contextlib.suppress(RuntimeError, httpx.HTTPError):
                    got = self.influx.count(db, park=WARMUP_PARK)
                if got >= n:
                    return None
                time.sleep(0.1)
            return f"warm-up: {got} of {n} readings stored after 30 s"
        finally:
            pub.stop()

    def _collector_phase(
        self,
        name: str,
        broker: BenchMosquitto,
        collectors: Sequence[Collector],
        db: str,
        work: Path,
        n_msgs: int,
        readings: int,
        *,
        rate: float,
        also: Collector | None = None,
    ) -> Phase:
        cfg = self.cfg
        assert self.influx is not None
        pids: dict[str, int | None] = {c.name: c.pid for c in collectors}
        for c in collectors:  # their follower children (SMARTPARK_LEDGER_FOLLOW=process)
            for i, child in enumerate(child_pids(c.pid)):
                pids[f"{c.name}-follower{i or ''}"] = child
        if also is not None:  # a `smartpark follow` beside the collectors
            pids[also.name] = also.pid
        pids |= {"mosquitto": broker.pid, "influxd": self.influxd.pid}
        metrics_before = [scrape_metrics(c.metrics_port) for c in collectors]
        publish_s = n_msgs / rate if rate > 0 else 0.0
        pub = Publisher(
            broker.port,
            n=n_msgs,
            readings=readings,
            devices=cfg.devices,
            park=PARK,
            window=cfg.window,
            rate=rate,
            deadline_s=cfg.phase_timeout_s + publish_s,
            log_path=work / "publisher.log",
        )
        phase = Phase(name, n_msgs * readings)
        try:
            watcher = StoredWatcher(self.influx, db, PARK)
            run_phase(
                phase,
                pub,
                watcher,
                timeout_s=cfg.phase_timeout_s + publish_s,
                idle_s=cfg.idle_s,
                poll_s=cfg.poll_s,
                cpu=CpuMeter(pids),
            )
            verify(phase, self.influx, db, PARK, pub.result)
        finally:
            pub.stop()
        metrics_after = [scrape_metrics(c.metrics_port) for c in collectors]
        phase.collector_lag_s = lag_quantiles(metrics_before, metrics_after, (0.5, 0.99))
        # every counter, gauge and histogram sum/count of the collectors, as a change over the phase
        for b, a in zip(metrics_before, metrics_after, strict=True):
            for key, value in a.items():
                if key.startswith("smartpark_collector_") and "_bucket{" not in key:
                    short = key.removeprefix("smartpark_collector_")
                    delta = value - b.get(key, 0.0)
                    phase.collector_counts[short] = phase.collector_counts.get(short, 0.0) + delta
        return phase

    # the peer
    def m2i_case(self, run: int) -> dict[str, Any]:
        cfg = self.cfg
        assert self.influx is not None
        out: dict[str, Any] = {
            "case": "m2i_single",
            "run": run,
            "readings": cfg.n_m2i,
            "devices": cfg.devices,
        }
        binary = ensure_m2i(cfg.m2i_venv)
        if binary is None:
            out["error"] = f"could not create the mqtt2influxdb venv in {cfg.m2i_venv}"
            return out
        work = self._dir("m2i")
        db = f"bench_m2i_r{run}"
        with self._broker(work) as broker:
            conf = work / "mqtt2influxdb.yaml"
            conf.write_text(
                f"""\
mqtt:
  host: 127.0.0.1
  port: {broker.port}
influxdb:
  host: 127.0.0.1
  port: {self.influxd.http_port}
  database: {db}
points:
  - measurement: {TELEMETRY}
    topic: parks/+/devices/+/telemetry
    fields:
      energy: $.payload.energy
      power: $.payload.power
    tags:
      park: $.topic[1]
      device: $.topic[3]
""",
                encoding="utf-8",
            )
            log_path = work / "mqtt2influxdb.log"
            log = log_path.open("wb")
            proc = subprocess.Popen(
                [str(binary), "-c", str(conf)],
                cwd=work,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            pub: Publisher | None = None
            try:
                # paho generates its client id, so wait for the subscription itself (QoS 0)
                if not wait_subscribed(broker, [" 0 parks/+/devices/+/telemetry"], timeout_s=30):
                    out["error"] = "mqtt2influxdb did not subscribe within 30 s"
                    return out
                warm = self._m2i_warmup(broker, db, work)
                if warm is not None:
                    out["error"] = warm
                    return out
                meter = CpuMeter(
                    {
                        "mqtt2influxdb": proc.pid,
                        "mosquitto": broker.pid,
                        "influxd": self.influxd.pid,
                    }
                )
                pub = Publisher(
                    broker.port,
                    n=cfg.n_m2i,
                    readings=1,
                    devices=cfg.devices,
                    park=PARK,
                    window=cfg.window,
                    rate=0,
                    deadline_s=cfg.phase_timeout_s,
                    log_path=work / "publisher.log",
                )
                # mqtt2influxdb stamps its own clock (whole seconds), not ts: count, no latency
                timeout_s = max(cfg.phase_timeout_s, cfg.n_m2i / 200 + 30)
                phase = Phase("burst", cfg.n_m2i)
                meter.start()
                start = time.monotonic()
                last_total, last_change = -1, start
                while True:
                    total = self.influx.count(db, park=PARK, field="power")
                    now, mono = time.time(), time.monotonic()
                    if total != last_total:
                        last_total, last_change = total, mono
                        phase.last_increase_at = now
                    _, _, finished = pub.snapshot()
                    if finished and total >= cfg.n_m2i:
                        phase.complete, phase.all_stored_at = True, now
                        break
                    if finished and mono - last_change > cfg.idle_s:
                        phase.note = f"nothing new stored for {cfg.idle_s:.0f} s"
                        break
                    if mono - start > timeout_s:
                        phase.timed_out = True
                        phase.note = f"timed out after {timeout_s:.0f} s"
                        break
                    time.sleep(0.5)
                phase.cpu_pct = meter.stop()
                result = pub.wait(30)
                phase.stored = phase.verified_count = last_total
                if result is not None:
                    phase.readings_published = int(result["acked"])
                    phase.publish_start, phase.publish_end = result["start"], result["end"]
                    end = phase.all_stored_at or phase.last_increase_at
                    if end and phase.stored:
                        phase.rate_readings_s = phase.stored / (end - phase.publish_start)
                out["burst"] = phase.summary()
                out["peak_rss_kib"] = peak_rss_kib(proc.pid if proc.poll() is None else None)
                out["broker_findings"] = broker_findings(broker, [])
            finally:
                if pub is not None:
                    pub.stop()
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        proc.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        proc.send_signal(signal.SIGKILL)
                        proc.wait()
                log.close()
                text = log_path.read_text(errors="replace").splitlines()
                out["m2i_log"] = [ln for ln in text if "Disconnect" in ln or "ERROR" in ln][:10]
                self._drop(db)
        return out

    def _m2i_warmup(self, broker: BenchMosquitto, db: str, work: Path) -> str | None:
        assert self.influx is not None
        pub = Publisher(
            broker.port,
            n=5,
            readings=1,
            devices=1,
            park=WARMUP_PARK,
            window=1,
            rate=2,  # mqtt2influxdb stamps whole seconds: one device, so at most one a second
            deadline_s=20,
            log_path=work / "publisher.log",
        )
        try:
            if pub.wait(25) is None:
                return "warm-up publisher failed"
            deadline = time.monotonic() + 30
            got = 0
            while time.monotonic() < deadline:
                with contextlib.suppress(RuntimeError, httpx.HTTPError):
                    got = self.influx.count(db, park=WARMUP_PARK, field="power")
                if got >= 1:
                    return None
                time.sleep(0.2)
            return "warm-up: mqtt2influxdb stored nothing in 30 s"
        finally:
            pub.stop()

    def run(self) -> list[dict[str, Any]]:
        cfg = self.cfg
        cases: list[tuple[str, Callable[[int], dict[str, Any]]]] = [
            ("paho", self.paho_ceiling),
            ("influx", self.influx_ceiling),
            ("single1", lambda r: self.collector_case(r, readings=1, procs=1)),
            ("single1nf", lambda r: self.collector_case(r, readings=1, procs=1, follow="off")),
            ("single1th", lambda r: self.collector_case(r, readings=1, procs=1, follow="thread")),
            (
                "single1pair",
                lambda r: self.collector_case(r, readings=1, procs=1, follow="off", pair=True),
            ),
            ("single2", lambda r: self.collector_case(r, readings=1, procs=2)),
            ("batch1", lambda r: self.collector_case(r, readings=cfg.batch_readings, procs=1)),
            ("batch2", lambda r: self.collector_case(r, readings=cfg.batch_readings, procs=2)),
            ("m2i", self.m2i_case),
        ]
        results = []
        self.influxd.start()
        self.influx = Influx(self.influxd.url)
        try:
            for run in range(1, cfg.runs + 1):
                compared = [k for k in _FOLLOW_VARIANTS if not cfg.only or k in cfg.only]
                for key, fn in _rotated(cases, compared, run - 1):
                    if cfg.only and key not in cfg.only:
                        continue
                    t0 = time.monotonic()
                    print(f"[run {run}/{cfg.runs}] {key} …", file=sys.stderr, flush=True)
                    try:
                        res = fn(run)
                    except Exception as exc:
                        res = {"case": key, "run": run, "error": f"{type(exc).__name__}: {exc}"}
                    res["wall_s"] = round(time.monotonic() - t0, 1)
                    res["loadavg_after"] = os.getloadavg()
                    results.append(res)
                    print(f"    {_one_line(res)}", file=sys.stderr, flush=True)
        finally:
            self.influx.close()
            self.influxd.stop()
        return results


_FOLLOW_VARIANTS = ("single1", "single1nf", "single1th", "single1pair")
"""The one-collector single-reading cases whose rates are compared with each other."""


def _rotated(
    cases: list[tuple[str, Callable[[int], dict[str, Any]]]], keys: Sequence[str], by: int
) -> list[tuple[str, Callable[[int], dict[str, Any]]]]:
    """``cases`` with those named in ``keys`` rotated by ``by`` places among their own slots:
    run N starts the compared cases at another one, so a machine's load drifting during a run
    does not always fall on the same case (the others keep their places)."""
    slots = [i for i, (key, _) in enumerate(cases) if key in keys]
    if not slots:
        return list(cases)
    moving = [cases[i] for i in slots]
    k = by % len(moving)
    moving = moving[k:] + moving[:k]
    out = list(cases)
    for i, case in zip(slots, moving, strict=True):
        out[i] = case
    return out


# -- the formats: the collector's decode stage per payload format ------------------------------


def _format_messages(name: str, n_readings: int, now_ms: int) -> list[tuple[str, bytes]]:
    """Messages of one format carrying about ``n_readings`` readings of the demo park's meters,
    times in the last minute, values in range (so every reading is stored)."""
    floors = [f"tower-a-f{i:02d}" for i in range(1, 25)]
    out: list[tuple[str, bytes]] = []
    i = 0
    while len(out) * _FORMAT_READINGS[name] < n_readings:
        dev = floors[i % len(floors)]
        ts = now_ms - 60_000 + i % 60_000
        e, p = 1000.0 + i * 0.01, 40.0 + i % 50
        if name == "native":
            topic = f"parks/wuhan-demo/devices/{dev}/telemetry"
            out.append((topic, orjson.dumps({"ts": ts, "energy": e, "power": p})))
        elif name == "native_batch100":
            batch = [{"ts": ts + k, "energy": e + k, "power": p} for k in range(100)]
            topic = f"parks/wuhan-demo/devices/{dev}/telemetry"
            out.append((topic, orjson.dumps({"readings": batch})))
        elif name == "flat-json":
            iso = datetime.fromtimestamp(ts / 1000, UTC).isoformat()
            out.append(
                ("gw/g1/meters", orjson.dumps({"meter": dev, "time": iso, "kwh": e, "kw": p}))
            )
        elif name == "flat-json_batch100":
            iso = datetime.fromtimestamp(ts / 1000, UTC).isoformat()
            rows = [{"meter": floors[k % 24], "time": iso, "kwh": e, "kw": p} for k in range(100)]
            out.append(("gw/g1/meters", orjson.dumps(rows)))
        elif name == "thingsboard-gateway":  # 10 devices x 10 readings
            doc: dict[str, object] = {
                floors[(i + d) % 24]: [
                    {"ts": ts + k, "values": {"energy": e + k, "power": p * 1000}}
                    for k in range(10)
                ]
                for d in range(10)
            }
            out.append(("v1/gateway/telemetry", orjson.dumps(doc)))
        elif name == "tasmota-energy":
            local = datetime.fromtimestamp(ts // 1000, UTC).astimezone(_SHANGHAI)
            doc = {  # same name, another shape: the annotation above covers both
                "Time": local.replace(tzinfo=None).isoformat(),
                "ENERGY": {"Total": e, "Power": p * 1000, "Factor": 0.95, "Current": 2.0},
            }
            out.append((f"tele/{dev}/SENSOR", orjson.dumps(doc)))
        else:  # sparkplug: DDATA by alias after one NBIRTH and a DBIRTH per device
            if not out:
                birth = new_payload([("bdSeq", None, DataType.UINT64, 0)], seq=0)
                out.append(("spBv1.0/wuhan-demo/NBIRTH/gw1", birth))
                for k, floor in enumerate(floors):
                    named = [("energy", 1, DataType.DOUBLE, e), ("power", 2, DataType.FLOAT, p)]
                    payload = new_payload(named, timestamp_ms=ts, seq=k + 1)
                    out.append((f"spBv1.0/wuhan-demo/DBIRTH/gw1/{floor}", payload))
            seq = len(out) % 256
            metrics: list[tuple[str | None, int | None, int, float | bool]] = [
                (None, 1, DataType.DOUBLE, e),
                (None, 2, DataType.FLOAT, p),
            ]
            payload = new_payload(metrics, timestamp_ms=ts, seq=seq)
            out.append((f"spBv1.0/wuhan-demo/DDATA/gw1/{dev}", payload))
        i += 1
    return out


_FORMAT_READINGS = {
    "native": 1,
    "native_batch100": 100,
    "flat-json": 1,
    "flat-json_batch100": 100,
    "thingsboard-gateway": 100,
    "tasmota-energy": 1,
    "sparkplug": 1,
}
_SHANGHAI = ZoneInfo("Asia/Shanghai")


def bench_formats(
    n_readings: int, *, rounds: int = 3, time_limit_s: float = 20.0
) -> list[dict[str, Any]]:
    """The collector's decode stage (:class:`ingest.collector.Router`, as ``smartpark collect``
    routes) for each format in this process: readings/s of the best of ``rounds`` rounds (the
    formats take turns, so a burst of load from elsewhere hits all of them alike), each round
    ``n_readings / rounds`` readings per format and at most ``time_limit_s`` [s] per format."""
    registry = load_registry()
    mappings = load_mappings(shipped_mappings_path(), registry=registry)
    now_ms = time.time_ns() // 1_000_000
    received_ns = now_ms * 1_000_000
    messages = {
        name: _format_messages(name, max(1, n_readings // rounds), now_ms)
        for name in _FORMAT_READINGS
    }
    best: dict[str, dict[str, Any]] = {}
    for _round in range(rounds):
        for name, per_message in _FORMAT_READINGS.items():
            # a fresh router per round: Sparkplug's node state starts again at the NBIRTH
            native = Decoder(registry, topic_template="parks/{park}/devices/{device}/telemetry")
            router = Router(native, mappings)
            stored = rejected = done = 0
            deadline = time.monotonic() + time_limit_s
            cpu0, t0 = time.process_time(), time.perf_counter()
            for topic, payload in messages[name]:
                decoded = router.decode(topic, payload, received_ns)
                stored += sum(1 for p in decoded.points if p.measurement == TELEMETRY)
                rejected += len(decoded.rejected)
                done += 1
                if done % 256 == 0 and time.monotonic() > deadline:
                    break
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            result = {
                "case": f"format_{name}",
                "format": name,
                "readings_per_message": per_message,
                "messages": done,
                "readings": stored,
                "rejected": rejected,
                "readings_s": round(stored / wall) if wall else None,
                "cpu_readings_s": round(stored / cpu) if cpu else None,
                "us_per_reading": round(wall / stored * 1e6, 2) if stored else None,
                "rounds": rounds,
            }
            # the CPU time of this process: steadier than the wall clock on a shared machine
            key = "cpu_readings_s"
            if name not in best or float(result[key] or 0) > float(best[name][key] or 0):  # type: ignore[arg-type]
                best[name] = result
    return list(best.values())


def formats_table(results: list[dict[str, Any]]) -> str:
    """The formats section as a Markdown table, the native JSON first."""
    native = next((r["cpu_readings_s"] for r in results if r["format"] == "native"), None)
    lines = [
        "| format (decode stage) | readings/message | readings | readings/s (wall) | "
        "readings/s (CPU) | µs/reading (wall) | CPU vs native single | quarantined |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rate = r["cpu_readings_s"]
        ratio = f"{rate / native:.2f}x" if native and rate else "-"
        lines.append(
            f"| {r['format']} | {r['readings_per_message']} | {r['readings']:,} | "
            f"{r['readings_s'] or 0:,} | {r['cpu_readings_s'] or 0:,} | {r['us_per_reading']} | "
            f"{ratio} | {r['rejected']} |"
        )
    return "\n".join(lines)


def follow_cost(results: list[dict[str, Any]]) -> str:
    """The ledger follower's cost, per run: single-reading readings/s of one collector with the
    follower on (the default: a child process) and off, their ratio, each as a share of the bare
    paho rate of the same run, and the roll-up lag (target: on/off ≥ 0.9, on ≥ 60 % of paho,
    lag ≤ 60 s); the same for the follower as a thread and for a `smartpark follow` pair when
    they ran."""
    lines = []
    for run in sorted({r.get("run", 0) for r in results}):

        def rate(case: str, run: int = run) -> float | None:
            res = next((r for r in results if r["case"] == case and r.get("run") == run), None)
            if res is None:
                return None
            if case == "paho_qos1":
                return res.get("msgs_s")
            return (res.get("burst") or {}).get("rate_readings_s")

        def lag(case: str, run: int = run) -> Any:
            return next(
                (r.get("rollup_lag") for r in results if r["case"] == case and r["run"] == run),
                None,
            )

        on, off, paho = rate("single_1p"), rate("single_1p_nofollow"), rate("paho_qos1")
        if on is None or off is None:
            continue
        text = (
            f"run {run}: follower on (child process) {on:,.0f} readings/s, off {off:,.0f}/s: "
            f"on/off {on / off:.2f}"
        )
        if paho:
            text += f"; on {on / paho:.0%}, off {off / paho:.0%} of bare paho ({paho:,.0f} msg/s)"
        if lag("single_1p"):
            text += f"; roll-up lag {lag('single_1p').get('lag_s')} s after the probe was stored"
        for case, label in (
            ("single_1p_thread", "follower as a thread"),
            ("single_1p_pair", "collector + `smartpark follow` process"),
        ):
            other = rate(case)
            if other:
                text += (
                    f"\n       {label} {other:,.0f} readings/s: /off {other / off:.2f}"
                    + (f", {other / paho:.0%} of bare paho" if paho else "")
                    + (f"; roll-up lag {lag(case).get('lag_s')} s" if lag(case) else "")
                )
        lines.append(text)
    return "\nLedger follower cost (targets: on/off ≥ 0.90, on ≥ 60 % of paho, lag ≤ 60 s):\n" + (
        "\n".join(lines) if lines else "(needs single1 and single1nf)"
    )


def _read_json_line(stream: IO[bytes], *, timeout_s: float) -> dict[str, Any] | None:
    """One JSON line from a subprocess's stdout, or None after ``timeout_s`` / at EOF."""
    box: list[bytes] = []
    reader = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    if not box or not box[0]:
        return None
    parsed: dict[str, Any] = orjson.loads(box[0])
    return parsed


def ensure_m2i(venv: Path) -> Path | None:
    """``mqtt2influxdb`` from its own virtualenv, created (and pip-installed) on first use."""
    binary = venv / "bin" / "mqtt2influxdb"
    if binary.exists():
        return binary
    try:
        python3 = shutil.which("python3") or sys.executable
        subprocess.run([python3, "-m", "venv", str(venv)], check=True, timeout=120)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", f"mqtt2influxdb=={M2I_VERSION}"],
            check=True,
            timeout=300,
        )
    except (subprocess.SubprocessError, OSError):
        return None
    return binary if binary.exists() else None


def _one_line(res: dict[str, Any]) -> str:
    if "error" in res:
        return f"{res['case']}: ERROR {res['error']}"
    if res["case"] == "paho_qos1":
        return f"paho QoS 1: {res.get('msgs_s') or 0:,.0f} msg/s, loss {res.get('loss')}"
    if res["case"] == "influx_write":
        return f"influx: {res['points_s']:,.0f} points/s, loss {res['loss']}"
    burst = res.get("burst") or {}
    paced = res.get("paced") or {}
    return (
        f"{res['case']}: {burst.get('rate_readings_s') or 0:,.0f} readings/s, "
        f"loss {burst.get('loss')}, paced p50/p99 {paced.get('latency_p50_ms')}/"
        f"{paced.get('latency_p99_ms')} ms {burst.get('note', '')}"
    )


def main(argv: list[str] | None = None) -> int:
    exit_on_sigterm()
    p = argparse.ArgumentParser(
        prog="python -m bench.ingest", description=__doc__.split("\n", 1)[0]
    )
    p.add_argument("--quick", action="store_true", help="small N: a smoke run of about a minute")
    p.add_argument("--runs", type=int, default=1, help="repeat every case (median, min–max)")
    p.add_argument("--n", type=int, help="single-reading messages per burst (200,000)")
    p.add_argument("--n-batch", type=int, help="readings per burst in gateway batches (2,000,000)")
    p.add_argument("--batch-readings", type=int, default=100, help="readings per gateway batch")
    p.add_argument("--n-paho", type=int, help="messages for the bare paho ceiling (200,000)")
    p.add_argument(
        "--influx-batches", type=int, help="5,000-line batches for the InfluxDB ceiling (200)"
    )
    p.add_argument("--n-m2i", type=int, help="messages for mqtt2influxdb (20,000)")
    p.add_argument("--devices", type=int, default=1000, help="meters in the generated park")
    p.add_argument("--window", type=int, default=200, help="publisher's QoS 1 in-flight window")
    p.add_argument(
        "--paced-fraction",
        type=float,
        default=0.5,
        help="latency phase offers this fraction of the burst rate",
    )
    p.add_argument("--paced-s", type=float, help="length of the paced latency phase [s]")
    p.add_argument("--phase-timeout-s", type=float, help="give up on a phase after this [s]")
    p.add_argument(
        "--idle-s",
        type=float,
        default=20.0,
        help="give up when nothing new is stored for this long after publishing",
    )
    p.add_argument(
        "--poll-s", type=float, default=POLL_S, help="how often InfluxDB is asked what is stored"
    )
    p.add_argument(
        "--only",
        default="",
        help="comma list of: paho, influx, single1 (the default: the ledger follower a child "
        "process of the collector), single1nf (follower off), single1th (follower a thread in "
        "the collector), single1pair (single1nf and a `smartpark follow` process), single2, "
        "batch1, batch2, m2i, formats",
    )
    p.add_argument(
        "--follow-cost",
        action="store_true",
        help="the follower's cost: paho, single1, single1nf and single1th (same as --only "
        "paho,single1,single1nf,single1th), with the ratios and the roll-up lags printed",
    )
    p.add_argument(
        "--m2i-venv", type=Path, default=Path.home() / ".cache" / "smartpark-bench" / "m2i-venv"
    )
    p.add_argument(
        "--collector-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra SMARTPARK_* setting for the collector(s), e.g. "
        "SMARTPARK_BATCH_SIZE=1000 (default: the collector's own defaults)",
    )
    p.add_argument(
        "--n-formats",
        type=int,
        help="readings per payload format, decode stage, over 3 rounds (300,000)",
    )
    p.add_argument("--json", type=Path, help="write all results here")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    args = p.parse_args(argv)

    quick = args.quick
    cfg = Config(
        runs=args.runs,
        n_single=args.n or (10_000 if quick else 200_000),
        n_batch_readings=args.n_batch or (200_000 if quick else 2_000_000),
        batch_readings=args.batch_readings,
        n_paho=args.n_paho or (20_000 if quick else 200_000),
        influx_batches=args.influx_batches or (20 if quick else 200),
        influx_batch_lines=5_000,
        n_m2i=args.n_m2i or (2_000 if quick else 20_000),
        devices=args.devices,
        window=args.window,
        paced_fraction=args.paced_fraction,
        paced_s=args.paced_s or (3.0 if quick else 10.0),
        phase_timeout_s=args.phase_timeout_s or (60.0 if quick else 180.0),
        idle_s=args.idle_s,
        poll_s=args.poll_s,
        only=(
            {"paho", "single1", "single1nf", "single1th"}
            if args.follow_cost
            else {s.strip() for s in args.only.split(",") if s.strip()}
        ),
        m2i_venv=args.m2i_venv,
        collector_env=dict(kv.split("=", 1) for kv in args.collector_env),
        keep=args.keep,
    )
    notes = machine_notes()
    started = time.time()
    formats: list[dict[str, Any]] = []
    if not cfg.only or "formats" in cfg.only:
        print("[formats] decode stage per payload format …", file=sys.stderr, flush=True)
        formats = bench_formats(args.n_formats or (60_000 if quick else 300_000))
    results: list[dict[str, Any]] = []
    root = Path(tempfile.mkdtemp(prefix="smartpark-bench-"))
    try:
        if cfg.only != {"formats"}:
            results = Bench(cfg, root).run()
    finally:
        if cfg.keep:
            print(f"logs kept in {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    notes["loadavg_end"] = os.getloadavg()
    notes["wall_s"] = round(time.time() - started, 1)
    table, rows = build_table(results, cfg.runs)
    print(
        f"\nsmartpark ingest benchmark — {notes['cpus']} CPUs ({notes['cpu_model']}), "
        f"{notes['mem_gib']} GiB, Python {notes['python']}, paho-mqtt {notes['paho_mqtt']}, "
        f"git {notes['git']}; load average {notes['loadavg_start'][0]:.2f} → "
        f"{notes['loadavg_end'][0]:.2f}; {cfg.runs} run(s), {notes['wall_s']:.0f} s\n"
    )
    if results:
        print(table)
        print(details(results))
        print(follow_cost(results))
    if formats:
        print(
            "\nPayload formats, the collector's decode stage (one process, in memory; "
            "best of 3 rounds):\n"
        )
        print(formats_table(formats))
    if args.json:
        payload = {
            "machine": notes,
            "config": {
                k: (sorted(v) if isinstance(v, set) else str(v) if isinstance(v, Path) else v)
                for k, v in cfg.__dict__.items()
            },
            "targets": {
                "single_per_process": TARGET_SINGLE_PER_PROCESS,
                "batch": TARGET_BATCH,
                "batch_of_influx": TARGET_BATCH_OF_INFLUX,
            },
            "rows": rows,
            "results": results,
            "formats": formats,
        }
        args.json.write_bytes(
            orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
        )
    failed = any(r.get("pass") is False for r in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
