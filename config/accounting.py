"""The accounting profile: the choices a standard leaves open, named, per park and year.

Every energy and carbon figure smartpark computes depends on a few choices that the standards
leave to the park or its evaluator. The profile holds them in one frozen object; the registry
gives each park its default (``accounting:`` on the park), the API stores an override per year
(``PUT /api/v1/parks/{park}/accounting/{year}``), and every indicator answer, target evaluation
and report names the profile it used, so no figure is read without its method.

The choices, with where the standard leaves them open:

- ``electricity_method`` — electricity in standard coal (GB/T 2589-2020 §3): at the
  *calorific value* (当量值, 0.1229 kgce/kWh) or at the *equivalent value* (等价值, the year's
  national average coal consumption per kWh supplied, ≈ 0.30 kgce/kWh). The 910号 annex does not
  say which; the ≤ 0.2 tCO2/tce veto shifts ≈ 2.5× between them, so reports show both.
  Identifiers: ``calorific_value`` and ``coal_equivalent`` (not "equivalent_value", which in
  English texts is used for both and earlier versions of smartpark used for 当量值).
- ``grid_factor`` — which published grid CO2 factor Scope 2 (location-based) uses: the
  province's, the regional grid's or the national one, falling back in that order; or one fixed
  factor named by its key in the factor table (``fixed_grid_factor_key``).
- ``scope2_basis`` — Scope 2 on gross grid import, or on import net of export per period (the
  comprehensive energy consumption nets export, GB/T 2589-2020 §5).
- ``gas_is_clean`` — whether natural gas counts as clean energy in the clean-energy share.
- ``purchased_heat`` — whether the heat meters measure heat bought from outside the park.
- ``gas`` — the natural gas supplied: its lower heating value and the reference condition of
  the volumes its meters read, from which both its tce and its CO2 follow.
- ``boundary`` — what lies inside the accounting boundary: EV charging, public areas, losses.
- ``pv_certificates`` — whether the green certificates of on-site PV are kept (self-consumed PV
  counts as green) or sold (it then counts as grid-average, not green: the attribute went with
  the certificate; GHG Protocol Scope 2 Guidance 2015, Quality Criteria 2).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "METHOD_LABELS",
    "AccountingProfile",
    "Boundary",
    "ElectricityMethod",
    "GasReference",
    "GasSupply",
    "GridFactorRule",
    "PvCertificates",
    "Scope2Basis",
]

ElectricityMethod = Literal["calorific_value", "coal_equivalent"]
GridFactorRule = Literal["province", "region", "national", "fixed"]
Scope2Basis = Literal["gross", "net"]
PvCertificates = Literal["kept", "sold"]
GasReference = Literal["0C", "20C"]
"""The reference condition of gas volumes: ``0C`` normal cubic metres (Nm³, 0 °C, 101.325 kPa),
``20C`` cubic metres at 20 °C and 101.325 kPa (the usual condition of Chinese gas trade)."""

METHOD_LABELS: dict[ElectricityMethod, tuple[str, str]] = {
    "calorific_value": ("当量值 (GB/T 2589-2020)", "calorific value (GB/T 2589-2020)"),
    "coal_equivalent": ("等价值 (GB/T 2589-2020)", "equivalent value (GB/T 2589-2020)"),
}
"""(zh, en) names of the two electricity methods, as GB/T 2589-2020 §3 names them."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GasSupply(_Frozen):
    """The natural gas a park buys: one heating value at one reference condition.

    ``lhv_mj_per_m3`` [MJ/m³] lower heating value per cubic metre at ``reference``; the default
    35.544 MJ/m³ is GB/T 2589's gas-field natural gas (Annex A, 1.2143 kgce/m³), whose table
    does not state the reference condition (evidence U: confirm with the supplier's bill).
    ``meter_reference`` the condition of the volumes the park's gas meters report.
    """

    supplier: str = Field(default="default", min_length=1)
    lhv_mj_per_m3: float = Field(default=35.544, gt=20, lt=60, description="MJ/m³")
    reference: GasReference = "20C"
    meter_reference: GasReference = "20C"
    source: str = Field(
        default="GB/T 2589 Annex A, gas-field natural gas 35,544 kJ/m³ (reference condition "
        "not stated; evidence U)",
        min_length=1,
    )


class Boundary(_Frozen):
    """What the park's accounting boundary holds (GB/T 2589-2020 §5: the boundary is declared).

    ``ev_charging`` EV charging energy inside the boundary; ``public_areas`` the park's public
    areas and common services; ``losses`` transformer and line losses inside (counted) or
    outside (not counted) the boundary.
    """

    ev_charging: bool = True
    public_areas: bool = True
    losses: Literal["inside", "outside"] = "inside"


class AccountingProfile(_Frozen):
    """One park's accounting choices for one year; see the module docstring for each field.

    ``name`` is what answers and reports print (e.g. ``wuhan-demo/2026``); ``rationale`` says why
    the park chose its method (zh or en text, printed on reports); ``flat_price_cny_per_kwh``
    [CNY/kWh] overrides the registry tariff's flat price for cost indicators.
    """

    name: str = Field(default="default", min_length=1, max_length=120)
    electricity_method: ElectricityMethod = "calorific_value"
    rationale: str | None = Field(default=None, max_length=2000)
    grid_factor: GridFactorRule = "province"
    fixed_grid_factor_key: str | None = Field(default=None, min_length=1, max_length=64)
    scope2_basis: Scope2Basis = "gross"
    gas_is_clean: bool = False
    purchased_heat: bool = False
    gas: GasSupply = GasSupply()
    boundary: Boundary = Boundary()
    pv_certificates: PvCertificates = "kept"
    flat_price_cny_per_kwh: float | None = Field(default=None, gt=0, le=10)

    @model_validator(mode="after")
    def _fixed_needs_key(self) -> AccountingProfile:
        if (self.grid_factor == "fixed") != (self.fixed_grid_factor_key is not None):
            raise ValueError(
                "grid_factor: 'fixed' needs fixed_grid_factor_key (a key of the emission factor "
                "table), and only 'fixed' takes one"
            )
        return self
