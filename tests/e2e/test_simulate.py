"""The simulator's publisher against a real Mosquitto: every device, every tick, consistently."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import itertools
import time
import uuid
from datetime import UTC, datetime

import aiomqtt
import orjson
import pytest

from config.registry import DeviceKind, load_registry
from simulators.faults import FaultProfile
from simulators.publisher import simulate
from smartpark.cli import main
from store import InfluxStore
from tests.e2e.helpers import SmartparkProcess, forget_session, start_collector, wait_for
from tests.support.servers import InfluxService, MosquittoService
from tests.support.waiting import async_wait_until

pytestmark = [pytest.mark.mosquitto]

PARK = load_registry().parks["wuhan-demo"]


async def test_simulator_publishes_every_device_every_tick(mosquitto: MosquittoService):
    received: list[aiomqtt.Message] = []
    ticks = 3
    expected = ticks * len(PARK.devices)

    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as sub:
        await sub.subscribe("parks/wuhan-demo/devices/+/telemetry", qos=1)

        async def collect() -> None:
            async for message in sub.messages:
                received.append(message)
                if len(received) == expected:
                    return

        listener = asyncio.create_task(collect())
        start_ns = time.time_ns() - 3_600 * 10**9  # an hour ago: catches up as fast as it can
        result = await simulate(
            PARK, mosquitto.url, interval_s=60, speed=0, start_ns=start_ns, ticks=ticks, seed=7
        )
        await asyncio.wait_for(listener, timeout=10)

    assert result.messages == expected
    assert result.first_ns == start_ns
    assert result.last_ns == start_ns + 2 * 60 * 10**9
    devices = {str(m.topic).split("/")[3] for m in received}
    assert devices == {d.id for d in PARK.devices}
    grid = [
        orjson.loads(m.payload) for m in received if str(m.topic).endswith("/grid-main/telemetry")
    ]
    assert [g["ts"] for g in grid] == [start_ns // 10**6 + i * 60_000 for i in range(ticks)]
    # the registers advance by exactly power x interval (import − export)
    for before, after in itertools.pairwise(grid):
        net = (
            after["energy"] - before["energy"] - (after["export_energy"] - before["export_energy"])
        )
        assert net == pytest.approx(after["power"] / 60, abs=1e-5)


async def test_real_time_mode_never_publishes_the_future(mosquitto: MosquittoService):
    arrivals: list[tuple[int, int]] = []  # grid-main's reading time and when it arrived [ms]
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as sub:
        await sub.subscribe("parks/wuhan-demo/devices/grid-main/telemetry", qos=1)

        async def collect() -> None:
            async for message in sub.messages:
                arrivals.append((orjson.loads(message.payload)["ts"], time.time_ns() // 10**6))

        async def three_ticks() -> bool:
            return len(arrivals) >= 3

        listener = asyncio.create_task(collect())
        stop = asyncio.Event()
        start = time.time_ns()
        task = asyncio.create_task(
            simulate(PARK, mosquitto.url, interval_s=0.5, speed=1, start_ns=start, stop=stop)
        )
        await async_wait_until(three_ticks, timeout_s=10, what="three ticks of grid-main")
        stop.set()
        result = await asyncio.wait_for(task, timeout=5)
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener

    assert result.ticks >= 3
    assert result.last_ns is not None
    assert result.last_ns <= time.time_ns()
    assert [ts for ts, _ in arrivals[:3]] == [start // 10**6 + 500 * i for i in range(3)]
    ahead = [(ts, got) for ts, got in arrivals if ts > got]
    assert ahead == [], "readings published before their own time"


# --- the command line: a backfill through Mosquitto and the collector into InfluxDB ---------------


@pytest.mark.influxdb
@pytest.mark.slow
def test_backfill_lands_in_influxdb_with_the_truths_counts(
    mosquitto: MosquittoService, influxd: InfluxService, tmp_path
):
    database = f"sim_{uuid.uuid4().hex[:10]}"
    env = {
        "SMARTPARK_MQTT_URL": mosquitto.url,
        "SMARTPARK_STORE_URL": influxd.store_url(database),
        "SMARTPARK_CLIENT_ID": f"collector-{database}",
        "SMARTPARK_DATA_DIR": str(tmp_path / "data"),
        "SMARTPARK_BATCH_INTERVAL_S": "0.2",
    }
    collector = start_collector(env, tmp_path / "collect.log")
    store = InfluxStore(influxd.store_url(database))
    try:
        day = (time.time_ns() // 86_400_000_000_000 - 2) * 86_400  # two days ago, UTC midnight
        start = datetime.fromtimestamp(day, UTC).isoformat()
        end = datetime.fromtimestamp(day + 3 * 3600, UTC).isoformat()
        truth = tmp_path / "truth.csv"
        sim = SmartparkProcess(
            ["simulate", "--start", start, "--end", end, "--interval", "300", "--speed", "0",
             "--batch", "12", "--seed", "3", "--truth", str(truth)],
            env={"SMARTPARK_MQTT_URL": mosquitto.url},
            log_path=tmp_path / "simulate.log",
        )  # fmt: skip
        try:
            assert sim.proc.wait(timeout=60) == 0, sim.tail()
        finally:
            sim.kill()  # closes its log
        output = sim.output()
        assert "100.0 % of the range" in output  # plain progress lines when not on a terminal
        ticks = 3 * 3600 // 300
        expected = ticks * len(PARK.devices)
        assert f"published {expected} readings in {len(PARK.devices) * 3} messages" in output
        wait_for(
            lambda: store.count(PARK.id) == expected,
            timeout_s=30,
            what=f"{expected} points in InfluxDB",
        )
        assert store.count(PARK.id, device="grid-main") == ticks
        with truth.open(newline="") as f:
            rows = [r for r in csv.DictReader(f) if r["scope"] == "device"]
        assert len({r["time_ms"] for r in rows}) == ticks
        assert {r["id"] for r in rows} <= {d.id for d in PARK.devices}
    finally:
        store.close()
        collector.kill()
        forget_session(mosquitto.port, env["SMARTPARK_CLIENT_ID"])  # or it queues later tests' data
        influxd.drop_database(database)


def test_generate_park_writes_a_valid_registry(tmp_path):
    out = tmp_path / "park.yaml"
    assert main(["simulate", "--generate-park", "137", "--output", str(out)]) == 0
    park = load_registry(out).parks["generated"]
    assert len(park.devices) == 137
    assert {d.kind for d in park.devices} >= {DeviceKind.ELECTRICITY_METER, DeviceKind.PV_INVERTER}


async def test_faults_and_truth_through_the_broker(mosquitto: MosquittoService, tmp_path):
    received: list[aiomqtt.Message] = []
    profile = FaultProfile(dropout=0.05, duplicate=0.05, malformed=0.05, gateway_outage=0.05,
                           gateway_outage_s=300, backlog_batch=5)  # fmt: skip
    truth = tmp_path / "truth.csv"
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as sub:
        await sub.subscribe("parks/wuhan-demo/devices/+/telemetry", qos=1)

        async def collect() -> None:
            async for message in sub.messages:
                received.append(message)

        listener = asyncio.create_task(collect())
        start_ns = (time.time_ns() // 60_000_000_000 - 60) * 60_000_000_000
        result = await simulate(
            PARK, mosquitto.url, interval_s=60, speed=0, start_ns=start_ns, ticks=30, seed=5,
            faults=profile, truth_path=truth,
        )  # fmt: skip

        async def all_received() -> bool:
            return len(received) >= result.messages

        await async_wait_until(all_received, timeout_s=10, what=f"{result.messages} messages")
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener

    assert len(received) == result.messages
    with truth.open(newline="") as f:
        faults = [r for r in csv.DictReader(f) if r["record"] == "fault"]
    assert len(faults) == result.faults > 0
    kinds = {r["quantity"] for r in faults}
    assert {"dropout", "duplicate", "malformed", "gateway_outage"} <= kinds
    bad = 0
    for m in received:
        try:
            orjson.loads(m.payload)
        except orjson.JSONDecodeError:
            bad += 1
    assert bad == sum(1 for r in faults if r["quantity"] == "malformed")
