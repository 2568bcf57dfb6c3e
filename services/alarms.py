"""Alarms: rules, detectors, and the engine that raises, acknowledges and clears them.

Rules come from a YAML file (``SMARTPARK_ALARM_RULES``; default the shipped
``config/alarms/default.yaml``), each applying to every park unless it lists ``parks`` and to the
devices its ``devices`` selector picks (roles, kinds, ids). docs/alarms.md describes every kind.

The detectors are plain objects fed a device's readings in time order (:meth:`Detector.feed`)
and asked for a :class:`Verdict` at a time (:meth:`Detector.verdict`): ``on=True`` when the alarm
condition holds, ``False`` when its clear condition holds, ``None`` in between (hysteresis), so
they are tested with hand-built series and no store.

:class:`AlarmEngine` holds one detector per (park, rule, device), feeds them from the store every
few seconds (new telemetry since the last pass, ``latest`` for offline), and keeps every alarm in
the store's ``alarm`` measurement: one point per alarm, rewritten on each state change (a point's
identity is its tags and time, so every event is idempotent and a restart reloads them). Its
listeners (the live stream) hear of every raise, acknowledgement and clear.
"""

from __future__ import annotations

import logging
import math
import statistics
import threading
import time
import zoneinfo
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Protocol

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from config.errors import ConfigError, ConflictError
from config.registry import Device, DeviceKind, ParkRegistry, Registry, Role
from config.units import stored_field_name
from services.periodic import Periodic
from store.base import TELEMETRY, LatestReading, Point, Store

__all__ = [
    "ALARM",
    "ALARM_BY",
    "Alarm",
    "AlarmConflictError",
    "AlarmEngine",
    "AlarmKind",
    "AlarmState",
    "Detector",
    "NightBaseLoadDetector",
    "OfflineDetector",
    "RegisterResetDetector",
    "RegisterStuckDetector",
    "Rule",
    "RuleSet",
    "Severity",
    "ThresholdDetector",
    "Verdict",
    "default_rules_path",
    "load_rules",
    "night_baseline",
    "night_windows",
]

log = logging.getLogger("smartpark.alarms")

ALARM = "alarm"
"""Measurement of the alarms: tags park and device = ``<rule>~<device or ->``, time = raised."""
ALARM_BY = "alarm_by"
"""Measurement of who acknowledged / cleared an alarm (the name is in the device tag)."""

_NS = 1_000_000_000
_NO_DEVICE = "-"


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


class AlarmState(StrEnum):
    """raised → acknowledged → cleared (raised → cleared when it clears unacknowledged)."""

    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"


_KIND_CODE = {k: i for i, k in enumerate(AlarmKind)}
_SEVERITY_CODE = {s: i for i, s in enumerate(Severity)}
_STATE_CODE = {s: i for i, s in enumerate(AlarmState)}


class AlarmConflictError(ConflictError, ValueError):
    """The alarm is in a state that does not allow the action (acknowledging a cleared one)."""


# -- rules ---------------------------------------------------------------------------------------


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
    """One alarm rule; which fields matter depends on ``kind`` (see docs/alarms.md)."""

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
        """The threshold of a threshold rule for ``device``."""
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


def load_rules(path: Path | str | None = None) -> RuleSet:
    """Load and validate a rule file (default: the shipped rules). Raises :class:`ConfigError`."""
    path = Path(path) if path is not None else default_rules_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        rules = RuleSet.model_validate(data)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read alarm rules: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        errors = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
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


# -- detectors -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    """``on``: True the alarm condition holds, False its clear condition holds, None neither
    (inside the hysteresis band, or not enough data); ``value`` and ``threshold`` for the
    message."""

    on: bool | None
    value: float = math.nan
    threshold: float = math.nan


_UNKNOWN = Verdict(None)


class Detector(Protocol):
    """Fed one device's readings in time order; judges at a time."""

    def feed(self, time_ns: int, fields: Mapping[str, float]) -> None:
        """Take a reading (older than the last one fed: ignored)."""

    def verdict(self, now_ns: int) -> Verdict:
        """The state of the condition at ``now_ns``."""


