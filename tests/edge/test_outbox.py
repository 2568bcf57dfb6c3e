"""The store-and-forward buffer: order, removal, and what survives closing the file."""

from __future__ import annotations

from pathlib import Path

from edge.outbox import Message, Outbox


def _messages(n: int, start: int = 0) -> list[Message]:
    return [
        Message(f"t/{i}", f'{{"ts":{i}}}'.encode(), f"d{i % 3}") for i in range(start, start + n)
    ]


def test_oldest_first_and_removed_only_when_told(tmp_path: Path):
    box = Outbox(tmp_path / "b.sqlite3")
    box.append(_messages(5))
    head = box.head(3)
    assert [s.message.topic for s in head] == ["t/0", "t/1", "t/2"]
    box.remove([head[0].seq, head[1].seq])
    assert [s.message.topic for s in box.head(10)] == ["t/2", "t/3", "t/4"]
    assert len(box) == 3
    box.close()


def test_survives_reopening_and_keeps_a_journal(tmp_path: Path):
    path = tmp_path / "deep" / "b.sqlite3"
    box = Outbox(path, journal=True)
    box.append(_messages(4))
    box.remove([s.seq for s in box.head(2)])
    box.close()
    again = Outbox(path, journal=True)
    again.append(_messages(2, start=4))
    assert [s.message.topic for s in again.head(10)] == ["t/2", "t/3", "t/4", "t/5"]
    journal = again.journal_rows()
    assert [s.message.topic for s in journal] == [f"t/{i}" for i in range(6)]
    assert journal[5].message == Message("t/5", b'{"ts":5}', "d2")
    seqs = [s.seq for s in journal]
    assert seqs == sorted(seqs)
    again.close()


def test_an_empty_append_writes_nothing(tmp_path: Path):
    box = Outbox(tmp_path / "b.sqlite3")
    box.append([])
    assert len(box) == 0
    assert box.head(5) == []
