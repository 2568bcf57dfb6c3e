"""Carbon: Scope 1 and Scope 2 (location- and market-based) emissions and intensities.

Scope 1 = Σ fuel quantity × emission factor (EF = NCV × CC × OF × 44/12, national accounting
guidelines; natural gas 2.162 kgCO2/m3). Scope 2 location-based = grid import × the grid
average factor of the data year and region (MEE/NBS). Scope 2 market-based (GHG Protocol Scope 2
Guidance, 2015): kWh covered by retired green certificates (GEC, 1 GEC = 1,000 kWh) or
green-power contracts count 0; the rest takes a residual factor (in China, the MEE national factor
excluding market-traded non-fossil power, 2023: 0.6096 kgCO2/kWh).

Factors are parameters; the caller takes them from ``config/data/emission_factors.yaml`` for the
date and region. Ratios with a zero or negative denominator are NaN (no meaningful intensity).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "GJ_PER_KWH",
    "KWH_PER_GEC",
    "NATURAL_GAS_KGCO2_PER_M3",
    "PURCHASED_HEAT_TCO2_PER_GJ",
    "CertifiedGreenCoreIndicator",
    "MarketBasedScope2",
    "PurchasedBasis",
    "clean_energy_share",
    "core_indicator_certified_green",
    "heat_tco2",
    "kgco2_per_m2",
    "purchased_electricity_kwh",
    "renewable_electricity_share",
    "scope1_tco2",
    "scope2_location_tco2",
    "scope2_market_based",
    "scope2_market_based_green",
    "tco2_per_10k_cny",
    "tco2_per_tce",
    "tco2_per_unit",
]

# Natural-gas combustion default: 389.31 GJ/10⁴Nm3 × 0.0153 tC/GJ × 0.99 × 44/12, industry
# accounting guidelines (2015) / GB/T 32151.34-2024 Annex C, [kgCO2/m3].
NATURAL_GAS_KGCO2_PER_M3 = 2.162
# Purchased heat default, GB/T 32150-2015 (kept in GB/T 32150-2025 §7.5.6), [tCO2/GJ].
PURCHASED_HEAT_TCO2_PER_GJ = 0.11
# One green electricity certificate, NDRC/MOF/NEA 发改能源[2023]1044号, 2023, [kWh/GEC].
KWH_PER_GEC = 1000.0
# SI: 1 kWh = 0.0036 GJ, exact, [GJ/kWh].
GJ_PER_KWH = 0.0036
_KG_PER_T = 1000.0


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else float("nan")


def scope1_tco2(quantity: ArrayLike, ef_kgco2_per_unit: float) -> NDArray[np.float64]:
    """Direct emissions [tCO2] of a fuel burned on site: quantity [unit] × EF [kgCO2/unit]."""
    return np.asarray(quantity, dtype=np.float64) * ef_kgco2_per_unit / _KG_PER_T


def scope2_location_tco2(
    grid_import_kwh: ArrayLike, ef_kgco2_per_kwh: float
) -> NDArray[np.float64]:
    """Location-based Scope 2 [tCO2]: grid import [kWh] × grid average EF [kgCO2/kWh]."""
    return np.asarray(grid_import_kwh, dtype=np.float64) * ef_kgco2_per_kwh / _KG_PER_T


def heat_tco2(
    heat_kwh: ArrayLike, ef_tco2_per_gj: float = PURCHASED_HEAT_TCO2_PER_GJ
) -> NDArray[np.float64]:
    """Scope 2 of purchased heat [tCO2]: heat [kWh] × 0.0036 GJ/kWh × EF [tCO2/GJ]."""
    return np.asarray(heat_kwh, dtype=np.float64) * GJ_PER_KWH * ef_tco2_per_gj


@dataclass(frozen=True, slots=True)
class MarketBasedScope2:
    """Market-based Scope 2 of one period.

    ``tco2`` [tCO2]; ``green_kwh`` the consumption covered by instruments; ``residual_kwh`` the
    rest, at the residual factor; ``surplus_green_kwh`` instruments beyond consumption (they
    cannot lower emissions below zero and are not carried over here).
    """

    tco2: float
    green_kwh: float
    residual_kwh: float
    surplus_green_kwh: float


def scope2_market_based(
    grid_import_kwh: float,
    *,
    residual_ef_kgco2_per_kwh: float,
    gec_count: float = 0.0,
    green_contract_kwh: float = 0.0,
    kwh_per_gec: float = KWH_PER_GEC,
) -> MarketBasedScope2:
    """Market-based Scope 2 of one period's grid import [kWh].

    C_mb = (E − E_green) × EF_residual, with E_green = min(E, GEC × kwh_per_gec + contracts).
    Only certificates retired for, and contracts settled in, the same period may be passed.
    Superseded by :func:`scope2_market_based_green`, which takes the kWh that
    :func:`analytics.instruments.match` allocated to the period instead of counts that a caller
    could reuse in every period.
    """
    if gec_count < 0 or green_contract_kwh < 0 or grid_import_kwh < 0:
        raise ValueError("consumption, certificates and contracts must not be negative")
    instruments = gec_count * kwh_per_gec + green_contract_kwh
    green = min(grid_import_kwh, instruments)
    residual = grid_import_kwh - green
    return MarketBasedScope2(
        tco2=residual * residual_ef_kgco2_per_kwh / _KG_PER_T,
        green_kwh=green,
        residual_kwh=residual,
        surplus_green_kwh=instruments - green,
    )


def tco2_per_tce(tco2: float, tce: float) -> float:
    """Carbon per unit energy [tCO2/tce].

    The core indicator of national zero-carbon parks (发改环资[2025]910号): ≤ 0.2 or ≤ 0.3.
    """
    return _ratio(tco2, tce)


def tco2_per_10k_cny(tco2: float, output_cny: float) -> float:
    """Carbon per 10,000 CNY of output or value added [tCO2/万元]."""
    return _ratio(tco2, output_cny / 1e4)


def kgco2_per_m2(tco2: float, floor_area_m2: float) -> float:
    """Carbon per floor area [kgCO2/m²]."""
    return _ratio(tco2 * _KG_PER_T, floor_area_m2)


def tco2_per_unit(tco2: float, units_produced: float) -> float:
    """Carbon per unit of qualified product [tCO2/unit] (GB/T 36132 unit-product carbon)."""
    return _ratio(tco2, units_produced)


def clean_energy_share(tce_by_carrier: Mapping[str, float], clean: Collection[str]) -> float:
    """Share of clean energy in consumption on a tce basis [0–1].

    ``clean`` names the carriers the accounting profile counts as clean (non-fossil, and natural
    gas if the profile says so).
    """
    total = sum(tce_by_carrier.values())
    return _ratio(sum(v for k, v in tce_by_carrier.items() if k in clean), total)


def renewable_electricity_share(
    *,
    total_electricity_kwh: float,
    pv_self_consumed_kwh: float = 0.0,
    green_contract_kwh: float = 0.0,
    gec_kwh: float = 0.0,
) -> float:
    """Renewable share of electricity [0–1]: (on-site self-consumed + green trading + GEC) ÷ total.

    Capped at 1 (instruments beyond consumption do not make it exceed 100 %).
    """
    share = _ratio(pv_self_consumed_kwh + green_contract_kwh + gec_kwh, total_electricity_kwh)
    return min(share, 1.0) if not np.isnan(share) else share


PurchasedBasis = Literal["net", "gross"]
"""Purchased electricity for Scope 2: ``gross`` = grid import; ``net`` = max(import − export, 0)
per period."""


def purchased_electricity_kwh(
    grid_import_kwh: ArrayLike,
    grid_export_kwh: ArrayLike = 0.0,
    *,
    basis: PurchasedBasis,
) -> NDArray[np.float64]:
    """Purchased electricity [kWh] per period on the accounting profile's ``basis``.

    ``gross``: the import [kWh]. ``net``: max(import − export, 0) [kWh] per period (element-wise:
    export in one period never offsets import in another), the basis on which tce nets export.
    NaN stays NaN.

    Raises
    ------
    ValueError
        For an unknown basis.
    """
    imp = np.asarray(grid_import_kwh, dtype=np.float64)
    if basis == "gross":
        return imp.copy()
    if basis == "net":
        exp = np.asarray(grid_export_kwh, dtype=np.float64)
        return np.maximum(imp - exp, 0.0)
    raise ValueError(f"unknown purchased-electricity basis {basis!r}; expected 'net' or 'gross'")


def scope2_market_based_green(
    purchased_kwh: float,
    certified_green_kwh: float,
    *,
    residual_ef_kgco2_per_kwh: float,
) -> MarketBasedScope2:
    """Market-based Scope 2 of one period [tCO2] (GHG Protocol Scope 2 Guidance, 2015, §6).

    C_mb = (E − E_green) × EF_residual / 1000, E_green = min(E, certified green kWh), with E the
    purchased electricity [kWh] and EF_residual [kgCO2/kWh] the residual-mix factor; in China the
    MEE national factor excluding market-traded non-fossil power (2023: 0.6096) is the proxy.
    ``certified_green_kwh`` [kWh] must be what :func:`analytics.instruments.match` allocated to
    this period and scope, so that no kWh is claimed twice.

    Raises
    ------
    ValueError
        If a quantity is negative or not finite.
    """
    for name, value in (
        ("purchased_kwh", purchased_kwh),
        ("certified_green_kwh", certified_green_kwh),
    ):
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    green = min(float(purchased_kwh), float(certified_green_kwh))
    residual = float(purchased_kwh) - green
    return MarketBasedScope2(
        tco2=residual * residual_ef_kgco2_per_kwh / _KG_PER_T,
        green_kwh=green,
        residual_kwh=residual,
        surplus_green_kwh=float(certified_green_kwh) - green,
    )


@dataclass(frozen=True, slots=True)
class CertifiedGreenCoreIndicator:
    """The 910 core indicator counting certified green electricity at zero emission.

    ``tco2`` [tCO2] = Scope 1 + grey electricity × location factor + heat; ``energy_tce`` [tce]
    the denominator as passed; ``tco2_per_tce`` [tCO2/tce]; ``green_kwh`` [kWh] the certified kWh
    counted (at most the purchased kWh); ``grey_kwh`` [kWh] the rest of the purchased kWh.
    """

    tco2: float
    energy_tce: float
    tco2_per_tce: float
    green_kwh: float
    grey_kwh: float


def core_indicator_certified_green(
    *,
    scope1_tco2: float,
    purchased_kwh: float,
    certified_green_kwh: float,
    location_ef_kgco2_per_kwh: float,
    energy_tce: float,
    heat_tco2: float = 0.0,
) -> CertifiedGreenCoreIndicator:
    """单位能耗碳排放 with certified green electricity at zero [tCO2/tce] (发改环资[2025]910号).

    (Scope 1 [tCO2] + (purchased − certified green) [kWh] × location EF [kgCO2/kWh] / 1000 +
    purchased heat [tCO2]) / comprehensive energy [tce].

    What it counts: fossil fuel burned in the boundary (``scope1_tco2``); purchased grid
    electricity (``purchased_kwh``, net or gross per :func:`purchased_electricity_kwh`) less the
    kWh evidenced by GECs, green-power trading or direct supply allocated to this period and scope
    by :func:`analytics.instruments.match` (``certified_green_kwh``, capped at the purchased kWh:
    surplus certificates do not go below zero), at the location-based grid factor; purchased heat
    (``heat_tco2``). Self-consumed on-site PV is not in the purchased kWh, so it adds nothing here;
    whether its energy is in the denominator is the caller's boundary. It uses the location
    factor for grey kWh, as the research's reading of the 910 notes (docs/sources/standards.md
    §1.2, [U]); :func:`scope2_market_based_green` gives the residual-mix figure.

    Raises
    ------
    ValueError
        If a kWh quantity is negative or not finite.
    """
    for name, value in (
        ("purchased_kwh", purchased_kwh),
        ("certified_green_kwh", certified_green_kwh),
    ):
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    green = min(float(purchased_kwh), float(certified_green_kwh))
    grey = float(purchased_kwh) - green
    tco2 = float(scope1_tco2) + grey * location_ef_kgco2_per_kwh / _KG_PER_T + float(heat_tco2)
    return CertifiedGreenCoreIndicator(
        tco2=tco2,
        energy_tce=float(energy_tce),
        tco2_per_tce=_ratio(tco2, energy_tce),
        green_kwh=green,
        grey_kwh=grey,
    )
