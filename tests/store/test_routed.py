"""Several stores behind one (store/routed.py): each call goes to its park's store, a write that
spans stores reaches each, a store that is down is named and costs only its own parks.

The store contract (tests/store/test_contract.py) runs here once more on a :class:`RoutedStore`
whose park ``p1`` lives in a store of its own (embedded, or a real influxd) and every other park
in the default store; the tests after it pin what only several stores have.
"""

from __future__ import annotations

import inspect
import textwrap
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from api.main import create_app
from config.errors import ConfigError, StoreQueryError, StoreUnavailableError
from config.registry import Registry, load_registry
from config.settings import Settings
from smartpark.cli import main
from store import (
    TELEMETRY,
    EmbeddedStore,
    InfluxStore,
    NamedStoreUnavailableError,
    PartialWriteError,
    Point,
    QuarantineRecord,
    RoutedStore,
    SeriesQuery,
    Store,
    open_stores,
)
from tests.store import test_contract as contract

S = 1_000_000_000
T0 = contract.T0

# -- the contract, on a routed store -------------------------------------------------------------

# every contract test that takes the generic `store` fixture, collected again in this module, where
# `store` below is a RoutedStore (the adapter-specific tests ask for influx_store: not repeated)
for _name, _test in vars(contract).items():
    if _name.startswith("test_") and "store" in inspect.signature(_test).parameters:
        globals()[_name] = _test


