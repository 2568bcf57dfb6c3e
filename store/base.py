"""The time-series contract every store adapter fulfils.

A :class:`Point` is what InfluxDB calls a point: a measurement, tags (at least ``park`` and
``device``), numeric fields and a timestamp in nanoseconds since the epoch (UTC). A point's
identity is (measurement, tags, time): writing the same identity again overwrites the fields it
names and never adds a second point, so replays after a crash are harmless.

The contract is synchronous: the collector writes from its own thread and the API runs handlers
in a thread pool, so neither needs an event loop to talk to the store.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "AGGREGATES",
    "LEDGER_DAY",
    "LONG_TERM",
    "REDUCTIONS",
    "TELEMETRY",
    "TOUCHED",
    "Aggregate",
    "Columns",
    "LatestReading",
    "Point",
    "QuarantineRecord",
    "Reduction",
    "SeriesQuery",
    "SeriesRow",
    "Store",
    "check_reductions",
]

TELEMETRY = "telemetry"
"""Measurement of the raw readings, as the collector received and normalised them."""

TOUCHED = "touched"
"""Measurement of the collector's touched marks: per stored batch and device, the device times it
covered (fields ``first_ms``, ``last_ms``), stamped with the time of the write (see
:mod:`store.touched`, read by :mod:`services.follow`)."""

LEDGER_DAY = "ledger_day"
"""Measurement of the daily roll-up of the stored ledger (see :mod:`services.rollup`)."""

LONG_TERM: frozenset[str] = frozenset(
    {
        LEDGER_DAY,
        # evidence an evaluator asks for years later, whatever the raw readings' retention:
        "accounting_profile",  # services/accounting.py, the profile of each park and year
        "instrument",  # services/instruments.py, the green-instrument ledger
        "maintenance",  # services/maintenance.py, meter replacements and ratio changes
    }
)
"""Measurements kept for the long term. Where the server has retention policies, an adapter keeps
them apart from the rest (:class:`store.influx.InfluxStore`: a policy of infinite duration and
long shards, created on first use); callers read and write them like any other measurement."""

Aggregate = Literal["mean", "min", "max", "last", "first", "sum", "count"]
AGGREGATES: tuple[Aggregate, ...] = ("mean", "min", "max", "last", "first", "sum", "count")

Reduction = Literal["sum", "min", "max", "count"]
"""What :meth:`Store.aggregate` computes of a field over each device's points."""
REDUCTIONS: tuple[Reduction, ...] = ("sum", "min", "max", "count")


def check_reductions(fields: Mapping[str, tuple[str, str]]) -> None:
    """Raise ``ValueError`` unless every ``(reduction, field)`` of ``fields`` names one of
    :data:`REDUCTIONS` (so no other text ever reaches a query as a function name)."""
    for name, (reduction, _field) in fields.items():
        if reduction not in REDUCTIONS:
            raise ValueError(
                f"{name!r}: reduction must be one of {', '.join(REDUCTIONS)}, not {reduction!r}"
            )


@dataclass(frozen=True, slots=True)
class Point:
    """One reading: ``fields`` are numbers in canonical units, ``time_ns`` the device's time."""

    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, float]
    time_ns: int

    def __post_init__(self) -> None:
        if "park" not in self.tags or "device" not in self.tags:
            raise ValueError("a point needs the tags 'park' and 'device'")
        if not self.fields:
            raise ValueError("a point needs at least one field")
        # what InfluxDB's line protocol cannot carry intact, refused for every store alike
        if "\\" in self.measurement:
            raise ValueError(f"measurement names cannot contain a backslash: {self.measurement!r}")
        for name, value in self.fields.items():
            if name == "time" or "\\" in name:
                raise ValueError(f"invalid field name {name!r} (no 'time', no backslash)")
            if not math.isfinite(value):
                raise ValueError(f"field {name!r} is {value!r}; only finite numbers are stored")


