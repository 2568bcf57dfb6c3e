"""Microgrid, battery and PV indicators of the park (None with a reason for a part of it), and
the peak demand, billed demand and load factor of the electricity the tariff bills.

PV final yield is on the DC nameplate at STC (``dc_kwp`` in the registry; IEC 61724-1:2021), and
the performance ratio needs a plane-of-array irradiance series: the park's first device whose
kind reports an ``irradiance`` field [W/m²] (a ``pyranometer``; without one the indicator says
so).
The park's peak demand is the highest 15-minute window sliding over the grid
meters' register in steps of their reporting cadence when they report more often than every
15 minutes (utilities bill it so), else the highest fixed quarter hour; the billed demand is
not below 40 % of the contracted capacity (发改办价格[2016]1583号)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from analytics import microgrid, tariff
from analytics.calendar import LocalPeriod, local_period_edges
from analytics.intervals import Quality
from config.messages import message
from config.registry import Device, ParkRegistry
from config.units import Quantity, stored_field_name
from services.energy import Balance, LedgerFn
from services.indicators.basis import Basis
from services.indicators.model import (
    FactorUsed,
    Flow,
    Indicator,
    Inputs,
    finite,
    min_of,
    shape_completeness,
)
from services.maintenance import device_cadence
from store.base import SeriesQuery, Store

__all__ = ["SlidingDemand", "irradiance_w_per_m2", "microgrid_indicators", "sliding_demand"]

_PARK_ONLY = (
    ("pv_self_consumption_rate", "fraction"),
    ("self_sufficiency_rate", "fraction"),
    ("renewable_penetration", "fraction"),
    ("billed_demand_kw", "kW"),
    ("battery_equivalent_full_cycles", "cycles"),
    ("battery_round_trip_efficiency", "fraction"),
    ("pv_specific_yield_kwh_per_kw", "kWh/kW"),
    ("pv_performance_ratio", "fraction"),
)
_WINDOW_S = tariff.DEMAND_WINDOW_S
_MAX_ROWS = 100_000  # irradiance buckets read at most: a year of 15-minute means is 35,040
# Steps [s] a sliding window can move by: divisors of the 15-minute window, whole seconds.
_STEPS_S = (60, 180, 300, 450)
_FLOOR = FactorUsed(
    "demand_floor_fraction",
    tariff.DEMAND_FLOOR_FRACTION,
    "fraction of contracted capacity",
    "国家发展改革委办公厅 发改办价格[2016]1583号: demand billed by maximum demand is not below "
    "40 % of the contracted transformer capacity",
    2016,
    "CN",
    "S",
)
IRRADIANCE = "irradiance"
"""The payload field of a plane-of-array irradiance sensor (a ``pyranometer``) [W/m²]."""
IRRADIANCE_FIELD = stored_field_name(IRRADIANCE, Quantity.IRRADIANCE)
"""Its stored name, ``irradiance_w_per_m2``."""


@dataclass(frozen=True, slots=True)
class SlidingDemand:
    """The highest 15-minute window sliding in ``step_s`` [s] steps over the grid meters'
    measured register intervals, per local month [kW] (NaN: no fully measured window), and the
    share of measured steps [%]."""

    step_s: int
    by_month: dict[str, float]
    measured_pct: float


def sliding_demand(
    store: Store, park: ParkRegistry, when: LocalPeriod, *, ledger: LedgerFn
) -> SlidingDemand | None:
    """Sliding 15-minute maximum demand of the park's grid import [kW] per local month, when
    every grid meter reports more often than every 15 minutes (its cadence, declared or learned);
    None otherwise. Steps not measured (interpolated across a gap) leave their windows out."""
    grid = [d for d in park.devices if d.role.value == "grid_connection"]
    if not grid:
        return None
    cadence = [device_cadence(store, park.id, d, end_ns=when.end_ns).interval_s for d in grid]
    known = [c for c in cadence if c is not None]
    if len(known) < len(grid) or max(known) >= _WINDOW_S:
        return None
    slowest = max(known)
    step = max((s for s in _STEPS_S if s <= slowest), default=_STEPS_S[0])
    edges, labels = local_period_edges(when.start_ns, when.end_ns, park.park.timezone, "month")
    by_month: dict[str, float] = {}
    measured = total = 0
    for k, label in enumerate(labels):
        lo, hi = max(int(edges[k]), when.start_ns), min(int(edges[k + 1]), when.end_ns)
        energy = _import_steps(
            store, park.id, grid, start_ns=lo, end_ns=hi, step_s=step, ledger=ledger
        )
        measured += int(np.count_nonzero(np.isfinite(energy)))
        total += energy.size
        by_month[label] = tariff.max_sliding_demand_kw(energy, interval_s=step)
    return SlidingDemand(step, by_month, 100.0 * measured / total if total else 0.0)


def _import_steps(
    store: Store,
    park_id: str,
    grid: list[Device],
    *,
    start_ns: int,
    end_ns: int,
    step_s: int,
    ledger: LedgerFn,
) -> NDArray[np.float64]:
    """Σ grid import [kWh] per step, NaN where any meter's step is not measured."""
    out: NDArray[np.float64] | None = None
    for dev in grid:
        rows = ledger(store, park_id, dev, start_ns=start_ns, end_ns=end_ns, interval_s=step_s)
        led = next((r.ledger for r in rows if r.field == "energy_kwh"), None)
        if led is None:
            return np.zeros(0)
        e = np.where(led.quality == int(Quality.MEASURED), led.energy, np.nan)
        if out is not None and out.size != e.size:
            return np.zeros(0)
        out = e if out is None else out + e
    return out if out is not None else np.zeros(0)


