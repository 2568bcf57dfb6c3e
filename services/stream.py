"""The live stream's hub: one poller per park shared by every subscriber.

A park's poller (an asyncio task, started with its first subscriber and stopped with its last)
reads ``store.latest(park)`` every ``poll_s`` in a worker thread, and turns what changed into
Server-Sent Events: ``reading`` per device whose newest reading changed, ``flows`` when the park's
power flows changed. Alarms come from :class:`services.alarms.AlarmEngine` (any thread) through
:meth:`StreamHub.publish_alarm`. Each event is encoded once and put on every subscriber's bounded
queue that may see it; a subscriber whose queue is full is dropped (its stream ends), so a slow
client never makes the server hold more than ``queue_size`` events for it. The number of streams
is bounded too: at most ``max_streams`` open in the process and ``max_per_key`` per API key; one
more is refused with :class:`~config.errors.TooManyStreamsError` before it starts, and a stream's
slot is free again as soon as it is unsubscribed (the stream ended, or its client went away).

Tenant subscribers get only their own devices' readings and alarms, and no flows (the park's flows
are made of shared meters: grid connection, PV, storage, EV chargers).

Sign conventions of ``flows`` [kW]: ``grid_kw`` positive = import from the grid, negative =
export; ``pv_kw`` ≥ 0 generation; ``battery_kw`` positive = discharging into the park, negative =
charging; ``ev_kw`` ≥ 0 drawn by the EV chargers; ``load_kw = grid_kw + pv_kw + battery_kw −
ev_kw``: what the buildings draw (tenants, common areas, losses), by balance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import orjson

from config.errors import TooManyStreamsError
from config.registry import ParkRegistry, Role
from store.base import LatestReading, Store

__all__ = [
    "FLOW_ROLES",
    "STREAM_RETRY_AFTER_S",
    "StreamHub",
    "Subscriber",
    "encode_event",
    "flows_of",
    "reading_json",
]

log = logging.getLogger("smartpark.stream")

FLOW_ROLES: Mapping[Role, str] = {
    Role.GRID_CONNECTION: "grid_kw",
    Role.PV: "pv_kw",
    Role.STORAGE: "battery_kw",
    Role.EV_CHARGING: "ev_kw",
}
STALE_FOR_FLOWS_NS = 60 * 1_000_000_000
"""A meter whose reading is this much older than the park's newest is left out of the flows."""

PING = b": ping\n\n"

STREAM_RETRY_AFTER_S = 10
"""What a client refused a stream is told to wait [s]. Streams are long-lived, so no slot has a
known time to be free; this keeps a reconnect loop from hammering the server."""


