"""Two real influxd, one city (issue 14, "Several stores"): a park lives in the store it names.

Park ``north-park`` names the store ``north``, ``south-park`` the store ``south``, each its own
influxd. A real ``smartpark collect`` (against the real Mosquitto) stores each park's readings in
its own server; then the south server is stopped while both parks keep publishing:

- the north park's readings keep going straight to north, and only the south park's readings are
  spooled (the collector's spool gauge equals exactly what south-park published meanwhile);
- the API answers the north park's routes and 503 naming the store ``south`` for the south park's,
  and ``/healthz`` says which store is down;
- once south is back, every reading is in its server exactly once: per device the count and the
  sums of both fields equal what was published (values are multiples of 0.25, so float sums are
  exact whatever the order), and neither server holds a point of the other's park.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from config.registry import load_registry
from config.settings import Settings
from ingest.collector import Collector
from store import EmbeddedStore, RoutedStore, open_stores
from tests.e2e.helpers import (
    DeviceTotals,
    forget_session,
    publish_all,
    scrape_metrics,
    start_collector,
    telemetry_totals,
    wait_for,
)
from tests.store.test_routed import Switchable, registry_of
from tests.support.servers import InfluxService, MosquittoService, free_port
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.mosquitto, pytest.mark.influxdb, pytest.mark.slow]

PARKS = {"north-park": "north", "south-park": "south"}
DEVICES = ["grid-main", "meter-01", "meter-02"]
SPOOL_GAUGE = "smartpark_collector_spool_readings"
BATCH = 50  # readings per gateway message


@dataclass
class Published:
    """Per park and device, what was published so far."""

    totals: dict[str, dict[str, DeviceTotals]]

    def add(self, park: str, device: str, power: float, energy: float) -> None:
        old = self.totals.setdefault(park, {}).get(device, DeviceTotals(0, 0.0, 0.0))
        self.totals[park][device] = DeviceTotals(
            old.count + 1, old.power_kw_sum + power, old.energy_kwh_sum + energy
        )

    def count(self, park: str) -> int:
        return sum(t.count for t in self.totals.get(park, {}).values())


def readings(
    published: Published, park: str, *, first: int, n: int, start_ms: int
) -> list[tuple[str, bytes]]:
    """``n`` readings per device of ``park``, numbered from ``first``, as gateway batches."""
    messages = []
    for j, device in enumerate(DEVICES):
        rows = []
        for i in range(first, first + n):
            power, energy = ((7 * i + 13 * j) % 400) * 0.25, 1000.0 * j + 0.5 * i
            rows.append({"ts": start_ms + i * 1000, "power": power, "energy": energy})
            published.add(park, device, power, energy)
        topic = f"parks/{park}/devices/{device}/telemetry"
        messages.extend(
            (topic, orjson.dumps({"readings": rows[k : k + BATCH]}))
            for k in range(0, len(rows), BATCH)
        )
    return messages


def write_registry(folder: Path) -> Path:
    folder.mkdir()
    for park, store in PARKS.items():
        devices = [
            "  - {id: grid-main, kind: electricity_meter, role: grid_connection}",
            *(
                f"  - {{id: {d}, kind: electricity_meter, role: load, parent: grid-main}}"
                for d in DEVICES[1:]
            ),
        ]
        lines = [
            f"park: {{id: {park}, name: {park}, latitude: 30.47, longitude: 114.53,",
            f"       grid_region: central_china, store: {store}}}",
            "devices:",
            *devices,
        ]
        (folder / f"{park}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def south(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxService]:
    """A second influxd of this test's own (the session's is ``north``)."""
    service = InfluxService(tmp_path_factory.mktemp("influxd-south"))
    service.start()
    yield service
    service.stop()


def test_parks_live_in_their_stores_and_one_stopped_costs_only_its_park(
    influxd: InfluxService, south: InfluxService, mosquitto: MosquittoService, tmp_path: Path
) -> None:
    influxd.start()  # a previous test may have stopped it
    mosquitto.start()
    north = influxd
    database = f"two_{uuid.uuid4().hex[:10]}"
    servers = {"north": north, "south": south}
    stores = f"north={north.store_url(database)},south={south.store_url(database)}"
    registry_path = write_registry(tmp_path / "registry")
    client_id = f"two-stores-{database}"
    metrics_port = free_port()
    env = {
        "SMARTPARK_MQTT_URL": mosquitto.url,
        "SMARTPARK_STORES": stores,
        "SMARTPARK_CLIENT_ID": client_id,
        "SMARTPARK_REGISTRY": str(registry_path),
        "SMARTPARK_DATA_DIR": str(tmp_path / "data"),
        "SMARTPARK_METRICS_PORT": str(metrics_port),
        "SMARTPARK_LEDGER_FOLLOW": "false",  # the readings' routing is proven here, not the ledger
        "SMARTPARK_BATCH_INTERVAL_S": "0.05",
    }
    settings = Settings(stores=stores, data_dir=tmp_path / "api", alarms=False)
    registry = load_registry(registry_path)
    api_store = open_stores(settings, registry)
    assert isinstance(api_store, RoutedStore)
    app = create_app(settings=settings, store=api_store, registry=registry)
    published = Published({})
    start_ms = (time.time_ns() // 1_000_000 // 1000 - 3 * 3600) * 1000
    collector = start_collector(env, tmp_path / "collector.log")

    def held(server: str, park: str) -> int:
        """Readings of ``park`` in ``server``; -1 while it cannot say (no database yet, or a
        series whose first points are still being written, which InfluxDB answers with null)."""
        try:
            stored = telemetry_totals(servers[server].url, database, park)
        except (AssertionError, TypeError, httpx.HTTPError):
            return -1
        return sum(t.count for t in stored.values())

    def spooled() -> float:
        try:
            return scrape_metrics(metrics_port).get(SPOOL_GAUGE, -1.0)
        except httpx.HTTPError:  # a busy collector may answer late; ask again
            return -1.0

    try:
        # 1. both up: each park's readings land in its own server, and only there
        messages = [
            *readings(published, "north-park", first=0, n=200, start_ms=start_ms),
            *readings(published, "south-park", first=0, n=200, start_ms=start_ms),
        ]
        publish_all(mosquitto.port, messages)
        for park, server in PARKS.items():
            wait_for(
                lambda park=park, server=server: held(server, park) == published.count(park),
                timeout_s=20,
                what=f"{park}'s readings in {server}",
            )
        assert telemetry_totals(north.url, database, "south-park") == {}
        assert telemetry_totals(south.url, database, "north-park") == {}

        # 2. south stopped: north's readings go on, only south's are spooled. Published in
        # rounds, so that later batches meet a spool that already holds south's readings
        south.stop()
        for first in (200, 300, 400):
            messages = [
                *readings(published, "north-park", first=first, n=100, start_ms=start_ms),
                *readings(published, "south-park", first=first, n=100, start_ms=start_ms),
            ]
            publish_all(mosquitto.port, messages)  # returns once the broker has them all
            wait_for(
                lambda: held("north", "north-park") == published.count("north-park"),
                timeout_s=20,
                what="north-park's readings in north while south is down",
            )
            south_waiting = published.count("south-park") - 200 * len(DEVICES)
            wait_for(
                lambda waiting=south_waiting: spooled() == waiting,
                timeout_s=20,
                what=f"exactly south's {south_waiting} readings spooled",
            )
        series = {"device": "grid-main", "field": "power_kw", "start": start_ms}
        with TestClient(app) as api:  # the app's own start-up: the stores are ours, passed in
            up = api.get("/api/v1/parks/north-park/latest")
            north_series = api.get("/api/v1/parks/north-park/series", params=series)
            down = api.get("/api/v1/parks/south-park/latest")
            series_down = api.get("/api/v1/parks/south-park/series", params=series)
            health = api.get("/healthz")
        assert up.status_code == 200, up.text
        assert {r["device"] for r in up.json()["readings"]} == set(DEVICES)
        newest = max(r["time_ms"] for r in up.json()["readings"])
        assert newest == start_ms + 499 * 1000  # phase 2's last reading, stored in north
        assert north_series.status_code == 200, north_series.text
        for answer in (down, series_down):
            assert answer.status_code == 503, answer.text
            assert answer.json()["code"] == "store_unavailable"
            assert answer.json()["message"].startswith("the store 'south' is unavailable: ")
        assert health.status_code == 200
        assert health.json()["status"] == "degraded"
        assert health.json()["stores"] == {
            "default": "ok",
            "north": "ok",
            "south": "unavailable",
        }
        assert spooled() == south_waiting  # still only south's, nothing of north added

        # 3. south back: the spool drains into it, and nothing is lost or doubled anywhere
        south.start()
        wait_for(lambda: spooled() == 0, timeout_s=30, what="the spool to drain into south")
        for park, server in PARKS.items():
            wait_for(
                lambda park=park, server=server: held(server, park) == published.count(park),
                timeout_s=20,
                what=f"all of {park} in {server}",
            )
            stored = telemetry_totals(servers[server].url, database, park)
            assert stored == published.totals[park], f"{park} in {server}: stored ≠ published"
        assert telemetry_totals(north.url, database, "south-park") == {}
        assert telemetry_totals(south.url, database, "north-park") == {}
        log = collector.output()
        assert "the store 'south' is unavailable" in log
        assert collector.interrupt(timeout_s=15) == 0, collector.tail()
        assert "Traceback" not in collector.output()
    finally:
        collector.kill()
        api_store.close()
        forget_session(mosquitto.port, client_id)
        south.start()
        for server in servers.values():
            server.drop_database(database)


# -- the collector in-process, both stores failing in turn (embedded stores behind a switch) ------


def test_stores_failing_in_turn_lose_and_double_nothing(
    mosquitto: MosquittoService, tmp_path: Path
) -> None:
    """South stops, then north too, then south comes back before north: each park waits behind
    the spool only while its store is down or its readings are still spooled, a spooled batch
    spanning both stores replays whole once both answer, and every reading is stored once."""
    mosquitto.start()
    folder = registry_of(tmp_path / "registry", {"a": None, "b": None})
    registry = load_registry(folder)
    stores = {n: Switchable(tmp_path / f"{n}.sqlite3") for n in ("default", "north", "south")}
    routed = RoutedStore(stores, {"a": "north", "b": "south"})
    settings = Settings(
        mqtt_url=mosquitto.url,
        registry=folder,
        data_dir=tmp_path / "data",
        client_id=f"turns-{uuid.uuid4().hex[:8]}",
        batch_interval_s=0.05,
        metrics_port=0,
        ledger_follow=False,
    )
    collector = Collector(settings=settings, registry=registry, store=routed)
    published = Published({})
    start_ms = (time.time_ns() // 1_000_000 // 1000 - 3600) * 1000
    counter = iter(range(0, 10_000, 40))

    def round_of(*parks: str) -> None:
        first = next(counter)
        messages = []
        for park in parks:
            for i in range(first, first + 40):
                published.add(park, "grid", 0.25 * i, 0.5 * i)
                body = {"ts": start_ms + i * 1000, "power": 0.25 * i, "energy": 0.5 * i}
                messages.append((f"parks/{park}/devices/grid/telemetry", orjson.dumps(body)))
        publish_all(mosquitto.port, messages)

    # the test reads each file on a connection of its own, whether its store is "down" or not
    readers = {n: EmbeddedStore(tmp_path / f"{n}.sqlite3") for n in stores}

    def stored(name: str, park: str) -> int:
        return readers[name].count(park)

    collector.start()
    try:
        round_of("a", "b")
        wait_until(lambda: stored("north", "a") == stored("south", "b") == 40, what="round 1")

        stores["south"].down = True
        round_of("a", "b")
        wait_until(lambda: stored("north", "a") == 80, what="a stored while south is down")
        wait_until(lambda: collector.spool.readings == 40, what="only b's 40 readings spooled")
        round_of("a", "b")  # the spool holds b: a goes straight on, b waits behind it
        wait_until(lambda: stored("north", "a") == 120, what="a stored past the spool")
        wait_until(lambda: collector.spool.readings == 80, what="b's readings spooled")

        stores["north"].down = True
        round_of("a", "b")
        wait_until(lambda: collector.spool.readings == 160, what="both parks spooled")
        stores["south"].down = False  # north still down: the batch holding a cannot replay
        round_of("b")
        wait_until(lambda: stored("south", "b") >= 120, what="b's first spooled batches replayed")
        assert stored("north", "a") == 120
        assert len(collector.spool) > 0

        stores["north"].down = False
        wait_until(lambda: len(collector.spool) == 0, timeout_s=30, what="the spool drained")
        for name, park in (("north", "a"), ("south", "b")):
            totals = readers[name].aggregate(
                park,
                measurement="telemetry",
                fields={"n": ("count", "power_kw"), "p": ("sum", "power_kw")},
                start_ns=0,
                end_ns=2**62,
            )["grid"]
            want = published.totals[park]["grid"]
            assert (totals["n"], totals["p"]) == (want.count, want.power_kw_sum), park
        assert stored("north", "b") == stored("south", "a") == stored("default", "a") == 0
        assert collector.stats.readings_stored >= published.count("a") + published.count("b")
    finally:
        collector.stop(timeout_s=5)
        routed.close()
        for reader in readers.values():
            reader.close()
        forget_session(mosquitto.port, settings.client_id)
