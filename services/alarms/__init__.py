"""Alarms: the rules (:mod:`config.alarm_rules`), the detectors, the alarms as stored, and the
engine that raises, acknowledges and clears them. docs/alarms.md describes every kind.

- :mod:`services.alarms.detectors`: plain detectors fed one device's readings, no store;
- :mod:`services.alarms.records`: :class:`Alarm` and its mapping to and from the store;
- :mod:`services.alarms.engine`: :class:`AlarmEngine`, the periodic worker;
- :mod:`services.alarms.collector_metrics`: the collector's spool size from its ``/metrics``.
"""

from __future__ import annotations

from config.alarm_rules import (
    AlarmKind,
    DeviceSelector,
    Rule,
    RuleSet,
    Severity,
    default_rules_path,
    load_rules,
)
from services.alarms.collector_metrics import metrics_url_of
from services.alarms.detectors import (
    Detector,
    NightBaseLoadDetector,
    OfflineDetector,
    RegisterResetDetector,
    RegisterStuckDetector,
    ThresholdDetector,
    Verdict,
    night_baseline,
    night_windows,
)
from services.alarms.engine import AlarmConflictError, AlarmEngine
from services.alarms.records import ALARM, ALARM_BY, Alarm, AlarmState, describe

__all__ = [
    "ALARM",
    "ALARM_BY",
    "Alarm",
    "AlarmConflictError",
    "AlarmEngine",
    "AlarmKind",
    "AlarmState",
    "Detector",
    "DeviceSelector",
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
    "describe",
    "load_rules",
    "metrics_url_of",
    "night_baseline",
    "night_windows",
]
