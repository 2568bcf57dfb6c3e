"""The collector: MQTT → decode → validate → store, acknowledging only what is durable.

Delivery guarantees (each is proven by a test against real Mosquitto and InfluxDB):

- **Acknowledge only what is durable.** A QoS 1 message is acknowledged after every reading in it
  is accepted by the store, or written and fsynced to the local spool. Acknowledgements go out in
  the order the messages arrived.
- **Persistent session.** A fixed client id and ``clean_session=False``: the broker keeps messages
  while the collector is down and resends what was never acknowledged.
- **Spool.** While the store is unreachable, batches go to a bounded on-disk spool
  (:mod:`ingest.spool`) and replay in order when it is back; new batches queue behind them so
  order is kept. When the spool is full the collector stops acknowledging (the broker holds the
  rest) and raises the ``spool_full`` alarm; nothing is dropped.
- **Several stores.** With parks in several stores (:class:`store.RoutedStore`, docs/stores.md)
  one may be down while the others answer: only the readings of its parks are spooled (the
  points :class:`store.PartialWriteError` carries), and those parks wait behind the spool until
  it drains; the other parks' readings keep going straight to their stores.
- **Idempotent replays.** A reading's identity is its series and device timestamp, so a message
  redelivered after a crash overwrites itself.

Threads and who owns what:

- paho's network thread (``loop_start``) only appends each message to the inbox; when the inbox
  holds ``inbox_max_messages`` it waits, so a backlog stays with the broker, not in our memory;
- the decode thread takes messages from the inbox and decodes them into batches;
- the writer thread owns the spool and the store writes, and sends the PUBACKs in arrival
  order. Decoding the next batch while the store takes the current one doubles throughput for
  gateway batches (the two steps take turns otherwise); at most two decoded batches wait.

Why paho and not aiomqtt here: paho 2.x lets us acknowledge manually, after the write; aiomqtt
acknowledges on receipt, so a crash loses what was in memory. paho is also the faster receive path
on this machine (``docs/sources/performance.md`` §4.1).
"""

from __future__ import annotations

import logging
import queue
import random
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from config.errors import ConfigError, StoreQueryError, StoreUnavailableError
from config.registry import Registry, RegistryWatch, approved_dir
from config.settings import Settings, mqtt_endpoint
from ingest.decode import Decoded, Decoder
from ingest.mapping import MappingDecoder, MappingSet, load_mappings
from ingest.metrics import CollectorMetrics, serve_metrics
from ingest.sparkplug import SUBSCRIPTIONS as SPARKPLUG_SUBSCRIPTIONS
from ingest.sparkplug import SparkplugDecoder
from ingest.spool import Spool, SpoolFullError
from ingest.status import StatusDecoder
from store.base import TELEMETRY, Point, QuarantineRecord, Store
from store.routed import PartialWriteError
from store.touched import LIVE_S, touched_marks

__all__ = ["RETIRED_REASON", "Collector", "CollectorStats", "Router", "ack_all"]

log = logging.getLogger("smartpark.collector")

_BACKOFF_MIN_S = 0.5
_BACKOFF_MAX_S = 30.0  # broker reconnects
_STORE_RETRY_MAX_S = 5.0  # a store retry costs one failed request: keep recovery prompt
_LINGER_GAP_S = 0.005  # a batch closes when no message arrived for this long
_LINGER_SLICE_S = 0.001  # how often a lingering batch looks for more [s]
RETIRED_REASON = "retired"
"""Quarantine reason of a reading of a retired device (services/provisioning.py retires)."""
_DRAIN_BUDGET_S = 1.0  # spool replay per loop turn, so new messages keep being spooled and acked


@dataclass
class CollectorStats:
    """Counters since start, for the CLI, the demo and tests (Prometheus has the same)."""

    messages_received: int = 0
    messages_acked: int = 0
    readings_stored: int = 0
    readings_spooled: int = 0
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


