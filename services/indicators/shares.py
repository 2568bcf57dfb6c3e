"""Clean-energy and renewable shares of the energy a scope consumes (tce basis) and the
renewable share of its electricity: on-site PV used plus certified green electricity."""

from __future__ import annotations

from analytics import carbon, energy
from config.accounting import AccountingProfile
from config.messages import message
from services.indicators.basis import Basis
from services.indicators.energy_carbon import Carbon, Energy
from services.indicators.model import Indicator, finite, missing

__all__ = ["shares"]


def shares(basis: Basis, en: Energy, co2: Carbon, *, profile: AccountingProfile) -> list[Indicator]:
    """``clean_energy_share``, ``renewable_share`` and ``renewable_electricity_share``
    [fraction]: on-site PV used (only while the park keeps its certificates) plus the certified
    green kWh matched to this scope and period."""
    green_kwh, elec_kwh = co2.green_kwh, basis.elec.kwh
    pv_kept = profile.pv_certificates == "kept"
    pv_self = basis.pv_self
    pv_kwh = (pv_self.kwh or 0.0) if pv_kept else 0.0
    re_kwh = (
        min(pv_kwh + green_kwh, elec_kwh)
        if green_kwh is not None and elec_kwh is not None and pv_self.kwh is not None
        else None
    )
    share_reason = en.why or co2.why_m or missing(("PV", pv_self))
    clean_share = re_share = re_elec_share = None
    k_e = en.kgce_per_kwh
    if share_reason is None and en.tce is not None and re_kwh is not None and k_e is not None:
        re_tce = float(energy.tce_from_quantity(re_kwh, k_e))
        by_carrier = {
            "renewable_electricity": re_tce,
            "other_electricity": en.by["electricity"] - re_tce,
            "natural_gas": en.by["natural_gas"],
            "heat": en.by.get("heat", 0.0),
        }
        clean = {"renewable_electricity"} | ({"natural_gas"} if profile.gas_is_clean else set())
        clean_share = finite(carbon.clean_energy_share(by_carrier, clean))
        re_share = finite(carbon.clean_energy_share(by_carrier, {"renewable_electricity"}))
        re_elec_share = finite(
            carbon.renewable_electricity_share(
                total_electricity_kwh=elec_kwh or 0.0,
                pv_self_consumed_kwh=pv_kwh,
                green_contract_kwh=green_kwh or 0.0,
            )
        )
    share_factors = en.factors
    zero = message("reason.no_energy_consumed", "en")
    pv_words = (
        ("on-site PV used" if basis.scope.kind == "park" else "its share of on-site PV")
        if pv_kept
        else "no on-site PV (its certificates were sold)"
    )
    out: list[Indicator] = []
    for name, value, note in (
        (
            "clean_energy_share",
            clean_share,
            f"tce basis; clean = {pv_words} + certified green power"
            + (" + natural gas" if profile.gas_is_clean else " (natural gas not counted as clean)"),
        ),
        ("renewable_share", re_share, f"tce basis: ({pv_words} + certified green) / total"),
        (
            "renewable_electricity_share",
            re_elec_share,
            f"({pv_words} + certified green kWh matched to this scope and month) / electricity",
        ),
    ):
        out.append(
            Indicator(
                name,
                value,
                "fraction",
                co2.completeness,
                share_factors,
                share_reason or (None if value is not None else zero),
                note,
            )
        )
    return out
