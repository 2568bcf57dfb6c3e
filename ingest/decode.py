"""Payload decoding: MQTT topic + bytes → validated points in canonical units, or reasons why not.

A payload is one reading ``{"ts": <epoch ms | ISO-8601 with offset>, "<field>": <number>, ...}`` or
a batch of them: a JSON array, or ``{"readings": [...]}`` (a gateway's backlog). Each reading is
judged on its own: the good readings of a batch are kept even when others are bad. A reading is
accepted whole or kept aside whole (quarantined) with a :class:`Reason`, never half-stored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple

import orjson

from config.registry import Device, Registry
from config.units import converter, stored_field_name
from store.base import TELEMETRY, Point, QuarantineRecord

__all__ = [
    "TIME_FROM_ARRIVAL_FIELD",
    "Decoded",
    "Decoder",
    "Reason",
    "TopicTemplate",
    "check_time_ns",
    "parse_ts_ns",
]

EXCERPT_BYTES = 256
MIN_TS_NS = 946_684_800_000_000_000  # 2000-01-01T00:00:00Z: anything earlier is a broken clock
NS_PER_MS = 1_000_000
TIME_FROM_ARRIVAL_FIELD = "time_from_arrival"
"""Field set to 1 on a reading whose device sent no time: it carries the broker arrival time."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Reason(StrEnum):
    """Why input was kept aside (the quarantine's closed vocabulary)."""

    TOPIC_MISMATCH = "topic_mismatch"
    TOPIC_TOO_LONG = "topic_too_long"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    MALFORMED_JSON = "malformed_json"
    NOT_AN_OBJECT = "not_an_object"
    UNKNOWN_PARK = "unknown_park"
    UNKNOWN_DEVICE = "unknown_device"
    PARK_MISMATCH = "park_mismatch"
    MISSING_TS = "missing_ts"
    BAD_TS = "bad_ts"
    TS_OUT_OF_RANGE = "ts_out_of_range"
    UNKNOWN_FIELD = "unknown_field"
    BAD_VALUE = "bad_value"
    NO_FIELDS = "no_fields"
    EMPTY_BATCH = "empty_batch"
    IMPLAUSIBLE = "implausible"
    MAPPING_PATH = "mapping_path"  # a payload mapping's path found nothing usable
    MALFORMED_PROTOBUF = "malformed_protobuf"  # a Sparkplug B payload that does not parse
    UNKNOWN_METRIC = "unknown_metric"  # a Sparkplug B alias never declared by a BIRTH


@dataclass(frozen=True, slots=True)
class TopicTemplate:
    """A topic template such as ``parks/{park}/devices/{device}/telemetry``."""

    template: str
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = re.findall(r"{(\w+)}", self.template)
        if sorted(names) != ["device", "park"]:
            raise ValueError("a topic template needs exactly one {park} and one {device}")
        if any(c in self.template for c in "#+"):
            raise ValueError("a topic template may not contain MQTT wildcards")
        pattern = ""
        for literal, name in re.findall(r"([^{]*)(?:{(\w+)})?", self.template):
            pattern += re.escape(literal) + (f"(?P<{name}>[^/]+)" if name else "")
        object.__setattr__(self, "_regex", re.compile(f"^{pattern}$"))

    @property
    def subscription(self) -> str:
        """The MQTT topic filter that matches every topic of the template."""
        return re.sub(r"{\w+}", "+", self.template)

    def match(self, topic: str) -> tuple[str, str] | None:
        """(park, device) for a topic of the template, else None."""
        m = self._regex.match(topic)
        return (m["park"], m["device"]) if m else None

    def topic(self, park: str, device: str) -> str:
        """The topic a device publishes to."""
        return self.template.format(park=park, device=device)


@dataclass(frozen=True, slots=True)
class _Bad:
    reason: Reason
    detail: str


@dataclass(slots=True)
class Decoded:
    """What one MQTT message turned into."""

    points: list[Point] = field(default_factory=list)
    rejected: list[QuarantineRecord] = field(default_factory=list)
    # messages the collector publishes in answer (topic, payload): Sparkplug rebirth requests
    commands: list[tuple[str, bytes]] = field(default_factory=list)


class _Conversion(NamedTuple):
    stored_name: str
    to_canonical: Callable[[float], float]
    low: float
    high: float


