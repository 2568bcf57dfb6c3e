"""Replicas benchmark: ``/latest`` requests/s of 1 vs 2 ``serve`` replicas, and alarm failover.

    .venv/bin/python -m bench.replicas [--quick] [--clients 200] [--seconds 10] [--trials 3]

On a private influxd (free port of 127.0.0.1, temporary folder) holding the demo park's newest
readings:

1. ``smartpark serve`` (one process), then ``smartpark serve --workers 2`` (two replica
   processes on one port; the kernel spreads the connections), each loaded by ``--clients``
   keep-alive clients in a separate process (``bench.api``'s asyncio client) for ``--seconds``:
   requests/s, p50/p99, and the CPU seconds per request of the replicas, influxd and the client
   (``/proc``), from which the 2-core arithmetic follows: a machine of C cores serves at most
   C / (CPU per request, all processes) requests/s whatever the number of replicas;
2. two ``serve`` processes on their own ports (as on two machines), the alarm lease's holder
   killed with SIGKILL ``--trials`` times (a new pair each time): the time from the kill to the
   other replica holding the lease, and to its raising an alarm whose condition began right after
   the kill (its first evaluation), with the default settings (evaluation every 5 s, lease ttl
   4 s). Every alarm is checked to be stored once.

Prints a table. Every process is stopped by its PID or process group; every wait is bounded.
``--quick``: 50 clients, 2 s, one failover trial (about a minute).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import api as api_bench
from bench._procs import InfluxService, cpu_seconds, exit_on_sigterm, free_port
from bench.storage import readings
from config.registry import demo_registry_path, load_registry
from services.alarms import ALARM
from services.alarms.engine import ALARM_LEASE
from services.lease import Lease
from store.base import TELEMETRY, Point
from store.influx import InfluxStore

__all__ = ["main", "tree_cpu_seconds"]

PARK = "wuhan-demo"
ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
DATABASE = "replicas"


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds [s] of a process and every live descendant (``/proc``)."""
    total = cpu_seconds(pid) or 0.0
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        children = [
            int(c) for t in tasks for c in (t / "children").read_text().split() if c.isdigit()
        ]
    except OSError:
        return total
    return total + sum(tree_cpu_seconds(c) for c in children)


@dataclass
class Replica:
    """One ``smartpark serve`` in its own process group."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_serve(
    root: Path, store_url: str, *, workers: int = 1, env: dict[str, str] | None = None
) -> Replica:
    """``smartpark serve`` on a free port (auth off: the bench measures the store path)."""
    port = free_port()
    log = root / f"serve-{port}.log"
    full = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SMARTPARK_")},
        "SMARTPARK_STORE_URL": store_url,
        "SMARTPARK_AUTH": "off",
        "SMARTPARK_DATA_DIR": str(root / f"data-{port}"),
        "SMARTPARK_METRICS_PORT": "0",
        "SMARTPARK_REPLICA_ID": f"replica-{port}",
        "SMARTPARK_AUTH_FAILURES_PER_MIN": "0",
        **(env or {}),
    }
    with log.open("w") as out:
        proc = subprocess.Popen(
            [PYTHON, "-m", "smartpark", "serve", "--port", str(port), "--workers", str(workers)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=full,
        )
    replica = Replica(proc, port, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{replica.url}/healthz", timeout=1).status_code == 200:
                return replica
        if proc.poll() is not None:
            raise RuntimeError(f"serve stopped: {log.read_text()[-1500:]}")
        time.sleep(0.2)
    stop(replica)
    raise RuntimeError("serve did not answer within 90 s")


def stop(replica: Replica, sig: signal.Signals = signal.SIGTERM) -> None:
    """Signal the replica's process group; SIGKILL after 15 s; reaped either way."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(replica.proc.pid, sig)
    try:
        replica.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(replica.proc.pid, signal.SIGKILL)
        replica.proc.wait()


def load(replica: Replica, influxd_pid: int, *, clients: int, seconds: float) -> dict[str, Any]:
    """``clients`` keep-alive clients on ``/latest`` for ``seconds``; with CPU per request."""
    api_bench._result(api_bench._client("latest", replica.url, "-", 1, 0.5), 30)  # warm-up
    serve0, influx0 = tree_cpu_seconds(replica.proc.pid), cpu_seconds(influxd_pid) or 0.0
    client = api_bench._client("latest", replica.url, "-", clients, seconds)
    client_cpu = 0.0
    while client.poll() is None:  # the client's CPU, read while it lives
        client_cpu = cpu_seconds(client.pid) or client_cpu
        time.sleep(0.1)
    result = api_bench._result(client, seconds + 60)
    requests = max(1, result["requests"])
    result["serve_ms"] = 1000 * (tree_cpu_seconds(replica.proc.pid) - serve0) / requests
    result["influxd_ms"] = 1000 * ((cpu_seconds(influxd_pid) or 0.0) - influx0) / requests
    result["client_ms"] = 1000 * client_cpu / requests
    return result


