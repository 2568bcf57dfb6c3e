"""Soak bench: the demo park at 10x speed with faults, the collector killed and InfluxDB restarted.

``python -m bench.soak [--duration 3600] [--speed 10] [--seed 1] [--json FILE]`` runs, on this
machine (not a CI test):

- a private ``mosquitto`` (persistent sessions, no queue cap) and a private ``influxd``, both on
  free ports of 127.0.0.1 in a temporary folder, stopped by PID on the way out;
- ``smartpark collect`` as a subprocess (fixed client id, persistent session, its own spool);
- ``smartpark simulate`` publishing the demo park (every device every ``--interval`` simulated
  seconds) at ``--speed`` simulated seconds per second, with the fault profile :data:`PROFILE`
  and the ground truth written to ``truth.csv``. The simulated span ends at "now", so every
  device timestamp is in the past and inside the collector's clock-skew window;
- at seeded random intervals: SIGKILL of the collector (restarted after a seeded pause) and a
  restart of ``influxd`` (SIGTERM, a seeded pause, start again on the same data);
- every ``--sample-s`` seconds: the collector's RSS (``VmRSS``), open file descriptors
  (``/proc/<pid>/fd``) and threads (``/proc/<pid>/status``), and the same of its ledger
  follower child (``SMARTPARK_LEDGER_FOLLOW=process``, the default), reported apart.

At the end, once the simulator has finished, the collector is left to drain (bounded), then the
stored ``telemetry`` timestamps of every device are compared with the readings the truth says were
delivered (every tick, less ``dropout``, ``malformed`` and implausible ``spike`` readings, with a
``clock_skew`` shift): ``lost`` are delivered readings not stored, ``extra`` stored readings not
delivered (a reading stored twice under two times, or stored although refused). Both must be 0;
the exit code is 1 otherwise. How to run it and the figures of a run are in ``docs/soak.md``.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import yaml

from bench._procs import child_pids, exit_on_sigterm
from config.registry import Device, ParkRegistry, load_registry
from simulators.faults import FaultProfile
from simulators.truth import delivered_times as truth_delivered_times
from store.lineproto import quote_string
from tests.e2e.helpers import SmartparkProcess, forget_session, start_collector
from tests.support.servers import InfluxService, MosquittoService

__all__ = ["PROFILE", "main"]

PARK = "wuhan-demo"
CLIENT_ID = "soak-collector"
PROFILE = FaultProfile(
    dropout=0.003,
    duplicate=0.002,
    out_of_order=0.002,
    late=0.001,
    late_s=60,
    spike=0.001,
    stuck=0.0005,
    stuck_s=120,
    clock_skew=0.0003,
    clock_skew_s=0.5,  # not a multiple of the interval: a skewed reading never lands on a tick
    clock_skew_duration_s=120,
    malformed=0.001,
    counter_reset=0.0003,
    meter_replacement=0.0003,
    rollover=0.1,
    gateway_outage=0.0005,
    gateway_outage_s=120,
    backlog_batch=20,
)
"""Per-reading fault rates for a 2-second interval (every kind fires in an hour)."""


@dataclass
class Sample:
    t_s: float  # since the start of the run
    pid: int
    age_s: float  # since this collector process started
    rss_kib: int
    fds: int
    threads: int


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    follower_samples: list[Sample] = field(default_factory=list)  # the collector's child
    kills: list[float] = field(default_factory=list)
    influx_restarts: list[float] = field(default_factory=list)


# --- /proc ----------------------------------------------------------------------------------------


def proc_sample(pid: int) -> tuple[int, int, int] | None:
    """(RSS [KiB], open fds, threads) of a live process, or None."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    values = {}
    for line in status.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "Threads"):
            values[key] = int(rest.split()[0])
    if "VmRSS" not in values:
        return None  # a zombie
    return values["VmRSS"], fds, values.get("Threads", 0)


# --- the truth ------------------------------------------------------------------------------------


def read_faults(path: Path) -> dict[str, list[dict[str, str]]]:
    """The truth's fault rows, per device."""
    out: dict[str, list[dict[str, str]]] = defaultdict(list)
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["record"] == "fault":
                out[row["id"]].append(row)
    return out


def delivered_times(
    device: Device, ticks_ms: range, faults: list[dict[str, str]], profile: FaultProfile
) -> set[int]:
    """Device times [ms] of the readings of ``device`` the collector must store, per the truth
    (the definition of docs/simulator.md, "What the truth says was lost")."""
    return set(
        truth_delivered_times(
            device, ticks_ms, faults, clock_skew_duration_s=profile.clock_skew_duration_s
        )
    )


