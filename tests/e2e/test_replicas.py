"""Two real ``smartpark serve`` replicas on one real influxd: the alarm leader is killed with
SIGKILL; the other takes the lease, and every alarm is raised exactly once (one point per
condition in the store), before, across and after the takeover. Prints the failover time."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from config.registry import demo_registry_path, load_registry
from services.alarms import ALARM
from services.alarms.engine import ALARM_LEASE
from services.lease import Lease
from store.base import TELEMETRY, Point
from store.influx import InfluxStore
from tests.e2e.helpers import SmartparkProcess, wait_for
from tests.support.servers import InfluxService, free_port

PARK = "wuhan-demo"
EVAL_S = 2.0
TTL_S = 1.6  # settle min(1, ttl/8) = 0.2 s: a successor evaluates within 1.6 + 0.2 + 0.2 s


def test_alarm_leader_killed_successor_raises_each_alarm_once(
    influxd: InfluxService, influx_store: InfluxStore, tmp_path: Path
) -> None:
    devices = [d.id for d in load_registry(demo_registry_path()).parks[PARK].devices][:6]
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n"
        f"  - {{id: hot, kind: threshold, devices: {{ids: [{', '.join(devices)}]}},\n"
        "     above: 100, for_s: 0}\n",
        encoding="utf-8",
    )
    ports = [free_port(), free_port()]
    replicas = {
        port: SmartparkProcess(
            ["serve", "--port", str(port)],
            env={
                "SMARTPARK_STORE_URL": influxd.store_url(influx_store.database),
                "SMARTPARK_AUTH": "off",
                "SMARTPARK_DATA_DIR": str(tmp_path / f"data-{port}"),
                "SMARTPARK_ALARM_RULES": str(rules),
                "SMARTPARK_ALARM_EVAL_S": str(EVAL_S),
                "SMARTPARK_ALARM_LEASE_TTL_S": str(TTL_S),
                "SMARTPARK_REPLICA_ID": f"replica-{port}",
            },
            log_path=tmp_path / f"serve-{port}.log",
        )
        for port in ports
    }
    hot: list[str] = []
    stop = threading.Event()

    def keep_hot() -> None:  # the conditions never end: nobody may raise one twice
        while not stop.wait(0.25):
            now = time.time_ns()
            influx_store.write(
                [
                    Point(TELEMETRY, {"park": PARK, "device": d}, {"power_kw": 150.0}, now)
                    for d in list(hot)
                ]
                or [Point(TELEMETRY, {"park": PARK, "device": devices[-1]}, {"power_kw": 1}, now)]
            )

    def stored() -> list[tuple[str, int]]:
        rows = influx_store.scan(
            PARK, measurement=ALARM, start_ns=0, end_ns=time.time_ns() + 10**12
        )
        return sorted((r.device, r.time_ns // 10**6) for r in rows)

    def listed(port: int) -> set[str]:
        body = httpx.get(f"http://127.0.0.1:{port}/api/v1/parks/{PARK}/alarms", timeout=5).json()
        return {a["device"] for a in body["alarms"]}

    observer = Lease(influx_store, ALARM_LEASE, "observer", TTL_S)
    writer = threading.Thread(target=keep_hot, daemon=True)
    writer.start()
    try:
        for port, replica in replicas.items():
            wait_for(
                lambda: _answers(port) or not replica.alive(),  # noqa: B023 (called at once)
                timeout_s=60,
                what=f"replica {port} to answer",
            )
            assert replica.alive(), replica.tail()
        leader_id = wait_for(observer.holder, timeout_s=10, what="a lease holder")
        leader = int(leader_id.removeprefix("replica-"))
        (other,) = (p for p in ports if p != leader)

        hot.extend(devices[:3])
        wait_for(lambda: len(stored()) == 3, timeout_s=3 * EVAL_S, what="the first alarms")
        wait_for(lambda: listed(other) == set(devices[:3]), timeout_s=2 * EVAL_S, what="sync")

        replicas[leader].kill()
        killed_ms = time.time_ns() // 10**6
        hot.extend(devices[3:])  # conditions that begin while nobody evaluates
        wait_for(lambda: len(stored()) == 6, timeout_s=TTL_S + 3 * EVAL_S, what="a successor")
        failover_s = (min(t for d, t in stored() if d.endswith(devices[3])) - killed_ms) / 1000
        time.sleep(2 * EVAL_S)  # two more passes of the successor over conditions still on

        alarms = stored()
        assert [d for d, _ in alarms] == sorted(f"hot~{d}" for d in devices), alarms
        assert observer.holder() == f"replica-{other}"
        assert listed(other) == set(devices)
        # from the kill to the successor's first evaluation: ttl + keeper tick + settle
        assert 0 < failover_s <= TTL_S + TTL_S / 8 + 0.2 + 1.0, failover_s
        print(f"\nalarm failover: {failover_s:.2f} s (ttl {TTL_S} s, evaluation {EVAL_S} s)")
    finally:
        stop.set()
        writer.join(5)
        for replica in replicas.values():
            if replica.alive():
                replica.interrupt(timeout_s=15)
            else:
                replica.kill()


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
