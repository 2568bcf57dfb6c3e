"""The city view: ``GET /api/v1/city/indicators`` — every park the key may see, side by side on
the same indicators, computed on the same basis."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from analytics.energy import conversion_method_from_legacy
from api.deps import PrincipalDep, RegistryDep, StoreDep, require_roles
from api.schemas import (
    CityIndicatorsOut,
    CityParkOut,
    CityValueOut,
    finite_or_none,
    iso_from_ns,
    ms_from_ns,
)
from config.accounting import AccountingProfile
from config.auth import PrincipalRole
from services.indicators import (
    IndicatorReport,
    local_period,
    park_indicators,
)

__all__ = ["router"]

# tenant keys are refused: the view compares whole parks
router = APIRouter(
    prefix="/api/v1/city",
    tags=["city"],
    dependencies=[Depends(require_roles(PrincipalRole.CITY, PrincipalRole.OPERATOR))],
)


def _park(report: IndicatorReport, name: str, grid_region: str) -> CityParkOut:
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
        422: {"description": "Bad period"},
    },
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
    method: Annotated[
        Literal["equivalent_value", "coal_consumption"],
        Query(description="Electricity to tce (GB/T 2589), the same for every park."),
    ] = "equivalent_value",
) -> CityIndicatorsOut:
    """Every park the key may see (a city key: all of them, an operator key: its own), ordered by
    id, each with the same indicators in the same order: name, value, unit, completeness and, for
    a null value, why. Every park is computed with the same accounting (no certificates or green
    contracts, location-based carbon beside market-based, each park's own tariff and grid
    factors), as `GET /parks/{park}/indicators?period=` with its defaults."""
    asked = local_period(period, "UTC")  # the label and kind; each park in its own zone
    profile = AccountingProfile(electricity_method=conversion_method_from_legacy(method))
    parks = [
        _park(
            park_indicators(store, registry.parks[pid], period, profile=profile),
            registry.parks[pid].park.name,
            registry.parks[pid].park.grid_region,
        )
        for pid in sorted(registry.parks)
        if principal.sees_park(pid)
    ]
    return CityIndicatorsOut(
        period=asked.label,
        kind=asked.kind,
        method=method,
        names=list(dict.fromkeys(i.name for p in parks for i in p.indicators)),
        parks=parks,
    )
