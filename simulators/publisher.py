"""Publish a simulated park over MQTT (aiomqtt), in real time, accelerated, or as fast as possible.

aiomqtt serves here because the simulator is a plain asyncio task that shares the demo's event
loop with the API server and the embedded broker; publishing needs no manual acknowledgement.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

import aiomqtt
import orjson

from config.errors import BrokerError
from config.registry import ParkRegistry
from config.settings import DEFAULT_TOPIC_TEMPLATE, parse_mqtt_url
from simulators.park import ParkModel

__all__ = ["SimulationResult", "simulate"]

log = logging.getLogger("smartpark.simulator")


@dataclass
class SimulationResult:
    """What a run published."""

    ticks: int = 0
    messages: int = 0
    first_ns: int | None = None
    last_ns: int | None = None


async def simulate(
    park: ParkRegistry,
    mqtt_url: str,
    *,
    interval_s: float = 5.0,
    speed: float = 1.0,
    start_ns: int | None = None,
    ticks: int | None = None,
    seed: int = 0,
    topic_template: str = DEFAULT_TOPIC_TEMPLATE,
    client_id: str | None = None,
    stop: asyncio.Event | None = None,
) -> SimulationResult:
    """Publish every device's reading every ``interval_s`` seconds [s] of simulated time.

    ``speed`` is simulated seconds per wall-clock second (``0`` = as fast as possible). Simulated
    time never runs ahead of the wall clock: a run that starts in the past catches up at ``speed``
    and then continues in real time. Stops after ``ticks`` ticks, when ``stop`` is set, or when
    cancelled.
    """
    if interval_s <= 0:
        raise ValueError("interval must be positive")
    url = parse_mqtt_url(mqtt_url)
    model = ParkModel(park, seed=seed)
    interval_ns = int(interval_s * 1e9)
    now_ns = time.time_ns()
    sim_ns = start_ns if start_ns is not None else now_ns - now_ns % interval_ns
    wall0, sim0 = time.monotonic(), sim_ns
    result = SimulationResult()
    topics = {d.id: topic_template.format(park=park.id, device=d.id) for d in park.devices}
    try:
        async with aiomqtt.Client(
            url.host,
            url.port,
            identifier=client_id,
            username=url.username,
            password=url.password.get_secret_value() if url.password else None,
        ) as client:
            log.info("publishing park %s to %s:%d", park.id, url.host, url.port)
            while ticks is None or result.ticks < ticks:
                if stop is not None and stop.is_set():
                    break
                await _wait_for(sim_ns, sim0, wall0, speed, stop)
                if stop is not None and stop.is_set():
                    break
                readings = model.step(sim_ns, interval_s)
                for r in readings:
                    await client.publish(topics[r.device], orjson.dumps(r.payload()), qos=1)
                result.ticks += 1
                result.messages += len(readings)
                result.first_ns = result.first_ns if result.first_ns is not None else sim_ns
                result.last_ns = sim_ns
                sim_ns += interval_ns
    except aiomqtt.MqttError as exc:
        raise BrokerError(f"simulator lost the broker at {url.host}:{url.port}: {exc}") from exc
    return result


async def _wait_for(
    sim_ns: int, sim0: int, wall0: float, speed: float, stop: asyncio.Event | None
) -> None:
    """Sleep until the tick at ``sim_ns`` is due: by ``speed``, and never before it happens."""
    due_wall = wall0 + (sim_ns - sim0) / 1e9 / speed if speed > 0 else 0.0
    delay = max(due_wall - time.monotonic(), (sim_ns - time.time_ns()) / 1e9, 0.0)
    if delay <= 0:
        await asyncio.sleep(0)
        return
    if stop is None:
        await asyncio.sleep(delay)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=delay)
