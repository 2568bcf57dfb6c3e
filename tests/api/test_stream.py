"""The live stream under a real uvicorn on a loopback port: readings written to the store arrive
as ``reading`` and ``flows`` events within 1 s, a tenant's stream never carries another tenant's
device, alarms are pushed, no key is 401, and open streams are capped per key and in all."""

from __future__ import annotations

import asyncio
import contextlib
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
from config.errors import TooManyStreamsError
from config.registry import Registry, demo_registry_path, load_registry
from config.settings import Settings
from services.alarms import AlarmEngine
from services.stream import STREAM_RETRY_AFTER_S, StreamHub
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
    hub: StreamHub


@contextlib.contextmanager
def serving(tmp_path: Path, **overrides: object) -> Iterator[Live]:
    """The app under uvicorn on a free loopback port, with ``overrides`` over the tests' own
    settings."""
    store = EmbeddedStore(tmp_path / "stream.sqlite3")
    registry = load_registry(demo_registry_path())
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n  - {id: hot, kind: threshold, devices: {ids: [plant-1-main, tower-a-f05]},\n"
        "     above: 900, for_s: 0}\n"
    )
    chosen: dict[str, object] = {
        "stream_poll_s": 0.1,
        "alarm_rules": rules,
        "alarm_eval_s": 0.2,
        **overrides,
    }
    settings = Settings(_env_file=None, data_dir=tmp_path, **chosen)  # type: ignore[arg-type]
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
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped during start-up"
        assert time.monotonic() < deadline, "uvicorn did not start within 15 s"
        time.sleep(0.05)
    try:
        yield Live(
            f"http://127.0.0.1:{port}",
            store,
            registry,
            app.state.alarm_engine,
            app.state.stream_hub,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        store.close()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    with serving(tmp_path) as running:
        yield running


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


# -- how many streams may be open ------------------------------------------------------------------


def open_stream(client: httpx.Client, live: Live, token: str) -> httpx.Response:
    """A stream's response once its headers are in (the caller closes it: the client leaves)."""
    url = f"{live.url}/api/v1/parks/{PARK}/stream"
    request = client.build_request("GET", url, headers={"Authorization": f"Bearer {token}"})
    return client.send(request, stream=True)


def held(streams: contextlib.ExitStack, response: httpx.Response) -> httpx.Response:
    """``response``, closed when ``streams`` closes (if the test has not closed it before)."""
    streams.callback(response.close)
    return response


def assert_refused(response: httpx.Response, message: str) -> None:
    try:
        assert response.status_code == 429
        assert response.headers["retry-after"] == str(STREAM_RETRY_AFTER_S)
        body = orjson.loads(response.read())
        assert body["code"] == "too_many_streams"
        assert message in body["message"]
    finally:
        response.close()


def wait_until_open(live: Live, count: int, key: str | None = None) -> None:
    deadline = time.monotonic() + 5
    while live.hub.open_streams(key) != count:
        assert time.monotonic() < deadline, f"{live.hub.open_streams(key)} open, not {count}"
        time.sleep(0.02)


def test_a_key_may_hold_its_streams_and_no_more(tmp_path: Path) -> None:
    with (
        serving(tmp_path, stream_max_per_key=2, stream_max=10) as live,
        httpx.Client(timeout=httpx.Timeout(10.0, read=30.0)) as client,
        contextlib.ExitStack() as streams,
    ):
        first = held(streams, open_stream(client, live, OPERATOR))
        second = held(streams, open_stream(client, live, OPERATOR))
        assert (first.status_code, second.status_code) == (200, 200)
        assert live.hub.open_streams("ops") == 2
        assert_refused(
            open_stream(client, live, OPERATOR),
            "this API key already has 2 live streams open, the most allowed",
        )
        # another key has its own slots
        other = held(streams, open_stream(client, live, TENANT))
        assert other.status_code == 200
        # a client that goes away gives its slot back
        first.close()
        wait_until_open(live, 1, "ops")
        again = held(streams, open_stream(client, live, OPERATOR))
        assert again.status_code == 200
        lines = again.iter_lines()  # kept: dropping it would close the connection
        assert next(lines).startswith(("event: ", ":"))  # it streams
        assert live.hub.open_streams("ops") == 2
        streams.close()  # every client leaves
        wait_until_open(live, 0)


def test_the_server_caps_streams_across_keys(tmp_path: Path) -> None:
    with (
        serving(tmp_path, stream_max_per_key=2, stream_max=3) as live,
        httpx.Client(timeout=httpx.Timeout(10.0, read=30.0)) as client,
        contextlib.ExitStack() as streams,
    ):
        ops = [held(streams, open_stream(client, live, OPERATOR)) for _ in range(2)]
        tenant = held(streams, open_stream(client, live, TENANT))
        assert [r.status_code for r in [*ops, tenant]] == [200, 200, 200]
        # the tenant has a slot of its own left, the server has none
        assert_refused(
            open_stream(client, live, TENANT),
            "the server already has 3 live streams open, the most it serves",
        )
        assert live.hub.open_streams() == 3
        ops[0].close()
        wait_until_open(live, 2)
        more = held(streams, open_stream(client, live, TENANT))
        assert more.status_code == 200
        assert live.hub.open_streams("chip") == 2


def test_a_stream_that_ends_gives_its_slot_back(tmp_path: Path) -> None:
    with serving(tmp_path, stream_max_per_key=1) as live:
        for _ in range(3):  # one slot, used one after another
            response = httpx.get(
                f"{live.url}/api/v1/parks/{PARK}/stream?once=true",
                headers={"Authorization": f"Bearer {OPERATOR}"},
                timeout=10,
            )
            assert response.status_code == 200
            wait_until_open(live, 0)


def test_the_hub_counts_slots_per_key_and_in_all() -> None:
    registry = load_registry(demo_registry_path())

    class FakeStore:
        fail = False

        def latest(self, park: str) -> list[object]:
            if self.fail:
                raise OSError("the store is down")
            return []

    async def run() -> None:
        store = FakeStore()
        hub = StreamHub(store, registry.parks, poll_s=10, max_streams=3, max_per_key=2)  # type: ignore[arg-type]
        a1, _ = await hub.subscribe(PARK, devices=None, flows=True, key="a")
        a2, _ = await hub.subscribe(PARK, devices=None, flows=True, key="a")
        with pytest.raises(TooManyStreamsError, match="API key already has 2") as caught:
            await hub.subscribe(PARK, devices=None, flows=True, key="a")
        assert caught.value.retry_after_s == STREAM_RETRY_AFTER_S
        anonymous, _ = await hub.subscribe(PARK, devices=None, flows=True)  # auth off: no key
        with pytest.raises(TooManyStreamsError, match="server already has 3"):
            await hub.subscribe(PARK, devices=None, flows=True, key="b")
        assert (hub.open_streams(), hub.open_streams("a"), hub.open_streams("b")) == (3, 2, 0)
        hub.unsubscribe(a1)
        hub.unsubscribe(a1)  # twice frees one slot, not two
        assert (hub.open_streams(), hub.open_streams("a")) == (2, 1)
        # a stream that fails to start gives its slot back
        hub.unsubscribe(a2)
        hub.unsubscribe(anonymous)
        assert hub.subscribers(PARK) == 0
        store.fail = True
        with pytest.raises(OSError, match="down"):
            await hub.subscribe(PARK, devices=None, flows=True, key="a")
        assert hub.open_streams() == 0
        await hub.close()
        with pytest.raises(ValueError, match="max_per_key"):
            StreamHub(store, registry.parks, max_per_key=0)  # type: ignore[arg-type]

    asyncio.run(run())
