"""Ground truth: the exact energy of every device and scope per interval, and every fault.

One CSV file, one row per value (columns in :data:`COLUMNS`, format in ``docs/simulator.md``):

- ``record=energy, scope=device``: the exact increment of each register of a device over the
  interval ending at ``time_ms`` (canonical units, before multiplier, rollover or faults), and
  ``quantity=loss`` for a parent meter's distribution losses;
- ``record=energy, scope=park|building|floor|tenant``: totals by carrier — ``electricity`` (what
  the end uses consumed: leaf load meters and EV chargers), ``gas``, ``heat``, ``water``; and for
  the park also ``grid_import``, ``grid_export``, ``pv``, ``battery_charge``,
  ``battery_discharge`` and ``loss``;
- ``record=energy, scope=tenant, quantity=units``: the whole units of product the tenant's
  production counters counted over the interval — not energy, and in no energy balance;
- ``record=fault``: one row per injected fault, with the device, the reading's time and a detail;
- ``record=break``: one row per register that a fault broke — restarted below its reading
  (``counter_reset``, ``meter_replacement``) or wrapped (``rollover``) — just before the reading
  at ``time_ms``: ``quantity`` the register, ``value`` the old register's reading at the break
  (the modulus for a rollover) in the device's units, ``detail`` the fault kind. What the register
  counted between the last reading delivered before a restart and the restart is unknowable.
"""

from __future__ import annotations

import csv
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Self

import numpy as np
import numpy.typing as npt

from config.registry import Device, DeviceKind, ParkRegistry, Role
from config.units import converter
from simulators.park import ParkModel, Tick

__all__ = ["COLUMNS", "FaultRecord", "RegisterBreak", "TruthWriter", "delivered_times"]

COLUMNS = ("record", "time_ms", "interval_s", "scope", "id", "quantity", "value", "unit", "detail")

_UNIT = {"electricity": "kWh", "gas": "m3", "heat": "kWh", "water": "m3", "units": "units"}
# totals summed only over these scopes: one tenant's units are one product, a building's or the
# park's would add chips to fibre
_SCOPES_OF = {"units": frozenset({"tenant"})}
_REGISTER_UNIT = {
    "energy": "kWh",
    "export_energy": "kWh",
    "charge_energy": "kWh",
    "discharge_energy": "kWh",
    "volume": "m3",
    "produced": "units",
}


@dataclass(frozen=True, slots=True)
class FaultRecord:
    """One injected fault: what, when (the affected reading's device time) and where."""

    kind: str
    time_ms: int
    device: str
    detail: str = ""
    value: float = 1.0


@dataclass(frozen=True, slots=True)
class RegisterBreak:
    """A register broken by a fault just before the reading at ``time_ms`` (device time):
    restarted below its reading (``counter_reset``, ``meter_replacement``) or wrapped
    (``rollover``); ``old_value`` is the old register's reading then (the modulus for a rollover),
    in the device's units."""

    time_ms: int
    device: str
    register: str
    kind: str
    old_value: float


@dataclass(frozen=True)
class _Scope:
    scope: str
    ids: list[str]
    member: npt.NDArray[np.intp]  # per device: index into ids, or -1


