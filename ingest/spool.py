"""The collector's on-disk spool: readings that are durable here while the store is not reachable.

A spooled batch is one file, ``<sequence>-<readings>.spool``, holding the batch's points and
quarantine records as JSON. A file is written under a temporary name, fsynced, renamed into place
and its folder fsynced, so after a crash a batch is either wholly in the spool or not at all (and
then its MQTT messages were never acknowledged, so the broker sends them again). Batches replay
in sequence order. The spool is bounded in bytes: :meth:`Spool.append` raises
:class:`SpoolFullError` rather than grow past ``max_bytes``.

The spool holds store-neutral points, not line protocol, so it serves any store adapter.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from config.errors import IngestError
from store.base import Point, QuarantineRecord

__all__ = ["Spool", "SpoolFullError", "SpooledBatch"]

_SUFFIX = ".spool"


class SpoolFullError(IngestError):
    """The spool has no room for a batch (or its disk refused the write)."""


@dataclass(frozen=True, slots=True)
class _Entry:
    sequence: int
    path: Path
    readings: int
    size_bytes: int
    created_ns: int


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    """The oldest batch in the spool, read back."""

    sequence: int
    points: list[Point]
    quarantine: list[QuarantineRecord]


class Spool:
    """A bounded FIFO of batches in ``folder``; not thread-safe (the collector's writer owns it)."""

    def __init__(self, folder: Path, *, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        folder.mkdir(parents=True, exist_ok=True)
        for leftover in folder.glob("*.tmp"):
            leftover.unlink()  # a write that crashed before its rename: never acknowledged
        self._entries: deque[_Entry] = deque(sorted(self._scan(), key=lambda e: e.sequence))
        self.bytes = sum(e.size_bytes for e in self._entries)
        self.readings = sum(e.readings for e in self._entries)
        self._next = self._entries[-1].sequence + 1 if self._entries else 1

    def _scan(self) -> list[_Entry]:
        entries = []
        for path in self.folder.glob(f"*{_SUFFIX}"):
            try:
                sequence, readings = (int(part) for part in path.stem.split("-"))
                stat = path.stat()
            except (ValueError, OSError):
                continue  # not ours
            entries.append(_Entry(sequence, path, readings, stat.st_size, stat.st_mtime_ns))
        return entries

    def __len__(self) -> int:
        return len(self._entries)

    def oldest_age_s(self, now_ns: int | None = None) -> float:
        """Seconds [s] since the oldest spooled batch was written; 0 when empty."""
        if not self._entries:
            return 0.0
        now_ns = time.time_ns() if now_ns is None else now_ns
        return max(0.0, (now_ns - self._entries[0].created_ns) / 1e9)

    def append(self, points: Sequence[Point], quarantine: Sequence[QuarantineRecord]) -> None:
        """Make a batch durable; raises :class:`SpoolFullError` when it does not fit."""
        body = orjson.dumps(
            {
                "points": [[p.measurement, p.tags, p.fields, p.time_ns] for p in points],
                "quarantine": [_record_to_json(r) for r in quarantine],
            }
        )
        if self.bytes + len(body) > self.max_bytes:
            raise SpoolFullError(
                f"spool {self.folder} is full ({self.bytes} of {self.max_bytes} bytes)"
            )
        sequence = self._next
        final = self.folder / f"{sequence:016d}-{len(points)}{_SUFFIX}"
        temp = final.with_suffix(".tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, body)
                os.fsync(fd)
            finally:
                os.close(fd)
            temp.rename(final)
            _fsync_dir(self.folder)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise SpoolFullError(f"cannot write to spool {self.folder}: {exc}") from exc
        self._next += 1
        self._entries.append(_Entry(sequence, final, len(points), len(body), time.time_ns()))
        self.bytes += len(body)
        self.readings += len(points)

    def peek(self) -> SpooledBatch | None:
        """The oldest batch, or None when the spool is empty."""
        if not self._entries:
            return None
        entry = self._entries[0]
        doc = orjson.loads(entry.path.read_bytes())
        return SpooledBatch(
            sequence=entry.sequence,
            points=[Point(m, tags, fields, t) for m, tags, fields, t in doc["points"]],
            quarantine=[QuarantineRecord(**r) for r in doc["quarantine"]],
        )

    def pop(self, sequence: int) -> None:
        """Forget the oldest batch once the store has it."""
        entry = self._entries[0]
        if entry.sequence != sequence:
            raise ValueError(f"batch {sequence} is not the oldest ({entry.sequence})")
        entry.path.unlink(missing_ok=True)
        self._entries.popleft()
        self.bytes -= entry.size_bytes
        self.readings -= entry.readings


def _record_to_json(record: QuarantineRecord) -> dict[str, Any]:
    return {
        "received_ns": record.received_ns,
        "reason": record.reason,
        "detail": record.detail,
        "topic": record.topic,
        "excerpt": record.excerpt,
        "park": record.park,
        "device": record.device,
        "extra": dict(record.extra),
    }


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
