"""The InfluxDB adapter: line protocol to ``/write``, InfluxQL to ``/query``, over one HTTP client.

These two endpoints are the API every InfluxDB shares: 1.x natively, 2.x and 3.x through their v1
compatibility API (authenticated with a token). Every statement is built with
:func:`~store.lineproto.quote_ident` and :func:`~store.lineproto.quote_string`, so no park, device
or field name can change what a statement means.

Errors are mapped once, here: a refused connection, a timeout, HTTP 5xx/408/429 or an answer that is
not InfluxDB's JSON → :class:`~config.errors.StoreUnavailableError` (retry later); any other 4xx
or an error inside a statement's result → :class:`~config.errors.StoreQueryError` with InfluxDB's
own message (retrying the same request will not help). Nothing is retried here: the collector's
spool owns retries.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import numpy as np
import orjson
from numpy.typing import NDArray

from config.errors import ConfigError, StoreQueryError, StoreUnavailableError
from store.base import (
    LEDGER_DAY,
    LONG_TERM,
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
from store.lineproto import encode_points, encode_string_fields, quote_ident, quote_string

__all__ = [
    "KEPT",
    "LEDGER_MEASUREMENT",
    "LEDGER_RP",
    "LONG_TERM_RP",
    "QUARANTINE",
    "InfluxStore",
    "Retention",
]

QUARANTINE = "quarantine"
"""Measurement of quarantined input: tags park/device/reason, string fields, time = received."""

LONG_TERM_RP = "smartpark_long_term"
"""Retention policy of the long-term measurements (:data:`store.base.LONG_TERM`) on InfluxDB 1.x:
infinite duration, shard groups of :data:`LONG_TERM_SHARD_DURATION`. Created on first use where
the server allows it; where it refuses (2.x/3.x, no admin rights) the default policy is used."""

LONG_TERM_SHARD_DURATION = "520w"
"""Ten years per shard group. With the default of 7 days a year of daily points spans 53 shards and
every read opens each of them for each series; one shard makes grouped reads 2-10x faster."""

LEDGER_RP = "smartpark_ledger"
"""Retention policy of the 15-minute ledger on InfluxDB 1.x (shard groups of
:data:`LEDGER_SHARD_DURATION`); created on first use, infinite until an operator applies a
:class:`Retention` (``smartpark store retention --apply``)."""

LEDGER_MEASUREMENT = "ledger"
"""The stored ledger (:data:`services.ledger.LEDGER`; the store layer cannot import it)."""

LEDGER_SHARD_DURATION = "26w"
"""Half a year per shard group: a year of a park's 15-minute ledger opens 2-3 shards, not 53."""

KEPT: frozenset[str] = frozenset(
    {
        # records people made or judged, small, read years later, whatever the raw retention:
        "alarm",  # services/alarms/records.py: alarms raised, acknowledged, cleared
        "alarm_by",  # who acknowledged or cleared them
        "declared",  # services/declared.py: figures a park declared
        "baseline",  # services/baselines.py: baseline models
    }
)
"""Measurements kept with the long-term ones (:data:`LONG_TERM_RP`) besides
:data:`store.base.LONG_TERM`: everything not listed here, not long-term and not the ledger lives in
the database's default policy, the raw readings' (telemetry, touched marks, quarantine, leases)."""


@dataclass(frozen=True, slots=True)
class Retention:
    """How long each class of data is kept [days]; 0 keeps it forever.

    ``raw_days``: the database's default policy (telemetry, touched marks, quarantine, leases);
    ``ledger_days``: :data:`LEDGER_RP`; ``rollup_days``: :data:`LONG_TERM_RP` (the day roll-ups,
    :data:`store.base.LONG_TERM`, :data:`KEPT`). docs/limits.md argues for the defaults
    (``config.settings``)."""

    raw_days: int
    ledger_days: int
    rollup_days: int

    def __post_init__(self) -> None:
        for name in ("raw_days", "ledger_days", "rollup_days"):
            days = getattr(self, name)
            if days < 0:
                raise ValueError(f"retention {name} must be 0 (forever) or more days, not {days}")
        if 0 < self.raw_days < 2:
            raise ValueError("raw readings must be kept at least 2 days (leases, late data)")