def encode_event(event: str, data: object) -> bytes:
    """One Server-Sent Event: ``event: <name>`` and one ``data:`` line of compact JSON."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _finite(fields: Mapping[str, float]) -> dict[str, float]:
    return {k: v for k, v in sorted(fields.items()) if math.isfinite(v)}


def reading_json(r: LatestReading) -> dict[str, object]:
    """The ``data`` of a ``reading`` event."""
    return {"device": r.device, "time_ms": r.time_ns // 1_000_000, "fields": _finite(r.fields)}


def flows_of(park: ParkRegistry, readings: Iterable[LatestReading]) -> dict[str, object] | None:
    """The park's power flows from the newest ``power_kw`` of its meters by role (see the
    module's sign conventions), or None when no flow meter has reported."""
    power: list[tuple[Role, int, float]] = []
    for r in readings:
        dev = park.device(r.device)
        value = r.fields.get("power_kw")
        if dev is None or dev.role not in FLOW_ROLES or value is None or not math.isfinite(value):
            continue
        power.append((dev.role, r.time_ns, value))
    if not power:
        return None
    newest = max(t for _, t, _ in power)
    sums = dict.fromkeys(FLOW_ROLES.values(), 0.0)
    for role, t, value in power:
        if t >= newest - STALE_FOR_FLOWS_NS:
            sums[FLOW_ROLES[role]] += value
    load = sums["grid_kw"] + sums["pv_kw"] + sums["battery_kw"] - sums["ev_kw"]
    out: dict[str, object] = {"time_ms": newest // 1_000_000}
    out.update({k: round(v, 3) for k, v in sums.items()})
    out["load_kw"] = round(load, 3)
    return out


@dataclass(eq=False)
class Subscriber:
    """One client's stream: the devices it may see (None: all), whether it gets flows, its
    queue of encoded events (None on the queue: the stream ends), and the API key whose slot it
    holds (None: counted in the total only)."""

    park: str
    devices: frozenset[str] | None
    flows: bool
    queue: asyncio.Queue[bytes | None]
    dropped: bool = False
    key: str | None = None
    holds_slot: bool = False

    def sees(self, device: str | None) -> bool:
        """True when this subscriber may see ``device`` (None: a park-level item)."""
        if self.devices is None:
            return True
        return device is not None and device in self.devices


@dataclass
class _Park:
    registry: ParkRegistry
    subscribers: set[Subscriber] = field(default_factory=set)
    task: asyncio.Task[None] | None = None
    readings: dict[str, LatestReading] = field(default_factory=dict)
    flows: dict[str, object] | None = None
    flows_key: tuple[object, ...] | None = None
    primed: bool = False


class StreamHub:
    """Subscribers and pollers, on the server's event loop.

    ``alarms(park)`` gives the park's active alarms as (device, JSON) pairs for the snapshot.
    ``max_streams`` bounds the open streams of the hub, ``max_per_key`` those of one API key
    (None: no bound).
    """

    def __init__(
        self,
        store: Store,
        parks: Mapping[str, ParkRegistry],
        *,
        poll_s: float = 0.5,
        queue_size: int = 1000,
        alarms: Callable[[str], list[tuple[str | None, dict[str, object]]]] | None = None,
        max_streams: int | None = None,
        max_per_key: int | None = None,
    ) -> None:
        for name, bound in (("max_streams", max_streams), ("max_per_key", max_per_key)):
            if bound is not None and bound < 1:
                raise ValueError(f"{name} must be at least 1")
        self.store = store
        self.poll_s = poll_s
        self.queue_size = queue_size
        self.alarms = alarms
        self.max_streams = max_streams
        self.max_per_key = max_per_key
        self._open = 0  # streams holding a slot
        self._open_by_key: dict[str, int] = {}
        self._full_logged = False  # a refusal for the total was logged since a slot was freed
        self._parks = {pid: _Park(reg) for pid, reg in parks.items()}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.dropped = 0

    def use_registry(self, parks: Mapping[str, ParkRegistry]) -> None:
        """Serve ``parks`` from the next poll on (devices approved or retired at run time); parks
        not served already are not added (approvals only add devices). Any thread."""
        for pid, reg in parks.items():
            state = self._parks.get(pid)
            if state is not None:
                state.registry = reg
                state.flows_key = None  # the next poll sends flows with the new devices

    # -- subscribers ---------------------------------------------------------------------------

    async def subscribe(
        self, park: str, *, devices: frozenset[str] | None, flows: bool, key: str | None = None
    ) -> tuple[Subscriber, bytes]:
        """A new subscriber and the snapshot to send first: a ``reading`` per device, ``flows``
        and an ``alarm`` per active alarm, as ordinary events.

        The subscriber holds a slot of API key ``key`` (None: of the total only) until
        :meth:`unsubscribe`; raises :class:`TooManyStreamsError` when none is free.
        """
        self._loop = asyncio.get_running_loop()
        state = self._parks[park]
        sub = Subscriber(park, devices, flows, asyncio.Queue(self.queue_size), key=key)
        self._claim(sub)
        try:
            if not state.primed:
                await self._poll(state)  # the first subscriber: read now rather than wait
            state.subscribers.add(sub)
            if state.task is None or state.task.done():
                state.task = asyncio.create_task(self._run(state), name=f"stream-{park}")
            chunks = [
                encode_event("reading", reading_json(r))
                for r in sorted(state.readings.values(), key=lambda r: r.device)
                if sub.sees(r.device)
            ]
            if flows and state.flows is not None:
                chunks.append(encode_event("flows", state.flows))
            if self.alarms is not None:
                alarms = await asyncio.to_thread(self.alarms, park)
                chunks.extend(encode_event("alarm", a) for d, a in alarms if sub.sees(d))
        except BaseException:
            self.unsubscribe(sub)
            raise
        return sub, b"".join(chunks)

    def _claim(self, sub: Subscriber) -> None:
        """Take a slot for ``sub`` or raise :class:`TooManyStreamsError`."""
        key = sub.key
        wait = f"retry in {STREAM_RETRY_AFTER_S} s"
        held = self._open_by_key.get(key, 0) if key is not None else 0
        if key is not None and self.max_per_key is not None and held >= self.max_per_key:
            log.info(
                "live stream: refused a stream of key %r: %d open, the most per key", key, held
            )
            raise TooManyStreamsError(
                f"this API key already has {held} live streams open, the most allowed; "
                f"close one or {wait}",
                retry_after_s=STREAM_RETRY_AFTER_S,
            )
        if self.max_streams is not None and self._open >= self.max_streams:
            if not self._full_logged:
                self._full_logged = True
                log.warning("live stream: %d streams open, the most served: 429", self._open)
            raise TooManyStreamsError(
                f"the server already has {self._open} live streams open, the most it serves; "
                f"{wait}",
                retry_after_s=STREAM_RETRY_AFTER_S,
            )
        self._open += 1
        if key is not None:
            self._open_by_key[key] = held + 1
        sub.holds_slot = True

    def _release(self, sub: Subscriber) -> None:
        if not sub.holds_slot:
            return
        sub.holds_slot = False
        self._open -= 1
        self._full_logged = False
        key = sub.key
        if key is not None:
            left = self._open_by_key[key] - 1
            if left:
                self._open_by_key[key] = left
            else:
                del self._open_by_key[key]

    def open_streams(self, key: str | None = None) -> int:
        """How many streams hold a slot (of API key ``key``, or in all)."""
        return self._open if key is None else self._open_by_key.get(key, 0)

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget ``sub`` and free its slot (calling it again does nothing); the park's poller
        stops with its last subscriber."""
        self._release(sub)
        state = self._parks.get(sub.park)
        if state is None:
            return
        state.subscribers.discard(sub)
        if not state.subscribers and state.task is not None:
            state.task.cancel()
            state.task = None
            state.primed = False  # the next first subscriber reads afresh

    def subscribers(self, park: str | None = None) -> int:
        """How many streams are open (in ``park``, or in all)."""
        return sum(
            len(s.subscribers) for pid, s in self._parks.items() if park is None or pid == park
        )

    def _offer(self, state: _Park, chunk: bytes, *, device: str | None, flows: bool) -> None:
        for sub in list(state.subscribers):
            if flows and not sub.flows:
                continue
            if not flows and not sub.sees(device):
                continue
            try:
                sub.queue.put_nowait(chunk)
            except asyncio.QueueFull:
                self._drop(state, sub)

    def _drop(self, state: _Park, sub: Subscriber) -> None:
        """A client that does not keep up: end its stream (it reconnects and gets a snapshot)."""
        sub.dropped = True
        state.subscribers.discard(sub)
        self.dropped += 1
        while not sub.queue.empty():
            sub.queue.get_nowait()
        sub.queue.put_nowait(None)
        log.info("live stream: dropped a subscriber of %s that did not keep up", sub.park)

    # -- alarms (any thread) -------------------------------------------------------------------

    def publish_alarm(self, park: str, device: str | None, data: dict[str, object]) -> None:
        """Send an ``alarm`` event to the park's subscribers that may see ``device``; safe to
        call from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        chunk = encode_event("alarm", data)

        def offer() -> None:
            state = self._parks.get(park)
            if state is not None:
                self._offer(state, chunk, device=device, flows=False)

        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(offer)

    # -- polling -------------------------------------------------------------------------------

    async def _run(self, state: _Park) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            try:
                await self._poll(state)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a store outage: keep the streams, try again
                log.warning("live stream of %s: polling failed (%s)", state.registry.id, exc)

    async def _poll(self, state: _Park) -> None:
        readings = await asyncio.to_thread(self.store.latest, state.registry.id)
        first = not state.primed
        state.primed = True
        for r in readings:
            old = state.readings.get(r.device)
            if old is not None and old.time_ns == r.time_ns and old.fields == r.fields:
                continue
            state.readings[r.device] = r
            if not first:
                self._offer(
                    state,
                    encode_event("reading", reading_json(r)),
                    device=r.device,
                    flows=False,
                )
        flows = flows_of(state.registry, state.readings.values())
        key = None if flows is None else tuple(v for k, v in flows.items() if k != "time_ms")
        if flows is not None and key != state.flows_key:
            state.flows, state.flows_key = flows, key
            if not first:
                self._offer(state, encode_event("flows", flows), device=None, flows=True)

    async def close(self) -> None:
        """End every stream and stop the pollers."""
        for state in self._parks.values():
            for sub in list(state.subscribers):
                with contextlib.suppress(asyncio.QueueFull):
                    sub.queue.put_nowait(None)
            state.subscribers.clear()
            if state.task is not None:
                state.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await state.task
                state.task = None


def now_ms() -> int:
    """Wall-clock epoch milliseconds."""
    return time.time_ns() // 1_000_000
