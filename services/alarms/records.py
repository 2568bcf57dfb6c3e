"""Alarms as values, and their mapping to and from the store.

Every alarm is one point of the ``alarm`` measurement (tags park and device =
``<rule>~<device or ->``, time = its raise), rewritten on each state change: a point's identity
is its tags and time, so every event is idempotent and a restart reloads them. Who acknowledged
or cleared it is one point of ``alarm_by`` at the same time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from config.alarm_rules import AlarmKind, Rule, Severity
from config.messages import Lang, message
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
    "with_messages",
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
    message: str = ""  # English
    message_zh: str = ""

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
            "message_zh": self.message_zh,
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


def _field_label(name: str, lang: Lang) -> str:
    key = f"field.{name}"
    text = message(key, lang)
    return name if text == key else text


def describe(alarm: Alarm, rule: Rule | None, lang: Lang = "en") -> str:
    """A one-line message in ``lang``, from the catalogue's ``alarm.<kind>`` texts (values as
    ``%g``; a quarantine share [fraction] as %; a stuck register's time in min)."""
    where = alarm.device or message("alarm.park", lang, park=alarm.park)
    v, t = alarm.value, alarm.threshold
    values: dict[str, object] = {"where": where, "value": f"{v:g}", "threshold": f"{t:g}"}
    match alarm.kind:
        case AlarmKind.THRESHOLD:
            name = rule.field if rule else ""
            values["name"] = _field_label(name, lang) if name else message("alarm.value", lang)
            values["unit"] = _UNITS.get(name, "")
            values["span"] = (
                message("alarm.for_min", lang, minutes=f"{rule.for_s / 60:g}")
                if rule and rule.for_s
                else ""
            )
        case AlarmKind.QUARANTINE_RATE:
            values["value"], values["threshold"] = f"{100 * v:.1f}", f"{100 * t:g}"
    text = " ".join(message(f"alarm.{alarm.kind.value}", lang, **values).split())
    return text.replace(" \uff0c", "\uff0c")  # no space before a Chinese comma (empty unit)


def with_messages(alarm: Alarm, rule: Rule | None) -> Alarm:
    """``alarm`` with its message in English and Chinese (:func:`describe`)."""
    en, zh = describe(alarm, rule, "en"), describe(alarm, rule, "zh")
    return replace(alarm, message=en, message_zh=zh)
