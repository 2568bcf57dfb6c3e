"""Reports for download: ``GET /api/v1/parks/{park}/reports/{year}`` (park evaluation) and
``GET /api/v1/tenants/{tenant}/reports/{year}`` (green-factory report), the same documents
``smartpark report`` writes (see docs/reports.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response

from api.deps import ParkDep, PrincipalDep, RegistryDep, StoreDep, forbidden, require_roles
from config.auth import PrincipalRole
from config.registry import ParkRegistry
from config.version import __version__
from reports.render import MissingCJKFontError, render
from services.indicators import Profile
from services.reports import ReportRequest, build_report
from store.base import Store

__all__ = ["FIRST_YEAR", "router"]

router = APIRouter(prefix="/api/v1", tags=["reports"])

FIRST_YEAR = 2000
"""Earliest report year accepted (no park telemetry predates it)."""

Format = Literal["pdf", "html", "csv", "json"]
Lang = Literal["zh", "en"]
Method = Literal["equivalent_value", "coal_consumption"]

_MEDIA = {
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}
_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The report document",
        "content": {
            **{media: {} for media in _MEDIA.values()},
            "application/json": {
                "example": {  # abridged: see docs/reports.md for every section
                    "kind": "park_evaluation",
                    "park_id": "wuhan-demo",
                    "park_name": "Wuhan demo park",
                    "year": 2025,
                    "completeness_pct": 98.7,
                    "indicators": [
                        {"key": "tco2_per_tce", "value": 1.71, "unit": "tCO2/tce"},
                    ],
                    "targets": [{"key": "zero_carbon_park", "vetoes_met": None, "rows": []}],
                }
            },
        },
    },
    404: {"description": "Unknown park or tenant"},
    503: {"description": "A Chinese PDF was asked for and the server has no CJK font"},
    422: {"description": "Bad year, format or language"},
}

YearPath = Annotated[int, Path(description="Calendar year, park local time.", examples=[2025])]
FormatQuery = Annotated[Format, Query(description="Document format.")]
LangQuery = Annotated[Lang, Query(description="Language: Chinese (default) or English.")]
MethodQuery = Annotated[
    Method, Query(description="Electricity to tce (GB/T 2589): equivalent value or coal use.")
]


def _year(year: int) -> int:
    this_year = datetime.now(UTC).year
    if not FIRST_YEAR <= year <= this_year:
        raise HTTPException(
            status_code=422, detail=f"year must be between {FIRST_YEAR} and {this_year}"
        )
    return year


def _document(
    store: Store,
    park: ParkRegistry,
    *,
    year: int,
    tenant: str | None,
    fmt: Format,
    lang: Lang,
    method: Method,
) -> Response:
    doc = build_report(
        store,
        park,
        ReportRequest(year=_year(year), tenant=tenant, profile=Profile(method=method)),
        software=f"smartpark {__version__}",
    )
    name = f"{park.id}{'-' + tenant if tenant else ''}-{year}-{lang}.{fmt}"
    disposition = "inline" if fmt in ("html", "json") else "attachment"
    try:
        body = render(doc, fmt, lang)
    except MissingCJKFontError as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from None
    return Response(
        body,
        media_type=_MEDIA[fmt],
        headers={"Content-Disposition": f'{disposition}; filename="{name}"'},
    )


@router.get(
    "/parks/{park}/reports/{year}",
    summary="Park evaluation report: zero-carbon park, green park, microgrid",
    response_class=Response,
    responses=_RESPONSES,
    dependencies=[Depends(require_roles(PrincipalRole.CITY, PrincipalRole.OPERATOR))],
)
def park_report(
    park: ParkDep,
    store: StoreDep,
    year: YearPath,
    *,
    format: FormatQuery = "json",
    lang: LangQuery = "zh",
    method: MethodQuery = "equivalent_value",
) -> Response:
    """The park's evaluation for a calendar year: indicators, targets with status and gap,
    per-tenant table, per-carrier breakdown, monthly trends, microgrid results, every factor
    with its source, completeness and notes."""
    return _document(store, park, year=year, tenant=None, fmt=format, lang=lang, method=method)


@router.get(
    "/tenants/{tenant}/reports/{year}",
    summary="Green-factory energy and carbon report of a tenant",
    response_class=Response,
    responses=_RESPONSES,
)
def tenant_report(
    tenant: Annotated[str, Path(description="Tenant id, as in the registry.")],
    registry: RegistryDep,
    store: StoreDep,
    principal: PrincipalDep,
    *,
    year: YearPath,
    format: FormatQuery = "json",
    lang: LangQuery = "zh",
    method: MethodQuery = "equivalent_value",
) -> Response:
    """The tenant's green-factory energy and carbon report for a calendar year: a tenant key gets
    its own only, an operator key those of its park's tenants."""
    if principal.role is PrincipalRole.TENANT and tenant != principal.tenant:
        raise forbidden(f"a tenant key may only fetch its own reports ({principal.tenant!r})")
    # a tenant id is unique within a park, not across parks: look only where the key may see
    for park in registry.parks.values():
        if not principal.sees_park(park.id):
            continue
        if any(t.id == tenant for t in park.tenants):
            return _document(
                store, park, year=year, tenant=tenant, fmt=format, lang=lang, method=method
            )
    if principal.role is not PrincipalRole.CITY:
        raise forbidden(f"tenant {tenant!r} is not in this key's park")
    raise HTTPException(status_code=404, detail=f"unknown tenant {tenant!r}")