def stored_times(influx_url: str, database: str, park: str, device: str) -> list[int]:
    """Times [ms] of every stored telemetry point of one device (with repeats, if any)."""
    statement = (
        f'SELECT * FROM "telemetry" WHERE "park" = {quote_string(park)} '
        f'AND "device" = {quote_string(device)}'
    )
    response = httpx.get(
        f"{influx_url}/query",
        params={"db": database, "q": statement, "epoch": "ms", "chunked": "true"},
        timeout=60.0,
    )
    response.raise_for_status()
    times: list[int] = []
    for line in response.content.splitlines():
        if not line.strip():
            continue
        for result in orjson.loads(line).get("results") or []:
            if "error" in result:
                raise RuntimeError(f"InfluxDB refused {statement!r}: {result['error']}")
            for series in result.get("series") or []:
                times.extend(int(v[0]) for v in series.get("values") or [])
    return times


@dataclass(frozen=True)
class Comparison:
    delivered: int
    stored: int
    lost: dict[str, int]
    extra: dict[str, int]
    repeated: dict[str, int]

    @property
    def exact(self) -> bool:
        return not (self.lost or self.extra or self.repeated)


def compare(
    influx_url: str, database: str, park: ParkRegistry, expected: dict[str, set[int]]
) -> Comparison:
    lost, extra, repeated = {}, {}, {}
    stored_total = 0
    for device in park.devices:
        times = stored_times(influx_url, database, park.id, device.id)
        stored_total += len(times)
        got = set(times)
        want = expected[device.id]
        if len(got) != len(times):
            repeated[device.id] = len(times) - len(got)
        if want - got:
            lost[device.id] = len(want - got)
        if got - want:
            extra[device.id] = len(got - want)
    return Comparison(sum(map(len, expected.values())), stored_total, lost, extra, repeated)


# --- figures --------------------------------------------------------------------------------------


