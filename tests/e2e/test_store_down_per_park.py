"""One park's store down costs only that park: the ledger follower and the alarm engine too
(issue 14, "Several stores"; tests/e2e/test_two_stores.py proves the collector and the API).

Two real influxd: ``north-park`` lives in ``north`` (the session's influxd), ``south-park`` in
``south`` (this test's own). A collector (in process, real Mosquitto) stores both, a ledger
follower (with its per-park leases) and an alarm engine (a threshold on the grid meter's power)
work on both. Then south's influxd is stopped by its PID and both parks publish readings whose
grid power is above the threshold:

- the north park is stored, its ledger follows its new readings and its alarm is raised, while the
  south park is skipped by the follower and the engine with one WARNING line each naming the store
  ``south`` and no traceback; the follow lease of each park lives in the park's own store;
- the API answers the north park's routes and 503 naming ``south`` for the south park's;
- south restarted: the collector's spool (which held exactly the south park's readings) drains,
  every reading is in its server once (count and sums per device equal what was published), and
  the follower and the engine catch the south park up: its ledger covers the readings published
  while it was down and its alarm is raised once.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from config.alarm_rules import RuleSet
from config.registry import load_registry
from config.settings import Settings
from ingest.collector import Collector
from services.alarms import AlarmEngine, AlarmState
from services.follow import LedgerFollower
from services.lease import LEASE
from services.ledger import LEDGER
from store import RoutedStore, open_stores
from tests.e2e.helpers import DeviceTotals, forget_session, publish_all, telemetry_totals, wait_for
from tests.e2e.test_two_stores import DEVICES, PARKS, Published, write_registry
from tests.support.servers import InfluxService, MosquittoService

pytestmark = [pytest.mark.mosquitto, pytest.mark.influxdb, pytest.mark.slow]

N = 60  # readings per device and phase, one a second
HIGH_KW = 150.0  # the grid meter's power in phase 2: above the rule's threshold
RULES = RuleSet.model_validate(
    {
        "rules": [
            {
                "id": "grid-peak",
                "kind": "threshold",
                "devices": {"ids": ["grid-main"]},
                "above": 120,
                "for_s": 10,
            }
        ]
    }
)


def phase(published: Published, park: str, *, first: int, t0_ms: int) -> list[tuple[str, bytes]]:
    """``N`` readings per device of ``park`` numbered from ``first`` as one gateway batch per
    device; the grid meter's power is :data:`HIGH_KW` from reading ``N`` on (phase 2)."""
    messages = []
    for j, device in enumerate(DEVICES):
        rows = []
        for i in range(first, first + N):
            high = device == "grid-main" and i >= N
            power = HIGH_KW if high else ((7 * i + 13 * j) % 200) * 0.25
            energy = 1000.0 * j + 0.5 * i
            rows.append({"ts": t0_ms + i * 1000, "power": power, "energy": energy})
            published.add(park, device, power, energy)
        topic = f"parks/{park}/devices/{device}/telemetry"
        messages.append((topic, orjson.dumps({"readings": rows})))
    return messages


@pytest.fixture
def south(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxService]:
    """A second influxd of this test's own (the session's is ``north``)."""
    service = InfluxService(tmp_path_factory.mktemp("influxd-south"))
    service.start()
    yield service
    service.stop()


def ledger_kwh(store: RoutedStore, park: str) -> float:
    """The grid meter's stored ledger energy over every interval [kWh]."""
    got = store.aggregate(
        park,
        measurement=LEDGER,
        fields={"e": ("sum", "energy_kwh")},
        start_ns=0,
        end_ns=2**62,
    )
    return got.get("grid-main", {}).get("e", 0.0)


