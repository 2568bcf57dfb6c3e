"""The edge agent: poll every bus on its interval, buffer, forward to the broker.

One task per bus polls its meters in turn (a bus is one line: one request at a time) and
appends the cycle's messages to the :class:`~edge.outbox.Outbox` in one fsynced transaction;
one task forwards the buffer to the broker, oldest first, at QoS 1, removing each message only
after its PUBACK, and reconnects with a growing pause while the broker is unreachable.
aiomqtt, not bare paho: everything here is one asyncio loop (pymodbus's clients are asyncio too),
and aiomqtt's QoS 1 ``publish`` returns once the PUBACK has arrived, so deleting after the PUBACK
is an ``await`` and a ``DELETE``, with no message ids tracked across paho's network thread.

Readings are smartpark's native payload on the configured topic template:
``{"ts": <epoch ms>, "energy": 1234.5, "power": 12.3, ...}`` in the registry's units. A meter
that does not answer gets no reading (nothing is made up) and one retained status message when
its state changes, on the status topic: ``{"ts": …, "state": "offline", "reason": "…"}``, and
``"online"`` when it answers again; it is tried again every interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiomqtt

from config.settings import parse_mqtt_url
from edge.buses import AnyBus, Dlt645Poller, Poller, open_poller
from edge.configfile import Broker, EdgeSetup, load_edge_config
from edge.errors import EdgeError, MeterError, MeterUnavailableError
from edge.outbox import Message, Outbox

__all__ = [
    "STATUS_TEXT",
    "STOP_DRAIN_S",
    "EdgeAgent",
    "reading_message",
    "run_edge",
    "status_message",
]

log = logging.getLogger("smartpark.edge")

_BACKOFF_S = (0.5, 30.0)  # first and longest pause between broker connection attempts
_PUBLISH_TIMEOUT_S = 30.0  # a PUBACK slower than this counts as a lost connection
STOP_DRAIN_S = 5.0
"""On SIGTERM/SIGINT, how long [s] the agent keeps sending what is buffered (while connected)
before it exits; what is left stays on disk for the next start."""


def _topic(template: str, park: str, device: str) -> str:
    return template.replace("{park}", park).replace("{device}", device)


def reading_message(
    broker: Broker, park: str, device: str, ts_ms: int, values: dict[str, float]
) -> Message:
    """A reading in smartpark's native payload (``ts`` epoch ms [ms], values in registry units)."""
    payload = json.dumps({"ts": ts_ms, **values}, separators=(",", ":")).encode()
    return Message(_topic(broker.topic_template, park, device), payload, device, "reading")


STATUS_TEXT: dict[str, dict[str, str]] = {
    "online": {"en": "meter answering", "zh": "电表应答正常"},
    "no_answer": {"en": "meter not answering", "zh": "电表无应答"},
    "error_reply": {"en": "meter answered with an error", "zh": "电表应答异常"},
}
"""What a person reads about a meter's state, in English and Chinese (the ``reason`` beside it
is the technical detail for the integrator)."""


def status_message(
    broker: Broker,
    park: str,
    device: str,
    ts_ms: int,
    *,
    online: bool,
    reason: str = "",
    cause: str = "no_answer",
) -> Message:
    """A meter's state change (retained): ``online``, or ``offline`` with its ``cause``
    (``no_answer`` or ``error_reply``) and the technical ``reason``; ``ts`` [ms]."""
    body: dict[str, object] = {
        "ts": ts_ms,
        "state": "online" if online else "offline",
        "message": STATUS_TEXT["online" if online else cause],
    }
    if reason:
        body["reason"] = reason
    payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    topic = _topic(broker.status_topic_template, park, device)
    return Message(topic, payload, device, "status", retain=True)


