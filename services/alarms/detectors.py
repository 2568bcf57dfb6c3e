"""The alarm detectors: plain objects with no store, fed one device's readings in time order.

Each is fed readings (:meth:`Detector.feed`) and asked for a :class:`Verdict` at a time
(:meth:`Detector.verdict`): ``on=True`` when the alarm condition holds, ``False`` when its clear
condition holds, ``None`` in between (hysteresis) or without enough data. The two park-wide
conditions (quarantine rate, spool growth) are plain functions of their counts. Times are
nanoseconds since the epoch (UTC), durations given in seconds.
"""

from __future__ import annotations

import math
import statistics
import zoneinfo
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

__all__ = [
    "Detector",
    "NightBaseLoadDetector",
    "OfflineDetector",
    "RegisterResetDetector",
    "RegisterStuckDetector",
    "ThresholdDetector",
    "Verdict",
    "night_baseline",
    "night_windows",
    "quarantine_rate_verdict",
    "spool_growth_verdict",
]

_NS = 1_000_000_000


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
    hysteresis``: off. In between: unchanged. ``threshold`` and ``hysteresis`` are in the unit
    of ``field``, ``for_s`` in seconds."""

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
    the median gap of the last readings (``default_interval_s`` until there are three). Never
    less than ``min_after_s``. The verdict's value and threshold are the age of the last
    reading and the limit [s]."""

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
    """A cumulative register going down by more than ``tolerance`` (in the register's unit:
    reset, rollover, replaced meter): on at once, off ``clear_after_s`` [s] after the last
    decrease. The verdict's value and threshold are the register after and before."""

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

    def forget(self) -> None:
        """Forget the last decrease (after a manual clear): off until the next one."""
        self._event = None

    def verdict(self, now_ns: int) -> Verdict:
        if self._event is None:
            return Verdict(False) if self._prev else _UNKNOWN
        t, value, before = self._event
        return Verdict(now_ns - t < self.clear_after_ns, value, before)


class RegisterStuckDetector:
    """The register ``field`` unchanged for ``for_s`` [s] while ``power_field`` stays above
    ``min_power_kw`` [kW]: on. Off as soon as the register moves or the power drops. The
    verdict's value and threshold are the flat time and ``for_s`` [min]."""

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
    """[start_ns, end_ns) of the night hours [h, local] of the ``nights`` days before ``day``
    (local), newest first."""
    out = []
    for back in range(1, nights + 1):
        d = day - timedelta(days=back)
        start = datetime(d.year, d.month, d.day, tzinfo=tz) + timedelta(hours=start_h)
        end = datetime(d.year, d.month, d.day, tzinfo=tz) + timedelta(hours=end_h)
        out.append((int(start.timestamp()) * _NS, int(end.timestamp()) * _NS))
    return out


def night_baseline(night_means: Iterable[float], *, min_nights: int) -> float | None:
    """The normal night-time base load: the median of the previous nights' mean power (in their
    unit, kW), or None with fewer than ``min_nights`` finite nights of data."""
    means = [m for m in night_means if math.isfinite(m)]
    if len(means) < min_nights:
        return None
    return float(statistics.median(means))


class NightBaseLoadDetector:
    """During the park's night hours, the mean of ``field`` [kW] over the last ``window_s`` [s]
    above ``max(factor × baseline, baseline + min_excess_kw)``: on; below it or outside the
    night: off. ``baseline`` [kW] (:func:`night_baseline`) is set from outside; None: no
    verdict."""

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


def quarantine_rate_verdict(
    quarantined: int, stored: int, *, min_count: int, max_share: float
) -> Verdict:
    """On when at least ``min_count`` readings were quarantined and their share of all input
    (quarantined + stored, a fraction in [0, 1]) is above ``max_share``; value: that share."""
    share = quarantined / (quarantined + stored) if quarantined + stored else 0.0
    return Verdict(quarantined >= min_count and share > max_share, share, max_share)


def spool_growth_verdict(spool_bytes: float, before_bytes: float | None) -> Verdict:
    """The collector's spool [bytes] now against a window ago (None: no reading that old).
    On when it is non-empty and bigger; off when bigger is false or it is empty; None with
    nothing to compare a non-empty spool to."""
    growing = before_bytes is not None and spool_bytes > 0 and spool_bytes > before_bytes
    return Verdict(
        growing if before_bytes is not None or spool_bytes == 0 else None,
        spool_bytes,
        before_bytes if before_bytes is not None else 0.0,
    )
