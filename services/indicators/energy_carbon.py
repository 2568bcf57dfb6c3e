"""Comprehensive energy (GB/T 2589-2020), Scope 1 and 2 carbon (GHG Protocol), the zero-carbon
park core indicator (发改环资[2025]910号) under both electricity methods, and the carbon and
energy intensities per floor area and per unit of product, under the park's accounting profile
(config.accounting; docs/accounting.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from analytics import carbon, energy, gas, zero_carbon
from analytics.energy import ConversionMethod
from config.accounting import METHOD_LABELS, AccountingProfile
from config.factors import Factor, coal_equivalents, emission_factors
from config.messages import message
from services.indicators.basis import Basis
from services.indicators.green import Green
from services.indicators.model import (
    GEC,
    KG_PER_T,
    NATIONAL,
    FactorUsed,
    Indicator,
    finite,
    lookup,
    min_of,
    missing,
)

__all__ = [
    "Carbon",
    "Energy",
    "carbon_indicators",
    "comprehensive_energy",
    "grid_regions",
    "intensities",
]

# The coefficient keys of the two GB/T 2589-2020 electricity methods in the coal table.
_METHOD_KEYS: dict[ConversionMethod, str] = {
    "calorific_value": "electricity_equivalent",  # 当量值
    "coal_equivalent": "electricity_coal_consumption",  # 等价值
}
_GAS_GUIDELINES = (
    "《工业其他行业企业温室气体排放核算方法与报告指南(试行)》(NDRC 2015) / GB/T 32151.34-2024 "
    "Annex C natural-gas default"
)


@dataclass(frozen=True, slots=True)
class Energy:
    """The scope's comprehensive energy at the profile's method: ``tce`` (None with ``why``),
    its split by carrier ``by`` [tce], completeness [%], the coefficients used, the profile's
    electricity coefficient [kgce/kWh], every other carrier's tce ``other_tce`` and the
    electricity coefficient of each method [kgce/kWh] (None when the table has none)."""

    tce: float | None
    why: str | None
    completeness: float
    factors: tuple[FactorUsed, ...]
    kgce_per_kwh: float | None
    other_tce: float | None = None
    by_method: dict[ConversionMethod, FactorUsed | None] = field(default_factory=dict)
    by: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Carbon:
    """Scope 1 and Scope 2 (location- and market-based) [tCO2], each None with its reason, the
    factors behind each, the certified green kWh counted [kWh] and their completeness [%]."""

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


def _gas_factors(profile: AccountingProfile, on: date) -> tuple[FactorUsed, ...]:
    """The one heating value both gas factors follow from, the guidelines' carbon content and
    oxidation, and the two derived factors at the meters' reference condition."""
    g = profile.gas
    lhv_meter = gas.convert_heating_value(g.lhv_mj_per_m3, g.reference, g.meter_reference)
    at = f"m3 at {g.meter_reference[:-1]} °C"
    region = f"supplier:{g.supplier}"
    return (
        FactorUsed("natural_gas_lhv", g.lhv_mj_per_m3, f"MJ/m3 at {g.reference[:-1]} °C",
                   g.source, on.year, region, "U"),
        FactorUsed("natural_gas_carbon_content", gas.NATURAL_GAS_CARBON_TC_PER_TJ, "tC/TJ",
                   _GAS_GUIDELINES, 2015, NATIONAL, "S"),
        FactorUsed("natural_gas_oxidation", gas.NATURAL_GAS_OXIDATION, "1",
                   _GAS_GUIDELINES, 2015, NATIONAL, "S"),
        FactorUsed("natural_gas_kgce", gas.kgce_per_m3_from_lhv(lhv_meter), f"kgce/{at}",
                   "LHV / 29.3076 MJ/kgce (GB/T 2589-2020 §3)", on.year, region, "U"),
        FactorUsed("natural_gas_combustion", gas.kgco2_per_m3_from_lhv(lhv_meter),
                   f"kgCO2/{at}", "LHV × CC × OF × 44/12 (national accounting guidelines 2015)",
                   on.year, region, "U"),
    )  # fmt: skip


