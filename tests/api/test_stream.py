"""The live stream under a real uvicorn on a loopback port: readings written to the store arrive
as ``reading`` and ``flows`` events within 1 s, a tenant's stream never carries another tenant's
device, alarms are pushed, and no key is 401."""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
import uvicorn

from api.main import create_app
from config.auth import ApiKeys, KeyEntry, PrincipalRole, hash_token
from config.registry import Registry, demo_registry_path, load_registry
from config.settings import Settings
from services.alarms import AlarmEngine
from store.base import TELEMETRY, Point
from store.embedded import EmbeddedStore

PARK = "wuhan-demo"
OPERATOR = "stream-operator-key-0123456789abcdef012345678"
TENANT = "stream-tenant-key-0123456789abcdef0123456789"  # chipcore
KEYS = ApiKeys(
    [
        KeyEntry(name="ops", role=PrincipalRole.OPERATOR, park=PARK, sha256=hash_token(OPERATOR)),
        KeyEntry(
            name="chip",
            role=PrincipalRole.TENANT,
            park=PARK,
            tenant="chipcore",
            sha256=hash_token(TENANT),
        ),
    ]
)


@dataclass
class Live:
    url: str
    store: EmbeddedStore
    registry: Registry
    engine: AlarmEngine


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    store = EmbeddedStore(tmp_path / "stream.sqlite3")
    registry = load_registry(demo_registry_path())
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n  - {id: hot, kind: threshold, devices: {ids: [plant-1-main, tower-a-f05]},\n"
        "     above: 900, for_s: 0}\n"
    )
    settings = Settings(
        _env_file=None, data_dir=tmp_path, stream_poll_s=0.1, alarm_rules=rules, alarm_eval_s=0.2
    )
    app = create_app(settings=settings, store=store, registry=registry, auth=KEYS)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ws="none",
            timeout_graceful_shutdown=1,
        )
    )
    serving = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    serving.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert serving.is_alive(), "uvicorn stopped during start-up"
        assert time.monotonic() < deadline, "uvicorn did not start within 15 s"
        time.sleep(0.05)
    try:
        yield Live(f"http://127.0.0.1:{port}", store, registry, app.state.alarm_engine)
    finally:
        server.should_exit = True
        serving.join(timeout=15)
        sock.close()
        store.close()


Event = tuple[str, dict[str, object], float]


def read_events(
    url: str, token: str, out: queue.Queue[Event | None], stop: threading.Event
) -> None:
    """Parse the SSE stream into (event, data, monotonic receipt time) until ``stop`` (or the
    server closes it at shutdown)."""
    try:
        with (
            httpx.Client(timeout=httpx.Timeout(10.0, read=30.0)) as client,
            client.stream("GET", url, headers={"Authorization": f"Bearer {token}"}) as response,
        ):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            name = ""
            for line in response.iter_lines():
                if stop.is_set():
                    break
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    out.put((name, orjson.loads(line[6:]), time.monotonic()))
    except httpx.TransportError:
        pass  # the server stopped
    finally:
        out.put(None)


def subscribe(live: Live, token: str) -> tuple[queue.Queue[Event | None], threading.Event]:
    out: queue.Queue[Event | None] = queue.Queue()
    stop = threading.Event()
    threading.Thread(
        target=read_events,
        args=(f"{live.url}/api/v1/parks/{PARK}/stream", token, out, stop),
        daemon=True,
    ).start()
    return out, stop


def wait_for(
    out: queue.Queue[Event | None], pred: object, *, timeout_s: float, seen: list[Event]
) -> Event | None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            item = out.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            return None
        if item is None:
            return None
        seen.append(item)
        if pred(item):  # type: ignore[operator]
            return item
    return None


def points(t_ns: int, power: dict[str, float]) -> list[Point]:
    return [
        Point(TELEMETRY, {"park": PARK, "device": d}, {"power_kw": p}, t_ns)
        for d, p in power.items()
    ]


