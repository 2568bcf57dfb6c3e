"""The HTTP API against an embedded store and the demo registry: every endpoint, its values, its
timestamps and its errors.

Requests go through httpx's ASGI transport (no socket, no server); handlers still run in the
thread pool as they do under uvicorn.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from api.main import STATIC_DIR, create_app
from api.routes import parks as parks_routes
from config.errors import RegistryError, StoreQueryError, StoreUnavailableError
from config.registry import Registry, demo_registry_path, load_registry
from config.settings import Settings
from store.base import TELEMETRY, LatestReading, Point, QuarantineRecord, SeriesQuery, SeriesRow
from store.embedded import EmbeddedStore

PARK = "wuhan-demo"
MS = 1_000_000  # ns per ms
T0_MS = 1_748_736_000_000  # 2025-06-01T00:00:00Z, a multiple of every bucket width used here
T0_ISO = "2025-06-01T00:00:00.000Z"


def point(device: str, time_ms: int, park: str = PARK, **fields: float) -> Point:
    return Point(TELEMETRY, {"park": park, "device": device}, fields, time_ms * MS)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(demo_registry_path())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    s = EmbeddedStore(tmp_path / "api.sqlite3")
    yield s
    s.close()


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **overrides)


async def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@pytest.fixture
async def client(
    tmp_path: Path, store: EmbeddedStore, registry: Registry
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings=settings_for(tmp_path), store=store, registry=registry)
    async with await client_for(app) as c:
        yield c


def assert_error(response: httpx.Response, status: int, code: str, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    for word in words:
        assert word in body["message"], body
    return body


# -- health, parks, devices -------------------------------------------------------------------


async def test_healthz_reports_store_and_parks(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["store"] == "ok"
    assert body["parks"] == 1
    assert body["version"]


async def test_healthz_is_503_when_the_store_does_not_answer(
    tmp_path: Path, registry: Registry
) -> None:
    dead = EmbeddedStore(tmp_path / "dead.sqlite3")
    dead.close()
    app = create_app(settings=settings_for(tmp_path), store=dead, registry=registry)
    async with await client_for(app) as c:
        r = await c.get("/healthz")
    assert r.status_code == 503
    assert r.json()["status"] == "degraded"
    assert r.json()["store"] == "unavailable"


async def test_parks_lists_the_demo_park(client: httpx.AsyncClient, registry: Registry) -> None:
    r = await client.get("/api/v1/parks")
    assert r.status_code == 200
    [park] = r.json()
    demo = registry.parks[PARK]
    assert park["id"] == PARK
    assert park["name"] == demo.park.name
    assert park["timezone"] == "Asia/Shanghai"
    assert park["devices"] == len(demo.devices)
    assert park["tenants"] == len(demo.tenants)
    assert park["buildings"] == len(demo.buildings)


async def test_park_detail_has_tenants_and_buildings(client: httpx.AsyncClient) -> None:
    r = await client.get(f"/api/v1/parks/{PARK}")
    assert r.status_code == 200
    body = r.json()
    assert body["park"]["id"] == PARK
    tower = next(b for b in body["buildings"] if b["id"] == "tower-a")
    assert len(tower["floors"]) == 24
    assert tower["floors"][11] == {"number": 12, "tenant": "t12", "area_m2": 1800.0}
    assert {"id": "lumina", "name": "Lumina Fibre Optics Co.", "sector": "optical fibre"} in body[
        "tenants"
    ]


async def test_devices_list_the_registry_with_stored_field_names(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    r = await client.get(f"/api/v1/parks/{PARK}/devices")
    assert r.status_code == 200
    devices = r.json()
    assert [d["id"] for d in devices] == [d.id for d in registry.parks[PARK].devices]
    by_id = {d["id"]: d for d in devices}
    bess = by_id["bess-1"]
    assert bess["kind"] == "battery"
    assert bess["role"] == "storage"
    assert bess["capacity_kw"] == 250
    assert bess["capacity_kwh"] == 500
    assert {(f["name"], f["unit"]) for f in bess["fields"]} == {
        ("charge_energy_kwh", "kWh"),
        ("discharge_energy_kwh", "kWh"),
        ("power_kw", "kW"),
        ("soc_pct", "%"),
    }
    assert [f["name"] for f in by_id["gas-boiler"]["fields"]] == ["volume_m3", "flow_m3_per_h"]
    assert [f["name"] for f in by_id["env-outdoor"]["fields"]] == [
        "temperature_degc",
        "humidity_pct",
        "pm25_ug_per_m3",
        "co2_ppm",
    ]
    energy = next(f for f in by_id["grid-main"]["fields"] if f["name"] == "energy_kwh")
    assert energy["cumulative"] is True
    assert by_id["tower-a-f12"]["parent"] == "tower-a-main"
    assert by_id["tower-a-f12"]["floor"] == 12
    assert by_id["tower-a-f12"]["tenant"] == "t12"


async def test_devices_filter_by_role_and_kind(client: httpx.AsyncClient) -> None:
    pv = (await client.get(f"/api/v1/parks/{PARK}/devices", params={"role": "pv"})).json()
    assert [d["id"] for d in pv] == ["pv-plant-1-a", "pv-plant-1-b", "pv-plant-2-a"]
    ev = (await client.get(f"/api/v1/parks/{PARK}/devices", params={"kind": "ev_charger"})).json()
    assert len(ev) == 8
    r = await client.get(f"/api/v1/parks/{PARK}/devices", params={"role": "nuclear"})
    assert_error(r, 422, "invalid_request", "role")


async def test_one_device(client: httpx.AsyncClient) -> None:
    r = await client.get(f"/api/v1/parks/{PARK}/devices/ev-05")
    assert r.status_code == 200
    assert r.json()["capacity_kw"] == 7
    r = await client.get(f"/api/v1/parks/{PARK}/devices/ev-99")
    assert_error(r, 404, "not_found", "ev-99")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/parks/nowhere",
        "/api/v1/parks/nowhere/devices",
        "/api/v1/parks/nowhere/devices/grid-main",
        "/api/v1/parks/nowhere/latest",
        "/api/v1/parks/nowhere/series?device=grid-main&field=power_kw",
    ],
)
async def test_unknown_park_is_a_404_with_a_json_error(
    client: httpx.AsyncClient, path: str
) -> None:
    assert_error(await client.get(path), 404, "not_found", "unknown park", "nowhere")


async def test_unknown_route_is_a_json_404(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/v1/nothing-here"), 404, "not_found")


# -- latest -----------------------------------------------------------------------------------


async def test_latest_returns_the_newest_reading_of_each_device_intact(
    client: httpx.AsyncClient, store: EmbeddedStore
) -> None:
    now_ms = time.time_ns() // MS
    store.write(
        [
            # written newest first: the order of arrival must not matter
            point("grid-main", now_ms - 2_000, power_kw=812.25, energy_kwh=123_456.5),
            point("grid-main", now_ms - 4_000, power_kw=700.0, energy_kwh=123_455.0),
            point("bess-1", now_ms - 1_000, power_kw=-120.5, soc_pct=63.0),
            point("pv-plant-1-a", now_ms - 120_000, power_kw=310.0),  # two minutes old
            point("not-in-registry", now_ms - 1_000, power_kw=1.0),
            point("grid-main", now_ms - 1_000, park="other-park", power_kw=1.0),
        ]
    )
    before_ms = time.time_ns() // MS
    r = await client.get(f"/api/v1/parks/{PARK}/latest")
    after_ms = time.time_ns() // MS
    assert r.status_code == 200
    body = r.json()
    assert body["park"] == PARK
    assert body["stale_after_s"] == 60
    assert before_ms <= body["server_time_ms"] <= after_ms
    readings = {x["device"]: x for x in body["readings"]}
    assert list(readings) == ["bess-1", "grid-main", "not-in-registry", "pv-plant-1-a"]

    grid = readings["grid-main"]
    assert grid["fields"] == {"energy_kwh": 123_456.5, "power_kw": 812.25}
    assert grid["time_ms"] == now_ms - 2_000
    assert grid["time"] == iso(now_ms - 2_000)
    assert grid["kind"] == "electricity_meter"
    assert grid["role"] == "grid_connection"
    assert grid["stale"] is False
    assert 2.0 <= grid["age_s"] < 2.0 + (after_ms - now_ms) / 1000 + 0.01

    assert readings["bess-1"]["fields"] == {"power_kw": -120.5, "soc_pct": 63.0}
    assert readings["pv-plant-1-a"]["stale"] is True
    assert readings["pv-plant-1-a"]["age_s"] >= 120
    assert readings["not-in-registry"]["kind"] is None
    assert readings["not-in-registry"]["role"] is None


async def test_latest_of_a_park_without_data_is_empty(client: httpx.AsyncClient) -> None:
    r = await client.get(f"/api/v1/parks/{PARK}/latest")
    assert r.status_code == 200
    assert r.json()["readings"] == []


def iso(time_ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time_ms // 1000)) + (
        f".{time_ms % 1000:03d}Z"
    )


def test_iso_helper_matches_a_known_instant() -> None:
    assert iso(T0_MS) == T0_ISO
    assert iso(T0_MS + 1_234) == "2025-06-01T00:00:01.234Z"


# -- series -----------------------------------------------------------------------------------


@pytest.fixture
def ten_minutes(store: EmbeddedStore) -> list[float]:
    """grid-main power_kw at T0 + 0, 1, ..., 9 minutes: values 0, 10, ..., 90 (plus an offset)."""
    values = [10.0 * i + 0.5 for i in range(10)]
    store.write([point("grid-main", T0_MS + 60_000 * i, power_kw=v) for i, v in enumerate(values)])
    # another field, device and park at the same times must not leak into the answer
    store.write([point("grid-main", T0_MS + 60_000 * i, energy_kwh=1e6 + i) for i in range(10)])
    store.write([point("tower-a-main", T0_MS + 60_000 * i, power_kw=-1.0) for i in range(10)])
    store.write(
        [point("grid-main", T0_MS + 60_000 * i, "x-park", power_kw=-1.0) for i in range(10)]
    )
    return values


def series_params(**extra: str | int) -> dict[str, str | int]:
    return {"device": "grid-main", "field": "power_kw", **extra}


async def test_series_raw_values_and_times_are_intact(
    client: httpx.AsyncClient, ten_minutes: list[float]
) -> None:
    r = await client.get(
        f"/api/v1/parks/{PARK}/series",
        params=series_params(start=T0_MS, end=T0_MS + 600_000),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["unit"] == "kW"
    assert body["every_s"] is None
    assert body["agg"] is None
    assert body["start"] == T0_ISO
    assert body["start_ms"] == T0_MS
    assert body["end_ms"] == T0_MS + 600_000
    assert [p["value"] for p in body["points"]] == ten_minutes
    assert [p["time_ms"] for p in body["points"]] == [T0_MS + 60_000 * i for i in range(10)]
    assert body["points"][3]["time"] == "2025-06-01T00:03:00.000Z"


async def test_series_start_is_inclusive_and_end_exclusive(
    client: httpx.AsyncClient, ten_minutes: list[float]
) -> None:
    r = await client.get(
        f"/api/v1/parks/{PARK}/series",
        params=series_params(start=T0_MS + 60_000, end=T0_MS + 180_000),
    )
    assert [p["value"] for p in r.json()["points"]] == ten_minutes[1:3]


@pytest.mark.parametrize(
    ("agg", "expected"),
    [
        ("mean", [20.5, 70.5]),
        ("min", [0.5, 50.5]),
        ("max", [40.5, 90.5]),
        ("sum", [102.5, 352.5]),
        ("count", [5.0, 5.0]),
        ("first", [0.5, 50.5]),
        ("last", [40.5, 90.5]),
    ],
)
async def test_series_aggregates_per_bucket_on_the_server(
    client: httpx.AsyncClient, ten_minutes: list[float], agg: str, expected: list[float]
) -> None:
    r = await client.get(
        f"/api/v1/parks/{PARK}/series",
        params=series_params(start=T0_MS, end=T0_MS + 600_000, every="5m", agg=agg),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["every_s"] == 300
    assert body["agg"] == agg
    assert [p["time_ms"] for p in body["points"]] == [T0_MS, T0_MS + 300_000]
    assert [p["time"] for p in body["points"]] == [T0_ISO, "2025-06-01T00:05:00.000Z"]
    values = [p["value"] for p in body["points"]]
    assert values == pytest.approx(expected, rel=1e-12)


async def test_series_mean_is_the_default_aggregate(
    client: httpx.AsyncClient, ten_minutes: list[float]
) -> None:
    r = await client.get(
        f"/api/v1/parks/{PARK}/series",
        params=series_params(start=T0_MS, end=T0_MS + 600_000, every=600),
    )
    assert r.json()["agg"] == "mean"
    assert [p["value"] for p in r.json()["points"]] == pytest.approx([sum(ten_minutes) / 10])


async def test_series_leaves_empty_buckets_out(
    client: httpx.AsyncClient, ten_minutes: list[float]
) -> None:
    r = await client.get(
        f"/api/v1/parks/{PARK}/series",
        params=series_params(start=T0_MS - 3_600_000, end=T0_MS + 3_600_000, every="1m"),
    )
    assert len(r.json()["points"]) == 10


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (str(T0_MS), str(T0_MS + 600_000)),
        ("2025-06-01T00:00:00Z", "2025-06-01T00:10:00Z"),
        ("2025-06-01T08:00:00+08:00", "2025-06-01T08:10:00+08:00"),
        ("2025-06-01T00:00:00.000+00:00", "2025-05-31T20:10:00-04:00"),
    ],
)
async def test_series_accepts_epoch_ms_and_iso_with_offset(
    client: httpx.AsyncClient, ten_minutes: list[float], start: str, end: str
) -> None:
    r = await client.get(f"/api/v1/parks/{PARK}/series", params=series_params(start=start, end=end))
    assert r.status_code == 200, r.text
    assert r.json()["start_ms"] == T0_MS
    assert r.json()["end_ms"] == T0_MS + 600_000
    assert len(r.json()["points"]) == 10


@pytest.mark.parametrize(
    ("every", "seconds"), [("300", 300), ("5m", 300), ("300s", 300), ("1h30m", 5400), ("1d", 86400)]
)
async def test_series_every_in_seconds_or_as_a_duration(
    client: httpx.AsyncClient, ten_minutes: list[float], every: str, seconds: int
) -> None:
    r = await client.get(
        f"/api/v1/parks/{PARK}/series",
        params=series_params(start=T0_MS, end=T0_MS + 600_000, every=every),
    )
    assert r.status_code == 200, r.text
    assert r.json()["every_s"] == seconds


async def test_series_defaults_to_the_last_hour(
    client: httpx.AsyncClient, store: EmbeddedStore
) -> None:
    now_ms = time.time_ns() // MS
    store.write(
        [
            point("grid-main", now_ms - 10 * 60_000, power_kw=1.0),
            point("grid-main", now_ms - 2 * 3_600_000, power_kw=2.0),
        ]
    )
    r = await client.get(f"/api/v1/parks/{PARK}/series", params=series_params())
    body = r.json()
    assert body["end_ms"] - body["start_ms"] == 3_600_000
    assert body["end_ms"] >= now_ms
    assert [p["value"] for p in body["points"]] == [1.0]

    r = await client.get(f"/api/v1/parks/{PARK}/series", params=series_params(end=now_ms))
    assert r.json()["start_ms"] == now_ms - 3_600_000


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"start": T0_MS + 1, "end": T0_MS}, ["end must be after start"]),
        ({"start": T0_MS, "end": T0_MS}, ["end must be after start"]),
        ({"agg": "median"}, ["agg"]),
        ({"every": "0"}, ["every", "positive"]),
        ({"every": "5x"}, ["every", "duration"]),
        ({"every": "-5"}, ["every"]),
        ({"every": "400d"}, ["every"]),
        ({"start": "2025-06-01T00:00:00"}, ["start", "offset"]),
        ({"start": "yesterday"}, ["start", "ISO-8601"]),
        ({"end": "99999999999999999"}, ["end", "range"]),
        ({"field": "power"}, ["power_kw", "energy_kwh"]),
        ({"field": "soc_pct"}, ["no field"]),
    ],
)
async def test_series_rejects_bad_parameters_with_422(
    client: httpx.AsyncClient, params: dict[str, str | int], words: list[str]
) -> None:
    r = await client.get(f"/api/v1/parks/{PARK}/series", params=series_params(**params))
    assert_error(r, 422, "invalid_request", *words)


async def test_series_422_lists_each_bad_parameter(client: httpx.AsyncClient) -> None:
    r = await client.get(
        f"/api/v1/parks/{PARK}/series",
        params=series_params(start="soon", every="fast"),
    )
    body = assert_error(r, 422, "invalid_request", "start:", "every:")
    assert {tuple(e["loc"]) for e in body["errors"]} == {("query", "start"), ("query", "every")}


async def test_series_needs_device_and_field(client: httpx.AsyncClient) -> None:
    r = await client.get(f"/api/v1/parks/{PARK}/series")
    body = assert_error(r, 422, "invalid_request", "device", "field")
    assert len(body["errors"]) == 2


async def test_series_unknown_device_is_a_404(client: httpx.AsyncClient) -> None:
    r = await client.get(
        f"/api/v1/parks/{PARK}/series", params={"device": "ghost", "field": "power_kw"}
    )
    assert_error(r, 404, "not_found", "ghost")


async def test_series_refuses_more_buckets_than_the_cap(client: httpx.AsyncClient) -> None:
    r = await client.get(
        f"/api/v1/parks/{PARK}/series",
        params=series_params(start=T0_MS, end=T0_MS + 86_400_000, every="1s"),
    )
    assert_error(r, 422, "invalid_request", "86400", str(parks_routes.MAX_POINTS))
    r = await client.get(
        f"/api/v1/parks/{PARK}/series",
        params=series_params(start=T0_MS, end=T0_MS + 86_400_000, every="10s"),
    )
    assert r.status_code == 200  # 8,640 buckets


async def test_series_refuses_more_raw_readings_than_the_cap(
    client: httpx.AsyncClient, ten_minutes: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parks_routes, "MAX_POINTS", 9)
    window = series_params(start=T0_MS, end=T0_MS + 600_000)
    r = await client.get(f"/api/v1/parks/{PARK}/series", params=window)
    assert_error(r, 422, "invalid_request", "more than 9 raw readings", "every")
    r = await client.get(f"/api/v1/parks/{PARK}/series", params={**window, "every": "5m"})
    assert r.status_code == 200
    monkeypatch.setattr(parks_routes, "MAX_POINTS", 10)
    r = await client.get(f"/api/v1/parks/{PARK}/series", params=window)
    assert len(r.json()["points"]) == 10


async def test_series_max_points_keeps_raw_readings_that_fit(
    client: httpx.AsyncClient, ten_minutes: list[float]
) -> None:
    window = series_params(start=T0_MS, end=T0_MS + 600_000)
    for max_points in (10, 500):
        r = await client.get(
            f"/api/v1/parks/{PARK}/series", params={**window, "max_points": max_points}
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["every_s"], body["agg"], body["every_auto"]) == (None, None, False)
        assert body["max_points"] == max_points
        assert [p["value"] for p in body["points"]] == ten_minutes
        assert all(p["min"] is None and p["max"] is None for p in body["points"])


async def test_series_max_points_makes_the_server_pick_every(
    client: httpx.AsyncClient, ten_minutes: list[float]
) -> None:
    window = series_params(start=T0_MS, end=T0_MS + 600_000)
    r = await client.get(f"/api/v1/parks/{PARK}/series", params={**window, "max_points": 4})
    assert r.status_code == 200, r.text
    body = r.json()
    # 10 minutes in at most 4 buckets: 2 min gives 5, 5 min (the next nice width) gives 2
    assert (body["every_s"], body["agg"], body["every_auto"]) == (300, "mean", True)
    assert [p["time_ms"] for p in body["points"]] == [T0_MS, T0_MS + 300_000]
    assert [p["value"] for p in body["points"]] == pytest.approx([20.5, 70.5])
    # the envelope the mean hides
    assert [p["min"] for p in body["points"]] == [0.5, 50.5]
    assert [p["max"] for p in body["points"]] == [40.5, 90.5]
    r = await client.get(
        f"/api/v1/parks/{PARK}/series", params={**window, "max_points": 1, "agg": "max"}
    )
    body = r.json()
    assert body["every_s"] == 600
    assert [p["value"] for p in body["points"]] == [90.5]
    assert body["points"][0]["min"] is None  # the envelope only for agg=mean


async def test_series_max_points_with_an_explicit_every(
    client: httpx.AsyncClient, ten_minutes: list[float]
) -> None:
    window = series_params(start=T0_MS, end=T0_MS + 600_000)
    r = await client.get(
        f"/api/v1/parks/{PARK}/series", params={**window, "every": "1m", "max_points": 5}
    )
    assert_error(r, 422, "invalid_request", "every=60s", "more than 5", "max_points")
    r = await client.get(
        f"/api/v1/parks/{PARK}/series", params={**window, "every": "2m", "max_points": 5}
    )
    assert r.status_code == 200
    assert (r.json()["every_s"], r.json()["every_auto"], len(r.json()["points"])) == (120, False, 5)
    for bad in (0, -1, parks_routes.MAX_POINTS + 1, "many"):
        r = await client.get(f"/api/v1/parks/{PARK}/series", params={**window, "max_points": bad})
        assert_error(r, 422, "invalid_request", "max_points")


@pytest.mark.parametrize("max_points", [1, 2, 3, 7, 100, 1000, 10_000])
@pytest.mark.parametrize(
    ("start_s", "span_s"),
    [(0, 1), (59, 2), (1_748_736_123, 86_400), (1_748_736_000, 7 * 86_400), (17, 400 * 86_400)],
)
def test_auto_every_never_gives_more_buckets(max_points: int, start_s: int, span_s: int) -> None:
    start_ns, end_ns = start_s * 10**9, (start_s + span_s) * 10**9
    every = parks_routes.auto_every(start_ns, end_ns, max_points)
    every_ns = every * 10**9
    buckets = (end_ns - 1) // every_ns - start_ns // every_ns + 1
    assert buckets <= max_points
    if every > 1 and every < 86_400:  # the next smaller nice width would give too many
        smaller = max(
            w
            for w in (
                1,
                2,
                5,
                10,
                15,
                30,
                60,
                120,
                300,
                600,
                900,
                1800,
                3600,
                7200,
                10800,
                21600,
                43200,
            )
            if w < every
        )
        s_ns = smaller * 10**9
        assert (end_ns - 1) // s_ns - start_ns // s_ns + 1 > max_points


# -- quarantine -------------------------------------------------------------------------------


def quarantined(i: int, park: str) -> QuarantineRecord:
    return QuarantineRecord(
        received_ns=(T0_MS + i * 1_000) * MS,
        reason="not_json" if i % 2 else "unknown_device",
        detail=f"record {i}",
        topic=f"parks/{park}/devices/dev-{i}/telemetry",
        excerpt='{"ts": 1, "power": "lots"}',
        park=park,
        device=f"dev-{i}",
    )


async def test_quarantine_lists_newest_first_with_all_fields(
    client: httpx.AsyncClient, store: EmbeddedStore
) -> None:
    store.write_quarantine([quarantined(i, PARK if i < 3 else "ghost-park") for i in range(5)])
    r = await client.get("/api/v1/quarantine")
    assert r.status_code == 200
    body = r.json()
    assert body["park"] is None
    assert body["limit"] == 100
    assert [x["detail"] for x in body["records"]] == [f"record {i}" for i in (4, 3, 2, 1, 0)]
    first = body["records"][-1]
    assert first == {
        "received": T0_ISO,
        "received_ms": T0_MS,
        "reason": "unknown_device",
        "detail": "record 0",
        "topic": f"parks/{PARK}/devices/dev-0/telemetry",
        "excerpt": '{"ts": 1, "power": "lots"}',
        "park": PARK,
        "device": "dev-0",
    }


async def test_quarantine_filters_by_any_park_and_limits(
    client: httpx.AsyncClient, store: EmbeddedStore
) -> None:
    store.write_quarantine([quarantined(i, PARK if i < 3 else "ghost-park") for i in range(5)])
    r = await client.get("/api/v1/quarantine", params={"park": PARK, "limit": 2})
    assert [x["detail"] for x in r.json()["records"]] == ["record 2", "record 1"]
    # a park the registry does not know is a valid filter: that is why input gets quarantined
    r = await client.get("/api/v1/quarantine", params={"park": "ghost-park"})
    assert r.status_code == 200
    assert [x["device"] for x in r.json()["records"]] == ["dev-4", "dev-3"]


@pytest.mark.parametrize("limit", ["0", "1001", "many"])
async def test_quarantine_rejects_a_bad_limit(client: httpx.AsyncClient, limit: str) -> None:
    r = await client.get("/api/v1/quarantine", params={"limit": limit})
    assert_error(r, 422, "invalid_request", "limit")


# -- store failures and odd values ------------------------------------------------------------


class FailingStore(EmbeddedStore):
    """An embedded store whose reads fail with a given error."""

    error: Exception = StoreUnavailableError("connection refused")

    def latest(self, park: str, *, measurement: str = TELEMETRY) -> list[LatestReading]:
        raise self.error

    def series(self, query: SeriesQuery) -> list[SeriesRow]:
        raise self.error

    def quarantined(self, *, park: str | None = None, limit: int = 1000) -> list[QuarantineRecord]:
        raise self.error


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/parks/{PARK}/latest",
        f"/api/v1/parks/{PARK}/series?device=grid-main&field=power_kw",
        "/api/v1/quarantine",
    ],
)
@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (StoreUnavailableError("connection refused"), 503, "store_unavailable"),
        (StoreQueryError("syntax error in InfluxQL"), 502, "store_query_failed"),
    ],
)
async def test_store_errors_become_json_503_or_502(
    tmp_path: Path,
    registry: Registry,
    path: str,
    error: Exception,
    status: int,
    code: str,
) -> None:
    failing = FailingStore(tmp_path / "failing.sqlite3")
    failing.error = error
    app = create_app(settings=settings_for(tmp_path), store=failing, registry=registry)
    async with await client_for(app) as c:
        r = await c.get(path)
    failing.close()
    assert_error(r, status, code, str(error))
    if status == 503:
        assert r.headers["retry-after"] == "5"


class NaNStore(EmbeddedStore):
    def latest(self, park: str, *, measurement: str = TELEMETRY) -> list[LatestReading]:
        return [LatestReading("grid-main", T0_MS * MS, {"power_kw": math.nan, "energy_kwh": 1.0})]

    def series(self, query: SeriesQuery) -> list[SeriesRow]:
        return [SeriesRow(T0_MS * MS, math.inf), SeriesRow(T0_MS * MS + 1, 2.0)]


async def test_non_finite_values_go_out_as_null(tmp_path: Path, registry: Registry) -> None:
    nan_store = NaNStore(tmp_path / "nan.sqlite3")
    app = create_app(settings=settings_for(tmp_path), store=nan_store, registry=registry)
    async with await client_for(app) as c:
        latest = await c.get(f"/api/v1/parks/{PARK}/latest")
        series = await c.get(f"/api/v1/parks/{PARK}/series", params=series_params())
    nan_store.close()
    assert latest.json()["readings"][0]["fields"] == {"energy_kwh": 1.0, "power_kw": None}
    assert [p["value"] for p in series.json()["points"]] == [None, 2.0]


# -- app lifecycle, docs, page ----------------------------------------------------------------


async def test_app_opens_the_store_from_settings_and_closes_it(tmp_path: Path) -> None:
    app = create_app(settings=settings_for(tmp_path, store_url="", registry=None))
    async with app.router.lifespan_context(app), await client_for(app) as c:
        assert (await c.get("/healthz")).json()["status"] == "ok"
        assert [p["id"] for p in (await c.get("/api/v1/parks")).json()] == [PARK]
        opened = app.state.store
        assert isinstance(opened, EmbeddedStore)
        assert opened.path == tmp_path / "store.sqlite3"
    assert opened.ping() is False  # closed at shutdown


async def test_app_start_fails_on_a_bad_registry(tmp_path: Path) -> None:
    app = create_app(settings=settings_for(tmp_path, registry=tmp_path / "missing.yaml"))
    with pytest.raises(RegistryError, match="registry file not found"):
        async with app.router.lifespan_context(app):
            pass


async def test_app_leaves_an_injected_store_open(
    tmp_path: Path, store: EmbeddedStore, registry: Registry
) -> None:
    app = create_app(settings=settings_for(tmp_path), store=store, registry=registry)
    async with app.router.lifespan_context(app):
        pass
    assert store.ping() is True


async def test_openapi_documents_every_endpoint(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert set(spec["paths"]) >= {
        "/healthz",
        "/api/v1/parks",
        "/api/v1/parks/{park}",
        "/api/v1/parks/{park}/devices",
        "/api/v1/parks/{park}/devices/{device}",
        "/api/v1/parks/{park}/latest",
        "/api/v1/parks/{park}/series",
        "/api/v1/quarantine",
    }
    params = {p["name"] for p in spec["paths"]["/api/v1/parks/{park}/series"]["get"]["parameters"]}
    assert params == {"park", "device", "field", "start", "end", "every", "agg", "max_points"}


_URL_IN_PAGE = re.compile(r"(?:src|href)=\"([^\"]+)\"")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_load_their_assets_from_the_app_only(
    client: httpx.AsyncClient, page: str
) -> None:
    r = await client.get(page)
    assert r.status_code == 200
    assert "http://" not in r.text
    assert "https://" not in r.text
    assets = _URL_IN_PAGE.findall(r.text)
    assert any(a.endswith(".js") for a in assets)
    for asset in assets:
        assert asset.startswith("/"), asset
        assert (await client.get(asset)).status_code == 200, asset


async def test_dashboard_page_and_its_assets_are_served(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    # in-page routes (#/...) are the page's own views, not files
    assets = [a for a in _URL_IN_PAGE.findall(r.text) if not a.startswith(("data:", "#"))]
    assert sorted(set(assets)) == ["docs", "static/js/main.js", "static/style.css"]
    for asset in ["static/js/main.js", "static/style.css"]:
        assert (await client.get(f"/{asset}")).status_code == 200


def test_dashboard_files_name_no_other_host() -> None:
    for name in [
        "index.html",
        "style.css",
        *(p.relative_to(STATIC_DIR).as_posix() for p in STATIC_DIR.rglob("*.js")),
    ]:
        text = (STATIC_DIR / name).read_text(encoding="utf-8")
        # the SVG namespace is an identifier createElementNS needs, never fetched
        text = text.replace('"http://www.w3.org/2000/svg"', '"<svg namespace>"')
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", text), name


# -- /energy: `period` (a local calendar period) and its older name `every` ----------------------


async def test_energy_period_is_every_under_a_clearer_name(client: httpx.AsyncClient) -> None:
    url = f"/api/v1/parks/{PARK}/energy"
    # 2025-01-15 to 2025-03-10 in Asia/Shanghai: three local months, whatever the name
    span = {"start": "2025-01-15T00:00:00+08:00", "end": "2025-03-10T00:00:00+08:00"}
    by_period = await client.get(url, params={**span, "period": "month"})
    by_every = await client.get(url, params={**span, "every": "month"})
    both = await client.get(url, params={**span, "period": "month", "every": "month"})
    default = await client.get(url, params=span)

    assert by_period.status_code == 200, by_period.text
    assert by_period.json() == by_every.json() == both.json()
    body = by_period.json()
    assert body["every"] == "month"
    grid = next(f for f in body["figures"] if f["periods"])
    assert [p["label"] for p in grid["periods"]] == ["2025-01", "2025-02", "2025-03"]
    assert default.json()["every"] == "day"
    assert len(next(f for f in default.json()["figures"] if f["periods"])["periods"]) == 54

    clash = await client.get(url, params={**span, "period": "month", "every": "day"})
    assert_error(clash, 422, "invalid_request", "period=month and every=day disagree")


def test_every_says_which_meaning_it_has_in_the_openapi_document(tmp_path: Path) -> None:
    spec = create_app(settings=settings_for(tmp_path)).openapi()

    def param(path: str, name: str) -> str:
        params = spec["paths"][path]["get"]["parameters"]
        return str(next(p for p in params if p["name"] == name)["description"])

    assert "calendar period" in param("/api/v1/parks/{park}/energy", "every")
    assert "calendar period" in param("/api/v1/parks/{park}/energy", "period")
    assert "duration" in param("/api/v1/parks/{park}/series", "every")
