"""`smartpark follow` beside a collector that does not follow: the pair keeps the stored ledger and
the day roll-ups of a live park current on a real InfluxDB, reading the park in bulk."""

from __future__ import annotations

import os
import re
import signal
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from config.registry import load_registry
from services.ledger import device_ledger, stored_ledger
from services.rollup import local_days, read_day_rollups
from store import InfluxStore
from store.base import TOUCHED
from store.touched import ALL_DEVICES
from tests.e2e.helpers import (
    SmartparkProcess,
    forget_session,
    publish_all,
    scrape_metrics,
    start_collector,
    wait_for,
)
from tests.support.servers import InfluxService, MosquittoService, free_port

pytestmark = [pytest.mark.mosquitto, pytest.mark.influxdb, pytest.mark.slow]

PARK = "wuhan-demo"
TOPIC = "parks/wuhan-demo/devices/{}/telemetry"
FLOORS = [f"tower-a-f{i:02d}" for i in range(1, 11)]


def test_a_follow_process_keeps_a_live_parks_ledger_and_rollups_current(
    mosquitto: MosquittoService, influxd: InfluxService, tmp_path
):
    database = f"e2e_{uuid.uuid4().hex[:10]}"
    env = {
        "SMARTPARK_MQTT_URL": mosquitto.url,
        "SMARTPARK_STORE_URL": influxd.store_url(database),
        "SMARTPARK_CLIENT_ID": f"collector-{database}",
        "SMARTPARK_DATA_DIR": str(tmp_path / "data"),
        "SMARTPARK_BATCH_INTERVAL_S": "0.2",
        "SMARTPARK_LEDGER_POLL_S": "0.5",
        "SMARTPARK_LEDGER_FOLLOW": "false",
    }
    collector = SmartparkProcess(["collect"], env=env, log_path=tmp_path / "collect.log")
    metrics_port = free_port()
    follower = SmartparkProcess(
        ["follow", "--holder", "f1"],
        env={**env, "SMARTPARK_FOLLOW_METRICS_PORT": str(metrics_port)},
        log_path=tmp_path / "follow.log",
    )
    store = InfluxStore(influxd.store_url(database))
    try:
        wait_for(
            lambda: "subscribed to" in collector.output() or not collector.alive(),
            timeout_s=15,
            what="the collector to subscribe",
        )
        wait_for(
            lambda: f"following park {PARK}" in follower.output() or not follower.alive(),
            timeout_s=15,
            what="the follower to take the park's lease",
        )
        assert collector.alive(), collector.tail()
        assert follower.alive(), follower.tail()
        # 20 minutes of a reading a minute from ten meters, ending now
        now_ms = time.time_ns() // 1_000_000
        messages = [
            (
                TOPIC.format(d),
                orjson.dumps({"ts": now_ms - (20 - m) * 60_000, "energy": 100.0 + m * (j + 1)}),
            )
            for m in range(21)
            for j, d in enumerate(FLOORS)
        ]
        publish_all(mosquitto.port, messages)
        wait_for(lambda: store.count(PARK) == len(messages), timeout_s=30, what="the readings")
        park = load_registry().parks[PARK]
        window = {"start_ns": (now_ms - 21 * 60_000) * 10**6, "end_ns": now_ms * 10**6 + 1}

        def current() -> bool:
            for d in FLOORS:
                device = park.device(d)
                assert device is not None
                stored = stored_ledger(store, PARK, device, **window)
                fresh = device_ledger(store, PARK, device, **window)
                if not (
                    len(stored) == len(fresh) == 1
                    and stored[0].ledger.quality.tolist() == fresh[0].ledger.quality.tolist()
                    and np.allclose(stored[0].ledger.energy, fresh[0].ledger.energy, equal_nan=True)
                ):
                    return False
            return True

        wait_for(current, timeout_s=30, what="the stored ledger to follow the stream")
        # today's roll-up holds every interval energy of the day (a reading may straddle days)
        day = int(local_days(now_ms * 10**6, now_ms * 10**6 + 1, park.park.timezone)[0])
        rollups = read_day_rollups(store, PARK, "energy_kwh", day_ns=np.array([day]))
        for j, d in enumerate(FLOORS):
            device = park.device(d)
            assert device is not None
            (led,) = stored_ledger(store, PARK, device, start_ns=day, end_ns=day + 86_400 * 10**9)
            assert rollups[d].energy[0] == pytest.approx(float(np.nansum(led.ledger.energy)))
            assert float(np.nansum(led.ledger.energy)) <= 20.0 * (j + 1) + 1e-9
        # the live readings left park-wide marks, not one per meter
        marks = store.scan(PARK, measurement=TOUCHED, start_ns=0, end_ns=time.time_ns() + 1)
        assert marks
        assert {m.device for m in marks} == {ALL_DEVICES}
        # the follower's own /metrics: what it wrote, and how far behind its park's cursor is
        text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
        got = {
            (s.name, s.labels.get("park", "")): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }
        assert got[("smartpark_follower_passes_total", "")] >= 1
        assert got[("smartpark_follower_intervals_written_total", "")] >= 20 * len(FLOORS) / 15
        assert got[("smartpark_follower_marks_read_total", "")] >= 1
        assert 0 <= got[("smartpark_follower_cursor_age_seconds", PARK)] < 30
        assert got[("smartpark_follower_parks_unavailable", "")] == 0
        assert follower.interrupt(timeout_s=15) == 0
        assert "Traceback" not in follower.output()
        assert "roll-up days written" in follower.output()
    finally:
        store.close()
        collector.kill()
        follower.kill()
        forget_session(mosquitto.port, env["SMARTPARK_CLIENT_ID"])
        influxd.drop_database(database)