def comprehensive_energy(
    basis: Basis, *, profile: AccountingProfile, regions: tuple[str, ...], on: date
) -> tuple[Energy, Indicator]:
    """Comprehensive energy consumption [tce] of the scope (GB/T 2589-2020) at the profile's
    electricity method; the detail gives it under both methods."""
    coal = coal_equivalents()
    elec, gas_flow, heat = basis.elec, basis.gas, basis.heat
    method = profile.electricity_method
    found: dict[ConversionMethod, Factor | None] = {
        m: lookup(coal, key, regions, on) for m, key in _METHOD_KEYS.items()
    }
    k_e = found[method]
    k_heat = lookup(coal, "heat", regions, on)
    heat_counts = profile.purchased_heat and heat.metered
    tce_inputs = [("electricity", elec), ("gas", gas_flow)]
    if heat_counts:
        tce_inputs.append(("heat", heat))
    tce_completeness = min_of(*(f.completeness for _, f in tce_inputs))
    tce: float | None = None
    other: float | None = None
    tce_by: dict[str, float] = {}
    why = missing(*tce_inputs)
    if why is None:
        if k_e is None or (heat_counts and k_heat is None):
            why = message("reason.no_coal_coefficient", "en", on=on, regions=", ".join(regions))
        else:
            g = profile.gas
            tce_by["electricity"] = float(energy.tce_from_quantity(elec.kwh or 0.0, k_e.value))
            tce_by["natural_gas"] = float(
                gas.tce_from_gas_volume(
                    gas_flow.kwh or 0.0,
                    volume_reference=g.meter_reference,
                    lhv_mj_per_m3=g.lhv_mj_per_m3,
                    lhv_reference=g.reference,
                )
            )
            if heat_counts and k_heat is not None:
                tce_by["heat"] = float(
                    energy.tce_from_heat_kwh(heat.kwh or 0.0, kgce_per_mj=k_heat.value)
                )
            tce = sum(tce_by.values())
            other = tce - tce_by["electricity"]
    factors_tce = (
        ((FactorUsed.of(k_e),) if k_e is not None else ())
        + (_gas_factors(profile, on) if gas_flow.metered else ())
        + ((FactorUsed.of(k_heat),) if heat_counts and k_heat is not None else ())
    )
    carriers: dict[str, float | None] = {"electricity_kwh": elec.kwh}
    if gas_flow.metered:
        carriers["natural_gas_m3"] = gas_flow.kwh
    if heat.metered:
        carriers["heat_kwh"] = heat.kwh
    for m, f in found.items():
        carriers[f"tce_{m}"] = (
            other + float(energy.tce_from_quantity(elec.kwh or 0.0, f.value))
            if other is not None and f is not None
            else None
        )
    zh, en = METHOD_LABELS[method]
    ind = Indicator(
        "comprehensive_energy_tce",
        tce,
        "tce",
        tce_completeness,
        factors_tce,
        why,
        f"{basis.elec_note} at the {en} ({zh}); natural gas from one heating value "
        f"({profile.gas.lhv_mj_per_m3:g} MJ/m3 at {profile.gas.reference[:-1]} °C, meters at "
        f"{profile.gas.meter_reference[:-1]} °C); "
        + ("purchased heat included" if heat_counts else "heat meters not counted (internal)")
        + f"; profile {profile.name}",
        {**tce_by, **carriers},
    )
    k = k_e.value if k_e is not None else None
    by_method = {m: FactorUsed.of(f) if f is not None else None for m, f in found.items()}
    return Energy(tce, why, tce_completeness, factors_tce, k, other, by_method, tce_by), ind