def test_a_stopped_store_stops_only_its_park_s_ledger_and_alarms(
    influxd: InfluxService,
    south: InfluxService,
    mosquitto: MosquittoService,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    influxd.start()  # a previous test may have stopped it
    mosquitto.start()
    north = influxd
    servers = {"north": north, "south": south}
    database = f"down_{uuid.uuid4().hex[:10]}"
    stores = f"north={north.store_url(database)},south={south.store_url(database)}"
    registry_path = write_registry(tmp_path / "registry")
    registry = load_registry(registry_path)
    settings = Settings(
        mqtt_url=mosquitto.url,
        stores=stores,
        registry=registry_path,
        data_dir=tmp_path / "data",
        client_id=f"down-{database}",
        batch_interval_s=0.05,
        metrics_port=0,
        ledger_follow=False,  # the follower below is stepped by the test
        alarms=False,  # the engine below is stepped by the test
    )
    routed = open_stores(settings, registry)
    assert isinstance(routed, RoutedStore)
    collector = Collector(settings=settings, registry=registry, store=routed)
    follower = LedgerFollower(
        routed, registry, settle_s=5.0, holder="test", lease_ttl_s=2.0, store_retry_s=0.2
    )
    engine = AlarmEngine(routed, registry, RULES, store_retry_s=0.2)
    app = create_app(settings=settings, store=routed, registry=registry)
    published = Published({})
    t0_ms = (time.time_ns() // 1_000_000 // 1000 - 600) * 1000  # inside the engine's warm-up

    def held(park: str) -> dict[str, DeviceTotals] | None:
        try:
            return telemetry_totals(servers[PARKS[park]].url, database, park)
        except (AssertionError, TypeError, httpx.HTTPError):
            return None

    def stored_all(park: str) -> bool:
        return held(park) == published.totals[park]

    def grid_energy(park: str) -> float:
        """The grid meter's energy between its first and last reading published [kWh]."""
        return 0.5 * (published.totals[park]["grid-main"].count - 1)

    def active(park: str) -> list[str]:
        return [a.rule for a in engine.alarms(park) if a.state is AlarmState.RAISED]

    caplog.set_level(logging.INFO)
    collector.start()
    try:
        # 1. both up: stored, followed, evaluated (nothing above the threshold yet)
        messages = [m for p in PARKS for m in phase(published, p, first=0, t0_ms=t0_ms)]
        publish_all(mosquitto.port, messages)
        for park in PARKS:
            wait_for(lambda park=park: stored_all(park), timeout_s=10, what=f"{park} stored")
        assert follower.catch_up(timeout_s=10).unavailable == ()
        assert engine.step() == []
        for park in PARKS:
            assert ledger_kwh(routed, park) == pytest.approx(grid_energy(park), rel=1e-9)
        # each park's follow lease lives in the park's own store, not the default one
        for park, server in PARKS.items():
            claims = routed.stores[server].scan(
                f"follow:{park}", measurement=LEASE, start_ns=0, end_ns=2**62
            )
            assert [c.device for c in claims] == ["test"], park
            assert (
                routed.stores["default"].scan(
                    f"follow:{park}", measurement=LEASE, start_ns=0, end_ns=2**62
                )
                == []
            )

        # 2. south stopped by its PID: north goes on, south is skipped and named
        south.stop()
        caplog.clear()
        messages = [m for p in PARKS for m in phase(published, p, first=N, t0_ms=t0_ms)]
        publish_all(mosquitto.port, messages)
        wait_for(lambda: stored_all("north-park"), timeout_s=10, what="north-park stored")
        south_count = len(DEVICES) * N
        wait_for(
            lambda: collector.spool.readings == south_count,
            timeout_s=10,
            what=f"exactly south-park's {south_count} readings spooled",
        )
        step = follower.step()
        assert step.unavailable == ("south-park",)
        assert ledger_kwh(routed, "north-park") == pytest.approx(
            grid_energy("north-park"), rel=1e-9
        )  # the north ledger covers phase 2
        assert [(a.park, a.rule) for a in engine.step()] == [("north-park", "grid-peak")]
        assert active("north-park") == ["grid-peak"]
        assert "south-park" in engine.outages
        skipped = [r for r in caplog.records if "park south-park skipped" in r.getMessage()]
        assert {r.name for r in skipped} == {"smartpark.ledger", "smartpark.alarms"}
        for record in skipped:
            assert record.levelno == logging.WARNING
            assert "the store 'south' is unavailable" in record.getMessage()
            assert record.exc_info is None
            assert "\n" not in record.getMessage()
        assert not [r for r in caplog.records if r.exc_info is not None]

        with TestClient(app) as api:
            up = api.get("/api/v1/parks/north-park/latest")
            ledger_up = api.get("/api/v1/parks/north-park/ledger", params={"device": "grid-main"})
            down = api.get("/api/v1/parks/south-park/latest")
            series_down = api.get(
                "/api/v1/parks/south-park/series",
                params={"device": "grid-main", "field": "power_kw", "start": t0_ms},
            )
            ledger_down = api.get("/api/v1/parks/south-park/ledger", params={"device": "grid-main"})
        assert up.status_code == 200, up.text
        newest = max(r["time_ms"] for r in up.json()["readings"])
        assert newest == t0_ms + (2 * N - 1) * 1000  # phase 2's last reading
        assert ledger_up.status_code == 200, ledger_up.text
        for answer in (down, series_down, ledger_down):
            assert answer.status_code == 503, answer.text
            assert answer.json()["message"].startswith("the store 'south' is unavailable: ")
        assert collector.spool.readings == south_count  # still only south's

        # 3. south back: the spool drains, nothing lost or doubled; ledger and alarm catch up
        south.start()
        wait_for(lambda: len(collector.spool) == 0, timeout_s=10, what="the spool drained")
        for park in PARKS:
            wait_for(lambda park=park: stored_all(park), timeout_s=10, what=f"all of {park}")
        assert telemetry_totals(north.url, database, "south-park") == {}
        assert telemetry_totals(south.url, database, "north-park") == {}

        def followed_south() -> bool:
            follower.step()
            return ledger_kwh(routed, "south-park") == pytest.approx(
                grid_energy("south-park"), rel=1e-9
            )

        wait_for(followed_south, timeout_s=10, what="south-park's ledger caught up")
        raised: list[tuple[str, str]] = []

        def evaluated_south() -> bool:
            raised.extend((a.park, a.rule) for a in engine.step())
            return "south-park" not in engine.outages

        wait_for(evaluated_south, timeout_s=5, what="the engine to evaluate south-park again")
        assert raised == [("south-park", "grid-peak")]
        assert active("south-park") == ["grid-peak"]
        assert active("north-park") == ["grid-peak"]  # raised once, not again
        assert engine.step() == []
        back = [r.getMessage() for r in caplog.records if "answers again" in r.getMessage()]
        assert len([m for m in back if m.startswith("ledger-follower: park south-park")]) == 1
        assert len([m for m in back if m.startswith("alarm-engine: park south-park")]) == 1
        assert not [r for r in caplog.records if r.exc_info is not None]
    finally:
        collector.stop(timeout_s=5)
        follower.stop(timeout_s=2)
        routed.close()
        forget_session(mosquitto.port, settings.client_id)
        south.start()
        for server in servers.values():
            server.drop_database(database)