def slope_kib_per_h(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (t [s], rss [KiB]) in KiB per hour (0 for fewer than 3 points)."""
    if len(points) < 3:
        return 0.0
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    return sum((t - mt) * (v - mv) for t, v in points) / var * 3600


def summarize(samples: list[Sample], warmup_s: float, settled_s: float = 300.0) -> dict[str, Any]:
    """RSS, fd and thread figures: over all samples, and per process after warm-up; per process
    also the slope from ``settled_s`` [s] of its life on (after its first climb)."""
    steady = [s for s in samples if s.age_s >= warmup_s]
    by_pid: dict[int, list[Sample]] = defaultdict(list)
    for s in steady:
        by_pid[s.pid].append(s)
    lives = [
        {
            "pid": pid,
            "samples": len(ss),
            "age_s": round(ss[-1].age_s),
            "rss_mib_first": round(ss[0].rss_kib / 1024, 1),
            "rss_mib_last": round(ss[-1].rss_kib / 1024, 1),
            "rss_slope_mib_per_h": round(
                slope_kib_per_h([(s.age_s, s.rss_kib) for s in ss]) / 1024, 2
            ),
            "settled_after_s": settled_s,
            "rss_slope_settled_mib_per_h": round(
                slope_kib_per_h([(s.age_s, s.rss_kib) for s in ss if s.age_s >= settled_s]) / 1024,
                2,
            ),
            "fds_max": max(s.fds for s in ss),
            "threads_max": max(s.threads for s in ss),
        }
        for pid, ss in by_pid.items()
    ]
    longest = max(lives, key=lambda life: life["age_s"], default=None)

    def span(values: list[int]) -> dict[str, float]:
        return {"min": min(values), "max": max(values)} if values else {}

    return {
        "samples": len(samples),
        "steady_samples": len(steady),
        "rss_mib": {k: round(v / 1024, 1) for k, v in span([s.rss_kib for s in steady]).items()},
        "rss_slope_all_mib_per_h": round(
            slope_kib_per_h([(s.t_s, s.rss_kib) for s in steady]) / 1024, 2
        ),
        "fds": span([s.fds for s in steady]),
        "threads": span([s.threads for s in steady]),
        "longest_life": longest,
        "lives": lives,
        "curve": [
            [round(s.t_s), s.pid, round(s.rss_kib / 1024, 1), s.fds, s.threads] for s in samples
        ],
    }


# --- the run --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    exit_on_sigterm()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--duration", type=float, default=3600.0, help="publishing time [s]")
    p.add_argument("--speed", type=float, default=10.0, help="simulated s per real s")
    p.add_argument("--interval", type=float, default=2.0, help="simulated s between readings")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--sample-s", type=float, default=5.0, help="sampling period [s]")
    p.add_argument(
        "--kill-every", type=float, nargs=2, default=(40.0, 150.0), metavar=("MIN", "MAX")
    )
    p.add_argument(
        "--influx-every", type=float, nargs=2, default=(60.0, 200.0), metavar=("MIN", "MAX")
    )
    p.add_argument("--down-s", type=float, nargs=2, default=(1.0, 8.0), metavar=("MIN", "MAX"))
    p.add_argument("--drain-s", type=float, default=300.0, help="longest wait for the backlog")
    p.add_argument("--warmup-s", type=float, default=15.0, help="process age before sampling RSS")
    p.add_argument(
        "--settled-s",
        type=float,
        default=300.0,
        help="process age from which the settled RSS slope is fitted [s]",
    )
    p.add_argument("--workdir", type=Path, default=None, help="keep everything here")
    p.add_argument("--json", type=Path, default=None, help="write the figures here")
    p.add_argument(
        "--collector-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra SMARTPARK_* setting of the collector (repeatable)",
    )
    args = p.parse_args(argv)

    rng = random.Random(args.seed)
    root = args.workdir or Path(tempfile.mkdtemp(prefix="smartpark-soak-"))
    root.mkdir(parents=True, exist_ok=True)
    park = load_registry().parks[PARK]
    ticks = int(args.duration * args.speed / args.interval)
    interval_ms = round(args.interval * 1000)
    now_ms = time.time_ns() // 1_000_000
    start_ms = (now_ms - ticks * interval_ms - 60_000) // interval_ms * interval_ms
    ticks_ms = range(start_ms, start_ms + ticks * interval_ms, interval_ms)
    faults_path = root / "faults.yaml"
    faults_path.write_text(yaml.safe_dump(PROFILE.model_dump()), encoding="utf-8")
    truth_path = root / "truth.csv"
    database = "soak"

    broker = MosquittoService(root / "mosquitto")
    influx = InfluxService(root / "influxd")
    run = Run()
    collector: SmartparkProcess | None = None
    simulator: SmartparkProcess | None = None
    began = time.monotonic()
    born = began
    child_born: dict[int, float] = {}  # follower child pid: first seen [monotonic s]

    def sample(now: float) -> None:
        """The collector's figures and its follower child's."""
        if collector is None or not collector.alive():
            return
        got = proc_sample(collector.pid)
        if got is not None:
            run.samples.append(Sample(now - began, collector.pid, now - born, *got))
        for child in child_pids(collector.pid):
            got = proc_sample(child)
            if got is not None:
                first = child_born.setdefault(child, now)
                run.follower_samples.append(Sample(now - began, child, now - first, *got))

    exit_code = 1
    try:
        broker.start()
        influx.start()
        env = {
            "SMARTPARK_MQTT_URL": broker.url,
            "SMARTPARK_STORE_URL": influx.store_url(database),
            "SMARTPARK_CLIENT_ID": CLIENT_ID,
            "SMARTPARK_DATA_DIR": str(root / "data"),
            "SMARTPARK_METRICS_PORT": "0",
        }
        env.update(item.split("=", 1) for item in args.collector_env)
        runs = 0

        def new_collector() -> SmartparkProcess:
            nonlocal runs
            runs += 1
            return start_collector(env, root / f"collect-{runs:03d}.log", timeout_s=60)

        collector = new_collector()
        born = time.monotonic()
        start_iso = datetime.fromtimestamp(start_ms / 1000, UTC).isoformat()
        simulator = SmartparkProcess(
            [
                "simulate",
                "--mqtt-url",
                broker.url,
                "--park",
                PARK,
                "--speed",
                f"{args.speed:g}",
                "--interval",
                f"{args.interval:g}",
                "--start",
                start_iso,
                "--ticks",
                str(ticks),
                "--seed",
                str(args.seed),
                "--faults",
                str(faults_path),
                "--truth",
                str(truth_path),
            ],
            env={"SMARTPARK_MQTT_URL": broker.url},
            log_path=root / "simulate.log",
        )
        print(
            f"soak: {ticks} ticks x {len(park.devices)} devices from {start_iso} at "
            f"{args.speed:g}x, work folder {root}",
            flush=True,
        )
        next_kill = began + rng.uniform(*args.kill_every)
        next_influx = began + rng.uniform(*args.influx_every)
        next_sample = began
        hard_stop = began + args.duration * 1.5 + 120  # the simulator must be done by then
        while simulator.alive():
            now = time.monotonic()
            if now > hard_stop:
                raise RuntimeError("the simulator did not finish in time:\n" + simulator.tail())
            if now >= next_sample:
                sample(now)
                next_sample += args.sample_s
            if now >= next_kill:
                collector.kill()  # SIGKILL by PID
                run.kills.append(now - began)
                time.sleep(rng.uniform(*args.down_s))
                collector = new_collector()
                born = time.monotonic()
                next_kill = time.monotonic() + rng.uniform(*args.kill_every)
                print(f"  {now - began:6.0f} s: collector killed and restarted", flush=True)
            if now >= next_influx:
                influx.stop()  # SIGTERM by PID
                run.influx_restarts.append(now - began)
                time.sleep(rng.uniform(*args.down_s))
                influx.start()
                next_influx = time.monotonic() + rng.uniform(*args.influx_every)
                print(f"  {now - began:6.0f} s: influxd restarted", flush=True)
            time.sleep(0.2)
        published_s = time.monotonic() - began
        if simulator.proc.returncode != 0:
            raise RuntimeError("the simulator failed:\n" + simulator.tail())

        faults = read_faults(truth_path)
        fired = Counter(f["quantity"] for rows in faults.values() for f in rows)
        expected = {
            d.id: delivered_times(d, ticks_ms, faults.get(d.id, []), PROFILE) for d in park.devices
        }
        print(f"soak: published in {published_s:.0f} s; faults fired {dict(fired)}", flush=True)
        drain_until = time.monotonic() + args.drain_s
        while True:
            now = time.monotonic()
            sample(now)
            result = compare(influx.url, database, park, expected)
            if result.exact or now > drain_until:
                break
            time.sleep(max(args.sample_s, 5.0))
        drained_s = time.monotonic() - began - published_s
        code = collector.interrupt(timeout_s=60)
        figures = {
            "duration_s": args.duration,
            "speed": args.speed,
            "interval_s": args.interval,
            "seed": args.seed,
            "devices": len(park.devices),
            "ticks": ticks,
            "published_s": round(published_s),
            "drained_s": round(drained_s),
            "collector_exit": code,
            "collector_kills": len(run.kills),
            "influx_restarts": len(run.influx_restarts),
            "faults_fired": dict(fired),
            "delivered": result.delivered,
            "stored": result.stored,
            "lost": sum(result.lost.values()),
            "extra": sum(result.extra.values()),
            "repeated": sum(result.repeated.values()),
            "lost_by_device": result.lost,
            "extra_by_device": result.extra,
            "collector": summarize(run.samples, args.warmup_s, args.settled_s),
            "follower": summarize(run.follower_samples, args.warmup_s, args.settled_s),
            "kills_at_s": [round(t) for t in run.kills],
            "influx_restarts_at_s": [round(t) for t in run.influx_restarts],
        }
        report(figures)
        if args.json is not None:
            args.json.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
        exit_code = 0 if result.exact else 1
    finally:
        for proc in (simulator, collector):
            if proc is not None:
                proc.kill()
        if broker.running:
            forget_session(broker.port, CLIENT_ID)
        influx.stop()
        broker.stop()
        if args.workdir is None and exit_code == 0:
            shutil.rmtree(root, ignore_errors=True)
        elif exit_code:
            print(f"soak: logs and data kept in {root}", file=sys.stderr)
    return exit_code


def report(f: dict[str, Any]) -> None:
    c = f["collector"]
    longest = c["longest_life"] or {}
    print(
        f"""
soak {f["duration_s"]:.0f} s at {f["speed"]:g}x ({f["devices"]} devices, {f["ticks"]} ticks):
  readings delivered {f["delivered"]:,}, stored {f["stored"]:,}: lost {f["lost"]}, """
        f"""extra {f["extra"]}, repeated {f["repeated"]}
  collector SIGKILLs {f["collector_kills"]}, influxd restarts {f["influx_restarts"]}, """
        f"""drained {f["drained_s"]} s after the simulator finished
  collector RSS {c["rss_mib"].get("min", math.nan)}-{c["rss_mib"].get("max", math.nan)} MiB, """
        f"""slope over the run {c["rss_slope_all_mib_per_h"]} MiB/h; longest life """
        f"""{longest.get("age_s")} s: {longest.get("rss_mib_first")} -> """
        f"""{longest.get("rss_mib_last")} MiB ({longest.get("rss_slope_mib_per_h")} MiB/h; """
        f"""after {longest.get("settled_after_s")} s of its life """
        f"""{longest.get("rss_slope_settled_mib_per_h")} MiB/h)
  open fds {c["fds"]}, threads {c["threads"]}""",
        flush=True,
    )
    fo = f.get("follower") or {}
    if fo.get("steady_samples"):
        fl = fo["longest_life"] or {}
        print(
            f"""  follower child RSS {fo["rss_mib"].get("min")}-{fo["rss_mib"].get("max")} MiB, """
            f"""slope over the run {fo["rss_slope_all_mib_per_h"]} MiB/h; longest life """
            f"""{fl.get("age_s")} s: {fl.get("rss_mib_first")} -> {fl.get("rss_mib_last")} MiB """
            f"""({fl.get("rss_slope_mib_per_h")} MiB/h; after {fl.get("settled_after_s")} s """
            f"""{fl.get("rss_slope_settled_mib_per_h")} MiB/h); open fds {fo["fds"]}, """
            f"""threads {fo["threads"]}""",
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(main())
