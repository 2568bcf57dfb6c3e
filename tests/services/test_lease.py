"""The store lease: one holder at a time, taken over after its claim expires, on both stores."""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from pydantic import ValidationError

from config.alarm_rules import RuleSet
from config.errors import StoreUnavailableError
from config.registry import demo_registry_path, load_registry
from config.settings import Settings
from services.alarms import ALARM, AlarmEngine
from services.alarms.engine import ALARM_LEASE, alarm_lease, alarm_leases
from services.lease import LEASE, Lease, LeaseKeeper
from services.periodic import Periodic
from store.base import TELEMETRY, Point, Store
from store.embedded import EmbeddedStore
from store.influx import InfluxStore
from store.routed import RoutedStore
from tests.store.test_routed import Switchable

T0 = 1_764_000_000.0  # 2025-11-24T16:00:00Z [s]
DAY_MS = 86_400_000
S = 1_000_000_000
PARK = "wuhan-demo"


class Clock:
    """A fake wall clock [s]; ``sleep`` advances it (and runs a hook, to interleave rivals)."""

    def __init__(self, t: float = T0) -> None:
        self.t = t
        self.on_sleep: list[object] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


def lease(store: Store, holder: str, clock: Clock, ttl_s: float = 8.0) -> Lease:
    return Lease(store, "alarms", holder, ttl_s, clock=clock, sleep=clock.sleep)


def claim_point(holder: str, since_ms: int, expires_ms: int, written_ms: int) -> Point:
    fields = {
        "since_ms": float(since_ms),
        "expires_ms": float(expires_ms),
        "written_ms": float(written_ms),
    }
    day_ns = (written_ms - written_ms % DAY_MS) * 1_000_000
    return Point(LEASE, {"park": "alarms", "device": holder}, fields, day_ns)


def test_one_holder_takes_renews_and_loses_it_by_the_clock(embedded_store: EmbeddedStore) -> None:
    clock = Clock()
    a = lease(embedded_store, "a", clock)
    assert a.settle_s == 1.0
    assert a.max_skew_s == 0.5
    assert a.holder() is None
    assert not a.held
    assert a.try_acquire()
    assert clock.t == T0 + 1.0  # the claim waited settle_s before reading who won
    assert a.held
    assert a.holder() == "a"
    clock.t += 3.0
    assert a.try_acquire()
    assert clock.t == T0 + 4.0
    clock.t += 7.4  # held until the renewal + ttl - skew = T0 + 11.5
    assert a.held
    clock.t += 0.2
    assert not a.held  # no renewal: stops acting before anyone may see the claim expire
    # one point per holder and day, however often it renews
    assert embedded_store.count("alarms", measurement=LEASE) == 1


def test_another_holder_waits_then_takes_over_a_dead_one(embedded_store: EmbeddedStore) -> None:
    clock = Clock()
    a, b = lease(embedded_store, "a", clock), lease(embedded_store, "b", clock)
    assert a.try_acquire()
    start = clock.t
    assert not b.try_acquire()  # a's claim is live: b does not even claim
    assert clock.t == start  # no settle wait when someone holds it
    clock.t += 6.999  # a died after its claim, stamped T0: it expires at T0 + ttl = T0 + 8
    assert not b.try_acquire()
    clock.t += 0.001
    assert b.try_acquire()
    assert b.holder() == "b"
    assert not a.try_acquire()  # a wakes up: its claim expired, b holds it
    assert not a.held
    assert a.holder() == "b"


def test_release_lets_another_take_it_at_once(embedded_store: EmbeddedStore) -> None:
    clock = Clock()
    a, b = lease(embedded_store, "a", clock), lease(embedded_store, "b", clock)
    assert a.try_acquire()
    a.release()
    assert not a.held
    assert a.holder() is None
    assert b.try_acquire()
    assert b.holder() == "b"
    a.release()  # not held: nothing written
    assert b.holder() == "b"


class _Rival:
    """Writes a rival's claim into the store while the claimant waits (during its settle)."""

    def __init__(self, store: Store, clock: Clock, holder: str, since_offset_ms: int) -> None:
        self.store, self.clock = store, clock
        self.holder, self.offset = holder, since_offset_ms
        self.stamp_ms = 0

    def sleep(self, s: float) -> None:
        now = int(self.clock.t * 1000)
        self.stamp_ms = now + self.offset  # the claimant stamped its claim at `now`
        since = self.stamp_ms
        self.store.write([claim_point(self.holder, since, since + 8000, now)])
        self.clock.t += s


