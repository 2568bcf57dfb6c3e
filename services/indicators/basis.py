"""The flows the indicator formulas take, for the park or a building, floor or tenant of it:
electricity consumed, grid-supplied electricity, on-site PV used, what the tariff bills, gas,
heat, units of product and floor area, from the scope's energy balance."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analytics import carbon
from analytics.calendar import LocalPeriod
from config.accounting import AccountingProfile
from config.messages import message
from config.registry import ParkRegistry
from services.energy import Balance, LedgerFn, Scope, Series, combine, energy_balance
from services.indicators.model import Flow, Inputs, finite, flow_of, min_of
from store.base import Store

__all__ = ["Basis", "park_basis", "purchased", "scope_basis", "supply_balance"]


@dataclass(frozen=True, slots=True)
class Basis:
    """The flows the indicator formulas take, for the park or a part of it.

    ``elec`` electricity consumed [kWh] (the tce basis); ``grid`` grid-supplied electricity [kWh]
    (Scope 2); ``pv_self`` on-site PV consumed [kWh]; ``billed`` the electricity the tariff prices
    [kWh per interval]; ``gas`` [m3]; ``heat`` [kWh]; ``production`` units of product (None with
    ``production_why`` when none can be used); ``area_m2`` floor area [m²] (None with
    ``area_why``); ``detail`` the allocation figures, shown with Scope 2.
    """

    scope: Scope
    elec: Flow
    grid: Flow
    pv_self: Flow
    billed: Flow
    gas: Flow
    heat: Flow
    elec_note: str
    grid_note: str
    production: Flow | None
    production_why: str | None
    area_m2: float | None
    area_why: str | None
    detail: dict[str, float | None] = field(default_factory=dict)


def _production(bal: Balance) -> tuple[Flow | None, str | None]:
    """Units of product of the scope: one tenant's counters only (units never add up across
    tenants, whose products differ)."""
    figs = [f for f in bal.figures if f.name.startswith("production_")]
    if not figs:
        return None, message("reason.no_production_counter", "en", scope=bal.scope)
    if len(figs) > 1:
        return None, message("reason.mixed_products", "en", scope=bal.scope, n=len(figs))
    (fig,) = figs
    total = finite(fig.total())
    if total is None:
        return None, message("reason.no_production_data", "en")
    return Flow(total, fig.completeness_pct(), True, fig.series), None


def _floor_area(park: ParkRegistry, scope: Scope) -> tuple[float | None, str | None]:
    """Floor area [m²] of the scope: its floors' ``area_m2`` (a tenant: the floors it rents)."""
    floors = [
        (b.id, f)
        for b in park.buildings
        for f in b.floors
        if scope.kind == "park"
        or (scope.kind == "building" and b.id == scope.id)
        or (scope.kind == "floor" and b.id == scope.id and f.number == scope.floor)
        or (scope.kind == "tenant" and f.tenant == scope.id)
    ]
    if not floors:
        return None, message("reason.no_floor", "en", scope=scope)
    unknown = [f"{b}/{f.number}" for b, f in floors if f.area_m2 is None]
    if unknown:
        return None, message("reason.no_floor_area", "en", floors=", ".join(unknown))
    return sum(f.area_m2 or 0.0 for _, f in floors), None


def purchased(imp: Flow, exp: Flow, n: int, profile: AccountingProfile) -> tuple[Flow, str]:
    """Purchased electricity on the profile's Scope 2 basis [kWh per interval]: the import
    (``gross``) or max(import − export, 0) per interval (``net``)."""
    if profile.scope2_basis == "gross" or not exp.metered:
        return imp, "grid import"
    both = combine([(1.0, imp.series), (0.0, exp.series)], n)  # missing where either is
    net = carbon.purchased_electricity_kwh(imp.series.energy, exp.series.energy, basis="net")
    series = Series(np.where(np.isnan(both.energy), np.nan, net), both.quality)
    return flow_of(series, message("reason.no_net_interval", "en")), (
        "max(grid import − export, 0) per interval"
    )


def _ev(inp: Inputs, profile: AccountingProfile) -> Flow | None:
    """The scope's EV charging [kWh] when the profile puts it outside the boundary, else None."""
    if profile.boundary.ev_charging:
        return None
    ev = inp.flow("ev_charging_kwh")
    return ev if ev.metered else None


def _boundary_detail(profile: AccountingProfile, ev: Flow | None) -> dict[str, float | None]:
    b = profile.boundary
    return {
        "boundary_ev_charging_inside": float(b.ev_charging),
        "ev_charging_excluded_kwh": ev.kwh if ev is not None else 0.0,
        # the registry does not mark which meters serve public areas: they stay inside
        "boundary_public_areas_inside": 1.0,
        "boundary_public_areas_supported": 0.0,
    }


def _scaled(flow: Flow, fraction: float | None, why: str) -> Flow:
    if flow.kwh is None:
        return flow
    if fraction is None:
        return Flow(None, flow.completeness, True, flow.series, why)
    series = Series(flow.series.energy * fraction, flow.series.quality)
    return Flow(flow.kwh * fraction, flow.completeness, True, series)


