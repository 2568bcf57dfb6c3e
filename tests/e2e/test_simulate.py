"""The simulator's publisher against a real Mosquitto: every device, every tick, consistently."""

from __future__ import annotations

import asyncio
import itertools
import time

import aiomqtt
import orjson
import pytest

from config.registry import load_registry
from simulators.publisher import simulate
from tests.services import MosquittoService

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
    # the register advances by exactly power x interval
    for before, after in itertools.pairwise(grid):
        assert after["energy"] - before["energy"] == pytest.approx(after["power"] / 60, abs=1e-5)


async def test_real_time_mode_never_publishes_the_future(mosquitto: MosquittoService):
    stop = asyncio.Event()
    start = time.time_ns()
    task = asyncio.create_task(
        simulate(PARK, mosquitto.url, interval_s=0.5, speed=1, start_ns=start, stop=stop)
    )
    await asyncio.sleep(1.3)
    stop.set()
    result = await asyncio.wait_for(task, timeout=5)
    assert 2 <= result.ticks <= 4
    assert result.last_ns is not None
    assert result.last_ns <= time.time_ns()
