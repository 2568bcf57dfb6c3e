"""One contract, two adapters: every test here runs on the embedded store and on a real influxd."""

from __future__ import annotations

import math

import numpy as np
import pytest

from config.errors import StoreQueryError, StoreUnavailableError
from store import (
    LEDGER_DAY,
    TELEMETRY,
    InfluxStore,
    LatestReading,
    Point,
    QuarantineRecord,
    SeriesQuery,
    SeriesRow,
    Store,
)
from store.influx import LONG_TERM_RP
from tests.support.servers import InfluxService, free_port

S = 1_000_000_000  # ns per second
# 2023-11-14T22:13:00Z: a whole minute, so 60 s buckets start here
T0 = 28_333_333 * 60 * S
PARK = "p1"


_FIXTURES = {
    "embedded": "embedded_store",
    "influxdb": "influx_store",
    "influxdb-auth": "influx_auth_store",  # the same server with user and password required
}


@pytest.fixture(
    params=[
        "embedded",
        pytest.param("influxdb", marks=pytest.mark.influxdb),
        pytest.param("influxdb-auth", marks=pytest.mark.influxdb),
    ]
)
def store(request: pytest.FixtureRequest) -> Store:
    return request.getfixturevalue(_FIXTURES[request.param])


def pt(device: str, time_ns: int, park: str = PARK, measurement: str = TELEMETRY, **fields: float):
    return Point(measurement, {"park": park, "device": device}, fields, time_ns)


def values(store: Store, device: str, field: str, *, park: str = PARK, **kw) -> list[SeriesRow]:
    start = kw.pop("start_ns", T0 - 3600 * S)
    end = kw.pop("end_ns", T0 + 3600 * S)
    return store.series(SeriesQuery(park, device, field, start, end, **kw))


def test_adapters_fulfil_the_protocol(store):
    assert isinstance(store, Store)


# --- writing and reading back -----------------------------------------------------------------

EXACT_FLOATS = [
    1 / 3,
    0.1 + 0.2,
    -273.15,
    0.0,
    1e-300,
    1.7976931348623157e308,
    123_456_789.123_456_789,
    2.0**53 + 2,
    -5e-324,
]


def test_values_and_ns_timestamps_come_back_exactly(store):
    times = [T0 + i * S + 123_456_789 + i for i in range(len(EXACT_FLOATS))]
    store.write([pt("m1", t, x=v) for t, v in zip(times, EXACT_FLOATS, strict=True)])

    got = values(store, "m1", "x")

    assert [r.time_ns for r in got] == times
    assert [r.value for r in got] == EXACT_FLOATS  # bit-exact, not approximately
    assert all(isinstance(r.time_ns, int) and isinstance(r.value, float) for r in got)


def test_rewriting_a_point_replaces_it(store):
    for value in (1.0, 2.0, 3.0):
        store.write([pt("m1", T0, kw=value)])

    assert store.count(PARK) == 1
    assert values(store, "m1", "kw") == [SeriesRow(T0, 3.0)]


def test_fields_written_separately_at_one_identity_merge(store):
    store.write([pt("m1", T0, kw=1.0)])
    store.write([pt("m1", T0, kwh=10.0)])

    assert store.count(PARK) == 1
    assert store.latest(PARK) == [LatestReading("m1", T0, {"kw": 1.0, "kwh": 10.0})]


def test_empty_write_is_a_no_op(store):
    store.write([])
    assert store.count(PARK) == 0


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_refused_before_anything_is_written(store, bad):
    with pytest.raises(ValueError, match=r"nan|inf"):
        store.write([pt("m1", T0, kw=1.0), pt("m1", T0 + S, kw=bad)])
    assert store.count(PARK) == 0


# --- latest -----------------------------------------------------------------------------------


def test_latest_gives_the_newest_point_of_each_device_in_device_order(store):
    store.write(
        [
            pt("m2", T0, kw=1.0, kwh=5.0),
            pt("m2", T0 + 10 * S, kw=2.0),  # newest of m2 carries kw only
            pt("m1", T0 + 20 * S, v=230.0, a=1.5),
            pt("m1", T0 + 5 * S, v=229.0, hz=50.0),  # older, written later
            pt("m3", T0 + 1, kw=7.0),
            pt("m9", T0 + 30 * S, park="other", kw=9.0),
        ]
    )

    assert store.latest(PARK) == [
        LatestReading("m1", T0 + 20 * S, {"v": 230.0, "a": 1.5}),
        LatestReading("m2", T0 + 10 * S, {"kw": 2.0}),
        LatestReading("m3", T0 + 1, {"kw": 7.0}),
    ]
    assert store.latest("other") == [LatestReading("m9", T0 + 30 * S, {"kw": 9.0})]
    assert store.latest("nowhere") == []