@pytest.fixture(params=["embedded", pytest.param("influxdb", marks=pytest.mark.influxdb)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """``p1`` (the contract's park) in the store ``north``, every other park in ``default``."""
    north: Store = (
        request.getfixturevalue("influx_store")
        if request.param == "influxdb"
        else EmbeddedStore(tmp_path / "north.sqlite3")
    )
    routed = RoutedStore(
        {"default": EmbeddedStore(tmp_path / "default.sqlite3"), "north": north},
        {contract.PARK: "north"},
    )
    yield routed
    routed.close()


# -- routing -------------------------------------------------------------------------------------


class Switchable(EmbeddedStore):
    """The embedded store, unavailable while ``down`` (and refusing writes while ``refusing``)."""

    down = False
    refusing = False

    def _check(self) -> None:
        if self.down:
            raise StoreUnavailableError(f"{self.path.name} switched off by the test")

    def write(self, points: Sequence[Point]) -> None:
        self._check()
        if self.refusing:
            raise StoreQueryError("refused by the test")
        super().write(points)

    def write_quarantine(self, records: Sequence[QuarantineRecord]) -> None:
        self._check()
        super().write_quarantine(records)

    def latest(self, park: str, *, measurement: str = TELEMETRY) -> list[contract.LatestReading]:
        self._check()
        return super().latest(park, measurement=measurement)

    def count(self, park: str, *, device: str | None = None, measurement: str = TELEMETRY) -> int:
        self._check()
        return super().count(park, device=device, measurement=measurement)

    def quarantined(self, *, park: str | None = None, limit: int = 1000) -> list[QuarantineRecord]:
        self._check()
        return super().quarantined(park=park, limit=limit)

    def ping(self) -> bool:
        return not self.down and super().ping()


@pytest.fixture
def three(tmp_path: Path) -> Iterator[tuple[RoutedStore, dict[str, Switchable]]]:
    """Parks ``a`` in ``north``, ``b`` in ``south``, anything else in ``default``."""
    stores = {n: Switchable(tmp_path / f"{n}.sqlite3") for n in ("default", "north", "south")}
    routed = RoutedStore(stores, {"a": "north", "b": "south", "c": "default"})
    yield routed, stores
    routed.close()


def pt(park: str, device: str, i: int, value: float) -> Point:
    return Point(TELEMETRY, {"park": park, "device": device}, {"kw": value}, T0 + i * S)


def test_points_land_in_the_store_of_their_park(three) -> None:
    routed, stores = three
    points = [pt(park, "m1", i, float(i)) for i in range(5) for park in ("a", "b", "c", "zz")]
    routed.write(points)
    assert {n: {p: s.count(p) for p in "abc"} for n, s in stores.items()} == {
        "default": {"a": 0, "b": 0, "c": 5},
        "north": {"a": 5, "b": 0, "c": 0},
        "south": {"a": 0, "b": 5, "c": 0},
    }
    assert stores["default"].count("zz") == 5  # a park the table does not know: the default
    # reads go to the same place: each park's own values, through the one routed store
    for park, store in (("a", "north"), ("b", "south"), ("zz", "default")):
        rows = routed.series(SeriesQuery(park, "m1", "kw", T0, T0 + 10 * S))
        assert [r.value for r in rows] == [0.0, 1.0, 2.0, 3.0, 4.0]
        assert routed.latest(park)[0].time_ns == T0 + 4 * S
        assert routed.count(park) == stores[store].count(park) == 5
    assert routed.store_of("a") == "north"
    assert routed.store_of("zz") == "default"


def test_a_write_over_a_stopped_store_carries_exactly_what_was_not_written(three) -> None:
    routed, stores = three
    stores["south"].down = True
    points = [pt(park, "m1", i, 1.0 + i) for i in range(4) for park in ("a", "b", "c")]
    with pytest.raises(PartialWriteError) as info:
        routed.write(points)
    error = info.value
    assert error.store == "south"
    assert error.stores == ("south",)
    assert [id(p) for p in error.unwritten] == [id(p) for p in points if p.tags["park"] == "b"]
    assert "'south'" in str(error)
    assert "switched off" in str(error)
    assert isinstance(error, StoreUnavailableError)  # the kind the collector and the API act on
    assert (stores["north"].count("a"), stores["default"].count("c")) == (4, 4)
    stores["south"].down = False
    assert stores["south"].count("b") == 0


def test_two_stopped_stores_are_both_named(three) -> None:
    routed, stores = three
    stores["north"].down = stores["south"].down = True
    points = [pt(park, "m1", 0, 1.0) for park in ("a", "b", "c")]
    with pytest.raises(PartialWriteError) as info:
        routed.write(points)
    assert info.value.stores == ("north", "south")
    assert [p.tags["park"] for p in info.value.unwritten] == ["a", "b"]
    assert "'north', 'south'" in str(info.value)
    assert stores["default"].count("c") == 1


def test_a_refusal_beside_an_outage_is_unwritten_too(three) -> None:
    routed, stores = three
    stores["south"].down = True
    stores["north"].refusing = True
    points = [pt(park, "m1", 0, 1.0) for park in ("a", "b", "c")]
    with pytest.raises(PartialWriteError) as info:
        routed.write(points)
    assert [p.tags["park"] for p in info.value.unwritten] == ["a", "b"]  # retried, never lost
    assert info.value.stores == ("south",)
    stores["south"].down = False
    with pytest.raises(StoreQueryError, match="the store 'north': refused by the test"):
        routed.write(points)  # only a refusal: the collector's isolation handles it


def test_reads_of_a_stopped_store_name_it_and_the_others_answer(three) -> None:
    routed, stores = three
    routed.write([pt(park, "m1", 0, 2.0) for park in ("a", "b")])
    stores["south"].down = True
    with pytest.raises(NamedStoreUnavailableError, match="the store 'south' is unavailable") as e:
        routed.latest("b")
    assert e.value.store == "south"
    assert routed.latest("a")[0].fields == {"kw": 2.0}
    assert routed.health() == {"default": True, "north": True, "south": False}
    assert not routed.ping()


def test_the_work_of_a_park_lives_in_the_park_s_store(three) -> None:
    routed, _ = three
    assert routed.store_of("follow:a") == "north"  # a park's follow lease, beside its data
    assert routed.store_of("follow:b") == "south"
    assert routed.store_of("follow:unknown") == "default"
    assert routed.store_of("alarms") == "default"  # not one park's: the default store
    assert routed.store_of(":a") == "default"


def test_quarantine_follows_the_park_and_every_park_is_merged_newest_first(three) -> None:
    routed, stores = three
    records = [
        QuarantineRecord(T0 + i * S, "bad_json", "", f"parks/{park}/x", "{", park=park)
        for i, park in enumerate(["a", "b", "", "a", "c"])
    ]
    routed.write_quarantine(records)
    assert [r.park for r in stores["north"].quarantined()] == ["a", "a"]
    assert [r.park for r in stores["default"].quarantined()] == ["c", ""]
    assert [r.received_ns for r in routed.quarantined()] == [T0 + i * S for i in (4, 3, 2, 1, 0)]
    assert [r.received_ns for r in routed.quarantined(limit=2)] == [T0 + 4 * S, T0 + 3 * S]
    assert [r.received_ns for r in routed.quarantined(park="a")] == [T0 + 3 * S, T0]
    stores["south"].down = True
    with pytest.raises(NamedStoreUnavailableError, match="'south'"):
        routed.quarantined()  # not a silently shorter list


def test_parks_read_from_many_threads_get_their_own_answers(three) -> None:
    """The city evaluation fans out over parks on one store object."""
    routed, _ = three
    routed.write([pt(park, "m1", i, v) for i in range(3) for park, v in (("a", 1), ("b", 10))])
    expected = {"a": 3.0, "b": 30.0}
    barrier = threading.Barrier(8)

    def total(k: int) -> tuple[str, float]:
        park = "ab"[k % 2]
        if k < 8:
            barrier.wait(5)
        rows = routed.series(SeriesQuery(park, "m1", "kw", T0, T0 + 10 * S))
        return park, sum(r.value for r in rows)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(total, range(400)))
    assert all(value == expected[park] for park, value in answers)


def test_routing_to_an_unknown_store_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not given: west"):
        RoutedStore({"default": EmbeddedStore(tmp_path / "d.sqlite3")}, {"a": "west"})


# -- opening the stores of a registry ------------------------------------------------------------

PARK_YAML = """\
park:
  id: {id}
  name: Park {id}
  latitude: 30.5
  longitude: 114.3
  grid_region: central_china
  {store}
devices:
  - {{id: grid, kind: electricity_meter, role: grid_connection}}
"""


def registry_of(folder: Path, parks: dict[str, str | None]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for park, store in parks.items():
        text = PARK_YAML.format(id=park, store=f"store: {store}" if store else "")
        (folder / f"{park}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def test_a_park_naming_no_store_keeps_the_one_store(tmp_path: Path) -> None:
    registry = load_registry(registry_of(tmp_path / "reg", {"a": None}))
    store = open_stores(Settings(data_dir=tmp_path, stores="north=sqlite:///x"), registry)
    try:
        assert isinstance(store, EmbeddedStore)
    finally:
        store.close()


def test_parks_naming_stores_open_a_routed_store(tmp_path: Path) -> None:
    registry = load_registry(registry_of(tmp_path / "reg", {"a": "north", "b": None}))
    settings = Settings(
        data_dir=tmp_path,
        stores=f" north = sqlite://{tmp_path}/n.sqlite3 , south=sqlite://{tmp_path}/s.sqlite3",
    )
    store = open_stores(settings, registry)
    try:
        assert isinstance(store, RoutedStore)
        assert list(store.stores) == ["default", "north"]  # only the stores parks live in
        store.write([pt("a", "grid", 0, 1.0), pt("b", "grid", 0, 2.0)])
    finally:
        store.close()
    north = EmbeddedStore(tmp_path / "n.sqlite3")
    default = EmbeddedStore(tmp_path / "store.sqlite3")
    assert (north.count("a"), north.count("b"), default.count("b")) == (1, 0, 1)
    north.close()
    default.close()


def test_a_park_naming_an_unknown_store_is_a_config_error(tmp_path: Path, capsys) -> None:
    folder = registry_of(tmp_path / "reg", {"a": "north", "b": "west", "c": None})
    settings = Settings(data_dir=tmp_path, stores="north=influxdb://10.0.0.5:8086/sp")
    with pytest.raises(ConfigError) as info:
        open_stores(settings, load_registry(folder))
    message = str(info.value)
    assert "park 'b' names the store 'west', which SMARTPARK_STORES does not define" in message
    assert f"{folder / 'b.yaml'}" in message
    assert "known stores: default, north" in message
    assert "'a'" not in message

    # check-config says the same, as one error
    assert main(["check-config", str(folder)]) == 2
    assert "park 'b' names the store 'west'" in capsys.readouterr().err


def test_check_config_names_each_park_s_store(tmp_path: Path, monkeypatch, capsys) -> None:
    folder = registry_of(tmp_path / "reg", {"a": "north", "c": None})
    monkeypatch.setenv("SMARTPARK_STORES", "north=influxdb://10.0.0.5:8086/sp")
    assert main(["check-config", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "park 'a' OK — 0 tenants, 0 buildings, 1 device, in the store 'north'" in out
    assert "park 'c' OK — 0 tenants, 0 buildings, 1 device\n" in out


@pytest.mark.parametrize(
    ("stores", "words"),
    [
        ("north", "'north' is not NAME=URL"),
        ("North=influxdb://h/db", "'North=influxdb://h/db' is not NAME=URL"),
        ("north=", "is not NAME=URL"),
        ("default=influxdb://h/db", "that one is SMARTPARK_STORE_URL"),
        ("a=influxdb://h/x,a=influxdb://h/y", "names the store 'a' twice"),
        ("a=influxdb://u:secret@h/x,b", "'b' is not NAME=URL"),
    ],
)
def test_malformed_store_settings_are_refused(stores: str, words: str) -> None:
    with pytest.raises(ConfigError, match="SMARTPARK_STORES") as info:
        Settings(stores=stores).named_stores()
    assert words in str(info.value)
    assert "secret" not in str(info.value)


def test_named_stores_are_the_default_and_each_entry() -> None:
    settings = Settings(store_url="influxdb://h:1/d", stores="n=influxdb://h:2/x,,s=sqlite:///s")
    assert settings.named_stores() == {
        "default": "influxdb://h:1/d",
        "n": "influxdb://h:2/x",
        "s": "sqlite:///s",
    }


# -- the API over several stores ---------------------------------------------------------------


async def test_the_api_answers_503_naming_the_stopped_store_and_serves_the_other_park(
    tmp_path: Path, three
) -> None:
    routed, stores = three
    registry: Registry = load_registry(registry_of(tmp_path / "reg", {"a": None, "b": None}))
    routed.write([pt("a", "grid", 0, 1.5), pt("b", "grid", 0, 2.5)])
    stores["south"].down = True
    app = create_app(
        settings=Settings(data_dir=tmp_path, alarms=False), store=routed, registry=registry
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        up = await client.get("/api/v1/parks/a/latest")
        down = await client.get("/api/v1/parks/b/latest")
        health = await client.get("/healthz")
        stores["north"].down = stores["default"].down = True
        none = await client.get("/healthz")
    assert up.status_code == 200, up.text
    assert up.json()["readings"][0]["fields"] == {"kw": 1.5}
    assert down.status_code == 503
    assert down.json()["code"] == "store_unavailable"
    assert down.json()["message"].startswith("the store 'south' is unavailable: ")
    assert down.headers["Retry-After"] == "5"
    assert health.status_code == 200  # the other parks are still served
    assert health.json()["status"] == "degraded"
    assert health.json()["stores"] == {"default": "ok", "north": "ok", "south": "unavailable"}
    assert none.status_code == 503
    assert none.json()["store"] == "unavailable"


def test_an_influx_store_is_named_in_the_routed_repr(tmp_path: Path) -> None:
    routed = RoutedStore(
        {
            "default": EmbeddedStore(tmp_path / "d.sqlite3"),
            "north": InfluxStore("influxdb://u:secret@10.0.0.5:8086/sp"),
        },
        {"a": "north"},
    )
    try:
        assert "north=InfluxStore('http://10.0.0.5:8086', database='sp')" in repr(routed)
        assert "secret" not in repr(routed)
    finally:
        routed.close()