DEFAULT_PORT = 8086
WRITE_BATCH_POINTS = 5_000
"""Points per ``/write`` request; InfluxDB's advice, and the batch size calibrated in
``docs/sources/performance.md`` §3."""

# InfluxDB's representable time range [ns] (models.MinNanoTime / MaxNanoTime in 1.x)
_MIN_TIME_NS = -9_223_372_036_854_775_806
_MAX_TIME_NS = 9_223_372_036_854_775_806

# The alias under which `count` selects the device tag as a field; a field of this name would be
# counted instead, so it is one no real field will have.
_IDENTITY_ALIAS = "__smartpark_identity"
_QUARANTINE_FIELDS = ("detail", "topic", "excerpt", "extra")
_QUARANTINE_DUP_TAG = "dup"
_TRANSIENT_STATUS = frozenset({408, 425, 429})
_ERROR_TEXT_MAX = 500
_CHUNK_ROWS = 10_000  # rows per chunk of a query answer (influxd 1.x default)
_SPLIT_NS = 120 * 86_400 * 1_000_000_000  # columns() this long run as two parallel queries
_MAX_DEVICES = 200  # devices named in one columns() query: a URL of ~10 kB at most
_SPLIT_MIN_ROWS = 2_000  # a read of day points (ledger_day) of fewer rows [devices × days]
# runs as one query whatever its range: a year of one park's day marks is 366 rows, and a second
# round trip costs more than influxd's encoding of them (~1 ms against ~0.3 µs a row)
_DAY_NS = 86_400 * 1_000_000_000


