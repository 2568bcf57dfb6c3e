"""Comprehensive energy (GB/T 2589-2020), Scope 1 and 2 carbon (GHG Protocol), the zero-carbon
park core indicator (发改环资[2025]910号) and the carbon and energy intensities per floor area
and per unit of product."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from analytics import carbon, energy
from config.factors import coal_equivalents, emission_factors
from services.indicators.basis import Basis
from services.indicators.model import (
    GEC,
    KG_PER_T,
    FactorUsed,
    Indicator,
    Profile,
    finite,
    lookup,
    min_of,
    missing,
)

__all__ = ["Carbon", "Energy", "carbon_indicators", "comprehensive_energy", "intensities"]


@dataclass(frozen=True, slots=True)
class Energy:
    """The scope's comprehensive energy: ``tce`` (None with ``why``), its split by carrier
    ``by`` [tce], completeness [%], the coefficients used and the electricity coefficient."""

    tce: float | None
    why: str | None
    completeness: float
    factors: tuple[FactorUsed, ...]
    kgce_per_kwh: float | None
    by: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Carbon:
    """Scope 1 and Scope 2 (location- and market-based) [tCO2], each None with its reason, the
    factors behind each, the certified green kWh and their completeness [%]."""

    scope1: float | None
    why1: str | None
    s1_factors: tuple[FactorUsed, ...]
    s2_loc: float | None
    why2: str | None
    loc_factors: tuple[FactorUsed, ...]
    s2_mkt: float | None
    why_m: str | None
    mkt_factors: tuple[FactorUsed, ...]
    green_kwh: float | None
    s2_completeness: float
    completeness: float


def comprehensive_energy(
    basis: Basis, *, profile: Profile, regions: tuple[str, ...], on: date
) -> tuple[Energy, Indicator]:
    """Comprehensive energy consumption [tce] of the scope (GB/T 2589-2020)."""
    coal = coal_equivalents()
    elec, gas, heat = basis.elec, basis.gas, basis.heat
    key_e = (
        "electricity_equivalent"
        if profile.method == "equivalent_value"
        else ("electricity_coal_consumption")
    )
    k_e = lookup(coal, key_e, regions, on)
    k_gas = lookup(coal, "natural_gas", regions, on)
    k_heat = lookup(coal, "heat", regions, on)
    heat_counts = profile.purchased_heat and heat.metered
    tce_inputs = [("electricity", elec), ("gas", gas)]
    if heat_counts:
        tce_inputs.append(("heat", heat))
    tce_completeness = min_of(*(f.completeness for _, f in tce_inputs))
    tce: float | None = None
    tce_by: dict[str, float] = {}
    why = missing(*tce_inputs)
    if why is None:
        if k_e is None or (gas.metered and k_gas is None) or (heat_counts and k_heat is None):
            why = f"no standard-coal coefficient for {on} in {regions}"
        else:
            tce_by["electricity"] = float(energy.tce_from_quantity(elec.kwh or 0.0, k_e.value))
            tce_by["natural_gas"] = (
                float(energy.tce_from_natural_gas_m3(gas.kwh or 0.0, kgce_per_m3=k_gas.value))
                if k_gas is not None
                else 0.0
            )
            if heat_counts and k_heat is not None:
                tce_by["heat"] = float(
                    energy.tce_from_heat_kwh(heat.kwh or 0.0, kgce_per_mj=k_heat.value)
                )
            tce = sum(tce_by.values())
    factors_tce = tuple(
        FactorUsed.of(f)
        for f in (k_e, k_gas if gas.metered else None, k_heat if heat_counts else None)
        if f is not None
    )
    carriers: dict[str, float | None] = {"electricity_kwh": elec.kwh}
    if gas.metered:
        carriers["natural_gas_m3"] = gas.kwh
    if heat.metered:
        carriers["heat_kwh"] = heat.kwh
    ind = Indicator(
        "comprehensive_energy_tce",
        tce,
        "tce",
        tce_completeness,
        factors_tce,
        why,
        f"{basis.elec_note} at the {profile.method.replace('_', ' ')}; "
        + ("purchased heat included" if heat_counts else "heat meters not counted (internal)"),
        {**tce_by, **carriers},
    )
    k = k_e.value if k_e is not None else None
    return Energy(tce, why, tce_completeness, factors_tce, k, tce_by), ind


def carbon_indicators(  # noqa: PLR0915  one flat sequence of formulas reads best
    basis: Basis, en: Energy, *, profile: Profile, regions: tuple[str, ...], on: date
) -> tuple[Carbon, list[Indicator]]:
    """Scope 1, Scope 2 location- and market-based [tCO2] and CO2 per tce [tCO2/tce]."""
    ef = emission_factors()
    grid, gas, heat = basis.grid, basis.gas, basis.heat
    heat_counts = profile.purchased_heat and heat.metered
    out: list[Indicator] = []
    ef_gas = lookup(ef, "natural_gas_combustion", regions, on)
    scope1: float | None = None
    why1 = missing(("gas", gas))
    if why1 is None:
        if not gas.metered:
            scope1 = 0.0
        elif ef_gas is None:
            why1 = f"no natural-gas emission factor for {on}"
        else:
            scope1 = float(carbon.scope1_tco2(gas.kwh or 0.0, ef_gas.value))
    s1_factors = (FactorUsed.of(ef_gas),) if ef_gas is not None and gas.metered else ()
    out.append(
        Indicator(
            "scope1_tco2",
            scope1,
            "tCO2",
            gas.completeness,
            s1_factors,
            why1,
            None if gas.metered else f"no fuel meter in {basis.scope}: no metered Scope 1",
        )
    )

    ef_grid = lookup(ef, "grid_average", regions, on)
    ef_resid = lookup(ef, "grid_excl_market_nonfossil", regions, on)
    ef_heat = lookup(ef, "purchased_heat", regions, on)
    heat_tco2 = 0.0
    heat_factors: tuple[FactorUsed, ...] = ()
    why_heat = missing(("heat", heat)) if heat_counts else None
    if heat_counts and why_heat is None:
        if ef_heat is None:
            why_heat = f"no purchased-heat factor for {on}"
        else:
            heat_tco2 = float(carbon.heat_tco2(heat.kwh or 0.0, ef_heat.value))
            heat_factors = (FactorUsed.of(ef_heat),)
    s2_completeness = min_of(grid.completeness, *((heat.completeness,) if heat_counts else ()))
    s2_loc: float | None = None
    why2 = missing(("grid import", grid)) or why_heat
    if why2 is None:
        if ef_grid is None:
            why2 = f"no grid emission factor for {on} in {regions}"
        else:
            s2_loc = float(carbon.scope2_location_tco2(grid.kwh or 0.0, ef_grid.value)) + heat_tco2
    loc_factors = ((FactorUsed.of(ef_grid),) if ef_grid else ()) + heat_factors
    s2_detail: dict[str, float | None] = {"grid_kwh": grid.kwh, **basis.detail}
    out.append(
        Indicator(
            "scope2_location_tco2",
            s2_loc,
            "tCO2",
            s2_completeness,
            loc_factors,
            why2,
            basis.grid_note,
            {**s2_detail, **({"purchased_heat_tco2": heat_tco2} if heat_counts else {})},
        )
    )
    market: carbon.MarketBasedScope2 | None = None
    why_m = missing(("grid import", grid)) or why_heat
    if why_m is None:
        if ef_resid is None:
            why_m = f"no residual-mix (excl. market-traded non-fossil) factor for {on}"
        else:
            market = carbon.scope2_market_based(
                max(grid.kwh or 0.0, 0.0),
                residual_ef_kgco2_per_kwh=ef_resid.value,
                gec_count=profile.gec_count,
                green_contract_kwh=profile.green_contract_kwh,
            )
    s2_mkt = market.tco2 + heat_tco2 if market is not None else None
    mkt_factors = ((FactorUsed.of(ef_resid), GEC) if ef_resid else ()) + heat_factors
    out.append(
        Indicator(
            "scope2_market_tco2",
            s2_mkt,
            "tCO2",
            s2_completeness,
            mkt_factors,
            why_m,
            "(grid kWh − certified green kWh retired for this scope) × residual-mix proxy "
            "(GHG Protocol Scope 2)",
            {
                "green_kwh": market.green_kwh,
                "residual_kwh": market.residual_kwh,
                "surplus_green_kwh": market.surplus_green_kwh,
            }
            if market is not None
            else {},
        )
    )
    carbon_completeness = min_of(en.completeness, gas.completeness, s2_completeness)
    for name, s2, s2_factors in (
        ("tco2_per_tce", s2_loc, loc_factors),
        ("tco2_per_tce_market", s2_mkt, mkt_factors),
    ):
        value: float | None = None
        reason = en.why or why1 or (why2 if name == "tco2_per_tce" else why_m)
        if reason is None and en.tce is not None and scope1 is not None and s2 is not None:
            value = finite(carbon.tco2_per_tce(scope1 + s2, en.tce))
            reason = None if value is not None else "comprehensive energy is 0"
        out.append(
            Indicator(
                name,
                value,
                "tCO2/tce",
                carbon_completeness,
                en.factors + s1_factors + s2_factors,
                reason,
                "zero-carbon park core indicator: ≤ 0.2 (0.2–1 Mtce/yr parks), ≤ 0.3 (≥ 1 Mtce/yr)"
                " — 发改环资[2025]910号",
            )
        )
    result = Carbon(
        scope1,
        why1,
        s1_factors,
        s2_loc,
        why2,
        loc_factors,
        s2_mkt,
        why_m,
        mkt_factors,
        market.green_kwh if market is not None else None,
        s2_completeness,
        carbon_completeness,
    )
    return result, out


def intensities(basis: Basis, en: Energy, co2: Carbon) -> list[Indicator]:
    """CO2 per floor area [kgCO2/m²], CO2 and energy per unit of product."""
    scope1, s2_loc, s2_mkt = co2.scope1, co2.s2_loc, co2.s2_mkt
    total_loc = scope1 + s2_loc if scope1 is not None and s2_loc is not None else None
    total_mkt = scope1 + s2_mkt if scope1 is not None and s2_mkt is not None else None
    carbon_why = co2.why1 or co2.why2
    area = basis.area_m2
    per_m2: float | None = None
    area_reason = carbon_why or basis.area_why
    if area_reason is None and total_loc is not None and area is not None:
        per_m2 = finite(carbon.kgco2_per_m2(total_loc, area))
    out = [
        Indicator(
            "kgco2_per_m2",
            per_m2,
            "kgCO2/m2",
            min_of(basis.gas.completeness, co2.s2_completeness),
            co2.s1_factors + co2.loc_factors,
            area_reason,
            "1000 × (Scope 1 + Scope 2 location-based) / floor area (registry area_m2)",
            {
                "area_m2": area,
                "kgco2_per_m2_market": finite(carbon.kgco2_per_m2(total_mkt, area))
                if total_mkt is not None and area is not None
                else None,
                "kwh_per_m2": basis.elec.kwh / area
                if basis.elec.kwh is not None and area
                else None,
            },
        )
    ]
    prod = basis.production
    units = prod.kwh if prod is not None else None
    prod_completeness = prod.completeness if prod is not None else None
    per_unit: float | None = None
    unit_reason = basis.production_why or carbon_why
    if unit_reason is None and total_loc is not None and units is not None:
        per_unit = finite(carbon.tco2_per_unit(total_loc, units))
        unit_reason = None if per_unit is not None else "no unit produced in this period"
    out.append(
        Indicator(
            "tco2_per_unit",
            per_unit,
            "tCO2/unit",
            min_of(co2.completeness, prod_completeness or 0.0) if prod is not None else None,
            co2.s1_factors + co2.loc_factors,
            unit_reason,
            "(Scope 1 + Scope 2 location-based) / units produced (GB/T 36132 unit-product carbon)",
            {
                "units": units,
                "tco2_per_unit_market": finite(carbon.tco2_per_unit(total_mkt, units))
                if total_mkt is not None and units is not None
                else None,
            },
        )
    )
    kgce: float | None = None
    kgce_reason = basis.production_why or en.why
    if kgce_reason is None and en.tce is not None and units is not None:
        kgce = finite(KG_PER_T * en.tce / units) if units > 0 else None
        kgce_reason = None if kgce is not None else "no unit produced in this period"
    out.append(
        Indicator(
            "kgce_per_unit",
            kgce,
            "kgce/unit",
            min_of(en.completeness, prod_completeness or 0.0) if prod is not None else None,
            en.factors,
            kgce_reason,
            "1000 × comprehensive energy [tce] / units produced (unit-product energy)",
            {"units": units},
        )
    )
    return out
