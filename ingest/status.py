"""An edge agent's meter status messages turned into the ``offline`` telemetry field.

``smartpark edge`` (edge/agent.py) publishes, retained, one message per meter when its state
changes, on ``parks/{park}/devices/{device}/status`` (the edge's ``status_topic_template``)::

    {"ts": 1733390000000, "state": "offline", "message": {...}, "reason": "timeout after 1.0 s"}
    {"ts": 1733390060000, "state": "online", "message": {...}}

The collector stores each as a reading of :data:`config.registry.OFFLINE_FIELD` (``1`` offline,
``0`` online) at ``ts`` [ms], exactly as it stores a Sparkplug B DEATH and BIRTH, so ``/latest``,
the dashboard and the alarm rule ``device-down`` see a meter the edge cannot reach at once, not
only after the ``offline`` rule's silence. The technical ``reason`` is not stored (the edge's
own log has it).

Checks are the native decoder's (:class:`ingest.decode.Decoder`): the park and device must be
in the registry, the payload JSON with a ``ts`` and a ``state`` of ``online`` or ``offline``;
anything else is quarantined with its reason. A retained status is delivered again whenever the
collector subscribes: its ``ts`` may be old, so only a ``ts`` in the future beyond the allowed
skew is refused, and writing it again changes nothing (same point identity).
"""

from __future__ import annotations

import orjson

from config.registry import OFFLINE_FIELD
from config.settings import DEFAULT_STATUS_TEMPLATE
from ingest.decode import (
    EXCERPT_BYTES,
    MIN_TS_NS,
    Decoded,
    Decoder,
    Reason,
    TopicTemplate,
    parse_ts_ns,
)
from store.base import TELEMETRY, Point, QuarantineRecord

__all__ = ["DEFAULT_STATUS_TEMPLATE", "StatusDecoder"]

_STATES = {"offline": 1.0, "online": 0.0}


class StatusDecoder:
    """Decodes status messages for the devices of ``native``'s registry."""

    def __init__(self, native: Decoder, template: str = DEFAULT_STATUS_TEMPLATE) -> None:
        self.native = native
        self.template = TopicTemplate(template)

    def handles(self, topic: str) -> bool:
        """Whether ``topic`` is a status topic."""
        return self.template.match(topic) is not None

    def decode(self, topic: str, payload: bytes, received_ns: int) -> Decoded:
        """One status message as an ``offline`` reading, or its quarantine record; never
        raises. ``received_ns`` [ns since the epoch] bounds how far ahead ``ts`` may be."""
        out = Decoded()
        ids = self.template.match(topic)
        park_id, device_id = ids if ids is not None else ("", "")

        def reject(reason: Reason, detail: str) -> Decoded:
            out.rejected.append(
                QuarantineRecord(
                    received_ns=received_ns,
                    reason=reason.value,
                    detail=f"status message: {detail}",
                    topic=topic,
                    excerpt=payload[:EXCERPT_BYTES].decode("utf-8", errors="replace"),
                    park=park_id,
                    device=device_id,
                )
            )
            return out

        if ids is None:
            return reject(Reason.TOPIC_MISMATCH, f"topic does not match {self.template.template}")
        if len(payload) > self.native.max_payload_bytes:
            return reject(Reason.PAYLOAD_TOO_LARGE, f"{len(payload)} bytes")
        park = self.native.registry.park(park_id)
        if park is None:
            return reject(Reason.UNKNOWN_PARK, f"park {park_id!r} is not in the registry")
        if park.device(device_id) is None:
            return reject(Reason.UNKNOWN_DEVICE, f"device {device_id!r} is not in park {park_id!r}")
        try:
            doc = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            return reject(Reason.MALFORMED_JSON, str(exc))
        if not isinstance(doc, dict):
            return reject(Reason.NOT_AN_OBJECT, "a status must be a JSON object")
        if "ts" not in doc:
            return reject(Reason.MISSING_TS, "status has no 'ts'")
        time_ns = parse_ts_ns(doc["ts"])
        if isinstance(time_ns, str):
            return reject(Reason.BAD_TS, time_ns)
        if time_ns < MIN_TS_NS:
            return reject(Reason.TS_OUT_OF_RANGE, "ts is before 2000-01-01")
        ahead_s = (time_ns - received_ns) // 10**9
        if time_ns > received_ns + self.native.max_skew_ns:
            limit_s = self.native.max_skew_ns // 10**9
            return reject(
                Reason.TS_OUT_OF_RANGE, f"ts is {ahead_s} s in the future (limit {limit_s} s)"
            )
        state = doc.get("state")
        if not isinstance(state, str) or state not in _STATES:
            return reject(Reason.BAD_VALUE, f"state must be 'online' or 'offline', not {state!r}")
        tags = {"park": park_id, "device": device_id}
        out.points.append(Point(TELEMETRY, tags, {OFFLINE_FIELD: _STATES[state]}, time_ns))
        return out