class EdgeAgent:
    """Runs the pollers and the forwarder of one ``edge.yaml`` until :meth:`stop`."""

    def __init__(self, setup: EdgeSetup, *, clock_ms: Callable[[], int] | None = None) -> None:
        self.setup = setup
        self.config = setup.config
        self.outbox = Outbox(self.config.buffer, journal=self.config.journal)
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        # set when forwarding ends (after the stop's drain): loops check it as well as being
        # cancelled, since Python 3.11's asyncio.wait_for can swallow a cancellation that
        # arrives as its inner call completes (a poll task so cancelled went on polling)
        self._done = asyncio.Event()
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self.connected = False

    def stop(self) -> None:
        """Ask every task to finish: polling stops at once, what is buffered is still sent
        while the broker answers, for at most :data:`STOP_DRAIN_S` (the buffer keeps the rest
        for the next start)."""
        self._stop.set()

    async def run(self) -> None:
        """Poll and forward until :meth:`stop`; then close the ports and the buffer."""
        pollers = [open_poller(bus) for bus in self.config.buses]
        try:
            async with asyncio.TaskGroup() as group:
                forward = group.create_task(self._forward(), name="forward")
                polls = [
                    group.create_task(self._poll_bus(bus, poller), name=bus.id)
                    for bus, poller in zip(self.config.buses, pollers, strict=True)
                ]
                await self._stop.wait()
                for task in polls:  # no new readings after the stop
                    task.cancel()
                await self._drain_before_stop()
                self._done.set()
                forward.cancel()
        finally:
            for poller in pollers:
                with contextlib.suppress(Exception):
                    await poller.close()
            self.outbox.close()

    async def _drain_before_stop(self) -> None:
        """Wait while the broker is connected and the buffer not empty, at most
        :data:`STOP_DRAIN_S` [s]: a clean stop delivers the last cycles instead of leaving them
        to the next start."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_DRAIN_S
        while self.connected and len(self.outbox) and loop.time() < deadline:
            self._wake.set()
            await asyncio.sleep(0.02)

    async def poll_once(
        self, bus: AnyBus, poller: Poller, online: dict[str, bool]
    ) -> list[Message]:
        """One cycle over ``bus``'s meters: the readings and the state changes, in poll order."""
        park, broker = self.config.park, self.config.broker
        messages: list[Message] = []
        for meter in bus.meters:
            ts_ms = self._clock_ms()
            try:
                values = await poller.read(meter, self.setup.maps[meter.device])
            except (MeterUnavailableError, MeterError) as exc:
                if online.get(meter.device, True):
                    log.warning("meter offline: %s", exc)
                    messages.append(
                        status_message(
                            broker,
                            park,
                            meter.device,
                            ts_ms,
                            online=False,
                            reason=str(exc),
                            cause="no_answer"
                            if isinstance(exc, MeterUnavailableError)
                            else "error_reply",
                        )
                    )
                online[meter.device] = False
                continue
            if not online.get(meter.device, False):
                log.info("meter online: %s on %s", meter.device, bus.id)
                messages.append(status_message(broker, park, meter.device, ts_ms, online=True))
            online[meter.device] = True
            if values:
                messages.append(reading_message(broker, park, meter.device, ts_ms, values))
        return messages

    async def _poll_bus(self, bus: AnyBus, poller: Poller) -> None:
        loop = asyncio.get_running_loop()
        online: dict[str, bool] = {}
        if isinstance(poller, Dlt645Poller) and getattr(bus, "discover", False):
            await self._discover(bus, poller)
        due = loop.time()
        while not self._stop.is_set():
            messages = await self.poll_once(bus, poller, online)
            if self._stop.is_set():
                break  # read after the stop: not buffered, as a cancelled cycle would not be
            self.outbox.append(messages)
            self._wake.set()
            due += bus.interval_s
            late = loop.time() - due
            if late > 0:  # a slow bus: start the next cycle now, do not try to catch up
                if late >= bus.interval_s:  # a whole cycle missed: worth saying
                    log.warning("bus %s: polling %.1f s behind its interval", bus.id, late)
                due = loop.time()
            await asyncio.sleep(max(0.0, due - loop.time()))

    async def _discover(self, bus: AnyBus, poller: Dlt645Poller) -> None:
        try:
            address = await poller.discover()
        except (MeterUnavailableError, MeterError) as exc:
            log.warning("bus %s: address discovery failed: %s", bus.id, exc)
            return
        known = {getattr(m, "address", None) for m in bus.meters}
        if address in known:
            log.info("bus %s: meter %s answers", bus.id, address)
        else:
            log.warning("bus %s: meter %s answers but is not in edge.yaml", bus.id, address)

    async def _forward(self) -> None:
        broker = self.config.broker
        url = parse_mqtt_url(broker.url)
        pause = _BACKOFF_S[0]
        while not self._done.is_set():
            try:
                async with aiomqtt.Client(
                    url.host,
                    url.port,
                    username=url.username,
                    password=url.password.get_secret_value() if url.password else None,
                    identifier=broker.client_id,
                    keepalive=broker.keepalive_s,
                    tls_context=url.ssl_context() if url.tls else None,
                    max_inflight_messages=broker.inflight,
                    timeout=10,
                ) as client:
                    client.pending_calls_threshold = broker.inflight + 1  # a full window is normal
                    log.info(
                        "connected to %s; %d messages buffered", url.redacted, len(self.outbox)
                    )
                    self.connected = True
                    pause = _BACKOFF_S[0]
                    # publishes wait for their PUBACK; a dropped connection must end them now,
                    # not at their timeout: the message iterator raises on a disconnection
                    await _first_to_end(self._drain(client, broker.inflight), _watch(client))
            except aiomqtt.MqttError as exc:
                if self.connected:
                    log.warning("broker %s lost: %s; buffering", url.redacted, exc)
                else:
                    log.warning(
                        "broker %s unreachable: %s; retry in %.1f s", url.redacted, exc, pause
                    )
                self.connected = False
                await asyncio.sleep(pause)
                pause = min(pause * 2, _BACKOFF_S[1])

    async def _drain(self, client: aiomqtt.Client, window: int) -> None:
        while not self._done.is_set():
            self._wake.clear()
            batch = self.outbox.head(window)
            if not batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 1.0)
                continue
            # published in order on one connection: a PUBACK for one implies every earlier one
            results = await asyncio.gather(
                *(
                    client.publish(
                        s.message.topic,
                        s.message.payload,
                        qos=1,
                        retain=s.message.retain,
                        timeout=_PUBLISH_TIMEOUT_S,
                    )
                    for s in batch
                ),
                return_exceptions=True,
            )
            self.outbox.remove(s.seq for s, r in zip(batch, results, strict=True) if r is None)
            for result in results:
                if isinstance(result, aiomqtt.MqttError):
                    raise result
                if isinstance(result, BaseException):
                    raise EdgeError(f"publishing failed: {result!r}") from result