@dataclass(slots=True)
class _Batch:
    """Messages taken together, decoded: what one store write (or spool file) holds."""

    messages: list[_Message] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    rejected: list[QuarantineRecord] = field(default_factory=list)
    first_ts: list[int] = field(default_factory=list)  # device time of each message's 1st reading

    def add(self, message: _Message, decoded: Decoded) -> None:
        self.messages.append(message)
        if decoded.points:
            self.points.extend(decoded.points)
            self.first_ts.append(decoded.points[0].time_ns)
        self.rejected.extend(decoded.rejected)


_PUBACK = struct.Struct("!BBH")  # MQTT 3.1.1 §3.4 and 5.0 §3.4.2.1: 0x40, length 2, packet id


def ack_all(client: mqtt.Client, mids: list[int]) -> None:
    """Acknowledge the QoS 1 messages ``mids`` (PUBACKs) in one write to the broker.

    paho's :meth:`~paho.mqtt.client.Client.ack` queues one packet per message and wakes its
    network thread each time (a write to its socket pair, then one socket write per PUBACK): at
    ten thousand readings a second that was 12 % of a collector's CPU (py-spy, benchmarks.md).
    Here a batch's PUBACKs are one queued packet, one wake-up and one socket write; a PUBACK
    with remaining length 2 is the same in MQTT 3.1.1 and 5 (reason code 0 omitted). paho has no
    public call for it, so this uses its packet queue, and falls back to :meth:`ack` one by one
    where that is not there (tests/ingest/test_collector.py pins the behaviour on a broker)."""
    if not mids:
        return
    queue_packet = getattr(client, "_packet_queue", None)
    if queue_packet is None or len(mids) == 1:
        for mid in mids:
            client.ack(mid, 1)
        return
    packet = b"".join(_PUBACK.pack(mqtt.PUBACK, 2, mid) for mid in mids)
    queue_packet(mqtt.PUBACK, packet, 0, 0)


class Router:
    """Which decoder takes a topic: the first payload mapping whose filter matches it, else
    Sparkplug B for ``spBv1.0/...`` (when a mapping file has a ``sparkplug:`` section), else an
    edge agent's meter status (``status_template``, :mod:`ingest.status`; "" reads none), else
    the native decoder; and the topic filters that cover them all."""

    def __init__(
        self,
        native: Decoder,
        mappings: MappingSet | None = None,
        *,
        max_skew_s: float = 300.0,
        max_payload_bytes: int = 1_048_576,
        status_template: str = "",
    ) -> None:
        self.native = native
        if status_template == native.template.template:
            raise ConfigError(
                "SMARTPARK_STATUS_TOPIC_TEMPLATE must differ from SMARTPARK_TOPIC_TEMPLATE "
                f"(both are {status_template!r}); set it to '' to read no status messages"
            )
        self.status = StatusDecoder(native, status_template) if status_template else None
        mappings = mappings or MappingSet()
        self.mappings = [
            MappingDecoder(
                spec,
                native.registry,
                max_skew_s=max_skew_s,
                max_payload_bytes=max_payload_bytes,
            )
            for spec in mappings.mappings
        ]
        self.sparkplug = (
            SparkplugDecoder(
                native.registry,
                mappings.sparkplug,
                max_skew_s=max_skew_s,
                max_payload_bytes=max_payload_bytes,
            )
            if mappings.sparkplug is not None
            else None
        )
        filters = [native.template.subscription, *(m.filter.text for m in self.mappings)]
        if self.sparkplug is not None:
            filters.extend(SPARKPLUG_SUBSCRIPTIONS)
        if self.status is not None:
            filters.append(self.status.template.subscription)
        self.subscriptions = list(dict.fromkeys(filters))

    def decode(self, topic: str, payload: bytes, received_ns: int) -> Decoded:
        """Decode one message with the decoder its topic is routed to; never raises."""
        limit = self.native.max_topic_bytes
        if len(topic) * 4 > limit and len(topic.encode("utf-8", "surrogatepass")) > limit:
            return self.native.decode(topic, payload, received_ns)  # refused: topic_too_long
        for mapping in self.mappings:
            if mapping.filter.matches(topic):
                return mapping.decode(topic, payload, received_ns)
        if self.sparkplug is not None and self.sparkplug.handles(topic):
            return self.sparkplug.decode(topic, payload, received_ns)
        if self.status is not None and self.status.handles(topic):
            return self.status.decode(topic, payload, received_ns)
        return self.native.decode(topic, payload, received_ns)


