"""Energy in tonnes of standard coal equivalent (tce) per GB/T 2589-2020, and energy balances.

Comprehensive energy consumption is E = Σ eᵢ · kᵢ: the physical quantity of each carrier times
its conversion coefficient [kgce per unit] (GB/T 2589-2020 §4). Coefficients are parameters: the
caller takes them from ``config/data/coal_equivalents.yaml`` for the date and the park's
accounting profile. The module constants below are the standard's reference values, for
defaults and tests.

Electricity is converted by one of the two methods GB/T 2589-2020 defines (§3): the calorific
value (当量值, the heat content of a kWh: 3,600 kJ/kWh, 0.1229 kgce/kWh) or the coal equivalent
(等价值, the primary energy spent to supply a kWh: the year's national average coal consumption
per kWh supplied, roughly 0.30 kgce/kWh). The choice changes a park's tCO2/tce by a factor of
about 2.5, so it is a named setting of the accounting profile (:data:`ConversionMethod`), never
implicit. Use :func:`tce_from_electricity_kwh_by`; the older :func:`tce_from_electricity_kwh`
and :data:`ElectricityMethod` call 当量值 "equivalent_value", which in English usually means
等价值, and are kept only for existing callers (:func:`conversion_method_from_legacy` maps them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CONVERSION_METHODS",
    "ELECTRICITY_CALORIFIC_KGCE_PER_KWH",
    "ELECTRICITY_EQUIVALENT_KGCE_PER_KWH",
    "HEAT_KGCE_PER_MJ",
    "KGCE_PER_TCE",
    "KJ_PER_KGCE",
    "MJ_PER_KGCE",
    "MJ_PER_KWH",
    "NATURAL_GAS_KGCE_PER_M3",
    "ConversionMethod",
    "ElectricityBalance",
    "ElectricityMethod",
    "comprehensive_energy_tce",
    "conversion_method_from_legacy",
    "electricity_balance",
    "electricity_kgce_per_kwh",
    "tce_from_electricity_kwh",
    "tce_from_electricity_kwh_by",
    "tce_from_heat_kwh",
    "tce_from_natural_gas_m3",
    "tce_from_quantity",
    "unmetered_kwh",
]

# GB/T 2589-2020 Annex A, electricity at equivalent value (860 kcal/kWh ÷ 7,000 kcal/kgce),
# 2020, [kgce/kWh].
ELECTRICITY_EQUIVALENT_KGCE_PER_KWH = 0.1229
# GB/T 2589 Annex A, gas-field natural gas (35,544 kJ/m3 LHV), 2008 table as reproduced for
# 2020, [kgce/m3]. Unverified against the 2020 text; see docs/sources/standards.md §4.
NATURAL_GAS_KGCE_PER_M3 = 1.2143
# GB/T 2589 Annex A, heat at equivalent value, [kgce/MJ] (= 34.12 kgce/GJ).
HEAT_KGCE_PER_MJ = 0.03412
# SI: 1 kWh = 3.6 MJ, exact, [MJ/kWh].
MJ_PER_KWH = 3.6
# Definition of the tonne, [kgce/tce].
KGCE_PER_TCE = 1000.0
# GB/T 2589-2020 §3: 1 kgce has a lower heating value of 29,307 kJ (7,000 kcal × 4.1868 kJ/kcal
# = 29,307.6 kJ), 2020, [kJ/kgce].
KJ_PER_KGCE = 29307.6
# The same in MJ, [MJ/kgce].
MJ_PER_KGCE = KJ_PER_KGCE / 1000.0
# GB/T 2589-2020 Annex A, electricity at calorific value (当量值): 860 kcal/kWh ÷ 7,000 kcal/kgce
# = 0.122857, published rounded to 0.1229, 2020, [kgce/kWh]. Same value as
# ELECTRICITY_EQUIVALENT_KGCE_PER_KWH, under the standard's name.
ELECTRICITY_CALORIFIC_KGCE_PER_KWH = ELECTRICITY_EQUIVALENT_KGCE_PER_KWH

ElectricityMethod = Literal["equivalent_value", "coal_consumption"]
"""Superseded by :data:`ConversionMethod` ("equivalent_value" here means 当量值)."""

ConversionMethod = Literal["calorific_value", "coal_equivalent"]
"""GB/T 2589-2020 electricity conversion: ``calorific_value`` = 当量值 (heat content of a kWh),
``coal_equivalent`` = 等价值 (coal consumed per kWh supplied in the year)."""

CONVERSION_METHODS: tuple[ConversionMethod, ...] = ("calorific_value", "coal_equivalent")


def conversion_method_from_legacy(name: str) -> ConversionMethod:
    """The :data:`ConversionMethod` for a legacy :data:`ElectricityMethod` name (or a new one).

    ``"equivalent_value"`` (the old name of 当量值) → ``"calorific_value"``;
    ``"coal_consumption"`` (等价值) → ``"coal_equivalent"``; the new names map to themselves.

    Raises
    ------
    ValueError
        For any other name.
    """
    legacy: dict[str, ConversionMethod] = {
        "equivalent_value": "calorific_value",
        "coal_consumption": "coal_equivalent",
        "calorific_value": "calorific_value",
        "coal_equivalent": "coal_equivalent",
    }
    try:
        return legacy[name]
    except KeyError:
        raise ValueError(
            f"unknown electricity conversion method {name!r}; expected one of "
            f"{', '.join(CONVERSION_METHODS)}"
        ) from None


def electricity_kgce_per_kwh(
    method: ConversionMethod,
    *,
    coal_equivalent_kgce_per_kwh: float | None = None,
    calorific_kgce_per_kwh: float = ELECTRICITY_CALORIFIC_KGCE_PER_KWH,
) -> float:
    """The electricity coefficient [kgce/kWh] of a GB/T 2589-2020 conversion ``method``.

    ``calorific_value`` (当量值) gives ``calorific_kgce_per_kwh`` (0.1229 kgce/kWh, Annex A);
    ``coal_equivalent`` (等价值) gives ``coal_equivalent_kgce_per_kwh``, the year's national
    average coal consumption per kWh supplied [kgce/kWh], which the caller must pass (it changes
    every year and has no default).

    Raises
    ------
    ValueError
        For an unknown method, a missing 等价值 coefficient, or a coefficient that is not > 0.
    """
    if method == "calorific_value":
        coefficient = calorific_kgce_per_kwh
    elif method == "coal_equivalent":
        if coal_equivalent_kgce_per_kwh is None:
            raise ValueError(
                "method='coal_equivalent' (等价值) needs coal_equivalent_kgce_per_kwh, "
                "the year's national average coal consumption per kWh supplied"
            )
        coefficient = coal_equivalent_kgce_per_kwh
    else:
        raise ValueError(
            f"unknown electricity conversion method {method!r}; expected one of "
            f"{', '.join(CONVERSION_METHODS)}"
        )
    if not coefficient > 0:
        raise ValueError(f"electricity coefficient must be > 0 kgce/kWh, got {coefficient!r}")
    return float(coefficient)


def tce_from_electricity_kwh_by(
    method: ConversionMethod,
    energy_kwh: ArrayLike,
    *,
    coal_equivalent_kgce_per_kwh: float | None = None,
    calorific_kgce_per_kwh: float = ELECTRICITY_CALORIFIC_KGCE_PER_KWH,
) -> NDArray[np.float64]:
    """Electricity [kWh] in standard coal [tce] by a GB/T 2589-2020 conversion ``method``.

    E = energy_kwh × k / 1000, with k [kgce/kWh] from :func:`electricity_kgce_per_kwh`:
    当量值 (``calorific_value``, 0.1229) or 等价值 (``coal_equivalent``, the year's figure, which
    the caller must pass). Element-wise; NaN stays NaN.
    """
    coefficient = electricity_kgce_per_kwh(
        method,
        coal_equivalent_kgce_per_kwh=coal_equivalent_kgce_per_kwh,
        calorific_kgce_per_kwh=calorific_kgce_per_kwh,
    )
    return tce_from_quantity(energy_kwh, coefficient)


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

    Superseded by :func:`tce_from_electricity_kwh_by`: here ``"equivalent_value"`` means 当量值
    (calorific value, 0.1229 kgce/kWh), not 等价值; kept unchanged for existing callers.

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
