"""The accounting profile of a park and year: ``GET``/``PUT``/``DELETE
/api/v1/parks/{park}/accounting/{year}`` — the choices the standards leave open (electricity
method 当量值 / 等价值, grid factor, Scope 2 basis, boundary, PV certificates …) that every
indicator, target, report and the dashboard of that year then use and name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from api.deps import ParkDep, StoreDep, require_roles
from api.schemas import AccountingIn, AccountingOut, AccountingProfileOut, ErrorOut, profile_out
from config.accounting import AccountingProfile
from config.auth import PrincipalRole
from config.registry import ParkRegistry
from services.accounting import (
    AccountingProfileError,
    delete_profile,
    electricity_method,
    profile_source,
    put_profile,
    with_method,
)
from store.base import Store

__all__ = ["MethodQuery", "refuse_retired_parameters", "router", "used_profile"]

router = APIRouter(prefix="/api/v1/parks", tags=["accounting"])

YearPath = Annotated[int, Path(ge=2000, le=2100, description="Calendar year, park local time.")]

_WRITERS = [Depends(require_roles(PrincipalRole.CITY, PrincipalRole.OPERATOR))]

MethodQuery = Annotated[
    str | None,
    Query(
        max_length=32,
        description="Override the profile's electricity method for this answer only: "
        "`calorific_value` (当量值, 0.1229 kgce/kWh) or `coal_equivalent` (等价值, the year's "
        "coal consumption per kWh supplied). Default: the accounting profile of the period's "
        "year (`GET /accounting/{year}`). The names of earlier versions, `equivalent_value` and "
        "`coal_consumption`, answer 422 with the new name to use.",
        examples=["coal_equivalent"],
    ),
]

_PROFILE_FIELD = "set it in the accounting profile: PUT /api/v1/parks/{park}/accounting/{year}"
_INSTRUMENTS = (
    "green instruments come from the park's instrument ledger (/api/v1/parks/{park}/instruments)"
)
_RETIRED = {
    "gec_count": _INSTRUMENTS,
    "green_contract_kwh": _INSTRUMENTS,
    "gas_is_clean": _PROFILE_FIELD,
    "purchased_heat": _PROFILE_FIELD,
    "flat_price_cny_per_kwh": _PROFILE_FIELD,
}


def refuse_retired_parameters(request: Request) -> None:
    """A dependency answering 422 for the query parameters the accounting profile replaced,
    instead of ignoring them silently."""
    for name, instead in _RETIRED.items():
        if name in request.query_params:
            raise AccountingProfileError(f"{name}: this query parameter is retired; {instead}")


def used_profile(
    store: Store, park: ParkRegistry, year: int, method: str | None
) -> tuple[AccountingProfile, AccountingProfileOut]:
    """The profile an answer about ``year`` uses (the method of the request's ``method=``,
    when given) and how the answer names it. Raises AccountingProfileError (422) for a method
    that is not ``calorific_value`` or ``coal_equivalent``."""
    base, source = profile_source(store, park, year)
    chosen = with_method(base, None if method is None else electricity_method(method))
    return chosen, profile_out(chosen, source=source, year=year, overridden=chosen is not base)


@router.get(
    "/{park}/accounting/{year}",
    summary="Accounting profile of a park and year",
    responses={404: {"description": "Unknown park"}, 422: {"description": "Bad year"}},
)
def get_accounting(park: ParkDep, store: StoreDep, year: YearPath) -> AccountingOut:
    """The profile in force for the year: the stored one (`source: stored`), else the park's
    default in the registry (`registry`), else the defaults (`default`)."""
    profile, source = profile_source(store, park, year)
    return AccountingOut.of(park.id, year, profile, source)


@router.put(
    "/{park}/accounting/{year}",
    summary="Set the accounting profile of a park and year",
    responses={
        400: {"model": ErrorOut, "description": "The body is not valid JSON"},
        404: {"description": "Unknown park"},
        413: {
            "model": ErrorOut,
            "description": "`payload_too_large`: the body is over `SMARTPARK_MAX_BODY_BYTES`",
        },
        422: {
            "description": "A field out of its set or range, or a factor the tables do not have "
            "(the message names the field); nothing is stored"
        },
    },
    dependencies=_WRITERS,
)
def put_accounting(
    park: ParkDep, store: StoreDep, year: YearPath, body: AccountingIn
) -> AccountingOut:
    """Store the profile for the year, replacing any stored one (fields left out take their
    defaults; without a `name` it is `<park>/<year>`). From then on `/indicators`, `/targets`,
    `/energy`, `/city/indicators`, the reports and the dashboard use it for that year's periods."""
    fields = body.model_dump()
    if "name" not in body.model_fields_set:
        fields["name"] = f"{park.id}/{year}"
    stored = put_profile(store, park, year, AccountingProfile.model_validate(fields))
    return AccountingOut.of(park.id, year, stored, "stored")


@router.delete(
    "/{park}/accounting/{year}",
    summary="Remove the stored accounting profile of a year",
    responses={404: {"description": "Unknown park"}, 422: {"description": "Bad year"}},
    dependencies=_WRITERS,
)
def delete_accounting(park: ParkDep, store: StoreDep, year: YearPath) -> AccountingOut:
    """Remove the year's stored profile (nothing happens when there is none); answers the
    profile now in force, the park's default."""
    delete_profile(store, park, year)
    profile, source = profile_source(store, park, year)
    return AccountingOut.of(park.id, year, profile, source)
