"""The embedded store: SQLite in one file, for zero set-up (the demo, a laptop, a small park).

Same contract and the same idempotence as InfluxDB: a point's identity is (measurement, tags,
time), each field is one row keyed by that identity, and a rewrite replaces the row. A second
table keeps the newest value of every field so ``latest`` never scans history. SQLite runs in WAL
mode, so ``smartpark collect`` and ``smartpark serve`` can share one file from two processes.
"""

from __future__ import annotations

import itertools
import math
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from config.errors import StoreQueryError, StoreUnavailableError
from store.base import (
    TELEMETRY,
    Columns,
    LatestReading,
    Point,
    QuarantineRecord,
    Reduction,
    SeriesQuery,
    SeriesRow,
    check_reductions,
)

__all__ = ["EmbeddedStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS points (
    measurement TEXT NOT NULL,
    park TEXT NOT NULL,
    device TEXT NOT NULL,
    tags TEXT NOT NULL,          -- the other tags, canonical JSON ('' when none)
    field TEXT NOT NULL,
    time_ns INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (measurement, park, device, tags, field, time_ns)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS latest (
    measurement TEXT NOT NULL,
    park TEXT NOT NULL,
    device TEXT NOT NULL,
    tags TEXT NOT NULL,
    field TEXT NOT NULL,
    time_ns INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (measurement, park, device, tags, field)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS quarantine (
    received_ns INTEGER NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    topic TEXT NOT NULL,
    excerpt TEXT NOT NULL,
    park TEXT NOT NULL,
    device TEXT NOT NULL,
    extra TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS quarantine_by_time ON quarantine (received_ns);
"""

# SQLite aggregate for each contract aggregate; first/last are handled with window-free subqueries
_MAX_IN = 500
"""Devices per ``IN (…)`` list of one query [devices] (SQLite's bound-parameter limit is 32,766
since 3.32, 999 before)."""
_SQL_AGG = {"mean": "AVG", "min": "MIN", "max": "MAX", "sum": "SUM", "count": "COUNT"}


class EmbeddedStore:
    """SQLite-backed store at ``path`` (created with its folder if missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # a write returns only once it is durable
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailableError(f"cannot open embedded store {path}: {exc}") from exc
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"EmbeddedStore({str(self.path)!r})"

    @staticmethod
    def _other_tags(point: Point) -> str:
        extra = {k: v for k, v in point.tags.items() if k not in ("park", "device") and v}
        return orjson.dumps(extra, option=orjson.OPT_SORT_KEYS).decode() if extra else ""

    def write(self, points: Sequence[Point]) -> None:
        """Write points in one transaction; a rewrite of an identity replaces its fields."""
        rows = [
            (p.measurement, p.tags["park"], p.tags["device"], self._other_tags(p), k, p.time_ns, v)
            for p in points
            for k, v in p.fields.items()
        ]
        if not rows:
            return
        for row in rows:
            # as InfluxDB's line protocol does: SQLite would store inf, and NaN as NULL
            if not math.isfinite(row[6]):
                raise ValueError(f"a field value must be finite, got {row[6]!r} for {row[4]!r}")
        with self._lock:
            try:
                with self._db:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO points VALUES (?, ?, ?, ?, ?, ?, ?)", rows
                    )
                    self._db.executemany(
                        "INSERT INTO latest VALUES (?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT DO UPDATE SET time_ns = excluded.time_ns, "
                        "value = excluded.value WHERE excluded.time_ns >= latest.time_ns",
                        rows,
                    )
            except sqlite3.OperationalError as exc:
                raise StoreUnavailableError(f"embedded store write failed: {exc}") from exc
            except sqlite3.Error as exc:
                raise StoreQueryError(f"embedded store refused the write: {exc}") from exc

    def _query(self, sql: str, args: Sequence[object]) -> list[Any]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise StoreUnavailableError(f"embedded store query failed: {exc}") from exc

    def latest(self, park: str, *, measurement: str = TELEMETRY) -> list[LatestReading]:
        """The newest point of each device: the fields written at that device's newest time."""
        rows = self._query(
            "SELECT device, field, time_ns, value FROM latest WHERE measurement = ? AND park = ? "
            "ORDER BY device",
            (measurement, park),
        )
        newest: dict[str, int] = {}
        for device, _field, time_ns, _value in rows:
            newest[device] = max(newest.get(device, time_ns), time_ns)
        fields: dict[str, dict[str, float]] = {d: {} for d in newest}
        for device, field, time_ns, value in rows:
            if time_ns == newest[device]:
                fields[device][field] = float(value)
        return [LatestReading(d, newest[d], fields[d]) for d in sorted(newest)]

    def series(self, query: SeriesQuery) -> list[SeriesRow]:
        """Raw values, or one aggregate per epoch-aligned bucket of ``every_s`` seconds."""
        where = (
            "measurement = ? AND park = ? AND device = ? AND field = ? "
            "AND time_ns >= ? AND time_ns < ?"
        )
        args: list[object] = [
            query.measurement,
            query.park,
            query.device,
            query.field,
            query.start_ns,
            query.end_ns,
        ]
        if query.every_s is None:
            order = "DESC" if query.descending else "ASC"
            sql = (
                f"SELECT time_ns, value FROM points WHERE {where} ORDER BY time_ns {order} LIMIT ?"
            )
        else:
            every_ns = query.every_s * 1_000_000_000
            # floor to the bucket, also before 1970 (SQLite's % keeps the dividend's sign)
            bucket = f"(time_ns - (((time_ns % {every_ns}) + {every_ns}) % {every_ns}))"
            if query.aggregate in ("first", "last"):
                pick = "MIN" if query.aggregate == "first" else "MAX"
                # SQLite returns the bare column from the row that holds MIN/MAX
                sql = (
                    f"SELECT {bucket} AS b, value, {pick}(time_ns) FROM points WHERE {where} "
                    f"GROUP BY b ORDER BY b {'DESC' if query.descending else 'ASC'} LIMIT ?"
                )
            else:
                agg = _SQL_AGG[query.aggregate]
                sql = (
                    f"SELECT {bucket} AS b, {agg}(value) FROM points WHERE {where} "
                    f"GROUP BY b ORDER BY b {'DESC' if query.descending else 'ASC'} LIMIT ?"
                )
        args.append(query.limit)
        return [SeriesRow(int(r[0]), float(r[1])) for r in self._query(sql, args)]

    def scan(
        self, park: str, *, measurement: str, start_ns: int, end_ns: int, limit: int = 100_000
    ) -> list[LatestReading]:
        """Every point of ``measurement`` in ``park`` over ``[start_ns, end_ns)``, oldest first
        (then by device and other tags), at most ``limit``."""
        rows = self._query(
            "SELECT time_ns, device, tags, field, value FROM points "
            "WHERE measurement = ? AND park = ? AND time_ns >= ? AND time_ns < ? "
            "ORDER BY time_ns, device, tags",
            (measurement, park, start_ns, end_ns),
        )
        points: dict[tuple[int, str, str], dict[str, float]] = {}
        for time_ns, device, tags, field, value in rows:
            key = (int(time_ns), str(device), str(tags))
            if key not in points and len(points) == limit:
                break
            points.setdefault(key, {})[str(field)] = float(value)
        return [LatestReading(d, t, f) for (t, d, _), f in points.items()]

    def columns(
        self,
        park: str,
        *,
        measurement: str,
        fields: Sequence[str],
        start_ns: int,
        end_ns: int,
        devices: Sequence[str] | None = None,
    ) -> dict[str, Columns]:
        """Per device (of ``devices`` when given), the points having any of ``fields`` as
        columns: one SQL query that pivots the field rows of each point (``GROUP BY device,
        tags, time_ns``); with more ``devices`` than :data:`_MAX_IN` one query per that many."""
        wanted = list(dict.fromkeys(fields))
        if not wanted:
            return {}
        if devices is not None:
            names = list(dict.fromkeys(devices))
            out: dict[str, Columns] = {}
            for k in range(0, len(names), _MAX_IN):
                out.update(
                    self._columns(
                        park,
                        measurement,
                        wanted,
                        start_ns=start_ns,
                        end_ns=end_ns,
                        devices=names[k : k + _MAX_IN],
                    )
                )
            return out
        return self._columns(
            park, measurement, wanted, start_ns=start_ns, end_ns=end_ns, devices=None
        )

    def _columns(
        self,
        park: str,
        measurement: str,
        wanted: list[str],
        *,
        start_ns: int,
        end_ns: int,
        devices: list[str] | None,
    ) -> dict[str, Columns]:
        pivot = ", ".join("MAX(CASE WHEN field = ? THEN value END)" for _ in wanted)
        only = "" if devices is None else f"AND device IN ({', '.join('?' * len(devices))}) "
        rows = self._query(
            f"SELECT device, time_ns, {pivot} FROM points "
            "WHERE measurement = ? AND park = ? AND time_ns >= ? AND time_ns < ? "
            f"AND field IN ({', '.join('?' * len(wanted))}) {only}"
            "GROUP BY device, tags, time_ns ORDER BY device, time_ns, tags",
            [*wanted, measurement, park, start_ns, end_ns, *wanted, *(devices or [])],
        )
        out: dict[str, Columns] = {}
        for device, group in itertools.groupby(rows, key=lambda r: str(r[0])):
            got = list(group)
            table = np.array([r[2:] for r in got], dtype=np.float64).reshape(len(got), len(wanted))
            out[device] = Columns(
                np.array([r[1] for r in got], dtype=np.int64),
                {f: np.ascontiguousarray(table[:, j]) for j, f in enumerate(wanted)},
            )
        return out

    def aggregate(
        self,
        park: str,
        *,
        measurement: str,
        fields: Mapping[str, tuple[Reduction, str]],
        start_ns: int,
        end_ns: int,
    ) -> dict[str, dict[str, float]]:
        """Per device, each ``name: (reduction, field)`` in SQL: one ``GROUP BY device``."""
        check_reductions(fields)
        if not fields:
            return {}
        names = list(fields)
        columns = []
        args: list[object] = []
        for name in names:
            reduction, field = fields[name]
            # the reduction is one of REDUCTIONS (checked above); the field is a parameter
            if reduction == "count":
                columns.append("COUNT(CASE WHEN field = ? THEN 1 END)")
            else:
                columns.append(f"{reduction.upper()}(CASE WHEN field = ? THEN value END)")
            args.append(field)
        wanted = list(dict.fromkeys(f for _, f in fields.values()))
        args.extend([measurement, park, start_ns, end_ns, *wanted])
        sql = (
            f"SELECT device, {', '.join(columns)} FROM points "
            "WHERE measurement = ? AND park = ? AND time_ns >= ? AND time_ns < ? "
            f"AND field IN ({', '.join('?' * len(wanted))}) GROUP BY device"
        )
        out: dict[str, dict[str, float]] = {}
        for row in self._query(sql, args):
            got = {
                name: float(value)
                for name, value, (reduction, _) in zip(names, row[1:], fields.values(), strict=True)
                if value is not None and not (reduction == "count" and value == 0)
            }
            if got:
                out[str(row[0])] = got
        return out

    def count(self, park: str, *, device: str | None = None, measurement: str = TELEMETRY) -> int:
        """Distinct point identities of a park (or one device)."""
        sql = (
            "SELECT COUNT(*) FROM (SELECT DISTINCT device, tags, time_ns FROM points "
            "WHERE measurement = ? AND park = ?"
        )
        args: list[object] = [measurement, park]
        if device is not None:
            sql += " AND device = ?"
            args.append(device)
        rows = self._query(sql + ")", args)
        return int(rows[0][0])

    def write_quarantine(self, records: Sequence[QuarantineRecord]) -> None:
        """Append quarantined input."""
        rows = [
            (
                r.received_ns,
                r.reason,
                r.detail,
                r.topic,
                r.excerpt,
                r.park,
                r.device,
                orjson.dumps(dict(r.extra)).decode(),
            )
            for r in records
        ]
        with self._lock:
            try:
                with self._db:
                    self._db.executemany(
                        "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
                    )
            except sqlite3.Error as exc:
                raise StoreUnavailableError(
                    f"embedded store quarantine write failed: {exc}"
                ) from exc

    def quarantined(self, *, park: str | None = None, limit: int = 1000) -> list[QuarantineRecord]:
        """Newest quarantined records first."""
        sql = "SELECT * FROM quarantine"
        args: list[object] = []
        if park is not None:
            sql += " WHERE park = ?"
            args.append(park)
        sql += " ORDER BY received_ns DESC LIMIT ?"
        args.append(limit)
        return [
            QuarantineRecord(
                received_ns=int(r[0]),
                reason=r[1],
                detail=r[2],
                topic=r[3],
                excerpt=r[4],
                park=r[5],
                device=r[6],
                extra=orjson.loads(r[7]),
            )
            for r in self._query(sql, args)
        ]

    def ping(self) -> bool:
        """True while the database file answers."""
        try:
            self._query("SELECT 1", ())
        except StoreUnavailableError:
            return False
        return True

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