class TruthWriter:
    """Write a park's ground truth as it is simulated; use as a context manager."""

    def __init__(self, path: Path, model: ParkModel) -> None:
        self.path = path
        self.model = model
        park = model.park
        self._file: IO[str] = path.open("w", newline="", encoding="utf-8")
        self._csv = csv.writer(self._file)
        self._csv.writerow(COLUMNS)
        self._carrier = self._consumers(park, model)
        self._scopes = self._build_scopes(park)
        self._mask = {}
        for carrier, idx in self._carrier.items():
            if idx.size:
                mask = np.zeros(model.n, dtype=bool)
                mask[idx] = True
                self._mask[carrier] = mask
        self._grid = np.array(
            [i for i, d in enumerate(park.devices) if d.role is Role.GRID_CONNECTION],
            dtype=np.intp,
        )
        self._registers = [
            (i, d.id, [f for f, spec in d.fields.items() if spec.cumulative])
            for i, d in enumerate(park.devices)
        ]
        self._zone = zoneinfo.ZoneInfo(park.park.timezone)
        self._saved_day: tuple[date, int] | None = None  # (local date, midnight [ms])
        self._saved_kwh = np.zeros(model.n)
        self._saved_s = 0.0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Write the last day's retrofit savings, flush and close the file."""
        self._flush_saved()
        self._file.close()

    def _retrofit_rows(self, tick: Tick) -> None:
        """Add the tick's retrofit savings to its local day's; write a finished day's."""
        if not self.model.retrofits:
            return
        start_s = tick.time_ns / 1e9 - tick.interval_s
        day = datetime.fromtimestamp(start_s, self._zone).date()
        if self._saved_day is not None and self._saved_day[0] != day:
            self._flush_saved()
        if self._saved_day is None:
            midnight = datetime(day.year, day.month, day.day, tzinfo=self._zone)
            self._saved_day = (day, int(midnight.timestamp()) * 1000)
        if tick.saved is not None:
            self._saved_kwh += tick.saved
        self._saved_s += tick.interval_s

    def _flush_saved(self) -> None:
        if self._saved_day is None:
            return
        t = self._saved_day[1]
        detail = ";".join(str(r) for r, _ in self.model.retrofits)
        rows: list[tuple[object, ...]] = []
        devices = self.model.park.devices
        by_tenant = dict.fromkeys((r.tenant for r, _ in self.model.retrofits), 0.0)
        seen: set[int] = set()
        for r, idx in self.model.retrofits:
            for i in idx.tolist():
                if i in seen:
                    continue
                seen.add(i)
                kwh = float(self._saved_kwh[i])
                by_tenant[r.tenant] += kwh
                rows.append(
                    ("retrofit", t, self._saved_s, "device", devices[i].id,
                     "electricity_saved", kwh, "kWh", detail)
                )  # fmt: skip
        for tenant, kwh in by_tenant.items():
            rows.append(
                ("retrofit", t, self._saved_s, "tenant", tenant, "electricity_saved", kwh, "kWh",
                 detail)
            )  # fmt: skip
        self._csv.writerows(rows)
        self._saved_day = None
        self._saved_kwh[:] = 0.0
        self._saved_s = 0.0

    @staticmethod
    def _consumers(park: ParkRegistry, model: ParkModel) -> dict[str, npt.NDArray[np.intp]]:
        """Per carrier, the devices whose energy is end use (leaves of their meter tree); for
        ``units``, the production counters."""
        out: dict[str, npt.NDArray[np.intp]] = {}
        leaf = ~model.has_children
        for carrier, kinds in (
            ("electricity", {DeviceKind.ELECTRICITY_METER, DeviceKind.EV_CHARGER}),
            ("gas", {DeviceKind.GAS_METER}),
            ("heat", {DeviceKind.HEAT_METER}),
            ("water", {DeviceKind.WATER_METER}),
            ("units", {DeviceKind.PRODUCTION_COUNTER}),
        ):
            out[carrier] = np.array(
                [i for i, d in enumerate(park.devices) if d.kind in kinds and leaf[i]],
                dtype=np.intp,
            )
        return out

    @staticmethod
    def _build_scopes(park: ParkRegistry) -> list[_Scope]:
        floor_tenant = {(b.id, f.number): f.tenant for b in park.buildings for f in b.floors}
        keys: dict[str, list[str | None]] = {"park": [], "building": [], "floor": [], "tenant": []}
        for d in park.devices:
            keys["park"].append(park.id)
            keys["building"].append(d.building)
            keys["floor"].append(f"{d.building}/{d.floor}" if d.building and d.floor else None)
            tenant = d.tenant
            if tenant is None and d.building is not None and d.floor is not None:
                tenant = floor_tenant.get((d.building, d.floor))
            keys["tenant"].append(tenant)
        scopes = []
        for scope, values in keys.items():
            ids = sorted({v for v in values if v is not None})
            index = {v: k for k, v in enumerate(ids)}
            member = np.array([index[v] if v is not None else -1 for v in values], dtype=np.intp)
            scopes.append(_Scope(scope, ids, member))
        return scopes

    def write_tick(self, tick: Tick) -> None:
        """The exact energy of every device and scope over ``tick``'s interval."""
        t, dt = tick.time_ns // 1_000_000, tick.interval_s
        rows: list[tuple[object, ...]] = []
        delta = {f: v.tolist() for f, v in tick.delta.items()}
        loss = tick.loss.tolist()
        for i, dev_id, registers in self._registers:
            for f in registers:
                rows.append(
                    ("energy", t, dt, "device", dev_id, f, delta[f][i], _REGISTER_UNIT[f], "")
                )
            if loss[i]:
                unit = (
                    "m3"
                    if self.model.kind[i] in (DeviceKind.GAS_METER, DeviceKind.WATER_METER)
                    else "kWh"
                )
                rows.append(("energy", t, dt, "device", dev_id, "loss", loss[i], unit, ""))
        for scope in self._scopes:
            valid = scope.member >= 0
            for carrier, mask in self._mask.items():
                if scope.scope not in _SCOPES_OF.get(carrier, {scope.scope}):
                    continue
                energy = np.where(mask, self._carrier_delta(tick, carrier), 0.0)
                sums = np.bincount(
                    scope.member[valid], weights=energy[valid], minlength=len(scope.ids)
                ).tolist()
                has = np.bincount(scope.member[valid & mask], minlength=len(scope.ids))
                for k in np.flatnonzero(has).tolist():
                    rows.append(
                        (
                            "energy",
                            t,
                            dt,
                            scope.scope,
                            scope.ids[k],
                            carrier,
                            sums[k],
                            _UNIT[carrier],
                            "",
                        )
                    )
        park_id = self.model.park.id
        m = self.model
        electric_loss = float(tick.loss[m.electric].sum())
        for quantity, value in (
            ("grid_import", float(tick.delta["energy"][self._grid].sum())),
            ("grid_export", float(tick.delta["export_energy"][self._grid].sum())),
            ("pv", float(tick.delta["energy"][m.pv].sum())),
            ("battery_charge", float(tick.delta["charge_energy"][m.batt].sum())),
            ("battery_discharge", float(tick.delta["discharge_energy"][m.batt].sum())),
            ("loss", electric_loss),
        ):
            rows.append(("energy", t, dt, "park", park_id, quantity, value, "kWh", ""))
        self._csv.writerows(rows)
        self._retrofit_rows(tick)

    def _carrier_delta(self, tick: Tick, carrier: str) -> npt.NDArray[np.float64]:
        if carrier in ("gas", "water"):
            return tick.delta["volume"]
        if carrier == "units":
            return tick.delta["produced"]
        return tick.delta["energy"]

    def write_breaks(self, breaks: Iterable[RegisterBreak]) -> None:
        """One row per broken register."""
        self._csv.writerows(
            ("break", b.time_ms, "", "device", b.device, b.register, b.old_value, "", b.kind)
            for b in breaks
        )

    def write_faults(self, faults: Iterable[FaultRecord]) -> None:
        """One row per injected fault."""
        self._csv.writerows(
            ("fault", f.time_ms, "", "device", f.device, f.kind, f.value, "", f.detail)
            for f in faults
        )


