"""Onboarding end to end: a Sparkplug B edge node and a flat-JSON gateway → real Mosquitto →
`smartpark collect` (configured by SMARTPARK_MAPPINGS only) → real InfluxDB."""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from api.main import create_app
from config.alarm_rules import RuleSet
from config.registry import load_registry
from config.settings import Settings
from ingest.mapping import shipped_mappings_path
from ingest.sparkplug import OFFLINE_FIELD, REBIRTH_METRIC, DataType, Payload, new_payload
from services.alarms import AlarmEngine
from store import InfluxStore
from store.base import SeriesQuery
from tests.e2e.helpers import SmartparkProcess, forget_session, publish_all, wait_for
from tests.support.servers import InfluxService, MosquittoService

pytestmark = [pytest.mark.mosquitto, pytest.mark.influxdb, pytest.mark.slow]

PARK = "wuhan-demo"


@dataclass
class Onboarding:
    collector: SmartparkProcess
    store: InfluxStore
    mqtt_port: int
    group: str  # this test's Sparkplug group, mapped to PARK
    settings: Settings  # for an API on the same database


@pytest.fixture
def onboarding(
    mosquitto: MosquittoService, influxd: InfluxService, tmp_path: Path
) -> Iterator[Onboarding]:
    database = f"onb_{uuid.uuid4().hex[:10]}"
    group = f"plant-{uuid.uuid4().hex[:6]}"  # a group of its own: no other test's node in it
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    shutil.copy(shipped_mappings_path() / "flat.yaml", mappings / "flat.yaml")
    (mappings / "sparkplug.yaml").write_text(
        f"""
sparkplug:
  groups: {{{group}: {PARK}}}
  metrics:
    Power/Active: {{field: power, unit: W}}
"""
    )
    env = {
        "SMARTPARK_MQTT_URL": mosquitto.url,
        "SMARTPARK_STORE_URL": influxd.store_url(database),
        "SMARTPARK_CLIENT_ID": f"collector-{database}",
        "SMARTPARK_DATA_DIR": str(tmp_path / "data"),
        "SMARTPARK_BATCH_INTERVAL_S": "0.2",
        "SMARTPARK_METRICS_PORT": "0",
        "SMARTPARK_LEDGER_FOLLOW": "false",
        "SMARTPARK_MAPPINGS": str(mappings),
    }
    collector = SmartparkProcess(["collect"], env=env, log_path=tmp_path / "collect.log")
    try:
        wait_for(
            lambda: "subscribed to" in collector.output() or not collector.alive(),
            timeout_s=20,
            what="the collector to subscribe",
        )
        assert collector.alive(), collector.output()
        store = InfluxStore(influxd.store_url(database))
        settings = Settings(  # the API's own alarm engine off: the test runs one of its own
            store_url=influxd.store_url(database), data_dir=tmp_path / "data", alarms=False
        )
        yield Onboarding(collector, store, mosquitto.port, group, settings)
        store.close()
    finally:
        collector.kill()
        forget_session(mosquitto.port, env["SMARTPARK_CLIENT_ID"])
        influxd.drop_database(database)


