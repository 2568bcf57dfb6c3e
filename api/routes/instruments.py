"""The green-instrument ledger: ``GET``/``PUT``/``DELETE /api/v1/parks/{park}/instruments[/{id}]``.

Green certificates (GEC), green-power trading contracts and direct supply the park holds, each
scoped to the park or one tenant (:mod:`services.instruments`; rules in docs/accounting.md).
City and operator keys write and read everything of their parks. A tenant key reads only the
instruments scoped to its own tenant: a park-scoped instrument lowers the park's total and no
tenant's figure, so it is not the tenant's to see (403, as for another tenant's, whether the id
exists or not).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from api.deps import ParkDep, PrincipalDep, StoreDep, forbidden, require_roles
from api.schemas import ErrorOut, iso_from_ns
from config.auth import Principal, PrincipalRole
from config.errors import NotFoundError
from services.instruments import (
    ID_PATTERN,
    KIND_LABELS,
    InstrumentRecord,
    delete_instrument,
    get_instrument,
    list_instruments,
    put_instrument,
)

__all__ = ["InstrumentIn", "InstrumentListOut", "InstrumentOut", "router"]

router = APIRouter(prefix="/api/v1/parks", tags=["instruments"])

_MONTH = r"^\d{4}-\d{2}$"

# -- request and response models (the lead moves them to api/schemas/) ---------------------------

_GEC_IN: JsonDict = {
    "kind": "gec",
    "tenant": None,
    "certificates": 500,
    "vintage": 2025,
    "generation_from": "2025-01",
    "generation_to": "2025-06",
    "retired_from": "2025-03",
    "retired_to": "2025-03",
    "serial_first": "GEC2025-000001",
    "serial_last": "GEC2025-000500",
    "cancellation_id": "HX-2025-000123",
}
_CONTRACT_IN: JsonDict = {
    "kind": "contract",
    "tenant": "chipcore",
    "kwh_per_month": 120000.0,
    "generation_from": "2025-01",
    "generation_to": "2025-12",
    "counterparty": "Hubei Wind Power Co. 湖北风电有限公司",
    "cancellation_id": "BJ-GT-2025-0042",
}
_GEC_OUT: JsonDict = {
    "park": "wuhan-demo",
    "id": "gec-2025-a",
    **_GEC_IN,
    "counterparty": None,
    "kwh_per_month": None,
    "kind_label": {"zh": "绿证", "en": "green electricity certificates (GEC)"},
    "energy_kwh": 500000.0,
    "reporting_year": 2025,
    "entered_by": "ops-wuhan",
    "updated": "2025-04-02T01:30:00.000Z",
    "updated_ms": 1743557400000,
}


class InstrumentIn(BaseModel):
    """An instrument to store under the id of the path (replacing a stored one of that id).

    A ``gec`` needs ``certificates``, its generation months, the consumption months it is
    retired against and its serial range or cancellation id; a ``contract`` its
    ``kwh_per_month``, delivery months (``generation_from``/``generation_to``) and
    ``counterparty``; ``direct`` supply its ``kwh_per_month`` and delivery months. Months are
    ``YYYY-MM``, local calendar, both ends included, each period in one calendar year.
    """

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [_GEC_IN, _CONTRACT_IN]}
    )

    kind: Literal["gec", "contract", "direct"] = Field(
        description="`gec` green certificates (绿证), `contract` green-power trading (绿电交易), "
        "`direct` green-power direct supply (绿电直连)"
    )
    tenant: str | None = Field(
        default=None, max_length=64, description="the tenant it is retired for; null: the park"
    )
    generation_from: str = Field(pattern=_MONTH, description="first month of generation/delivery")
    generation_to: str = Field(pattern=_MONTH, description="last month of generation/delivery")
    retired_from: str | None = Field(
        default=None,
        pattern=_MONTH,
        description="first consumption month it is retired against (a contract: default "
        "generation_from)",
    )
    retired_to: str | None = Field(default=None, pattern=_MONTH, description="last such month")
    certificates: int | None = Field(
        default=None, gt=0, le=10**9, description="GEC: number of certificates (1,000 kWh each)"
    )
    vintage: int | None = Field(
        default=None, ge=2000, le=2100, description="GEC: year of generation (checked)"
    )
    serial_first: str | None = Field(default=None, min_length=1, max_length=103)
    serial_last: str | None = Field(default=None, min_length=1, max_length=103)
    cancellation_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="id of the retirement (GEC cancellation, trading settlement)",
    )
    kwh_per_month: float | None = Field(
        default=None, gt=0, le=1e12, allow_inf_nan=False, description="contract, direct: kWh"
    )
    counterparty: str | None = Field(default=None, min_length=1, max_length=200)

    def record(self, instrument_id: str) -> InstrumentRecord:
        """The service's record of this body under ``instrument_id``."""
        return InstrumentRecord(id=instrument_id, **self.model_dump())


