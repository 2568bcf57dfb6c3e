"""Microgrid, battery and PV indicators.

Self-consumption and self-sufficiency follow Luthander et al., Applied Energy 142 (2015);
battery round-trip efficiency and equivalent full cycles the usual station-level definitions
(GB/T 36549-2018 has the Chinese forms); PV yields and performance ratio IEC 61724-1:2021.
Inputs are totals over one period (or arrays for demand); ratios with a zero denominator are NaN.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "G_REF_KW_PER_M2",
    "equivalent_full_cycles",
    "load_factor",
    "peak_demand_kw",
    "performance_ratio",
    "reference_yield_h",
    "renewable_penetration",
    "round_trip_efficiency",
    "self_consumption_rate",
    "self_sufficiency_rate",
    "specific_yield_kwh_per_kwp",
]

# Reference (STC) irradiance, IEC 61724-1:2021, [kW/m²].
G_REF_KW_PER_M2 = 1.0
_S_PER_H = 3600.0


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else float("nan")


def self_consumption_rate(pv_generation_kwh: float, pv_export_kwh: float) -> float:
    """SCR = (E_PV − E_export) / E_PV [0–1]: the share of PV used on site (自发自用率)."""
    return _ratio(max(pv_generation_kwh - pv_export_kwh, 0.0), pv_generation_kwh)


def self_sufficiency_rate(pv_self_consumed_kwh: float, load_kwh: float) -> float:
    """SSR = E_PV,self / E_load [0–1]: the share of the load met by on-site PV (自给率)."""
    return _ratio(pv_self_consumed_kwh, load_kwh)


def renewable_penetration(renewable_consumed_kwh: float, load_kwh: float) -> float:
    """Renewable penetration by energy, E_RE,consumed / E_load [0–1]."""
    return _ratio(renewable_consumed_kwh, load_kwh)


def peak_demand_kw(energy_kwh: ArrayLike, interval_s: float) -> float:
    """Peak demand [kW]: the highest interval-average power, max(E_i) / (interval_s / 3600).

    Missing (NaN) intervals are ignored; NaN if none is known.
    """
    e = np.asarray(energy_kwh, dtype=np.float64)
    if not np.isfinite(e).any():
        return float("nan")
    return float(np.nanmax(e)) / (interval_s / _S_PER_H)


def load_factor(energy_kwh: ArrayLike) -> float:
    """Load factor [0–1]: mean interval power / peak interval power = mean(E_i) / max(E_i)."""
    e = np.asarray(energy_kwh, dtype=np.float64)
    if not np.isfinite(e).any():
        return float("nan")
    return _ratio(float(np.nanmean(e)), float(np.nanmax(e)))


def equivalent_full_cycles(discharge_kwh: float, usable_capacity_kwh: float) -> float:
    """EFC = Σ E_discharge / E_usable [cycles] (discharge-based definition)."""
    return _ratio(discharge_kwh, usable_capacity_kwh)


def round_trip_efficiency(
    charge_kwh: float, discharge_kwh: float, stored_change_kwh: float = 0.0
) -> float:
    """RTE = (Σ E_discharge + ΔE_stored) / Σ E_charge [0–1].

    ``stored_change_kwh`` = ΔSoC × usable capacity over the window (0 when SoC ends where it
    began); state whether the meters are AC or DC when reporting.
    """
    return _ratio(discharge_kwh + stored_change_kwh, charge_kwh)


def specific_yield_kwh_per_kwp(energy_ac_kwh: float, p0_kwp: float) -> float:
    """Final yield Y_f = E_AC / P_0 [kWh/kWp = h] (等效利用小时数), IEC 61724-1."""
    return _ratio(energy_ac_kwh, p0_kwp)


def reference_yield_h(
    irradiation_poa_kwh_per_m2: float, g_ref_kw_per_m2: float = G_REF_KW_PER_M2
) -> float:
    """Reference yield Y_r = H_POA / G_ref [h] (peak sun hours), IEC 61724-1."""
    return _ratio(irradiation_poa_kwh_per_m2, g_ref_kw_per_m2)


def performance_ratio(
    energy_ac_kwh: float,
    p0_kwp: float,
    irradiation_poa_kwh_per_m2: float,
    g_ref_kw_per_m2: float = G_REF_KW_PER_M2,
) -> float:
    """Performance ratio PR = Y_f / Y_r [0–1], IEC 61724-1:2021 (not temperature-corrected)."""
    return _ratio(
        specific_yield_kwh_per_kwp(energy_ac_kwh, p0_kwp),
        reference_yield_h(irradiation_poa_kwh_per_m2, g_ref_kw_per_m2),
    )