def irradiance_w_per_m2(
    store: Store, park: ParkRegistry, start_ns: NDArray[np.int64], interval_s: int
) -> tuple[NDArray[np.float64], str] | None:
    """Mean plane-of-array irradiance [W/m²] over each interval ``[start_ns[k], start_ns[k] +
    interval_s)`` of the park's first irradiance sensor, and its id; NaN where its readings do
    not cover the whole interval; None when the registry has no such sensor.

    A reading stamped ``t`` is the mean over the sensor's reporting interval before it, ``(t − c,
    t]`` (``c`` its cadence, declared or learned: the device's ``expected_interval_s``), as a
    power reading is: a pyranometer reporting hourly covers four quarter hours, one reporting
    every minute fifteen readings of one. The store averages the readings in intervals aligned
    like ``start_ns``; each such mean then stands for the same span shifted back by ``c``.
    """
    sensor = next((d for d in park.devices if IRRADIANCE in d.fields), None)
    if sensor is None or start_ns.size == 0:
        return None
    step_ns = interval_s * 1_000_000_000
    lo_ns, hi_ns = int(start_ns[0]), int(start_ns[-1]) + step_ns
    cadence_s = device_cadence(store, park.id, sensor, end_ns=hi_ns).interval_s or interval_s
    c_ns = round(cadence_s * 1e9)
    # the store's buckets: one per reading of a sensor reporting every interval or less often
    # (exact), else one per interval (a reading's share of the next interval is then spread)
    every_s = interval_s
    if cadence_s < interval_s and cadence_s >= 1 and (hi_ns - lo_ns) / c_ns <= _MAX_ROWS:
        every_s = round(cadence_s)
    every_ns = every_s * 1_000_000_000
    rows = store.series(
        SeriesQuery(
            park.id,
            sensor.id,
            IRRADIANCE_FIELD,
            lo_ns,
            hi_ns + c_ns,  # the readings closing the last interval are stamped after it
            every_s=every_s,
            limit=(hi_ns - lo_ns + c_ns) // every_ns + 2,
        )
    )
    rows = [r for r in rows if math.isfinite(r.value)]
    if not rows:
        return np.full(start_ns.size, np.nan), sensor.id
    bucket = np.array([r.time_ns for r in rows], dtype=np.int64)
    g = np.array([r.value for r in rows], dtype=np.float64)
    # each bucket's mean covers (b − c, b − c + max(bucket, c)]; spans never overlap
    span_lo = bucket - c_ns
    span_hi = span_lo + max(every_ns, c_ns)
    span_lo[1:] = np.maximum(span_lo[1:], span_hi[:-1])
    span_hi = np.maximum(span_hi, span_lo)
    # cumulative irradiance × time and cumulative covered time at the span edges: both piecewise
    # linear in time, so read at the interval edges by interpolation
    width = (span_hi - span_lo).astype(np.float64)
    f_hi = np.cumsum(g * width)
    c_hi = np.cumsum(width)
    x = np.column_stack([span_lo, span_hi]).ravel().astype(np.float64)
    f = np.column_stack([f_hi - g * width, f_hi]).ravel()
    cov = np.column_stack([c_hi - width, c_hi]).ravel()
    edges = np.append(start_ns, hi_ns).astype(np.float64)
    energy = np.diff(np.interp(edges, x, f))
    covered = np.diff(np.interp(edges, x, cov))
    full = covered >= step_ns * (1 - 1e-9)
    out: NDArray[np.float64] = np.where(full, energy / step_ns, np.nan)
    return out, sensor.id


