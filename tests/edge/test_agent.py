"""The edge agent end to end: real servers on real transports, a real Mosquitto.

- a pymodbus TCP server process (two meters), a pymodbus RTU server behind a pseudo-terminal
  pair (one meter), a DL/T 645 responder on a pseudo-terminal (one meter, and one configured
  meter that is not on the line): every reading arrives with the values the registers hold;
  the missing meter is reported offline and has no reading;
- kill -9 of the agent (twice) and a broker outage: every reading the agent polled (its
  journal, written in the same transaction as its buffer) arrives, once per (device, ts), with
  the same count and sum per device; the server's energy counter shows no reading skipped but
  the ones a kill interrupted before they were written.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from tests.edge.modbus_server import expected
from tests.support.servers import MosquittoService

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


class Helper:
    """A process of ours: started by the test, killed by PID at the end."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log = log
        with log.open("ab") as err:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [sys.executable, *args],
                cwd=ROOT,
                env=ENV,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )

    def first_line(self, timeout_s: float = 20.0) -> str:
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout_s)
        assert result, f"no output in {timeout_s} s: {self.log.read_text(errors='replace')}"
        return result[0].strip()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        # 45 s was exceeded once on a loaded 2-core machine: the agent logs the tasks still
        # running 10 s after a stop (edge/agent.py), shown here when it happens again
        try:
            code = self.proc.wait(timeout=45)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            tail = self.log.read_text(errors="replace")[-4000:]
            pytest.fail(f"no exit 45 s after signal {sig}; its log ends:\n{tail}")
        self.close()
        return code

    def close(self) -> None:
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def helpers() -> Iterator[Callable[[list[str], Path], Helper]]:
    started: list[Helper] = []

    def start(args: list[str], log: Path) -> Helper:
        helper = Helper(args, log)
        started.append(helper)
        return helper

    yield start
    for helper in started:
        if helper.proc.poll() is None:
            helper.proc.kill()
            helper.proc.wait(timeout=10)
        helper.close()


