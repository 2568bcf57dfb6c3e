"""Product carbon footprint, gate to gate: the energy and CO2e of a tenant's site allocated to
the units of product its counters count (ISO 14067:2018; GB/T 24067-2024, its national
adoption).

The system boundary is the tenant's gate: the electricity, natural gas and heat its meters
measure, each at its footprint factor, and nothing upstream of the gate (raw materials) or
downstream (use, end of life). For one period::

    CO2e = (E_elec − E_green) · ef_elec + E_green · ef_green + V_gas · ef_gas + Q_heat · ef_heat

with ``E`` [kWh], ``V`` [m³], ``Q`` [kWh]; ``ef_elec`` the national electricity carbon-footprint
factor (a life-cycle factor, a different number from the Scope 2 grid factor), ``E_green`` the
certified green electricity matched to the tenant, at the footprint factor of its generation
type ``ef_green``. Energy in standard coal [kgce] uses the coefficients passed in.

**Allocation** among a tenant's several products (ISO 14067:2018 §6.4.6, GB/T 24067-2024 the
same clause: avoid allocation by sub-metering where possible; otherwise partition by an
underlying physical relationship; otherwise by another relationship such as economic value):

- ``counter`` — by units counted (a physical relationship only when the units are alike);
- ``mass`` — by units × declared mass per unit [kg/unit] (physical);
- ``value`` — by units × declared value per unit [CNY/unit] (economic).

Shares are computed per period, from that period's output, so a month's energy is carried only
by that month's units. See docs/footprint.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "ALLOCATION_RULES",
    "AllocationRule",
    "CarrierEnergy",
    "FootprintError",
    "FootprintFactors",
    "ProductFootprint",
    "allocation_shares",
    "carrier_energy",
    "energy_kgce",
    "footprint_kgco2e",
    "product_footprints",
]

AllocationRule = Literal["counter", "mass", "value"]
ALLOCATION_RULES: tuple[AllocationRule, ...] = ("counter", "mass", "value")


class FootprintError(ValueError):
    """Inputs a footprint cannot be computed from (shapes, negative or non-finite values, a
    missing declaration)."""


@dataclass(frozen=True, slots=True)
class FootprintFactors:
    """Footprint factors: ``electricity`` and ``green_electricity`` [kgCO2e/kWh], ``gas``
    [kgCO2e/m³], ``heat`` [kgCO2e/kWh]; standard-coal coefficients ``electricity_kgce``
    [kgce/kWh] (at the profile's method), ``gas_kgce`` [kgce/m³], ``heat_kgce`` [kgce/kWh]."""

    electricity: float
    green_electricity: float
    gas: float
    heat: float
    electricity_kgce: float
    gas_kgce: float
    heat_kgce: float


@dataclass(frozen=True, slots=True)
class CarrierEnergy:
    """A site's energy per period (arrays of one length): ``electricity_kwh``, ``green_kwh``
    (certified green, part of the electricity) [kWh], ``gas_m3`` [m³], ``heat_kwh`` [kWh]."""

    electricity_kwh: NDArray[np.float64]
    green_kwh: NDArray[np.float64]
    gas_m3: NDArray[np.float64]
    heat_kwh: NDArray[np.float64]


def _vector(x: ArrayLike, name: str, n: int | None = None) -> NDArray[np.float64]:
    a = np.atleast_1d(np.asarray(x, dtype=np.float64))
    if a.ndim != 1:
        raise FootprintError(f"{name} must be one-dimensional, got shape {a.shape}")
    if n is not None and a.size != n:
        raise FootprintError(f"{name} has {a.size} values, expected {n}")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise FootprintError(f"{name} must be finite and ≥ 0")
    return a


def carrier_energy(
    electricity_kwh: ArrayLike,
    *,
    green_kwh: ArrayLike | None = None,
    gas_m3: ArrayLike | None = None,
    heat_kwh: ArrayLike | None = None,
) -> CarrierEnergy:
    """A checked :class:`CarrierEnergy` (absent carriers as zeros); green electricity above the
    electricity of a period raises :class:`FootprintError`."""
    e = _vector(electricity_kwh, "electricity_kwh")
    n = e.size
    zeros = np.zeros(n)
    g = zeros if green_kwh is None else _vector(green_kwh, "green_kwh", n)
    if np.any(g > e * (1 + 1e-12)):
        raise FootprintError("certified green electricity exceeds the electricity of a period")
    return CarrierEnergy(
        e,
        g,
        zeros if gas_m3 is None else _vector(gas_m3, "gas_m3", n),
        zeros if heat_kwh is None else _vector(heat_kwh, "heat_kwh", n),
    )


def footprint_kgco2e(energy: CarrierEnergy, factors: FootprintFactors) -> NDArray[np.float64]:
    """CO2e per period [kgCO2e] of the module formula."""
    grey = energy.electricity_kwh - energy.green_kwh
    return np.asarray(
        grey * factors.electricity
        + energy.green_kwh * factors.green_electricity
        + energy.gas_m3 * factors.gas
        + energy.heat_kwh * factors.heat,
        dtype=np.float64,
    )


def energy_kgce(energy: CarrierEnergy, factors: FootprintFactors) -> NDArray[np.float64]:
    """Energy per period in standard coal [kgce] (green electricity counts as electricity)."""
    return np.asarray(
        energy.electricity_kwh * factors.electricity_kgce
        + energy.gas_m3 * factors.gas_kgce
        + energy.heat_kwh * factors.heat_kgce,
        dtype=np.float64,
    )


def allocation_shares(
    units: ArrayLike,
    rule: AllocationRule,
    *,
    per_unit: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """Each product's share [-] of each period's burden, shape (periods, products), rows summing
    to 1 (a row with no output is all NaN: nothing to carry it).

    ``units`` (periods, products) [units made]; ``per_unit`` (products,) the declared mass
    [kg/unit] for ``mass`` or value [CNY/unit] for ``value``, > 0; ignored for ``counter``."""
    u = np.asarray(units, dtype=np.float64)
    if u.ndim == 1:
        u = u[None, :]
    if u.ndim != 2 or u.shape[1] == 0:
        raise FootprintError(f"units must be (periods, products), got shape {u.shape}")
    if not np.all(np.isfinite(u)) or np.any(u < 0):
        raise FootprintError("units must be finite and ≥ 0")
    if rule not in ALLOCATION_RULES:
        raise FootprintError(
            f"unknown allocation rule {rule!r} (use {', '.join(ALLOCATION_RULES)})"
        )
    weight = u
    if rule != "counter":
        if per_unit is None:
            raise FootprintError(f"allocation by {rule} needs the declared {rule} per unit")
        w = _vector(per_unit, f"{rule} per unit", u.shape[1])
        if np.any(w <= 0):
            raise FootprintError(f"the declared {rule} per unit must be > 0 for every product")
        weight = u * w
    total = weight.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(total > 0, weight / total, np.nan), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class ProductFootprint:
    """One product over the periods and in total: ``units`` made, its ``share`` [-] of each
    period, allocated ``kgco2e`` [kgCO2e], ``kgce`` [kgce], ``electricity_kwh`` [kWh] per period,
    and per unit ``kgco2e_per_unit`` [kgCO2e/unit], ``kgce_per_unit`` [kgce/unit],
    ``kwh_per_unit`` [kWh/unit] (NaN where no unit was made); ``total_*`` over all periods."""

    units: NDArray[np.float64]
    share: NDArray[np.float64]
    kgco2e: NDArray[np.float64]
    kgce: NDArray[np.float64]
    electricity_kwh: NDArray[np.float64]
    kgco2e_per_unit: NDArray[np.float64]
    kgce_per_unit: NDArray[np.float64]
    kwh_per_unit: NDArray[np.float64]
    total_units: float
    total_kgco2e: float
    total_kgce: float
    total_kgco2e_per_unit: float
    total_kgce_per_unit: float
    total_kwh_per_unit: float


def _per(x: NDArray[np.float64], u: NDArray[np.float64]) -> NDArray[np.float64]:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(u > 0, x / np.where(u > 0, u, 1.0), np.nan), dtype=np.float64)


def product_footprints(
    energy: CarrierEnergy,
    units: ArrayLike,
    factors: FootprintFactors,
    *,
    rule: AllocationRule = "counter",
    per_unit: ArrayLike | None = None,
) -> list[ProductFootprint]:
    """The gate-to-gate footprint of each product (column of ``units``, (periods, products)
    [units]) from the site's ``energy`` per period and ``factors``, allocated by ``rule``.

    A period with energy but no output leaves its burden unallocated (its share is NaN); the
    totals then cover only the periods that made something (the caller reports it)."""
    u = np.asarray(units, dtype=np.float64)
    if u.ndim == 1:
        u = u[:, None]
    n = energy.electricity_kwh.size
    if u.shape[0] != n:
        raise FootprintError(f"units has {u.shape[0]} periods, the energy {n}")
    shares = allocation_shares(u, rule, per_unit=per_unit)
    co2 = footprint_kgco2e(energy, factors)
    kgce = energy_kgce(energy, factors)
    out = []
    for j in range(u.shape[1]):
        s = np.nan_to_num(shares[:, j], nan=0.0)
        c, k, e = co2 * s, kgce * s, energy.electricity_kwh * s
        made = u[:, j]
        total_units = float(made.sum())
        total_c, total_k, total_e = float(c.sum()), float(k.sum()), float(e.sum())
        out.append(
            ProductFootprint(
                units=made,
                share=shares[:, j],
                kgco2e=c,
                kgce=k,
                electricity_kwh=e,
                kgco2e_per_unit=_per(c, made),
                kgce_per_unit=_per(k, made),
                kwh_per_unit=_per(e, made),
                total_units=total_units,
                total_kgco2e=total_c,
                total_kgce=total_k,
                total_kgco2e_per_unit=total_c / total_units if total_units > 0 else math.nan,
                total_kgce_per_unit=total_k / total_units if total_units > 0 else math.nan,
                total_kwh_per_unit=total_e / total_units if total_units > 0 else math.nan,
            )
        )
    return out