class CommandWatcher:
    """A paho client subscribed to the group's NCMD topics: what the collector asks of nodes."""

    def __init__(self, port: int, group: str) -> None:
        self.seen: list[tuple[str, bytes]] = []
        subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self.client.on_message = lambda _c, _u, msg: self.seen.append(
            (msg.topic, bytes(msg.payload))
        )
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_connect = lambda c, *_: c.subscribe(f"spBv1.0/{group}/NCMD/#", qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert subscribed.wait(10), "the watcher could not subscribe"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _values(store: InfluxStore, device: str, field: str, start_ns: int) -> list[tuple[int, float]]:
    rows = store.series(SeriesQuery(PARK, device, field, start_ns, time.time_ns() + 10**9))
    return [(r.time_ns, r.value) for r in rows]


def test_sparkplug_node_with_a_sequence_gap_and_a_death(onboarding):
    store, group = onboarding.store, onboarding.group
    t0 = time.time_ns() // 10**6 - 30_000  # ms, in the recent past
    node = f"spBv1.0/{group}/{{}}/edge-7"
    device = f"spBv1.0/{group}/{{}}/edge-7/tower-a-f05"
    energy, power = 1, 2  # the aliases the DBIRTH declares
    messages = [
        (node.format("NBIRTH"), new_payload([("bdSeq", None, DataType.UINT64, 0)], seq=0)),
        (
            device.format("DBIRTH"),
            new_payload(
                [
                    ("energy", energy, DataType.DOUBLE, 1000.0),
                    ("Power/Active", power, DataType.INT32, 42_000),  # W, mapped to power_kw
                ],
                timestamp_ms=t0,
                seq=1,
            ),
        ),
        (
            device.format("DDATA"),
            new_payload(
                [(None, energy, DataType.DOUBLE, 1000.5), (None, power, DataType.INT32, -1500)],
                timestamp_ms=t0 + 1000,
                seq=2,
            ),
        ),
        # seq 3 and 4 never sent: the collector must ask the node for a rebirth
        (
            device.format("DDATA"),
            new_payload([(None, energy, DataType.DOUBLE, 1002.0)], timestamp_ms=t0 + 4000, seq=5),
        ),
        (device.format("DDEATH"), new_payload([], timestamp_ms=t0 + 5000, seq=6)),
    ]
    watcher = CommandWatcher(onboarding.mqtt_port, group)
    try:
        publish_all(onboarding.mqtt_port, messages)
        wait_for(lambda: watcher.seen, timeout_s=15, what="a rebirth request on the broker")
        time.sleep(0.5)  # a second request would have come with the same message
        ((topic, payload),) = watcher.seen
    finally:
        watcher.close()
    assert topic == f"spBv1.0/{group}/NCMD/edge-7"
    (metric,) = Payload.FromString(payload).metrics
    assert (metric.name, metric.datatype, metric.boolean_value) == (
        REBIRTH_METRIC,
        DataType.BOOLEAN,
        True,
    )

    start_ns = (t0 - 1000) * 10**6

    def three_readings() -> list[tuple[int, float]] | None:
        rows = _values(store, "tower-a-f05", "energy_kwh", start_ns)
        return rows if len(rows) >= 3 else None

    stored = wait_for(three_readings, timeout_s=20, what="the three energy readings in InfluxDB")
    assert stored == [
        (t0 * 10**6, 1000.0),
        ((t0 + 1000) * 10**6, 1000.5),
        ((t0 + 4000) * 10**6, 1002.0),
    ]
    assert _values(store, "tower-a-f05", "power_kw", start_ns) == [
        (t0 * 10**6, 42.0),
        ((t0 + 1000) * 10**6, -1.5),
    ]
    # DEATH shown as offline: the newest reading says so, /latest shows it, an alarm rule on it
    death_ns = (t0 + 5000) * 10**6
    newest = wait_for(
        lambda: {r.device: r for r in store.latest(PARK)}.get("tower-a-f05"),
        timeout_s=10,
        what="the device's newest reading",
    )
    assert (newest.time_ns, dict(newest.fields)) == (death_ns, {OFFLINE_FIELD: 1.0})
    assert _values(store, "tower-a-f05", OFFLINE_FIELD, start_ns) == [
        (t0 * 10**6, 0.0),  # the DBIRTH
        (death_ns, 1.0),  # the DDEATH
    ]
    with TestClient(create_app(settings=onboarding.settings, registry=load_registry())) as api:
        latest = api.get(f"/api/v1/parks/{PARK}/latest").json()
    (shown,) = [r for r in latest["readings"] if r["device"] == "tower-a-f05"]
    assert shown["fields"] == {OFFLINE_FIELD: 1.0}
    assert shown["time_ms"] == t0 + 5000
    # the offline rule counts from the DEATH: no reading since, for longer than its limit
    rule = {"id": "offline", "kind": "offline", "interval_s": 1, "intervals": 5, "min_after_s": 5}
    engine = AlarmEngine(
        store, load_registry(), RuleSet.model_validate({"rules": [rule]}), warmup_s=120
    )
    assert [a for a in engine.step(death_ns + 4 * 10**9) if a.device == "tower-a-f05"] == []
    raised = [a for a in engine.step(death_ns + 6 * 10**9) if a.device == "tower-a-f05"]
    assert [(a.rule, a.state.value, a.value) for a in raised] == [("offline", "raised", 6.0)]
    assert "asked for a rebirth" in onboarding.collector.output()


def test_flat_json_mapping_end_to_end(onboarding):
    store = onboarding.store
    now = datetime.now(UTC).replace(microsecond=0)
    iso = now.isoformat()
    good = [
        {"meter": "tower-a-f07", "time": iso, "kwh": 321.5, "kw": 12.25},
        {"meter": "tower-a-f08", "time": iso, "kwh": 77.0},
    ]
    bad = {"time": iso, "kwh": 1.0}  # no meter
    publish_all(
        onboarding.mqtt_port,
        [("gw/e2e/meters", orjson.dumps(good)), ("gw/e2e/meters", orjson.dumps(bad))],
    )
    start_ns = int(now.timestamp()) * 10**9 - 10**9
    wait_for(
        lambda: _values(store, "tower-a-f08", "energy_kwh", start_ns),
        timeout_s=20,
        what="the flat-JSON readings in InfluxDB",
    )
    time_ns = int(now.timestamp()) * 10**9
    assert _values(store, "tower-a-f07", "energy_kwh", start_ns) == [(time_ns, 321.5)]
    assert _values(store, "tower-a-f07", "power_kw", start_ns) == [(time_ns, 12.25)]
    assert _values(store, "tower-a-f08", "energy_kwh", start_ns) == [(time_ns, 77.0)]
    record = wait_for(
        lambda: [r for r in store.quarantined() if r.topic == "gw/e2e/meters"],
        timeout_s=10,
        what="the bad message in quarantine",
    )
    (only,) = record
    assert only.reason == "mapping_path"
    assert only.detail == "mapping 'flat-json': device $.meter: not found"
    assert only.extra == {"mapping": "flat-json"}


def test_a_bad_mapping_file_stops_the_collector_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "mappings:\n  - id: m\n    topic: a/#/b\n    park: wuhan-demo\n    device: {topic: 1}\n"
        "    time: {format: arrival}\n    values: [{path: $.kw, field: power}]\n"
    )
    env = {
        "SMARTPARK_MQTT_URL": "mqtt://127.0.0.1:9",  # never reached: the file is checked first
        "SMARTPARK_DATA_DIR": str(tmp_path / "data"),
        "SMARTPARK_METRICS_PORT": "0",
        "SMARTPARK_MAPPINGS": str(bad),
    }
    collector = SmartparkProcess(["collect"], env=env, log_path=tmp_path / "collect.log")
    try:
        assert collector.proc.wait(timeout=30) == 2
    finally:
        collector.kill()
    assert f"{bad}:3" in collector.output()
    assert "'#' must be the last level" in collector.output()
