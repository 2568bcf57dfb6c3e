"""Natural gas from first principles: standard coal and CO2 from one heating value.

One lower heating value (LHV, 低位发热量) [MJ per m³ at a stated reference condition] gives both
figures, so they can never disagree:

* standard coal (GB/T 2589-2020 §3): k = LHV / 29.3076 MJ/kgce [kgce/m³];
* CO2 (national accounting guidelines, EF = NCV × CC × OF × 44/12): LHV [MJ/m³] × carbon content
  CC [tC/TJ] × oxidation fraction OF × 44/12 × 10⁻³ [kgCO2/m³].

CO2 per tce therefore depends only on CC and OF: 15.3 tC/TJ × 0.99 × 44/12 × 29.3076 × 10⁻³ =
1.628 tCO2/tce, whatever the heating value. Mixing 2.162 kgCO2/Nm³ (from 38.931 MJ/Nm³) with
1.2143 kgce/m³ (from 35.544 MJ/m³) gives 1.780, about 9 % high.

Volumes are only comparable at one reference condition. Chinese gas is metered and sold either
in Nm³ (0 °C, 101.325 kPa, the accounting guidelines' basis) or in m³ at 20 °C and 101.325 kPa
(the "standard reference conditions" of GB/T 19205 and the natural-gas quality standard
GB 17820). By the ideal-gas law at equal pressure, V₂₀ = V₀ × 293.15 / 273.15 (a mass of gas
that fills 1 Nm³ fills 1.0732 m³ at 20 °C), and a heating value per volume scales inversely.
Compressibility differs from 1 by under 0.3 % at these conditions and is ignored.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analytics.energy import KGCE_PER_TCE, MJ_PER_KGCE

__all__ = [
    "CARBON_PER_CO2_MASS_RATIO",
    "NATURAL_GAS_CARBON_TC_PER_TJ",
    "NATURAL_GAS_LHV_MJ_PER_NM3",
    "NATURAL_GAS_OXIDATION",
    "REFERENCE_PRESSURE_KPA",
    "REFERENCE_TEMPERATURE_K",
    "GasReference",
    "convert_heating_value",
    "convert_volume",
    "kgce_per_m3_from_lhv",
    "kgco2_per_m3_from_lhv",
    "tce_from_gas_volume",
    "tco2_from_gas_volume",
    "tco2_per_tce_of_gas",
]

GasReference = Literal["0C", "20C"]
"""Reference condition of a gas volume: ``"0C"`` = Nm³ (0 °C, 101.325 kPa); ``"20C"`` = m³ at
20 °C, 101.325 kPa. Both at the standard atmosphere."""

# Reference temperatures, [K]: 0 °C = 273.15 K (SI definition of the Celsius scale); 20 °C.
REFERENCE_TEMPERATURE_K: dict[str, float] = {"0C": 273.15, "20C": 293.15}
# Standard atmosphere, both references (GB/T 19205; the guidelines' Nm³), [kPa].
REFERENCE_PRESSURE_KPA = 101.325
# Natural-gas default LHV, 389.31 GJ/10⁴Nm³, 《工业其他行业企业温室气体排放核算方法与报告指南
# (试行)》(NDRC, 2015) appendix / GB/T 32151.34-2024 Annex C, [MJ/Nm³].
NATURAL_GAS_LHV_MJ_PER_NM3 = 38.931
# Natural-gas default carbon content per unit heat, 15.3 tC/TJ (= 0.0153 tC/GJ), same source,
# [tC/TJ].
NATURAL_GAS_CARBON_TC_PER_TJ = 15.3
# Natural-gas default carbon oxidation fraction, same source, [–].
NATURAL_GAS_OXIDATION = 0.99
# Molar masses CO2 : C = 44 : 12 (the guidelines' rounded ratio), [tCO2/tC].
CARBON_PER_CO2_MASS_RATIO = 44.0 / 12.0

_KG_PER_T = 1000.0
_TJ_PER_MJ = 1e-6


def _reference_k(reference: str) -> float:
    try:
        return REFERENCE_TEMPERATURE_K[reference]
    except KeyError:
        raise ValueError(
            f"unknown gas reference condition {reference!r}; expected '0C' or '20C'"
        ) from None


def convert_volume(
    volume_m3: ArrayLike, from_reference: GasReference, to_reference: GasReference
) -> NDArray[np.float64]:
    """Gas volume [m³ at ``from_reference``] as volume [m³ at ``to_reference``].

    Ideal gas at 101.325 kPa: V_to = V_from × T_to / T_from, e.g. 1 Nm³ ("0C") = 293.15 / 273.15
    = 1.07322 m³ at "20C".
    """
    ratio = _reference_k(to_reference) / _reference_k(from_reference)
    return np.asarray(volume_m3, dtype=np.float64) * ratio


def convert_heating_value(
    lhv_mj_per_m3: float, from_reference: GasReference, to_reference: GasReference
) -> float:
    """Heating value [MJ per m³ at ``from_reference``] per m³ at ``to_reference`` [MJ/m³].

    The same gas in a larger volume: LHV_to = LHV_from × T_from / T_to, e.g. 38.931 MJ/Nm³ =
    38.931 × 273.15 / 293.15 = 36.275 MJ/m³ at 20 °C.
    """
    return float(lhv_mj_per_m3) * _reference_k(from_reference) / _reference_k(to_reference)


def kgce_per_m3_from_lhv(lhv_mj_per_m3: float) -> float:
    """Standard-coal coefficient [kgce/m³] of a gas of LHV [MJ/m³], GB/T 2589-2020 §3.

    k = LHV / 29.3076 MJ/kgce; the volume's reference condition is the LHV's.

    Raises
    ------
    ValueError
        If the heating value is not > 0.
    """
    if not lhv_mj_per_m3 > 0:
        raise ValueError(f"lhv_mj_per_m3 must be > 0, got {lhv_mj_per_m3!r}")
    return float(lhv_mj_per_m3) / MJ_PER_KGCE


def kgco2_per_m3_from_lhv(
    lhv_mj_per_m3: float,
    *,
    carbon_tc_per_tj: float = NATURAL_GAS_CARBON_TC_PER_TJ,
    oxidation: float = NATURAL_GAS_OXIDATION,
) -> float:
    """Combustion CO2 factor [kgCO2/m³] of a gas of LHV [MJ/m³].

    EF = NCV × CC × OF × 44/12 (national accounting guidelines, 2015; GB/T 32151.34-2024):
    LHV [MJ/m³] × 10⁻⁶ TJ/MJ × CC [tC/TJ] × OF [–] × 44/12 × 1000 kg/t. With the defaults,
    38.931 MJ/Nm³ gives 2.1622 kgCO2/Nm³.

    Raises
    ------
    ValueError
        If the heating value or carbon content is not > 0, or OF is outside (0, 1].
    """
    if not lhv_mj_per_m3 > 0:
        raise ValueError(f"lhv_mj_per_m3 must be > 0, got {lhv_mj_per_m3!r}")
    if not carbon_tc_per_tj > 0:
        raise ValueError(f"carbon_tc_per_tj must be > 0, got {carbon_tc_per_tj!r}")
    if not 0 < oxidation <= 1:
        raise ValueError(f"oxidation must be in (0, 1], got {oxidation!r}")
    tc_per_m3 = float(lhv_mj_per_m3) * _TJ_PER_MJ * carbon_tc_per_tj * oxidation
    return tc_per_m3 * CARBON_PER_CO2_MASS_RATIO * _KG_PER_T


def tco2_per_tce_of_gas(
    *,
    carbon_tc_per_tj: float = NATURAL_GAS_CARBON_TC_PER_TJ,
    oxidation: float = NATURAL_GAS_OXIDATION,
) -> float:
    """CO2 per standard coal of gas burned [tCO2/tce], independent of the heating value.

    (LHV × CC × OF × 44/12 × 10⁻³) / (LHV / 29.3076) = CC × OF × 44/12 × 29.3076 × 10⁻³;
    1.628 tCO2/tce with the guidelines' defaults.
    """
    lhv = 1.0  # any heating value: it cancels
    return kgco2_per_m3_from_lhv(
        lhv, carbon_tc_per_tj=carbon_tc_per_tj, oxidation=oxidation
    ) / kgce_per_m3_from_lhv(lhv)


def tce_from_gas_volume(
    volume_m3: ArrayLike,
    *,
    volume_reference: GasReference,
    lhv_mj_per_m3: float,
    lhv_reference: GasReference,
) -> NDArray[np.float64]:
    """Gas burned [m³ at ``volume_reference``] in standard coal [tce] (GB/T 2589-2020).

    The heating value [MJ per m³ at ``lhv_reference``] is first brought to the volume's reference
    condition, then tce = V × LHV / 29.3076 / 1000. Element-wise; NaN stays NaN.
    """
    lhv = convert_heating_value(lhv_mj_per_m3, lhv_reference, volume_reference)
    v = np.asarray(volume_m3, dtype=np.float64)
    return v * kgce_per_m3_from_lhv(lhv) / KGCE_PER_TCE


def tco2_from_gas_volume(
    volume_m3: ArrayLike,
    *,
    volume_reference: GasReference,
    lhv_mj_per_m3: float,
    lhv_reference: GasReference,
    carbon_tc_per_tj: float = NATURAL_GAS_CARBON_TC_PER_TJ,
    oxidation: float = NATURAL_GAS_OXIDATION,
) -> NDArray[np.float64]:
    """Combustion CO2 [tCO2] of gas burned [m³ at ``volume_reference``], Scope 1.

    The heating value [MJ per m³ at ``lhv_reference``] is brought to the volume's reference, then
    tCO2 = V × :func:`kgco2_per_m3_from_lhv` / 1000. Element-wise; NaN stays NaN.
    """
    lhv = convert_heating_value(lhv_mj_per_m3, lhv_reference, volume_reference)
    ef = kgco2_per_m3_from_lhv(lhv, carbon_tc_per_tj=carbon_tc_per_tj, oxidation=oxidation)
    return np.asarray(volume_m3, dtype=np.float64) * ef / _KG_PER_T
