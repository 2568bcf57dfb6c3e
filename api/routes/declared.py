"""Declared values: ``GET``/``PUT /api/v1/parks/{park}/declared/{year}`` — what the telemetry
cannot measure (water reuse, waste-heat use, value added …), entered per scope and year and
used, marked as declared, by the target evaluation and the reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from api.deps import ParkDep, StoreDep, require_roles, scope_query
from api.schemas import DeclarableOut, DeclaredIn, DeclaredOut, ErrorOut
from config.auth import PrincipalRole
from config.errors import InvalidRequestError, NotFoundError
from services.declared import declarable, read_declared, write_declared
from services.energy import Scope, parse_scope

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/parks", tags=["targets"])

YearPath = Annotated[int, Path(ge=2000, le=2100, description="Calendar year, park local time.")]


def _out(park: str, scope: Scope, year: int, values: dict[str, float]) -> DeclaredOut:
    return DeclaredOut(
        park=park,
        scope=str(scope),
        year=year,
        values=values,
        declarable={
            k: DeclarableOut(unit=d.unit, used_by=list(d.used_by), min=d.low, max=d.high)
            for k, d in declarable().items()
        },
    )


@router.get("/{park}/declared/{year}", summary="Declared values of a scope and year")
def get_declared(
    park: ParkDep,
    store: StoreDep,
    year: YearPath,
    scope: Annotated[
        str,
        Depends(
            scope_query("`park` or `tenant:<id>`; default park (a tenant key: its own tenant).")
        ),
    ],
) -> DeclaredOut:
    """What was declared for the scope and year, and the keys that may be declared."""
    chosen = parse_scope(scope)
    if chosen.kind == "tenant" and not any(t.id == chosen.id for t in park.tenants):
        raise NotFoundError(f"park {park.id!r} has no tenant {chosen.id!r}")
    if chosen.kind not in ("park", "tenant"):
        raise InvalidRequestError(f"values are declared for the park or a tenant, not {chosen}")
    return _out(park.id, chosen, year, read_declared(store, park, scope=chosen, year=year))


@router.put(
    "/{park}/declared/{year}",
    summary="Declare values the telemetry cannot measure",
    responses={
        400: {"model": ErrorOut, "description": "The body is not valid JSON"},
        413: {
            "model": ErrorOut,
            "description": "`payload_too_large`: the body is over `SMARTPARK_MAX_BODY_BYTES`",
        },
        422: {"description": "Unknown key, value out of range, or bad scope"},
    },
    dependencies=[Depends(require_roles(PrincipalRole.CITY, PrincipalRole.OPERATOR))],
)
def put_declared(park: ParkDep, store: StoreDep, year: YearPath, body: DeclaredIn) -> DeclaredOut:
    """Store the values for the scope and year; reports and target evaluations then use them,
    marked as declared."""
    chosen = parse_scope(body.scope)
    values = write_declared(store, park, scope=chosen, year=year, values=body.values)
    return _out(park.id, chosen, year, values)
