"""Where each meter of a park stands, read from the store: the simulator continues from there.

A simulated run that starts its registers from seeded values whatever its start time makes every
meter jump backwards where it joins an earlier run (a backfill, then live): false register-reset
alarms and a ``reset_corrected`` interval on every meter. Starting each register from the last
reading the store holds before the run's start joins the runs without a step
(``docs/simulator.md``, "Joining runs").
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from config.errors import StoreError
from config.registry import ParkRegistry
from config.settings import Settings
from config.units import stored_field_name
from store import EMBEDDED_FILE, open_store
from store.base import TELEMETRY, SeriesQuery, Store

__all__ = ["EARLIEST_NS", "registers_at", "stored_registers", "try_registers_at"]

log = logging.getLogger("smartpark.simulator")

EARLIEST_NS = 946_684_800 * 10**9
"""2000-01-01T00:00Z [ns]: the collector refuses device times before it, so nothing is older."""


def registers_at(store: Store, park: ParkRegistry, at_ns: int) -> dict[str, dict[str, float]]:
    """Per device of ``park``, register field name → its last stored reading before ``at_ns``
    [ns], in canonical units (kWh, m3, units) — what :class:`simulators.park.ParkModel` takes as
    ``registers``. Registers with no reading before ``at_ns`` are left out. Raises
    :class:`~config.errors.StoreError` when the store cannot be read."""
    out: dict[str, dict[str, float]] = {}
    for device in park.devices:
        for name, spec in device.fields.items():
            if not spec.cumulative:
                continue
            rows = store.series(
                SeriesQuery(
                    park.id,
                    device.id,
                    stored_field_name(name, spec.quantity),
                    EARLIEST_NS,
                    at_ns,
                    measurement=TELEMETRY,
                    limit=1,
                    descending=True,
                )
            )
            if rows:
                out.setdefault(device.id, {})[name] = rows[0].value
    return out


def try_registers_at(
    store: Store, park: ParkRegistry, at_ns: int
) -> dict[str, dict[str, float]] | None:
    """:func:`registers_at`, or None (with a warning) when the store cannot be read."""
    try:
        return registers_at(store, park, at_ns)
    except StoreError as exc:
        log.warning(
            "cannot read where the meters stand (%s); registers start from seeded values, so "
            "the ledger will see a reset where this run joins earlier data",
            exc,
        )
        return None


def stored_registers(
    settings: Settings, park: ParkRegistry, *, start_ns: int | None, interval_s: float
) -> dict[str, dict[str, float]] | None:
    """Where the store of ``settings`` says each meter of ``park`` stands before a run's first
    tick (``start_ns`` [ns], or now on the grid of ``interval_s`` [s], as the simulator starts),
    or None when there is no store here (an embedded store file that does not exist is not
    created) or it cannot be read (a warning)."""
    url = settings.named_stores().get(park.park.store, settings.store_url)  # docs/stores.md
    if not url and not (settings.data_dir / EMBEDDED_FILE).exists():
        return None
    if url.startswith("sqlite://") and not Path(url.removeprefix("sqlite://")).exists():
        return None
    if start_ns is None:
        step_ns = max(int(interval_s * 1e9), 1)
        now_ns = time.time_ns()
        start_ns = now_ns - now_ns % step_ns
    store = open_store(url, data_dir=settings.data_dir)
    try:
        found = try_registers_at(store, park, start_ns)
    finally:
        store.close()
    if found:
        log.info(
            "registers of %d of %d devices continue from the store (use --fresh-registers to "
            "start from seeded values)",
            len(found),
            len(park.devices),
        )
    return found