def test_readings_and_flows_arrive_within_a_second(live: Live) -> None:
    live.store.write(points(time.time_ns() - 10**9, {"grid-main": 1000.0, "tower-a-f05": 50.0}))
    out, stop = subscribe(live, OPERATOR)
    seen: list[Event] = []
    first = wait_for(out, lambda e: e[0] == "flows", timeout_s=5, seen=seen)
    assert first is not None, seen  # the snapshot: readings, then the flows
    assert {e[1]["device"] for e in seen if e[0] == "reading"} == {"grid-main", "tower-a-f05"}

    t_ns = time.time_ns()
    live.store.write(
        points(
            t_ns,
            {
                "grid-main": 1200.0,
                "pv-plant-1-a": 300.0,
                "bess-1": -100.0,
                "ev-01": 40.0,
                "tower-a-f05": 55.0,
            },
        )
    )
    written = time.monotonic()
    reading = wait_for(
        out,
        lambda e: (
            e[0] == "reading"
            and e[1]["device"] == "tower-a-f05"
            and e[1]["time_ms"] == t_ns // 10**6
        ),
        timeout_s=2,
        seen=seen,
    )
    assert reading is not None, seen[-5:]
    assert reading[1]["fields"] == {"power_kw": 55.0}
    assert reading[2] - written < 1.0
    flows = wait_for(
        out, lambda e: e[0] == "flows" and e[1]["grid_kw"] == 1200.0, timeout_s=2, seen=seen
    )
    assert flows is not None
    assert flows[2] - written < 1.0
    assert flows[1] == {
        "time_ms": t_ns // 10**6,
        "grid_kw": 1200.0,
        "pv_kw": 300.0,
        "battery_kw": -100.0,
        "ev_kw": 40.0,
        "load_kw": 1200.0 + 300.0 - 100.0 - 40.0,
    }
    stop.set()


def test_tenant_stream_carries_only_its_own_devices_and_alarms(live: Live) -> None:
    own = {d.id for d in live.registry.parks[PARK].devices if d.tenant == "chipcore"}
    others = {d.id for d in live.registry.parks[PARK].devices} - own
    live.store.write(points(time.time_ns(), {"grid-main": 900.0, "plant-1-main": 200.0}))
    out, stop = subscribe(live, TENANT)
    seen: list[Event] = []
    wait_for(out, lambda e: False, timeout_s=0.5, seen=seen)
    # every device reports; two meters go above the alarm threshold (own and another tenant's)
    for _ in range(3):
        t_ns = time.time_ns()
        live.store.write(points(t_ns, {d.id: 1000.0 for d in live.registry.parks[PARK].devices}))
        time.sleep(0.3)
    alarm = wait_for(out, lambda e: e[0] == "alarm", timeout_s=3, seen=seen)
    assert alarm is not None, "the tenant's own alarm was not pushed"
    wait_for(out, lambda e: False, timeout_s=1.0, seen=seen)
    stop.set()
    assert any(e[0] == "reading" and e[1]["device"] == "plant-1-main" for e in seen)
    carried = {str(e[1].get("device")) for e in seen}
    assert carried <= own, carried & others
    assert not [e for e in seen if e[0] == "flows"]
    text = str([e[1] for e in seen])
    assert not [d for d in others if f"'{d}'" in text]
    # the other tenant's alarm exists: the operator sees both
    devices = {a.device for a in live.engine.alarms(PARK, active_only=True)}
    assert devices == {"plant-1-main", "tower-a-f05"}


def test_stream_without_a_key_is_401(live: Live) -> None:
    response = httpx.get(f"{live.url}/api/v1/parks/{PARK}/stream", timeout=5)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    other = httpx.get(
        f"{live.url}/api/v1/parks/riverside/stream",
        headers={"Authorization": f"Bearer {TENANT}"},
        timeout=5,
    )
    assert other.status_code == 403


def test_a_slow_subscriber_is_dropped_not_buffered() -> None:
    import asyncio

    from services.stream import StreamHub

    registry = load_registry(demo_registry_path())

    class FakeStore:
        def latest(self, park: str) -> list[object]:
            return []

    async def run() -> None:
        hub = StreamHub(FakeStore(), registry.parks, poll_s=10, queue_size=10)  # type: ignore[arg-type]
        sub, snapshot = await hub.subscribe(PARK, devices=None, flows=True)
        assert snapshot == b""
        for i in range(11):
            hub.publish_alarm(PARK, None, {"n": i})
        await asyncio.sleep(0.05)
        assert sub.dropped
        assert hub.dropped == 1
        assert await sub.queue.get() is None  # the stream ends
        assert hub.subscribers(PARK) == 0
        await hub.close()

    asyncio.run(run())