def microgrid_indicators(
    basis: Basis,
    bal: Balance | None,
    start_ns: NDArray[np.int64],
    *,
    park: ParkRegistry,
    green_kwh: float | None,
    interval_s: int,
    tz: str,
    sliding: SlidingDemand | None = None,
    irradiance: tuple[NDArray[np.float64], str] | None = None,
) -> list[Indicator]:
    """PV, self-sufficiency, battery indicators and billed demand of the park (None with a
    reason for a part of the park), and the peak demand and load factor of the electricity the
    tariff bills."""
    billed = basis.billed
    known = billed.kwh is not None and bool(np.isfinite(billed.series.energy).any())
    what = "grid import" if bal is not None else "metered electricity"
    fixed_by_month: dict[str, float] = {}
    if known:
        blocks = tariff.demand_charge(
            start_ns,
            billed.series.energy,
            interval_s=interval_s,
            price_cny_per_kw_month=1.0,
            tz=tz,
        )
        fixed_by_month = {
            m: float(kw) for m, kw in zip(blocks.month, blocks.max_demand_kw, strict=True)
        }
    peak: float | None
    if sliding is not None and any(math.isfinite(v) for v in sliding.by_month.values()):
        by_month = sliding.by_month
        peak = max(v for v in by_month.values() if math.isfinite(v))
        peak_completeness = sliding.measured_pct
        peak_note = (
            f"highest 15-minute average {what}, the window sliding in {sliding.step_s} s steps "
            "over the grid meters' register (as utilities bill it)"
        )
    else:
        by_month = fixed_by_month
        peak = finite(microgrid.peak_demand_kw(billed.series.energy, interval_s)) if known else None
        peak_completeness = shape_completeness(billed.series)
        peak_note = f"highest fixed {interval_s // 60}-minute average {what}"
    demand = [
        Indicator(
            "peak_demand_kw",
            peak,
            "kW",
            peak_completeness,
            (),
            None
            if peak is not None
            else (billed.why or message("reason.no_data_in_period", "en", flow=what)),
            peak_note,
            {f"max_demand_kw:{m}": finite(v) for m, v in by_month.items()},
        )
    ]
    lf = finite(microgrid.load_factor(billed.series.energy)) if known else None
    load_factor = Indicator(
        "load_factor",
        lf,
        "fraction",
        shape_completeness(billed.series),
        (),
        None if lf is not None else message("reason.no_data_or_zero", "en", flow=what),
        f"mean / peak interval {what}",
    )
    if bal is None:
        reason = message("reason.park_level", "en", scope=basis.scope)
        park_only = [Indicator(n, None, u, None, (), reason) for n, u in _PARK_ONLY]
        return [*park_only[:3], *demand, load_factor, *park_only[3:]]
    demand.append(_billed_demand(park, by_month, peak_completeness))
    demand.append(load_factor)
    return _park_microgrid(
        bal, park=park, green_kwh=green_kwh, demand=demand, irradiance=irradiance
    )