class Decoder:
    """Decode and validate payloads against the registry; pure apart from reading the clock."""

    def __init__(
        self,
        registry: Registry,
        *,
        topic_template: str,
        max_skew_s: float = 300.0,
        max_payload_bytes: int = 1_048_576,
        max_topic_bytes: int = 512,
    ) -> None:
        self.registry = registry
        self.template = TopicTemplate(topic_template)
        self.max_skew_ns = int(max_skew_s * 1e9)
        self.max_payload_bytes = max_payload_bytes
        self.max_topic_bytes = max_topic_bytes
        # the parks each device id belongs to: a device named under another park's topic is a
        # gateway writing outside its park, not just a typo
        self._parks_of: dict[str, list[str]] = {}
        for park in registry.parks.values():
            for device in park.devices:
                self._parks_of.setdefault(device.id, []).append(park.id)
        self._conversions: dict[tuple[str, str], Mapping[str, _Conversion]] = {}

    def _conversions_for(self, park: str, device: Device) -> Mapping[str, _Conversion]:
        key = (park, device.id)
        conv = self._conversions.get(key)
        if conv is None:
            conv = {
                name: _Conversion(
                    stored_field_name(name, spec.quantity),
                    converter(
                        spec.quantity,
                        device.unit_of(name),
                        scale=device.multiplier if spec.scaled else 1.0,
                    ),
                    *device.plausible(name),
                )
                for name, spec in device.fields.items()
            }
            self._conversions[key] = conv
        return conv

    def decode(self, topic: str, payload: bytes, received_ns: int) -> Decoded:
        """Turn one message into points and quarantine records; never raises on bad input."""
        out = Decoded()

        def reject(
            reason: Reason, detail: str, excerpt: bytes, park: str = "", device: str = ""
        ) -> None:
            out.rejected.append(
                QuarantineRecord(
                    received_ns=received_ns,
                    reason=reason.value,
                    detail=detail,
                    topic=topic,
                    excerpt=excerpt[:EXCERPT_BYTES].decode("utf-8", errors="replace"),
                    park=park,
                    device=device,
                )
            )

        topic_bytes = len(topic.encode("utf-8", errors="surrogatepass"))
        if topic_bytes > self.max_topic_bytes:
            topic = topic[: self.max_topic_bytes] + "…"  # the record keeps a bounded topic
            reject(
                Reason.TOPIC_TOO_LONG,
                f"topic is {topic_bytes} bytes > limit {self.max_topic_bytes}",
                payload,
            )
            return out
        ids = self.template.match(topic)
        if ids is None:
            reject(Reason.TOPIC_MISMATCH, f"topic does not match {self.template.template}", payload)
            return out
        park_id, device_id = ids
        if len(payload) > self.max_payload_bytes:
            reject(
                Reason.PAYLOAD_TOO_LARGE,
                f"{len(payload)} bytes > limit {self.max_payload_bytes}",
                payload,
                park_id,
                device_id,
            )
            return out
        park = self.registry.park(park_id)
        if park is None:
            reject(
                Reason.UNKNOWN_PARK,
                f"park {park_id!r} is not in the registry",
                payload,
                park_id,
                device_id,
            )
            return out
        device = park.device(device_id)
        if device is None and device_id in self._parks_of:
            reject(
                Reason.PARK_MISMATCH,
                f"device {device_id!r} belongs to park "
                f"{', '.join(map(repr, self._parks_of[device_id]))}, not {park_id!r}",
                payload,
                park_id,
                device_id,
            )
            return out
        if device is None:
            reject(
                Reason.UNKNOWN_DEVICE,
                f"device {device_id!r} is not in park {park_id!r}",
                payload,
                park_id,
                device_id,
            )
            return out
        try:
            doc = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            reject(Reason.MALFORMED_JSON, str(exc), payload, park_id, device_id)
            return out

        if isinstance(doc, dict) and "readings" in doc:
            items: Any = doc["readings"]
            if not isinstance(items, list):
                reject(
                    Reason.NOT_AN_OBJECT,
                    "'readings' must be a JSON array",
                    payload,
                    park_id,
                    device_id,
                )
                return out
        elif isinstance(doc, list):
            items = doc
        else:
            items = [doc]

        if not items:
            reject(Reason.EMPTY_BATCH, "the batch holds no readings", payload, park_id, device_id)
            return out
        conversions = self._conversions_for(park_id, device)
        tags = {"park": park_id, "device": device_id}
        now_ns = received_ns
        for item in items:
            if not isinstance(item, dict):
                reject(
                    Reason.NOT_AN_OBJECT,
                    f"a reading must be a JSON object, got {type(item).__name__}",
                    _excerpt(item),
                    park_id,
                    device_id,
                )
                continue
            verdict = self._reading(item, conversions, now_ns)
            if isinstance(verdict, _Bad):
                reject(verdict.reason, verdict.detail, _excerpt(item), park_id, device_id)
            else:
                time_ns, fields = verdict
                out.points.append(Point(TELEMETRY, tags, fields, time_ns))
        return out

    def _reading(
        self, item: dict[str, Any], conversions: Mapping[str, _Conversion], now_ns: int
    ) -> tuple[int, dict[str, float]] | _Bad:
        if "ts" not in item:
            return _Bad(Reason.MISSING_TS, "reading has no 'ts'")
        time_ns = parse_ts_ns(item["ts"])
        if isinstance(time_ns, str):
            return _Bad(Reason.BAD_TS, time_ns)
        out_of_range = check_time_ns(time_ns, now_ns, self.max_skew_ns)
        if out_of_range is not None:
            early = 0 < time_ns < MIN_TS_NS
            hint = " (looks like epoch seconds; ts is epoch milliseconds)" if early else ""
            return _Bad(Reason.TS_OUT_OF_RANGE, out_of_range + hint)
        fields: dict[str, float] = {}
        for name, value in item.items():
            if name == "ts":
                continue
            conv = conversions.get(name)
            if conv is None:
                return _Bad(
                    Reason.UNKNOWN_FIELD,
                    f"field {name!r} is not declared for this device "
                    f"(known: {', '.join(sorted(conversions))})",
                )
            if isinstance(value, bool) or not isinstance(value, int | float):
                return _Bad(
                    Reason.BAD_VALUE, f"field {name!r} is {type(value).__name__}, not a number"
                )
            number = conv.to_canonical(float(value))
            if not math.isfinite(number):
                return _Bad(Reason.BAD_VALUE, f"field {name!r} is not a finite number")
            if not conv.low <= number <= conv.high:
                return _Bad(
                    Reason.IMPLAUSIBLE,
                    f"{conv.stored_name} = {number:g} is outside the plausible range "
                    f"[{conv.low:g}, {conv.high:g}]",
                )
            fields[conv.stored_name] = number
        if not fields:
            return _Bad(Reason.NO_FIELDS, "reading has a ts but no fields")
        return time_ns, fields