class InfluxStore:
    """Store on an InfluxDB server, reached over HTTP(S).

    ``url`` is ``influxdb://[user:password@]host[:port]/database`` (``influxdbs://`` for HTTPS,
    port 8086 by default) with an optional ``?token=...`` for InfluxDB 2.x/3.x, sent as
    ``Authorization: Token ...``; user and password are sent as HTTP basic auth. ``timeout_s`` [s]
    bounds connecting and each read or write of a request. The database is created on first use
    when the server allows it (``CREATE DATABASE`` is idempotent; 2.x/3.x refuse it, and there the
    bucket and its DBRP mapping must exist already).

    Measurements in ``long_term`` (default :data:`store.base.LONG_TERM`) and :data:`KEPT` are
    written to and read from the retention policy :data:`LONG_TERM_RP`, the ledger from
    :data:`LEDGER_RP`, each created on first use when the server allows it (else the default
    policy holds them); everything else is raw, in the default policy. Callers never name a
    policy; :meth:`apply_retention` sets how long each keeps its data. An empty ``long_term``
    keeps everything in the default policy.

    Thread-safe: one keep-alive connection pool shared by all threads.
    """

    def __init__(
        self, url: str, *, timeout_s: float = 10.0, long_term: Collection[str] = LONG_TERM
    ) -> None:
        base_url, database, headers, auth = _parse_url(url)
        self.database = database
        self.long_term = frozenset(long_term) | KEPT if long_term else frozenset()
        self.ledger = frozenset({LEDGER_MEASUREMENT}) if long_term else frozenset()
        self._policies: dict[str, str | None] = {}  # policy -> itself, or None: the default
        self._rp_lock = threading.Lock()
        self._base_url = base_url
        self._client = httpx.Client(
            base_url=base_url,
            headers=headers,
            auth=auth,
            timeout=httpx.Timeout(timeout_s),
        )
        self._database_ready = False

    def __repr__(self) -> str:
        # never the token or the password
        return f"InfluxStore({self._base_url!r}, database={self.database!r})"

    # --- writes -------------------------------------------------------------------------------

    def write(self, points: Sequence[Point]) -> None:
        """Write points in batches of :data:`WRITE_BATCH_POINTS`; a rewrite replaces fields.

        Raises ``ValueError`` for a point line protocol cannot carry (NaN, infinity, a newline or
        a trailing backslash in a name) before anything is sent. Points of a long-term
        measurement go to its retention policy (class docstring).
        """
        by_policy: dict[str | None, list[Point]] = {}
        for point in points:
            by_policy.setdefault(self._policy_of(point.measurement), []).append(point)
        groups: list[tuple[str | None, Sequence[Point]]] = list(by_policy.items())
        bodies = [
            (policy, encode_points(group[i : i + WRITE_BATCH_POINTS]))
            for policy, group in groups
            for i in range(0, len(group), WRITE_BATCH_POINTS)
        ]
        for policy, body in bodies:
            self._write_body(body, rp=policy)

    def write_quarantine(self, records: Sequence[QuarantineRecord]) -> None:
        """Keep records in the ``quarantine`` measurement, time = ``received_ns``.

        Park, device and reason are tags; a newline in them becomes a space and a trailing
        backslash is dropped, because line protocol cannot carry either (the excerpt keeps the
        exact input). Records of one call that share tags and time get a ``dup`` tag so that none
        overwrites another; written again, the same records overwrite themselves.
        """
        lines: list[str] = []
        seen: dict[tuple[str, str, str, int], int] = {}
        for record in records:
            tags = {
                "park": _tag_value(record.park),
                "device": _tag_value(record.device),
                "reason": _tag_value(record.reason),
            }
            key = (tags["park"], tags["device"], tags["reason"], record.received_ns)
            dup = seen.get(key, 0)
            seen[key] = dup + 1
            if dup:
                tags[_QUARANTINE_DUP_TAG] = str(dup)
            fields = {
                "detail": record.detail,
                "topic": record.topic,
                "excerpt": record.excerpt,
                "extra": orjson.dumps(dict(record.extra)).decode(),
            }
            lines.append(encode_string_fields(QUARANTINE, tags, fields, record.received_ns))
        for i in range(0, len(lines), WRITE_BATCH_POINTS):
            self._write_body("\n".join(lines[i : i + WRITE_BATCH_POINTS]).encode("utf-8"))

    # --- reads --------------------------------------------------------------------------------

    def latest(self, park: str, *, measurement: str = TELEMETRY) -> list[LatestReading]:
        """The newest point of each device of ``park``: its time [ns] and the fields it carries."""
        statement = (
            f"SELECT *::field FROM {self._from(measurement)} "
            f"WHERE {quote_ident('park')} = {quote_string(park)} "
            f"GROUP BY {quote_ident('device')} ORDER BY time DESC LIMIT 1"
        )
        readings = []
        for series in self._select(statement):
            device = str((series.get("tags") or {}).get("device") or "")
            for row in _rows(series):
                fields = {
                    k: float(v)
                    for k, v in row.items()
                    if k != "time" and isinstance(v, int | float)
                }
                readings.append(LatestReading(device, int(row["time"]), fields))
        return sorted(readings, key=lambda r: r.device)

    def series(self, query: SeriesQuery) -> list[SeriesRow]:
        """Raw values in time order, or one aggregate per epoch-aligned ``every_s`` bucket.

        Times are nanoseconds: a point's own time, or the start of its bucket. Empty buckets are
        left out (``fill(none)``).
        """
        field = f"{quote_ident(query.field)}::field"
        where = (
            f"WHERE {quote_ident('park')} = {quote_string(query.park)} "
            f"AND {quote_ident('device')} = {quote_string(query.device)} "
            f"AND time >= {max(query.start_ns, _MIN_TIME_NS)} "
            f"AND time < {min(query.end_ns, _MAX_TIME_NS + 1)}"
        )
        source = f"FROM {self._from(query.measurement)} {where}"
        order = "DESC" if query.descending else "ASC"
        if query.every_s is None:
            statement = f"SELECT {field} {source} ORDER BY time {order} LIMIT {int(query.limit)}"
        else:
            # the aggregate name is checked against AGGREGATES by SeriesQuery, never user text
            statement = (
                f"SELECT {query.aggregate}({field}) {source} "
                f"GROUP BY time({int(query.every_s)}s) fill(none) "
                f"ORDER BY time {order} LIMIT {int(query.limit)}"
            )
        result = []
        for series in self._select(statement):
            for values in series.get("values") or []:
                if values[1] is not None:
                    result.append(SeriesRow(int(values[0]), float(values[1])))
        return result

    def scan(
        self, park: str, *, measurement: str, start_ns: int, end_ns: int, limit: int = 100_000
    ) -> list[LatestReading]:
        """Every point of ``measurement`` in ``park`` over ``[start_ns, end_ns)``, oldest first
        (then by device), at most ``limit`` (which of several points sharing the limit's
        time make the cut is up to the store): one query, every series merged in time order."""
        statement = (
            f"SELECT * FROM {self._from(measurement)} "
            f"WHERE {quote_ident('park')} = {quote_string(park)} "
            f"AND time >= {max(start_ns, _MIN_TIME_NS)} AND time < {min(end_ns, _MAX_TIME_NS + 1)} "
            f"ORDER BY time ASC LIMIT {int(limit)}"
        )
        out = []
        for series in self._select(statement):
            for row in _rows(series):
                fields = {
                    k: float(v)
                    for k, v in row.items()
                    if k != "time" and isinstance(v, int | float) and not isinstance(v, bool)
                }
                if fields:
                    out.append(
                        LatestReading(str(row.get("device") or ""), int(row["time"]), fields)
                    )
        out.sort(key=lambda p: (p.time_ns, p.device))
        return out

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
        columns: one InfluxQL query ``SELECT "f"::field, … GROUP BY "device"``, split in time
        into two parallel queries for ranges of :data:`_SPLIT_NS` or more (influxd runs one
        query on one core) unless it names its devices and reads day points
        (:data:`~store.base.LEDGER_DAY`) of fewer than :data:`_SPLIT_MIN_ROWS` rows."""
        # a name line protocol cannot carry was never stored here: it matches nothing
        wanted = [f for f in dict.fromkeys(fields) if _storable(f) and f != "time"]
        lo, hi = max(start_ns, _MIN_TIME_NS), min(end_ns, _MAX_TIME_NS + 1)
        if not wanted or hi <= lo or not _storable(park) or not _storable(measurement):
            return {}
        only = ""
        if devices is not None:
            names = [d for d in dict.fromkeys(devices) if _storable(d)]
            if not names:
                return {}
            if len(names) > _MAX_DEVICES:  # a query's URL stays short (proxies cap it)
                joined: dict[str, Columns] = {}
                for k in range(0, len(names), _MAX_DEVICES):
                    joined.update(
                        self.columns(
                            park,
                            measurement=measurement,
                            fields=fields,
                            start_ns=start_ns,
                            end_ns=end_ns,
                            devices=names[k : k + _MAX_DEVICES],
                        )
                    )
                return joined
            only = (
                " AND ("
                + " OR ".join(f"{quote_ident('device')} = {quote_string(d)}" for d in names)
                + ")"
            )
        head = (
            f"SELECT {', '.join(f'{quote_ident(f)}::field' for f in wanted)} "
            f"FROM {self._from(measurement)} WHERE {quote_ident('park')} = {quote_string(park)}"
            f"{only}"
        )
        group = f"GROUP BY {quote_ident('device')}"

        def part(a: int, b: int) -> dict[str, list[list[NDArray[Any]]]]:
            """Per device, the answer's chunks as arrays (times, then each field): each
            converted as it arrives, so a long answer never lives as Python objects beyond one
            chunk of rows."""
            got: dict[str, list[list[NDArray[Any]]]] = {}
            nan = math.nan
            for series in self._chunks(f"{head} AND time >= {a} AND time < {b} {group}"):
                rows = series.get("values") or []
                if not rows:
                    continue
                device = str((series.get("tags") or {}).get("device") or "")
                n = len(rows)
                arrays: list[NDArray[Any]] = [
                    np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
                ]
                arrays += [  # None (no such field at that time) becomes NaN
                    np.fromiter(
                        (nan if r[j] is None else r[j] for r in rows), dtype=np.float64, count=n
                    )
                    for j in range(1, len(wanted) + 1)
                ]
                got.setdefault(device, []).append(arrays)
            return got

        few = (
            measurement == LEDGER_DAY
            and devices is not None
            and len(devices) * -(-(hi - lo) // _DAY_NS) < _SPLIT_MIN_ROWS
        )
        if hi - lo < _SPLIT_NS or few:
            parts = [part(lo, hi)]
        else:
            mid = lo + (hi - lo) // 2
            with ThreadPoolExecutor(2) as pool:
                parts = list(pool.map(part, (lo, mid), (mid, hi)))
        chunks_of: dict[str, list[list[NDArray[Any]]]] = {}
        for got in parts:  # in time order: every row of a part precedes those of the next
            for device, chunks in got.items():
                chunks_of.setdefault(device, []).extend(chunks)
        out: dict[str, Columns] = {}
        for device, chunks in chunks_of.items():
            arrays = (
                chunks[0]
                if len(chunks) == 1
                else [np.concatenate(c) for c in zip(*chunks, strict=True)]
            )
            out[device] = Columns(arrays[0], dict(zip(wanted, arrays[1:], strict=True)))
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
        """Per device, each ``name: (reduction, field)`` reduced on the server: one InfluxQL
        query ``SELECT sum("f"), max("g") … GROUP BY "device"``; names never reach the query."""
        check_reductions(fields)
        usable = {n: rf for n, rf in fields.items() if _storable(rf[1]) and rf[1] != "time"}
        lo, hi = max(start_ns, _MIN_TIME_NS), min(end_ns, _MAX_TIME_NS + 1)
        if not usable or hi <= lo or not _storable(park) or not _storable(measurement):
            return {}
        names = list(usable)
        # the reduction is one of REDUCTIONS (checked above), the field quoted
        columns = ", ".join(f"{usable[n][0]}({quote_ident(usable[n][1])})" for n in names)
        statement = (
            f"SELECT {columns} FROM {self._from(measurement)} "
            f"WHERE {quote_ident('park')} = {quote_string(park)} "
            f"AND time >= {lo} AND time < {hi} GROUP BY {quote_ident('device')}"
        )
        out: dict[str, dict[str, float]] = {}
        for series in self._select(statement):
            device = str((series.get("tags") or {}).get("device") or "")
            for values in series.get("values") or []:
                got = {
                    n: float(v)
                    for n, v in zip(names, values[1:], strict=True)
                    if isinstance(v, int | float)
                    and not isinstance(v, bool)
                    and not (usable[n][0] == "count" and v == 0)
                }
                if got:
                    out.setdefault(device, {}).update(got)
        return out

    def count(self, park: str, *, device: str | None = None, measurement: str = TELEMETRY) -> int:
        """Distinct point identities (series, time) of a park, or of one device.

        ``count(*)`` counts each field on its own, which over-counts points whose fields differ.
        Instead an inner query yields one row per point (a row exists when any field does) and
        carries the device tag as a field, which the outer query counts.
        """
        where = f"WHERE {quote_ident('park')} = {quote_string(park)}"
        if device is not None:
            where += f" AND {quote_ident('device')} = {quote_string(device)}"
        alias = quote_ident(_IDENTITY_ALIAS)
        statement = (
            f"SELECT count({alias}) FROM (SELECT *::field, {quote_ident('device')}::tag AS {alias} "
            f"FROM {self._from(measurement)} {where})"
        )
        total = 0
        for series in self._select(statement):
            for values in series.get("values") or []:
                total += int(values[1] or 0)
        return total

    def quarantined(self, *, park: str | None = None, limit: int = 1000) -> list[QuarantineRecord]:
        """Quarantined records, newest first; only those of ``park`` when given."""
        statement = f"SELECT * FROM {quote_ident(QUARANTINE)}"
        if park is not None:
            statement += f" WHERE {quote_ident('park')} = {quote_string(_tag_value(park))}"
        statement += f" ORDER BY time DESC LIMIT {int(limit)}"
        records = []
        for series in self._select(statement):
            for row in _rows(series):
                text = {k: str(row.get(k) or "") for k in ("park", "device", "reason")}
                text.update({k: str(row.get(k) or "") for k in _QUARANTINE_FIELDS})
                extra = orjson.loads(text["extra"]) if text["extra"] else {}
                records.append(
                    QuarantineRecord(
                        received_ns=int(row["time"]),
                        reason=text["reason"],
                        detail=text["detail"],
                        topic=text["topic"],
                        excerpt=text["excerpt"],
                        park=text["park"],
                        device=text["device"],
                        extra={str(k): str(v) for k, v in extra.items()},
                    )
                )
        return records

    # --- lifecycle ----------------------------------------------------------------------------

    def ping(self) -> bool:
        """True when the server answers ``/ping`` with a success status."""
        try:
            return self._client.get("/ping").is_success
        except httpx.HTTPError:
            return False

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    # --- retention ----------------------------------------------------------------------------

    def _from(self, measurement: str) -> str:
        """The ``FROM`` target of ``measurement``: in its own policy when it has one."""
        rp = self._policy_of(measurement)
        if rp is not None:
            return f"{quote_ident(rp)}.{quote_ident(measurement)}"
        return quote_ident(measurement)

    def _policy_of(self, measurement: str) -> str | None:
        """The retention policy ``measurement`` lives in; None: the default (raw) policy."""
        if measurement in self.long_term:
            return self._policy(LONG_TERM_RP, LONG_TERM_SHARD_DURATION)
        if measurement in self.ledger:
            return self._policy(LEDGER_RP, LEDGER_SHARD_DURATION)
        return None

    def _policy(self, name: str, shard_duration: str) -> str | None:
        """``name``, created (infinite, shards of ``shard_duration``) if missing, or None where
        the server refuses policies (2.x/3.x, no admin rights: then the default policy holds its
        measurements). Looked up once per policy."""
        with self._rp_lock:
            if name in self._policies:
                return self._policies[name]
            self._ensure_database()
            db = quote_ident(self.database)
            rp: str | None = name
            try:
                if name not in self._retention_policies():
                    self._execute(
                        f"CREATE RETENTION POLICY {quote_ident(name)} ON {db} "
                        f"DURATION INF REPLICATION 1 SHARD DURATION {shard_duration}"
                    )
            except StoreQueryError:
                rp = None
            self._policies[name] = rp
            return rp

    def _ensure_policies(self) -> None:
        if self.long_term:
            self._policy(LONG_TERM_RP, LONG_TERM_SHARD_DURATION)
        if self.ledger:
            self._policy(LEDGER_RP, LEDGER_SHARD_DURATION)

    def _retention_policies(self) -> dict[str, tuple[str, bool]]:
        """The database's policies: name → (duration as InfluxDB writes it, is the default)."""
        shown = self._select(f"SHOW RETENTION POLICIES ON {quote_ident(self.database)}")
        out: dict[str, tuple[str, bool]] = {}
        for series in shown:
            columns = list(series.get("columns") or [])
            for row in series.get("values") or []:
                got = dict(zip(columns, row, strict=False))
                out[str(got.get("name"))] = (str(got.get("duration")), bool(got.get("default")))
        return out

    def retention(self) -> dict[str, str]:
        """Each class of data → ``policy: duration`` as the server has it now (``0s``: forever);
        StoreQueryError where the server has no policies (InfluxDB 2.x/3.x: bucket retention)."""
        self._ensure_policies()
        policies = self._retention_policies()
        default = next((n for n, (_, is_default) in policies.items() if is_default), None)
        shown = {"raw": default, "ledger": LEDGER_RP, "rollups": LONG_TERM_RP}
        return {
            what: f"{name}: {policies[name][0]}" if name in policies else "(default policy)"
            for what, name in shown.items()
            if name is not None
        }

    def apply_retention(self, retention: Retention) -> list[str]:
        """Set how long each class of data is kept: ``ALTER RETENTION POLICY`` of the default
        policy (raw), :data:`LEDGER_RP` and :data:`LONG_TERM_RP`. Data older than a new duration
        is deleted by the server within its retention check interval (30 min by default).
        Returns the statements run. StoreQueryError when the server refuses (no admin rights;
        on 2.x/3.x set the bucket's retention instead)."""
        self._ensure_policies()
        policies = self._retention_policies()
        default = next((n for n, (_, is_default) in policies.items() if is_default), None)
        if default is None:
            raise StoreQueryError(f"database {self.database!r} has no default retention policy")
        db = quote_ident(self.database)
        statements = []
        for name, days in (
            (default, retention.raw_days),
            (LEDGER_RP, retention.ledger_days),
            (LONG_TERM_RP, retention.rollup_days),
        ):
            if name not in policies:
                continue
            duration = f"{days}d" if days else "INF"
            statement = f"ALTER RETENTION POLICY {quote_ident(name)} ON {db} DURATION {duration}"
            if name == default and days:
                # a shard group is dropped whole: one of at most a tenth of the duration
                statement += f" SHARD DURATION {max(1, min(7, days // 10))}d"
            self._execute(statement)
            statements.append(statement)
        return statements

    # --- HTTP ---------------------------------------------------------------------------------

    def _ensure_database(self) -> None:
        if self._database_ready:
            return
        # refused on 2.x/3.x or without admin rights: then the real request says what is wrong
        with contextlib.suppress(StoreQueryError):
            self._request(
                "POST", "/query", params={"q": f"CREATE DATABASE {quote_ident(self.database)}"}
            )
        self._database_ready = True

    def _write_body(self, body: bytes, *, rp: str | None = None) -> None:
        if not body:
            return
        self._ensure_database()
        params = {"db": self.database, "precision": "ns"}
        if rp is not None:
            params["rp"] = rp
        self._request(
            "POST",
            "/write",
            params=params,
            content=body,
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )

    def _execute(self, statement: str) -> None:
        """Run one statement that changes the database; StoreQueryError when it is refused."""
        response = self._request("POST", "/query", params={"q": statement})
        for result in _json_body(response.content, response).get("results") or []:
            if "error" in result:
                raise StoreQueryError(f"InfluxDB refused {statement!r}: {result['error']}")

    def _select(self, statement: str) -> Iterator[Mapping[str, Any]]:
        """The series of one read-only statement (``epoch=ns`` times).

        Read as chunks of ``_CHUNK_ROWS`` rows and merged: without chunking, influxd 1.x flags
        a series of more than 10,000 rows ``partial`` although it sent every row, and cuts the
        answer at its ``max-row-limit``; chunked, each chunk of a longer series is flagged
        ``partial`` until its last one.
        """
        merged: list[dict[str, Any]] = []
        open_series = False  # the last merged series awaits more chunks
        for series in self._chunks(statement):
            last = merged[-1] if merged else None
            values = list(series.get("values") or [])
            if (
                open_series
                and last is not None
                and last.get("name") == series.get("name")
                and last.get("tags") == series.get("tags")
            ):
                last["values"].extend(values)
            else:
                merged.append({**series, "values": values})
            open_series = bool(series.get("partial"))
        yield from merged

    def _chunks(self, statement: str) -> Iterator[Mapping[str, Any]]:
        """The series of one read-only statement chunk by chunk, as influxd sent them (a series
        longer than a chunk comes as several, in order); parsed one chunk at a time."""
        self._ensure_database()
        response = self._request(
            "GET",
            "/query",
            params={
                "db": self.database,
                "q": statement,
                "epoch": "ns",
                "chunked": "true",
                "chunk_size": str(_CHUNK_ROWS),
            },
        )
        for line in response.content.splitlines():
            if not line.strip():
                continue
            body = _json_body(line, response)
            for result in body.get("results") or []:
                if "error" in result:
                    raise StoreQueryError(f"InfluxDB refused {statement!r}: {result['error']}")
                yield from result.get("series") or []

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str],
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        try:
            response = self._client.request(
                method, path, params=params, content=content, headers=headers
            )
        except httpx.TimeoutException as exc:
            raise StoreUnavailableError(f"InfluxDB at {self._base_url} timed out: {exc}") from exc
        except httpx.HTTPError as exc:
            raise StoreUnavailableError(
                f"InfluxDB at {self._base_url} cannot be reached: {exc}"
            ) from exc
        status = response.status_code
        if status == 401:
            # a retry succeeds once the operator fixes the URL: the collector spools meanwhile
            raise StoreUnavailableError(
                f"InfluxDB at {self._base_url} refused the credentials of the store URL "
                f"({_error_text(response)}): check its user and password, or token"
            )
        if status >= 500 or status in _TRANSIENT_STATUS:
            raise StoreUnavailableError(
                f"InfluxDB at {self._base_url} answered {status}: {_error_text(response)}"
            )
        if status >= 400:
            raise StoreQueryError(
                f"InfluxDB refused {method} {path} ({status}): {_error_text(response)}"
            )
        return response