def test_latest_reads_the_measurement_asked_for(store):
    store.write([pt("m1", T0, kw=1.0), pt("m1", T0 + S, measurement="ledger", kwh=4.0)])

    assert store.latest(PARK) == [LatestReading("m1", T0, {"kw": 1.0})]
    assert store.latest(PARK, measurement="ledger") == [LatestReading("m1", T0 + S, {"kwh": 4.0})]


# --- series -----------------------------------------------------------------------------------


def test_raw_series_is_time_ordered_within_start_inclusive_end_exclusive(store):
    times = [T0 + 30 * S, T0, T0 + 10 * S, T0 + 20 * S, T0 - 1]  # written out of order
    store.write([pt("m1", t, kw=float(i)) for i, t in enumerate(times)])
    store.write([pt("m2", T0 + 5 * S, kw=99.0), pt("m1", T0 + 15 * S, kwh=99.0)])

    got = values(store, "m1", "kw", start_ns=T0, end_ns=T0 + 30 * S)

    assert got == [SeriesRow(T0, 1.0), SeriesRow(T0 + 10 * S, 2.0), SeriesRow(T0 + 20 * S, 3.0)]


def test_a_long_series_comes_back_whole(store):
    # influxd answers more than 10,000 rows in chunks; every row must come back, once, in order
    n = 25_000
    store.write([pt("m1", T0 + i * S, kw=float(i)) for i in range(n)])

    rows = values(store, "m1", "kw", start_ns=T0, end_ns=T0 + n * S)

    assert [r.value for r in rows] == [float(i) for i in range(n)]
    scanned = store.scan(PARK, measurement=TELEMETRY, start_ns=T0, end_ns=T0 + n * S)
    assert len(scanned) == n
    assert scanned[-1] == LatestReading("m1", T0 + (n - 1) * S, {"kw": float(n - 1)})


def test_raw_series_honours_the_limit_from_the_start(store):
    store.write([pt("m1", T0 + i * S, kw=float(i)) for i in range(10)])

    assert [r.value for r in values(store, "m1", "kw", limit=3)] == [0.0, 1.0, 2.0]


def test_descending_series_gives_the_newest_first_and_limits_from_the_end(store):
    store.write([pt("m1", T0 + i * S, kw=float(i)) for i in range(10)])

    newest = values(store, "m1", "kw", end_ns=T0 + 5 * S, descending=True, limit=2)

    assert newest == [SeriesRow(T0 + 4 * S, 4.0), SeriesRow(T0 + 3 * S, 3.0)]
    buckets = values(store, "m1", "kw", every_s=5, aggregate="sum", descending=True)
    assert buckets == [SeriesRow(T0 + 5 * S, 35.0), SeriesRow(T0, 10.0)]


# --- scan -------------------------------------------------------------------------------------


def test_scan_gives_every_point_of_a_measurement_in_time_order_across_devices(store):
    store.write(
        [
            pt("m2", T0 + 2 * S, measurement="marks", a=2.0, b=20.0),
            pt("m1", T0 + 2 * S, measurement="marks", a=1.0),
            pt("m1", T0, measurement="marks", a=0.5),
            pt("m1", T0 + 9 * S, measurement="marks", a=9.0),  # at the end: excluded
            pt("m1", T0 + S, a=7.0),  # another measurement
            pt("m3", T0 + S, park="other", measurement="marks", a=3.0),  # another park
        ]
    )

    got = store.scan(PARK, measurement="marks", start_ns=T0, end_ns=T0 + 9 * S)

    assert got == [
        LatestReading("m1", T0, {"a": 0.5}),
        LatestReading("m1", T0 + 2 * S, {"a": 1.0}),
        LatestReading("m2", T0 + 2 * S, {"a": 2.0, "b": 20.0}),
    ]
    limited = store.scan(PARK, measurement="marks", start_ns=T0, end_ns=T0 + 9 * S, limit=1)
    assert limited == [LatestReading("m1", T0, {"a": 0.5})]
    assert store.scan("nowhere", measurement="marks", start_ns=T0, end_ns=T0 + S) == []


def nan_free(columns):
    """Columns as plain data, NaN written as None (NaN != NaN); every column a numpy array."""
    assert all(c.time_ns.dtype == np.int64 for c in columns.values())
    assert all(v.dtype == np.float64 for c in columns.values() for v in c.values.values())
    return {
        device: (
            c.time_ns.tolist(),
            {f: [None if math.isnan(v) else v for v in vs.tolist()] for f, vs in c.values.items()},
        )
        for device, c in columns.items()
    }


