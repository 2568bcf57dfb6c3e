"""Several ledger followers on one store split the parks by lease: each park followed once, and
a stopped follower's park taken over within the lease's ttl, from where it stopped."""

from __future__ import annotations

import time

import pytest

from config.registry import load_registry
from services.follow import LedgerFollower
from services.ledger import LEDGER
from store import TELEMETRY, EmbeddedStore, Point
from store.touched import LIVE_S, touched_marks

TTL_S = 2.0
MIN = 60 * 10**9


@pytest.fixture
def store(tmp_path):
    s = EmbeddedStore(tmp_path / "store.sqlite3")
    yield s
    s.close()


@pytest.fixture
def registry(tmp_path):
    folder = tmp_path / "registry"
    folder.mkdir()
    for park in ("north", "south"):
        (folder / f"{park}.yaml").write_text(
            f"park: {{id: {park}, name: Park {park}, timezone: Asia/Shanghai,\n"
            "       latitude: 30.47, longitude: 114.53, grid_region: central_china}\n"
            "devices:\n"
            "  - {id: m-0, kind: electricity_meter, role: grid_connection}\n",
            encoding="utf-8",
        )
    return load_registry(folder)


def collect(store: EmbeddedStore, park: str, t_ns: int, kwh: float) -> None:
    points = [Point(TELEMETRY, {"park": park, "device": "m-0"}, {"energy_kwh": kwh}, t_ns)]
    marks = touched_marks(
        points, now_ns=time.time_ns(), source="c", devices=lambda *_: True, live_s=LIVE_S
    )
    store.write(points + marks)


def test_two_followers_split_two_parks_and_one_takes_over_when_the_other_stops(store, registry):
    now = time.time_ns() // (15 * MIN) * (15 * MIN)
    for park in ("north", "south"):
        collect(store, park, now - 30 * MIN, 100.0)
        collect(store, park, now - 15 * MIN, 130.0)
    a = LedgerFollower(store, registry, holder="a", lease_ttl_s=TTL_S)
    b = LedgerFollower(store, registry, holder="b", lease_ttl_s=TTL_S)

    a.step()
    b.step()
    a.step()  # a has both leases and renews them; b got none

    assert a.followed == {"north", "south"}
    assert b.followed == set()

    # give one park to b: a releases "south" as if it stopped following it
    a._leases["south"].release()
    a.followed.discard("south")
    a_intervals = a.intervals_written
    b.step()
    a.step()
    assert b.followed == {"south"}
    assert a.followed == {"north"}
    assert a.intervals_written == a_intervals  # no work on "south" any more

    # each park followed once: new readings in both, each handled by its own follower only
    collect(store, "north", now, 160.0)
    collect(store, "south", now, 170.0)
    sa, sb = a.step(), b.step()
    assert (sa.marks, sb.marks) == (1, 1)

    # a dies without releasing (no more passes): b takes "north" within the ttl
    collect(store, "north", now + 5 * MIN, 175.0)
    died = time.monotonic()
    while "north" not in b.followed:
        assert time.monotonic() - died < TTL_S + 2.0, "b did not take over within the ttl"
        b.step()
        time.sleep(0.2)
    taken_after = time.monotonic() - died
    assert taken_after <= TTL_S + 1.0
    # from a's stored cursor: only the mark written after a's last pass is new to b
    assert b.step().marks == 0
    rows = store.scan("north", measurement=LEDGER, start_ns=now, end_ns=now + 15 * MIN)
    assert [r.fields["energy_kwh"] for r in rows] == [15.0]  # 160 → 175 in the interval at now
