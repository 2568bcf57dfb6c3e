"""Alarms (``/alarms``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from api.schemas._base import _example, _Out

__all__ = ["AlarmListOut", "AlarmOut"]

_ALARM: dict[str, Any] = {
    "id": "floor-demand~tower-a-f03~1764000000000",
    "park": "wuhan-demo",
    "device": "tower-a-f03",
    "rule": "floor-demand",
    "kind": "threshold",
    "severity": "warning",
    "message": "tower-a-f03: power 182 kW above 160 kW for 15 min",
    "message_zh": "tower-a-f03\uff1a功率 182 kW\uff0c超过 160 kW\uff0c持续 15 分钟",
    "value": 182.0,
    "threshold": 160.0,
    "state": "raised",
    "raised_ms": 1764000000000,
    "acknowledged_ms": None,
    "acknowledged_by": None,
    "cleared_ms": None,
    "cleared_by": None,
}


class AlarmOut(_Out):
    """One alarm: raised → acknowledged → cleared (or raised → cleared). Times are epoch ms."""

    model_config = _example(_ALARM)

    id: str = Field(
        examples=["floor-demand~tower-a-f03~1764000000000"],
        description="`<rule>~<device or ->~<raised_ms>`",
    )
    park: str
    device: str | None = Field(description="The device, or null for a park-level alarm.")
    rule: str = Field(examples=["floor-demand"])
    kind: Literal[
        "threshold",
        "offline",
        "register_reset",
        "register_stuck",
        "night_base_load",
        "quarantine_rate",
        "spool_growing",
    ]
    severity: Literal["info", "warning", "major", "critical"]
    message: str = Field(description="What happened, in English.")
    message_zh: str = Field(description="The same in Chinese.")
    value: float | None = Field(description="The value that raised it (unit per kind).")
    threshold: float | None
    state: Literal["raised", "acknowledged", "cleared"]
    raised_ms: int
    acknowledged_ms: int | None
    acknowledged_by: str | None = Field(description="Name of the key that acknowledged it.")
    cleared_ms: int | None
    cleared_by: str | None = Field(
        description="Name of the key that cleared it; null when the condition ended by itself."
    )


class AlarmListOut(_Out):
    """A park's alarms, newest raise first."""

    model_config = _example({"park": "wuhan-demo", "state": "active", "alarms": [_ALARM]})

    park: str
    state: Literal["active", "all"]
    alarms: list[AlarmOut]
