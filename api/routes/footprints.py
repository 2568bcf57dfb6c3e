"""Product carbon footprints of a tenant, gate to gate (docs/footprint.md):

- ``GET /api/v1/parks/{park}/tenants/{tenant}/footprints?period=`` — every product's energy and
  CO2e per unit per month and over the period, with the tenant's energy and the factors;
- ``GET /api/v1/parks/{park}/tenants/{tenant}/footprints/{counter}/sheet?period=&format=`` — the
  data sheet of one product (JSON, HTML or PDF; zh or en) a carbon-label application attaches.

A tenant key sees its own tenant only; the park's operator and the city see every tenant."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from api.deps import ParkDep, PrincipalDep, StoreDep, forbidden
from config.auth import PrincipalRole
from config.errors import InvalidRequestError
from config.registry import ParkRegistry
from config.version import __version__
from reports.footprint import footprint_json, footprint_sheet, render_sheet
from services.footprint import TenantFootprint, tenant_footprint
from store.base import Store

__all__ = ["parse_declared", "router"]

router = APIRouter(prefix="/api/v1", tags=["footprints"])

TenantPath = Annotated[str, Path(description="Tenant id, as in the park's registry.")]
PeriodQuery = Annotated[
    str, Query(description="A local year (YYYY) or month (YYYY-MM).", examples=["2025"])
]
AllocationQuery = Annotated[
    Literal["counter", "mass", "value"],
    Query(description="Allocation among the tenant's products: units, declared mass or value."),
]
DeclaredQuery = Annotated[
    list[str] | None,
    Query(
        description="COUNTER:VALUE, one per product: kg per unit (mass) or CNY per unit (value).",
        examples=[["prod-a:0.5", "prod-b:2"]],
    ),
]
_MEDIA = {"json": "application/json", "html": "text/html; charset=utf-8", "pdf": "application/pdf"}
_PRODUCT_EXAMPLE = {  # abridged: months and factors cut to one each
    "kind": "product_footprint",
    "park_id": "wuhan-demo",
    "tenant_id": "chipcore",
    "product": "prod-chipcore",
    "period": "2025",
    "boundary_en": "gate to gate: the tenant's metered energy",
    "allocation": "counter",
    "units": 1200000.0,
    "kgco2e": 494400.0,
    "kgco2e_per_unit": 0.412,
    "kgce_per_unit": 0.131,
    "kwh_per_unit": 0.88,
    "factors": [
        {"key": "electricity_footprint", "value": 0.5777, "unit": "kgCO2e/kWh", "year": 2024}
    ],
    "completeness_pct": 99.2,
    "profile": "default",
}
_FOOTPRINTS_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The tenant's footprints",
        "content": {
            "application/json": {
                "example": {
                    "park_id": "wuhan-demo",
                    "tenant_id": "chipcore",
                    "period": "2025",
                    "allocation": "counter",
                    "completeness_pct": 99.2,
                    "site": [{"month": "2025-01", "electricity_kwh": 90210.0, "kgco2e": 48612.0}],
                    "products": [_PRODUCT_EXAMPLE],
                }
            }
        },
    }
}
_SHEET_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The data sheet (JSON, HTML or PDF)",
        "content": {
            "application/json": {"example": _PRODUCT_EXAMPLE},
            "text/html; charset=utf-8": {},
            "application/pdf": {},
        },
    }
}


def parse_declared(items: list[str] | None) -> dict[str, float]:
    """``["COUNTER:VALUE", …]`` → {counter: value}; :class:`InvalidRequestError` otherwise."""
    out: dict[str, float] = {}
    for item in items or []:
        counter, sep, text = item.rpartition(":")
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not sep or not counter or not math.isfinite(value):
            raise InvalidRequestError(f"declared {item!r}: write COUNTER:NUMBER")
        out[counter] = value
    return out


def _footprint(
    store: Store,
    park: ParkRegistry,
    principal: PrincipalDep,
    tenant: str,
    *,
    period: str,
    allocation: str,
    declared: list[str] | None,
) -> TenantFootprint:
    if principal.role is PrincipalRole.TENANT and tenant != principal.tenant:
        raise forbidden(f"a tenant key may only see its own footprints ({principal.tenant!r})")
    return tenant_footprint(
        store, park, tenant, period, rule=allocation, declared=parse_declared(declared)
    )


@router.get(
    "/parks/{park}/tenants/{tenant}/footprints",
    summary="Product carbon footprints of a tenant (gate to gate), per unit, by month",
    responses=_FOOTPRINTS_RESPONSES,
)
def tenant_footprints(
    park: ParkDep,
    tenant: TenantPath,
    store: StoreDep,
    principal: PrincipalDep,
    *,
    period: PeriodQuery,
    allocation: AllocationQuery = "counter",
    declared: DeclaredQuery = None,
) -> dict[str, object]:
    """Energy [kgce, kWh] and CO2e [kgCO2e] per unit of each product the tenant's production
    counters count, per local month and over the period, with the allocation, the factors
    (source, year, unit, evidence) and the data completeness. 404: unknown tenant or no
    production counter; 422: bad period, allocation or declaration."""
    fp = _footprint(
        store, park, principal, tenant, period=period, allocation=allocation, declared=declared
    )
    return footprint_json(fp, software=f"smartpark {__version__}")


@router.get(
    "/parks/{park}/tenants/{tenant}/footprints/{counter}/sheet",
    summary="Footprint data sheet of one product (JSON, HTML or PDF)",
    response_class=Response,
    responses=_SHEET_RESPONSES,
)
def footprint_data_sheet(
    park: ParkDep,
    tenant: TenantPath,
    counter: Annotated[str, Path(description="The product's production counter id.")],
    store: StoreDep,
    principal: PrincipalDep,
    *,
    period: PeriodQuery,
    allocation: AllocationQuery = "counter",
    declared: DeclaredQuery = None,
    format: Annotated[Literal["json", "html", "pdf"], Query(description="Format.")] = "json",
    lang: Annotated[Literal["zh", "en"], Query(description="Language.")] = "zh",
) -> Response:
    """The data sheet of product ``counter``: boundary, period, allocation and its source,
    factors, data quality, per month and in total."""
    fp = _footprint(
        store, park, principal, tenant, period=period, allocation=allocation, declared=declared
    )
    sheet = footprint_sheet(fp, counter, software=f"smartpark {__version__}")
    body = render_sheet(sheet, format, lang)
    name = f"{park.id}-{tenant}-{counter}-{fp.period}-{lang}.{format}"
    disposition = "attachment" if format == "pdf" else "inline"
    return Response(
        body,
        media_type=_MEDIA[format],
        headers={"Content-Disposition": f'{disposition}; filename="{name}"'},
    )