_STARTED = re.compile(r"ledger follower started as process (\d+)")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"  # not a zombie


def test_collect_runs_its_follower_as_a_child_that_it_restarts_and_that_dies_with_it(
    mosquitto: MosquittoService, influxd: InfluxService, tmp_path
):
    """``SMARTPARK_LEDGER_FOLLOW`` unset (``process``): the collector starts ``smartpark
    follow`` as its child, re-exports its metrics, starts it again when it is killed, and leaves
    no follower behind when the collector itself is killed or stopped."""
    database = f"e2e_{uuid.uuid4().hex[:10]}"
    metrics_port = free_port()
    env = {
        "SMARTPARK_MQTT_URL": mosquitto.url,
        "SMARTPARK_STORE_URL": influxd.store_url(database),
        "SMARTPARK_CLIENT_ID": f"collector-{database}",
        "SMARTPARK_DATA_DIR": str(tmp_path / "data"),
        "SMARTPARK_LEDGER_POLL_S": "0.5",
        "SMARTPARK_METRICS_PORT": str(metrics_port),
    }
    children: list[int] = []

    def started() -> list[int]:
        return [int(m) for m in _STARTED.findall(collector.output())]

    collector = start_collector(env, tmp_path / "collect-1.log")
    try:
        wait_for(lambda: len(started()) == 1, timeout_s=15, what="the follower child to start")
        (first,) = started()
        children.append(first)
        wait_for(
            lambda: f"following park {PARK} (as collector-{database})" in collector.output(),
            timeout_s=20,
            what=f"the child to take the park's lease\n{collector.tail()}",
        )
        # its metrics on the collector's endpoint
        wait_for(
            lambda: scrape_metrics(metrics_port).get("smartpark_follower_passes_total", 0) >= 1,
            timeout_s=20,
            what="the child's passes on the collector's /metrics",
        )
        # killed: started again, as another process, and it follows the park again
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: len(started()) == 2, timeout_s=15, what="the child to be started again")
        second = started()[1]
        children.append(second)
        assert second != first
        assert "exited with code -9; starting it again" in collector.output()
        wait_for(
            lambda: collector.output().count(f"following park {PARK}") >= 2,
            timeout_s=20,
            what=f"the new child to take the park again\n{collector.tail()}",
        )
        assert collector.alive(), collector.tail()
        supervised = scrape_metrics(metrics_port)
        assert supervised["smartpark_collector_follower_up"] == 1
        assert supervised["smartpark_collector_follower_restarts_total"] == 1
        # the collector killed: its child goes within a few seconds
        collector.kill()
        wait_for(lambda: not _pid_alive(second), timeout_s=10, what="the orphaned child to exit")
        assert "is gone; stopping" in collector.output()
        # stopped with SIGINT: the child stops with it, cleanly
        collector = start_collector(env, tmp_path / "collect-2.log")
        wait_for(lambda: len(started()) == 1, timeout_s=15, what="the third child to start")
        (third,) = started()
        children.append(third)
        assert collector.interrupt(timeout_s=30) == 0, collector.tail()
        assert not _pid_alive(third)
        assert "Traceback" not in collector.output()
    finally:
        collector.kill()
        for pid in children:
            if _pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        forget_session(mosquitto.port, env["SMARTPARK_CLIENT_ID"])
        influxd.drop_database(database)