async def _watch(client: aiomqtt.Client) -> None:
    async for _ in client.messages:  # nothing is subscribed: this only waits for a disconnection
        pass


async def _first_to_end(*coros: Coroutine[Any, Any, None]) -> None:
    """Run ``coros`` until the first ends (or fails); cancel the rest; re-raise its error."""
    tasks = [asyncio.create_task(c) for c in coros]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        task.result()


_SLOW_STOP_S = 10.0  # a stop taking longer than this logs what is still running


def _log_running_tasks() -> None:
    """Log every task still running, with where it waits: a slow stop says why."""
    for task in asyncio.all_tasks():
        frames = task.get_stack(limit=3)
        where = " <- ".join(f"{f.f_code.co_filename}:{f.f_lineno}" for f in frames)
        log.warning(
            "still running %.0f s after the stop: %s at %s", _SLOW_STOP_S, task.get_name(), where
        )


async def _serve(setup: EdgeSetup) -> None:
    agent = EdgeAgent(setup)
    loop = asyncio.get_running_loop()

    def stop() -> None:
        agent.stop()
        loop.call_later(_SLOW_STOP_S, _log_running_tasks)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    n_meters = sum(len(b.meters) for b in setup.config.buses)
    log.info(
        "edge agent: %d buses, %d meters, buffer %s",
        len(setup.config.buses),
        n_meters,
        setup.config.buffer,
    )
    await agent.run()


def run_edge(config_path: Path) -> int:
    """``smartpark edge --config FILE``: run until SIGINT/SIGTERM. Raises
    :class:`~edge.errors.EdgeConfigError` (file:line) for a bad file."""
    setup = load_edge_config(config_path)
    asyncio.run(_serve(setup))
    return 0
