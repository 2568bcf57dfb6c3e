"""Publish a simulated park over MQTT (aiomqtt): real time, accelerated, or a backfill.

aiomqtt serves here because the simulator is a plain asyncio task that shares the demo's event
loop with the API server and the embedded broker; publishing needs no manual acknowledgement.
QoS 1 publishes of one tick are issued together (paho keeps their order) and awaited as a group,
so a tick of 10,000 devices costs one round of acknowledgements, not 10,000.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import aiomqtt
import orjson

from config.errors import BrokerError
from config.registry import ParkRegistry
from config.settings import (
    DEFAULT_TOPIC_TEMPLATE,
    MqttUrl,
    Settings,
    get_settings,
    mqtt_endpoint,
)
from simulators.faults import FaultInjector, FaultProfile, Outgoing
from simulators.park import ParkModel, Reading
from simulators.truth import TruthWriter

__all__ = ["Progress", "SimulationResult", "messages_for", "simulate"]

log = logging.getLogger("smartpark.simulator")
# aiomqtt warns once per publish while more than 10 await their acknowledgement; publishing a
# tick's messages together is the point, so only its errors are worth a line
_mqtt_log = logging.getLogger("smartpark.simulator.mqtt")
_mqtt_log.setLevel(logging.ERROR)

PUBLISH_WINDOW = 2000  # QoS 1 messages in flight at once


@dataclass
class SimulationResult:
    """What a run published."""

    ticks: int = 0
    messages: int = 0
    readings: int = 0
    faults: int = 0
    first_ns: int | None = None
    last_ns: int | None = None
    busy_s: float = 0.0  # wall time spent simulating and publishing (not waiting) [s]
    max_tick_s: float = 0.0  # the longest tick, simulated and published [s]


class Progress:
    """A progress bar on a terminal, or a plain line every ``every_s`` seconds otherwise."""

    def __init__(
        self, start_ns: int, end_ns: int, *, stream: TextIO | None = None, every_s: float = 10.0
    ) -> None:
        self.start_ns, self.end_ns = start_ns, end_ns
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every_s = every_s if not self.tty else 0.2
        self.t0 = time.monotonic()
        self._last = -1e9

    def update(self, sim_ns: int, messages: int, *, final: bool = False) -> None:
        """Report progress at simulated time ``sim_ns``."""
        now = time.monotonic()
        if not final and now - self._last < self.every_s:
            return
        self._last = now
        span = max(self.end_ns - self.start_ns, 1)
        done = min(max((sim_ns - self.start_ns) / span, 0.0), 1.0)
        elapsed = now - self.t0
        eta = elapsed * (1 - done) / done if done > 0 else float("nan")
        rate = messages / elapsed if elapsed > 0 else 0.0
        if self.tty:
            bar = "#" * int(30 * done)
            self.stream.write(
                f"\r[{bar:<30}] {100 * done:5.1f} % {rate:8.0f} msg/s ETA {eta:6.0f} s"
                + ("\n" if final else "")
            )
        else:
            self.stream.write(
                f"simulate: {100 * done:5.1f} % of the range, {messages} messages, "
                f"{rate:.0f} msg/s, {elapsed:.0f} s elapsed\n"
            )
        self.stream.flush()


def messages_for(readings: Sequence[Reading]) -> list[Outgoing]:
    """One message per reading (no faults)."""
    return [Outgoing(r.device, (r.payload(),)) for r in readings]


class _Batcher:
    """Groups single readings per device into ``{"readings": [...]}`` messages of ``size``."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pending: dict[str, list[dict[str, Any]]] = {}

    def add(self, messages: list[Outgoing]) -> list[Outgoing]:
        if self.size <= 1:
            return messages
        out: list[Outgoing] = []
        for m in messages:
            if m.raw is not None or m.batch:
                out.append(m)
                continue
            buf = self.pending.setdefault(m.device, [])
            buf.extend(m.readings)
            if len(buf) >= self.size:
                out.append(Outgoing(m.device, tuple(buf), batch=True))
                del self.pending[m.device]
        return out

    def flush(self) -> list[Outgoing]:
        out = [Outgoing(d, tuple(b), batch=True) for d, b in self.pending.items() if b]
        self.pending = {}
        return out