class ThresholdDetector:
    """``field`` above ``threshold`` for ``for_s`` (every reading of the run above it, the run
    spanning at least ``for_s`` from its first to its last reading): on. Below ``threshold −
    hysteresis``: off. In between: unchanged."""

    def __init__(self, field: str, threshold: float, *, for_s: float, hysteresis: float) -> None:
        self.field = field
        self.threshold = threshold
        self.for_ns = int(for_s * _NS)
        self.hysteresis = hysteresis
        self._run_start: int | None = None
        self._last: tuple[int, float] | None = None

    def feed(self, time_ns: int, fields: Mapping[str, float]) -> None:
        value = fields.get(self.field)
        if value is None or not math.isfinite(value):
            return
        if self._last is not None and time_ns <= self._last[0]:
            return
        if value > self.threshold:
            if self._run_start is None:
                self._run_start = time_ns
        else:
            self._run_start = None
        self._last = (time_ns, value)

    def verdict(self, now_ns: int) -> Verdict:
        if self._last is None:
            return _UNKNOWN
        t, value = self._last
        if self._run_start is not None and t - self._run_start >= self.for_ns:
            return Verdict(True, value, self.threshold)
        if value < self.threshold - self.hysteresis:
            return Verdict(False, value, self.threshold)
        return Verdict(None, value, self.threshold)


class OfflineDetector:
    """No reading for ``intervals`` reporting intervals: on. The interval is ``interval_s``, or
    the median gap of the last readings (``default_interval_s`` until there are three)."""

    def __init__(
        self,
        *,
        intervals: float,
        interval_s: float | None = None,
        default_interval_s: float = 60.0,
        min_after_s: float = 0.0,
    ) -> None:
        self.intervals = intervals
        self.interval_s = interval_s
        self.default_interval_s = default_interval_s
        self.min_after_s = min_after_s
        self._last: int | None = None
        self._gaps: deque[int] = deque(maxlen=20)

    def feed(self, time_ns: int, fields: Mapping[str, float]) -> None:
        if self._last is not None:
            if time_ns <= self._last:
                return
            self._gaps.append(time_ns - self._last)
        self._last = time_ns

    def limit_s(self) -> float:
        """How long without a reading counts as offline [s]."""
        interval = self.interval_s
        if interval is None:
            interval = (
                statistics.median(self._gaps) / _NS
                if len(self._gaps) >= 2
                else self.default_interval_s
            )
        return max(self.min_after_s, self.intervals * interval)

    def verdict(self, now_ns: int) -> Verdict:
        if self._last is None:
            return _UNKNOWN  # never reported: not installed yet, not offline
        age_s = max(0.0, (now_ns - self._last) / _NS)
        limit = self.limit_s()
        return Verdict(age_s > limit, round(age_s, 1), round(limit, 1))


class RegisterResetDetector:
    """A cumulative register going down by more than ``tolerance`` (reset, rollover, replaced
    meter): on at once, off ``clear_after_s`` after the last decrease."""

    def __init__(self, registers: Sequence[str], *, tolerance: float, clear_after_s: float) -> None:
        self.registers = tuple(registers)
        self.tolerance = tolerance
        self.clear_after_ns = int(clear_after_s * _NS)
        self._prev: dict[str, tuple[int, float]] = {}
        self._event: tuple[int, float, float] | None = None  # time, new value, value before

    def feed(self, time_ns: int, fields: Mapping[str, float]) -> None:
        for name in self.registers:
            value = fields.get(name)
            if value is None or not math.isfinite(value):
                continue
            prev = self._prev.get(name)
            if prev is not None:
                if time_ns <= prev[0]:
                    continue
                if value < prev[1] - self.tolerance:
                    self._event = (time_ns, value, prev[1])
            self._prev[name] = (time_ns, value)

    def verdict(self, now_ns: int) -> Verdict:
        if self._event is None:
            return Verdict(False) if self._prev else _UNKNOWN
        t, value, before = self._event
        return Verdict(now_ns - t < self.clear_after_ns, value, before)


