"""Provisioning without a restart, end to end: a device unknown to the registry publishes to real
Mosquitto, `smartpark collect` quarantines it and the API lists it as pending; approved through the
API, its next readings land in real InfluxDB within one batch interval plus the registry poll,
with the same collector process. A malformed approval is refused with its field and changes
nothing."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from config.registry import REGISTRY_POLL_S, approved_dir, approved_file
from config.settings import Settings
from store import InfluxStore
from store.base import SeriesQuery
from tests.e2e.helpers import SmartparkProcess, forget_session, publish_all, wait_for
from tests.provisioning.park import NEW_METER, PARK, write_registry
from tests.support.servers import InfluxService, MosquittoService

pytestmark = [pytest.mark.mosquitto, pytest.mark.influxdb, pytest.mark.slow]

BATCH_INTERVAL_S = 0.2
SLACK_S = 3.0  # a loaded CI machine: process scheduling, the InfluxDB write and our own polling
DEVICE = NEW_METER["id"]
TOPIC = f"parks/{PARK}/devices/{DEVICE}/telemetry"


@dataclass
class Running:
    collector: SmartparkProcess
    store: InfluxStore
    mqtt_port: int
    settings: Settings


@pytest.fixture
def running(
    mosquitto: MosquittoService, influxd: InfluxService, tmp_path: Path
) -> Iterator[Running]:
    database = f"prov_{uuid.uuid4().hex[:10]}"
    registry = write_registry(tmp_path / "registry")
    env = {
        "SMARTPARK_MQTT_URL": mosquitto.url,
        "SMARTPARK_STORE_URL": influxd.store_url(database),
        "SMARTPARK_REGISTRY": str(registry),
        "SMARTPARK_CLIENT_ID": f"collector-{database}",
        "SMARTPARK_DATA_DIR": str(tmp_path / "data"),
        "SMARTPARK_BATCH_INTERVAL_S": str(BATCH_INTERVAL_S),
        "SMARTPARK_LEDGER_FOLLOW": "false",
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
        settings = Settings(
            store_url=influxd.store_url(database),
            registry=registry,
            data_dir=tmp_path / "data",
            alarms=False,
        )
        yield Running(collector, store, mosquitto.port, settings)
        store.close()
    finally:
        collector.kill()
        forget_session(mosquitto.port, env["SMARTPARK_CLIENT_ID"])
        influxd.drop_database(database)


def _reading(power_w: float) -> tuple[str, bytes]:
    return TOPIC, orjson.dumps({"ts": time.time_ns() // 10**6, "power": power_w})


def _stored(store: InfluxStore, start_ns: int) -> list[tuple[int, float]]:
    rows = store.series(SeriesQuery(PARK, DEVICE, "power_kw", start_ns, time.time_ns() + 10**9))
    return [(r.time_ns, r.value) for r in rows]


def test_an_approved_device_is_stored_without_a_collector_restart(running):
    store, port = running.store, running.mqtt_port
    pid = running.collector.pid
    start_ns = time.time_ns() - 10**9
    before = _reading(1500.0)
    publish_all(port, [before])
    wait_for(
        lambda: [r for r in store.quarantined(park=PARK) if r.reason == "unknown_device"],
        timeout_s=15,
        what="the unknown device's reading in quarantine",
    )
    app = create_app(settings=running.settings, auth=None)
    with TestClient(app) as api:
        url = f"/api/v1/parks/{PARK}/devices"
        [pending] = api.get(f"{url}/pending").json()["devices"]
        assert pending["device"] == DEVICE
        assert pending["topic"] == TOPIC
        assert orjson.loads(pending["first_payload"])["power"] == 1500.0

        # malformed: refused with the field named, nothing written, readings still quarantined
        bad = api.post(url, json=NEW_METER | {"units": {"power": "furlongs"}})
        assert bad.status_code == 422
        assert ["body", "units.power"] in [e["loc"] for e in bad.json()["errors"]]
        assert not approved_file(approved_dir(running.settings.data_dir), PARK).exists()
        duplicate = api.post(url, json=NEW_METER | {"id": "rs-grid"})
        assert duplicate.status_code == 422
        assert ["body", "id"] in [e["loc"] for e in duplicate.json()["errors"]]

        approved = api.post(url, json=NEW_METER)
        assert approved.status_code == 201, approved.text
        approved_at = time.monotonic()
        # a reading every batch interval until one is stored: 1500 W x 40 (CT) = 60 kW
        stored: list[tuple[int, float]] = []
        while not stored and time.monotonic() - approved_at < REGISTRY_POLL_S + 30:
            publish_all(port, [_reading(1500.0)])
            time.sleep(BATCH_INTERVAL_S)
            stored = _stored(store, start_ns)
        took_s = time.monotonic() - approved_at
        assert stored, running.collector.tail()
        assert stored[0][1] == pytest.approx(60.0)
        assert took_s <= REGISTRY_POLL_S + BATCH_INTERVAL_S + SLACK_S, took_s
        assert api.get(f"{url}/pending").json()["devices"] == []
        assert api.get(f"{url}/{DEVICE}").json()["tenant"] == "delta"
    assert running.collector.alive()
    assert running.collector.pid == pid
    assert "registry reloaded" in running.collector.output()
    # the reading from before the approval stays in quarantine: only later ones are stored
    before_ns = orjson.loads(before[1])["ts"] * 10**6
    assert all(t > before_ns for t, _ in _stored(store, start_ns))