def _billed_demand(
    park: ParkRegistry, by_month: dict[str, float], completeness: float
) -> Indicator:
    """Billed demand [kW]: each month's maximum demand, not below 40 % of the contracted
    capacity; the period's value is its highest month."""
    name, unit = "billed_demand_kw", "kW"
    t = park.park.tariff
    if t is None or t.contracted_kw is None:
        why = message("reason.no_contracted_capacity", "en")
        return Indicator(name, None, unit, None, (), why)
    billed = {m: tariff.billed_demand_kw(kw, t.contracted_kw) for m, kw in by_month.items()}
    known = [v for v in billed.values() if math.isfinite(v)]
    detail: dict[str, float | None] = {"contracted_kw": t.contracted_kw}
    detail.update({f"billed_demand_kw:{m}": finite(v) for m, v in billed.items()})
    return Indicator(
        name,
        max(known) if known else None,
        unit,
        completeness,
        (_FLOOR,),
        None if known else "no maximum demand known in this period",
        "max(the month's maximum demand, 40 % × contracted capacity); the period's highest month",
        detail,
    )


def _park_microgrid(
    bal: Balance,
    *,
    park: ParkRegistry,
    green_kwh: float | None,
    demand: list[Indicator],
    irradiance: tuple[NDArray[np.float64], str] | None,
) -> list[Indicator]:
    inp = Inputs(bal)
    exp = inp.flow("grid_export_kwh")
    pv = inp.flow("pv_generation_kwh")
    pv_self = inp.flow("pv_self_consumption_kwh")
    charge = inp.flow("battery_charge_kwh")
    discharge = inp.flow("battery_discharge_kwh")
    load = inp.flow("load_kwh")
    out: list[Indicator] = []

    def ratio(
        name: str,
        *,
        num: float | None,
        den_name: str,
        compute: float,
        completeness: float,
        note: str,
    ) -> Indicator:
        value = finite(compute) if num is not None else None
        reason = None
        if num is None:
            reason = message("reason.no_input_data", "en")
        elif value is None:
            reason = message("reason.denominator_zero", "en", flow=den_name)
        return Indicator(name, value, "fraction", completeness, (), reason, note)

    pv_ok = pv.kwh is not None and exp.kwh is not None
    load_ok = load.kwh is not None and pv_self.kwh is not None
    if not pv.metered:
        out.append(Indicator("pv_self_consumption_rate", None, "fraction", None, (), "no PV"))
    else:
        out.append(
            ratio(
                "pv_self_consumption_rate",
                num=pv.kwh if pv_ok else None,
                den_name="PV generation",
                compute=microgrid.self_consumption_rate(pv.kwh or 0.0, exp.kwh or 0.0)
                if pv_ok
                else 0.0,
                completeness=min_of(pv.completeness, exp.completeness),
                note="(PV − export) / PV",
            )
        )
    out.append(
        ratio(
            "self_sufficiency_rate",
            num=load.kwh if load_ok else None,
            den_name="load",
            compute=microgrid.self_sufficiency_rate(pv_self.kwh or 0.0, load.kwh or 0.0)
            if load_ok
            else 0.0,
            completeness=min_of(load.completeness, pv_self.completeness),
            note="PV self-consumed / load",
        )
    )
    out.append(
        ratio(
            "renewable_penetration",
            num=load.kwh if load_ok and green_kwh is not None else None,
            den_name="load",
            compute=microgrid.renewable_penetration(
                (pv_self.kwh or 0.0) + (green_kwh or 0.0), load.kwh or 0.0
            )
            if load_ok
            else 0.0,
            completeness=min_of(load.completeness, pv_self.completeness),
            note="(PV self-consumed + certified green kWh) / load",
        )
    )
    out.extend(demand)

    # --- battery and PV ---------------------------------------------------------------------
    storage = [d for d in park.devices if d.role.value == "storage"]
    usable = sum(d.capacity_kwh or 0.0 for d in storage)
    bat_completeness = min_of(charge.completeness, discharge.completeness)
    if not storage:
        out.append(
            Indicator(
                "battery_equivalent_full_cycles",
                None,
                "cycles",
                None,
                (),
                message("reason.no_battery", "en"),
            )
        )
        out.append(
            Indicator(
                "battery_round_trip_efficiency",
                None,
                "fraction",
                None,
                (),
                message("reason.no_battery", "en"),
            )
        )
    else:
        efc = microgrid.equivalent_full_cycles(discharge.kwh or 0.0, usable)
        out.append(
            Indicator(
                "battery_equivalent_full_cycles",
                finite(efc) if discharge.kwh is not None else None,
                "cycles",
                discharge.completeness,
                (),
                "no discharge data in this period"
                if discharge.kwh is None
                else (
                    None
                    if math.isfinite(efc)
                    else "no usable capacity (capacity_kwh) in the registry"
                ),
                "Σ discharge / Σ usable capacity (capacity_kwh)",
                {"usable_capacity_kwh": usable},
            )
        )
        both = charge.kwh is not None and discharge.kwh is not None
        rte = microgrid.round_trip_efficiency(charge.kwh or 0.0, discharge.kwh or 0.0)
        out.append(
            Indicator(
                "battery_round_trip_efficiency",
                finite(rte) if both else None,
                "fraction",
                bat_completeness,
                (),
                "no charge/discharge data in this period"
                if not both
                else (None if math.isfinite(rte) else "no charge in this period"),
                "Σ discharge / Σ charge at the AC meters; not corrected for the change of SoC",
            )
        )
    out.extend(_pv(bal, pv, park=park, irradiance=irradiance))
    return out