class Subscriber:
    """Everything of one park at QoS 1, on a persistent session (it survives outages)."""

    def __init__(self, port: int, client_id: str, park: str) -> None:
        self.lock = threading.Lock()
        self.messages: list[tuple[str, bytes, bool]] = []
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False
        )
        self.client.on_connect = lambda c, *_: c.subscribe(f"parks/{park}/#", qos=1)
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.1, 1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((msg.topic, msg.payload, bool(msg.retain)))

    def readings(self) -> dict[str, list[dict[str, float]]]:
        out: dict[str, list[dict[str, float]]] = defaultdict(list)
        with self.lock:
            for topic, payload, _ in self.messages:
                if topic.endswith("/telemetry"):
                    out[topic.split("/")[3]].append(json.loads(payload))
        return out

    def statuses(self) -> dict[str, list[dict[str, object]]]:
        out: dict[str, list[dict[str, object]]] = defaultdict(list)
        with self.lock:
            for topic, payload, _ in self.messages:
                if topic.endswith("/status"):
                    out[topic.split("/")[3]].append(json.loads(payload))
        return out

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _wait(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _write_config(path: Path, broker_port: int, buses: str, client_id: str) -> Path:
    path.write_text(
        f"park: {client_id}\nbuffer: {path.parent / 'buffer.sqlite3'}\njournal: true\n"
        f"broker: {{url: 'mqtt://127.0.0.1:{broker_port}', client_id: {client_id}}}\n"
        f"buses:\n{buses}",
        encoding="utf-8",
    )
    return path


def test_readings_arrive_from_modbus_tcp_rtu_and_dlt645(tmp_path: Path, mosquitto, helpers):
    tcp = helpers(["-m", "tests.edge.modbus_server", "tcp", "1", "2"], tmp_path / "tcp.log")
    tcp_port = int(tcp.first_line().split()[1])
    rtu = helpers(["-m", "tests.edge.modbus_server", "rtu", "3"], tmp_path / "rtu.log")
    rtu_pty = rtu.first_line().split()[1]
    dlt = helpers(["-m", "tests.edge.dlt645_responder", "000012345678"], tmp_path / "dlt.log")
    dlt_pty = dlt.first_line().split()[1]
    buses = f"""\
  - id: tcp
    kind: modbus_tcp
    host: 127.0.0.1
    port: {tcp_port}
    interval_s: 0.2
    meters:
      - {{device: m1, unit: 1, map: chint-dtsu666}}
      - {{device: m2, unit: 2, map: chint-dtsu666, ct_ratio: 10}}
  - id: rtu
    kind: modbus_rtu
    port: {rtu_pty}
    interval_s: 0.2
    meters:
      - {{device: m3, unit: 3, map: chint-dtsu666}}
  - id: dlt
    kind: dlt645_serial
    port: {dlt_pty}
    interval_s: 0.2
    timeout_s: 0.3
    retries: 1
    discover: true
    meters:
      - {{device: d1, address: "000012345678", map: dlt645-2007, ct_ratio: 2}}
      - {{device: d9, address: "000099999999", map: dlt645-2007}}
"""
    config = _write_config(tmp_path / "edge.yaml", mosquitto.port, buses, "edge-a")
    sub = Subscriber(mosquitto.port, "edge-test-a", "edge-a")
    agent = helpers(["-m", "smartpark", "edge", "--config", str(config)], tmp_path / "agent.log")
    try:
        _wait(
            lambda: (
                all(len(sub.readings()[d]) >= 5 for d in ("m1", "m2", "m3", "d1"))
                and bool(sub.statuses()["d9"])
            ),
            60,
            "five readings of every meter",
        )
        assert agent.stop() == 0
    finally:
        sub.close()
    readings = sub.readings()
    for device, unit, ct in (("m1", 1, 1), ("m2", 2, 10), ("m3", 3, 1)):
        got = readings[device]
        first = round(got[0]["energy"] / ct - 1000 * unit)
        assert first == 1  # the first read of this unit's energy registers
        for n, reading in enumerate(got, start=first):
            truth = expected(unit, n)
            assert reading.keys() == {"ts", *truth}, device
            assert reading["energy"] == pytest.approx(truth["energy"] * ct, rel=1e-9)
            assert reading["export_energy"] == pytest.approx(truth["export_energy"] * ct)
            assert reading["power"] == pytest.approx(truth["power"] * ct, rel=1e-7)
            assert reading["current"] == pytest.approx(truth["current"] * ct, rel=1e-7)
            assert reading["voltage"] == pytest.approx(truth["voltage"], rel=1e-7)
            assert reading["pf"] == pytest.approx(0.95, rel=1e-7)
        stamps = [r["ts"] for r in got]
        assert stamps == sorted(stamps)
        assert len(set(stamps)) == len(stamps)
    for n, reading in enumerate(readings["d1"], start=1):
        assert reading == {
            "ts": reading["ts"],
            "energy": pytest.approx(2 * (5000.0 + 0.01 * n)),  # x CT 2
            "power": pytest.approx(2 * 1.2345),
            "current": pytest.approx(2 * -1.234),
            "pf": pytest.approx(0.987),
        }
    assert "d9" not in readings  # never a made-up value
    (offline,) = sub.statuses()["d9"]  # one message per change of state, not one per poll
    assert offline["state"] == "offline"
    assert offline["message"] == {"en": "meter not answering", "zh": "电表无应答"}
    assert "000099999999" in str(offline["reason"])
    assert "no answer within 0.3 s, 2 tries" in str(offline["reason"])
    assert [s["state"] for s in sub.statuses()["m1"]] == ["online"]
    assert "bus dlt: meter 000012345678 answers" in (tmp_path / "agent.log").read_text()


def _journal(db: Path) -> dict[tuple[str, int], dict[str, float]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT device, payload FROM journal WHERE kind = 'reading'")
        out = {}
        for device, payload in rows:
            reading = json.loads(payload)
            out[(device, reading["ts"])] = reading
        return out


def _received_keys(sub: Subscriber) -> set[tuple[str, int]]:
    """(device, ts) of every reading the subscriber has, duplicates once."""
    return {(d, int(r["ts"])) for d, readings in sub.readings().items() for r in readings}


def _buffered(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])


def test_kill_9_and_a_broker_outage_lose_nothing(tmp_path: Path, helpers):
    broker = MosquittoService(tmp_path / "mosquitto")
    broker.start()
    server = helpers(
        ["-m", "tests.edge.modbus_server", "tcp", "1", "2", "3", "4"], tmp_path / "tcp.log"
    )
    port = int(server.first_line().split()[1])
    meters = "".join(
        f"      - {{device: m{u}, unit: {u}, map: chint-dtsu666}}\n" for u in (1, 2, 3, 4)
    )
    buses = (
        f"  - id: tcp\n    kind: modbus_tcp\n    host: 127.0.0.1\n    port: {port}\n"
        f"    interval_s: 0.1\n    meters:\n{meters}"
    )
    config = _write_config(tmp_path / "edge.yaml", broker.port, buses, "edge-b")
    db = tmp_path / "buffer.sqlite3"
    sub = Subscriber(broker.port, "edge-test-b", "edge-b")
    argv = ["-m", "smartpark", "edge", "--config", str(config)]
    log = tmp_path / "agent.log"
    try:
        agent = helpers(argv, log)
        _wait(lambda: len(sub.readings()["m4"]) >= 5, 30, "readings before the first kill")
        agent.stop(signal.SIGKILL)
        agent = helpers(argv, log)
        seen = len(sub.readings()["m4"])
        _wait(lambda: len(sub.readings()["m4"]) >= seen + 3, 30, "the new agent publishing")
        broker.stop()  # the broker goes away under a live connection: the agent buffers
        _wait(lambda: _buffered(db) >= 60, 30, "readings buffered during the outage")
        agent.stop(signal.SIGKILL)  # killed with the outage's readings only on disk
        left = _buffered(db)
        agent = helpers(argv, log)
        _wait(lambda: _buffered(db) >= left + 20, 30, "the next agent buffering after them")
        during = _buffered(db)
        broker.start()
        _wait(lambda: log.read_text().count("connected to") >= 3, 30, "the replay to start")
        time.sleep(0.1)
        agent.stop(signal.SIGKILL)  # and once more, mid-replay or just after it
        agent = helpers(argv, log)
        _wait(lambda: log.read_text().count("connected to") >= 4, 30, "the fourth agent")
        _wait(lambda: _buffered(db) == 0, 30, "the buffer to drain")
        code = agent.stop()
        assert code == 0, f"the agent exited {code} on SIGTERM:\n{log.read_text()[-3000:]}"
        # a clean stop sends its last cycles before it exits (the broker is up)
        assert _buffered(db) == 0
        truth = _journal(db)
        _wait(
            lambda: _received_keys(sub) >= set(truth),
            30,
            "every journalled reading at the subscriber",
        )
        time.sleep(0.5)  # anything more (a duplicate) arrives now
    finally:
        sub.close()
        broker.stop()
    assert during >= left + 20 >= 80
    assert "lost" in log.read_text()  # the agent saw the connection drop
    received: dict[tuple[str, int], dict[str, float]] = {}
    duplicates = 0
    for device, readings in sub.readings().items():
        for reading in readings:
            key = (device, int(reading["ts"]))
            if key in received:
                duplicates += 1
                assert received[key] == reading  # a resend is the same reading, never another
            received[key] = reading
        firsts = [int(r["ts"]) for r in readings]
        firsts = [ts for i, ts in enumerate(firsts) if ts not in firsts[:i]]
        assert firsts == sorted(firsts), device  # replayed in order: oldest first
    assert set(received) == set(truth)  # every polled reading arrived; nothing else did
    assert duplicates <= 3 * 4 * 32  # at most a window in flight per kill (PUBACK not yet seen)
    for unit in (1, 2, 3, 4):
        device = f"m{unit}"
        sent = [v for (d, _), v in truth.items() if d == device]
        got = [v for (d, _), v in received.items() if d == device]
        assert len(got) == len(sent) > 15
        assert sum(r["energy"] for r in got) == pytest.approx(sum(r["energy"] for r in sent))
        # the server's counter: each poll read energy once, so polls skipped only where a kill
        # interrupted a cycle between reading the meter and writing the buffer
        reads = sorted(round(r["energy"] - 1000 * unit) for r in got)
        gaps = sum(1 for a, b in itertools.pairwise(reads) if b != a + 1)
        assert reads[0] == 1
        assert gaps <= 3


def test_a_meter_that_stops_answering_is_offline_then_back(tmp_path: Path, mosquitto, helpers):
    server = helpers(["-m", "tests.edge.modbus_server", "tcp", "1"], tmp_path / "tcp1.log")
    port = int(server.first_line().split()[1])
    buses = (
        f"  - id: tcp\n    kind: modbus_tcp\n    host: 127.0.0.1\n    port: {port}\n"
        "    interval_s: 0.2\n    timeout_s: 0.3\n    retries: 1\n"
        "    meters:\n      - {device: m1, unit: 1, map: chint-dtsu666}\n"
    )
    config = _write_config(tmp_path / "edge.yaml", mosquitto.port, buses, "edge-c")
    sub = Subscriber(mosquitto.port, "edge-test-c", "edge-c")
    agent = helpers(["-m", "smartpark", "edge", "--config", str(config)], tmp_path / "agent.log")
    try:
        _wait(lambda: len(sub.readings()["m1"]) >= 3, 30, "readings")
        server.stop(signal.SIGKILL)  # the meter (its gateway) goes silent
        _wait(lambda: len(sub.statuses()["m1"]) >= 2, 30, "the offline state")
        before = len(sub.readings()["m1"])
        time.sleep(1.0)  # five polls, all unanswered
        assert len(sub.readings()["m1"]) == before  # nothing invented while it is away
        env_back = {**ENV, "MODBUS_PORT": str(port)}
        with (tmp_path / "tcp3.log").open("ab") as err:
            again = subprocess.Popen(
                [sys.executable, "-m", "tests.edge.modbus_server", "tcp", "1"],
                cwd=ROOT,
                env=env_back,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        try:
            _wait(lambda: len(sub.statuses()["m1"]) >= 3, 30, "the online state again")
            _wait(lambda: len(sub.readings()["m1"]) > before, 30, "readings again")
        finally:
            again.kill()
            again.wait()
        assert agent.stop() == 0
    finally:
        sub.close()
    states = sub.statuses()["m1"]
    assert [s["state"] for s in states] == ["online", "offline", "online"]
    assert "m1: " in str(states[1]["reason"])
    stamps = [int(s["ts"]) for s in states]
    assert stamps == sorted(stamps)
