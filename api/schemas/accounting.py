"""The accounting profile: what ``/accounting/{year}`` takes and answers, and the profile every
indicator, target and energy answer names (``AccountingProfileOut``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from api.schemas._base import _example, _Out
from config.accounting import (
    METHOD_LABELS,
    AccountingProfile,
    Boundary,
    ElectricityMethod,
    GridFactorRule,
    PvCertificates,
    Scope2Basis,
)

__all__ = [
    "AccountingIn",
    "AccountingOut",
    "AccountingProfileOut",
    "MethodLabelOut",
    "profile_out",
]

Source = Literal["stored", "registry", "default"]

_PROFILE: dict[str, Any] = {
    "name": "wuhan-demo/2025",
    "electricity_method": "calorific_value",
    "rationale": "当量值, as the park's energy statistics; the 910 annex does not settle it.",
    "grid_factor": "province",
    "fixed_grid_factor_key": None,
    "scope2_basis": "gross",
    "gas_is_clean": False,
    "purchased_heat": False,
    "gas": {
        "supplier": "default",
        "lhv_mj_per_m3": 35.544,
        "reference": "20C",
        "meter_reference": "20C",
        "source": "GB/T 2589 Annex A, gas-field natural gas 35,544 kJ/m³",
    },
    "boundary": {"ev_charging": True, "public_areas": True, "losses": "inside"},
    "pv_certificates": "kept",
    "flat_price_cny_per_kwh": None,
}

_LABEL = {"zh": "当量值 (GB/T 2589-2020)", "en": "calorific value (GB/T 2589-2020)"}


class MethodLabelOut(_Out):
    """An electricity method named as GB/T 2589-2020 names it, in Chinese and English."""

    zh: str = Field(examples=["当量值 (GB/T 2589-2020)"])
    en: str = Field(examples=["calorific value (GB/T 2589-2020)"])


def _label(method: ElectricityMethod) -> MethodLabelOut:
    zh, en = METHOD_LABELS[method]
    return MethodLabelOut(zh=zh, en=en)


class AccountingProfileOut(_Out):
    """The accounting profile an answer was computed with (``GET /accounting/{year}`` has all
    of it). ``name`` ends in ``(method overridden: …)`` when the request's ``method=`` replaced
    the profile's electricity method for this answer."""

    name: str = Field(examples=["wuhan-demo/default"])
    electricity_method: ElectricityMethod
    method_label: MethodLabelOut
    method_overridden: bool = Field(description="The request's `method=` replaced the profile's.")
    source: Source = Field(
        description="`stored` (the year's profile, PUT /accounting/{year}), `registry` (the "
        "park's default) or `default` (neither)."
    )
    year: int = Field(description="The calendar year whose profile applies.")
    grid_factor: GridFactorRule
    fixed_grid_factor_key: str | None
    scope2_basis: Scope2Basis
    gas_is_clean: bool
    purchased_heat: bool
    pv_certificates: PvCertificates
    boundary: Boundary
    flat_price_cny_per_kwh: float | None = Field(
        description="The profile's flat price [CNY/kWh]; null = the park tariff's (see factors)."
    )


PROFILE_OUT_EXAMPLE: dict[str, Any] = {
    "name": "wuhan-demo/default",
    "electricity_method": "calorific_value",
    "method_label": _LABEL,
    "method_overridden": False,
    "source": "registry",
    "year": 2025,
    "grid_factor": "province",
    "fixed_grid_factor_key": None,
    "scope2_basis": "gross",
    "gas_is_clean": False,
    "purchased_heat": False,
    "pv_certificates": "kept",
    "boundary": {"ev_charging": True, "public_areas": True, "losses": "inside"},
    "flat_price_cny_per_kwh": None,
}
"""An :class:`AccountingProfileOut`, for the examples of the answers that carry one."""


def profile_out(
    profile: AccountingProfile, *, source: Source, year: int, overridden: bool
) -> AccountingProfileOut:
    """The answer's ``profile`` from the profile used, where it came from and its year."""
    return AccountingProfileOut(
        name=profile.name,
        electricity_method=profile.electricity_method,
        method_label=_label(profile.electricity_method),
        method_overridden=overridden,
        source=source,
        year=year,
        grid_factor=profile.grid_factor,
        fixed_grid_factor_key=profile.fixed_grid_factor_key,
        scope2_basis=profile.scope2_basis,
        gas_is_clean=profile.gas_is_clean,
        purchased_heat=profile.purchased_heat,
        pv_certificates=profile.pv_certificates,
        boundary=profile.boundary,
        flat_price_cny_per_kwh=profile.flat_price_cny_per_kwh,
    )


class AccountingIn(AccountingProfile):
    """A park's accounting profile for one year; every field may be left out (its default).
    Without a ``name`` the profile is named ``<park>/<year>``."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", json_schema_extra={"examples": [_PROFILE]}
    )


class AccountingOut(_Out):
    """The accounting profile in force for a park and year, and where it comes from."""

    model_config = _example(
        {
            "park": "wuhan-demo",
            "year": 2025,
            "source": "stored",
            "method_label": _LABEL,
            "profile": _PROFILE,
        }
    )

    park: str
    year: int
    source: Source = Field(
        description="`stored` (PUT for this year), `registry` (the park's default in the "
        "registry) or `default` (neither: the defaults below)."
    )
    method_label: MethodLabelOut
    profile: AccountingProfile

    @staticmethod
    def of(park: str, year: int, profile: AccountingProfile, source: Source) -> AccountingOut:
        """The answer for ``profile`` of ``park`` and ``year``."""
        return AccountingOut(
            park=park,
            year=year,
            source=source,
            method_label=_label(profile.electricity_method),
            profile=profile,
        )
