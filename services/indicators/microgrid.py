"""Microgrid, battery and PV indicators of the park (None with a reason for a part of it), and
the peak demand and load factor of the electricity the tariff bills."""

from __future__ import annotations

import math

import numpy as np

from analytics import microgrid
from config.registry import ParkRegistry
from services.energy import Balance
from services.indicators.basis import Basis
from services.indicators.model import Indicator, Inputs, finite, min_of

__all__ = ["microgrid_indicators"]

_PARK_ONLY = (
    ("pv_self_consumption_rate", "fraction"),
    ("self_sufficiency_rate", "fraction"),
    ("renewable_penetration", "fraction"),
    ("battery_equivalent_full_cycles", "cycles"),
    ("battery_round_trip_efficiency", "fraction"),
    ("pv_specific_yield_kwh_per_kw", "kWh/kW"),
)


def microgrid_indicators(
    basis: Basis,
    bal: Balance | None,
    *,
    park: ParkRegistry,
    green_kwh: float | None,
    interval_s: int,
) -> list[Indicator]:
    """PV, self-sufficiency, battery indicators of the park (None with a reason for a part of
    the park), and the peak demand and load factor of the electricity the tariff bills."""
    billed = basis.billed
    known = billed.kwh is not None and bool(np.isfinite(billed.series.energy).any())
    what = "grid import" if bal is not None else "metered electricity"
    demand = [
        Indicator(
            "peak_demand_kw",
            finite(microgrid.peak_demand_kw(billed.series.energy, interval_s)) if known else None,
            "kW",
            billed.completeness,
            (),
            None if known else (billed.why or f"no {what} data in this period"),
            f"highest {interval_s // 60}-minute average {what}",
        )
    ]
    lf = finite(microgrid.load_factor(billed.series.energy)) if known else None
    demand.append(
        Indicator(
            "load_factor",
            lf,
            "fraction",
            billed.completeness,
            (),
            None if lf is not None else f"no {what} data (or none above 0) in this period",
            f"mean / peak interval {what}",
        )
    )
    if bal is None:
        reason = (
            f"a park-level indicator: the park's PV, battery and grid connection are not split "
            f"to {basis.scope}"
        )
        park_only = [Indicator(n, None, u, None, (), reason) for n, u in _PARK_ONLY]
        return park_only[:3] + demand + park_only[3:]
    return _park_microgrid(bal, park=park, green_kwh=green_kwh, demand=demand)


def _park_microgrid(
    bal: Balance, *, park: ParkRegistry, green_kwh: float | None, demand: list[Indicator]
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
            reason = "no data for its inputs in this period"
        elif value is None:
            reason = f"{den_name} is 0"
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
            Indicator("battery_equivalent_full_cycles", None, "cycles", None, (), "no battery")
        )
        out.append(
            Indicator("battery_round_trip_efficiency", None, "fraction", None, (), "no battery")
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
    pv_devices = [d for d in park.devices if d.role.value == "pv"]
    rated_kw = sum(d.capacity_kw or 0.0 for d in pv_devices)
    if not pv_devices:
        out.append(Indicator("pv_specific_yield_kwh_per_kw", None, "kWh/kW", None, (), "no PV"))
    else:
        yf = microgrid.specific_yield_kwh_per_kwp(pv.kwh or 0.0, rated_kw)
        out.append(
            Indicator(
                "pv_specific_yield_kwh_per_kw",
                finite(yf) if pv.kwh is not None else None,
                "kWh/kW",
                pv.completeness,
                (),
                "no PV data in this period"
                if pv.kwh is None
                else (None if math.isfinite(yf) else "no PV capacity_kw in the registry"),
                "PV generation / Σ rated capacity_kw (IEC 61724-1 final yield, on the rated AC "
                "power where the DC nameplate is not registered)",
                {"rated_kw": rated_kw},
            )
        )
    return out