def test_columns_give_each_devices_points_having_the_fields_oldest_first(store):
    store.write(
        [
            pt("m1", T0 + S, measurement="marks", c=300.0),  # written out of order
            pt("m1", T0, measurement="marks", a=1.0, b=10.0, c=100.0),
            pt("m2", T0, measurement="marks", b=20.0),  # none of a, c: left out
            pt("m2", T0 + 2 * S, measurement="marks", a=4.0, b=40.0),
            pt("m1", T0 + 9 * S, measurement="marks", a=9.0),  # at the end: excluded
            pt("m3", T0 + S, park="other", measurement="marks", a=5.0),
            pt("m1", T0 + 3 * S, a=7.0),  # another measurement
        ]
    )

    got = store.columns(
        PARK, measurement="marks", fields=["a", "c"], start_ns=T0, end_ns=T0 + 9 * S
    )

    assert nan_free(got) == {
        "m1": ([T0, T0 + S], {"a": [1.0, None], "c": [100.0, 300.0]}),
        "m2": ([T0 + 2 * S], {"a": [4.0], "c": [None]}),
    }
    assert all(c.time_ns.dtype == np.int64 for c in got.values())
    window = {"start_ns": T0, "end_ns": T0 + 9 * S}
    assert store.columns(PARK, measurement="marks", fields=[], **window) == {}
    assert store.columns(PARK, measurement="marks", fields=["zz"], **window) == {}
    assert store.columns("nowhere", measurement="marks", fields=["a"], **window) == {}
    # only the devices asked for: one, several (one unknown), none
    only = {"measurement": "marks", "fields": ["a", "c"], **window}
    assert nan_free(store.columns(PARK, devices=["m2"], **only)) == {
        "m2": ([T0 + 2 * S], {"a": [4.0], "c": [None]})
    }
    assert nan_free(store.columns(PARK, devices=["m1", "m9"], **only)) == {
        "m1": ([T0, T0 + S], {"a": [1.0, None], "c": [100.0, 300.0]})
    }
    assert store.columns(PARK, devices=[], **only) == {}
    assert store.columns(PARK, devices=["m3"], **only) == {}  # m3 is in another park


def test_columns_of_many_named_devices_come_back_whole(store):
    # more devices than one query names (InfluxStore 200, EmbeddedStore 500): split and joined
    store.write([pt(f"d{k:04d}", T0 + k, measurement="marks", a=float(k)) for k in range(1_100)])
    names = [f"d{k:04d}" for k in range(0, 1_100, 2)] + ["nowhere"]
    got = store.columns(
        PARK, measurement="marks", fields=["a"], start_ns=T0, end_ns=T0 + S, devices=names
    )
    assert sorted(got) == names[:-1]
    assert all(got[d].values["a"].tolist() == [float(int(d[1:]))] for d in got)


def test_columns_over_a_long_range_come_back_whole_and_in_order(store):
    # 200 days of 3 devices: long enough for InfluxStore to split the read in time and join it
    day = 86_400 * S
    points = [
        pt(f"m{d % 3}", T0 + d * day + (d % 5) * S, measurement="days", e=float(d), q=0.0)
        for d in range(200)
    ]
    points += [pt("m9", T0 + 100 * day, measurement="days", e=-1.0)]  # at the middle
    points += [pt(f"m{i}", T0 + (10 + i) * S, measurement="days", e=0.5) for i in range(3)]
    store.write(points)

    got = store.columns(PARK, measurement="days", fields=["e"], start_ns=T0, end_ns=T0 + 200 * day)

    expected: dict[str, tuple[list[int], list[float]]] = {}
    for p in sorted(points, key=lambda p: p.time_ns):
        times, es = expected.setdefault(p.tags["device"], ([], []))
        times.append(p.time_ns)
        es.append(p.fields["e"])
    assert {d: (c.time_ns.tolist(), c.values["e"].tolist()) for d, c in got.items()} == expected


def test_columns_of_an_answer_longer_than_a_chunk_keep_every_time_to_the_nanosecond(store):
    # 25,000 points of one device: InfluxDB answers in chunks of 10,000 rows, each converted to
    # arrays on its own; times an odd number of ns apart (beyond a float's 53 bits), a field
    # missing at every seventh point
    n = 25_000
    times = [T0 + k * 1_000_000_007 for k in range(n)]
    store.write(
        [
            pt("m1", t, measurement="many", a=float(k), **({} if k % 7 else {"b": -float(k)}))
            for k, t in enumerate(times)
        ]
    )

    got = store.columns(
        PARK, measurement="many", fields=["a", "b"], start_ns=T0, end_ns=times[-1] + 1
    )

    assert list(got) == ["m1"]
    c = got["m1"]
    assert c.time_ns.tolist() == times
    assert c.values["a"].tolist() == [float(k) for k in range(n)]
    b = c.values["b"]
    assert np.isnan(b).tolist() == [k % 7 != 0 for k in range(n)]
    assert b[::7].tolist() == [-float(k) for k in range(0, n, 7)]