def check_time_ns(time_ns: int, now_ns: int, max_skew_ns: int) -> str | None:
    """Why a device time [ns] cannot be stored (before 2000, or more than ``max_skew_ns`` [ns]
    after ``now_ns`` [ns]), or None when it can."""
    if time_ns < MIN_TS_NS:
        return "ts is before 2000-01-01"
    if time_ns > now_ns + max_skew_ns:
        # integer seconds: a float ts of 1e303 ms is beyond any float in ns
        return (
            f"ts is {(time_ns - now_ns) // 10**9} s in the future (limit {max_skew_ns // 10**9} s)"
        )
    return None


def parse_ts_ns(ts: Any) -> int | str:
    """A payload ``ts`` as epoch nanoseconds, or a message saying why it is not a timestamp.

    Numbers are epoch milliseconds [ms]; strings are ISO-8601 with a UTC offset (or ``Z``).
    """
    if isinstance(ts, bool):
        return "ts is a boolean"
    if isinstance(ts, int):
        return ts * NS_PER_MS
    if isinstance(ts, float):
        if not math.isfinite(ts):
            return "ts is not a finite number"
        whole = math.floor(ts)  # split so the float's 53 bits are not spread over 19 digits
        return whole * NS_PER_MS + round((ts - whole) * NS_PER_MS)
    if isinstance(ts, str):
        try:
            parsed = datetime.fromisoformat(ts)
        except ValueError:
            return f"ts {ts[:40]!r} is not ISO-8601"
        if parsed.tzinfo is None:
            return f"ts {ts[:40]!r} has no UTC offset"
        delta = parsed - _EPOCH  # aware subtraction applies the offset exactly
        return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000
    return f"ts is {type(ts).__name__}, not epoch ms or ISO-8601"


def _excerpt(item: Any) -> bytes:
    try:
        return orjson.dumps(item)
    except TypeError:
        return repr(item).encode()
