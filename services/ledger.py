"""Interval energy of a device, from the register readings in the store.

For every cumulative field of a device (``energy_kwh``, ``volume_m3`` …) the raw register
readings over the range, plus a day either side to anchor its first and last intervals, go
through :func:`analytics.intervals.intervals_from_register`. The device's rated power, when the
registry has it, bounds the plausible rate of its energy registers.

The device's maintenance log (:mod:`services.maintenance`: the registry's entries and those stored
through the API) gives the ledger its replacements (``METER_REPLACED``, nothing lost when both
readings are known), multiplier changes and register width changes.

Interval qualities are honest about the shape: a step longer than the ledger's interval is a gap
whose intervals are ``INTERPOLATED``, whatever the device's cadence. An hourly meter's quarter
hours are therefore interpolated (their peak demand is not measured), while its day, month and
year totals are exact: completeness of totals counts the *known* intervals
(:data:`analytics.intervals.KNOWN_TOTAL`), of 15-minute views the *measured* ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from analytics.intervals import DEFAULT_INTERVAL_S, IntervalLedger, Quality, intervals_from_register
from config.errors import StoreQueryError
from config.registry import Device, ParkRegistry
from config.units import CANONICAL_UNIT, Quantity, stored_field_name
from services.maintenance import maintenance_log, register_events
from store.base import Point, SeriesQuery, SeriesRow, Store

__all__ = [
    "LEDGER",
    "LOOKBACK_S",
    "MAX_READINGS",
    "QUALITY_SUFFIX",
    "ArraySeries",
    "FieldLedger",
    "RebuildResult",
    "device_ledger",
    "ledger_points",
    "rebuild_ledger",
    "series_arrays",
    "stored_ledger",
    "stored_ledgers",
    "stored_or_computed",
]

LOOKBACK_S = 86_400
"""Readings this far either side of the range anchor its first and last intervals. [s]"""

MAX_READINGS = 1_000_000
"""Most register readings one ledger computation reads; beyond it, ask for a shorter range."""

_CAPACITY_MARGIN = 1.5  # as the registry's plausible power: rated capacity x 1.5


@dataclass(frozen=True, slots=True)
class FieldLedger:
    """The interval ledger of one register of a device."""

    field: str  # stored name, e.g. energy_kwh
    unit: str  # canonical unit of the energy, e.g. kWh
    ledger: IntervalLedger


@runtime_checkable
class ArraySeries(Protocol):
    """A store that answers a :class:`~store.base.SeriesQuery` as arrays without a row object
    per reading (the ledger follower's prefetched readings:
    :class:`services.follow.PrefetchedStore`)."""

    def series_arrays(self, query: SeriesQuery) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Times [ns] and values of ``store.series(query)``, arrays of their own."""
        ...