class Collector:
    """One collector process's worth of work; ``start()`` it, ``stop()`` it.

    ``settings.mappings`` (a file or folder, :mod:`ingest.mapping`) adds payload mappings and
    Sparkplug B to the native format; a bad file raises :class:`ingest.mapping.MappingError`
    with every problem's file and line.
    """

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
        # devices approved at run time (services/provisioning.py) are picked up without a restart
        self._registry_watch = RegistryWatch(
            settings.registry, approved_dir(settings.data_dir), registry
        )
        registry = self._registry_watch.poll(force=True) or registry
        self._mappings = (
            load_mappings(settings.mappings, registry=registry) if settings.mappings else None
        )
        self._use_registry(registry)
        self.stats = CollectorStats()
        self.metrics = CollectorMetrics()
        self.spool = Spool(settings.spool_path, max_bytes=settings.spool_max_bytes)
        self._clock_ns = clock_ns
        self._inbox: queue.SimpleQueue[_Message] = queue.SimpleQueue()
        self._decoded: queue.Queue[_Batch | None] = queue.Queue(maxsize=2)
        self._stopping = threading.Event()
        self._decoder = threading.Thread(target=self._decode_loop, name="collector-decoder")
        self._writer = threading.Thread(target=self._write_loop, name="collector-writer")
        self._generation = 0  # bumped on every (re)connect; acks of older generations are void
        self._last_quarantine_ns = 0
        self._store_down_since: float | None = None
        self._retry_at = 0.0  # monotonic time of the next store attempt while it is down
        self._backoff_s = _BACKOFF_MIN_S
        self._spool_full = False
        # parks whose readings wait behind the spool while some of several stores are down
        # (None: all of them, as with one store down)
        self._held: set[str] | None = None
        self._metrics_server: Any = None
        self._connect_failed = False
        # set once the broker has acknowledged our subscriptions (SUBACK): a message published
        # before that, on a new session, would not be routed to us
        self._subscribed = threading.Event()
        self._session_present = False

        self.subscriptions = [
            f"$share/{share_group}/{topic}" if share_group else topic
            for topic in self.router.subscriptions
        ]
        self.subscription = self.subscriptions[0]  # the native template's
        self._url = mqtt_endpoint(settings.mqtt_url, settings)
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        if self._url.username:
            password = self._url.password.get_secret_value() if self._url.password else None
            self._client.username_pw_set(self._url.username, password)
        if self._url.tls:
            self._client.tls_set_context(self._url.ssl_context())
            if self._url.tls_insecure:
                self._client.tls_insecure_set(True)
                log.warning(
                    "SMARTPARK_MQTT_TLS_INSECURE=true: the broker's certificate is NOT checked; "
                    "anybody on the path can pose as %s:%d (labs only)",
                    self._url.host,
                    self._url.port,
                )
        self._client.reconnect_delay_set(min_delay=1, max_delay=int(_BACKOFF_MAX_S))
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._update_spool_metrics()
        self.metrics.store_up.set(1)

    def _use_registry(self, registry: Registry) -> None:
        """Decode with ``registry`` from the next message on (the decode thread calls this
        between batches; Sparkplug B state, learnt from BIRTH certificates, is kept)."""
        self.decoder = Decoder(
            registry,
            topic_template=self.settings.topic_template,
            max_skew_s=self.settings.max_clock_skew_s,
            max_payload_bytes=self.settings.max_payload_bytes,
            max_topic_bytes=self.settings.max_topic_bytes,
        )
        router = Router(
            self.decoder,
            self._mappings,
            max_skew_s=self.settings.max_clock_skew_s,
            max_payload_bytes=self.settings.max_payload_bytes,
            status_template=self.settings.status_topic_template,
        )
        old = getattr(self, "router", None)
        if old is not None and old.sparkplug is not None:
            old.sparkplug.registry = registry
            router.sparkplug = old.sparkplug
        self.router = router
        # retired devices: readings from their retirement on are quarantined
        self._retired = {
            (park.id, d.id): int(d.retired.timestamp() * 1e9)
            for park in registry.parks.values()
            for d in park.devices
            if d.retired is not None
        }
        # devices with cumulative registers: their batches leave touched marks for the ledger
        self._ledgered = {
            (park.id, d.id)
            for park in registry.parks.values()
            for d in park.devices
            if any(spec.cumulative for spec in d.fields.values())
        }

    def _reload_registry(self) -> None:
        """Use the registry again when approved devices changed (at most every few seconds)."""
        registry = self._registry_watch.poll()
        if registry is not None:
            self._use_registry(registry)

    @property
    def spool_full(self) -> bool:
        """True while the spool is full and messages are left unacknowledged (the alarm)."""
        return self._spool_full

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, *, connect_timeout_s: float = 10.0) -> None:
        """Start receiving; waits up to ``connect_timeout_s`` [s] for the broker to acknowledge
        the subscriptions, then keeps trying in the background."""
        if self.settings.metrics_port:
            self._metrics_server = serve_metrics(
                self.metrics.registry, self.settings.metrics_host, self.settings.metrics_port
            )
            log.info(
                "metrics on http://%s:%d/metrics",
                self.settings.metrics_host,
                self.settings.metrics_port,
            )
        if len(self.spool):
            log.warning(
                "spool holds %d readings from before; replaying them first", self.spool.readings
            )
        self._client.connect_async(self._url.host, self._url.port, self.settings.keepalive_s)
        self._client.loop_start()
        self._decoder.start()
        self._writer.start()
        self._subscribed.wait(connect_timeout_s)
        if not self._subscribed.is_set():
            log.warning(
                "broker %s:%d not reachable yet; retrying in the background",
                self._url.host,
                self._url.port,
            )

    def stop(self, *, timeout_s: float = 10.0) -> None:
        """Make what was received durable and acknowledge it, then disconnect."""
        self._stopping.set()
        deadline = time.monotonic() + timeout_s
        for thread in (self._decoder, self._writer):
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))
        self._client.disconnect()
        self._client.loop_stop()
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server.server_close()

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
        self._connect_failed = False
        self._subscribed.clear()
        client.subscribe([(topic, 1) for topic in self.subscriptions])
        self.stats.connected = True
        self.metrics.broker_connected.set(1)
        if self._generation > 1 and not flags.session_present:
            log.warning(
                "the broker no longer had our session: messages it queued for us while we "
                "were away are gone (broker restarted without persistence?)"
            )
        self._session_present = flags.session_present

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        refused = [r for r in reasons if r.is_failure]
        if refused:
            log.error("broker refused a subscription: %s", ", ".join(map(str, refused)))
        # logged once the broker has acknowledged: from here on a published reading reaches us
        log.info(
            "connected to %s:%d, subscribed to %s (session present: %s)",
            self._url.host,
            self._url.port,
            ", ".join(self.subscriptions),
            self._session_present,
        )
        self._subscribed.set()

    def _on_connect_fail(self, client: mqtt.Client, userdata: object) -> None:
        if not self._connect_failed:  # one line per outage, not one per retry
            self._connect_failed = True
            log.warning(
                "cannot connect to broker %s (refused, unreachable%s); retrying",
                self._url.redacted,
                ", or the TLS handshake failed: is its certificate signed by "
                "SMARTPARK_MQTT_CA_FILE and issued for this host name?"
                if self._url.tls
                else "",
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
        self.metrics.broker_connected.set(0)
        if not self._stopping.is_set():
            # jitter the first retry so a fleet of collectors does not reconnect in lock step
            client.reconnect_delay_set(
                min_delay=random.choice((1, 2)), max_delay=int(_BACKOFF_MAX_S)
            )
            log.warning("disconnected from broker (%s); reconnecting", reason)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        if self._stopping.is_set():
            # stopping: take nothing new. Never acknowledged, the message stays in our session
            # and the broker sends it again on the next start; what came before is flushed.
            return
        self.stats.messages_received += 1
        while self._inbox.qsize() >= self.settings.inbox_max_messages:
            # back-pressure: stop reading the socket so the backlog waits at the broker
            if self._stopping.wait(0.01):
                break
        self._inbox.put(
            _Message(
                msg.topic, bytes(msg.payload), msg.qos, msg.mid, self._generation, self._clock_ns()
            )
        )

    # -- writer thread --------------------------------------------------------------------------

    def _take_batch(self, wait_s: float) -> _Batch | None:
        """Wait up to ``wait_s`` for a first message, then take and decode what keeps arriving.

        The batch closes at ``batch_size`` readings, ``batch_interval_s`` after its first
        message, or as soon as no message arrives for ``_LINGER_GAP_S``. The last rule matters:
        the broker sends at most ``max_inflight_messages`` unacknowledged messages, so waiting
        for a full batch would stall a window that can never fill.
        """
        try:
            first = self._inbox.get(timeout=wait_s) if wait_s > 0 else self._inbox.get_nowait()
        except queue.Empty:
            return None
        batch = _Batch()
        batch.add(first, self._decode(first))
        deadline = time.monotonic() + self.settings.batch_interval_s
        while len(batch.points) < self.settings.batch_size:
            try:
                message = self._inbox.get_nowait()
            except queue.Empty:
                # short sleeps, then take what came meanwhile: waiting on the inbox would wake
                # this thread for every message, each time taking the GIL from paho's network
                # thread; the batch still closes _LINGER_GAP_S after the last message
                more = self._linger(min(time.monotonic() + _LINGER_GAP_S, deadline))
                if more is None:
                    break
                message = more
            batch.add(message, self._decode(message))
        return batch

    def _linger(self, until: float) -> _Message | None:
        """The next message of the inbox, looked for every :data:`_LINGER_SLICE_S` [s] until
        ``until`` (``time.monotonic()``), else None."""
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return None
            time.sleep(min(_LINGER_SLICE_S, left))
            try:
                return self._inbox.get_nowait()
            except queue.Empty:
                continue

    def _decode(self, message: _Message) -> Decoded:
        decoded = self.router.decode(message.topic, message.payload, message.received_ns)
        if self._retired and decoded.points:
            self._set_aside_retired(message, decoded)
        for topic, payload in decoded.commands:
            # QoS 0: a rebirth request is not worth keeping for a node that is gone (Sparkplug
            # 3.0.0 §10.2.2 leaves the QoS of NCMD to the host)
            self._client.publish(topic, payload, qos=0)
            log.warning("sequence gap or unknown alias: asked for a rebirth on %s", topic)
        return decoded

    def _set_aside_retired(self, message: _Message, decoded: Decoded) -> None:
        """Quarantine (reason ``retired``) the readings of retired devices from their
        retirement on; whatever the format they came in."""
        kept = []
        for point in decoded.points:
            key = (point.tags.get("park", ""), point.tags.get("device", ""))
            retired_ns = self._retired.get(key)
            if retired_ns is None or point.time_ns < retired_ns or point.measurement != TELEMETRY:
                kept.append(point)
                continue
            decoded.rejected.append(
                QuarantineRecord(
                    received_ns=message.received_ns,
                    reason=RETIRED_REASON,
                    detail=f"device {key[1]!r} of park {key[0]!r} is retired",
                    topic=message.topic,
                    excerpt=message.payload[:256].decode("utf-8", errors="replace"),
                    park=key[0],
                    device=key[1],
                )
            )
        decoded.points = kept

    def _decode_loop(self) -> None:
        while True:
            self._reload_registry()
            batch = self._take_batch(self.settings.batch_interval_s)
            if batch is not None:
                self._decoded.put(batch)  # waits while the writer has two batches in hand
            elif self._stopping.is_set():
                self._decoded.put(None)  # everything received is decoded: let the writer end
                return

    def _write_loop(self) -> None:
        while True:
            if len(self.spool):
                self._drain_spool()
            try:
                batch = self._decoded.get(timeout=0.1 if len(self.spool) else 0.5)
            except queue.Empty:
                continue
            if batch is None:
                return
            self._handle(batch)

    def _handle(self, batch: _Batch) -> None:
        self.metrics.messages_received.inc(len(batch.messages))
        self.metrics.readings_received.inc(len(batch.points))
        rejected = self._unique_times(batch.rejected)
        if not self._make_durable(batch.points, rejected):
            return  # stopping with nowhere to put the batch: the broker keeps it
        now_ns = self._clock_ns()
        for ts in batch.first_ts:
            self.metrics.lag_seconds.observe(max(0.0, (now_ns - ts) / 1e9))
        generation = self._generation
        ours = [m for m in batch.messages if m.qos > 0 and m.generation == generation]
        ack_all(self._client, [m.mid for m in ours if m.qos == 1])
        for message in ours:
            if message.qos == 2:
                self._client.ack(message.mid, message.qos)
        self.stats.messages_acked += len(ours)

    def _make_durable(self, points: list[Point], rejected: list[QuarantineRecord]) -> bool:
        """Store the batch, or spool it; False only when stopping with neither possible."""
        while True:
            if not len(self.spool):
                self._held = None  # unless a write says which parks failed, all of them wait
                if time.monotonic() >= self._retry_at:
                    try:
                        self._write_to_store(points, rejected)
                    except PartialWriteError as exc:
                        self._held = set()
                        points = self._failed_part(points, points, exc)
                    except StoreUnavailableError as exc:
                        self._store_failed(exc)
                    else:
                        self._store_ok()
                        self._clear_spool_full()
                        return True
            elif self._held is not None:
                points = self._past_the_spool(points)
                if not points and not rejected:
                    self._clear_spool_full()
                    return True
            try:
                self.spool.append(points, rejected)
            except SpoolFullError as exc:
                if not self._spool_full:
                    log.error("ALARM spool full, no longer acknowledging: %s", exc)
                    self._spool_full = True
                    self.metrics.spool_full.set(1)
                if self._stopping.is_set():
                    return False
                self._stopping.wait(1.0)
                self._drain_spool()
                continue
            self._clear_spool_full()
            self.stats.readings_spooled += len(points)
            self._update_spool_metrics()
            return True

    def _failed_part(
        self, points: list[Point], tried: list[Point], exc: PartialWriteError
    ) -> list[Point]:
        """After a write of ``tried`` reached only some stores: count what was stored, hold
        the parks of what was not behind the spool, and return what must be spooled (the
        points of ``points`` not tried, then those of ``tried`` not written)."""
        self._store_failed(exc)
        unwritten = {id(p) for p in exc.unwritten}
        failed = [p for p in tried if id(p) in unwritten]
        self._count_stored(len(tried) - len(failed))
        if self._held is not None:
            self._held |= {p.tags["park"] for p in failed}
        tried_ids = {id(p) for p in tried}
        return [p for p in points if id(p) not in tried_ids] + failed

    def _past_the_spool(self, points: list[Point]) -> list[Point]:
        """While some stores are down (``_held`` names the parks waiting behind the spool),
        write the other parks' readings straight to their stores; return those to spool."""
        held = self._held if self._held is not None else set()
        direct = [p for p in points if p.tags["park"] not in held]
        if not direct:
            return points
        try:
            self._write_to_store(direct, [])
        except PartialWriteError as exc:
            return self._failed_part(points, direct, exc)
        except StoreUnavailableError as exc:
            self._store_failed(exc)
            self._held = None  # not a routed write: everything waits behind the spool
            return points
        return [p for p in points if p.tags["park"] in held]

    def _clear_spool_full(self) -> None:
        if self._spool_full:
            log.info("spool has room again; acknowledging resumed")
            self._spool_full = False
            self.metrics.spool_full.set(0)

    def _drain_spool(self) -> None:
        """Replay spooled batches, oldest first, for up to ``_DRAIN_BUDGET_S``."""
        deadline = time.monotonic() + _DRAIN_BUDGET_S
        while len(self.spool) and time.monotonic() < deadline:
            if time.monotonic() < self._retry_at:
                return
            batch = self.spool.peek()
            if batch is None:
                return
            try:
                self._write_to_store(batch.points, batch.quarantine)
            except StoreUnavailableError as exc:
                self._store_failed(exc)
                return
            self._store_ok()
            self.spool.pop(batch.sequence)
            self._update_spool_metrics()
            if not len(self.spool):
                log.info("spool drained")

    def _write_to_store(self, points: list[Point], quarantine: list[QuarantineRecord]) -> None:
        """Write a batch; raises StoreUnavailableError; points the store refuses are quarantined."""
        refused: list[QuarantineRecord] = []
        if points:
            started = time.perf_counter()
            try:
                # the marks go in the same write: durable exactly when the readings are
                self.store.write(points + self._marks(points))
            except StoreQueryError as exc:
                log.error("store refused a batch of %d readings (%s); isolating", len(points), exc)
                try:
                    refused, accepted = self._isolate_refused(points)
                    self.store.write(self._marks(accepted))
                except PartialWriteError as inner:  # its points are not all those unwritten
                    raise StoreUnavailableError(str(inner)) from inner
            self.metrics.write_seconds.observe(time.perf_counter() - started)
        records = quarantine + self._unique_times(refused)
        if records:
            try:
                self.store.write_quarantine(records)
            except StoreQueryError:
                # should not happen (quarantine tags are sanitised); the log keeps them instead
                log.exception("store refused quarantine records: %r", records)
        self._count_stored(len(points) - len(refused))
        for record in records:
            self.stats.quarantined_by_reason[record.reason] += 1
            self.metrics.readings_quarantined.labels(record.reason).inc()
        self.stats.readings_quarantined += len(records)

    def _count_stored(self, stored: int) -> None:
        self.stats.readings_stored += stored
        self.metrics.readings_stored.inc(stored)

    def _marks(self, points: list[Point]) -> list[Point]:
        """Touched marks of a batch, for the ledger follower (services/follow.py): written
        whether or not this process follows (``smartpark follow`` may, elsewhere); a live
        stream costs one mark per park and batch."""
        return touched_marks(
            (p for p in points if p.measurement == TELEMETRY),
            now_ns=self._clock_ns(),
            source=self.settings.client_id,
            devices=lambda park, device: (park, device) in self._ledgered,
            live_s=LIVE_S,  # a live stream: one mark per park and batch, not one per meter
        )

    def _isolate_refused(self, points: list[Point]) -> tuple[list[QuarantineRecord], list[Point]]:
        """Write the points one by one: the records of those refused, and those accepted."""
        refused = []
        accepted = []
        for point in points:
            try:
                self.store.write([point])
                accepted.append(point)
            except StoreQueryError as exc:
                refused.append(
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
        return refused, accepted

    def _store_failed(self, exc: StoreUnavailableError) -> None:
        self.stats.store_failures += 1
        self.metrics.store_up.set(0)
        if self._store_down_since is None:
            self._store_down_since = time.monotonic()
            log.error("store unavailable (%s); spooling to %s", exc, self.spool.folder)
        self._retry_at = time.monotonic() + self._backoff_s * random.uniform(0.5, 1.5)
        self._backoff_s = min(self._backoff_s * 2, _STORE_RETRY_MAX_S)

    def _store_ok(self) -> None:
        if self._store_down_since is not None:
            log.info(
                "store is back after %.1f s; replaying %d spooled readings",
                time.monotonic() - self._store_down_since,
                self.spool.readings,
            )
            self._store_down_since = None
        self.metrics.store_up.set(1)
        self._backoff_s = _BACKOFF_MIN_S
        self._retry_at = 0.0

    def _update_spool_metrics(self) -> None:
        self.metrics.spool_readings.set(self.spool.readings)
        self.metrics.spool_bytes.set(self.spool.bytes)
        self.metrics.spool_oldest_age.set(self.spool.oldest_age_s())

    def _unique_times(self, records: list[QuarantineRecord]) -> list[QuarantineRecord]:
        """Quarantine records are keyed by time in InfluxDB; make every record's time unique."""
        out = []
        for r in records:
            t = max(r.received_ns, self._last_quarantine_ns + 1)
            self._last_quarantine_ns = t
            out.append(r if t == r.received_ns else replace(r, received_ns=t))
        return out