def _parse_url(url: str) -> tuple[str, str, dict[str, str], tuple[str, str] | None]:
    """``influxdb[s]://[user:pass@]host[:port]/db[?token=T]`` → base URL, db, headers, auth."""
    parts = urlsplit(url)
    schemes = {"influxdb": "http", "influxdbs": "https"}
    if parts.scheme not in schemes:
        raise ConfigError(
            f"InfluxDB URL must start with influxdb:// or influxdbs://, got {parts.scheme!r}"
        )
    try:
        host, port = parts.hostname, parts.port or DEFAULT_PORT
    except ValueError as exc:
        raise ConfigError(f"InfluxDB URL has an invalid port: {exc}") from exc
    if not host:
        raise ConfigError("InfluxDB URL needs a host, e.g. influxdb://127.0.0.1:8086/smartpark")
    database = unquote(parts.path.removeprefix("/"))
    if not database:
        raise ConfigError("InfluxDB URL needs a database, e.g. influxdb://127.0.0.1:8086/smartpark")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - {"token"}
    if unknown:
        raise ConfigError(f"InfluxDB URL: unknown parameter(s) {', '.join(sorted(unknown))}")
    headers: dict[str, str] = {}
    auth: tuple[str, str] | None = None
    if "token" in query:
        headers["Authorization"] = f"Token {query['token'][-1]}"
    if parts.username is not None:
        if headers:
            raise ConfigError("InfluxDB URL: give either user:password or a token, not both")
        auth = (unquote(parts.username), unquote(parts.password or ""))
    netloc = f"[{host}]" if ":" in host else host
    return f"{schemes[parts.scheme]}://{netloc}:{port}", database, headers, auth


