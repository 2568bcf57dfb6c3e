"""The store-and-forward buffer: an append-only, fsynced queue of messages in one SQLite file.

Every poll cycle appends its messages in one transaction (``synchronous=FULL`` in WAL mode:
the commit returns after the write-ahead log is fsynced), so a message is either on disk whole
or was never polled; a ``kill -9`` or a power cut loses nothing that was appended. The
forwarder reads the oldest messages first and removes a message only after the broker's
PUBACK, so delivery is at least once and in order. A crash between the PUBACK and the removal
sends that message again: the same device and timestamp, which the store overwrites
(DESIGN.md, "Writes are idempotent").

With ``journal`` every appended message is also kept, in the same transaction, in a second
table that nothing removes from: the truth an audit (or a test) compares deliveries with.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from edge.errors import EdgeError

__all__ = ["Message", "Outbox", "Stored"]

Kind = Literal["reading", "status"]


@dataclass(frozen=True, slots=True)
class Message:
    """One MQTT message to deliver: topic, payload (UTF-8 JSON), retain flag, device, kind."""

    topic: str
    payload: bytes
    device: str
    kind: Kind = "reading"
    retain: bool = False


@dataclass(frozen=True, slots=True)
class Stored:
    """A buffered message and its sequence number (the order of appending)."""

    seq: int
    message: Message


_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL, payload BLOB NOT NULL, device TEXT NOT NULL,
    kind TEXT NOT NULL, retain INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY,
    topic TEXT NOT NULL, payload BLOB NOT NULL, device TEXT NOT NULL,
    kind TEXT NOT NULL, retain INTEGER NOT NULL
);
"""


class Outbox:
    """The buffer in the SQLite file ``path`` (created with its folder when missing)."""

    def __init__(self, path: Path, *, journal: bool = False) -> None:
        self.path = path
        self.journal = journal
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise EdgeError(f"cannot open the buffer {path}: {exc}") from exc

    def append(self, messages: Sequence[Message]) -> None:
        """Append ``messages`` in order, durably (one fsynced transaction)."""
        if not messages:
            return
        rows = [(m.topic, m.payload, m.device, m.kind, int(m.retain)) for m in messages]
        try:
            self._db.execute("BEGIN IMMEDIATE")
            for row in rows:
                cur = self._db.execute(
                    "INSERT INTO outbox (topic, payload, device, kind, retain) VALUES (?,?,?,?,?)",
                    row,
                )
                if self.journal:
                    self._db.execute(
                        "INSERT INTO journal VALUES (?,?,?,?,?,?)", (cur.lastrowid, *row)
                    )
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise EdgeError(f"cannot append to the buffer {self.path}: {exc}") from exc

    def head(self, limit: int) -> list[Stored]:
        """The ``limit`` oldest messages, oldest first."""
        cur = self._db.execute(
            "SELECT seq, topic, payload, device, kind, retain FROM outbox ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [
            Stored(seq, Message(topic, bytes(payload), device, kind, bool(retain)))
            for seq, topic, payload, device, kind, retain in cur.fetchall()
        ]

    def remove(self, seqs: Iterable[int]) -> None:
        """Forget the messages ``seqs`` (delivered: their PUBACK arrived)."""
        keys = [(s,) for s in seqs]
        if not keys:
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("DELETE FROM outbox WHERE seq = ?", keys)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise EdgeError(f"cannot update the buffer {self.path}: {exc}") from exc

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def journal_rows(self) -> list[Stored]:
        """Every message ever appended (with ``journal``), oldest first."""
        cur = self._db.execute(
            "SELECT seq, topic, payload, device, kind, retain FROM journal ORDER BY seq"
        )
        return [
            Stored(seq, Message(topic, bytes(payload), device, kind, bool(retain)))
            for seq, topic, payload, device, kind, retain in cur.fetchall()
        ]

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    def _rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")
