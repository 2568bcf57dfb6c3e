"""The alarm engine's park-wide rules (quarantine rate, the collector's spool), the manual clear
of a register reset, and the stored form of an alarm, against the embedded store and a served
collector registry. (tests/api/test_alarms.py covers the per-device rules and the API.)"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client import start_http_server

from config.alarm_rules import AlarmKind, RuleSet, Severity
from config.registry import Registry, demo_registry_path, load_registry
from ingest.metrics import CollectorMetrics
from services.alarms import ALARM, ALARM_BY, Alarm, AlarmEngine, AlarmState, metrics_url_of
from services.alarms.records import actor_point, actors_from_rows, alarm_from_row
from store.base import TELEMETRY, Point, QuarantineRecord
from store.embedded import EmbeddedStore

S = 1_000_000_000
T0 = 1_764_000_000 * S
PARK = "wuhan-demo"


@pytest.fixture
def registry() -> Registry:
    return load_registry(demo_registry_path())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    s = EmbeddedStore(tmp_path / "s.sqlite3")
    yield s
    s.close()


def rules(*rule: dict[str, object]) -> RuleSet:
    return RuleSet.model_validate({"rules": list(rule)})


def test_quarantine_rate_raised_then_cleared(store: EmbeddedStore, registry: Registry) -> None:
    store.write(
        [
            Point(TELEMETRY, {"park": PARK, "device": "tower-a-f03"}, {"power_kw": 80.0}, t)
            for t in range(T0 - 100 * S, T0, S)
        ]
    )
    store.write_quarantine(
        [
            QuarantineRecord(T0 - 60 * S, "unknown_device", "", "t", "{}", park=PARK)
            for _ in range(30)
        ]
    )
    engine = AlarmEngine(
        store,
        registry,
        rules(
            {
                "id": "quarantine",
                "kind": "quarantine_rate",
                "window_s": 600,
                "above": 0.05,
                "min_count": 20,
            }
        ),
    )
    (raised,) = engine.step(T0)
    assert (raised.id, raised.device, raised.state) == (
        f"quarantine~-~{T0 // 10**6}",
        None,
        AlarmState.RAISED,
    )
    assert raised.value == pytest.approx(30 / 130, rel=1e-12)  # 30 quarantined, 100 stored
    assert raised.threshold == 0.05
    assert raised.message == f"park {PARK}: 23.1 % of input quarantined (limit 5 %)"
    (cleared,) = engine.step(T0 + 700 * S)  # the records are older than the window now
    assert (cleared.id, cleared.state) == (raised.id, AlarmState.CLEARED)


@pytest.fixture
def collector_metrics() -> Iterator[tuple[CollectorMetrics, str]]:
    metrics = CollectorMetrics()
    server, thread = start_http_server(0, addr="127.0.0.1", registry=metrics.registry)
    url = metrics_url_of("127.0.0.1", server.server_port)
    assert url is not None
    yield metrics, url
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_spool_growing_raised_then_cleared(
    store: EmbeddedStore,
    registry: Registry,
    collector_metrics: tuple[CollectorMetrics, str],
) -> None:
    metrics, url = collector_metrics
    engine = AlarmEngine(
        store,
        registry,
        rules({"id": "spool", "kind": "spool_growing", "severity": "major", "window_s": 300}),
        metrics_url=url,
    )
    assert engine.step(T0) == []  # empty spool
    metrics.spool_bytes.set(1000)
    assert engine.step(T0 + 100 * S) == []  # nothing 300 s old to compare with
    metrics.spool_bytes.set(5000)
    (raised,) = engine.step(T0 + 400 * S)
    assert (raised.park, raised.kind, raised.severity) == (
        PARK,
        AlarmKind.SPOOL_GROWING,
        Severity.MAJOR,
    )
    assert (raised.value, raised.threshold) == (5000.0, 1000.0)  # now, and 300 s or more ago
    assert engine.step(T0 + 500 * S) == []  # still growing against T0 + 100 s
    (cleared,) = engine.step(T0 + 800 * S)  # 5000 bytes, as 300 s ago
    assert (cleared.id, cleared.state) == (raised.id, AlarmState.CLEARED)


def test_manual_clear_of_a_register_reset_forgets_it(
    store: EmbeddedStore, registry: Registry
) -> None:
    for i, kwh in enumerate([1000.0, 1001.0, 2.0]):
        store.write(
            [
                Point(
                    TELEMETRY,
                    {"park": PARK, "device": "tower-a-f03"},
                    {"energy_kwh": kwh, "power_kw": 60.0},
                    T0 + i * 60 * S,
                )
            ]
        )
    engine = AlarmEngine(
        store,
        registry,
        rules({"id": "reset", "kind": "register_reset", "devices": {"ids": ["tower-a-f03"]}}),
        warmup_s=3600,
    )
    (raised,) = engine.step(T0 + 121 * S)
    assert (raised.device, raised.value, raised.threshold) == ("tower-a-f03", 2.0, 1001.0)
    cleared = engine.clear(PARK, raised.id, by="ops", now_ms=(T0 + 130 * S) // 10**6)
    assert (cleared.state, cleared.cleared_by) == (AlarmState.CLEARED, "ops")
    assert engine.step(T0 + 140 * S) == []  # not raised again from the same decrease


def test_an_alarm_and_who_acted_survive_the_store(store: EmbeddedStore) -> None:
    alarm = Alarm(
        park=PARK,
        rule="floor-demand",
        device="tower-a-f03",
        kind=AlarmKind.THRESHOLD,
        severity=Severity.CRITICAL,
        value=150.5,
        threshold=100.0,
        raised_ms=T0 // 10**6,
        state=AlarmState.ACKNOWLEDGED,
        acknowledged_ms=T0 // 10**6 + 5000,
        acknowledged_by="ops",
    )
    park_wide = Alarm(
        park=PARK,
        rule="spool",
        device=None,
        kind=AlarmKind.SPOOL_GROWING,
        severity=Severity.MAJOR,
        value=math.nan,
        threshold=0.0,
        raised_ms=T0 // 10**6 + 1,
        state=AlarmState.CLEARED,
        cleared_ms=T0 // 10**6 + 9000,
    )
    store.write([alarm.to_point(), park_wide.to_point(), actor_point(alarm, "ack", "ops")])

    rows = store.scan(PARK, measurement=ALARM, start_ns=0, end_ns=T0 + S)
    back = {a.id: a for row in rows if (a := alarm_from_row(PARK, row)) is not None}
    assert back[alarm.id] == replace(alarm, acknowledged_by=None)  # that is in alarm_by
    assert back["spool~-~" + str(T0 // 10**6 + 1)].value == -1.0  # no value is stored as -1
    assert back["spool~-~" + str(T0 // 10**6 + 1)].device is None
    who = store.scan(PARK, measurement=ALARM_BY, start_ns=0, end_ns=T0 + S)
    assert actors_from_rows(who) == {(alarm.id, "ack"): "ops"}
