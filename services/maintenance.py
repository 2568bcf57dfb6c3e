"""A meter's maintenance log and reporting cadence, as the ledger uses them.

The log holds meter replacements, multiplier (CT x PT) changes and register width changes, each
in force from its instant (:class:`config.registry.MaintenanceEntry`). Entries come from two
places and are merged: the registry (``maintenance:`` under a device) and the store, where the
API writes them (so every process sees them). The same event twice is one entry; two different
entries of one kind (and register) at one instant conflict (:class:`MaintenanceConflictError`,
409), and on reading the registry's entry wins.

Stored as measurement :data:`MAINTENANCE`: tags ``park``, ``device``, ``kind`` and, for a
replacement, ``register``; the kind's numeric fields; at the entry's instant.

:func:`register_events` turns the log into what :func:`analytics.intervals.intervals_from_register`
takes for one register: replacements, the multiplier changes (through
:func:`analytics.intervals.rescale_register`) and the register's wrap value over time, all in the
register's canonical unit. :func:`record_entry` stores an API entry and recomputes the stored
ledger and day roll-ups of the intervals it affects.

Cadence: a device's expected reporting interval is its registry ``expected_interval_s``
(``declared``), else the median spacing of its recent readings (``learned``,
:func:`analytics.intervals.typical_spacing_s`). :func:`readings_received` counts the readings a
device sent in a period against those its cadence expects. The cadence does not change interval
qualities: a step longer than the ledger's interval stays a gap (``INTERPOLATED``), so an hourly
meter's quarter hours are interpolated while its totals are known (see "Completeness" in
:mod:`analytics.intervals`).
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from analytics.intervals import (
    MultiplierChange,
    Replacement,
    WidthChange,
    rescale_register,
    typical_spacing_s,
)
from config.errors import ConflictError, InvalidRequestError, NotFoundError
from config.registry import Device, FieldSpec, MaintenanceEntry, ParkRegistry
from config.units import converter, stored_field_name
from store.base import LatestReading, Point, SeriesQuery, Store

__all__ = [
    "CACHE_S",
    "MAINTENANCE",
    "Cadence",
    "MaintenanceConflictError",
    "MaintenanceError",
    "ReadingsReceived",
    "RecordResult",
    "RegisterEvents",
    "device_cadence",
    "maintenance_log",
    "readings_received",
    "record_entry",
    "register_events",
    "stored_entries",
]

MAINTENANCE = "maintenance"
"""Measurement of the maintenance entries written through the API."""

_KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "replacement": ("old_final", "new_initial"),
    "multiplier": ("old_multiplier", "multiplier", "reading"),
    "register_width": ("old_register_width", "register_width"),
}
_MARKER = {
    "replacement": "new_initial",
    "multiplier": "multiplier",
    "register_width": "register_width",
}
_ALL_TIME = (-(2**62), 2**62)  # [ns] the log is small: read all of it
_NS = 1_000_000_000
_DAY_NS = 86_400 * _NS
_RECENT_READINGS = 96
_MIN_READINGS = 12  # fewer readings teach no cadence: three could make a gap look like the rule
CACHE_S = 2.0
"""A park's stored log is read at most once per this many seconds per store (every ledger
computation reads it; a park's is read once for all its devices). Entries this process records
are seen at once; those another process records, within this time — and that process rebuilds
the ledger they change itself (only a reading ledgered elsewhere within this time of the entry,
closing the very step it explains, could miss it). [s]"""
_cache: weakref.WeakKeyDictionary[Store, dict[str, tuple[float, list[LatestReading]]]] = (
    weakref.WeakKeyDictionary()
)
_cache_lock = threading.Lock()


def _scan(store: Store, park_id: str) -> list[LatestReading]:
    """The park's stored entries (cached for :data:`CACHE_S`)."""
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(store, {}).get(park_id)
    if hit is not None and now - hit[0] < CACHE_S:
        return hit[1]
    points = store.scan(
        park_id, measurement=MAINTENANCE, start_ns=_ALL_TIME[0], end_ns=_ALL_TIME[1]
    )
    with _cache_lock:
        _cache.setdefault(store, {})[park_id] = (now, points)
    return points


def _forget(store: Store, park_id: str) -> None:
    with _cache_lock:
        _cache.get(store, {}).pop(park_id, None)


class MaintenanceError(InvalidRequestError):
    """A maintenance entry that does not fit the device (422)."""


class MaintenanceConflictError(ConflictError):
    """A different entry of the same kind already stands at that instant (409)."""


