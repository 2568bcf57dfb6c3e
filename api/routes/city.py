"""The city view: ``GET /api/v1/city/indicators`` — every park the key may see, side by side on
the same indicators, each with the accounting profile it was computed with."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import PrincipalDep, RegistryDep, StoreDep, require_roles
from api.routes.accounting import MethodQuery, refuse_retired_parameters, used_profile
from api.schemas import (
    AccountingProfileOut,
    CityIndicatorsOut,
    CityParkOut,
    CityValueOut,
    finite_or_none,
    iso_from_ns,
    ms_from_ns,
)
from config.auth import PrincipalRole
from services.accounting import electricity_method
from services.indicators import IndicatorReport, local_period, park_indicators

__all__ = ["router"]

# tenant keys are refused: the view compares whole parks
router = APIRouter(
    prefix="/api/v1/city",
    tags=["city"],
    dependencies=[Depends(require_roles(PrincipalRole.CITY, PrincipalRole.OPERATOR))],
)


def _park(
    report: IndicatorReport, name: str, grid_region: str, profile: AccountingProfileOut
) -> CityParkOut:
    when = report.period
    comps = [i.completeness_pct for i in report.indicators if i.completeness_pct is not None]
    return CityParkOut(
        id=report.park,
        name=name,
        timezone=report.tz,
        grid_region=grid_region,
        start=iso_from_ns(when.start_ns),
        start_ms=ms_from_ns(when.start_ns),
        end=iso_from_ns(when.end_ns),
        end_ms=ms_from_ns(when.end_ns),
        completeness_pct=min(comps) if comps else None,
        profile=profile,
        indicators=[
            CityValueOut(
                name=i.name,
                value=None if i.value is None else finite_or_none(float(i.value)),
                unit=i.unit,
                completeness_pct=i.completeness_pct,
                reason=i.reason,
            )
            for i in report.indicators
        ],
    )


@router.get(
    "/indicators",
    summary="Parks compared on the same indicators",
    responses={
        403: {"description": "A tenant key (or a gateway key)"},
        422: {
            "description": "Bad period, a method other than calorific_value or coal_equivalent "
            "(the old names say which to use) or a retired parameter"
        },
    },
    dependencies=[Depends(refuse_retired_parameters)],
)
def city_indicators(
    registry: RegistryDep,
    store: StoreDep,
    principal: PrincipalDep,
    period: Annotated[
        str,
        Query(
            description="Local year `2026`, month `2026-03` or day `2026-03-14`, each park in "
            "its own time zone."
        ),
    ],
    method: MethodQuery = None,
) -> CityIndicatorsOut:
    """Every park the key may see (a city key: all of them, an operator key: its own), ordered by
    id, each with the same indicators in the same order: name, value, unit, completeness and, for
    a null value, why. Each park is computed with its accounting profile of the period's year
    (named in its `profile`), as `GET /parks/{park}/indicators?period=`; `method=` puts every park
    on the same electricity method (`method` of the answer is null when the parks' differ)."""
    asked = local_period(period, "UTC")  # the label and kind; each park in its own zone
    year = int(asked.label[:4])
    if method is not None:
        electricity_method(method)  # refused before any park is computed, whoever sees none
    parks = []
    for pid in sorted(registry.parks):
        if not principal.sees_park(pid):
            continue
        park = registry.parks[pid]
        profile, named = used_profile(store, park, year, method)
        report = park_indicators(
            store,
            park,
            period,
            profile=profile,
        )
        parks.append(_park(report, park.park.name, park.park.grid_region, named))
    methods = {p.profile.electricity_method for p in parks}
    return CityIndicatorsOut(
        period=asked.label,
        kind=asked.kind,
        method=methods.pop() if len(methods) == 1 else None,
        names=list(dict.fromkeys(i.name for p in parks for i in p.indicators)),
        parks=parks,
    )