# --- aggregate ----------------------------------------------------------------------------------


def test_aggregate_reduces_each_field_per_device_over_the_range(store):
    store.write(
        [
            pt("m1", T0, measurement="days", e=1.5, n=96.0, q=0.0),
            pt("m1", T0 + S, measurement="days", e=2.25, n=96.0),
            pt("m1", T0 + 2 * S, measurement="days", n=92.0, q=3.0),  # no e this day
            pt("m2", T0, measurement="days", n=96.0),  # no e at all
            pt("m3", T0, measurement="days", other=1.0),  # none of the fields: absent
            pt("m1", T0 + 9 * S, measurement="days", e=1000.0, n=1.0),  # at the end: excluded
            pt("m1", T0 - 1, measurement="days", e=1000.0, n=1.0),  # before the start
            pt("m1", T0, park="other", measurement="days", e=1000.0, n=1.0),
            pt("m1", T0, measurement="elsewhere", e=1000.0, n=1.0),
        ]
    )
    spec = {
        "energy": ("sum", "e"),
        "days": ("count", "n"),
        "energy_days": ("count", "e"),
        "intervals": ("sum", "n"),
        "fewest": ("min", "n"),
        "peak": ("max", "e"),
        "worst": ("max", "q"),
    }

    got = store.aggregate(PARK, measurement="days", fields=spec, start_ns=T0, end_ns=T0 + 9 * S)

    assert got == {
        "m1": {
            "energy": 3.75,
            "days": 3.0,
            "energy_days": 2.0,
            "intervals": 284.0,
            "fewest": 92.0,
            "peak": 2.25,
            "worst": 3.0,
        },
        "m2": {"days": 1.0, "intervals": 96.0, "fewest": 96.0},  # absent: no e, no q
    }
    assert store.aggregate(PARK, measurement="days", fields={}, start_ns=T0, end_ns=T0 + S) == {}
    assert (
        store.aggregate("nowhere", measurement="days", fields=spec, start_ns=T0, end_ns=T0 + S)
        == {}
    )


def test_aggregate_takes_all_series_of_a_device_together(store):
    tagged = Point("days", {"park": PARK, "device": "m1", "collector": "c2"}, {"e": 2.0}, T0 + S)
    store.write([pt("m1", T0, measurement="days", e=1.0), tagged])

    got = store.aggregate(
        PARK,
        measurement="days",
        fields={"n": ("count", "e"), "s": ("sum", "e")},
        start_ns=T0,
        end_ns=T0 + 9 * S,
    )

    assert got == {"m1": {"n": 2.0, "s": 3.0}}


@pytest.mark.parametrize("bad", ["mean", "sum(e)) FROM x; --", "", "SUM", "last"])
def test_aggregate_refuses_a_reduction_it_does_not_know(store, bad):
    with pytest.raises(ValueError, match="reduction"):
        store.aggregate(
            PARK, measurement="days", fields={"x": (bad, "e")}, start_ns=T0, end_ns=T0 + S
        )


# --- long-term measurements ---------------------------------------------------------------------


def test_a_long_term_measurement_reads_back_like_any_other(store):
    store.write([pt("m1", T0, measurement=LEDGER_DAY, e=1.0), pt("m1", T0, kw=5.0)])
    store.write([pt("m2", T0 + S, measurement=LEDGER_DAY, e=2.0, n=96.0)])

    assert store.latest(PARK, measurement=LEDGER_DAY) == [
        LatestReading("m1", T0, {"e": 1.0}),
        LatestReading("m2", T0 + S, {"e": 2.0, "n": 96.0}),
    ]
    assert store.latest(PARK) == [LatestReading("m1", T0, {"kw": 5.0})]
    assert values(store, "m2", "n", measurement=LEDGER_DAY) == [SeriesRow(T0 + S, 96.0)]
    assert store.count(PARK, measurement=LEDGER_DAY) == 2
    scanned = store.scan(PARK, measurement=LEDGER_DAY, start_ns=T0, end_ns=T0 + 9 * S)
    assert [(p.device, p.time_ns) for p in scanned] == [("m1", T0), ("m2", T0 + S)]
    got = store.columns(PARK, measurement=LEDGER_DAY, fields=["e"], start_ns=T0, end_ns=T0 + 9 * S)
    assert nan_free(got) == {"m1": ([T0], {"e": [1.0]}), "m2": ([T0 + S], {"e": [2.0]})}
    summed = store.aggregate(
        PARK, measurement=LEDGER_DAY, fields={"e": ("sum", "e")}, start_ns=T0, end_ns=T0 + 9 * S
    )
    assert summed == {"m1": {"e": 1.0}, "m2": {"e": 2.0}}