def _point(park_id: str, device: Device, entry: MaintenanceEntry) -> Point:
    tags = {"park": park_id, "device": device.id, "kind": entry.kind}
    fields: dict[str, float] = {}
    for name in _KIND_FIELDS[entry.kind]:
        value = getattr(entry, name)
        if value is not None:
            fields[name] = float(value)
    registers = _registers(device)
    if entry.meter_register is not None and entry.meter_register != registers[0]:
        tags["register"] = entry.meter_register
        fields["register_index"] = float(registers.index(entry.meter_register))
    return Point(MAINTENANCE, tags, fields, entry.time_ns)


def stored_entries(store: Store, park_id: str, device: Device) -> list[MaintenanceEntry]:
    """The entries stored for ``device`` of park ``park_id``, oldest first.

    The store returns fields only, not tags: an entry's kind is told by its fields (each kind
    has one it cannot lack); a replacement of a register other than the first carries its
    register's index among the device's registers (``register_index``).
    """
    out: list[MaintenanceEntry] = []
    registers = _registers(device)
    for p in _scan(store, park_id):
        if p.device != device.id:
            continue
        kind = next((k for k, marker in _MARKER.items() if marker in p.fields), None)
        if kind is None:
            continue
        values: dict[str, object] = {
            n: p.fields[n]
            for n in _KIND_FIELDS[kind]
            if n in p.fields and math.isfinite(p.fields[n])
        }
        for n in ("old_register_width", "register_width"):
            if n in values:
                values[n] = int(float(str(values[n])))
        index = p.fields.get("register_index")
        if index is not None and 0 <= int(index) < len(registers):
            values["meter_register"] = registers[int(index)]
        at = datetime.fromtimestamp(p.time_ns // _NS, tz=UTC).replace(
            microsecond=(p.time_ns % _NS) // 1000
        )
        out.append(MaintenanceEntry(kind=kind, at=at, **values))
    return out


def _registers(device: Device) -> list[str]:
    return [n for n, spec in device.fields.items() if spec.cumulative]


def _merge(
    first: Sequence[MaintenanceEntry], second: Sequence[MaintenanceEntry]
) -> tuple[MaintenanceEntry, ...]:
    """``first`` and the entries of ``second`` that do not stand at an instant of ``first``."""
    kept = list(first)
    for e in second:
        if not any(e.same_time(k) for k in kept):
            kept.append(e)
    return tuple(sorted(kept, key=lambda e: (e.time_ns, e.kind)))


def maintenance_log(store: Store, park_id: str, device: Device) -> tuple[MaintenanceEntry, ...]:
    """The device's log: the registry's entries and the stored ones, merged, oldest first."""
    return _merge(device.maintenance, stored_entries(store, park_id, device))


@dataclass(frozen=True, slots=True)
class RegisterEvents:
    """The log as one register's ledger takes it, in its canonical unit."""

    replacements: tuple[Replacement, ...]
    multiplier_changes: tuple[MultiplierChange, ...]
    stored_multiplier: float
    rollover_at: float | None  # before the first width change
    width_changes: tuple[WidthChange, ...]

    def apply(
        self, time_ns: NDArray[np.int64], value: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], tuple[Replacement, ...]]:
        """The readings [canonical unit] rescaled by the multiplier in force at each, and every
        replacement the ledger must know of (the log's and the multiplier changes')."""
        if not self.multiplier_changes:
            return value, self.replacements
        rescaled, reps = rescale_register(
            time_ns, value, self.multiplier_changes, stored_multiplier=self.stored_multiplier
        )
        return rescaled, (*self.replacements, *reps)


