"""The spool: durable FIFO of batches, bounded, and it survives a restart."""

from __future__ import annotations

import pytest

from ingest.spool import Spool, SpoolFullError
from store.base import TELEMETRY, Point, QuarantineRecord


def batch(n: int, t0: int = 1_764_000_000_000_000_000) -> list[Point]:
    return [
        Point(TELEMETRY, {"park": "p", "device": f"d{i % 3}"}, {"power_kw": i + 0.5}, t0 + i)
        for i in range(n)
    ]


RECORD = QuarantineRecord(1, "bad_value", "field 'power' is str", "t/x", '{"power": "x"}', "p", "d")


def test_fifo_and_round_trip(tmp_path):
    spool = Spool(tmp_path, max_bytes=1 << 20)
    spool.append(batch(3), [RECORD])
    spool.append(batch(2, t0=5), [])
    assert (len(spool), spool.readings) == (2, 5)
    first = spool.peek()
    assert first is not None
    assert first.points == batch(3)
    assert first.quarantine == [RECORD]
    spool.pop(first.sequence)
    second = spool.peek()
    assert second is not None
    assert second.points == batch(2, t0=5)
    with pytest.raises(ValueError, match="not the oldest"):
        spool.pop(first.sequence)
    spool.pop(second.sequence)
    assert (len(spool), spool.readings, spool.bytes, spool.peek()) == (0, 0, 0, None)
    assert list(tmp_path.iterdir()) == []


def test_survives_a_restart_in_order_and_drops_half_written_files(tmp_path):
    spool = Spool(tmp_path, max_bytes=1 << 20)
    for i in range(12):  # more than 9, so ordering is numeric, not lexical by accident
        spool.append(batch(1, t0=i), [])
    (tmp_path / "0000000000000099-1.tmp").write_bytes(b"{half")  # crashed before its rename
    again = Spool(tmp_path, max_bytes=1 << 20)
    assert (len(again), again.readings, again.bytes) == (12, 12, spool.bytes)
    seen = []
    while (b := again.peek()) is not None:
        seen.append(b.points[0].time_ns)
        again.pop(b.sequence)
    assert seen == list(range(12))
    assert not list(tmp_path.glob("*.tmp"))
    again.append(batch(1), [])  # numbering continues after the highest sequence
    newest = again.peek()
    assert newest is not None
    assert newest.sequence == 13


def test_bounded_in_bytes(tmp_path):
    spool = Spool(tmp_path, max_bytes=600)
    spool.append(batch(3), [])
    spool.append(batch(3), [])
    with pytest.raises(SpoolFullError, match="full"):
        spool.append(batch(3), [])
    assert spool.bytes <= 600
    assert spool.oldest_age_s() >= 0
