"""The collector: MQTT → decode → validate → store, acknowledging only what the store accepted.

Threads and who owns what:

- paho's network thread (``loop_start``) only appends each message to a queue, so it never blocks
  and never misses a keepalive, however slow the store is;
- the writer thread takes messages in arrival order, decodes them, writes the good readings and
  the quarantined ones to the store in batches, and only then sends the PUBACKs, in arrival order.
  A message whose batch could not be written is never acknowledged: with a persistent session
  (fixed client id, ``clean_session=False``) the broker keeps it and sends it again.

Why paho and not aiomqtt here: paho 2.x lets us acknowledge manually, after the write; aiomqtt
acknowledges on receipt, so a crash loses what was in memory. paho is also the faster receive path
on this machine (``shared/research/perf-calibration.md`` §4.1).
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from config.errors import BrokerError, StoreQueryError, StoreUnavailableError
from config.registry import Registry
from config.settings import Settings, parse_mqtt_url
from ingest.decode import Decoder
from store.base import Point, QuarantineRecord, Store

__all__ = ["Collector", "CollectorStats"]

log = logging.getLogger("smartpark.collector")

KEEPALIVE_S = 60  # generous: a PINGRESP can queue behind a large backlog (calibration §5)


@dataclass
class CollectorStats:
    """Counters since start (read by tests, the CLI and later by /metrics)."""

    messages_received: int = 0
    messages_acked: int = 0
    readings_stored: int = 0
    readings_quarantined: int = 0
    quarantined_by_reason: Counter[str] = field(default_factory=Counter)
    store_failures: int = 0
    connected: bool = False


@dataclass(frozen=True, slots=True)
class _Message:
    topic: str
    payload: bytes
    qos: int
    mid: int
    generation: int
    received_ns: int


class Collector:
    """One collector process's worth of work; ``start()`` it, ``stop()`` it."""

    def __init__(
        self,
        *,
        settings: Settings,
        registry: Registry,
        store: Store,
        share_group: str | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.settings = settings
        self.store = store
        self.decoder = Decoder(
            registry,
            topic_template=settings.topic_template,
            max_skew_s=settings.max_clock_skew_s,
            max_payload_bytes=settings.max_payload_bytes,
        )
        self.stats = CollectorStats()
        self._clock_ns = clock_ns
        self._inbox: queue.SimpleQueue[_Message] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._writer = threading.Thread(target=self._write_loop, name="collector-writer")
        self._generation = 0  # bumped on every (re)connect; acks of older generations are void
        self._last_quarantine_ns = 0

        subscription = self.decoder.template.subscription
        self.subscription = f"$share/{share_group}/{subscription}" if share_group else subscription
        url = parse_mqtt_url(settings.mqtt_url)
        self._url = url
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        if url.username:
            self._client.username_pw_set(
                url.username, url.password.get_secret_value() if url.password else None
            )
        if url.tls:
            self._client.tls_set()
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, *, connect_timeout_s: float = 10.0) -> None:
        """Connect to the broker and start receiving; raises BrokerError if it cannot connect."""
        try:
            self._client.connect(self._url.host, self._url.port, keepalive=KEEPALIVE_S)
        except OSError as exc:
            raise BrokerError(
                f"cannot reach MQTT broker at {self._url.host}:{self._url.port}: {exc}"
            ) from exc
        self._client.loop_start()
        self._writer.start()
        deadline = time.monotonic() + connect_timeout_s
        while not self.stats.connected and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self.stats.connected:
            self.stop()
            raise BrokerError(f"MQTT broker at {self._url.host}:{self._url.port} did not accept us")

    def stop(self, *, timeout_s: float = 10.0) -> None:
        """Write and acknowledge what was received, then disconnect (bounded by ``timeout_s``)."""
        self._stopping.set()
        if self._writer.is_alive():
            self._writer.join(timeout_s)
        self._client.disconnect()
        self._client.loop_stop()

    # -- paho callbacks (network thread: keep them short) ---------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        self._generation += 1
        client.subscribe(self.subscription, qos=1)
        self.stats.connected = True
        log.info(
            "connected to %s:%d, subscribed to %s (session present: %s)",
            self._url.host,
            self._url.port,
            self.subscription,
            flags.session_present,
        )

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self.stats.connected = False
        if not self._stopping.is_set():
            log.warning("disconnected from broker (%s); reconnecting", reason)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        self.stats.messages_received += 1
        self._inbox.put(
            _Message(
                msg.topic, bytes(msg.payload), msg.qos, msg.mid, self._generation, self._clock_ns()
            )
        )

    # -- writer thread --------------------------------------------------------------------------

    def _take_batch(self) -> list[_Message]:
        batch: list[_Message] = []
        deadline = time.monotonic() + self.settings.batch_interval_s
        while len(batch) < self.settings.batch_size:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                break
            try:
                batch.append(self._inbox.get(timeout=timeout))
            except queue.Empty:
                break
        return batch

    def _write_loop(self) -> None:
        while True:
            batch = self._take_batch()
            if batch:
                self._handle(batch)
            elif self._stopping.is_set():
                return

    def _handle(self, batch: list[_Message]) -> None:
        points: list[Point] = []
        rejected: list[QuarantineRecord] = []
        for message in batch:
            decoded = self.decoder.decode(message.topic, message.payload, message.received_ns)
            points.extend(decoded.points)
            rejected.extend(decoded.rejected)
        stored = self._store_points(points, rejected)
        if stored is None:
            return  # stopping while the store is down: leave the batch unacknowledged
        rejected = self._unique_times(rejected)
        if rejected and not self._durably(lambda: self.store.write_quarantine(rejected)):
            return
        for record in rejected:
            self.stats.quarantined_by_reason[record.reason] += 1
        self.stats.readings_stored += stored
        self.stats.readings_quarantined += len(rejected)
        generation = self._generation
        for message in batch:
            if message.qos > 0 and message.generation == generation:
                self._client.ack(message.mid, message.qos)
                self.stats.messages_acked += 1

    def _store_points(self, points: list[Point], rejected: list[QuarantineRecord]) -> int | None:
        """Write points; a batch the store refuses is retried point by point and the points it
        still refuses are added to ``rejected``. Returns how many were stored, None if stopping."""
        if not points:
            return 0
        try:
            if self._durably(lambda: self.store.write(points)):
                return len(points)
            return None
        except StoreQueryError as exc:
            log.error("store refused a batch of %d readings (%s); isolating", len(points), exc)
        stored = 0
        for point in points:
            try:
                if not self._durably(lambda p=point: self.store.write([p])):  # type: ignore[misc]
                    return None
                stored += 1
            except StoreQueryError as exc:
                rejected.append(
                    QuarantineRecord(
                        received_ns=self._clock_ns(),
                        reason="store_rejected",
                        detail=str(exc)[:500],
                        topic="",
                        excerpt=repr(point)[:256],
                        park=point.tags["park"],
                        device=point.tags["device"],
                    )
                )
        return stored

    def _unique_times(self, records: list[QuarantineRecord]) -> list[QuarantineRecord]:
        """Quarantine records are keyed by time in InfluxDB; make every record's time unique."""
        out = []
        for r in records:
            t = max(r.received_ns, self._last_quarantine_ns + 1)
            self._last_quarantine_ns = t
            out.append(r if t == r.received_ns else replace(r, received_ns=t))
        return out

    def _durably(self, write: Callable[[], None]) -> bool:
        """Run a store write until it succeeds; False only when stopping while the store is down."""
        delay = 0.5
        failing = False
        while True:
            try:
                write()
            except StoreUnavailableError as exc:
                self.stats.store_failures += 1
                if not failing:
                    log.error("store unavailable (%s); holding messages unacknowledged", exc)
                    failing = True
                if self._stopping.wait(delay * random.uniform(0.5, 1.5)):
                    return False
                delay = min(delay * 2, 30.0)
                continue
            if failing:
                log.info("store is back; writing resumed")
            return True