def register_events(
    device: Device, name: str, spec: FieldSpec, log: Sequence[MaintenanceEntry]
) -> RegisterEvents:
    """What the log means for register ``name`` of ``device``.

    The collector stores display count x ``device.multiplier`` (converted to the canonical unit);
    the multiplier in force is the first change's ``old_multiplier`` before it and each change's
    ``multiplier`` from it on. Replacement readings are display counts, scaled by the multiplier
    in force at their instant. The wrap value [canonical unit] is 10^width x that multiplier.
    """
    scaled = spec.scaled
    mults = [e for e in log if e.kind == "multiplier"] if scaled else []
    widths = [e for e in log if e.kind == "register_width"]
    unit = converter(spec.quantity, device.unit_of(name))  # display count -> canonical, x1

    def mult_at(t_ns: int) -> float:
        if not scaled:
            return 1.0
        m = mults[0].old_multiplier if mults else device.multiplier
        for e in mults:
            if e.time_ns <= t_ns:
                m = e.multiplier
        return float(m if m is not None else device.multiplier)

    def width_at(t_ns: int) -> int | None:
        w = widths[0].old_register_width if widths else device.register_width
        for e in widths:
            if e.time_ns <= t_ns:
                w = e.register_width
        return w

    def top(t_ns: int) -> float | None:
        w = width_at(t_ns)
        return None if w is None else unit(10.0**w) * mult_at(t_ns)

    first = _registers(device)[0] if _registers(device) else name
    reps = []
    for e in log:
        if e.kind != "replacement":
            continue
        if (e.meter_register or first) == name:
            scale = mult_at(e.time_ns)
            old = None if e.old_final is None else unit(e.old_final) * scale
            reps.append(Replacement(e.time_ns, old, unit(e.new_initial or 0.0) * scale))
        else:  # another register of the swapped meter: restarted, its last reading unknown
            reps.append(Replacement(e.time_ns, None, 0.0))
    changes = tuple(
        MultiplierChange(
            e.time_ns,
            float(e.old_multiplier or device.multiplier),
            float(e.multiplier or device.multiplier),
            None if e.reading is None else unit(e.reading),
        )
        for e in mults
    )
    edges = sorted({e.time_ns for e in (*mults, *widths)})
    start = min(edges) - 1 if edges else 0
    return RegisterEvents(
        tuple(reps),
        changes,
        device.multiplier if scaled else 1.0,
        top(start) if edges else top(0),
        tuple(WidthChange(t, top(t)) for t in edges),
    )


def _first_field(device: Device) -> tuple[str, FieldSpec]:
    """The device's first register, else its first field: the one its cadence is read from."""
    return next(
        ((n, s) for n, s in device.fields.items() if s.cumulative),
        next(iter(device.fields.items())),
    )


@dataclass(frozen=True, slots=True)
class Cadence:
    """A device's expected reporting interval [s] and where it comes from."""

    interval_s: float | None
    source: Literal["declared", "learned", "unknown"]


def device_cadence(
    store: Store, park_id: str, device: Device, *, end_ns: int | None = None
) -> Cadence:
    """The declared ``expected_interval_s``, else the median spacing of the device's last
    readings before ``end_ns`` [ns] (default: its latest) of its first register (or first field)."""
    if device.expected_interval_s is not None:
        return Cadence(float(device.expected_interval_s), "declared")
    name, spec = _first_field(device)
    rows = store.series(
        SeriesQuery(
            park_id,
            device.id,
            stored_field_name(name, spec.quantity),
            _ALL_TIME[0],
            end_ns if end_ns is not None else _ALL_TIME[1],
            descending=True,
            limit=_RECENT_READINGS + 1,
        )
    )
    learned = typical_spacing_s(
        np.array([r.time_ns for r in rows], dtype=np.int64), min_readings=_MIN_READINGS
    )
    return Cadence(learned, "learned") if learned is not None else Cadence(None, "unknown")


@dataclass(frozen=True, slots=True)
class ReadingsReceived:
    """Readings of a device in ``[start_ns, end_ns)`` against those its cadence expects."""

    start_ns: int
    end_ns: int
    cadence: Cadence
    received: int  # distinct reading times of the device's first register
    expected: int | None  # period / cadence, rounded (at least 1); None when the cadence is unknown

    def received_pct(self) -> float | None:
        """Share of the expected readings received [%], at most 100 (a device reporting more
        often than its cadence is complete, not over-complete); None without a cadence."""
        if self.expected is None:
            return None
        return 100.0 * min(self.received, self.expected) / self.expected


