"""Energy in tonnes of standard coal equivalent (tce) per GB/T 2589-2020, and energy balances.

Comprehensive energy consumption is E = Σ eᵢ · kᵢ: the physical quantity of each carrier times
its conversion coefficient [kgce per unit] (GB/T 2589-2020 §4). Coefficients are parameters: the
caller takes them from ``config/data/coal_equivalents.yaml`` for the date and the park's
accounting profile. The module constants below are the standard's reference values, for
defaults and tests.

Electricity may be converted at its equivalent value (当量值, its heat content, 0.1229 kgce/kWh)
or by the coal-consumption method (等价值, the grid's coal burned per kWh supplied in the year,
roughly 0.30 kgce/kWh). The choice changes a park's tCO2/tce by a factor of about 2.5, so it is a
named setting of the accounting profile (:data:`ElectricityMethod`), never implicit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "ELECTRICITY_EQUIVALENT_KGCE_PER_KWH",
    "HEAT_KGCE_PER_MJ",
    "KGCE_PER_TCE",
    "MJ_PER_KWH",
    "NATURAL_GAS_KGCE_PER_M3",
    "ElectricityBalance",
    "ElectricityMethod",
    "comprehensive_energy_tce",
    "electricity_balance",
    "tce_from_electricity_kwh",
    "tce_from_heat_kwh",
    "tce_from_natural_gas_m3",
    "tce_from_quantity",
    "unmetered_kwh",
]

# GB/T 2589-2020 Annex A, electricity at equivalent value (860 kcal/kWh ÷ 7,000 kcal/kgce),
# 2020, [kgce/kWh].
ELECTRICITY_EQUIVALENT_KGCE_PER_KWH = 0.1229
# GB/T 2589 Annex A, gas-field natural gas (35,544 kJ/m3 LHV), 2008 table as reproduced for
# 2020, [kgce/m3]. Unverified against the 2020 text; see research/domain-standards.md §4.
NATURAL_GAS_KGCE_PER_M3 = 1.2143
# GB/T 2589 Annex A, heat at equivalent value, [kgce/MJ] (= 34.12 kgce/GJ).
HEAT_KGCE_PER_MJ = 0.03412
# SI: 1 kWh = 3.6 MJ, exact, [MJ/kWh].
MJ_PER_KWH = 3.6
# Definition of the tonne, [kgce/tce].
KGCE_PER_TCE = 1000.0

ElectricityMethod = Literal["equivalent_value", "coal_consumption"]


def tce_from_quantity(quantity: ArrayLike, kgce_per_unit: float) -> NDArray[np.float64]:
    """Standard coal [tce] from a physical quantity [unit] and its coefficient [kgce/unit]."""
    return np.asarray(quantity, dtype=np.float64) * kgce_per_unit / KGCE_PER_TCE


def tce_from_electricity_kwh(
    energy_kwh: ArrayLike,
    *,
    method: ElectricityMethod = "equivalent_value",
    equivalent_kgce_per_kwh: float = ELECTRICITY_EQUIVALENT_KGCE_PER_KWH,
    coal_consumption_kgce_per_kwh: float | None = None,
) -> NDArray[np.float64]:
    """Electricity [kWh] in standard coal [tce], by the accounting profile's ``method``.

    ``coal_consumption_kgce_per_kwh`` [kgce/kWh] is the year's national average coal consumption
    per kWh supplied; it is required for ``method="coal_consumption"``.
    """
    if method == "equivalent_value":
        return tce_from_quantity(energy_kwh, equivalent_kgce_per_kwh)
    if method == "coal_consumption":
        if coal_consumption_kgce_per_kwh is None:
            raise ValueError("method='coal_consumption' needs coal_consumption_kgce_per_kwh")
        return tce_from_quantity(energy_kwh, coal_consumption_kgce_per_kwh)
    raise ValueError(f"unknown electricity method {method!r}")


def tce_from_natural_gas_m3(
    volume_m3: ArrayLike, *, kgce_per_m3: float = NATURAL_GAS_KGCE_PER_M3
) -> NDArray[np.float64]:
    """Natural gas [m3, standard conditions] in standard coal [tce]."""
    return tce_from_quantity(volume_m3, kgce_per_m3)


def tce_from_heat_kwh(
    heat_kwh: ArrayLike, *, kgce_per_mj: float = HEAT_KGCE_PER_MJ
) -> NDArray[np.float64]:
    """Heat (steam, hot water) [kWh, canonical] in standard coal [tce], via 3.6 MJ/kWh."""
    return tce_from_quantity(np.asarray(heat_kwh, dtype=np.float64) * MJ_PER_KWH, kgce_per_mj)


def comprehensive_energy_tce(
    quantities: Mapping[str, ArrayLike], kgce_per_unit: Mapping[str, float]
) -> float:
    """Comprehensive energy consumption E = Σ eᵢ · kᵢ [tce] (GB/T 2589-2020).

    ``quantities`` maps a carrier name to its consumption [its unit]; ``kgce_per_unit`` maps the
    same names to coefficients [kgce/unit]. NaN quantities count as missing (0).

    Raises
    ------
    ValueError
        If a carrier has no coefficient (the total would silently omit it).
    """
    missing = sorted(set(quantities) - set(kgce_per_unit))
    if missing:
        raise ValueError(f"no kgce coefficient for {', '.join(missing)}")
    return float(
        sum(float(np.nansum(tce_from_quantity(q, kgce_per_unit[c]))) for c, q in quantities.items())
    )


@dataclass(frozen=True, slots=True)
class ElectricityBalance:
    """Electricity flows of a site per interval or period [kWh].

    ``load_kwh`` = import − export + PV + battery discharge − battery charge;
    ``pv_self_consumed_kwh`` = PV − export, floored at 0 (exports are taken to come from PV first);
    ``pv_exported_kwh`` = min(export, PV).
    """

    load_kwh: NDArray[np.float64]
    pv_self_consumed_kwh: NDArray[np.float64]
    pv_exported_kwh: NDArray[np.float64]
    grid_import_kwh: NDArray[np.float64]
    grid_export_kwh: NDArray[np.float64]


def electricity_balance(
    *,
    grid_import_kwh: ArrayLike,
    grid_export_kwh: ArrayLike = 0.0,
    pv_generation_kwh: ArrayLike = 0.0,
    battery_charge_kwh: ArrayLike = 0.0,
    battery_discharge_kwh: ArrayLike = 0.0,
) -> ElectricityBalance:
    """Site electricity balance from its meters [kWh], element-wise; see ElectricityBalance.

    A negative load means the meters disagree (a missing meter or a sign error), not a real flow.
    """
    imp = np.asarray(grid_import_kwh, dtype=np.float64)
    exp = np.asarray(grid_export_kwh, dtype=np.float64)
    pv = np.asarray(pv_generation_kwh, dtype=np.float64)
    ch = np.asarray(battery_charge_kwh, dtype=np.float64)
    dis = np.asarray(battery_discharge_kwh, dtype=np.float64)
    imp, exp, pv, ch, dis = np.broadcast_arrays(imp, exp, pv, ch, dis)
    return ElectricityBalance(
        load_kwh=imp - exp + pv + dis - ch,
        pv_self_consumed_kwh=np.maximum(pv - exp, 0.0),
        pv_exported_kwh=np.minimum(exp, pv),
        grid_import_kwh=imp.copy(),
        grid_export_kwh=exp.copy(),
    )


def unmetered_kwh(parent_kwh: ArrayLike, children_kwh: Sequence[ArrayLike]) -> NDArray[np.float64]:
    """Unmetered use and losses under a parent meter: parent − Σ children [kWh], element-wise.

    Negative values mean the children measure more than the parent (a metering error to flag).
    """
    parent = np.asarray(parent_kwh, dtype=np.float64)
    total = np.zeros_like(parent)
    for child in children_kwh:
        total = total + np.asarray(child, dtype=np.float64)
    return parent - total