class RegisterStuckDetector:
    """The register ``field`` unchanged for ``for_s`` while ``power_field`` stays above
    ``min_power_kw``: on. Off as soon as the register moves or the power drops."""

    def __init__(self, field: str, power_field: str, *, for_s: float, min_power_kw: float) -> None:
        self.field = field
        self.power_field = power_field
        self.for_ns = int(for_s * _NS)
        self.min_power_kw = min_power_kw
        self._last_t: int | None = None
        self._register: float | None = None
        self._changed_at = 0
        self._powered_since: int | None = None

    def feed(self, time_ns: int, fields: Mapping[str, float]) -> None:
        register, power = fields.get(self.field), fields.get(self.power_field)
        if register is None or power is None:
            return
        if self._last_t is not None and time_ns <= self._last_t:
            return
        if self._register is None or register != self._register:
            self._changed_at = time_ns
        self._register = register
        if power > self.min_power_kw:
            if self._powered_since is None:
                self._powered_since = time_ns
        else:
            self._powered_since = None
        self._last_t = time_ns

    def verdict(self, now_ns: int) -> Verdict:
        if self._last_t is None:
            return _UNKNOWN
        if self._powered_since is None:
            return Verdict(False)
        flat_s = (self._last_t - max(self._changed_at, self._powered_since)) / _NS
        return Verdict(
            flat_s * _NS >= self.for_ns, round(flat_s / 60, 1), round(self.for_ns / _NS / 60, 1)
        )


def night_windows(
    day: date, tz: zoneinfo.ZoneInfo, start_h: int, end_h: int, nights: int
) -> list[tuple[int, int]]:
    """[start_ns, end_ns) of the night hours of the ``nights`` days before ``day`` (local),
    newest first."""
    out = []
    for back in range(1, nights + 1):
        d = day - timedelta(days=back)
        start = datetime(d.year, d.month, d.day, tzinfo=tz) + timedelta(hours=start_h)
        end = datetime(d.year, d.month, d.day, tzinfo=tz) + timedelta(hours=end_h)
        out.append((int(start.timestamp()) * _NS, int(end.timestamp()) * _NS))
    return out


def night_baseline(night_means: Iterable[float], *, min_nights: int) -> float | None:
    """The normal night-time base load: the median of the previous nights' mean power, or None
    with fewer than ``min_nights`` nights of data."""
    means = [m for m in night_means if math.isfinite(m)]
    if len(means) < min_nights:
        return None
    return float(statistics.median(means))


class NightBaseLoadDetector:
    """During the park's night hours, the mean of ``field`` over the last ``window_s`` above
    ``max(factor × baseline, baseline + min_excess_kw)``: on; below it or outside the night: off.
    ``baseline`` (:func:`night_baseline`) is set from outside; None: no verdict."""

    def __init__(
        self,
        field: str,
        *,
        tz: zoneinfo.ZoneInfo,
        start_h: int,
        end_h: int,
        window_s: float,
        factor: float,
        min_excess_kw: float,
    ) -> None:
        self.field = field
        self.tz = tz
        self.start_h, self.end_h = start_h, end_h
        self.window_ns = int(window_s * _NS)
        self.factor = factor
        self.min_excess_kw = min_excess_kw
        self.baseline: float | None = None
        self._window: deque[tuple[int, float]] = deque()

    def feed(self, time_ns: int, fields: Mapping[str, float]) -> None:
        value = fields.get(self.field)
        if value is None or not math.isfinite(value):
            return
        if self._window and time_ns <= self._window[-1][0]:
            return
        self._window.append((time_ns, value))
        while self._window and self._window[0][0] < time_ns - self.window_ns:
            self._window.popleft()

    def is_night(self, now_ns: int) -> bool:
        """True during the night hours (park-local time)."""
        local = datetime.fromtimestamp(now_ns / _NS, self.tz)
        return self.start_h <= local.hour < self.end_h

    def verdict(self, now_ns: int) -> Verdict:
        if not self.is_night(now_ns):
            return Verdict(False)
        recent = [v for t, v in self._window if t >= now_ns - self.window_ns]
        # a mean needs most of the window: half of it at least
        if self.baseline is None or not recent or self._window[0][0] > now_ns - self.window_ns // 2:
            return _UNKNOWN
        limit = max(self.factor * self.baseline, self.baseline + self.min_excess_kw)
        mean = statistics.fmean(recent)
        return Verdict(mean > limit, round(mean, 2), round(limit, 2))


# -- alarms --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Alarm:
    """One alarm, from its raise to its clear. ``id`` is ``<rule>~<device or ->~<raised_ms>``."""

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
        return f"{self.rule}~{self.device or _NO_DEVICE}"

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


def parse_alarm_id(alarm_id: str) -> tuple[str, str | None, int] | None:
    """(rule, device, raised_ms) of an id, or None when it is not one."""
    parts = alarm_id.split("~")
    if len(parts) != 3 or not parts[2].isdigit():
        return None
    return parts[0], (None if parts[1] == _NO_DEVICE else parts[1]), int(parts[2])