def readings_received(
    store: Store,
    park_id: str,
    device: Device,
    *,
    start_ns: int,
    end_ns: int,
    cadence: Cadence | None = None,
) -> ReadingsReceived:
    """How many readings ``device`` sent in ``[start_ns, end_ns)`` [ns] and how many its cadence
    (``cadence``, default :func:`device_cadence` as of ``end_ns``) expects: the period [s] over the
    cadence [s], rounded, at least 1.

    Readings are those of its first register (or first field), counted by the store per UTC day
    (one row a day, not one per reading). Raises ``ValueError`` when ``end_ns <= start_ns``.
    """
    if end_ns <= start_ns:
        raise ValueError(f"end_ns={end_ns} is not after start_ns={start_ns}")
    if cadence is None:
        cadence = device_cadence(store, park_id, device, end_ns=end_ns)
    name, spec = _first_field(device)
    rows = store.series(
        SeriesQuery(
            park_id,
            device.id,
            stored_field_name(name, spec.quantity),
            start_ns,
            end_ns,
            every_s=_DAY_NS // _NS,
            aggregate="count",
        )
    )
    received = int(sum(r.value for r in rows if math.isfinite(r.value)))
    expected = None
    if cadence.interval_s:
        expected = max(1, round((end_ns - start_ns) / _NS / cadence.interval_s))
    return ReadingsReceived(start_ns, end_ns, cadence, received, expected)


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What :func:`record_entry` did: the log after it, whether it wrote, and the range of the
    stored ledger it recomputed ([start_ns, end_ns), None when there were no readings)."""

    log: tuple[MaintenanceEntry, ...]
    written: bool
    recomputed: tuple[int, int] | None
    intervals: int
    days: int


def record_entry(
    store: Store, park: ParkRegistry, device_id: str, entry: MaintenanceEntry
) -> RecordResult:
    """Store ``entry`` in the log of ``device_id`` and recompute what it changes.

    Raises :class:`~config.errors.NotFoundError` for an unknown device,
    :class:`MaintenanceError` when the entry does not fit it (no register, unknown register) and
    :class:`MaintenanceConflictError` when a different entry stands at that instant; nothing is
    stored then. The same entry again changes nothing. Then the stored ledger of the device and
    its day roll-ups are rebuilt over the whole local days holding the intervals the entry
    affects: a day either side of a replacement; from a day before a multiplier or width change
    to the device's last reading.
    """
    device = park.device(device_id)
    if device is None:
        raise NotFoundError(f"park {park.id!r} has no device {device_id!r}")
    registers = _registers(device)
    if not registers:
        raise MaintenanceError(f"device {device_id!r} ({device.kind.value}) has no register")
    if entry.meter_register is not None and entry.meter_register not in registers:
        raise MaintenanceError(
            f"meter_register: {device_id!r} has no register {entry.meter_register!r} "
            f"(registers: {', '.join(registers)})"
        )
    log = maintenance_log(store, park.id, device)
    for other in log:
        if entry.same_time(other):
            if entry.same_event(other):
                return RecordResult(log, False, None, 0, 0)
            raise MaintenanceConflictError(
                f"a different {entry.kind} entry of {device_id!r} stands at "
                f"{other.at.isoformat()}: {_describe(other)}"
            )
    store.write([_point(park.id, device, entry)])
    _forget(store, park.id)
    log = maintenance_log(store, park.id, device)
    span = _affected(store, park.id, device, entry)
    if span is None:
        return RecordResult(log, True, None, 0, 0)
    # imported here: the ledger reads this module's log, so this module cannot import it first
    from services.ledger import rebuild_ledger
    from services.rollup import local_days, write_day_rollups

    # whole local days, so that each day roll-up rests on a ledger rebuilt the same way
    edges = local_days(span[0], span[1], park.park.timezone)
    days = (int(edges[0]), int(edges[-1]))
    built = rebuild_ledger(store, park, start_ns=days[0], end_ns=days[1], devices=[device_id])
    rolled = write_day_rollups(store, park, start_ns=days[0], end_ns=days[1], devices=[device_id])
    return RecordResult(log, True, days, built.intervals, rolled.days)


def _describe(e: MaintenanceEntry) -> str:
    return ", ".join(
        f"{n}={getattr(e, n):g}" for n in _KIND_FIELDS[e.kind] if getattr(e, n) is not None
    )


def _affected(
    store: Store, park_id: str, device: Device, entry: MaintenanceEntry
) -> tuple[int, int] | None:
    """[start_ns, end_ns) of the intervals the entry changes, within the device's readings."""
    name = _registers(device)[0]
    field = stored_field_name(name, device.fields[name].quantity)

    def edge(descending: bool) -> int | None:
        rows = store.series(
            SeriesQuery(park_id, device.id, field, *_ALL_TIME, descending=descending, limit=1)
        )
        return rows[0].time_ns if rows else None

    first, last = edge(False), edge(True)
    if first is None or last is None:
        return None
    start = max(entry.time_ns - _DAY_NS, first)
    end = entry.time_ns + _DAY_NS if entry.kind == "replacement" else last
    end = min(end, last) + 1
    return (start, end) if start < end else None