@pytest.mark.influxdb
def test_influxdb_keeps_long_term_measurements_in_their_own_retention_policy(influx_store):
    influx_store.write([pt("m1", T0, measurement=LEDGER_DAY, e=1.0), pt("m1", T0, kw=5.0)])

    policies = [
        (row[0], row[1], row[2])
        for series in influx_store._select(f'SHOW RETENTION POLICIES ON "{influx_store.database}"')
        for row in series["values"]
    ]
    assert (LONG_TERM_RP, "0s", "87360h0m0s") in policies  # infinite, 520-week shards
    default = list(influx_store._select(f'SELECT * FROM "autogen"."{LEDGER_DAY}"'))
    assert default == []
    kept = list(influx_store._select(f'SELECT "e" FROM "{LONG_TERM_RP}"."{LEDGER_DAY}"'))
    assert [row[-1] for row in kept[0]["values"]] == [1.0]
    assert influx_store.count(PARK) == 1  # telemetry stays in the default policy


@pytest.mark.influxdb
def test_influxdb_refusing_retention_policies_keeps_long_term_data_in_the_default(influxd):
    class NoPolicies(InfluxStore):
        def _execute(self, statement: str) -> None:
            raise StoreQueryError("retention policies are not supported (as on 2.x)")

    database = "test_no_policies"
    refusing = NoPolicies(influxd.store_url(database), timeout_s=5.0)
    try:
        refusing.write([pt("m1", T0, measurement=LEDGER_DAY, e=1.0)])

        assert refusing.count(PARK, measurement=LEDGER_DAY) == 1
        default = list(refusing._select(f'SELECT * FROM "autogen"."{LEDGER_DAY}"'))
        assert len(default[0]["values"]) == 1
    finally:
        refusing.close()
        influxd.drop_database(database)


def test_series_of_an_unknown_device_or_field_is_empty(store):
    store.write([pt("m1", T0, kw=1.0)])

    assert values(store, "m2", "kw") == []
    assert values(store, "m1", "nope") == []
    assert values(store, "m1", "kw", every_s=60) != []
    assert values(store, "m1", "nope", every_s=60) == []


# minute buckets: [T0, T0+60s) holds 3 points, [T0+60s, +120s) none, [T0+120s, +180s) 2 points
BUCKETED = [(0, 4.0), (15, 1.0), (59, 7.0), (125, 10.0), (179, -2.0)]
EXPECTED = {
    "mean": [4.0, 4.0],
    "min": [1.0, -2.0],
    "max": [7.0, 10.0],
    "sum": [12.0, 8.0],
    "count": [3.0, 2.0],
    "first": [4.0, 10.0],
    "last": [7.0, -2.0],
}


@pytest.mark.parametrize("aggregate", sorted(EXPECTED))
def test_aggregates_per_epoch_aligned_bucket_leave_empty_buckets_out(store, aggregate):
    # written newest first so that first/last cannot rely on insertion order
    store.write([pt("m1", T0 + s * S, kw=v) for s, v in reversed(BUCKETED)])
    store.write([pt("m1", T0 + 240 * S, kw=1000.0)])  # at the end bound: excluded

    got = values(
        store, "m1", "kw", start_ns=T0, end_ns=T0 + 240 * S, every_s=60, aggregate=aggregate
    )

    assert got == [
        SeriesRow(T0, EXPECTED[aggregate][0]),
        SeriesRow(T0 + 120 * S, EXPECTED[aggregate][1]),
    ]


def test_buckets_align_to_the_epoch_not_to_the_start_of_the_query(store):
    store.write([pt("m1", T0 + s * S, kw=float(s)) for s in (20, 50, 70)])

    got = values(store, "m1", "kw", start_ns=T0 + 30 * S, end_ns=T0 + 120 * S, every_s=60)

    # the first bucket is labelled with its epoch-aligned start, and holds only points in range
    assert got == [SeriesRow(T0, 50.0), SeriesRow(T0 + 60 * S, 70.0)]