def delivered_times(
    device: Device,
    ticks_ms: Iterable[int],
    faults: Iterable[Mapping[str, str]],
    *,
    clock_skew_duration_s: float,
) -> list[int]:
    """Device times [ms], sorted, of the readings of ``device`` a collector must store, per the
    truth's fault rows of that device (docs/simulator.md, "What the truth says was lost"):
    dropped and malformed readings are gone, a spike outside the device's plausible range is
    quarantined, and a skewed clock shifts the times it covers by its offset."""
    lost: set[int] = set()
    skews: list[tuple[int, int]] = []  # (fired at, offset) [ms]
    for f in faults:
        t, kind = int(f["time_ms"]), f["quantity"]
        if kind in ("dropout", "malformed"):
            lost.add(t)
        elif kind == "spike":
            name = next(n for n, spec in device.fields.items() if not spec.cumulative)
            spec = device.fields[name]
            scale = device.multiplier if spec.scaled else 1.0
            value = converter(spec.quantity, device.unit_of(name), scale=scale)(float(f["value"]))
            low, high = device.plausible(name)
            if not low <= value <= high:
                lost.add(t)
        elif kind == "clock_skew":
            skews.append((t, round(float(f["value"]) * 1000)))
    span_ms = round(clock_skew_duration_s * 1000)
    out = []
    for t in ticks_ms:
        if t in lost:
            continue
        shift = 0
        for fired, offset in skews:
            if fired <= t <= fired + span_ms:
                shift = offset
        out.append(t + shift)
    return sorted(out)
