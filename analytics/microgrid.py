"""Microgrid, battery and PV indicators.

Self-consumption and self-sufficiency follow Luthander et al., Applied Energy 142 (2015);
battery round-trip efficiency and equivalent full cycles the usual station-level definitions
(GB/T 36549-2018 has the Chinese forms); PV yields and performance ratio IEC 61724-1:2021.
Inputs are totals over one period (or arrays for demand); ratios with a zero denominator are NaN.

IEC 61724-1:2021 normalises by P₀, the array's DC nameplate power at STC [kWp], never the
inverters' AC rating: final yield Y_f = E_AC / P₀ [h], reference yield Y_r = H_POA / G_ref [h]
with G_ref = 1 kW/m², PR = Y_f / Y_r. H_POA [kWh/m²] comes from a plane-of-array irradiance
sensor [W/m²] integrated over its sampling interval (:func:`irradiation_kwh_per_m2`);
:func:`performance_ratio_from_series` uses only intervals where both energy and irradiance are
known.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "G_REF_KW_PER_M2",
    "equivalent_full_cycles",
    "irradiation_kwh_per_m2",
    "load_factor",
    "peak_demand_kw",
    "performance_ratio",
    "performance_ratio_from_series",
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
    """Final yield Y_f = E_AC / P_0 [kWh/kWp = h] (等效利用小时数), IEC 61724-1:2021.

    ``energy_ac_kwh`` [kWh] is the AC energy delivered; ``p0_kwp`` [kWp] the array's DC nameplate
    power at STC (1,000 W/m², 25 °C), not the inverters' AC capacity.
    """
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
    """Performance ratio PR = Y_f / Y_r [0–1], IEC 61724-1:2021 (not temperature-corrected).

    ``energy_ac_kwh`` [kWh] AC output, ``p0_kwp`` [kWp] DC nameplate at STC,
    ``irradiation_poa_kwh_per_m2`` [kWh/m²] plane-of-array irradiation, G_ref [kW/m²].
    """
    return _ratio(
        specific_yield_kwh_per_kwp(energy_ac_kwh, p0_kwp),
        reference_yield_h(irradiation_poa_kwh_per_m2, g_ref_kw_per_m2),
    )


def irradiation_kwh_per_m2(irradiance_w_per_m2: ArrayLike, interval_s: float) -> float:
    """Irradiation H [kWh/m²] from irradiance samples G [W/m²], each the mean over ``interval_s``.

    H = Σ G_k × interval_s / 3600 / 1000 (IEC 61724-1:2021, irradiation as the sum of irradiance
    × recording interval). NaN if any sample is NaN: unknown sunshine is not zero; filter first,
    or use :func:`performance_ratio_from_series`.

    Raises
    ------
    ValueError
        If ``interval_s`` is not > 0.
    """
    if not interval_s > 0:
        raise ValueError(f"interval_s must be > 0, got {interval_s!r}")
    g = np.asarray(irradiance_w_per_m2, dtype=np.float64)
    return float(np.sum(g)) * interval_s / _S_PER_H / 1000.0


def performance_ratio_from_series(
    energy_ac_kwh: ArrayLike,
    irradiance_w_per_m2: ArrayLike,
    *,
    interval_s: float,
    p0_kwp: float,
    g_ref_kw_per_m2: float = G_REF_KW_PER_M2,
) -> float:
    """PR [0–1] from aligned interval AC energy [kWh] and mean POA irradiance [W/m²] series.

    PR = (Σ E_k / P₀) / (Σ G_k × τ / G_ref) over the intervals k where both are known (IEC
    61724-1:2021 excludes the same intervals from numerator and denominator), τ = ``interval_s``
    [s], P₀ [kWp] the DC nameplate at STC. NaN when no interval is usable.

    Raises
    ------
    ValueError
        If the series differ in length or ``interval_s`` is not > 0.
    """
    e = np.asarray(energy_ac_kwh, dtype=np.float64).ravel()
    g = np.asarray(irradiance_w_per_m2, dtype=np.float64).ravel()
    if e.shape != g.shape:
        raise ValueError("energy_ac_kwh and irradiance_w_per_m2 must have the same length")
    both = np.isfinite(e) & np.isfinite(g)
    h = irradiation_kwh_per_m2(g[both], interval_s)
    return performance_ratio(float(e[both].sum()), p0_kwp, h, g_ref_kw_per_m2)