@pytest.mark.parametrize(
    ("rival", "offset_ms", "wins"),
    [
        ("b", -1, False),  # the rival stamped 1 ms earlier: it wins
        ("b", +1, True),  # 1 ms later: we win
        ("b", 0, True),  # the same ms: the smaller holder id ("a") wins
        ("0", 0, False),  # ... "0" < "a"
    ],
)
def test_concurrent_claims_have_one_deterministic_winner(
    embedded_store: EmbeddedStore, rival: str, offset_ms: int, wins: bool
) -> None:
    clock = Clock()
    racer = _Rival(embedded_store, clock, rival, offset_ms)
    a = Lease(embedded_store, "alarms", "a", 8.0, clock=clock, sleep=racer.sleep)
    assert a.try_acquire() is wins
    assert a.held is wins
    assert a.holder() == ("a" if wins else rival)
    ours = [
        r.fields["expires_ms"]
        for r in embedded_store.scan("alarms", measurement=LEASE, start_ns=0, end_ns=2**62)
        if r.device == "a"
    ]
    # the loser withdrew its claim (its day's point rewritten with expires 0); the winner's stands
    assert ours == [0.0 if not wins else T0 * 1000 + 8000.0]


class _SlowStore:
    """The embedded store whose writes take ``write_s`` of the fake clock."""

    def __init__(self, store: EmbeddedStore, clock: Clock, write_s: float) -> None:
        self.store, self.clock, self.write_s = store, clock, write_s

    def write(self, points: Sequence[Point]) -> None:
        self.clock.t += self.write_s
        self.store.write(points)

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)


def test_a_claim_whose_write_was_too_slow_is_withdrawn(embedded_store: EmbeddedStore) -> None:
    clock = Clock()
    slow = _SlowStore(embedded_store, clock, write_s=0.6)  # budget: settle 1 - skew 0.5 = 0.5 s
    a = Lease(slow, "alarms", "a", 8.0, clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]
    assert not a.try_acquire()
    assert not a.held
    assert a.holder() is None  # withdrawn, not left to block others for ttl
    slow.write_s = 0.4
    assert a.try_acquire()
    assert a.held


def test_a_late_renewal_drops_the_lease_and_claims_anew(embedded_store: EmbeddedStore) -> None:
    clock = Clock()
    a = lease(embedded_store, "a", clock)
    assert a.try_acquire()  # claim stamped T0, expires T0 + 8
    clock.t = T0 + 7.2  # less than write budget + skew (1 s) left: renewing is unsafe
    assert a.try_acquire()  # dropped, withdrawn, then claimed afresh (nobody else is there)
    assert a.held
    assert clock.t == T0 + 8.2


def test_bad_parameters_are_refused(embedded_store: EmbeddedStore) -> None:
    with pytest.raises(ValueError, match="name and a holder"):
        Lease(embedded_store, "", "a", 8.0)
    with pytest.raises(ValueError, match="at least 4 x settle_s"):
        Lease(embedded_store, "x", "a", 2.0, settle_s=1.0)
    with pytest.raises(ValueError, match="below settle_s"):
        Lease(embedded_store, "x", "a", 8.0, settle_s=0.5, max_skew_s=0.5)
    with pytest.raises(ValueError, match="must be > 0"):
        Lease(embedded_store, "x", "a", 0.0)


