"""The roll-up path of the indicators: which meters are read at 15 minutes, which from the day
roll-up (:class:`services.rollup.RollupLedger`), and why.

Read at 15 minutes (the stored ledger), over the whole period:

* the **grid connection** meters: the park's billed series (peak demand, load factor, TOU cost,
  demand charge) and its purchased electricity on the ``net`` basis, max(import − export, 0)
  *per interval*;
* for a building, floor or tenant, its **consumption meters** (feeder, load, EV charging): their
  sum is what the scope's TOU cost, peak demand and load factor are computed on;
* the **EV chargers** when the profile puts EV charging outside the boundary: the park's
  electricity is then import − export + PV − EV per interval.

From the day roll-up, a group per role (whole clean days; any other day of the group at 15
minutes, see :class:`~services.rollup.RollupLedger`):

* **PV** (a group): it enters the load (a sum: exact by day), PV self-consumption,
  max(PV − export, 0) per interval, and the performance ratio (PV over the intervals the
  irradiance is known). A day is taken from the roll-up only when every grid register is known
  at every interval of it (none reset-corrected), the export is 0 at every interval (then PV
  self-consumption is the day's PV: interval energies are never negative) and the irradiance
  sensor (if any) covers every interval of it or none; otherwise that day is read at 15
  minutes;
* **storage** (a group of its own): charge and discharge enter only the load (a sum) and the
  battery's period totals, so a day is taken from the roll-up whenever every grid register is
  known at every interval of it (none reset-corrected), exports or not: a park that exports on
  most days reads its PV at 15 minutes on those days, not its batteries;
* **gas, heat, production** and every other role the indicators read: sums only.

A figure of these groups is asked of the ledger whole (:meth:`RollupLedger.sum_series`), not
meter by meter: one meter of gas, heat or production is laid out day by day from its own roll-up
(these figures are only ever summed over periods: ``totals_only``); a figure of several meters
comes from its cache in the roll-up while its meters' days stand, else from its meters (and is
kept). The day at 15 minutes is then judged per figure, not per role.

Feeders and loads of the park are not read at all for the park's indicators: no indicator of
the park is made of them (they make the unmetered figures of ``/energy``).

The sliding 15-minute demand (grid meters reporting more often than every 15 minutes) steps
through the grid meters' raw registers (:func:`services.ledger.device_ledger`) as the full path
does: nothing stored holds steps shorter than 15 minutes.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from analytics.intervals import DEFAULT_INTERVAL_S, Quality
from config.accounting import AccountingProfile
from config.registry import Device, ParkRegistry
from config.units import stored_field_name
from services.energy import CONSUMPTION_ROLES, Scope, scope_devices
from services.indicators.microgrid import irradiance_w_per_m2
from services.rollup import DirtyDays, RollupLedger, RollupReads
from store.base import Store

__all__ = ["PV_GROUP", "STORAGE_GROUP", "rollup_plan"]

PV_GROUP = "pv"
"""Group key of the PV meters."""
STORAGE_GROUP = "storage"
"""Group key of the storage meters."""

_GROUPED_ROLES = frozenset({"gas", "heat", "production"})
_NS = 1_000_000_000


def _registers(dev: Device) -> bool:
    return any(spec.cumulative for spec in dev.fields.values())


_METERED: dict[int, tuple[ParkRegistry, tuple[Device, ...]]] = {}
_METERED_PARKS = 256  # registries remembered (a city's parks, and a reload or two)


def _metered(park: ParkRegistry) -> tuple[Device, ...]:
    """The devices of ``park`` with registers, in registry order; remembered per registry
    object (a park's year report plans ~850 scopes of a 2,000-meter park: 1.5 s of looking at
    every device's fields again)."""
    held = _METERED.get(id(park))
    if held is not None and held[0] is park:
        return held[1]
    found = tuple(d for d in park.devices if _registers(d))
    if len(_METERED) >= _METERED_PARKS:
        _METERED.clear()
    _METERED[id(park)] = (park, found)
    return found


def rollup_plan(
    park: ParkRegistry,
    scope: Scope,
    profile: AccountingProfile,
    shared: RollupReads | None = None,
) -> tuple[ParkRegistry, RollupLedger]:
    """The registry of only the meters the indicators of ``scope`` read, and the ledger that
    reads them (the module docstring says which at 15 minutes and why); ``shared``: reads of the
    same request's other scopes and periods (:class:`services.rollup.RollupReads`)."""
    ev_out = not profile.boundary.ev_charging
    in_scope = {d.id for d in scope_devices(park, scope)}
    fine: set[str] = set()
    groups: dict[str, str] = {}
    kept: list[Device] = []
    for dev in _metered(park):
        role = dev.role.value
        if role == "grid_connection":
            fine.add(dev.id)
        elif role == "pv":
            groups[dev.id] = PV_GROUP
        elif role == "storage":
            groups[dev.id] = STORAGE_GROUP
        elif dev.id not in in_scope:
            continue
        elif (role in CONSUMPTION_ROLES and scope.kind != "park") or (
            role == "ev_charging" and ev_out
        ):
            fine.add(dev.id)
        elif role in _GROUPED_ROLES:
            groups[dev.id] = role
        else:
            continue
        kept.append(dev)
    narrow = ParkRegistry.model_construct(
        park=park.park, tenants=park.tenants, buildings=park.buildings, devices=tuple(kept)
    )
    ledger = RollupLedger(
        narrow, fine=fine, groups=groups, shared=shared, totals_only=_GROUPED_ROLES
    )
    grid = [d for d in park.devices if d.role.value == "grid_connection"]
    ledger.partners[PV_GROUP] = _grid_partner(ledger, park, grid, pv=True)
    ledger.partners[STORAGE_GROUP] = _grid_partner(ledger, park, grid, pv=False)
    return narrow, ledger


def _grid_partner(
    ledger: RollupLedger, park: ParkRegistry, grid: list[Device], *, pv: bool
) -> DirtyDays:
    """Days storage (``pv`` False) must be read at 15 minutes: a grid register unknown or
    reset-corrected at some interval; and PV (``pv`` True) also: an export above 0 at some
    interval, or an interval the irradiance sensor does not cover on a day it covers some
    of."""

    def dirty(
        store: Store, start_ns: int, end_ns: int, edges: NDArray[np.int64]
    ) -> NDArray[np.bool_]:
        step = DEFAULT_INTERVAL_S * _NS
        starts = np.arange(start_ns, end_ns, step, dtype=np.int64)
        n_days = edges.size - 1
        bad = np.zeros(starts.size, dtype=bool)
        for dev in grid:
            got = {
                r.field: r.ledger
                for r in ledger.fine_ledger(store, park.id, dev, start_ns=start_ns, end_ns=end_ns)
            }
            for name, spec in dev.fields.items():
                if not spec.cumulative:
                    continue
                led = got.get(stored_field_name(name, spec.quantity))
                if led is None:
                    continue  # a register the meter does not report: the same on both paths
                e = np.full(starts.size, np.nan)
                q = np.full(starts.size, Quality.MISSING, dtype=np.int8)
                off = led.start_ns - start_ns
                idx = off // step
                ok = (idx >= 0) & (idx < starts.size) & (off % step == 0)
                e[idx[ok]], q[idx[ok]] = led.energy[ok], led.quality[ok]
                # an unknown interval drops PV's from the load; a reset-corrected one (not a
                # known total) combined with a replaced PV interval is a known total: both
                # need PV's own intervals. Any other quality dominates PV's clean day.
                bad |= np.isnan(e) | (q == Quality.RESET_CORRECTED)
                if pv and stored_field_name(name, spec.quantity) == "export_energy_kwh":
                    bad |= e != 0.0
        day_of = np.searchsorted(edges, starts, side="right") - 1
        out = np.bincount(day_of[bad], minlength=n_days)[:n_days] > 0
        if not pv:
            return out
        sun = irradiance_w_per_m2(store, park, starts, DEFAULT_INTERVAL_S)
        if sun is not None:
            # the performance ratio takes the intervals with irradiance: a day with none or all
            # of them takes none or all of the day's PV, whatever its shape
            dark = np.bincount(day_of, weights=np.isnan(sun[0]), minlength=n_days)[:n_days]
            size = np.bincount(day_of, minlength=n_days)[:n_days]
            out |= (dark > 0) & (dark < size)
        return out

    return dirty
