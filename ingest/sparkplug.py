"""Sparkplug B: edge nodes' BIRTH, DATA and DEATH messages decoded into readings and online state.

Topics are ``spBv1.0/{group}/{type}/{node}[/{device}]`` (Eclipse Sparkplug 3.0.0, §4.1) with type
NBIRTH, NDATA, NDEATH (the node) or DBIRTH, DDATA, DDEATH (a device behind it); payloads are the
Sparkplug B protobuf ``Payload`` (§6.4). What the host application (this collector) does:

- **Aliases.** A BIRTH declares each metric's name and, optionally, a numeric alias; DATA may then
  send the alias alone (§6.4.9). Aliases are learnt per node from NBIRTH and DBIRTH. A DATA metric
  with an alias no BIRTH declared is quarantined (``unknown_metric``) and a rebirth requested.
- **Sequence numbers.** Every message of a node but NDEATH carries ``seq``, 0–255, one more than
  the node's previous message, wrapping after 255; NBIRTH restarts it (§6.4.8). A gap means
  messages were lost: the collector publishes a rebirth request, an NCMD to
  ``spBv1.0/{group}/NCMD/{node}`` with the Boolean metric ``Node Control/Rebirth`` = true (§7.4,
  §10.2.2), at most once per ``rebirth_wait_s`` while no NBIRTH came. The values of the message
  that showed the gap are still stored: they are what the node measured.
- **DEATH.** NDEATH (the node's MQTT will, matched to its NBIRTH by ``bdSeq``; a stale one is
  ignored) takes the node and every device it declared offline; DDEATH one device. BIRTH brings
  them back. The state is a telemetry field, :data:`OFFLINE_FIELD`: a point ``offline = 1`` at the
  DEATH's time (an NDEATH's arrival: a will's payload is written when the node connects), and
  ``offline = 0`` on the BIRTH's readings, so ``/latest`` and the alarm engine read it as any
  other field.

Names (docs/onboarding.md): the group id is the park id, the Sparkplug device name (or the node id,
for the node's own metrics) is the registry device id, and a metric named like a field of the
device is stored as that field in the device's registry unit, unless the ``sparkplug:`` section of
a mapping file (:class:`ingest.mapping.SparkplugSpec`) says otherwise.

The protobuf schema is built here from the field numbers of the published ``sparkplug_b.proto``
(only the fields used; the others are kept as unknown fields by protobuf and ignored), so nothing is
generated or downloaded: only the ``protobuf`` runtime is needed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

from config.registry import KINDS, OFFLINE_FIELD, Device, Registry
from config.units import converter, stored_field_name
from ingest.decode import (
    EXCERPT_BYTES,
    NS_PER_MS,
    TIME_FROM_ARRIVAL_FIELD,
    Decoded,
    Reason,
    check_time_ns,
)
from ingest.mapping import SparkplugSpec
from store.base import TELEMETRY, Point, QuarantineRecord

__all__ = [
    "MAX_ALIASES",
    "MAX_NODES",
    "NAMESPACE",
    "OFFLINE_FIELD",
    "REBIRTH_METRIC",
    "SUBSCRIPTIONS",
    "DataType",
    "SparkplugDecoder",
    "new_payload",
]

NAMESPACE = "spBv1.0"
"""First topic level of Sparkplug B (Sparkplug 3.0.0 §4.1.1)."""

REBIRTH_METRIC = "Node Control/Rebirth"
"""The NCMD metric that asks a node to publish its BIRTH again (Sparkplug 3.0.0 §6.4.1)."""

# OFFLINE_FIELD (config/registry.py): the state Sparkplug certificates declare, 1 at a DEATH's
# time (a point of its own), 0 on a BIRTH's readings. ``/latest`` shows it as the device's
# newest reading, and the shipped alarm rule ``device-down`` raises at once (docs/onboarding.md).

SUBSCRIPTIONS: tuple[str, ...] = tuple(
    f"{NAMESPACE}/+/{kind}/+" + ("/+" if kind.startswith("D") else "")
    for kind in ("NBIRTH", "NDATA", "NDEATH", "DBIRTH", "DDATA", "DDEATH")
)
"""Topic filters of the messages a host application reads (never NCMD/DCMD/STATE)."""

_SEQ_MODULO = 256  # seq runs 0..255 and wraps (Sparkplug 3.0.0 §6.4.8)
MAX_NODES = 100_000
"""Most edge nodes one collector keeps state for: node ids come from the wire."""
MAX_ALIASES = 100_000
"""Most aliases one node may declare."""


class DataType:
    """Sparkplug B metric datatypes used here (``sparkplug_b.proto`` enum DataType)."""

    INT8, INT16, INT32, INT64 = 1, 2, 3, 4
    UINT8, UINT16, UINT32, UINT64 = 5, 6, 7, 8
    FLOAT, DOUBLE, BOOLEAN, STRING = 9, 10, 11, 12


_SIGNED_BITS = {DataType.INT8: 8, DataType.INT16: 16, DataType.INT32: 32, DataType.INT64: 64}


def _schema() -> tuple[Any, Any]:
    """The ``Payload`` and ``Payload.Metric`` message classes (org.eclipse.tahu.protobuf)."""
    f = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(
        name="smartpark_sparkplug_b.proto", package="org.eclipse.tahu.protobuf", syntax="proto2"
    )
    payload = file.message_type.add(name="Payload")
    metric = payload.nested_type.add(name="Metric")
    metric.oneof_decl.add(name="value")
    optional, repeated = f.LABEL_OPTIONAL, f.LABEL_REPEATED
    for name, number, kind in (
        ("name", 1, f.TYPE_STRING),
        ("alias", 2, f.TYPE_UINT64),
        ("timestamp", 3, f.TYPE_UINT64),
        ("datatype", 4, f.TYPE_UINT32),
        ("is_historical", 5, f.TYPE_BOOL),
        ("is_transient", 6, f.TYPE_BOOL),
        ("is_null", 7, f.TYPE_BOOL),
    ):
        metric.field.add(name=name, number=number, type=kind, label=optional)
    for name, number, kind in (
        ("int_value", 10, f.TYPE_UINT32),
        ("long_value", 11, f.TYPE_UINT64),
        ("float_value", 12, f.TYPE_FLOAT),
        ("double_value", 13, f.TYPE_DOUBLE),
        ("boolean_value", 14, f.TYPE_BOOL),
        ("string_value", 15, f.TYPE_STRING),
        ("bytes_value", 16, f.TYPE_BYTES),
    ):
        metric.field.add(name=name, number=number, type=kind, label=optional, oneof_index=0)
    payload.field.add(name="timestamp", number=1, type=f.TYPE_UINT64, label=optional)
    payload.field.add(
        name="metrics",
        number=2,
        type=f.TYPE_MESSAGE,
        label=repeated,
        type_name=".org.eclipse.tahu.protobuf.Payload.Metric",
    )
    payload.field.add(name="seq", number=3, type=f.TYPE_UINT64, label=optional)
    payload.field.add(name="uuid", number=4, type=f.TYPE_STRING, label=optional)
    payload.field.add(name="body", number=5, type=f.TYPE_BYTES, label=optional)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    payload_class: Any = message_factory.GetMessageClass(
        pool.FindMessageTypeByName("org.eclipse.tahu.protobuf.Payload")
    )
    return payload_class, payload_class.Metric


Payload, Metric = _schema()


def new_payload(
    metrics: Iterable[tuple[str | None, int | None, int, float | bool]],
    *,
    timestamp_ms: int | None = None,
    seq: int | None = None,
) -> bytes:
    """A serialised Sparkplug B payload: ``metrics`` are (name, alias, datatype, value); the
    timestamp [ms since the epoch] defaults to now. For tests, the bench and rebirth requests."""
    out = Payload(timestamp=timestamp_ms if timestamp_ms is not None else time.time_ns() // 10**6)
    if seq is not None:
        out.seq = seq
    for name, alias, datatype, value in metrics:
        m = out.metrics.add(datatype=datatype)
        if name is not None:
            m.name = name
        if alias is not None:
            m.alias = alias
        if datatype == DataType.BOOLEAN:
            m.boolean_value = bool(value)
        elif datatype == DataType.FLOAT:
            m.float_value = float(value)
        elif datatype == DataType.DOUBLE:
            m.double_value = float(value)
        elif datatype in (DataType.INT64, DataType.UINT64):
            m.long_value = int(value) % 2**64
        else:
            m.int_value = int(value) % 2**32
    data: bytes = out.SerializeToString()
    return data


@dataclass
class _Node:
    """What the collector knows of one edge node since its last NBIRTH."""

    seq: int | None = None  # of its last message
    bd_seq: int | None = None  # of its NBIRTH, to match its NDEATH
    aliases: dict[int, str] = field(default_factory=dict)
    devices: set[str] = field(default_factory=set)  # registry ids it declared (DBIRTH)
    rebirth_asked_ns: int | None = None  # when a rebirth was last requested, until NBIRTH


class _Bad(Exception):
    def __init__(self, reason: Reason, detail: str) -> None:
        self.reason = reason
        self.detail = detail


_Conv = tuple[str, Callable[[float], float], float, float] | str


class SparkplugDecoder:
    """Decode Sparkplug B messages; keeps per-node state (aliases, seq), so one instance must see
    all of a node's messages in order (no shared subscription across collectors)."""

    def __init__(
        self,
        registry: Registry,
        spec: SparkplugSpec | None = None,
        *,
        max_skew_s: float = 300.0,
        max_payload_bytes: int = 1_048_576,
    ) -> None:
        self.registry = registry
        self.spec = spec or SparkplugSpec()
        self.max_skew_ns = int(max_skew_s * 1e9)
        self.max_payload_bytes = max_payload_bytes
        self._nodes: dict[tuple[str, str], _Node] = {}
        self._conversions: dict[tuple[str, str, str], _Conv | None] = {}
        self.rebirths_requested = 0

    @staticmethod
    def handles(topic: str) -> bool:
        """True for a topic of the Sparkplug B namespace."""
        return topic.startswith(NAMESPACE + "/")

    def decode(self, topic: str, payload: bytes, received_ns: int) -> Decoded:
        """Turn one message into points, state points, quarantine records and rebirth requests;
        never raises on bad input."""
        out = Decoded()
        parts = topic.split("/")
        kind = parts[2] if len(parts) > 2 else ""
        park = device = ""
        try:
            if len(parts) not in (4, 5) or (len(parts) == 5) != kind.startswith("D"):
                raise _Bad(
                    Reason.TOPIC_MISMATCH,
                    "not spBv1.0/{group}/{N*}/{node} nor spBv1.0/{group}/{D*}/{node}/{device}",
                )
            if kind not in ("NBIRTH", "NDATA", "NDEATH", "DBIRTH", "DDATA", "DDEATH"):
                if kind in ("NCMD", "DCMD", "STATE"):
                    return out  # commands and host state: not ours to store
                raise _Bad(Reason.TOPIC_MISMATCH, f"unknown Sparkplug message type {kind!r}")
            group, node_id = parts[1], parts[3]
            park = self.spec.groups.get(group, group)
            key = f"{node_id}/{parts[4]}" if len(parts) == 5 else node_id
            device = self.spec.devices.get(key, parts[4] if len(parts) == 5 else node_id)
            if len(payload) > self.max_payload_bytes:
                raise _Bad(
                    Reason.PAYLOAD_TOO_LARGE,
                    f"{len(payload)} bytes > limit {self.max_payload_bytes}",
                )
            try:
                message = Payload.FromString(payload)
            except (DecodeError, RuntimeWarning, ValueError) as exc:
                raise _Bad(Reason.MALFORMED_PROTOBUF, f"not a Sparkplug B payload: {exc}") from None
            self._message(
                out,
                kind,
                group=group,
                node_id=node_id,
                park_id=park,
                device_id=device,
                message=message,
                received_ns=received_ns,
            )
        except _Bad as bad:
            out.rejected.append(
                QuarantineRecord(
                    received_ns=received_ns,
                    reason=bad.reason.value,
                    detail=f"sparkplug {kind or '?'}: {bad.detail}",
                    topic=topic,
                    excerpt=payload[:EXCERPT_BYTES].hex(),
                    park=park,
                    device=device,
                )
            )
        return out

    def _message(
        self,
        out: Decoded,
        kind: str,
        *,
        group: str,
        node_id: str,
        park_id: str,
        device_id: str,
        message: Any,
        received_ns: int,
    ) -> None:
        if self.registry.park(park_id) is None:
            raise _Bad(
                Reason.UNKNOWN_PARK,
                f"group {group!r} is no park of the registry (map it in sparkplug.groups)",
            )
        key = (group, node_id)
        node = self._nodes.get(key)
        if node is None and len(self._nodes) >= MAX_NODES:
            raise _Bad(Reason.UNKNOWN_DEVICE, f"more than {MAX_NODES:,} Sparkplug nodes")
        if kind == "NBIRTH":
            node = self._nodes[key] = _Node(bd_seq=_bd_seq(message))
        elif node is None:
            node = self._nodes[key] = _Node()
            if kind != "NDEATH":
                self._ask_rebirth(out, group, node_id, node, received_ns)  # joined mid-stream
        if kind == "NDEATH":
            bd_seq = _bd_seq(message)
            if node.bd_seq is not None and bd_seq is not None and bd_seq != node.bd_seq:
                return  # the will of an older session, sent after the node came back
            # the arrival time: an NDEATH is the node's MQTT will, its payload written at connect
            for dev in sorted({device_id, *node.devices}):
                self._offline(out, park_id, dev, received_ns)
            return
        self._check_seq(out, node, message, group=group, node_id=node_id, received_ns=received_ns)
        if kind in ("NBIRTH", "DBIRTH"):
            for m in message.metrics:
                if m.HasField("alias") and m.name and len(node.aliases) < MAX_ALIASES:
                    node.aliases[m.alias] = m.name
        if kind == "DDEATH":
            node.devices.discard(device_id)
            self._offline(out, park_id, device_id, self._certificate_ns(message, received_ns))
            return
        if kind == "DBIRTH":
            node.devices.add(device_id)
        birth_ns = self._certificate_ns(message, received_ns) if kind.endswith("BIRTH") else None
        if self._readings(
            out,
            park_id=park_id,
            device_id=device_id,
            node=node,
            message=message,
            received_ns=received_ns,
            birth_ns=birth_ns,
        ):
            self._ask_rebirth(out, group, node_id, node, received_ns)

    def _check_seq(
        self, out: Decoded, node: _Node, message: Any, *, group: str, node_id: str, received_ns: int
    ) -> None:
        seq = message.seq if message.HasField("seq") else None
        if seq is None or seq >= _SEQ_MODULO:
            self._ask_rebirth(out, group, node_id, node, received_ns)
            node.seq = None
            return
        expected = None if node.seq is None else (node.seq + 1) % _SEQ_MODULO
        if expected is not None and seq != expected:
            self._ask_rebirth(out, group, node_id, node, received_ns)
        node.seq = seq

    def _ask_rebirth(
        self, out: Decoded, group: str, node_id: str, node: _Node, received_ns: int
    ) -> None:
        wait_ns = int(self.spec.rebirth_wait_s * 1e9)
        if node.rebirth_asked_ns is not None and received_ns - node.rebirth_asked_ns < wait_ns:
            return
        node.rebirth_asked_ns = received_ns
        self.rebirths_requested += 1
        out.commands.append(
            (
                f"{NAMESPACE}/{group}/NCMD/{node_id}",
                new_payload(
                    [(REBIRTH_METRIC, None, DataType.BOOLEAN, True)],
                    timestamp_ms=received_ns // NS_PER_MS,
                ),
            )
        )

    def _certificate_ns(self, message: Any, received_ns: int) -> int:
        if message.HasField("timestamp"):
            time_ns = message.timestamp * NS_PER_MS
            if check_time_ns(time_ns, received_ns, self.max_skew_ns) is None:
                return int(time_ns)
        return received_ns

    def _offline(self, out: Decoded, park: str, device: str, time_ns: int) -> None:
        if self.registry.device(park, device) is None:
            return  # a node that is no registry device (a gateway): only its devices have state
        tags = {"park": park, "device": device}
        out.points.append(Point(TELEMETRY, tags, {OFFLINE_FIELD: 1.0}, time_ns))

    def _readings(
        self,
        out: Decoded,
        *,
        park_id: str,
        device_id: str,
        node: _Node,
        message: Any,
        received_ns: int,
        birth_ns: int | None,
    ) -> bool:
        """Append the message's readings to ``out`` (a BIRTH's, at ``birth_ns``, with
        ``offline = 0``); True when a metric's alias was unknown."""
        device = self.registry.device(park_id, device_id)
        default_ns = message.timestamp * NS_PER_MS if message.HasField("timestamp") else None
        by_time: dict[int, dict[str, float]] = {}
        if birth_ns is not None and device is not None:
            by_time[birth_ns] = {OFFLINE_FIELD: 0.0}
        unknown_alias = False
        for m in message.metrics:
            try:
                if m.name:
                    name = m.name
                elif m.HasField("alias") and m.alias in node.aliases:
                    name = node.aliases[m.alias]
                else:
                    unknown_alias = True
                    raise _Bad(
                        Reason.UNKNOWN_METRIC,
                        f"alias {m.alias if m.HasField('alias') else '(none)'} was declared by no "
                        "BIRTH since the collector started (rebirth requested)",
                    )
                if device is None:
                    if name in self.spec.metrics or name in _FIELDS:
                        raise _Bad(
                            Reason.UNKNOWN_DEVICE,
                            f"device {device_id!r} is not in park {park_id!r}",
                        )
                    continue
                conv = self._conversion(park_id, device, name)
                if conv is None or m.is_null:
                    continue  # not a reading (Node Control/*, bdSeq, Properties/*) or no value
                if isinstance(conv, str):
                    raise _Bad(Reason.UNKNOWN_FIELD, conv)
                stored, to_canonical, low, high = conv
                raw = _number(m)
                if raw is None:
                    raise _Bad(Reason.BAD_VALUE, f"metric {name!r} is not a number")
                number = to_canonical(raw)
                if not math.isfinite(number):
                    raise _Bad(Reason.BAD_VALUE, f"metric {name!r} is not a finite number")
                if not low <= number <= high:
                    raise _Bad(
                        Reason.IMPLAUSIBLE,
                        f"metric {name!r}: {stored} = {number:g} is outside the plausible range "
                        f"[{low:g}, {high:g}]",
                    )
                time_ns = m.timestamp * NS_PER_MS if m.HasField("timestamp") else default_ns
                time_ns = received_ns if time_ns is None else int(time_ns)
                problem = check_time_ns(time_ns, received_ns, self.max_skew_ns)
                if problem is not None:
                    raise _Bad(Reason.TS_OUT_OF_RANGE, f"metric {name!r}: {problem}")
                by_time.setdefault(time_ns, {})[stored] = number
            except _Bad as bad:
                out.rejected.append(
                    QuarantineRecord(
                        received_ns=received_ns,
                        reason=bad.reason.value,
                        detail=f"sparkplug: {bad.detail}",
                        topic="",
                        excerpt=str(m)[:EXCERPT_BYTES],
                        park=park_id,
                        device=device_id,
                    )
                )
                if bad.reason is Reason.UNKNOWN_DEVICE:
                    break  # one record for the message, not one per metric
        for time_ns, fields in sorted(by_time.items()):
            measured = any(name != OFFLINE_FIELD for name in fields)
            if default_ns is None and time_ns == received_ns and measured:
                fields[TIME_FROM_ARRIVAL_FIELD] = 1.0
            out.points.append(
                Point(TELEMETRY, {"park": park_id, "device": device_id}, fields, time_ns)
            )
        return unknown_alias

    def _conversion(self, park: str, device: Device, metric: str) -> _Conv | None:
        """How ``metric`` of ``device`` is stored, None when it is no reading, or why not."""
        key = (park, device.id, metric)
        if key in self._conversions:
            return self._conversions[key]
        mapped = self.spec.metrics.get(metric)
        name = mapped.field if mapped is not None else metric
        spec = device.fields.get(name)
        conv: _Conv | None
        if spec is None:  # a metric that names no field is no reading; a mapped one is an error
            conv = (
                None
                if mapped is None
                else f"metric {metric!r} maps to field {name!r}, not one of a {device.kind.value} "
                f"(known: {', '.join(sorted(device.fields))})"
            )
        else:
            unit = (mapped.unit if mapped is not None else None) or device.unit_of(name)
            scale = (mapped.scale if mapped is not None else 1.0) * (
                device.multiplier if spec.scaled else 1.0
            )
            conv = (
                stored_field_name(name, spec.quantity),
                converter(spec.quantity, unit, scale=scale),
                *device.plausible(name),
            )
        if len(self._conversions) < 100_000:  # bounded: metric names come from the wire
            self._conversions[key] = conv
        return conv


_FIELDS: frozenset[str] = frozenset(name for fields in KINDS.values() for name in fields)
"""Every field name of the registry: a metric named so is a reading."""


def _bd_seq(message: Any) -> int | None:
    for m in message.metrics:
        if m.name == "bdSeq":
            value = _number(m)
            return None if value is None else int(value)
    return None


def _number(m: Any) -> float | None:
    which = m.WhichOneof("value")
    if which == "int_value":
        raw = int(m.int_value)
        bits = _SIGNED_BITS.get(m.datatype)
        if bits is not None and bits <= 32:
            raw &= (1 << bits) - 1
            if raw >= 1 << (bits - 1):
                raw -= 1 << bits
        return float(raw)
    if which == "long_value":
        raw = int(m.long_value)
        if m.datatype == DataType.INT64 and raw >= 1 << 63:
            raw -= 1 << 64
        return float(raw)
    if which in ("float_value", "double_value"):
        return float(getattr(m, which))
    if which == "boolean_value":
        return float(m.boolean_value)
    return None