class KindLabel(BaseModel):
    """The kind's name in Chinese and English."""

    zh: str
    en: str


class InstrumentOut(BaseModel):
    """A stored instrument, with what follows from it."""

    model_config = ConfigDict(json_schema_extra={"examples": [_GEC_OUT]})

    park: str
    id: str
    kind: Literal["gec", "contract", "direct"]
    kind_label: KindLabel
    tenant: str | None = Field(description="null: park-scoped")
    generation_from: str
    generation_to: str
    retired_from: str
    retired_to: str
    certificates: int | None
    vintage: int = Field(description="year of generation")
    serial_first: str | None
    serial_last: str | None
    cancellation_id: str | None
    kwh_per_month: float | None
    counterparty: str | None
    energy_kwh: float = Field(
        description="kWh it evidences: certificates × 1,000, or kWh per "
        "month × the months it is retired against"
    )
    reporting_year: int = Field(description="year of the consumption it is retired against")
    entered_by: str | None = Field(description="the API key (or `cli`) that stored it")
    updated: str | None = Field(description="when it was stored, ISO-8601 UTC")
    updated_ms: int | None


class InstrumentListOut(BaseModel):
    """The instruments of a park the key may see, ordered by id."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "park": "wuhan-demo",
                    "year": 2025,
                    "tenant": None,
                    "total_kwh": 500000.0,
                    "instruments": [_GEC_OUT],
                }
            ]
        }
    )

    park: str
    year: int | None
    tenant: str | None
    total_kwh: float = Field(description="sum of energy_kwh of the listed instruments")
    instruments: list[InstrumentOut]


def _out(park: str, rec: InstrumentRecord) -> InstrumentOut:
    zh, en = KIND_LABELS[rec.kind]
    ret = rec.retired_months
    return InstrumentOut(
        park=park,
        id=rec.id,
        kind=rec.kind,
        kind_label=KindLabel(zh=zh, en=en),
        tenant=rec.tenant,
        generation_from=rec.generation_from,
        generation_to=rec.generation_to,
        retired_from=rec.retired_from or rec.generation_from,
        retired_to=rec.retired_to or rec.generation_to,
        certificates=rec.certificates,
        vintage=rec.vintage_year,
        serial_first=rec.serial_first,
        serial_last=rec.serial_last,
        cancellation_id=rec.cancellation_id,
        kwh_per_month=rec.kwh_per_month,
        counterparty=rec.counterparty,
        energy_kwh=rec.energy_kwh,
        reporting_year=ret.start // 12,
        entered_by=rec.entered_by,
        updated=iso_from_ns(rec.updated_ns) if rec.updated_ns is not None else None,
        updated_ms=rec.updated_ns // 10**6 if rec.updated_ns is not None else None,
    )


# -- errors: answered by api/errors.py (errors[].loc names each field) ------------------------

_WRITE_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorOut, "description": "The body is not valid JSON"},
    404: {"model": ErrorOut, "description": "Unknown park, or (DELETE) no such instrument"},
    409: {
        "model": ErrorOut,
        "description": "`conflict`: its serial range overlaps a stored instrument's, or its "
        "cancellation id is already used (the same certificates retired twice); "
        "`errors[].loc` names the field",
    },
    413: {
        "model": ErrorOut,
        "description": "`payload_too_large`: the body is over `SMARTPARK_MAX_BODY_BYTES`",
    },
    422: {
        "model": ErrorOut,
        "description": "`invalid_request`: a count or kWh ≤ 0, a bad month or period, a tenant "
        "the park does not have, a vintage outside the window; `errors[].loc` names the field",
    },
}

InstrumentId = Annotated[
    str, Path(pattern=ID_PATTERN, description="Instrument id: 1-64 letters, digits, . _ -")
]
_STAFF = Depends(require_roles(PrincipalRole.CITY, PrincipalRole.OPERATOR))


def _check_tenant_reads(principal: Principal, park: str, tenant: str | None) -> None:
    if principal.role is PrincipalRole.TENANT and not principal.sees_tenant(park, tenant):
        raise forbidden(f"a tenant key reads only instruments of tenant {principal.tenant!r}")


# -- routes --------------------------------------------------------------------------------------


@router.get(
    "/{park}/instruments",
    summary="Green instruments of a park",
    responses={404: {"model": ErrorOut, "description": "Unknown park or tenant"}},
    response_model=InstrumentListOut,
)
def list_park_instruments(
    park: ParkDep,
    store: StoreDep,
    principal: PrincipalDep,
    year: Annotated[
        int | None,
        Query(ge=2000, le=2100, description="only those retired against this year's consumption"),
    ] = None,
    tenant: Annotated[
        str | None,
        Query(max_length=64, description="only this tenant's (a tenant key: its own, default)"),
    ] = None,
) -> InstrumentListOut:
    """The park's instruments, ordered by id. A tenant key gets those scoped to its own tenant
    (asking for another tenant is 403); park-scoped ones are the park's, not a tenant's. An
    unknown tenant is 404."""
    if principal.role is PrincipalRole.TENANT:
        _check_tenant_reads(principal, park.id, tenant or principal.tenant)
        tenant = principal.tenant
    elif tenant is not None and all(t.id != tenant for t in park.tenants):
        raise NotFoundError(f"park {park.id!r} has no tenant {tenant!r}")
    found = list_instruments(store, park, year=year, tenant=tenant)
    return InstrumentListOut(
        park=park.id,
        year=year,
        tenant=tenant,
        total_kwh=sum(r.energy_kwh for r in found),
        instruments=[_out(park.id, r) for r in found],
    )


@router.get(
    "/{park}/instruments/{instrument_id}",
    summary="One green instrument",
    responses={404: {"model": ErrorOut, "description": "Unknown park or instrument"}},
    response_model=InstrumentOut,
)
def get_park_instrument(
    park: ParkDep, store: StoreDep, principal: PrincipalDep, instrument_id: InstrumentId
) -> InstrumentOut:
    """One instrument. A tenant key gets 403 for any id that is not one of its own tenant's
    (whether it exists or not: a tenant learns nothing of others' instruments)."""
    try:
        rec = get_instrument(store, park, instrument_id)
    except NotFoundError:
        if principal.role is PrincipalRole.TENANT:
            _check_tenant_reads(principal, park.id, None)
        raise
    _check_tenant_reads(principal, park.id, rec.tenant)
    return _out(park.id, rec)


@router.put(
    "/{park}/instruments/{instrument_id}",
    summary="Store a green instrument",
    responses=_WRITE_ERRORS,
    response_model=InstrumentOut,
    dependencies=[_STAFF],
)
def put_park_instrument(
    park: ParkDep,
    store: StoreDep,
    principal: PrincipalDep,
    instrument_id: InstrumentId,
    body: InstrumentIn,
) -> InstrumentOut:
    """Store the instrument under the id (a stored one of that id is replaced, not claimed
    again). Every rule is checked first (docs/accounting.md); on any problem nothing changes
    and the answer names each field."""
    rec = put_instrument(store, park, body.record(instrument_id), entered_by=principal.name)
    return _out(park.id, rec)


@router.delete(
    "/{park}/instruments/{instrument_id}",
    summary="Delete a green instrument",
    responses={404: {"model": ErrorOut, "description": "Unknown park or instrument"}},
    response_model=InstrumentOut,
    dependencies=[_STAFF],
)
def delete_park_instrument(
    park: ParkDep, store: StoreDep, instrument_id: InstrumentId
) -> InstrumentOut:
    """Delete the instrument; the answer is what it was. Its certificates may then be entered
    again (the stored history keeps the deleted version)."""
    return _out(park.id, delete_instrument(store, park, instrument_id))