def failover(root: Path, influxd: InfluxService, trial: int) -> dict[str, float]:
    """Two replicas; SIGKILL the lease holder; seconds to the successor's lease and first
    evaluation (an alarm whose condition began just after the kill); alarms stored once."""
    database = f"failover{trial}"
    store_url = influxd.store_url(database)
    store = InfluxStore(store_url)
    devices = [d.id for d in load_registry(demo_registry_path()).parks[PARK].devices][:4]
    rules = root / "rules.yaml"
    rules.write_text(
        "rules:\n"
        f"  - {{id: hot, kind: threshold, devices: {{ids: [{', '.join(devices)}]}},\n"
        "     above: 100, for_s: 0}\n",
        encoding="utf-8",
    )
    env = {"SMARTPARK_ALARM_RULES": str(rules)}
    hot = [devices[0]]
    done = threading.Event()

    def keep_hot() -> None:
        while not done.wait(0.2):
            now = time.time_ns()
            store.write(
                [
                    Point(TELEMETRY, {"park": PARK, "device": d}, {"power_kw": 150.0}, now)
                    for d in hot
                ]
            )

    writer = threading.Thread(target=keep_hot, daemon=True)
    writer.start()
    replicas = [start_serve(root, store_url, env=env), start_serve(root, store_url, env=env)]
    observer = Lease(store, ALARM_LEASE, "observer", 4.0)
    try:
        holder = _wait(observer.holder, 30)
        leader = next(r for r in replicas if holder == f"replica-{r.port}")
        other = next(r for r in replicas if r is not leader)
        _wait(lambda: len(_stored(store)) == 1, 30)
        stop(leader, signal.SIGKILL)
        killed = time.time()
        hot.append(devices[1])  # a condition that begins while nobody evaluates
        _wait(lambda: observer.holder() == f"replica-{other.port}", 30, every_s=0.02)
        lease_s = time.time() - killed
        _wait(lambda: len(_stored(store)) == 2, 30, every_s=0.05)
        raised = max(t for _, t in _stored(store)) / 1e9
        time.sleep(6)  # one more evaluation period of the successor: nothing raised twice
        stored = _stored(store)
        if sorted(d for d, _ in stored) != [f"hot~{devices[0]}", f"hot~{devices[1]}"]:
            raise RuntimeError(f"alarms stored more than once: {stored}")
        return {"lease_s": lease_s, "evaluation_s": raised - killed}
    finally:
        done.set()
        writer.join(5)
        for replica in replicas:
            stop(replica)
        store.close()
        influxd.drop_database(database)


def _stored(store: InfluxStore) -> list[tuple[str, int]]:
    rows = store.scan(PARK, measurement=ALARM, start_ns=0, end_ns=time.time_ns() + 10**12)
    return [(r.device, r.time_ns) for r in rows]


def _wait(probe: Any, timeout_s: float, *, every_s: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = probe()
        if got:
            return got
        time.sleep(every_s)
    raise RuntimeError(f"timed out after {timeout_s} s")


def _row(name: str, r: dict[str, Any]) -> str:
    total = r["serve_ms"] + r["influxd_ms"] + r["client_ms"]
    return (
        f"| {name} | {r['rps']:,.0f} req/s | p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms "
        f"| serve {r['serve_ms']:.2f} + influxd {r['influxd_ms']:.2f} + client "
        f"{r['client_ms']:.2f} = {total:.2f} ms CPU/request | {r['errors']} errors |"
    )


def main(argv: list[str] | None = None) -> int:
    exit_on_sigterm()
    p = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="50 clients, 2 s, one failover trial")
    p.add_argument("--clients", type=int, help="concurrent clients (200)")
    p.add_argument("--seconds", type=float, help="load per run [s] (10)")
    p.add_argument("--trials", type=int, help="failover trials (3)")
    args = p.parse_args(argv)
    clients = args.clients or (50 if args.quick else 200)
    seconds = args.seconds or (2.0 if args.quick else 10.0)
    trials = args.trials or (1 if args.quick else 3)
    cores = os.cpu_count() or 1
    started = time.time()
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="smartpark-bench-replicas-") as tmp:
        root = Path(tmp)
        influxd = InfluxService(root / "influxd")
        influxd.start()
        try:
            store_url = influxd.store_url(DATABASE)
            store = InfluxStore(store_url)
            store.write(readings(0.05))  # the demo park's newest readings, 12 ticks
            store.close()
            assert influxd.pid is not None
            results = {}
            for workers in (1, 2):
                replica = start_serve(root, store_url, workers=workers)
                try:
                    results[workers] = load(replica, influxd.pid, clients=clients, seconds=seconds)
                finally:
                    stop(replica)
            trials_out = [failover(root, influxd, i) for i in range(trials)]
        finally:
            influxd.stop()
    one, two = results[1], results[2]
    total = {w: r["serve_ms"] + r["influxd_ms"] + r["client_ms"] for w, r in results.items()}
    lines.append(
        f"smartpark replicas benchmark — {cores} CPUs, {clients} clients, {seconds:g} s per run, "
        f"{time.time() - started:.0f} s\n"
    )
    lines.append("| run | /latest | latency | CPU per request | errors |")
    lines.append("|---|---|---|---|---|")
    lines.append(_row("1 replica (`serve`)", one))
    lines.append(_row("2 replicas (`serve --workers 2`)", two))
    lines.append("")
    lines.append(
        f"2 replicas / 1 replica: **{two['rps'] / one['rps']:.2f}x**. Arithmetic: one replica is "
        f"one Python process, at most 1 core: 1000 / {one['serve_ms']:.2f} ms = "
        f"{1000 / one['serve_ms']:,.0f} req/s of its own CPU. This machine's {cores} cores "
        f"also run influxd and the clients: at most {cores} x 1000 / {total[2]:.2f} ms = "
        f"{cores * 1000 / total[2]:,.0f} req/s with any number of replicas. On machines of "
        f"their own, N replicas serve N x {1000 / two['serve_ms']:,.0f} req/s."
    )
    lines.append("")
    lines.append("| failover trial | SIGKILL → lease held by the other | → its first evaluation |")
    lines.append("|---|---|---|")
    for i, t in enumerate(trials_out, 1):
        lines.append(f"| {i} | {t['lease_s']:.2f} s | {t['evaluation_s']:.2f} s |")
    lines.append(
        "\nDefaults: evaluation every 5 s, lease ttl 4 s, keeper every 0.5 s, settle 0.5 s: "
        "the successor evaluates within 4 + 0.5 + 0.5 = 5 s of the last renewal."
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