def test_buckets_before_1970_are_aligned_too(store):
    store.write([pt("m1", t, kw=v) for t, v in ((-90 * S, 1.0), (-30 * S, 3.0), (-1, 5.0))])

    got = values(store, "m1", "kw", start_ns=-120 * S, end_ns=0, every_s=60, aggregate="sum")

    assert got == [SeriesRow(-120 * S, 1.0), SeriesRow(-60 * S, 8.0)]
    assert store.latest(PARK) == [LatestReading("m1", -1, {"kw": 5.0})]


# --- count ------------------------------------------------------------------------------------


def test_count_is_distinct_points_per_park_and_device(store):
    store.write(
        [
            pt("m1", T0, kw=1.0),
            pt("m1", T0 + S, kwh=2.0),  # different fields: counting one field would miss it
            pt("m1", T0 + 2 * S, kw=3.0, kwh=4.0),
            pt("m2", T0, v=230.0),
            pt("m3", T0, park="other", v=1.0),
        ]
    )
    store.write([pt("m1", T0, kw=1.5)])  # a replay: no new point

    assert store.count(PARK) == 4
    assert store.count(PARK, device="m1") == 3
    assert store.count(PARK, device="m2") == 1
    assert store.count(PARK, device="nope") == 0
    assert store.count("other") == 1
    assert store.count("nowhere") == 0
    assert store.count(PARK, measurement="ledger") == 0


# --- quarantine -------------------------------------------------------------------------------


def q(received_ns: int, park: str = PARK, **kw: object) -> QuarantineRecord:
    defaults: dict[str, object] = {
        "reason": "bad_json",
        "detail": "Expecting value: line 1 column 1",
        "topic": f"parks/{park}/devices/m1/telemetry",
        "excerpt": "{not json",
        "park": park,
        "device": "m1",
    }
    return QuarantineRecord(received_ns=received_ns, **{**defaults, **kw})  # type: ignore[arg-type]


def test_quarantine_round_trips_newest_first(store):
    records = [
        q(T0, excerpt='line one\nline "two" with \\ and \'', extra={"qos": "1", "é": "ü\n"}),
        q(T0 + 2 * S, reason="unknown_device", device="ghost", detail=""),
        q(T0 + S, park="", device="", topic="junk/topic", reason="bad_topic"),
    ]
    store.write_quarantine(records)

    assert store.quarantined() == [records[1], records[2], records[0]]
    assert store.quarantined(limit=1) == [records[1]]


def test_quarantine_filters_by_park(store):
    mine, theirs, parkless = q(T0), q(T0 + S, park="other"), q(T0 + 2 * S, park="")
    store.write_quarantine([mine, theirs, parkless])

    assert store.quarantined(park=PARK) == [mine]
    assert store.quarantined(park="other") == [theirs]
    assert store.quarantined(park="") == [parkless]
    assert store.quarantined(park="nowhere") == []


def test_quarantine_keeps_records_that_share_a_time(store):
    # one bad gateway batch: several records with the same receive time
    records = [q(T0, detail=f"reading {i}") for i in range(3)]
    store.write_quarantine(records)

    assert sorted(r.detail for r in store.quarantined()) == ["reading 0", "reading 1", "reading 2"]


# --- awkward names and injection ----------------------------------------------------------------

AWKWARD = [
    "a,b",
    "a b",
    "it's",
    'say "hi"',
    "x=y",
    "back\\slash",
    "\\'",
    '\\"',
    "ünï €😀",
    "a\\,b",
    "a\\ b",
    "a\\=b",
]
# InfluxDB 1.6 cannot carry a field key with a backslash before ',', ' ', '=' or '"' (see below)
LOSSY_FIELDS = ("a\\,b", "a\\ b", "a\\=b", '\\"')
AWKWARD_FIELDS = [n for n in AWKWARD if "\\" not in n]  # Point refuses backslashes in field names


@pytest.mark.parametrize("name", AWKWARD)
def test_awkward_park_and_device_names_round_trip(store, name):
    store.write([pt(name, T0, park=name, kw=1.0), pt("plain", T0, park=name, kw=2.0)])

    expected = [LatestReading(name, T0, {"kw": 1.0}), LatestReading("plain", T0, {"kw": 2.0})]
    assert store.latest(name) == sorted(expected, key=lambda r: r.device)
    assert values(store, name, "kw", park=name) == [SeriesRow(T0, 1.0)]
    assert store.count(name, device=name) == 1


@pytest.mark.parametrize("name", AWKWARD_FIELDS)
def test_awkward_field_names_round_trip(store, name):
    store.write([pt("m1", T0, **{name: 1.0, "plain": 2.0})])

    assert store.latest(PARK) == [LatestReading("m1", T0, {name: 1.0, "plain": 2.0})]
    assert values(store, "m1", name) == [SeriesRow(T0, 1.0)]
    assert values(store, "m1", name, every_s=60, aggregate="max") == [SeriesRow(T0, 1.0)]


