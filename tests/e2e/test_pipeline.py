"""Real parts end to end: paho publisher → Mosquitto → `smartpark collect` → InfluxDB → API.

The collector runs as a subprocess, configured only through SMARTPARK_* variables, exactly as an
operator would run it.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient

from analytics.intervals import Quality
from api.main import create_app
from config.registry import load_registry
from config.settings import Settings
from services.ledger import device_ledger, stored_ledger
from store import InfluxStore
from tests.e2e.helpers import SmartparkProcess, forget_session, publish_all, wait_for
from tests.ingest.corpus import load_cases
from tests.support.servers import InfluxService, MosquittoService

pytestmark = [pytest.mark.mosquitto, pytest.mark.influxdb, pytest.mark.slow]

PARK = "wuhan-demo"
TOPIC = "parks/wuhan-demo/devices/{}/telemetry"


@dataclass
class Pipeline:
    collector: SmartparkProcess
    store: InfluxStore
    settings: Settings  # for an API on the same database
    mqtt_port: int


@pytest.fixture
def pipeline(mosquitto: MosquittoService, influxd: InfluxService, tmp_path) -> Iterator[Pipeline]:
    database = f"e2e_{uuid.uuid4().hex[:10]}"
    env = {
        "SMARTPARK_MQTT_URL": mosquitto.url,
        "SMARTPARK_STORE_URL": influxd.store_url(database),
        "SMARTPARK_CLIENT_ID": f"collector-{database}",
        "SMARTPARK_DATA_DIR": str(tmp_path / "data"),
        "SMARTPARK_BATCH_INTERVAL_S": "0.2",
        "SMARTPARK_LEDGER_POLL_S": "0.2",
    }
    collector = SmartparkProcess(["collect"], env=env, log_path=tmp_path / "collect.log")
    try:
        wait_for(
            lambda: "subscribed to" in collector.output() or not collector.alive(),
            timeout_s=15,
            what="the collector to subscribe",
        )
        assert collector.alive(), collector.output()
        store = InfluxStore(influxd.store_url(database))
        settings = Settings(store_url=influxd.store_url(database), data_dir=tmp_path / "data")
        yield Pipeline(collector, store, settings, mosquitto.port)
        store.close()
    finally:
        collector.kill()
        forget_session(mosquitto.port, env["SMARTPARK_CLIENT_ID"])  # or it queues later tests' data
        influxd.drop_database(database)


def test_readings_come_back_through_the_api_intact(pipeline):
    collector, store, settings = pipeline.collector, pipeline.store, pipeline.settings
    now_ms = time.time_ns() // 1_000_000 - 60_000
    devices = ["tower-a-f01", "tower-a-f02", "plant-1-main", "pv-plant-1-a"]
    sent: dict[str, list[dict[str, float | int]]] = {d: [] for d in devices}
    messages = []
    for i in range(50):
        for j, device in enumerate(devices):
            reading = {
                "ts": now_ms + i * 1000,
                "energy": 1000.0 + i * 0.25 + j,
                "power": 10.5 + i + j / 8,
            }
            sent[device].append(reading)
            messages.append((TOPIC.format(device), orjson.dumps(reading)))
    # plant-2-main reports in W and Wh: it must come back in kW and kWh
    messages.append(
        (
            TOPIC.format("plant-2-main"),
            orjson.dumps({"ts": now_ms, "energy": 2_500_000, "power": 61_250}),
        )
    )
    publish_all(pipeline.mqtt_port, messages)

    wait_for(lambda: store.count(PARK) == 201, timeout_s=30, what="201 points in InfluxDB")

    with TestClient(create_app(settings=settings, registry=load_registry())) as api:
        latest = api.get(f"/api/v1/parks/{PARK}/latest").json()
        by_device = {r["device"]: r for r in latest["readings"]}
        for device in devices:
            last = sent[device][-1]
            assert by_device[device]["time_ms"] == last["ts"]
            assert by_device[device]["fields"] == {
                "energy_kwh": last["energy"],
                "power_kw": last["power"],
            }
        assert by_device["plant-2-main"]["fields"] == {"energy_kwh": 2500.0, "power_kw": 61.25}

        raw = api.get(
            f"/api/v1/parks/{PARK}/series",
            params={
                "device": "tower-a-f02",
                "field": "power_kw",
                "start": now_ms,
                "end": now_ms + 60_000,
            },
        ).json()
        assert [(p["time_ms"], p["value"]) for p in raw["points"]] == [
            (r["ts"], r["power"]) for r in sent["tower-a-f02"]
        ]
        avg = api.get(
            f"/api/v1/parks/{PARK}/series",
            params={
                "device": "tower-a-f01",
                "field": "energy_kwh",
                "start": now_ms,
                "end": now_ms + 60_000,
                "every": "10s",
                "agg": "max",
            },
        ).json()
        assert len(avg["points"]) in (5, 6)  # 50 s of readings in epoch-aligned 10 s buckets
        assert max(p["value"] for p in avg["points"]) == sent["tower-a-f01"][-1]["energy"]

    assert collector.interrupt(timeout_s=10) == 0
    assert "Traceback" not in collector.output()


def test_the_stored_ledger_follows_the_stream_and_late_data(pipeline):
    """The collector's ledger follower keeps the `ledger` series equal to a fresh computation,
    also after a late reading lands in a gap (it rewrites exactly that gap)."""
    store = pipeline.store
    park = load_registry().parks[PARK]
    device = park.device("tower-a-f03")
    assert device is not None
    step_ms = 15 * 60_000
    t0_ms = (time.time_ns() // 1_000_000 - 4 * 3_600_000) // step_ms * step_ms
    # a reading a minute for an hour, then nothing for an hour, then another half hour
    minutes = [*range(0, 61), *range(120, 151)]
    publish_all(
        pipeline.mqtt_port,
        [
            (TOPIC.format(device.id), orjson.dumps({"ts": t0_ms + m * 60_000, "energy": 2.0 * m}))
            for m in minutes
        ],
    )
    window = {"start_ns": t0_ms * 10**6, "end_ns": (t0_ms + 150 * 60_000) * 10**6}

    def ledgers_agree() -> bool:
        stored = stored_ledger(store, PARK, device, **window)
        fresh = device_ledger(store, PARK, device, **window)
        return (
            len(stored) == len(fresh) == 1
            and stored[0].ledger.quality.tolist() == fresh[0].ledger.quality.tolist()
            and np.allclose(stored[0].ledger.energy, fresh[0].ledger.energy, equal_nan=True)
        )

    wait_for(ledgers_agree, timeout_s=30, what="the stored ledger to follow the stream")
    (gap,) = stored_ledger(store, PARK, device, **window)
    assert gap.ledger.energy[4:8].tolist() == [30.0] * 4  # 01:00-02:00 spread over the gap
    assert set(gap.ledger.quality[4:8].tolist()) == {int(Quality.INTERPOLATED)}

    # a late reading at 01:30 says the first half of the gap used 100 kWh, the second 20
    publish_all(
        pipeline.mqtt_port,
        [(TOPIC.format(device.id), orjson.dumps({"ts": t0_ms + 90 * 60_000, "energy": 220.0}))],
    )
    wait_for(
        lambda: stored_ledger(store, PARK, device, **window)[0].ledger.energy[4] == 50.0,
        timeout_s=30,
        what="the late reading to reach the stored ledger",
    )
    wait_for(ledgers_agree, timeout_s=30, what="the stored ledger to agree again")
    (after,) = stored_ledger(store, PARK, device, **window)
    assert after.ledger.energy[4:8].tolist() == [50.0, 50.0, 10.0, 10.0]
    assert after.ledger.energy.tolist()[:4] == gap.ledger.energy.tolist()[:4]  # untouched


def test_bad_payloads_are_kept_aside_and_good_ones_stored(pipeline):
    collector, store, settings = pipeline.collector, pipeline.store, pipeline.settings
    now_ms = time.time_ns() // 1_000_000
    cases = [c for c in load_cases(now_ms) if c.via_broker]
    publish_all(pipeline.mqtt_port, [(c.topic, c.payload) for c in cases])
    expected_stored = sum(c.stored for c in cases)
    expected_reasons = Counter(r for c in cases for r in c.reasons)

    wait_for(
        lambda: len(store.quarantined(limit=1000)) >= sum(expected_reasons.values()),
        timeout_s=30,
        what="every bad reading in quarantine",
    )
    wait_for(lambda: store.count(PARK) == expected_stored, timeout_s=30, what="the good readings")
    records = store.quarantined(limit=1000)
    assert len(records) == sum(expected_reasons.values())
    assert Counter(r.reason for r in records) == expected_reasons
    for record in records:
        assert record.detail
        assert record.topic
        assert record.received_ns > 0
    assert collector.alive(), "the collector must survive bad input"

    # good input after the bad still flows
    publish_all(
        pipeline.mqtt_port,
        [(TOPIC.format("gas-boiler"), orjson.dumps({"ts": now_ms, "volume": 12.5, "flow": 3.0}))],
    )
    wait_for(
        lambda: store.count(PARK, device="gas-boiler") == 1, timeout_s=15, what="the gas reading"
    )
    with TestClient(create_app(settings=settings, registry=load_registry())) as api:
        listed = api.get("/api/v1/quarantine", params={"park": PARK}).json()["records"]
        assert {r["reason"] for r in listed} == set(expected_reasons) - {"unknown_park"}
    assert collector.interrupt(timeout_s=10) == 0
