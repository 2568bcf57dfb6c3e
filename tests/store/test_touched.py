"""Touched marks (store/touched.py): what the collector writes beside a batch for the ledger
follower, and how the store keeps them."""

from __future__ import annotations

from store.base import TELEMETRY, TOUCHED, Point
from store.embedded import EmbeddedStore
from store.touched import touched_marks


def _reading(park: str, device: str, time_ns: int) -> Point:
    return Point(TELEMETRY, {"park": park, "device": device}, {"energy_kwh": 1.0}, time_ns)


def test_one_mark_per_park_and_device_spanning_its_readings():
    points = [
        _reading("p1", "m1", 7_000_000),  # exactly 7 ms
        _reading("p2", "m1", 1_500_000),  # same device id, another park: its own mark
        _reading("p1", "m1", 3_000_001),
        _reading("p1", "pv", 9_999_999),
    ]
    marks = touched_marks(points, now_ns=123, source="c7", devices=lambda park, dev: dev != "pv")
    assert [(m.measurement, dict(m.tags), dict(m.fields), m.time_ns) for m in marks] == [
        (TOUCHED, {"park": "p1", "device": "m1", "collector": "c7"},
         {"first_ms": 3.0, "last_ms": 7.0}, 123),
        (TOUCHED, {"park": "p2", "device": "m1", "collector": "c7"},
         {"first_ms": 1.0, "last_ms": 2.0}, 123),
    ]  # fmt: skip


def test_no_points_no_marks():
    assert touched_marks([], now_ns=1, source="c", devices=lambda *_: True) == []


def test_marks_are_stored_and_scanned_by_their_stamp(embedded_store: EmbeddedStore):
    points = [_reading("p1", "m1", t * 1_000_000) for t in (1_000, 2_000, 3_000)]
    first = touched_marks(points[:2], now_ns=10**18, source="c1", devices=lambda *_: True)
    second = touched_marks(points[2:], now_ns=10**18 + 5, source="c1", devices=lambda *_: True)
    embedded_store.write(points + first + second)
    rows = embedded_store.scan("p1", measurement=TOUCHED, start_ns=10**18, end_ns=10**18 + 6)
    assert [(r.device, r.time_ns, r.fields["first_ms"], r.fields["last_ms"]) for r in rows] == [
        ("m1", 10**18, 1_000.0, 2_000.0),
        ("m1", 10**18 + 5, 3_000.0, 3_000.0),
    ]


def test_the_ledger_follower_reads_the_same_marks():
    import services.follow

    assert services.follow.touched_marks is touched_marks