@pytest.mark.parametrize("name", [*LOSSY_FIELDS, "time", "a\\b"])
def test_field_names_line_protocol_cannot_carry_are_refused_by_point(name):
    # InfluxDB 1.6 refuses, or reads back changed, a field key with a backslash before a
    # separator, and drops a field named "time": refused up front, for every store alike
    with pytest.raises(ValueError, match="invalid field name"):
        pt("m1", T0, **{name: 1.0})


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_values_are_refused_by_point(value):
    with pytest.raises(ValueError, match="only finite numbers"):
        pt("m1", T0, kw=value)


@pytest.mark.parametrize(
    "hostile",
    [
        "x' OR '1'='1",
        "m1' OR \"device\" =~ /.*/ OR 'a'='b",
        "x\\' OR 1=1 --",
        'x" FROM "telemetry"; DROP DATABASE "x',
        "m1\\",
    ],
)
def test_hostile_names_match_nothing_else(store, hostile):
    store.write(
        [pt("m1", T0, kw=1.0), pt("m2", T0 + S, kw=2.0), pt("m3", T0, park="other", kw=3.0)]
    )

    assert store.latest(hostile) == []
    assert store.count(hostile) == 0
    assert store.count(PARK, device=hostile) == 0
    assert values(store, hostile, "kw") == []
    assert values(store, "m1", hostile) == []
    assert values(store, "m1", hostile, every_s=60) == []
    assert store.quarantined(park=hostile) == []
    assert store.count(PARK) == 2  # and nothing was dropped


HOSTILE_READS = [
    "x' OR '1'='1",
    'x" FROM "telemetry"; DROP DATABASE "x',
    "e\\",
    "e\\' OR 1=1 --",
    'e\\" , sum("e") FROM "days',
    "e\nDROP DATABASE x",
    "m1\r\nSELECT 1",
]


@pytest.mark.parametrize("hostile", HOSTILE_READS)
def test_hostile_names_in_columns_and_aggregate_match_nothing_else(store, hostile):
    store.write(
        [
            pt("m1", T0, measurement="days", e=1.0),
            pt("m2", T0 + S, measurement="days", e=2.0),
            pt("m3", T0, park="other", measurement="days", e=3.0),
        ]
    )
    window = {"start_ns": T0, "end_ns": T0 + 9 * S}
    spec = {"s": ("sum", "e"), "n": ("count", "e")}

    assert store.columns(hostile, measurement="days", fields=["e"], **window) == {}
    assert store.columns(PARK, measurement=hostile, fields=["e"], **window) == {}
    assert store.columns(PARK, measurement="days", fields=[hostile], **window) == {}
    assert store.columns(PARK, measurement="days", fields=["e"], devices=[hostile], **window) == {}
    assert store.aggregate(hostile, measurement="days", fields=spec, **window) == {}
    assert store.aggregate(PARK, measurement=hostile, fields=spec, **window) == {}
    assert store.aggregate(PARK, measurement="days", fields={"s": ("sum", hostile)}, **window) == {}
    # a hostile output name is only a key of the answer, never part of a query
    named = store.aggregate(PARK, measurement="days", fields={hostile: ("sum", "e")}, **window)
    assert named == {"m1": {hostile: 1.0}, "m2": {hostile: 2.0}}
    # and nothing was changed or dropped
    assert store.aggregate(PARK, measurement="days", fields=spec, **window) == {
        "m1": {"s": 1.0, "n": 1.0},
        "m2": {"s": 2.0, "n": 1.0},
    }
    assert store.count("other", measurement="days") == 1


@pytest.mark.parametrize("name", AWKWARD)
def test_awkward_names_round_trip_through_columns_and_aggregate(store, name):
    field = name if name in AWKWARD_FIELDS else "e"
    store.write(
        [
            pt(name, T0, park=name, measurement="days", **{field: 1.5, "other": 9.0}),
            pt(name, T0 + S, park=name, measurement="days", **{field: 2.5}),
            pt("plain", T0, park=name, measurement="days", **{field: 4.0}),
        ]
    )
    window = {"start_ns": T0, "end_ns": T0 + 9 * S}

    got_columns = store.columns(name, measurement="days", fields=[field, "other"], **window)
    assert nan_free(got_columns) == {
        name: ([T0, T0 + S], {field: [1.5, 2.5], "other": [9.0, None]}),
        "plain": ([T0], {field: [4.0], "other": [None]}),
    }
    got = store.aggregate(
        name,
        measurement="days",
        fields={"sum": ("sum", field), "max": ("max", field), "n": ("count", field)},
        **window,
    )
    assert got == {
        name: {"sum": 4.0, "max": 2.5, "n": 2.0},
        "plain": {"sum": 4.0, "max": 4.0, "n": 1.0},
    }