def _pv(
    bal: Balance,
    pv: Flow,
    *,
    park: ParkRegistry,
    irradiance: tuple[NDArray[np.float64], str] | None,
) -> list[Indicator]:
    """Final yield Y_f = E_AC / P₀ [kWh/kWp] and performance ratio PR = Y_f / Y_r (IEC
    61724-1:2021), P₀ the DC nameplate at STC (``dc_kwp``; the AC ``capacity_kw`` stands in for
    an inverter without one, and the note says so)."""
    pv_devices = [d for d in park.devices if d.role.value == "pv"]
    if not pv_devices:
        return [
            Indicator("pv_specific_yield_kwh_per_kw", None, "kWh/kW", None, (), "no PV"),
            Indicator("pv_performance_ratio", None, "fraction", None, (), "no PV"),
        ]
    on_ac = [d.id for d in pv_devices if d.dc_kwp is None]
    p0 = sum(d.dc_kwp if d.dc_kwp is not None else (d.capacity_kw or 0.0) for d in pv_devices)
    basis_words = (
        "Σ DC nameplate dc_kwp at STC"
        if not on_ac
        else f"Σ DC nameplate dc_kwp, the rated AC capacity_kw for {', '.join(on_ac)} (no dc_kwp "
        "registered: the yield reads high)"
    )
    yf = microgrid.specific_yield_kwh_per_kwp(pv.kwh or 0.0, p0)
    detail: dict[str, float | None] = {
        "p0_kwp": p0,
        "dc_kwp": sum(d.dc_kwp or 0.0 for d in pv_devices),
        "rated_kw": sum(d.capacity_kw or 0.0 for d in pv_devices),
    }
    out = [
        Indicator(
            "pv_specific_yield_kwh_per_kw",
            finite(yf) if pv.kwh is not None else None,
            "kWh/kW",
            pv.completeness,
            (),
            "no PV data in this period"
            if pv.kwh is None
            else (None if math.isfinite(yf) else "no PV dc_kwp or capacity_kw in the registry"),
            f"IEC 61724-1:2021 final yield: PV generation / {basis_words}",
            detail,
        )
    ]
    pr_name = "pv_performance_ratio"
    if irradiance is None:
        why = message("reason.no_irradiance_sensor", "en")
        out.append(Indicator(pr_name, None, "fraction", None, (), why))
        return out
    g, sensor = irradiance
    both = np.isfinite(pv.series.energy) & np.isfinite(g)
    pr = microgrid.performance_ratio_from_series(
        pv.series.energy, g, interval_s=bal.interval_s, p0_kwp=p0
    )
    h = microgrid.irradiation_kwh_per_m2(g[both], bal.interval_s)
    value = finite(pr) if both.any() else None
    out.append(
        Indicator(
            pr_name,
            value,
            "fraction",
            100.0 * float(np.count_nonzero(both)) / both.size if both.size else 0.0,
            (),
            None if value is not None else f"no interval with both PV and {sensor} data",
            f"IEC 61724-1:2021 PR = Y_f / Y_r, Y_r = plane-of-array irradiation ({sensor}) / "
            f"1 kW/m², over intervals with both known; P₀ = {basis_words}; not temperature-"
            "corrected",
            {**detail, "irradiation_kwh_per_m2": h, "reference_yield_h": h},
        )
    )
    return out