@dataclass(frozen=True, slots=True)
class LatestReading:
    """The most recent point of one device: its time and the fields written at that time."""

    device: str
    time_ns: int
    fields: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class SeriesQuery:
    """One field of one device over ``[start_ns, end_ns)``, optionally aggregated per ``every_s``.

    Rows come oldest first, or newest first with ``descending``; ``limit`` counts from that end.
    Buckets are aligned to the epoch (as InfluxQL's ``GROUP BY time()`` does) and empty buckets are
    left out.
    """

    park: str
    device: str
    field: str
    start_ns: int
    end_ns: int
    every_s: int | None = None
    aggregate: Aggregate = "mean"
    measurement: str = TELEMETRY
    limit: int = 100_000
    descending: bool = False  # newest first: with limit=1, the last value before end_ns

    def __post_init__(self) -> None:
        if self.end_ns <= self.start_ns:
            raise ValueError("end must be after start")
        if self.every_s is not None and self.every_s <= 0:
            raise ValueError("every must be a positive number of seconds")
        if self.aggregate not in AGGREGATES:
            raise ValueError(f"aggregate must be one of {', '.join(AGGREGATES)}")


@dataclass(frozen=True, slots=True)
class Columns:
    """Points of one device as columns: their times [ns], oldest first, and per field the value
    at each of those times (NaN where the point has no such field), as numpy arrays (8 bytes a
    value, not a Python object each: a store converts an answer chunk by chunk)."""

    time_ns: NDArray[np.int64]
    values: Mapping[str, NDArray[np.float64]]


@dataclass(frozen=True, slots=True)
class SeriesRow:
    """One value of a series: the bucket start (or the point's time) and the value."""

    time_ns: int
    value: float


@dataclass(frozen=True, slots=True)
class QuarantineRecord:
    """Input kept aside: why, where it came from, and an excerpt of what it was."""

    received_ns: int
    reason: str
    detail: str
    topic: str
    excerpt: str
    park: str = ""
    device: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class Store(Protocol):
    """What the collector, the analytics service and the API need from a time-series store."""

    def write(self, points: Sequence[Point]) -> None:
        """Store points durably; idempotent per (measurement, tags, time). Raises StoreError."""

    def latest(self, park: str, *, measurement: str = TELEMETRY) -> list[LatestReading]:
        """The most recent point of every device of ``park`` (ordered by device id)."""

    def series(self, query: SeriesQuery) -> list[SeriesRow]:
        """Raw or aggregated values of one field, in time order."""

    def scan(
        self, park: str, *, measurement: str, start_ns: int, end_ns: int, limit: int = 100_000
    ) -> list[LatestReading]:
        """Every point of ``measurement`` in ``park`` over ``[start_ns, end_ns)``, oldest first
        (then by device), at most ``limit`` (which of several points sharing the limit's
        time make the cut is up to the store): its device, time [ns] and fields."""

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
        """Per device of ``park`` (only those of ``devices`` when given), its points of
        ``measurement`` over ``[start_ns, end_ns)`` that have any of ``fields``, oldest first,
        as columns: only those fields, NaN where a point lacks one. Every such point of the
        range is read (no limit: keep the range bounded). On InfluxDB one query grouped by
        device; the shape numeric code wants, without an object per point."""

    def aggregate(
        self,
        park: str,
        *,
        measurement: str,
        fields: Mapping[str, tuple[Reduction, str]],
        start_ns: int,
        end_ns: int,
    ) -> dict[str, dict[str, float]]:
        """Per device of ``park``, each ``name: (reduction, field)`` of ``fields`` computed over
        the device's points of ``measurement`` in ``[start_ns, end_ns)``, on the server:
        ``{device: {name: value}}``.

        ``reduction`` is one of :data:`REDUCTIONS` (others raise ``ValueError``). A name is
        absent from a device's answer when its field has no point there (so a ``count`` is never
        0), and a device is absent when none of the fields has; points with other tags than park
        and device are reduced together per device."""

    def count(self, park: str, *, device: str | None = None, measurement: str = TELEMETRY) -> int:
        """Number of stored points (distinct identities) of a park, or of one device."""

    def write_quarantine(self, records: Sequence[QuarantineRecord]) -> None:
        """Keep bad input aside with its reason."""

    def quarantined(self, *, park: str | None = None, limit: int = 1000) -> list[QuarantineRecord]:
        """The most recent quarantined records, newest first."""

    def ping(self) -> bool:
        """True when the store answers."""

    def close(self) -> None:
        """Release connections and files."""