def test_awkward_measurement_name(store):
    measurement = 'my "measure", v1'
    store.write([pt("m1", T0, measurement=measurement, kw=1.0)])

    assert store.latest(PARK, measurement=measurement) == [LatestReading("m1", T0, {"kw": 1.0})]
    assert store.latest(PARK) == []
    query = SeriesQuery(PARK, "m1", "kw", T0, T0 + S, measurement=measurement)
    assert store.series(query) == [SeriesRow(T0, 1.0)]
    assert store.count(PARK, measurement=measurement) == 1


# --- health and failures ------------------------------------------------------------------------


def test_ping(store):
    assert store.ping() is True


def test_unreachable_influxdb_raises_unavailable():
    dead = InfluxStore(f"influxdb://127.0.0.1:{free_port()}/nothing", timeout_s=1.0)
    try:
        assert dead.ping() is False
        calls = [
            lambda: dead.write([pt("m1", T0, kw=1.0)]),
            lambda: dead.latest(PARK),
            lambda: dead.series(SeriesQuery(PARK, "m1", "kw", T0, T0 + S)),
            lambda: dead.count(PARK),
            lambda: dead.columns(PARK, measurement=LEDGER_DAY, fields=["e"], start_ns=0, end_ns=1),
            lambda: dead.aggregate(
                PARK, measurement=LEDGER_DAY, fields={"e": ("sum", "e")}, start_ns=0, end_ns=1
            ),
            lambda: dead.write([pt("m1", T0, measurement=LEDGER_DAY, e=1.0)]),
            lambda: dead.write_quarantine([q(T0)]),
            dead.quarantined,
        ]
        for call in calls:
            with pytest.raises(StoreUnavailableError) as info:
                call()
            assert isinstance(info.value.__cause__, Exception)  # raised from the httpx error
    finally:
        dead.close()


@pytest.mark.influxdb
def test_influxdb_refusing_a_write_raises_query_error_with_its_message(influx_store):
    influx_store.write_quarantine([q(T0)])  # `detail` is a string field there

    with pytest.raises(StoreQueryError, match="field type conflict"):
        influx_store.write([pt("m1", T0, measurement="quarantine", detail=1.0)])


@pytest.mark.influxdb
def test_influxdb_creates_its_database_on_first_use(influxd, influx_store):
    assert influx_store.count(PARK) == 0  # a read first: the database did not exist
    influx_store.write([pt("m1", T0, kw=1.0)])
    shown = influxd.show_databases()

    assert influx_store.database in shown
    assert influx_store.count(PARK) == 1


def test_the_evidence_measurements_are_kept_for_the_long_term() -> None:
    """Profiles, instruments and the maintenance log outlive the raw readings' retention."""
    from services.accounting import ACCOUNTING
    from services.instruments import INSTRUMENT
    from services.maintenance import MAINTENANCE
    from store.base import LEDGER_DAY, LONG_TERM

    assert {ACCOUNTING, INSTRUMENT, MAINTENANCE, LEDGER_DAY} <= LONG_TERM


@pytest.mark.influxdb
def test_influxdb_with_authentication_refuses_a_wrong_password_in_one_clear_line(
    influxd_auth: InfluxService,
) -> None:
    database = "test_wrong_password"
    wrong = InfluxStore(influxd_auth.store_url(database, password="wrong"), timeout_s=5.0)
    try:
        for attempt in (
            lambda: wrong.write([pt("m1", T0, kw=1.0)]),
            lambda: wrong.latest(PARK),
        ):
            # unavailable, not refused: a collector spools its readings until the URL is fixed
            with pytest.raises(StoreUnavailableError) as caught:
                attempt()
            message = str(caught.value)
            assert message == (
                f"InfluxDB at {influxd_auth.url} refused the credentials of the store URL "
                "(authorization failed): check its user and password, or token"
            )
            assert "wrong" not in message
        assert not influxd_auth.show_databases().count(database)  # nothing was created
    finally:
        wrong.close()


@pytest.mark.influxdb
def test_influxdb_without_credentials_is_refused_by_an_authenticating_server(
    influxd_auth: InfluxService,
) -> None:
    anonymous = InfluxStore(f"influxdb://127.0.0.1:{influxd_auth.port}/test_anon", timeout_s=5.0)
    try:
        with pytest.raises(StoreUnavailableError, match="refused the credentials"):
            anonymous.count(PARK)
    finally:
        anonymous.close()