def series_arrays(
    store: Store, query: SeriesQuery
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Times [ns] and values [the field's stored unit] of ``store.series(query)``: from the
    store's own arrays where it holds them (:class:`ArraySeries`: a follower's pass recomputes
    each touched meter with an hour of readings either side, a row object per reading was most
    of its work), else from its rows."""
    own = getattr(store, "series_arrays", None)  # an ArraySeries (isinstance costs ~10 µs)
    if own is not None:
        got: tuple[NDArray[np.int64], NDArray[np.float64]] = own(query)
        return got
    rows = store.series(query)
    return (
        np.fromiter((r.time_ns for r in rows), dtype=np.int64, count=len(rows)),
        np.fromiter((r.value for r in rows), dtype=np.float64, count=len(rows)),
    )


def device_ledger(
    store: Store,
    park_id: str,
    device: Device,
    *,
    start_ns: int,
    end_ns: int,
    interval_s: int = DEFAULT_INTERVAL_S,
    lookback_s: int = LOOKBACK_S,
) -> list[FieldLedger]:
    """Energy per interval of every register of ``device`` that has readings, over
    ``[start_ns, end_ns)`` [ns].

    Intervals of ``interval_s`` seconds [s] are aligned to the epoch; readings ``lookback_s``
    [s] either side anchor the first and last. The device's maintenance log applies (see the
    module docstring). Raises :class:`~config.errors.StoreQueryError`
    when the range holds more than ``MAX_READINGS`` readings.
    """
    out = []
    lookback_ns = lookback_s * 1_000_000_000
    step_ns = interval_s * 1_000_000_000
    first_ns = start_ns - start_ns % step_ns  # whole intervals: start rounds down, end up
    last_ns = -(-end_ns // step_ns) * step_ns
    log = maintenance_log(store, park_id, device)
    for name, spec in device.fields.items():
        if not spec.cumulative:
            continue
        field = stored_field_name(name, spec.quantity)
        t, v = series_arrays(
            store,
            SeriesQuery(
                park_id,
                device.id,
                field,
                start_ns - lookback_ns,
                end_ns + lookback_ns,
                limit=MAX_READINGS + 1,
            ),
        )
        if not t.size:
            continue  # a register this meter does not report (e.g. export on an import meter)
        if t.size > MAX_READINGS:
            raise StoreQueryError(
                f"more than {MAX_READINGS} readings of {device.id}.{field} around this range; "
                "ask for a shorter range"
            )
        # the display wraps at 10^width in the device's own unit, before the multiplier
        events = register_events(device, name, spec, log)
        max_rate = None
        if spec.quantity is Quantity.ENERGY and device.capacity_kw is not None:
            max_rate = _CAPACITY_MARGIN * device.capacity_kw  # kWh per hour
        values, replacements = events.apply(t, v)
        ledger = intervals_from_register(
            t,
            values,
            interval_s=interval_s,
            start_ns=first_ns,
            end_ns=last_ns,
            max_rate_per_h=max_rate,
            rollover_at=events.rollover_at,
            width_changes=events.width_changes,
            replacements=replacements,
        )
        out.append(FieldLedger(field, CANONICAL_UNIT[spec.quantity], ledger))
    return out


LEDGER = "ledger"
"""Measurement of the stored ledger: tags park, device; per register two fields, its energy
(e.g. ``energy_kwh``, in the register's canonical unit) and ``<register>_quality``."""

QUALITY_SUFFIX = "_quality"


@dataclass(frozen=True, slots=True)
class RebuildResult:
    """What a ledger rebuild wrote."""

    devices: int
    registers: int
    intervals: int
    missing: int


def ledger_points(
    park_id: str, device_id: str, result: FieldLedger, *, only: NDArray[np.bool_] | None = None
) -> list[Point]:
    """A register's ledger as points of the ``ledger`` measurement, one per interval (or per
    interval where ``only`` is true).

    A missing interval carries only its quality. Rewriting an interval replaces it, so a rebuild
    is idempotent.
    """
    tags = {"park": park_id, "device": device_id}
    quality_field = result.field + QUALITY_SUFFIX
    led = result.ledger
    keep = np.ones(led.start_ns.size, dtype=bool) if only is None else only
    points = []
    for start, energy, quality in zip(
        led.start_ns[keep].tolist(),
        led.energy[keep].tolist(),
        led.quality[keep].tolist(),
        strict=True,
    ):
        fields = {quality_field: float(quality)}
        if not math.isnan(energy):
            fields[result.field] = energy
        points.append(Point(LEDGER, tags, fields, start))
    return points


def stored_ledger(
    store: Store,
    park_id: str,
    device: Device,
    *,
    start_ns: int,
    end_ns: int,
    interval_s: int = DEFAULT_INTERVAL_S,
) -> list[FieldLedger]:
    """The stored ledger of every register of ``device`` over ``[start_ns, end_ns)`` [ns], as
    :func:`device_ledger` would compute it (same signature, a :data:`services.energy.LedgerFn`).

    Intervals never stored are missing; the stored intervals must be of ``interval_s`` [s].
    """
    step_ns = interval_s * 1_000_000_000
    first_ns = start_ns - start_ns % step_ns
    last_ns = -(-end_ns // step_ns) * step_ns
    grid = np.arange(first_ns, last_ns, step_ns, dtype=np.int64)
    out = []
    for name, spec in device.fields.items():
        if not spec.cumulative:
            continue
        field = stored_field_name(name, spec.quantity)

        def read(f: str) -> list[SeriesRow]:
            return store.series(
                SeriesQuery(
                    park_id,
                    device.id,
                    f,
                    first_ns,
                    last_ns,
                    measurement=LEDGER,
                    limit=grid.size + 1,
                )
            )

        qualities = read(field + QUALITY_SUFFIX)
        if not qualities:
            continue
        energy = np.full(grid.size, np.nan)
        quality = np.full(grid.size, int(Quality.MISSING), dtype=np.int8)
        for row in qualities:
            offset = row.time_ns - first_ns
            if offset % step_ns == 0:
                quality[offset // step_ns] = int(row.value)
        for row in read(field):
            offset = row.time_ns - first_ns
            if offset % step_ns == 0:
                energy[offset // step_ns] = row.value
        energy[quality == Quality.MISSING] = np.nan
        out.append(
            FieldLedger(
                field,
                CANONICAL_UNIT[spec.quantity],
                IntervalLedger(grid, energy, quality, interval_s, ()),
            )
        )
    return out


def stored_ledgers(
    store: Store,
    park_id: str,
    devices: Sequence[Device],
    *,
    start_ns: int,
    end_ns: int,
    interval_s: int = DEFAULT_INTERVAL_S,
) -> dict[str, list[FieldLedger]]:
    """:func:`stored_ledger` of each of ``devices`` over ``[start_ns, end_ns)`` [ns], read with
    one :meth:`~store.base.Store.columns` query for all of them (energy and quality of every
    register at once) instead of two :meth:`~store.base.Store.series` queries per register:
    the same answer, by device id (an empty list for a device with nothing stored)."""
    step_ns = interval_s * 1_000_000_000
    first_ns = start_ns - start_ns % step_ns
    last_ns = -(-end_ns // step_ns) * step_ns
    size = (last_ns - first_ns) // step_ns
    registers = {
        dev.id: [
            (stored_field_name(name, spec.quantity), CANONICAL_UNIT[spec.quantity])
            for name, spec in dev.fields.items()
            if spec.cumulative
        ]
        for dev in devices
    }
    fields = [x for regs in registers.values() for f, _ in regs for x in (f, f + QUALITY_SUFFIX)]
    out: dict[str, list[FieldLedger]] = {dev.id: [] for dev in devices}
    if not fields or size <= 0:
        return out
    got = store.columns(
        park_id,
        measurement=LEDGER,
        fields=fields,
        start_ns=first_ns,
        end_ns=last_ns,
        devices=list(registers),
    )
    grid = np.arange(first_ns, last_ns, step_ns, dtype=np.int64)
    for dev_id, regs in registers.items():
        col = got.get(dev_id)
        if col is None:
            continue
        offset = np.asarray(col.time_ns, dtype=np.int64) - first_ns
        on_grid = (offset % step_ns == 0) & (offset >= 0) & (offset < size * step_ns)
        index = offset[on_grid] // step_ns
        for field, unit in regs:
            q_all = np.asarray(col.values[field + QUALITY_SUFFIX], dtype=np.float64)
            if np.isnan(q_all).all():
                continue  # nothing stored for this register in the range
            q = q_all[on_grid]
            has_q = ~np.isnan(q)
            quality = np.full(size, int(Quality.MISSING), dtype=np.int8)
            quality[index[has_q]] = q[has_q].astype(np.int8)
            e = np.asarray(col.values[field], dtype=np.float64)[on_grid]
            has_e = ~np.isnan(e)
            energy = np.full(size, np.nan)
            energy[index[has_e]] = e[has_e]
            energy[quality == Quality.MISSING] = np.nan
            out[dev_id].append(
                FieldLedger(
                    field, unit, IntervalLedger(grid.copy(), energy, quality, interval_s, ())
                )
            )
    return out


def stored_or_computed(
    store: Store,
    park_id: str,
    device: Device,
    *,
    start_ns: int,
    end_ns: int,
    interval_s: int = DEFAULT_INTERVAL_S,
) -> list[FieldLedger]:
    """The stored ledger of ``device`` over ``[start_ns, end_ns)`` [ns]
    (:func:`stored_ledger`); when none of its registers has a stored interval there (the
    ledger was never written for that range: no follower, no rebuild), the ledger computed from
    the raw registers (:func:`device_ledger`). A :data:`services.energy.LedgerFn`."""
    found = stored_ledger(
        store, park_id, device, start_ns=start_ns, end_ns=end_ns, interval_s=interval_s
    )
    if found:
        return found
    return device_ledger(
        store, park_id, device, start_ns=start_ns, end_ns=end_ns, interval_s=interval_s
    )


def rebuild_ledger(
    store: Store,
    park: ParkRegistry,
    *,
    start_ns: int,
    end_ns: int,
    interval_s: int = DEFAULT_INTERVAL_S,
    devices: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RebuildResult:
    """Recompute and store the ledger of a park (or of some devices) over ``[start_ns, end_ns)``.

    ``progress(done, total)`` is called after each device. Returns what was written.
    """
    chosen = [
        d
        for d in park.devices
        if any(spec.cumulative for spec in d.fields.values())
        and (devices is None or d.id in devices)
    ]
    registers = intervals = missing = 0
    for done, device in enumerate(chosen, 1):
        for result in device_ledger(
            store,
            park.id,
            device,
            start_ns=start_ns,
            end_ns=end_ns,
            interval_s=interval_s,
        ):
            points = ledger_points(park.id, device.id, result)
            store.write(points)
            registers += 1
            intervals += len(points)
            missing += int(np.count_nonzero(np.isnan(result.ledger.energy)))
        if progress is not None:
            progress(done, len(chosen))
    return RebuildResult(len(chosen), registers, intervals, missing)