async def simulate(
    park: ParkRegistry,
    mqtt_url: str,
    *,
    interval_s: float = 5.0,
    speed: float = 1.0,
    start_ns: int | None = None,
    end_ns: int | None = None,
    ticks: int | None = None,
    seed: int = 0,
    topic_template: str = DEFAULT_TOPIC_TEMPLATE,
    client_id: str | None = None,
    stop: asyncio.Event | None = None,
    faults: FaultProfile | None = None,
    truth_path: Path | None = None,
    batch: int = 1,
    progress: Progress | None = None,
    settings: Settings | None = None,
    registers: Mapping[str, Mapping[str, float]] | None = None,
    model: ParkModel | None = None,
) -> SimulationResult:
    """Publish every device's reading every ``interval_s`` seconds [s] of simulated time.

    ``speed`` is simulated seconds per wall-clock second (``0`` = as fast as possible). Simulated
    time never runs ahead of the wall clock: a run that starts in the past catches up at ``speed``
    and then continues in real time. Stops after ``ticks`` ticks, at ``end_ns`` (exclusive), when
    ``stop`` is set, or when cancelled. ``batch`` > 1 sends each device's readings in
    ``{"readings": [...]}`` messages of that many (a gateway's upload); ``faults`` injects faults;
    ``truth_path`` receives the ground truth (see :mod:`simulators.truth`). The broker's
    password file and TLS files come from ``settings`` (default :func:`get_settings`).
    ``registers`` starts the meters where they stand (see :class:`ParkModel`); ``model``
    continues a model that already ran (a backfill), with all its state.
    """
    if interval_s <= 0:
        raise ValueError("interval must be positive")
    url = mqtt_endpoint(mqtt_url, settings if settings is not None else get_settings())
    model = _model_for(park, seed=seed, registers=registers, model=model)
    injector = FaultInjector(faults, park, seed=seed) if faults is not None else None
    batcher = _Batcher(batch)
    interval_ns = int(interval_s * 1e9)
    now_ns = time.time_ns()
    sim_ns = start_ns if start_ns is not None else now_ns - now_ns % interval_ns
    wall0, sim0 = time.monotonic(), sim_ns
    result = SimulationResult()
    topics = {d.id: topic_template.format(park=park.id, device=d.id) for d in park.devices}
    truth = TruthWriter(truth_path, model) if truth_path is not None else None
    try:
        async with aiomqtt.Client(
            url.host,
            url.port,
            identifier=client_id,
            username=url.username,
            password=url.password.get_secret_value() if url.password else None,
            tls_context=_tls_context(url),
            tls_insecure=url.tls_insecure if url.tls else None,
            max_inflight_messages=PUBLISH_WINDOW,
            logger=_mqtt_log,
        ) as client:
            log.info("publishing park %s to %s:%d", park.id, url.host, url.port)

            async def send(messages: list[Outgoing]) -> None:
                for i in range(0, len(messages), PUBLISH_WINDOW):
                    chunk = messages[i : i + PUBLISH_WINDOW]
                    await asyncio.gather(
                        *(client.publish(topics[m.device], m.payload(), qos=1) for m in chunk)
                    )
                result.messages += len(messages)

            while ticks is None or result.ticks < ticks:
                if end_ns is not None and sim_ns >= end_ns:
                    break
                if stop is not None and stop.is_set():
                    break
                await _wait_for(sim_ns, sim0, wall0, speed, stop)
                if stop is not None and stop.is_set():
                    break
                began = time.perf_counter()
                messages = _produce(
                    model,
                    injector=injector,
                    truth=truth,
                    result=result,
                    sim_ns=sim_ns,
                    interval_s=interval_s,
                )
                await send(batcher.add(messages))
                took = time.perf_counter() - began
                result.busy_s += took
                result.max_tick_s = max(result.max_tick_s, took)
                result.first_ns = result.first_ns if result.first_ns is not None else sim_ns
                result.last_ns = sim_ns
                sim_ns += interval_ns
                if progress is not None:
                    progress.update(sim_ns, result.messages)
            tail = injector.flush() if injector is not None else []
            await send(batcher.add(tail) + batcher.flush())
            if progress is not None:
                progress.update(sim_ns, result.messages, final=True)
    except aiomqtt.MqttError as exc:
        raise BrokerError(f"simulator lost the broker at {url.host}:{url.port}: {exc}") from exc
    finally:
        if truth is not None:
            truth.close()
    return result


def _model_for(
    park: ParkRegistry,
    *,
    seed: int,
    registers: Mapping[str, Mapping[str, float]] | None,
    model: ParkModel | None,
) -> ParkModel:
    if model is None:
        return ParkModel(park, seed=seed, registers=registers)
    if model.park is not park:
        raise ValueError("the model simulates another park")
    return model


def _tls_context(url: MqttUrl) -> ssl.SSLContext | None:
    """The TLS context of an ``mqtts://`` broker (None for ``mqtt://``)."""
    if not url.tls:
        return None
    if url.tls_insecure:
        log.warning(
            "SMARTPARK_MQTT_TLS_INSECURE=true: the broker's certificate is NOT checked; "
            "anybody on the path can pose as %s:%d (labs only)",
            url.host,
            url.port,
        )
    return url.ssl_context()


def _produce(
    model: ParkModel,
    *,
    injector: FaultInjector | None,
    truth: TruthWriter | None,
    result: SimulationResult,
    sim_ns: int,
    interval_s: float,
) -> list[Outgoing]:
    """One tick: advance the model, record the truth, inject faults; the messages to send."""
    tick = model.advance(sim_ns, interval_s)
    readings = tick.readings()
    result.ticks += 1
    result.readings += len(readings)
    if truth is not None:
        truth.write_tick(tick)
    if injector is None:
        return messages_for(readings)
    messages = injector.process(readings, sim_ns // 1_000_000)
    recorded = injector.drain_faults()
    breaks = injector.drain_breaks()
    result.faults += len(recorded)
    if truth is not None:
        truth.write_faults(recorded)
        truth.write_breaks(breaks)
    return messages


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


def encode(readings: Sequence[Reading]) -> list[bytes]:
    """The payload bytes of each reading (for measuring generation without a broker)."""
    return [orjson.dumps(r.payload()) for r in readings]
