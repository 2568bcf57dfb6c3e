"""Official tables for download (docs/tables.md, "Official tables"):

- ``GET /api/v1/parks/{park}/tables/205-1/{year}`` — the NBS 205-1 form of the park;
- ``GET /api/v1/parks/{park}/tenants/{tenant}/tables/{table}/{year}`` — a tenant's 205-1 form
  (``table=205-1``) or its green-factory self-evaluation workbook (``table=green-factory``).

``format=xlsx`` (default) gives the workbook, ``format=json`` every number it holds. Both are
composed from the same report the reports route serves, with the year's accounting profile."""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, Path, Query, Response

from api.deps import ParkDep, PrincipalDep, StoreDep, forbidden, require_roles
from api.routes.accounting import MethodQuery, used_profile
from api.routes.reports import YearPath, _year
from config.auth import PrincipalRole
from config.errors import NotFoundError
from config.registry import ParkRegistry
from config.version import __version__
from reports.build import ReportRequest, build_report
from reports.xlsx import MEDIA_TYPE, TableKind, green_factory_rows, table_205_1, table_xlsx
from store.base import Store

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["tables"])

_TABLE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The workbook (.xlsx), or with format=json every number it holds",
        "content": {
            MEDIA_TYPE: {},
            "application/json": {
                "example": {  # abridged: one row of the 205-1 form
                    "title": "能源购进、消费与库存 Energy purchase, consumption and stock",
                    "header": ["wuhan-demo", "2025"],
                    "columns": [{"letter": "A", "key": "carrier", "heading": "能源名称"}],
                    "rows": [{"carrier": "electricity", "unit": "10^4 kWh", "consumed": 412.7}],
                    "notes": ["GB/T 2589-2020"],
                }
            },
        },
    },
}

TableFormat = Annotated[
    Literal["xlsx", "json"], Query(description="xlsx: the workbook; json: its numbers.")
]


def _table(
    store: Store,
    park: ParkRegistry,
    *,
    year: int,
    tenant: str | None,
    kind: TableKind,
    fmt: str,
    method: str | None,
) -> Response:
    profile, _ = used_profile(store, park, _year(year), method)
    doc = build_report(
        store,
        park,
        ReportRequest(year=year, tenant=tenant, profile=profile),
        software=f"smartpark {__version__}",
    )
    if fmt == "json":
        table = table_205_1(doc) if kind == "205-1" else green_factory_rows(doc)
        return Response(orjson.dumps(table.as_json()), media_type="application/json")
    name = f"{park.id}{'-' + tenant if tenant else ''}-{kind}-{year}.xlsx"
    return Response(
        table_xlsx(doc, kind),
        media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/parks/{park}/tables/205-1/{year}",
    summary="NBS form 205-1 (energy purchase, consumption and stock) of the park, as .xlsx",
    response_class=Response,
    responses=_TABLE_RESPONSES,
    dependencies=[Depends(require_roles(PrincipalRole.CITY, PrincipalRole.OPERATOR))],
)
def park_table(
    park: ParkDep,
    store: StoreDep,
    year: YearPath,
    *,
    format: TableFormat = "xlsx",
    method: MethodQuery = None,
) -> Response:
    """The park's 205-1 form for a calendar year, both GB/T 2589-2020 coefficients."""
    return _table(store, park, year=year, tenant=None, kind="205-1", fmt=format, method=method)


@router.get(
    "/parks/{park}/tenants/{tenant}/tables/{table}/{year}",
    summary="A tenant's 205-1 form or green-factory self-evaluation workbook, as .xlsx",
    response_class=Response,
    responses=_TABLE_RESPONSES,
)
def tenant_table(
    park: ParkDep,
    tenant: Annotated[str, Path(description="Tenant id, as in the park's registry.")],
    table: Annotated[Literal["205-1", "green-factory"], Path(description="Which table.")],
    *,
    store: StoreDep,
    principal: PrincipalDep,
    year: YearPath,
    format: TableFormat = "xlsx",
    method: MethodQuery = None,
) -> Response:
    """A tenant key gets its own tables only; the park's operator and the city every tenant's."""
    if principal.role is PrincipalRole.TENANT and tenant != principal.tenant:
        raise forbidden(f"a tenant key may only fetch its own tables ({principal.tenant!r})")
    if not any(t.id == tenant for t in park.tenants):
        raise NotFoundError(f"park {park.id!r} has no tenant {tenant!r}")
    return _table(store, park, year=year, tenant=tenant, kind=table, fmt=format, method=method)
