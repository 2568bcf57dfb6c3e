"""The collector in-process against a real Mosquitto, with a store that can be switched off.

The store is the embedded one behind a switch (a fake is fine here: the real-InfluxDB outage is
proven in tests/e2e/test_reliability.py); the broker is real.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import orjson
import pytest

from config.errors import StoreUnavailableError
from config.registry import load_registry
from config.settings import Settings
from ingest.collector import Collector
from store import EmbeddedStore, Point, QuarantineRecord
from tests.e2e.helpers import forget_session, publish_all
from tests.support.servers import MosquittoService
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.mosquitto]

TOPIC = "parks/wuhan-demo/devices/{}/telemetry"


class SwitchableStore(EmbeddedStore):
    """The embedded store, made unavailable while ``down`` is True."""

    down = False
    refused = 0  # writes refused while down

    def write(self, points: Sequence[Point]) -> None:
        if self.down:
            self.refused += 1
            raise StoreUnavailableError("switched off by the test")
        super().write(points)

    def write_quarantine(self, records: Sequence[QuarantineRecord]) -> None:
        if self.down:
            raise StoreUnavailableError("switched off by the test")
        super().write_quarantine(records)


@pytest.fixture
def mosquitto(tmp_path) -> Iterator[MosquittoService]:
    """A broker of this test alone: the tests count every message acknowledged, and the session's
    broker may hold retained messages (device status, last wills) left by earlier tests."""
    broker = MosquittoService(tmp_path / "broker")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def rig(mosquitto: MosquittoService, tmp_path) -> Iterator[tuple[Collector, SwitchableStore]]:
    store = SwitchableStore(tmp_path / "store.sqlite3")
    settings = Settings(
        mqtt_url=mosquitto.url,
        data_dir=tmp_path,
        client_id=f"test-{tmp_path.name}",
        batch_interval_s=0.05,
        metrics_port=0,
        spool_max_bytes=200_000,
    )
    collector = Collector(settings=settings, registry=load_registry(), store=store)
    collector.start()
    yield collector, store
    collector.stop(timeout_s=5)
    store.close()
    forget_session(mosquitto.port, settings.client_id)


def readings(n: int, device: str = "tower-a-f01", t0_ms: int | None = None):
    t0_ms = t0_ms or time.time_ns() // 1_000_000 - 100_000
    return [
        (TOPIC.format(device), orjson.dumps({"ts": t0_ms + i, "power": float(i)})) for i in range(n)
    ]


def test_outage_spools_acks_and_replays_in_order(rig, mosquitto):
    collector, store = rig
    store.down = True
    publish_all(mosquitto.port, readings(300))
    wait_until(lambda: collector.stats.messages_acked == 300, timeout_s=15, what="acks while down")
    assert collector.spool.readings == 300
    assert store.count("wuhan-demo") == 0
    store.down = False
    wait_until(lambda: store.count("wuhan-demo") == 300, timeout_s=30, what="the replay")
    wait_until(lambda: len(collector.spool) == 0, timeout_s=5, what="an empty spool")
    wait_until(  # the gauge follows the spool a moment after the last batch is removed
        lambda: (
            collector.metrics.registry.get_sample_value("smartpark_collector_spool_readings") == 0
        ),
        timeout_s=5,
        what="the spool gauge at 0",
    )


def test_full_spool_stops_acknowledging_and_loses_nothing(rig, mosquitto):
    collector, store = rig
    store.down = True
    publish_all(mosquitto.port, readings(3000, device="tower-a-f02"))
    wait_until(lambda: collector.spool_full, timeout_s=15, what="the spool-full alarm")
    acked, refused = collector.stats.messages_acked, store.refused
    # the collector lives on (it retried the store again) with messages it holds unacknowledged
    wait_until(
        lambda: store.refused > refused and collector.stats.messages_received > acked,
        timeout_s=15,
        what="another store retry while the spool is full",
    )
    assert collector.spool_full
    assert collector.stats.messages_acked == acked < 3000  # nothing more acknowledged
    store.down = False
    wait_until(
        lambda: store.count("wuhan-demo", device="tower-a-f02") == 3000,
        timeout_s=60,
        what="every reading once the store is back",
    )
    wait_until(lambda: collector.stats.messages_acked == 3000, timeout_s=10, what="all acks")
    assert not collector.spool_full


def test_spool_survives_a_restart(mosquitto, tmp_path):
    store = SwitchableStore(tmp_path / "store.sqlite3")
    store.down = True
    settings = Settings(
        mqtt_url=mosquitto.url,
        data_dir=tmp_path,
        client_id=f"r-{tmp_path.name}",
        batch_interval_s=0.05,
        metrics_port=0,
    )
    first = Collector(settings=settings, registry=load_registry(), store=store)
    first.start()
    try:
        publish_all(mosquitto.port, readings(50, device="tower-a-f03"))
        wait_until(lambda: first.stats.messages_acked == 50, timeout_s=15, what="spooled acks")
    finally:
        first.stop(timeout_s=5)
    store.down = False
    second = Collector(settings=settings, registry=load_registry(), store=store)
    assert second.spool.readings == 50
    second.start()
    try:
        wait_until(
            lambda: store.count("wuhan-demo", device="tower-a-f03") == 50,
            timeout_s=15,
            what="the replay after restart",
        )
    finally:
        second.stop(timeout_s=5)
        store.close()
        forget_session(mosquitto.port, settings.client_id)


def test_a_batch_s_acknowledgements_reach_the_broker_in_one_write(mosquitto, tmp_path, monkeypatch):
    # the broker sends a client at most 20 unacknowledged messages (mosquitto's default
    # max_inflight_messages): 2,000 arrive only if the acknowledgements do, and a second life of
    # the same session gets nothing again
    import ingest.collector as module

    sizes: list[int] = []
    real = module.ack_all

    def spy(client, mids):  # type: ignore[no-untyped-def]
        sizes.append(len(mids))
        real(client, mids)

    monkeypatch.setattr(module, "ack_all", spy)
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    settings = Settings(
        mqtt_url=mosquitto.url,
        data_dir=tmp_path,
        client_id=f"acks-{tmp_path.name}",
        batch_interval_s=0.2,
        metrics_port=0,
    )
    first = Collector(settings=settings, registry=load_registry(), store=store)
    first.start()
    try:
        publish_all(mosquitto.port, readings(2000, device="tower-a-f04"))
        wait_until(lambda: first.stats.messages_acked == 2000, timeout_s=30, what="2,000 acks")
        assert store.count("wuhan-demo", device="tower-a-f04") == 2000
    finally:
        first.stop(timeout_s=5)
    assert sum(sizes) == 2000
    assert max(sizes) > 1  # acknowledged a batch at a time
    second = Collector(settings=settings, registry=load_registry(), store=store)
    second.start()
    try:
        time.sleep(1.0)
        assert second.stats.messages_received == 0  # the broker had every acknowledgement
    finally:
        second.stop(timeout_s=5)
        store.close()
        forget_session(mosquitto.port, settings.client_id)


def test_acknowledgements_fall_back_to_one_by_one_without_paho_s_packet_queue():
    from ingest.collector import ack_all

    class Client:  # a paho without the private queue ack_all writes to
        def __init__(self) -> None:
            self.acked: list[tuple[int, int]] = []

        def ack(self, mid: int, qos: int) -> None:
            self.acked.append((mid, qos))

    client = Client()
    ack_all(client, [3, 4, 5])  # type: ignore[arg-type]
    assert client.acked == [(3, 1), (4, 1), (5, 1)]
    ack_all(client, [])  # type: ignore[arg-type]
    assert len(client.acked) == 3