def _alarm_from_row(park: str, row: LatestReading) -> Alarm | None:
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
        device=None if device == _NO_DEVICE else device,
        kind=kind,
        severity=severity,
        value=value,
        threshold=threshold,
        raised_ms=row.time_ns // 10**6,
        state=state,
        acknowledged_ms=int(ack) if ack is not None else None,
        cleared_ms=int(cleared) if cleared is not None else None,
    )


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


# -- the engine ----------------------------------------------------------------------------------


@dataclass
class _Watch:
    park: ParkRegistry
    rule: Rule
    device: str | None
    detector: Detector


@dataclass
class _ParkRate:
    """Quarantine-rate bookkeeping of one park: readings stored per pass."""

    stored: deque[tuple[int, int]] = field(default_factory=deque)


class AlarmEngine(Periodic):
    """Evaluates the rules of every park of ``registry`` against ``store``.

    :meth:`step` is one pass (the tests call it with their own ``now_ns``); :meth:`start` runs
    passes in a background thread every ``every_s``. Alarms are kept in the store and in memory;
    listeners get every alarm that changed (called from the engine's thread or the API's).
    """

    name = "alarm-engine"

    def __init__(
        self,
        store: Store,
        registry: Registry,
        rules: RuleSet,
        *,
        metrics_url: str | None = None,
        warmup_s: float = 1800.0,
    ) -> None:
        super().__init__(log)
        self.store = store
        self.registry = registry
        self.rules = rules
        self.metrics_url = metrics_url
        self.warmup_ns = int(warmup_s * _NS)
        self.listeners: list[Callable[[Alarm], None]] = []
        self._lock = threading.RLock()
        self._alarms: dict[str, dict[str, Alarm]] = {p: {} for p in registry.parks}
        self._active: dict[tuple[str, str], str] = {}  # (park, key) -> id
        self._watches: dict[str, list[_Watch]] = {}
        self._cursor: dict[str, int] = {}
        self._seen: dict[str, int] = {}
        self._rates: dict[str, _ParkRate] = {p: _ParkRate() for p in registry.parks}
        self._baseline_day: dict[tuple[str, str], date] = {}
        self._spool: deque[tuple[int, float]] = deque()
        self._metrics_failed = False
        for park in registry.parks.values():
            self._watches[park.id] = self._build_watches(park)
        self._loaded = False

    # -- set-up --------------------------------------------------------------------------------

    def _build_watches(self, park: ParkRegistry) -> list[_Watch]:
        tz = zoneinfo.ZoneInfo(park.park.timezone)
        out: list[_Watch] = []
        for rule in self.rules.rules:
            if not rule.applies_to_park(park.id) or not rule.per_device_kind:
                continue
            for dev in park.devices:
                if not rule.devices.matches(dev):
                    continue
                detector = _detector(rule, dev, tz)
                if detector is not None:
                    out.append(_Watch(park, rule, dev.id, detector))
        return out

    def load(self) -> None:
        """Read the stored alarms (every park) into memory."""
        with self._lock:
            end = time.time_ns() + 86_400 * _NS
            for park in self.registry.parks:
                rows = self.store.scan(park, measurement=ALARM, start_ns=0, end_ns=end)
                who = self.store.scan(park, measurement=ALARM_BY, start_ns=0, end_ns=end)
                by: dict[tuple[str, str], str] = {}
                for row in who:
                    parts = row.device.split("~", 3)
                    if len(parts) == 4:
                        alarm_id = f"{parts[0]}~{parts[1]}~{row.time_ns // 10**6}"
                        by[(alarm_id, parts[2])] = parts[3]
                for row in rows:
                    alarm = _alarm_from_row(park, row)
                    if alarm is None:
                        continue
                    alarm = replace(
                        alarm,
                        acknowledged_by=by.get((alarm.id, "ack")),
                        cleared_by=by.get((alarm.id, "clear")),
                    )
                    alarm = replace(alarm, message=describe(alarm, self.rules.rule(alarm.rule)))
                    self._alarms[park][alarm.id] = alarm
                    if alarm.active:
                        self._active[(park, alarm.key)] = alarm.id
            self._loaded = True

    # -- reading -------------------------------------------------------------------------------

    def alarms(self, park: str, *, active_only: bool = False) -> list[Alarm]:
        """The park's alarms, newest raise first."""
        with self._lock:
            found = [a for a in self._alarms.get(park, {}).values() if a.active or not active_only]
        return sorted(found, key=lambda a: (-a.raised_ms, a.id))

    def get(self, park: str, alarm_id: str) -> Alarm | None:
        """One alarm, or None."""
        with self._lock:
            return self._alarms.get(park, {}).get(alarm_id)

    # -- actions -------------------------------------------------------------------------------

    def acknowledge(self, park: str, alarm_id: str, *, by: str, now_ms: int | None = None) -> Alarm:
        """Acknowledge an active alarm (again: no change). KeyError unknown, AlarmConflictError
        when it is already cleared."""
        with self._lock:
            alarm = self._alarms.get(park, {}).get(alarm_id)
            if alarm is None:
                raise KeyError(alarm_id)
            if alarm.state is AlarmState.ACKNOWLEDGED:
                return alarm
            if alarm.state is AlarmState.CLEARED:
                raise AlarmConflictError(f"alarm {alarm_id!r} is already cleared")
            now_ms = now_ms if now_ms is not None else time.time_ns() // 10**6
            updated = replace(
                alarm, state=AlarmState.ACKNOWLEDGED, acknowledged_ms=now_ms, acknowledged_by=by
            )
            self._save(updated, by=("ack", by))
        self._notify(updated)
        return updated

    def clear(
        self, park: str, alarm_id: str, *, by: str | None, now_ms: int | None = None
    ) -> Alarm:
        """Clear an alarm (a cleared one: no change). KeyError when unknown. A condition that
        still holds raises a new alarm after the rule's duration again."""
        with self._lock:
            alarm = self._alarms.get(park, {}).get(alarm_id)
            if alarm is None:
                raise KeyError(alarm_id)
            if alarm.state is AlarmState.CLEARED:
                return alarm
            now_ms = now_ms if now_ms is not None else time.time_ns() // 10**6
            updated = replace(alarm, state=AlarmState.CLEARED, cleared_ms=now_ms, cleared_by=by)
            self._save(updated, by=("clear", by) if by is not None else None)
            if by is not None:
                self._reset_watch(park, alarm)
        self._notify(updated)
        return updated

    def _reset_watch(self, park: str, alarm: Alarm) -> None:
        """After a manual clear the condition must hold for the rule's duration anew."""
        for w in self._watches.get(park, []):
            if w.rule.id == alarm.rule and w.device == alarm.device:
                if isinstance(w.detector, ThresholdDetector | RegisterStuckDetector):
                    dev = w.park.device(w.device or "")
                    tz = zoneinfo.ZoneInfo(w.park.park.timezone)
                    fresh = _detector(w.rule, dev, tz) if dev is not None else None
                    if fresh is not None:
                        w.detector = fresh
                elif isinstance(w.detector, RegisterResetDetector):
                    w.detector._event = None

    def _save(self, alarm: Alarm, *, by: tuple[str, str] | None = None) -> None:
        points = [alarm.to_point()]
        if by is not None:
            action, name = by
            points.append(
                Point(
                    ALARM_BY,
                    {"park": alarm.park, "device": f"{alarm.key}~{action}~{name}"},
                    {"at_ms": float(alarm.acknowledged_ms or alarm.cleared_ms or 0)},
                    alarm.raised_ms * 10**6,
                )
            )
        self.store.write(points)
        self._alarms.setdefault(alarm.park, {})[alarm.id] = alarm
        if alarm.active:
            self._active[(alarm.park, alarm.key)] = alarm.id
        elif self._active.get((alarm.park, alarm.key)) == alarm.id:
            del self._active[(alarm.park, alarm.key)]

    def _notify(self, alarm: Alarm) -> None:
        for listener in list(self.listeners):
            try:
                listener(alarm)
            except Exception:  # a listener's failure never stops the engine
                log.exception("alarm listener failed")

    # -- evaluation ----------------------------------------------------------------------------

    def step(self, now_ns: int | None = None) -> list[Alarm]:
        """One pass over every park: feed new readings, judge, raise and clear. Returns the
        alarms that changed."""
        now_ns = now_ns if now_ns is not None else time.time_ns()
        if not self._loaded:
            self.load()
        changed: list[Alarm] = []
        for park in self.registry.parks.values():
            changed.extend(self._step_park(park, now_ns))
        changed.extend(self._step_spool(now_ns))
        for alarm in changed:
            self._notify(alarm)
        return changed

    def _step_park(self, park: ParkRegistry, now_ns: int) -> list[Alarm]:
        watches = self._watches[park.id]
        by_device: dict[str, list[_Watch]] = {}
        for w in watches:
            by_device.setdefault(w.device or "", []).append(w)
        start = self._cursor.get(park.id, now_ns - self.warmup_ns)
        names = sorted(
            {stored_field_name(n, s.quantity) for d in park.devices for n, s in d.fields.items()}
        )
        cols = (
            self.store.columns(
                park.id, measurement=TELEMETRY, fields=names, start_ns=start, end_ns=now_ns + _NS
            )
            if start < now_ns + _NS
            else {}
        )
        stored = 0
        seen_before = self._seen.get(park.id, start)
        last_seen = start
        for device, c in cols.items():
            stored += sum(1 for t in c.time_ns if t > seen_before)
            for i, t in enumerate(c.time_ns):
                row = {k: v[i] for k, v in c.values.items() if math.isfinite(v[i])}
                for w in by_device.get(device, ()):
                    w.detector.feed(t, row)
                last_seen = max(last_seen, t)
        # late readings land before the newest: look back a little each pass
        self._cursor[park.id] = max(start, min(last_seen + 1, now_ns) - 30 * _NS)
        self._seen[park.id] = max(seen_before, last_seen)
        for reading in self.store.latest(park.id):
            for w in by_device.get(reading.device, ()):
                if isinstance(w.detector, OfflineDetector):
                    w.detector.feed(reading.time_ns, reading.fields)
        self._refresh_baselines(park, watches, now_ns)
        changed: list[Alarm] = []
        for w in watches:
            changed.extend(
                self._judge(park.id, w.rule, w.device, w.detector.verdict(now_ns), now_ns)
            )
        changed.extend(self._step_quarantine(park, now_ns, stored))
        return changed

    def _judge(
        self, park: str, rule: Rule, device: str | None, verdict: Verdict, now_ns: int
    ) -> list[Alarm]:
        key = f"{rule.id}~{device or _NO_DEVICE}"
        with self._lock:
            active_id = self._active.get((park, key))
            if verdict.on is True and active_id is None:
                alarm = Alarm(
                    park=park,
                    rule=rule.id,
                    device=device,
                    kind=rule.kind,
                    severity=rule.severity,
                    value=verdict.value,
                    threshold=verdict.threshold,
                    raised_ms=now_ns // 10**6,
                )
                alarm = replace(alarm, message=describe(alarm, rule))
                self._save(alarm)
                return [alarm]
            if verdict.on is False and active_id is not None:
                alarm = self._alarms[park][active_id]
                cleared = replace(alarm, state=AlarmState.CLEARED, cleared_ms=now_ns // 10**6)
                self._save(cleared)
                return [cleared]
        return []

    def _refresh_baselines(self, park: ParkRegistry, watches: list[_Watch], now_ns: int) -> None:
        night = [w for w in watches if isinstance(w.detector, NightBaseLoadDetector)]
        if not night:
            return
        tz = zoneinfo.ZoneInfo(park.park.timezone)
        today = datetime.fromtimestamp(now_ns / _NS, tz).date()
        for rule in {w.rule.id: w.rule for w in night}.values():
            if self._baseline_day.get((park.id, rule.id)) == today:
                continue
            self._baseline_day[(park.id, rule.id)] = today
            means: dict[str, list[float]] = {}
            for lo, hi in night_windows(
                today, tz, rule.night_start_h, rule.night_end_h, rule.nights
            ):
                agg = self.store.aggregate(
                    park.id,
                    measurement=TELEMETRY,
                    fields={"s": ("sum", rule.field), "n": ("count", rule.field)},
                    start_ns=lo,
                    end_ns=hi,
                )
                for device, values in agg.items():
                    if values.get("n"):
                        means.setdefault(device, []).append(values["s"] / values["n"])
            for w in night:
                if w.rule.id == rule.id and isinstance(w.detector, NightBaseLoadDetector):
                    w.detector.baseline = night_baseline(
                        means.get(w.device or "", []), min_nights=rule.min_nights
                    )

    def _step_quarantine(self, park: ParkRegistry, now_ns: int, stored: int) -> list[Alarm]:
        rules = [
            r
            for r in self.rules.rules
            if r.kind is AlarmKind.QUARANTINE_RATE and r.applies_to_park(park.id)
        ]
        rate = self._rates[park.id]
        rate.stored.append((now_ns, stored))
        if not rules:
            return []
        longest = max(int(r.window_s * _NS) for r in rules)
        while rate.stored and rate.stored[0][0] < now_ns - longest:
            rate.stored.popleft()
        records = self.store.quarantined(park=park.id, limit=10_000)
        changed: list[Alarm] = []
        for rule in rules:
            since = now_ns - int(rule.window_s * _NS)
            q = sum(1 for r in records if r.received_ns >= since)
            n = sum(c for t, c in rate.stored if t >= since)
            share = q / (q + n) if q + n else 0.0
            verdict = Verdict(
                q >= rule.min_count and share > (rule.above or 0.0), share, rule.above or 0.0
            )
            changed.extend(self._judge(park.id, rule, None, verdict, now_ns))
        return changed

    def _step_spool(self, now_ns: int) -> list[Alarm]:
        rules = [r for r in self.rules.rules if r.kind is AlarmKind.SPOOL_GROWING]
        if not rules or not self.metrics_url:
            return []
        spool = _read_spool_bytes(self.metrics_url)
        if spool is None:
            if not self._metrics_failed:
                log.info("alarms: the collector's metrics at %s cannot be read", self.metrics_url)
                self._metrics_failed = True
            return []
        self._metrics_failed = False
        self._spool.append((now_ns, spool))
        changed: list[Alarm] = []
        for rule in rules:
            window = int(rule.window_s * _NS)
            while self._spool and self._spool[0][0] < now_ns - 2 * window:
                self._spool.popleft()
            old = [b for t, b in self._spool if t <= now_ns - window]
            growing = bool(old) and spool > 0 and spool > old[-1]
            verdict = Verdict(
                growing if old or spool == 0 else None, spool, old[-1] if old else 0.0
            )
            for park in self.registry.parks:
                if rule.applies_to_park(park):
                    changed.extend(self._judge(park, rule, None, verdict, now_ns))
        return changed

    # -- the thread (services.periodic) ---------------------------------------------------------

    def run_pass(self) -> bool:
        """One :meth:`step`; never more waiting (the engine looks at the newest data)."""
        self.step()
        return False


def _detector(rule: Rule, dev: Device, tz: zoneinfo.ZoneInfo) -> Detector | None:
    registers = [stored_field_name(n, s.quantity) for n, s in dev.fields.items() if s.cumulative]
    match rule.kind:
        case AlarmKind.THRESHOLD:
            threshold = rule.threshold_for(dev.id)
            if threshold is None:
                return None
            return ThresholdDetector(
                rule.field, threshold, for_s=rule.for_s, hysteresis=rule.hysteresis
            )
        case AlarmKind.OFFLINE:
            return OfflineDetector(
                intervals=rule.intervals,
                interval_s=rule.interval_s,
                default_interval_s=rule.default_interval_s,
                min_after_s=rule.min_after_s,
            )
        case AlarmKind.REGISTER_RESET:
            if not registers:
                return None
            return RegisterResetDetector(
                registers, tolerance=rule.tolerance, clear_after_s=rule.clear_after_s
            )
        case AlarmKind.REGISTER_STUCK:
            if rule.field not in registers:
                return None
            return RegisterStuckDetector(
                rule.field, rule.power_field, for_s=rule.for_s, min_power_kw=rule.min_power_kw
            )
        case AlarmKind.NIGHT_BASE_LOAD:
            return NightBaseLoadDetector(
                rule.field,
                tz=tz,
                start_h=rule.night_start_h,
                end_h=rule.night_end_h,
                window_s=rule.window_s,
                factor=rule.factor,
                min_excess_kw=rule.min_excess_kw,
            )
    return None


def _read_spool_bytes(url: str) -> float | None:
    """``smartpark_collector_spool_bytes`` from the collector's Prometheus endpoint, or None."""
    try:
        response = httpx.get(url, timeout=1.0)
        response.raise_for_status()
    except httpx.HTTPError:
        return None
    for line in response.text.splitlines():
        if line.startswith("smartpark_collector_spool_bytes"):
            try:
                return float(line.rsplit(" ", 1)[1])
            except ValueError:
                return None
    return None


def metrics_url_of(host: str, port: int) -> str | None:
    """The collector's metrics address from the settings (None when its port is 0)."""
    return f"http://{host}:{port}/metrics" if port else None
