"""Alarms as values, and their mapping to and from the store.

Every alarm is one point of the ``alarm`` measurement (tags park and device =
``<rule>~<device or ->``, time = its raise), rewritten on each state change: a point's identity
is its tags and time, so every event is idempotent and a restart reloads them. Who acknowledged
or cleared it is one point of ``alarm_by`` at the same time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from config.alarm_rules import AlarmKind, Rule, Severity
from store.base import LatestReading, Point

__all__ = [
    "ALARM",
    "ALARM_BY",
    "NO_DEVICE",
    "Alarm",
    "AlarmState",
    "actor_point",
    "actors_from_rows",
    "alarm_from_row",
    "describe",
]

ALARM = "alarm"
"""Measurement of the alarms: tags park and device = ``<rule>~<device or ->``, time = raised."""
ALARM_BY = "alarm_by"
"""Measurement of who acknowledged / cleared an alarm (the name is in the device tag)."""

NO_DEVICE = "-"
"""The device part of the key of a park-wide alarm."""


class AlarmState(StrEnum):
    """raised → acknowledged → cleared (raised → cleared when it clears unacknowledged)."""

    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"


# stored as the position in the enum: the order of the enums is the stored format
_KIND_CODE = {k: i for i, k in enumerate(AlarmKind)}
_SEVERITY_CODE = {s: i for i, s in enumerate(Severity)}
_STATE_CODE = {s: i for i, s in enumerate(AlarmState)}


@dataclass(frozen=True, slots=True)
class Alarm:
    """One alarm, from its raise to its clear. ``id`` is ``<rule>~<device or ->~<raised_ms>``;
    times are milliseconds since the epoch (UTC); ``value`` and ``threshold`` are in the rule's
    unit (NaN: none)."""

    park: str
    rule: str
    device: str | None
    kind: AlarmKind
    severity: Severity
    value: float
    threshold: float
    raised_ms: int
    state: AlarmState = AlarmState.RAISED
    acknowledged_ms: int | None = None
    acknowledged_by: str | None = None
    cleared_ms: int | None = None
    cleared_by: str | None = None  # None: cleared by the engine (the condition ended)
    message: str = ""

    @property
    def key(self) -> str:
        """The stored device tag: rule and device."""
        return f"{self.rule}~{self.device or NO_DEVICE}"

    @property
    def id(self) -> str:
        """Unique id of the alarm, used in the API's paths."""
        return f"{self.key}~{self.raised_ms}"

    @property
    def active(self) -> bool:
        """Raised or acknowledged, not yet cleared."""
        return self.state is not AlarmState.CLEARED

    def to_point(self) -> Point:
        """The stored form: rewriting it is idempotent (identity: park, key, raised time)."""
        fields = {
            "value": self.value if math.isfinite(self.value) else -1.0,
            "threshold": self.threshold if math.isfinite(self.threshold) else -1.0,
            "kind": float(_KIND_CODE[self.kind]),
            "severity": float(_SEVERITY_CODE[self.severity]),
            "state": float(_STATE_CODE[self.state]),
        }
        if self.acknowledged_ms is not None:
            fields["acknowledged_ms"] = float(self.acknowledged_ms)
        if self.cleared_ms is not None:
            fields["cleared_ms"] = float(self.cleared_ms)
        return Point(ALARM, {"park": self.park, "device": self.key}, fields, self.raised_ms * 10**6)

    def as_json(self) -> dict[str, object]:
        """The JSON shape of the API and the live stream."""
        return {
            "id": self.id,
            "park": self.park,
            "device": self.device,
            "rule": self.rule,
            "kind": self.kind.value,
            "severity": self.severity.value,
            "message": self.message,
            "value": self.value if math.isfinite(self.value) else None,
            "threshold": self.threshold if math.isfinite(self.threshold) else None,
            "state": self.state.value,
            "raised_ms": self.raised_ms,
            "acknowledged_ms": self.acknowledged_ms,
            "acknowledged_by": self.acknowledged_by,
            "cleared_ms": self.cleared_ms,
            "cleared_by": self.cleared_by,
        }


def alarm_from_row(park: str, row: LatestReading) -> Alarm | None:
    """The alarm a stored ``alarm`` point holds (without who acted on it, nor its message), or
    None when the point is not one."""
    rule, _, device = row.device.partition("~")
    f = row.fields
    try:
        kind = list(AlarmKind)[int(f["kind"])]
        severity = list(Severity)[int(f["severity"])]
        state = list(AlarmState)[int(f["state"])]
    except (KeyError, IndexError, ValueError):
        return None
    ack, cleared = f.get("acknowledged_ms"), f.get("cleared_ms")
    value, threshold = f.get("value", -1.0), f.get("threshold", -1.0)
    return Alarm(
        park=park,
        rule=rule,
        device=None if device == NO_DEVICE else device,
        kind=kind,
        severity=severity,
        value=value,
        threshold=threshold,
        raised_ms=row.time_ns // 10**6,
        state=state,
        acknowledged_ms=int(ack) if ack is not None else None,
        cleared_ms=int(cleared) if cleared is not None else None,
    )


def actor_point(alarm: Alarm, action: str, name: str) -> Point:
    """The ``alarm_by`` point saying ``name`` did ``action`` (``ack`` or ``clear``) to ``alarm``."""
    return Point(
        ALARM_BY,
        {"park": alarm.park, "device": f"{alarm.key}~{action}~{name}"},
        {"at_ms": float(alarm.acknowledged_ms or alarm.cleared_ms or 0)},
        alarm.raised_ms * 10**6,
    )


def actors_from_rows(rows: Iterable[LatestReading]) -> dict[tuple[str, str], str]:
    """(alarm id, action) → name, from the stored ``alarm_by`` points."""
    by: dict[tuple[str, str], str] = {}
    for row in rows:
        parts = row.device.split("~", 3)
        if len(parts) == 4:
            alarm_id = f"{parts[0]}~{parts[1]}~{row.time_ns // 10**6}"
            by[(alarm_id, parts[2])] = parts[3]
    return by


_UNITS = {"power_kw": "kW"}


def describe(alarm: Alarm, rule: Rule | None) -> str:
    """A one-line message in English."""
    where = alarm.device or f"park {alarm.park}"
    v, t = alarm.value, alarm.threshold
    match alarm.kind:
        case AlarmKind.THRESHOLD:
            name = rule.field if rule else "value"
            unit = _UNITS.get(name, "")
            span = f" for {rule.for_s / 60:g} min" if rule and rule.for_s else ""
            return f"{where}: {name} {v:g} {unit} above {t:g} {unit}{span}".replace("  ", " ")
        case AlarmKind.OFFLINE:
            return f"{where}: no reading for {v:g} s (offline after {t:g} s)"
        case AlarmKind.REGISTER_RESET:
            return f"{where}: register went down from {t:g} to {v:g} (reset, rollover or new meter)"
        case AlarmKind.REGISTER_STUCK:
            return f"{where}: energy register unchanged for {v:g} min while drawing power"
        case AlarmKind.NIGHT_BASE_LOAD:
            return f"{where}: night-time base load {v:g} kW above its normal limit {t:g} kW"
        case AlarmKind.QUARANTINE_RATE:
            return f"{where}: {100 * v:.1f} % of input quarantined (limit {100 * t:g} %)"
        case AlarmKind.SPOOL_GROWING:
            return f"{where}: the collector's spool is growing ({v:g} bytes): the store lags"
    return where