@pytest.mark.parametrize(
    ("kind", "ttl_s", "settle_s"),
    [("embedded", 0.4, 0.05), pytest.param("influxdb", 0.8, 0.1, marks=pytest.mark.influxdb)],
)
def test_threads_never_hold_it_together(
    request: pytest.FixtureRequest, kind: str, ttl_s: float, settle_s: float
) -> None:
    """Four holders with the real clock, contending for 3 s: the intervals in which each
    believed it held the lease never overlap, and it changes hands."""
    shared: Store = request.getfixturevalue(
        {"embedded": "embedded_store"}.get(kind, "influx_store")
    )
    held: list[tuple[float, float, str]] = []
    lock = threading.Lock()
    stop = time.monotonic() + 3.0

    def run(holder: str) -> None:
        me = Lease(shared, "alarms", holder, ttl_s, settle_s=settle_s)
        tenure: list[float] = []  # [start, held until] of the current tenure
        renewals = 0

        def record() -> None:
            with lock:
                held.append((tenure[0], tenure[1], holder))
            tenure.clear()

        while time.monotonic() < stop:
            if me.try_acquire():
                if not tenure:
                    tenure[:] = [time.time(), 0.0]
                tenure[1] = me._held_until_ms / 1000
                renewals += 1
                if renewals == 3:  # a holder dies silently after three tries as holder
                    record()
                    return
            elif tenure:
                record()
            time.sleep(0.03)
        if tenure:
            record()

    threads = [threading.Thread(target=run, args=(f"h{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    held.sort()
    assert len(held) >= 2  # it changed hands after a holder died
    for (_, end, who), (start, _, nxt) in itertools.pairwise(held):
        assert end <= start, f"{who} held it until {end}, {nxt} from {start}"


def test_keeper_takes_it_and_releases_on_stop(embedded_store: EmbeddedStore) -> None:
    changes: list[bool] = []
    keeper = LeaseKeeper(
        Lease(embedded_store, "alarms", "k", 0.8, settle_s=0.2), on_change=changes.append
    )
    keeper.start()
    deadline = time.monotonic() + 5
    while not keeper.lease.held and time.monotonic() < deadline:
        time.sleep(0.02)
    assert keeper.lease.held
    time.sleep(1.0)  # renewed in the background, past one ttl
    assert keeper.lease.held
    keeper.stop()
    assert changes == [True]
    assert keeper.lease.holder() is None


class _DownStore:
    def scan(self, *args: object, **kwargs: object) -> list[object]:
        raise StoreUnavailableError("store down")


def test_store_outage_is_an_error_not_a_lease(embedded_store: EmbeddedStore) -> None:
    a = Lease(_DownStore(), "alarms", "a", 8.0)  # type: ignore[arg-type]
    with pytest.raises(StoreUnavailableError):
        a.try_acquire()
    assert not a.held


def test_on_influxdb_one_holder_then_the_other(influx_store: InfluxStore) -> None:
    a = Lease(influx_store, "alarms", "a", 2.0, settle_s=0.25)
    b = Lease(influx_store, "alarms", "b", 2.0, settle_s=0.25)
    assert a.try_acquire()
    assert a.holder() == "a"
    assert not b.try_acquire()
    assert a.try_acquire()  # renewal overwrites the day's point
    assert influx_store.count("alarms", measurement=LEASE) == 1
    a.release()
    assert b.try_acquire()
    assert b.holder() == "b"
    assert a.holder() == "b"
    assert not a.try_acquire()
    time.sleep(2.1)  # b is gone: its claim expires
    assert a.try_acquire()
    assert a.holder() == "a"


def test_two_alarm_engines_raise_each_alarm_once_across_a_takeover(
    embedded_store: EmbeddedStore,
) -> None:
    """Two engines (two replicas) on one store: only the lease holder raises; when it dies
    silently the other takes over, knows the alarm already raised, and raises the next once."""
    registry = load_registry(demo_registry_path())
    rules = RuleSet.model_validate(
        {
            "rules": [
                {
                    "id": "hot",
                    "kind": "threshold",
                    "devices": {"ids": ["tower-a-f03", "plant-1-main"]},
                    "above": 100,
                    "for_s": 0,
                }
            ]
        }
    )

    def hot(device: str) -> None:
        point = Point(TELEMETRY, {"park": PARK, "device": device}, {"power_kw": 150.0}, now_ns())
        embedded_store.write([point])

    def engine(holder: str) -> AlarmEngine:
        lease = Lease(embedded_store, ALARM_LEASE, holder, 0.8, settle_s=0.05)
        return AlarmEngine(embedded_store, registry, rules, lease=lease)

    def stored() -> list[str]:
        rows = embedded_store.scan(PARK, measurement=ALARM, start_ns=0, end_ns=now_ns() + S)
        return sorted(r.device for r in rows)

    def wait_for(count: int) -> float:
        start = time.monotonic()
        while len(stored()) < count and time.monotonic() - start < 5:
            time.sleep(0.02)
        return time.monotonic() - start

    a, b = engine("a"), engine("b")
    a.start(every_s=0.1)
    b.start(every_s=0.1)
    try:
        hot("tower-a-f03")
        wait_for(1)
        time.sleep(0.3)  # a few more passes of both
        assert stored() == ["hot~tower-a-f03"]
        leader, other = (a, b) if a.leases[""].held else (b, a)
        # the leader dies without a word: its threads stop, its claim is left to expire
        Periodic.stop(leader)
        Periodic.stop(leader._keepers[""])
        hot("plant-1-main")
        took = wait_for(2)
        assert took < 0.8 + 0.1 + 0.05 + 0.5  # ttl + keeper tick + settle + a pass's margin
        time.sleep(0.3)
        assert stored() == ["hot~plant-1-main", "hot~tower-a-f03"]  # each raised once
        assert {x.device for x in other.alarms(PARK)} == {"tower-a-f03", "plant-1-main"}
    finally:
        a.stop()
        b.stop()


def now_ns() -> int:
    return time.time_ns()


def test_the_alarm_lease_settles_alike_on_one_sqlite_file_and_on_influxdb(
    embedded_store: EmbeddedStore,
) -> None:
    # a SQLite write beside a busy collector takes tens of ms: the claim's budget (settle −
    # skew) is 0.25 s on both stores, not the 25 ms that made the demo's lease flap
    lease = alarm_lease(embedded_store, ttl_s=4.0, holder="r1")
    assert (lease.name, lease.holder_id, lease.settle_s, lease.max_skew_s) == (
        "alarms",
        "r1",
        0.5,
        0.25,
    )
    remote = alarm_lease(InfluxStore("influxdb://127.0.0.1:1/x"), ttl_s=4.0)
    assert (remote.settle_s, remote.max_skew_s) == (0.5, 0.25)  # min(1, ttl/8), settle/2
    assert remote.holder_id == f"{socket.gethostname()}:{os.getpid()}"
    assert alarm_lease(embedded_store, ttl_s=4.0, settle_s=0.2).settle_s == 0.2


def test_settings_refuse_a_lease_ttl_below_four_settle_times() -> None:
    with pytest.raises(ValidationError, match=r"TTL_S \(1.0 s\) must be at least 4 x"):
        Settings(_env_file=None, alarm_lease_ttl_s=1.0, alarm_lease_settle_s=0.5)
    assert Settings(_env_file=None).alarm_lease_ttl_s == 4.0


TWO_METERS = """park:
  id: {pid}
  name: Park {pid}
  latitude: 30.5
  longitude: 114.3
  grid_region: central_china
  province: hubei
devices:
  - {{id: grid, kind: electricity_meter, role: grid_connection}}
  - {{id: chiller, kind: electricity_meter, role: load, parent: grid}}
"""


def test_each_store_keeps_its_own_alarm_lease_and_one_down_stops_only_its_parks(
    tmp_path: Path,
) -> None:
    """Park a in the default store, park b in ``south``: the default store going down (where
    a single alarm lease used to live) leaves b's alarms evaluated; b's store coming back after
    its own outage gives b its alarms again."""
    folder = tmp_path / "reg"
    folder.mkdir()
    for pid in ("a", "b"):
        (folder / f"{pid}.yaml").write_text(TWO_METERS.format(pid=pid), encoding="utf-8")
    registry = load_registry(folder)
    stores = {n: Switchable(tmp_path / f"{n}.sqlite3") for n in ("default", "south")}
    routed = RoutedStore(stores, {"b": "south"})
    rules = RuleSet.model_validate(
        {
            "rules": [
                {
                    "id": "hot",
                    "kind": "threshold",
                    "devices": {"roles": ["grid_connection", "load"]},
                    "above": 100,
                    "for_s": 0,
                }
            ]
        }
    )
    # a write budget (settle - skew) of 100 ms: a SQLite write on a loaded CI machine can pass
    # 25 ms, and a renewal that slow drops the lease (as it should) for a moment
    leases = alarm_leases(routed, ttl_s=0.8, settle_s=0.2, holder="r1")
    assert isinstance(leases, dict)
    assert set(leases) == {"default", "south"}
    engine = AlarmEngine(routed, registry, rules, lease=leases)

    def hot(park: str, device: str) -> None:
        point = Point(TELEMETRY, {"park": park, "device": device}, {"power_kw": 150.0}, now_ns())
        routed.write([point])

    def raised(park: str) -> list[str]:
        rows = stores["south" if park == "b" else "default"].scan(
            park, measurement=ALARM, start_ns=0, end_ns=now_ns() + S
        )
        return sorted(r.device for r in rows)

    def wait(check: Callable[[], bool], limit_s: float = 5.0) -> bool:
        deadline = time.monotonic() + limit_s
        while not check() and time.monotonic() < deadline:
            time.sleep(0.02)
        return check()

    engine.start(every_s=0.1)
    try:
        assert wait(lambda: all(x.held for x in leases.values()))
        # each claim lives in its own store, beside the parks it guards
        assert stores["default"].count(ALARM_LEASE, measurement=LEASE) == 1
        assert stores["south"].count(ALARM_LEASE, measurement=LEASE) == 1
        hot("a", "grid")
        hot("b", "grid")
        assert wait(lambda: raised("a") == ["hot~grid"] and raised("b") == ["hot~grid"])
        stores["default"].down = True  # park a's store, and the one a single lease lived in
        assert wait(lambda: not leases["default"].held, 0.8 + 0.5)
        hot("b", "chiller")
        assert wait(lambda: raised("b") == ["hot~chiller", "hot~grid"])
        assert wait(lambda: leases["south"].held)  # b's own lease, in b's store
        stores["default"].down = False
        stores["south"].down = True
        assert wait(lambda: leases["default"].held and not leases["south"].held)
        hot("a", "chiller")  # a is evaluated again (from its store's stored alarms: once)
        assert wait(lambda: raised("a") == ["hot~chiller", "hot~grid"])
        stores["south"].down = False
        assert wait(lambda: leases["south"].held)
        time.sleep(0.3)  # a few passes: nothing raised twice
        assert raised("a") == ["hot~chiller", "hot~grid"]
        assert raised("b") == ["hot~chiller", "hot~grid"]
    finally:
        engine.stop()
        routed.close()