def _storable(name: str) -> bool:
    """False for a name line protocol cannot carry (a newline): no point has it, none matches."""
    return "\n" not in name and "\r" not in name


def _tag_value(text: str) -> str:
    """``text`` as line protocol can carry it in a tag: no newline, no trailing backslash, no NUL
    (see :func:`~store.lineproto.escape_tag`)."""
    text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ").replace("\x00", "")
    return text.rstrip("\\")


def _rows(series: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    columns = series.get("columns") or []
    for values in series.get("values") or []:
        yield dict(zip(columns, values, strict=True))


def _json_body(content: bytes, response: httpx.Response) -> dict[str, Any]:
    """One JSON document of an answer (a chunk of a chunked one)."""
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise StoreUnavailableError(
            f"InfluxDB answered something that is not JSON: {response.text[:_ERROR_TEXT_MAX]!r}"
        ) from exc
    if not isinstance(body, dict):
        raise StoreUnavailableError(
            f"InfluxDB answered unexpected JSON: {str(body)[:_ERROR_TEXT_MAX]}"
        )
    return body


def _error_text(response: httpx.Response) -> str:
    """InfluxDB's own message (``{"error": ...}``, or the plain body), kept short."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.text[:_ERROR_TEXT_MAX]
    if isinstance(body, dict):
        message = body.get("error") or body.get("message")
        if message:
            return str(message)[:_ERROR_TEXT_MAX]
    return response.text[:_ERROR_TEXT_MAX]
