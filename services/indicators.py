"""Park indicators for one local day, month or year: energy (tce), carbon, shares, microgrid,
battery, PV and time-of-use cost, each with its unit, completeness and the factors it used.

The inputs are the park's energy balance (:func:`services.energy.energy_balance`) over the
period; the factors come from the effective-dated tables of :mod:`config.factors`, the grid
factor of the park's province when the table has one, else of its grid region, else national.
An indicator that cannot be computed (no data, no factor, a zero denominator) is ``None`` with a
reason, never a made-up number. See docs/analytics.md, "Energy balances and indicators".
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from analytics import carbon, energy, microgrid, tariff
from analytics.calendar import Period
from analytics.energy import ElectricityMethod
from analytics.intervals import DEFAULT_INTERVAL_S
from config.factors import (
    TOU_PERIOD_ORDER,
    Factor,
    FactorNotFoundError,
    FactorTable,
    coal_equivalents,
    emission_factors,
    tou_tariffs,
)
from config.registry import ParkRegistry
from services.energy import Balance, Figure, LedgerFn, Scope, Series, combine, energy_balance
from services.ledger import device_ledger
from store.base import Store

__all__ = [
    "FactorUsed",
    "Indicator",
    "IndicatorReport",
    "LocalPeriod",
    "PeriodError",
    "Profile",
    "factor_regions",
    "local_period",
    "park_indicators",
]

# ISO 3166-2:CN province codes, as the factor tables name provinces (CN-HB = Hubei).
_PROVINCES = {
    "beijing": "BJ", "tianjin": "TJ", "hebei": "HE", "shanxi": "SX", "inner_mongolia": "NM",
    "liaoning": "LN", "jilin": "JL", "heilongjiang": "HL", "shanghai": "SH", "jiangsu": "JS",
    "zhejiang": "ZJ", "anhui": "AH", "fujian": "FJ", "jiangxi": "JX", "shandong": "SD",
    "henan": "HA", "hubei": "HB", "hunan": "HN", "guangdong": "GD", "guangxi": "GX",
    "hainan": "HI", "chongqing": "CQ", "sichuan": "SC", "guizhou": "GZ", "yunnan": "YN",
    "tibet": "XZ", "xizang": "XZ", "shaanxi": "SN", "gansu": "GS", "qinghai": "QH",
    "ningxia": "NX", "xinjiang": "XJ",
}  # fmt: skip
# The seven regional grids of the MEE/NBS factor announcements.
_GRID_REGIONS = {
    "north_china": "CN-NORTH", "northeast_china": "CN-NORTHEAST", "east_china": "CN-EAST",
    "central_china": "CN-CENTRAL", "northwest_china": "CN-NORTHWEST", "south_china": "CN-SOUTH",
    "southwest_china": "CN-SOUTHWEST",
}  # fmt: skip
_NATIONAL = "CN"
_PERIOD = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")
_KG_PER_T = 1000.0


class PeriodError(ValueError):
    """A period that is not ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, or not a real date."""


@dataclass(frozen=True, slots=True)
class LocalPeriod:
    """A local calendar year, month or day: its label, kind, first day and UTC edges [ns]."""

    label: str
    kind: Period
    first_day: date
    start_ns: int
    end_ns: int


def local_period(text: str, tz: str) -> LocalPeriod:
    """``2026`` (year), ``2026-03`` (month) or ``2026-03-14`` (day) in the zone ``tz``."""
    match = _PERIOD.fullmatch(text.strip())
    if match is None:
        raise PeriodError(f"bad period {text!r}: use YYYY, YYYY-MM or YYYY-MM-DD")
    y, m, d = (int(g) if g else None for g in match.groups())
    assert y is not None  # the pattern always captures the year
    try:
        first = date(y, m or 1, d or 1)
        if d is not None:
            kind: Period = "day"
            after = first + timedelta(days=1)
        elif m is not None:
            kind = "month"
            after = date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)
        else:
            kind = "year"
            after = date(y + 1, 1, 1)
    except ValueError as exc:
        raise PeriodError(f"bad period {text!r}: {exc}") from None
    zone = ZoneInfo(tz)

    def edge(day: date) -> int:
        return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()) * 10**9

    return LocalPeriod(
        first.isoformat()[: len(text.strip())], kind, first, edge(first), edge(after)
    )


def factor_regions(park: ParkRegistry) -> tuple[str, ...]:
    """Regions to look factors up in, most specific first: province, grid region, national."""
    out: list[str] = []
    province = (park.park.province or "").strip()
    if province:
        code = province if province.upper().startswith("CN-") else _PROVINCES.get(province.lower())
        if code:
            out.append(code if code.upper().startswith("CN-") else f"CN-{code}")
    grid = park.park.grid_region.strip()
    code = grid if grid.upper().startswith("CN-") else _GRID_REGIONS.get(grid.lower())
    if code:
        out.append(code)
    out.append(_NATIONAL)
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True, slots=True)
class Profile:
    """The park's accounting profile: the choices a standard leaves open, and the instruments.

    ``method``: electricity to tce at the equivalent value or by coal consumption (GB/T 2589);
    ``gas_is_clean``: whether natural gas counts as clean energy; ``purchased_heat``: whether the
    heat meters measure heat bought from outside the park (then it counts in tce and Scope 2);
    ``gec_count`` green certificates retired and ``green_contract_kwh`` green power settled for the
    period; ``flat_price_cny_per_kwh`` the flat energy price the TOU ratios multiply.
    """

    method: ElectricityMethod = "equivalent_value"
    gas_is_clean: bool = False
    purchased_heat: bool = False
    gec_count: float = 0.0
    green_contract_kwh: float = 0.0
    flat_price_cny_per_kwh: float | None = None


@dataclass(frozen=True, slots=True)
class FactorUsed:
    """A factor an indicator used, with where it comes from."""

    name: str
    value: float
    unit: str
    source: str
    year: int
    region: str
    evidence: str

    @staticmethod
    def of(f: Factor) -> FactorUsed:
        return FactorUsed(f.key, f.value, f.unit, f.source, f.year, f.region, f.evidence)


@dataclass(frozen=True, slots=True)
class Indicator:
    """One indicator: value (None when it cannot be computed, then ``reason`` says why)."""

    name: str
    value: float | None
    unit: str
    completeness_pct: float | None
    factors: tuple[FactorUsed, ...] = ()
    reason: str | None = None
    note: str | None = None
    detail: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IndicatorReport:
    """Every indicator of a park for one local period."""

    park: str
    period: LocalPeriod
    tz: str
    regions: tuple[str, ...]
    profile: Profile
    indicators: tuple[Indicator, ...]


_GEC = FactorUsed(
    "kwh_per_gec",
    carbon.KWH_PER_GEC,
    "kWh/GEC",
    "发改能源[2023]1044号: one green electricity certificate per 1,000 kWh",
    2023,
    _NATIONAL,
    "P",
)


def _lookup(table: FactorTable, key: str, regions: Sequence[str], on: date) -> Factor | None:
    for region in regions:
        try:
            return table.lookup(key, region, on)
        except FactorNotFoundError:
            continue
    return None


@dataclass(frozen=True, slots=True)
class _Flow:
    """A figure's total over the period; ``kwh`` None when the park meters it but no interval is
    known; ``metered`` False when the park has no such meter (then the flow is 0)."""

    kwh: float | None
    completeness: float
    metered: bool
    series: Series


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


class _Inputs:
    def __init__(self, bal: Balance) -> None:
        self.bal = bal
        self.n = bal.start_ns.size

    def flow(self, name: str) -> _Flow:
        fig: Figure | None = self.bal.figure(name)
        if fig is None or fig.absent:
            return _Flow(0.0, 100.0, False, Series.zero(self.n))
        total = fig.total()
        return _Flow(_finite(total), fig.completeness_pct(), True, fig.series)


def _min(*values: float) -> float:
    return min(values) if values else 100.0


def park_indicators(
    store: Store,
    park: ParkRegistry,
    period: str,
    profile: Profile | None = None,
    *,
    interval_s: int = DEFAULT_INTERVAL_S,
    ledger: LedgerFn = device_ledger,
) -> IndicatorReport:
    """Every indicator of ``park`` for the local ``period`` (``YYYY``, ``YYYY-MM``,
    ``YYYY-MM-DD``). Raises :class:`PeriodError` for a bad period."""
    profile = profile or Profile()
    tz = park.park.timezone
    when = local_period(period, tz)
    regions = factor_regions(park)
    bal = energy_balance(
        store,
        park,
        Scope("park"),
        start_ns=when.start_ns,
        end_ns=when.end_ns,
        interval_s=interval_s,
        ledger=ledger,
    )
    out = _compute(
        bal, park=park, when=when, regions=regions, profile=profile, tz=tz, interval_s=interval_s
    )
    return IndicatorReport(park.id, when, tz, regions, profile, tuple(out))


def _compute(  # noqa: PLR0915  one flat sequence of indicators reads best
    bal: Balance,
    *,
    park: ParkRegistry,
    when: LocalPeriod,
    regions: tuple[str, ...],
    profile: Profile,
    tz: str,
    interval_s: int,
) -> list[Indicator]:
    inp = _Inputs(bal)
    on = when.first_day
    coal, ef = coal_equivalents(), emission_factors()
    imp = inp.flow("grid_import_kwh")
    exp = inp.flow("grid_export_kwh")
    pv = inp.flow("pv_generation_kwh")
    pv_self = inp.flow("pv_self_consumption_kwh")
    charge = inp.flow("battery_charge_kwh")
    discharge = inp.flow("battery_discharge_kwh")
    gas = inp.flow("gas_m3")
    heat = inp.flow("heat_kwh")
    load = inp.flow("load_kwh")
    out: list[Indicator] = []

    def missing(*flows: tuple[str, _Flow]) -> str | None:
        absent = [name for name, f in flows if f.kwh is None]
        return f"no data from the {', '.join(absent)} meters in this period" if absent else None

    # --- comprehensive energy consumption (GB/T 2589-2020) ---------------------------------
    key_e = (
        "electricity_equivalent"
        if profile.method == "equivalent_value"
        else ("electricity_coal_consumption")
    )
    k_e = _lookup(coal, key_e, regions, on)
    k_gas = _lookup(coal, "natural_gas", regions, on)
    k_heat = _lookup(coal, "heat", regions, on)
    elec = combine([(1.0, imp.series), (-1.0, exp.series), (1.0, pv.series)], inp.n)
    elec_kwh = float(np.nansum(elec.energy)) if np.isfinite(elec.energy).any() else None
    heat_counts = profile.purchased_heat and heat.metered
    tce_inputs = [("grid import", imp), ("PV", pv), ("gas", gas)]
    if heat_counts:
        tce_inputs.append(("heat", heat))
    tce_completeness = _min(*(f.completeness for _, f in tce_inputs))
    tce: float | None = None
    tce_by: dict[str, float] = {}
    why = missing(*tce_inputs) or (
        None if elec_kwh is not None else "no interval with all electricity meters known"
    )
    if why is None:
        if k_e is None or (gas.metered and k_gas is None) or (heat_counts and k_heat is None):
            why = f"no standard-coal coefficient for {on} in {regions}"
        else:
            assert elec_kwh is not None
            tce_by["electricity"] = float(energy.tce_from_quantity(elec_kwh, k_e.value))
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
    out.append(
        Indicator(
            "comprehensive_energy_tce",
            tce,
            "tce",
            tce_completeness,
            factors_tce,
            why,
            f"electricity = import − export + PV at the {profile.method.replace('_', ' ')}; "
            + ("purchased heat included" if heat_counts else "heat meters not counted (internal)"),
            {**tce_by, "electricity_kwh": elec_kwh},
        )
    )

    # --- carbon ----------------------------------------------------------------------------
    ef_gas = _lookup(ef, "natural_gas_combustion", regions, on)
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
            None if gas.metered else "the park has no fuel meters: no metered Scope 1",
        )
    )

    ef_grid = _lookup(ef, "grid_average", regions, on)
    ef_resid = _lookup(ef, "grid_excl_market_nonfossil", regions, on)
    ef_heat = _lookup(ef, "purchased_heat", regions, on)
    heat_tco2 = 0.0
    heat_factors: tuple[FactorUsed, ...] = ()
    why_heat = missing(("heat", heat)) if heat_counts else None
    if heat_counts and why_heat is None:
        if ef_heat is None:
            why_heat = f"no purchased-heat factor for {on}"
        else:
            heat_tco2 = float(carbon.heat_tco2(heat.kwh or 0.0, ef_heat.value))
            heat_factors = (FactorUsed.of(ef_heat),)
    s2_completeness = _min(imp.completeness, *((heat.completeness,) if heat_counts else ()))
    s2_loc: float | None = None
    why2 = missing(("grid import", imp)) or why_heat
    if why2 is None:
        if ef_grid is None:
            why2 = f"no grid emission factor for {on} in {regions}"
        else:
            s2_loc = float(carbon.scope2_location_tco2(imp.kwh or 0.0, ef_grid.value)) + heat_tco2
    loc_factors = ((FactorUsed.of(ef_grid),) if ef_grid else ()) + heat_factors
    out.append(
        Indicator(
            "scope2_location_tco2",
            s2_loc,
            "tCO2",
            s2_completeness,
            loc_factors,
            why2,
            "grid import × the average grid factor of the most specific region published",
            {"purchased_heat_tco2": heat_tco2} if heat_counts else {},
        )
    )
    market: carbon.MarketBasedScope2 | None = None
    why_m = missing(("grid import", imp)) or why_heat
    if why_m is None:
        if ef_resid is None:
            why_m = f"no residual-mix (excl. market-traded non-fossil) factor for {on}"
        else:
            market = carbon.scope2_market_based(
                imp.kwh or 0.0,
                residual_ef_kgco2_per_kwh=ef_resid.value,
                gec_count=profile.gec_count,
                green_contract_kwh=profile.green_contract_kwh,
            )
    s2_mkt = market.tco2 + heat_tco2 if market is not None else None
    mkt_factors = ((FactorUsed.of(ef_resid), _GEC) if ef_resid else ()) + heat_factors
    out.append(
        Indicator(
            "scope2_market_tco2",
            s2_mkt,
            "tCO2",
            s2_completeness,
            mkt_factors,
            why_m,
            "(import − certified green kWh) × residual-mix proxy (GHG Protocol Scope 2)",
            {
                "green_kwh": market.green_kwh,
                "residual_kwh": market.residual_kwh,
                "surplus_green_kwh": market.surplus_green_kwh,
            }
            if market is not None
            else {},
        )
    )
    carbon_completeness = _min(tce_completeness, gas.completeness, s2_completeness)
    for name, s2, s2_factors in (
        ("tco2_per_tce", s2_loc, loc_factors),
        ("tco2_per_tce_market", s2_mkt, mkt_factors),
    ):
        value: float | None = None
        reason = why or why1 or (why2 if name == "tco2_per_tce" else why_m)
        if reason is None and tce is not None and scope1 is not None and s2 is not None:
            value = _finite(carbon.tco2_per_tce(scope1 + s2, tce))
            reason = None if value is not None else "comprehensive energy is 0"
        out.append(
            Indicator(
                name,
                value,
                "tCO2/tce",
                carbon_completeness,
                factors_tce + s1_factors + s2_factors,
                reason,
                "zero-carbon park core indicator: ≤ 0.2 (0.2–1 Mtce/yr parks), ≤ 0.3 (≥ 1 Mtce/yr)"
                " — 发改环资[2025]910号",
            )
        )

    # --- clean and renewable shares ----------------------------------------------------------
    green_kwh = market.green_kwh if market is not None else None
    re_kwh = (
        min((pv_self.kwh or 0.0) + green_kwh, elec_kwh)
        if green_kwh is not None and elec_kwh is not None and pv_self.kwh is not None
        else None
    )
    share_reason = why or why_m or missing(("PV", pv_self))
    clean_share = re_share = re_elec_share = None
    if share_reason is None and tce is not None and re_kwh is not None and k_e is not None:
        re_tce = float(energy.tce_from_quantity(re_kwh, k_e.value))
        by_carrier = {
            "renewable_electricity": re_tce,
            "other_electricity": tce_by["electricity"] - re_tce,
            "natural_gas": tce_by["natural_gas"],
            "heat": tce_by.get("heat", 0.0),
        }
        clean = {"renewable_electricity"} | ({"natural_gas"} if profile.gas_is_clean else set())
        clean_share = _finite(carbon.clean_energy_share(by_carrier, clean))
        re_share = _finite(carbon.clean_energy_share(by_carrier, {"renewable_electricity"}))
        re_elec_share = _finite(
            carbon.renewable_electricity_share(
                total_electricity_kwh=elec_kwh or 0.0,
                pv_self_consumed_kwh=pv_self.kwh or 0.0,
                green_contract_kwh=green_kwh or 0.0,
            )
        )
    share_factors = factors_tce + ((_GEC,) if profile.gec_count else ())
    zero = "no energy consumed"
    for name, value, note in (
        (
            "clean_energy_share",
            clean_share,
            "tce basis; clean = on-site PV used + certified green power"
            + (" + natural gas" if profile.gas_is_clean else " (natural gas not counted as clean)"),
        ),
        ("renewable_share", re_share, "tce basis: (PV self-consumed + certified green) / total"),
        (
            "renewable_electricity_share",
            re_elec_share,
            "(PV self-consumed + certified green kWh) / (import − export + PV)",
        ),
    ):
        out.append(
            Indicator(
                name,
                value,
                "fraction",
                carbon_completeness,
                share_factors,
                share_reason or (None if value is not None else zero),
                note,
            )
        )

    # --- microgrid ------------------------------------------------------------------------------
    def ratio(
        name: str,
        *,
        num: float | None,
        den_name: str,
        compute: float,
        completeness: float,
        note: str,
    ) -> Indicator:
        value = _finite(compute) if num is not None else None
        reason = None
        if num is None:
            reason = "no data for its inputs in this period"
        elif value is None:
            reason = f"{den_name} is 0"
        return Indicator(name, value, "fraction", completeness, (), reason, note)

    pv_ok = pv.kwh is not None and exp.kwh is not None
    load_ok = load.kwh is not None and pv_self.kwh is not None
    if not pv.metered:
        out.append(Indicator("pv_self_consumption_rate", None, "fraction", None, (), "no PV"))
    else:
        out.append(
            ratio(
                "pv_self_consumption_rate",
                num=pv.kwh if pv_ok else None,
                den_name="PV generation",
                compute=microgrid.self_consumption_rate(pv.kwh or 0.0, exp.kwh or 0.0)
                if pv_ok
                else 0.0,
                completeness=_min(pv.completeness, exp.completeness),
                note="(PV − export) / PV",
            )
        )
    out.append(
        ratio(
            "self_sufficiency_rate",
            num=load.kwh if load_ok else None,
            den_name="load",
            compute=microgrid.self_sufficiency_rate(pv_self.kwh or 0.0, load.kwh or 0.0)
            if load_ok
            else 0.0,
            completeness=_min(load.completeness, pv_self.completeness),
            note="PV self-consumed / load",
        )
    )
    out.append(
        ratio(
            "renewable_penetration",
            num=load.kwh if load_ok and green_kwh is not None else None,
            den_name="load",
            compute=microgrid.renewable_penetration(
                (pv_self.kwh or 0.0) + (green_kwh or 0.0), load.kwh or 0.0
            )
            if load_ok
            else 0.0,
            completeness=_min(load.completeness, pv_self.completeness),
            note="(PV self-consumed + certified green kWh) / load",
        )
    )
    known_imp = np.isfinite(imp.series.energy).any()
    out.append(
        Indicator(
            "peak_demand_kw",
            _finite(microgrid.peak_demand_kw(imp.series.energy, interval_s)) if known_imp else None,
            "kW",
            imp.completeness,
            (),
            None if known_imp else "no grid import data in this period",
            f"highest {interval_s // 60}-minute average grid import",
        )
    )
    lf = _finite(microgrid.load_factor(imp.series.energy)) if known_imp else None
    out.append(
        Indicator(
            "load_factor",
            lf,
            "fraction",
            imp.completeness,
            (),
            None if lf is not None else "no grid import data (or none above 0) in this period",
            "mean / peak interval grid import",
        )
    )

    # --- battery and PV ---------------------------------------------------------------------
    storage = [d for d in park.devices if d.role.value == "storage"]
    usable = sum(d.capacity_kwh or 0.0 for d in storage)
    bat_completeness = _min(charge.completeness, discharge.completeness)
    if not storage:
        out.append(
            Indicator("battery_equivalent_full_cycles", None, "cycles", None, (), "no battery")
        )
        out.append(
            Indicator("battery_round_trip_efficiency", None, "fraction", None, (), "no battery")
        )
    else:
        efc = microgrid.equivalent_full_cycles(discharge.kwh or 0.0, usable)
        out.append(
            Indicator(
                "battery_equivalent_full_cycles",
                _finite(efc) if discharge.kwh is not None else None,
                "cycles",
                discharge.completeness,
                (),
                "no discharge data in this period"
                if discharge.kwh is None
                else (
                    None
                    if math.isfinite(efc)
                    else "no usable capacity (capacity_kwh) in the registry"
                ),
                "Σ discharge / Σ usable capacity (capacity_kwh)",
                {"usable_capacity_kwh": usable},
            )
        )
        both = charge.kwh is not None and discharge.kwh is not None
        rte = microgrid.round_trip_efficiency(charge.kwh or 0.0, discharge.kwh or 0.0)
        out.append(
            Indicator(
                "battery_round_trip_efficiency",
                _finite(rte) if both else None,
                "fraction",
                bat_completeness,
                (),
                "no charge/discharge data in this period"
                if not both
                else (None if math.isfinite(rte) else "no charge in this period"),
                "Σ discharge / Σ charge at the AC meters; not corrected for the change of SoC",
            )
        )
    pv_devices = [d for d in park.devices if d.role.value == "pv"]
    rated_kw = sum(d.capacity_kw or 0.0 for d in pv_devices)
    if not pv_devices:
        out.append(Indicator("pv_specific_yield_kwh_per_kw", None, "kWh/kW", None, (), "no PV"))
    else:
        yf = microgrid.specific_yield_kwh_per_kwp(pv.kwh or 0.0, rated_kw)
        out.append(
            Indicator(
                "pv_specific_yield_kwh_per_kw",
                _finite(yf) if pv.kwh is not None else None,
                "kWh/kW",
                pv.completeness,
                (),
                "no PV data in this period"
                if pv.kwh is None
                else (None if math.isfinite(yf) else "no PV capacity_kw in the registry"),
                "PV generation / Σ rated capacity_kw (IEC 61724-1 final yield, on the rated AC "
                "power where the DC nameplate is not registered)",
                {"rated_kw": rated_kw},
            )
        )

    # --- time-of-use cost of grid import ------------------------------------------------------
    out.append(_tou(bal, imp, regions=regions, on=on, tz=tz, profile=profile))
    return out


def _tou(
    bal: Balance, imp: _Flow, *, regions: Sequence[str], on: date, tz: str, profile: Profile
) -> Indicator:
    schedule = None
    for region in regions:
        try:
            schedule = tou_tariffs().lookup(region, on)
            break
        except FactorNotFoundError:
            continue
    if schedule is None:
        return Indicator(
            "tou_energy_cost_cny", None, "CNY", None, (), f"no TOU schedule for {on} in {regions}"
        )
    used = FactorUsed(
        schedule.name, 1.0, "ratio to the flat price", schedule.source, schedule.year,
        schedule.region, schedule.evidence,
    )  # fmt: skip
    if imp.kwh is None:
        return Indicator(
            "tou_energy_cost_cny", None, "CNY", imp.completeness, (used,), "no grid import data"
        )
    ratios = np.asarray(schedule.ratio_by_month_period(), dtype=np.float64)
    cost = tariff.tou_cost(
        bal.start_ns,
        imp.series.energy,
        period_by_month_hour=np.asarray(schedule.period_by_month_hour()),
        price_cny_per_kwh=tariff.prices_from_ratios(1.0, ratios),
        tz=tz,
    )
    weighted = cost.total_cny()  # at a flat price of 1: kWh weighted by the period ratios
    detail: dict[str, float | None] = {
        f"{p}_kwh": float(e)
        for p, e in zip(TOU_PERIOD_ORDER, cost.energy_kwh_by_period, strict=True)
    }
    detail["ratio_weighted_kwh"] = weighted
    price = profile.flat_price_cny_per_kwh
    return Indicator(
        "tou_energy_cost_cny",
        weighted * price if price is not None else None,
        "CNY",
        imp.completeness,
        (used,),
        None
        if price is not None
        else "no flat energy price configured: pass flat_price_cny_per_kwh "
        "(cost = flat price × ratio_weighted_kwh)",
        "grid import priced by local month and hour; energy charge only (no demand charge)",
        detail,
    )
