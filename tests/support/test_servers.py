"""The test servers themselves: they start, keep their data across SIGKILL, skip when absent."""

from __future__ import annotations

import os
import threading

import paho.mqtt.client as mqtt
import pytest

from store import InfluxStore, LatestReading, Point
from tests.support.servers import InfluxService, MosquittoService, find_binary


@pytest.mark.slow
@pytest.mark.influxdb
def test_influxd_keeps_acknowledged_writes_across_sigkill(tmp_path):
    server = InfluxService(tmp_path / "influxd")
    server.start()
    try:
        store = InfluxStore(server.store_url("crash"), timeout_s=5.0)
        store.write([Point("telemetry", {"park": "p", "device": "d"}, {"kw": 1.0}, 42)])
        old_pid, port = server.pid, server.port

        server.kill()
        assert server.pid is None
        assert store.ping() is False
        server.start()

        assert server.pid not in (None, old_pid)
        assert server.port == port  # same address: clients reconnect by themselves
        assert store.latest("p") == [LatestReading("d", 42, {"kw": 1.0})]
        store.close()
    finally:
        server.stop()
    assert server.pid is None


@pytest.mark.slow
@pytest.mark.mosquitto
def test_mosquitto_restarts_with_its_retained_messages(tmp_path):
    broker = MosquittoService(tmp_path / "mosquitto")
    broker.start()
    try:
        publish_retained(broker.port, "parks/p/status", b"up")
        broker.restart()  # a clean stop saves the persistence file
        assert receive_retained(broker.port, "parks/p/status") == b"up"
    finally:
        broker.stop()
    assert broker.pid is None


def publish_retained(port: int, topic: str, payload: bytes) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1, retain=True).wait_for_publish(timeout=5)
    finally:
        client.disconnect()
        client.loop_stop()


def receive_retained(port: int, topic: str) -> bytes | None:
    got: list[bytes] = []
    arrived = threading.Event()

    def on_message(_client, _userdata, message):
        got.append(message.payload)
        arrived.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.subscribe(topic, qos=1)
    client.loop_start()
    try:
        arrived.wait(timeout=5)
    finally:
        client.disconnect()
        client.loop_stop()
    return got[0] if got else None


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_a_missing_server_fails_in_ci_and_skips_elsewhere(monkeypatch, ci, outcome):
    monkeypatch.setenv("CI", ci)
    monkeypatch.setenv("PATH", os.devnull)
    monkeypatch.setattr("tests.support.servers._EXTRA_PATH", ())
    with pytest.raises(outcome, match="apt-get install influxdb"):
        find_binary("influxd", "influxdb")