def grid_regions(profile: AccountingProfile, regions: tuple[str, ...]) -> tuple[str, ...]:
    """The regions the grid factor is looked up in under the profile's rule: from the province
    (province → grid region → national), from the grid region, or national only. ``regions``
    are the park's, most specific first (:func:`~services.indicators.factor_regions`)."""
    rule = profile.grid_factor
    if rule == "national":
        return (NATIONAL,)
    if rule == "region":
        return tuple(r for r in regions if not _is_province(r)) or (NATIONAL,)
    return regions


def _is_province(region: str) -> bool:
    # province codes are two letters (CN-HB); grid regions are words (CN-CENTRAL)
    return region.startswith("CN-") and len(region) == 5


def carbon_indicators(  # noqa: PLR0915  one flat sequence of formulas reads best
    basis: Basis,
    en: Energy,
    green: Green,
    *,
    profile: AccountingProfile,
    regions: tuple[str, ...],
    on: date,
) -> tuple[Carbon, list[Indicator]]:
    """Scope 1, Scope 2 location- and market-based [tCO2] and the 910 core indicator
    [tCO2/tce]: with certified green at zero at the profile's method (``tco2_per_tce``), the
    same under each method, location-based without instruments, and market-based."""
    ef = emission_factors()
    grid, gas_flow, heat = basis.grid, basis.gas, basis.heat
    heat_counts = profile.purchased_heat and heat.metered
    out: list[Indicator] = []
    scope1: float | None = None
    why1 = missing(("gas", gas_flow))
    if why1 is None:
        g = profile.gas
        scope1 = float(
            gas.tco2_from_gas_volume(
                gas_flow.kwh or 0.0,
                volume_reference=g.meter_reference,
                lhv_mj_per_m3=g.lhv_mj_per_m3,
                lhv_reference=g.reference,
            )
        )
    s1_factors = _gas_factors(profile, on) if gas_flow.metered else ()
    out.append(
        Indicator(
            "scope1_tco2",
            scope1,
            "tCO2",
            gas_flow.completeness,
            s1_factors,
            why1,
            "natural gas × LHV × CC × OF × 44/12, the same heating value as its tce"
            if gas_flow.metered
            else f"no fuel meter in {basis.scope}: no metered Scope 1",
        )
    )

    if profile.grid_factor == "fixed":
        ef_grid = lookup(ef, profile.fixed_grid_factor_key or "", regions, on)
        rule = message("reason.rule.fixed", "en", factor=profile.fixed_grid_factor_key)
    else:
        ef_grid = lookup(ef, "grid_average", grid_regions(profile, regions), on)
        rule = message(f"reason.rule.{profile.grid_factor}", "en")
    ef_resid = lookup(ef, "grid_excl_market_nonfossil", regions, on)
    ef_heat = lookup(ef, "purchased_heat", regions, on)
    heat_tco2 = 0.0
    heat_factors: tuple[FactorUsed, ...] = ()
    why_heat = missing(("heat", heat)) if heat_counts else None
    if heat_counts and why_heat is None:
        if ef_heat is None:
            why_heat = message("reason.no_heat_factor", "en", on=on)
        else:
            heat_tco2 = float(carbon.heat_tco2(heat.kwh or 0.0, ef_heat.value))
            heat_factors = (FactorUsed.of(ef_heat),)
    s2_completeness = min_of(grid.completeness, *((heat.completeness,) if heat_counts else ()))
    bought = max(grid.kwh or 0.0, 0.0)
    # certificates of on-site PV sold: its self-consumed kWh are no longer green (the attribute
    # went with the certificate; GHG Protocol Scope 2 Guidance 2015, Quality Criteria 2)
    sold_pv = (basis.pv_self.kwh or 0.0) if profile.pv_certificates == "sold" else 0.0
    s2_loc: float | None = None
    why2 = missing(("grid import", grid)) or why_heat
    if why2 is None:
        if ef_grid is None:
            why2 = message("reason.no_grid_factor", "en", on=on, rule=rule)
        else:
            s2_loc = float(carbon.scope2_location_tco2(bought, ef_grid.value)) + heat_tco2
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
            f"{basis.grid_note} ({rule}); Scope 2 on the {profile.scope2_basis} basis",
            {**s2_detail, **({"purchased_heat_tco2": heat_tco2} if heat_counts else {})},
        )
    )
    market: carbon.MarketBasedScope2 | None = None
    why_m = missing(("grid import", grid)) or why_heat
    if why_m is None:
        if ef_resid is None:
            why_m = message("reason.no_residual_factor", "en", on=on)
        else:
            market = carbon.scope2_market_based_green(
                bought, green.kwh, residual_ef_kgco2_per_kwh=ef_resid.value
            )
    s2_mkt = (
        market.tco2 + heat_tco2 + sold_pv * ef_resid.value / KG_PER_T
        if market is not None and ef_resid is not None
        else None
    )
    mkt_factors = (
        ((FactorUsed.of(ef_resid),) if ef_resid else ())
        + ((GEC,) if "gec" in green.by_kind else ())
        + heat_factors
    )
    green_used = market.green_kwh if market is not None else None
    out.append(
        Indicator(
            "scope2_market_tco2",
            s2_mkt,
            "tCO2",
            s2_completeness,
            mkt_factors,
            why_m,
            "(purchased kWh − certified green kWh matched to this scope and month) × residual-mix "
            "proxy (GHG Protocol Scope 2)"
            + (" + self-consumed PV whose certificates were sold" if sold_pv else ""),
            {
                "green_kwh": market.green_kwh,
                "residual_kwh": market.residual_kwh,
                "surplus_green_kwh": market.surplus_green_kwh,
                "pv_certificates_sold_kwh": sold_pv,
                **{f"green_kwh:{k}": v for k, v in sorted(green.by_kind.items())},
            }
            if market is not None
            else {},
        )
    )
    carbon_completeness = min_of(en.completeness, gas_flow.completeness, s2_completeness)
    out.extend(
        _core_indicators(
            en,
            green,
            profile=profile,
            scope1=scope1,
            bought=bought,
            sold_pv=sold_pv,
            heat_tco2=heat_tco2,
            ef_grid=ef_grid,
            reason=en.why or why1 or why2,
            completeness=carbon_completeness,
            factors=en.factors + s1_factors + loc_factors,
            elec_kwh=basis.elec.kwh,
        )
    )
    for name, s2, s2_factors, why_s2, note in (
        ("tco2_per_tce_location", s2_loc, loc_factors, why2,
         "(Scope 1 + Scope 2 location-based) / tce, no instrument counted (the former "
         "definition)"),
        ("tco2_per_tce_market", s2_mkt, mkt_factors, why_m,
         "(Scope 1 + Scope 2 market-based) / tce"),
    ):  # fmt: skip
        value: float | None = None
        reason = en.why or why1 or why_s2
        if reason is None and en.tce is not None and scope1 is not None and s2 is not None:
            value = finite(carbon.tco2_per_tce(scope1 + s2, en.tce))
            reason = None if value is not None else message("reason.energy_zero", "en")
        out.append(
            Indicator(
                name,
                value,
                "tCO2/tce",
                carbon_completeness,
                en.factors + s1_factors + s2_factors,
                reason,
                f"{note}, at the {METHOD_LABELS[profile.electricity_method][1]}",
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
        green_used,
        s2_completeness,
        carbon_completeness,
    )
    return result, out


_CORE_NOTE = (
    "zero-carbon park core indicator 单位能耗碳排放: (Scope 1 + (purchased − certified green) "
    "kWh × location grid factor + purchased heat) / comprehensive energy; ≤ 0.2 (0.2–1 Mtce/yr "
    "parks), "
    "≤ 0.3 (≥ 1 Mtce/yr) — 发改环资[2025]910号. The notice does not say which GB/T 2589 "
    "electricity method applies: both are given"
)


def _core_indicators(
    en: Energy,
    green: Green,
    *,
    profile: AccountingProfile,
    scope1: float | None,
    bought: float,
    sold_pv: float,
    heat_tco2: float,
    ef_grid: Factor | None,
    reason: str | None,
    completeness: float,
    factors: tuple[FactorUsed, ...],
    elec_kwh: float | None,
) -> list[Indicator]:
    """``tco2_per_tce`` (the profile's method) and ``tco2_per_tce_<method>`` for both methods,
    certified green electricity counted at zero emission (carbon.core_indicator_certified_green,
    zero_carbon.core_indicator_by_method)."""
    methods: tuple[ConversionMethod, ...] = ("calorific_value", "coal_equivalent")
    values: dict[ConversionMethod, float | None] = dict.fromkeys(methods)
    reasons: dict[ConversionMethod, str | None] = dict.fromkeys(methods, reason)
    detail: dict[str, float | None] = {}
    ks = {m: en.by_method.get(m) for m in methods}
    if (
        reason is None
        and scope1 is not None
        and ef_grid is not None
        and en.other_tce is not None
        and elec_kwh is not None
    ):
        core = carbon.core_indicator_certified_green(
            scope1_tco2=scope1 + sold_pv * ef_grid.value / KG_PER_T,
            purchased_kwh=bought,
            certified_green_kwh=green.kwh,
            location_ef_kgco2_per_kwh=ef_grid.value,
            energy_tce=en.tce or 0.0,
            heat_tco2=heat_tco2,
        )
        detail = {"tco2": core.tco2, "green_kwh": core.green_kwh, "grey_kwh": core.grey_kwh}
        k_cv, k_ce = ks["calorific_value"], ks["coal_equivalent"]
        if k_ce is None or k_cv is None:
            missing_k: ConversionMethod = "coal_equivalent" if k_ce is None else "calorific_value"
            reasons[missing_k] = message(
                "reason.no_method_coefficient",
                "en",
                method=message(f"reason.method.{missing_k}", "en"),
            )
        verdicts = zero_carbon.core_indicator_by_method(
            tco2=core.tco2,
            electricity_kwh=elec_kwh,
            other_tce=en.other_tce,
            coal_equivalent_kgce_per_kwh=k_ce.value if k_ce is not None else 1.0,
            calorific_kgce_per_kwh=k_cv.value if k_cv is not None else 1.0,
        )
        for m, v in verdicts.items():
            if reasons[m] is None:
                values[m] = finite(v.tco2_per_tce)
                reasons[m] = None if values[m] is not None else message("reason.energy_zero", "en")
                detail[f"tce_{m}"] = v.energy_tce
                detail[f"tco2_per_tce_{m}"] = values[m]
    chosen = profile.electricity_method
    out = [
        Indicator(
            "tco2_per_tce",
            values[chosen],
            "tCO2/tce",
            completeness,
            factors,
            reasons[chosen],
            f"{_CORE_NOTE}; the profile {profile.name} uses the "
            f"{METHOD_LABELS[chosen][1]} ({METHOD_LABELS[chosen][0]})",
            detail,
        )
    ]
    for m in methods:
        k = ks[m]
        out.append(
            Indicator(
                f"tco2_per_tce_{m}",
                values[m],
                "tCO2/tce",
                completeness,
                factors + ((k,) if k is not None and k not in factors else ()),
                reasons[m],
                f"the core indicator at the {METHOD_LABELS[m][1]} ({METHOD_LABELS[m][0]})"
                + (" — the profile's method" if m == chosen else ""),
                {"tce": detail.get(f"tce_{m}")},
            )
        )
    return out


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
        unit_reason = None if per_unit is not None else message("reason.no_units_produced", "en")
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
        kgce_reason = None if kgce is not None else message("reason.no_units_produced", "en")
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
