"""Alarm rules: the schema of a rule file and its loader.

A rule file (``SMARTPARK_ALARM_RULES``; default the shipped ``config/alarms/default.yaml``) is
``rules: [...]``; each rule applies to every park unless it lists ``parks`` and to the devices
its ``devices`` selector picks (roles, kinds, ids). docs/alarms.md describes every kind and field.
The engine that evaluates them is :mod:`services.alarms`.
"""

from __future__ import annotations

from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from config.errors import ConfigError
from config.registry import Device, DeviceKind, Role
from config.yamlfile import YamlDocument, YamlFileError, read_yaml

__all__ = [
    "AlarmKind",
    "DeviceSelector",
    "Rule",
    "RuleSet",
    "Severity",
    "default_rules_path",
    "load_rules",
]


class AlarmKind(StrEnum):
    """What an alarm watches."""

    THRESHOLD = "threshold"
    OFFLINE = "offline"
    REGISTER_RESET = "register_reset"
    REGISTER_STUCK = "register_stuck"
    NIGHT_BASE_LOAD = "night_base_load"
    QUARANTINE_RATE = "quarantine_rate"
    SPOOL_GROWING = "spool_growing"


class Severity(StrEnum):
    """How urgent an alarm is."""

    INFO = "info"
    WARNING = "warning"
    MAJOR = "major"
    CRITICAL = "critical"


class _Rules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DeviceSelector(_Rules):
    """Which devices a rule watches: all of these that are given must match."""

    roles: tuple[Role, ...] = ()
    kinds: tuple[DeviceKind, ...] = ()
    ids: tuple[str, ...] = ()

    def matches(self, dev: Device) -> bool:
        """True when ``dev`` is selected."""
        return (
            (not self.roles or dev.role in self.roles)
            and (not self.kinds or dev.kind in self.kinds)
            and (not self.ids or dev.id in self.ids)
        )


_ID = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]


class Rule(_Rules):
    """One alarm rule; which fields matter depends on ``kind`` (see docs/alarms.md).

    Durations and windows are in seconds, powers in kW, hours in park-local time [0, 24]."""

    id: _ID
    kind: AlarmKind
    severity: Severity = Severity.WARNING
    parks: tuple[str, ...] = ()
    devices: DeviceSelector = DeviceSelector()
    field: str = "power_kw"
    # threshold
    above: float | None = None
    per_device: dict[str, float] = Field(default_factory=dict)
    for_s: float = Field(default=900.0, ge=0)
    hysteresis: float = Field(default=0.0, ge=0)
    # offline
    intervals: float = Field(default=5.0, gt=0)
    interval_s: float | None = Field(default=None, gt=0)
    default_interval_s: float = Field(default=60.0, gt=0)
    min_after_s: float = Field(default=10.0, ge=0)
    # register reset / stuck
    tolerance: float = Field(default=0.001, ge=0)
    clear_after_s: float = Field(default=3600.0, gt=0)
    power_field: str = "power_kw"
    min_power_kw: float = Field(default=1.0, ge=0)
    # night base load
    night_start_h: int = Field(default=0, ge=0, le=23)
    night_end_h: int = Field(default=5, ge=1, le=24)
    window_s: float = Field(default=1800.0, gt=0)
    nights: int = Field(default=7, ge=1, le=60)
    min_nights: int = Field(default=3, ge=1)
    factor: float = Field(default=1.3, gt=1)
    min_excess_kw: float = Field(default=5.0, ge=0)
    # quarantine rate
    min_count: int = Field(default=20, ge=1)

    def applies_to_park(self, park: str) -> bool:
        """True when the rule watches ``park``."""
        return not self.parks or park in self.parks

    def threshold_for(self, device: str) -> float | None:
        """The threshold of a threshold rule for ``device`` (in the unit of ``field``)."""
        return self.per_device.get(device, self.above)

    @property
    def per_device_kind(self) -> bool:
        """True for rules evaluated per device (not per park)."""
        return self.kind not in (AlarmKind.QUARANTINE_RATE, AlarmKind.SPOOL_GROWING)


class RuleSet(_Rules):
    """A rule file: ``rules: [...]``."""

    rules: tuple[Rule, ...] = ()

    def rule(self, rule_id: str) -> Rule | None:
        """The rule with this id, or None."""
        return next((r for r in self.rules if r.id == rule_id), None)


def default_rules_path() -> Path:
    """The rules shipped with the package."""
    return Path(str(resources.files("config") / "alarms" / "default.yaml"))


MAX_RULES_BYTES = 1 << 20
"""Largest alarm rule file read [bytes]; a rule file is a few kB."""


def _read_yaml(path: Path) -> YamlDocument:
    """The rule file, through the one YAML loader (size cap, alias guard, file:line).

    Raises :class:`ConfigError` (a :class:`YamlFileError`) whose message starts with the path."""
    try:
        return read_yaml(path, max_bytes=MAX_RULES_BYTES, allow_empty=True)
    except YamlFileError as exc:
        if exc.problems and exc.problems[0].message.startswith("cannot read"):
            raise ConfigError(
                f"{path}: cannot read alarm rules: {exc.problems[0].message}"
            ) from exc
        raise


def load_rules(path: Path | str | None = None) -> RuleSet:
    """Load and validate a rule file (default: the shipped rules). Raises :class:`ConfigError`."""
    path = Path(path) if path is not None else default_rules_path()
    doc = _read_yaml(path)
    try:
        rules = RuleSet.model_validate(doc.data or {})
    except ValidationError as exc:
        errors = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']} (line {doc.line(e['loc'])})"
            for e in exc.errors()
        )
        raise ConfigError(f"{path}: invalid alarm rules: {errors}") from exc
    ids = [r.id for r in rules.rules]
    if len(ids) != len(set(ids)):
        raise ConfigError(f"{path}: a rule id is used twice")
    for r in rules.rules:
        if r.kind is AlarmKind.THRESHOLD and r.above is None and not r.per_device:
            raise ConfigError(f"{path}: rule {r.id!r}: a threshold rule needs 'above'")
        if r.kind is AlarmKind.NIGHT_BASE_LOAD and r.night_end_h <= r.night_start_h:
            raise ConfigError(f"{path}: rule {r.id!r}: night_end_h must be after night_start_h")
    return rules