def park_basis(bal: Balance, park: ParkRegistry, profile: AccountingProfile) -> Basis:
    """The park: electricity = import − export + PV (− EV charging outside the boundary);
    purchased electricity on the profile's basis (less EV charging's pro-rata share)."""
    inp = Inputs(bal)
    imp, exp, pv = (
        inp.flow("grid_import_kwh"),
        inp.flow("grid_export_kwh"),
        inp.flow("pv_generation_kwh"),
    )
    ev = _ev(inp, profile)
    terms = [(1.0, imp.series), (-1.0, exp.series), (1.0, pv.series)]
    if ev is not None:
        terms.append((-1.0, ev.series))
    elec = flow_of(
        combine(terms, inp.n),
        message("reason.no_park_elec_interval", "en"),
    )
    grid, grid_words = purchased(imp, exp, inp.n, profile)
    pv_self = inp.flow("pv_self_consumption_kwh")
    if ev is not None:
        load = inp.flow("load_kwh")
        keep = (
            1.0 - ev.kwh / load.kwh
            if ev.kwh is not None and load.kwh is not None and load.kwh > 0
            else None
        )
        why = message("reason.no_ev_split", "en")
        grid, pv_self = _scaled(grid, keep, why), _scaled(pv_self, keep, why)
    production, production_why = _production(bal)
    area, area_why = _floor_area(park, bal.scope)
    return Basis(
        bal.scope,
        elec=elec,
        grid=grid,
        pv_self=pv_self,
        billed=imp,
        gas=inp.flow("gas_m3"),
        heat=inp.flow("heat_kwh"),
        elec_note="electricity = import − export + PV"
        + (" − EV charging (outside the boundary)" if ev is not None else ""),
        grid_note=f"purchased electricity = {grid_words}"
        + (", less EV charging's pro-rata share" if ev is not None else "")
        + " × the grid factor of the profile's rule",
        production=production,
        production_why=production_why,
        area_m2=area,
        area_why=area_why,
        detail=_boundary_detail(profile, ev),
    )


def scope_basis(
    bal: Balance, supply: Balance, park: ParkRegistry, profile: AccountingProfile
) -> Basis:
    """A building, floor or tenant: its metered consumption (less EV charging outside the
    boundary), and its pro-rata share of the park's purchased electricity (on the profile's
    basis) and on-site PV (the park's supply over the period, ``supply``)."""
    inp, sup = Inputs(bal), Inputs(supply)
    metered = inp.flow("electricity_kwh")
    ev = _ev(inp, profile)
    if metered.metered and ev is not None:
        metered = flow_of(
            combine([(1.0, metered.series), (-1.0, ev.series)], inp.n),
            message("reason.no_scope_elec_interval", "en", scope=bal.scope),
        )
    elec = (
        metered
        if metered.metered
        else Flow(
            None,
            0.0,
            True,
            Series.missing(inp.n),
            f"no electricity consumption meter in {bal.scope}",
        )
    )
    imp, exp = sup.flow("grid_import_kwh"), sup.flow("grid_export_kwh")
    bought, _ = purchased(imp, exp, sup.n, profile)
    load, pv = sup.flow("load_kwh"), sup.flow("pv_self_consumption_kwh")
    share = pv_share = None
    if bought.kwh is not None and load.kwh is not None and pv.kwh is not None and load.kwh > 0:
        share, pv_share = bought.kwh / load.kwh, pv.kwh / load.kwh
    sup_completeness = min_of(bought.completeness, load.completeness, pv.completeness)

    def allocated(fraction: float | None) -> Flow:
        completeness = min_of(elec.completeness, sup_completeness)
        if elec.kwh is None:
            return Flow(None, completeness, True, elec.series, elec.why)
        if fraction is None:
            why = message("reason.no_supply_split", "en")
            return Flow(None, completeness, True, elec.series, why)
        series = Series(elec.series.energy * fraction, elec.series.quality)
        return Flow(elec.kwh * fraction, completeness, True, series)

    production, production_why = _production(bal)
    area, area_why = _floor_area(park, bal.scope)
    return Basis(
        bal.scope,
        elec=elec,
        grid=allocated(share),
        pv_self=allocated(pv_share),
        billed=elec,
        gas=inp.flow("gas_m3"),
        heat=inp.flow("heat_kwh"),
        elec_note="electricity = the scope's highest consumption meters"
        + (" − EV charging (outside the boundary)" if ev is not None else ""),
        grid_note=(
            "the scope's electricity × park purchased electricity / park load (its pro-rata "
            "share of the park's grid power; on-site PV and battery are park assets) × the grid "
            "factor of the profile's rule"
        ),
        production=production,
        production_why=production_why,
        area_m2=area,
        area_why=area_why,
        detail={
            "park_grid_share": share,
            "park_pv_share": pv_share,
            "park_grid_import_kwh": imp.kwh,
            "park_purchased_kwh": bought.kwh,
            "park_load_kwh": load.kwh,
            **_boundary_detail(profile, ev),
        },
    )


_SUPPLY_ROLES = frozenset({"grid_connection", "pv", "storage"})


def supply_balance(
    store: Store,
    park: ParkRegistry,
    when: LocalPeriod,
    *,
    interval_s: int,
    ledger: LedgerFn,
) -> Balance:
    """The park balance of the supply meters only (grid, PV, battery): the park's import, PV
    self-consumption and load, without reading every consumption meter of the park."""
    supply = ParkRegistry.model_construct(
        park=park.park,
        tenants=park.tenants,
        buildings=park.buildings,
        devices=tuple(d for d in park.devices if d.role.value in _SUPPLY_ROLES),
    )
    return energy_balance(
        store,
        supply,
        Scope("park"),
        start_ns=when.start_ns,
        end_ns=when.end_ns,
        interval_s=interval_s,
        ledger=ledger,
    )
