"""Reports for download: ``GET /api/v1/parks/{park}/reports/{year}`` (park evaluation) and
``GET /api/v1/parks/{park}/tenants/{tenant}/reports/{year}`` (green-factory report), the same
documents ``smartpark report`` writes (see docs/reports.md).

``GET /api/v1/tenants/{tenant}/reports/{year}`` is deprecated (a tenant id is unique only within
its park) and redirects to the park's path for one release."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import RedirectResponse

from api.deps import ParkDep, PrincipalDep, RegistryDep, StoreDep, forbidden, require_roles
from api.routes.accounting import MethodQuery, used_profile
from config.auth import PrincipalRole
from config.errors import ConflictError, InvalidRequestError, NotFoundError
from config.registry import ParkRegistry
from config.version import __version__
from reports.build import ReportRequest, build_report
from reports.render import render
from store.base import Store

__all__ = ["FIRST_YEAR", "router"]

router = APIRouter(prefix="/api/v1", tags=["reports"])

FIRST_YEAR = 2000
"""Earliest report year accepted (no park telemetry predates it)."""

Format = Literal["pdf", "html", "csv", "json"]
Lang = Literal["zh", "en"]

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
    422: {
        "description": "Bad year, format or language, or a method other than calorific_value or "
        "coal_equivalent (the old names say which to use)"
    },
}

YearPath = Annotated[int, Path(description="Calendar year, park local time.", examples=[2025])]
FormatQuery = Annotated[Format, Query(description="Document format.")]
LangQuery = Annotated[Lang, Query(description="Language: Chinese (default) or English.")]


def _year(year: int) -> int:
    this_year = datetime.now(UTC).year
    if not FIRST_YEAR <= year <= this_year:
        raise InvalidRequestError(f"year must be between {FIRST_YEAR} and {this_year}")
    return year


def _document(
    store: Store,
    park: ParkRegistry,
    *,
    year: int,
    tenant: str | None,
    fmt: Format,
    lang: Lang,
    method: str | None,
) -> Response:
    profile, _ = used_profile(store, park, _year(year), method)
    doc = build_report(
        store,
        park,
        ReportRequest(
            year=year,
            tenant=tenant,
            profile=profile,
        ),
        software=f"smartpark {__version__}",
    )
    name = f"{park.id}{'-' + tenant if tenant else ''}-{year}-{lang}.{fmt}"
    disposition = "inline" if fmt in ("html", "json") else "attachment"
    body = render(doc, fmt, lang)  # no CJK font for a PDF: 503, by api/errors.py
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
    method: MethodQuery = None,
) -> Response:
    """The park's evaluation for a calendar year: indicators, targets with status and gap,
    per-tenant table, per-carrier breakdown, monthly trends, microgrid results, every factor
    with its source, completeness and notes — with the accounting profile of the year
    (`GET /accounting/{year}`)."""
    return _document(store, park, year=year, tenant=None, fmt=format, lang=lang, method=method)


TenantPath = Annotated[str, Path(description="Tenant id, as in the park's registry.")]


@router.get(
    "/parks/{park}/tenants/{tenant}/reports/{year}",
    summary="Green-factory energy and carbon report of a tenant",
    response_class=Response,
    responses=_RESPONSES,
)
def tenant_report(
    park: ParkDep,
    tenant: TenantPath,
    store: StoreDep,
    principal: PrincipalDep,
    *,
    year: YearPath,
    format: FormatQuery = "json",
    lang: LangQuery = "zh",
    method: MethodQuery = None,
) -> Response:
    """The tenant's green-factory energy and carbon report for a calendar year, with its park's
    accounting profile of the year: a tenant key gets its own only, an operator key those of its
    park's tenants."""
    if principal.role is PrincipalRole.TENANT and tenant != principal.tenant:
        raise forbidden(f"a tenant key may only fetch its own reports ({principal.tenant!r})")
    if not any(t.id == tenant for t in park.tenants):
        raise NotFoundError(f"park {park.id!r} has no tenant {tenant!r}")
    return _document(store, park, year=year, tenant=tenant, fmt=format, lang=lang, method=method)


@router.get(
    "/tenants/{tenant}/reports/{year}",
    summary="Deprecated: use /parks/{park}/tenants/{tenant}/reports/{year}",
    response_class=RedirectResponse,
    status_code=307,
    deprecated=True,
    responses={
        **_RESPONSES,
        200: {**_RESPONSES[200], "description": "The report document, once the 307 is followed"},
        307: {
            "description": "The same report under its park: "
            "`/api/v1/parks/{park}/tenants/{tenant}/reports/{year}`, query string kept"
        },
        404: {"description": "No park the key may see has this tenant"},
        409: {"description": "Two or more parks the key may see have a tenant of this id"},
    },
)
def tenant_report_redirect(
    request: Request,
    tenant: TenantPath,
    registry: RegistryDep,
    principal: PrincipalDep,
    year: YearPath,
) -> RedirectResponse:
    """**Deprecated**, kept for one release: a tenant id is unique within a park, not across
    parks, so this path is ambiguous. It answers 307 to
    `/api/v1/parks/{park}/tenants/{tenant}/reports/{year}` (same query string) when exactly one
    park the key may see has the tenant, 409 when several do (name the park), 404 when none does
    (403 for a key bound to a park)."""
    if principal.role is PrincipalRole.TENANT and tenant != principal.tenant:
        raise forbidden(f"a tenant key may only fetch its own reports ({principal.tenant!r})")
    # look only where the key may see
    parks = sorted(
        p.id
        for p in registry.parks.values()
        if principal.sees_park(p.id) and any(t.id == tenant for t in p.tenants)
    )
    if len(parks) > 1:
        raise ConflictError(
            f"tenant {tenant!r} is in several parks ({', '.join(parks)}): ask for "
            f"/api/v1/parks/{{park}}/tenants/{tenant}/reports/{year}"
        )
    if not parks:
        if principal.role is not PrincipalRole.CITY:
            raise forbidden(f"tenant {tenant!r} is not in this key's park")
        raise NotFoundError(f"unknown tenant {tenant!r}")
    url = request.url.replace(
        path=f"{request.scope.get('root_path', '')}/api/v1/parks/{quote(parks[0], safe='')}"
        f"/tenants/{quote(tenant, safe='')}/reports/{year}"
    )
    return RedirectResponse(str(url), status_code=307, headers={"Deprecation": "true"})
