"""The collector under faults, against the real Mosquitto and the real InfluxDB (issue 3).

Each test streams 30,000 readings of 20 meters at QoS 1 through `smartpark collect` subprocesses
while something breaks, then proves every reading is in InfluxDB exactly once: per device, the
number of points and the sums of both fields equal what was published. Every reading has its own
(device, time) and values that are multiples of 0.25, so the float sums are exact whatever the order
of addition. InfluxDB overwrites a point written twice with the same time, so a redelivered
reading does not double the count; a reading stored under a wrong time or with a wrong value would
change the count or a sum.

The stream mixes gateway batches (``{"readings": [...]}`` of 100) and single readings, shuffled,
so the devices' readings arrive out of order. It is paced (about 3,000 readings a second, with at
most 100 unacknowledged publishes), so each fault lands mid-stream and every run is bounded. The
stream is nearly as dense as the 100,000-reading, 25-second one these tests began with, only
shorter: what each test proves is that a fault mid-stream loses and doubles nothing, which does not
need more of the stream after the fault.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
import pytest

from config.errors import StoreUnavailableError
from store import InfluxStore
from tests.e2e.helpers import (
    DeviceTotals,
    PacedPublisher,
    SmartparkProcess,
    forget_session,
    scrape_metrics,
    start_collector,
    telemetry_totals,
    wait_for,
)
from tests.support.servers import InfluxService, MosquittoService, free_port
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.mosquitto, pytest.mark.influxdb, pytest.mark.slow]

PARK = "reliability-park"
TOPIC = "parks/reliability-park/devices/{}/telemetry"
DEVICES = ["grid-main", *(f"meter-{i:02d}" for i in range(1, 20))]
READINGS_PER_DEVICE = 1_500  # x 20 devices = 30,000 readings
GATEWAY_BATCH = 100
BATCHED_SHARE = 0.9  # the rest goes out one reading per message
STREAM_S = 10.0  # how long publishing 30,000 readings takes at the paced rate [s]
# tests that restart the collector several times mid-stream (each start takes 1-3 s on a busy
# 2-core machine) stretch the same stream over this long, so the last fault still lands in it [s]
RESTARTS_STREAM_S = 20.0
SEED = 20261124
SPOOL_GAUGE = "smartpark_collector_spool_readings"


# --- the data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stream:
    """Messages to publish and, per device, what InfluxDB must hold afterwards."""

    messages: list[tuple[str, bytes]]
    expected: dict[str, DeviceTotals]

    @property
    def readings(self) -> int:
        return sum(t.count for t in self.expected.values())


def make_stream(seed: int) -> Stream:
    """30,000 readings with unique (device, ts), 3 h to 2.6 h old (inside the skew window)."""
    rng = random.Random(seed)
    start_ms = (time.time_ns() // 1_000_000 // 1000 - 3 * 3600) * 1000
    messages: list[tuple[str, bytes]] = []
    expected = {}
    batched = int(READINGS_PER_DEVICE * BATCHED_SHARE)
    for j, device in enumerate(DEVICES):
        readings = [
            {
                "ts": start_ms + i * 1000,
                "energy": 1000.0 * j + 0.5 * i,
                "power": ((7 * i + 13 * j) % 400) * 0.25,
            }
            for i in range(READINGS_PER_DEVICE)
        ]
        topic = TOPIC.format(device)
        for k in range(0, batched, GATEWAY_BATCH):
            # the last batch may be short: a reading goes out once, batched or alone
            batch = {"readings": readings[k : min(k + GATEWAY_BATCH, batched)]}
            messages.append((topic, orjson.dumps(batch)))
        messages.extend((topic, orjson.dumps(r)) for r in readings[batched:])
        expected[device] = DeviceTotals(
            count=len(readings),
            power_kw_sum=sum(r["power"] for r in readings),
            energy_kwh_sum=sum(r["energy"] for r in readings),
        )
    rng.shuffle(messages)
    return Stream(messages, expected)


def write_registry(path: Path) -> Path:
    lines = [
        "park: {id: reliability-park, name: Reliability test park, timezone: Asia/Shanghai,",
        "       latitude: 30.47, longitude: 114.53, grid_region: central_china}",
        "devices:",
        "  - {id: grid-main, kind: electricity_meter, role: grid_connection}",
        *(
            f"  - {{id: {d}, kind: electricity_meter, role: load, parent: grid-main}}"
            for d in DEVICES[1:]
        ),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- the rig: one database, one registry, the collectors of one test ----------------------------


@dataclass
class Rig:
    broker: MosquittoService
    influx: InfluxService
    folder: Path
    database: str = field(default_factory=lambda: f"rel_{uuid.uuid4().hex[:10]}")
    processes: list[SmartparkProcess] = field(default_factory=list)
    client_ids: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.registry = write_registry(self.folder / "park.yaml")
        self.store = InfluxStore(self.influx.store_url(self.database), timeout_s=30.0)
        self._tag = self.database.removeprefix("rel_")

    def start(self, name: str, *, share: str | None = None) -> SmartparkProcess:
        """A collector; the same ``name`` means the same client id, spool and data folder."""
        client_id = f"{name}-{self._tag}"
        self.client_ids.add(client_id)
        runs = sum(1 for p in self.processes if p.log_path.name.startswith(f"{name}-"))
        env = {
            "SMARTPARK_MQTT_URL": self.broker.url,
            "SMARTPARK_STORE_URL": self.influx.store_url(self.database),
            "SMARTPARK_CLIENT_ID": client_id,
            "SMARTPARK_REGISTRY": str(self.registry),
            "SMARTPARK_DATA_DIR": str(self.folder / name / "data"),
            "SMARTPARK_SPOOL_DIR": str(self.folder / name / "spool"),
            "SMARTPARK_METRICS_HOST": "127.0.0.1",
            "SMARTPARK_METRICS_PORT": str(free_port()),
        }
        proc = start_collector(env, self.folder / f"{name}-{runs + 1}.log", share=share)
        self.processes.append(proc)
        return proc

    def logs(self) -> str:
        """Warnings and errors of every collector run, then the tail of the last one."""
        parts = []
        for proc in self.processes[:-1]:
            notable = [
                line
                for line in proc.output().splitlines()
                if re.search(r"WARNING|ERROR|CRITICAL|Traceback|Error", line)
            ]
            parts.append(f"--- {proc.log_path.name} (pid {proc.pid}): {len(notable)} notable lines")
            parts.extend(notable[-15:])
        if self.processes:
            last = self.processes[-1]
            lines = [x for x in last.output().splitlines() if "httpx: HTTP Request" not in x]
            parts.append(f"--- {last.log_path.name} (pid {last.pid}), without httpx requests:")
            parts.extend(lines[-25:])
        parts.append(f"--- broker log tail:\n{self.broker.log_tail(15)}")
        return "\n".join(parts)

    def assert_stored_exactly(self, stream: Stream, *, timeout_s: float) -> float:
        """Wait until InfluxDB holds every reading, then compare count and sums per device.

        Returns how long the wait took [s].
        """
        started = time.monotonic()
        deadline = started + timeout_s
        count = -1
        while time.monotonic() < deadline:
            try:
                count = self.store.count(PARK)
            except StoreUnavailableError:  # influxd may still be starting: poll until the deadline
                count = -1
            if count >= stream.readings:
                break
            time.sleep(1.0)
        if count != stream.readings:
            shortfall = self._shortfall(stream)
            raise AssertionError(
                f"InfluxDB holds {count} of {stream.readings} readings after {timeout_s} s; "
                f"per device (device: stored - published): {shortfall}\n{self.logs()}"
            )
        stored = telemetry_totals(self.influx.url, self.database, PARK)
        wrong = {
            device: (stored.get(device), want)
            for device, want in stream.expected.items()
            if stored.get(device) != want
        }
        assert not wrong, f"stored ≠ published (stored, published) per device: {wrong}"
        assert set(stored) == set(stream.expected), f"unexpected devices: {set(stored)}"
        quarantined = self.store.quarantined(park=PARK, limit=10)
        assert quarantined == [], f"good readings were quarantined: {quarantined}"
        return time.monotonic() - started

    def _shortfall(self, stream: Stream) -> dict[str, int] | str:
        try:
            stored = telemetry_totals(self.influx.url, self.database, PARK)
        except (httpx.HTTPError, AssertionError) as exc:
            return f"(could not ask InfluxDB: {exc!r})"
        counts = {d: stored[d].count if d in stored else 0 for d in stream.expected}
        return {d: counts[d] - t.count for d, t in stream.expected.items() if counts[d] != t.count}

    def close(self) -> None:
        for proc in self.processes:
            proc.kill()
        if self.broker.running:
            for client_id in self.client_ids:
                forget_session(self.broker.port, client_id)
        self.store.close()
        self.influx.start()  # a test may have stopped it
        self.influx.drop_database(self.database)


@pytest.fixture
def make_rig(influxd: InfluxService, tmp_path: Path) -> Iterator[Callable[[MosquittoService], Rig]]:
    rigs: list[Rig] = []

    def make(broker: MosquittoService) -> Rig:
        rig = Rig(broker, influxd, tmp_path)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()


@pytest.fixture
def rig(make_rig: Callable[[MosquittoService], Rig], mosquitto: MosquittoService) -> Rig:
    mosquitto.start()  # a previous test may have stopped it
    return make_rig(mosquitto)


def publish(rig: Rig, stream: Stream, *, stream_s: float = STREAM_S) -> PacedPublisher:
    return PacedPublisher(
        rig.broker.port, stream.messages, rate_per_s=len(stream.messages) / stream_s
    ).start()


def join(publisher: PacedPublisher, rig: Rig, *, timeout_s: float) -> None:
    try:
        publisher.join(timeout_s=timeout_s)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{rig.logs()}") from None
    finally:
        publisher.stop()


# --- 1. kill -9 ----------------------------------------------------------------------------------


def test_collector_killed_with_sigkill_repeatedly_stores_every_reading_once(rig: Rig) -> None:
    """SIGKILL the collector 4 times mid-stream, at seeded random points of the stream (some while
    it is still catching up on its backlog), restarting it each time with the same client id.
    Whatever it had received but not acknowledged, the broker sends again to the restarted
    collector."""
    stream = make_stream(SEED + 1)
    rng = random.Random(SEED)
    collector = rig.start("killed")
    publisher = publish(rig, stream, stream_s=RESTARTS_STREAM_S)
    kill_at = sorted(rng.uniform(0.05, 0.85) for _ in range(4))  # shares of the stream
    try:
        for kill, share in enumerate(kill_at, 1):
            if publisher.acked >= share * publisher.total:
                time.sleep(rng.uniform(0.2, 0.8))  # behind schedule: kill it while it catches up
            publisher.wait_acked(int(share * publisher.total), timeout_s=RESTARTS_STREAM_S)
            assert publisher.acked < publisher.total, f"kill {kill} came after the stream"
            collector.kill()  # SIGKILL, by PID
            print(f"kill {kill}: pid {collector.pid} at {publisher.acked} messages acked")
            time.sleep(rng.uniform(0.0, 0.5))
            collector = rig.start("killed")
        join(publisher, rig, timeout_s=STREAM_S + 60)
    finally:
        publisher.stop()
    waited = rig.assert_stored_exactly(stream, timeout_s=60)
    print(f"all {stream.readings} readings stored {waited:.1f} s after the stream ended")

    for proc in rig.processes[1:]:
        assert "session present: True" in proc.output(), (
            f"{proc.log_path.name} did not resume the persistent session:\n{proc.tail()}"
        )
    assert collector.interrupt(timeout_s=15) == 0, collector.tail()
    assert "Traceback" not in rig.logs()


# --- 2. store outage -----------------------------------------------------------------------------


# The store retry back-off doubles from 0.5 s (x 0.5-1.5 jitter) up to its 5 s cap
# (ingest/collector.py): an outage of 10 s spans several failed retries, growing back-off included.
OUTAGE_S = 10.0


def test_influxdb_down_mid_stream_loses_and_doubles_nothing(rig: Rig) -> None:
    """Stop influxd (SIGTERM) for 10 s while readings keep coming, then start it again: the
    collector spools meanwhile (asserted), and afterwards the spool is drained into InfluxDB."""
    stream = make_stream(SEED + 2)
    collector = rig.start("outage")
    metrics_port = int(collector.env["SMARTPARK_METRICS_PORT"])
    publisher = publish(rig, stream, stream_s=OUTAGE_S + 6.0)
    spool_peak = 0.0
    scrape_errors: list[str] = []
    try:
        publisher.wait_acked(publisher.total // 8, timeout_s=30)
        rig.influx.stop()
        print(f"influxd stopped at {publisher.acked} messages acked")
        try:
            outage_ends = time.monotonic() + OUTAGE_S
            while time.monotonic() < outage_ends:
                try:
                    spool_peak = max(spool_peak, scrape_metrics(metrics_port).get(SPOOL_GAUGE, 0))
                except httpx.HTTPError as exc:
                    scrape_errors.append(repr(exc))
                time.sleep(0.5)
        finally:
            rig.influx.start()
        print(f"influxd started at {publisher.acked} messages acked; spool peak {spool_peak}")
        join(publisher, rig, timeout_s=60)
    finally:
        publisher.stop()
    # the collector may be in a retry back-off of up to 5 s (x 1.5) when InfluxDB comes back
    waited = rig.assert_stored_exactly(stream, timeout_s=120)
    print(f"all {stream.readings} readings stored {waited:.1f} s after the stream ended")

    def spool_readings() -> float | None:
        try:
            return scrape_metrics(metrics_port).get(SPOOL_GAUGE)
        except httpx.HTTPError as exc:
            scrape_errors.append(repr(exc))
            return None

    try:
        wait_for(lambda: spool_readings() == 0, timeout_s=30, what=f"{SPOOL_GAUGE} to be 0")
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}; /metrics on port {metrics_port} answered {spool_readings()!r}; "
            f"last scrape errors: {scrape_errors[-3:]}\n{rig.logs()}"
        ) from None
    assert spool_peak > 0, f"the spool never held a reading during the outage\n{rig.logs()}"
    assert not list(Path(collector.env["SMARTPARK_SPOOL_DIR"]).glob("*.spool"))
    assert collector.interrupt(timeout_s=15) == 0, collector.tail()


# --- 3. broker restart ---------------------------------------------------------------------------


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[MosquittoService]:
    """A broker of this test alone: it is stopped and started mid-stream.

    Its autosave interval stays at mosquitto's default (1800 s), so what survives a restart is what
    mosquitto writes to its persistence file when it exits on SIGTERM, nothing saved earlier.
    """
    broker = MosquittoService(tmp_path / "broker")
    broker.start()
    yield broker
    broker.stop()


def test_broker_restarted_mid_stream_loses_nothing_at_qos1(
    make_rig: Callable[[MosquittoService], Rig], private_broker: MosquittoService
) -> None:
    """Restart mosquitto gracefully twice mid-stream: once with the collector connected (its
    in-flight messages survive in the broker's session), once while the collector is down (killed
    at 50 % of the stream, restarted after the broker), so the 20 % of the stream that arrived
    meanwhile exists only in the broker's persistence file across the restart.

    A graceful stop is tested, not SIGKILL: mosquitto saves its in-memory database only on exit and
    every ``autosave_interval``, so a SIGKILL loses what arrived since the last save, messages it
    has already PUBACKed. No QoS can recover those; that is mosquitto's design, not the collector's.
    """
    rig = make_rig(private_broker)
    broker = private_broker
    port = broker.port
    stream = make_stream(SEED + 3)
    collector = rig.start("restart")
    publisher = publish(rig, stream)

    def restart_broker(down_s: float) -> None:
        broker.stop()  # SIGTERM: mosquitto writes its persistence file and exits
        time.sleep(down_s)
        broker.start()
        assert broker.port == port, "the broker came back on another port (its own was taken)"

    try:
        publisher.wait_acked(publisher.total * 3 // 10, timeout_s=30)
        restart_broker(2.0)
        print(f"broker restarted with the collector connected at {publisher.acked} acked")
        wait_for(
            lambda: collector.output().count("session present: True") >= 1,
            timeout_s=30,
            what=f"the collector to resume its session\n{collector.tail()}",
        )

        publisher.wait_acked(publisher.total * 5 // 10, timeout_s=30)
        collector.kill()  # SIGKILL: its unacknowledged messages stay in the broker's session
        publisher.wait_acked(publisher.total * 7 // 10, timeout_s=30)
        restart_broker(1.0)
        print(f"broker restarted with the collector stopped at {publisher.acked} acked")
        collector = rig.start("restart")
        assert "session present: True" in collector.output(), collector.tail()
        join(publisher, rig, timeout_s=STREAM_S + 60)
    finally:
        publisher.stop()
    waited = rig.assert_stored_exactly(stream, timeout_s=60)
    print(f"all {stream.readings} readings stored {waited:.1f} s after the stream ended")
    assert collector.interrupt(timeout_s=15) == 0, collector.tail()


# --- 5. shared subscription ----------------------------------------------------------------------

_STOPPED = re.compile(r"stopped: (\d+) messages, (\d+) readings stored")


def test_two_collectors_on_a_shared_subscription_store_the_stream_once(rig: Rig) -> None:
    """`smartpark collect --share GROUP` twice: the broker deals the messages between the two,
    and together they store every reading exactly once."""
    stream = make_stream(SEED + 5)
    group = f"collectors-{uuid.uuid4().hex[:6]}"
    collectors = [rig.start("share-a", share=group), rig.start("share-b", share=group)]
    publisher = publish(rig, stream)
    join(publisher, rig, timeout_s=STREAM_S + 60)
    rig.assert_stored_exactly(stream, timeout_s=60)

    stored = []
    for collector in collectors:
        assert collector.interrupt(timeout_s=15) == 0, collector.tail()
        match = _STOPPED.search(collector.output())
        assert match, f"no final account in the log:\n{collector.tail()}"
        stored.append(int(match[2]))
    print(f"readings stored by each collector: {stored}")
    assert sum(stored) == stream.readings, (
        f"the collectors stored {stored} readings, together {sum(stored)} ≠ {stream.readings}: "
        "some were delivered to both, or twice"
    )
    for count in stored:
        assert count >= 0.3 * stream.readings, f"one collector stored only {count}: {stored}"


# --- 1 + 2: kill -9 while the store is down ------------------------------------------------------


def test_collector_killed_while_influxdb_is_down_keeps_its_spool(rig: Rig) -> None:
    """SIGKILL the collector twice while influxd is stopped: what it spooled and acknowledged
    exists only in its spool folder, which the restarted collector must replay."""
    stream = make_stream(SEED + 12)
    collector = rig.start("spooled")
    publisher = publish(rig, stream, stream_s=RESTARTS_STREAM_S)
    try:
        publisher.wait_acked(publisher.total // 8, timeout_s=30)
        rig.influx.stop()
        try:
            on_disk = 0
            for kill in range(2):
                # the precondition, asserted: this life spooled readings of its own
                on_disk = wait_for_spool_growth(collector, beyond=on_disk)
                collector.kill()
                print(f"kill {kill + 1} at {publisher.acked} acked, {on_disk} readings spooled")
                collector = rig.start("spooled")
            wait_for_spool_growth(collector, beyond=on_disk)
        finally:
            rig.influx.start()
        join(publisher, rig, timeout_s=STREAM_S + 60)
    finally:
        publisher.stop()
    waited = rig.assert_stored_exactly(stream, timeout_s=90)
    print(f"all {stream.readings} readings stored {waited:.1f} s after the stream ended")
    metrics_port = int(collector.env["SMARTPARK_METRICS_PORT"])
    wait_for(
        lambda: scrape_metrics(metrics_port).get(SPOOL_GAUGE) == 0,
        timeout_s=30,
        what=f"{SPOOL_GAUGE} to be 0\n{rig.logs()}",
    )
    # the collector's ledger follower reports on the same endpoint
    assert "smartpark_follower_passes_total" in scrape_metrics(metrics_port)
    assert collector.interrupt(timeout_s=15) == 0, collector.tail()


def spooled_on_disk(spool_dir: Path) -> int:
    """Readings in a spool folder, from its file names (``<sequence>-<readings>.spool``)."""
    return sum(int(path.stem.split("-")[1]) for path in spool_dir.glob("*.spool"))


def wait_for_spool_growth(collector: SmartparkProcess, *, beyond: int) -> int:
    """Wait until ``collector`` reports spooled readings and its spool folder holds more than
    ``beyond`` readings; return how many it holds."""
    spool_dir = Path(collector.env["SMARTPARK_SPOOL_DIR"])
    metrics_port = int(collector.env["SMARTPARK_METRICS_PORT"])

    def grown() -> int:
        try:
            gauge = scrape_metrics(metrics_port).get(SPOOL_GAUGE, 0.0)
        except httpx.HTTPError:  # not listening yet
            return 0
        on_disk = spooled_on_disk(spool_dir)
        return on_disk if gauge > 0 and on_disk > beyond else 0

    try:
        return wait_until(
            grown, timeout_s=30, what=f"{SPOOL_GAUGE} > 0 and over {beyond} readings in {spool_dir}"
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{collector.tail()}") from None


# --- graceful stop under load --------------------------------------------------------------------


def test_sigint_mid_stream_stops_promptly_and_a_restart_loses_nothing(rig: Rig) -> None:
    """SIGINT while messages keep arriving: the collector takes nothing new, flushes and
    acknowledges what it had, and exits within a few seconds (container runtimes allow 10 s);
    whatever it did not take, the broker sends to the restarted collector."""
    stream = make_stream(SEED + 5)
    collector = rig.start("graceful")
    publisher = publish(rig, stream)
    try:
        publisher.wait_acked(publisher.total // 3, timeout_s=STREAM_S)
        started = time.monotonic()
        code = collector.interrupt(timeout_s=10)
        took = time.monotonic() - started
        assert code == 0, collector.tail()
        assert took < 5.0, f"graceful stop took {took:.1f} s under a live stream"
        assert publisher.acked < publisher.total, "the stop came after the stream"
        rig.start("graceful")
        join(publisher, rig, timeout_s=STREAM_S + 60)
    finally:
        publisher.stop()
    rig.assert_stored_exactly(stream, timeout_s=60)
    assert "Traceback" not in rig.logs()
