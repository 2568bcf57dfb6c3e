"""A meter's maintenance log: ``GET``/``POST /api/v1/parks/{park}/devices/{device}/maintenance``.

Replacements (the old meter's final and the new meter's first reading), multiplier (CT x PT)
changes and register width changes, each from its instant. The registry's entries and those
posted here are one log; the ledger uses it, and a posted entry rebuilds the stored ledger and
day roll-ups of the intervals it changes. The answer also gives the device's reporting cadence
(declared or learned), by which completeness is counted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, ValidationError

from api.deps import ParkDep, PrincipalDep, StoreDep, forbidden, require_roles
from api.schemas import ErrorOut, iso_from_ns
from config.auth import PrincipalRole
from config.errors import NotFoundError
from config.registry import Device, MaintenanceEntry, MaintenanceKind, ParkRegistry
from services.maintenance import (
    MaintenanceError,
    device_cadence,
    maintenance_log,
    record_entry,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/parks", tags=["maintenance"])

_MAX_READING = 1e15  # a 15-digit register display, the widest register_width allows
_MAX_MULTIPLIER = 1e6  # CT x PT: 10 kV/100 V x 1000/5 A is 20,000; a million is no meter

DevicePath = Annotated[str, Path(description="Device id.")]


class MaintenanceIn(BaseModel):
    """One maintenance entry, in force from ``at``. Readings are display counts in the device's
    own unit, before the multiplier."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "replacement",
                    "at": "2026-03-04T10:30:00+08:00",
                    "old_final": 12345.6,
                    "new_initial": 0.0,
                },
                {
                    "kind": "multiplier",
                    "at": "2026-05-01T00:00:00+08:00",
                    "old_multiplier": 40,
                    "multiplier": 80,
                    "reading": 5120.5,
                },
                {"kind": "register_width", "at": "2026-06-01T00:00:00+08:00", "register_width": 8},
            ]
        },
    )

    kind: MaintenanceKind
    at: AwareDatetime = Field(description="when it takes effect, ISO-8601 with offset")
    meter_register: str | None = Field(
        default=None, description="replacement: the register read (default the first)"
    )
    old_final: float | None = Field(
        default=None, ge=0, le=_MAX_READING, description="old meter's last reading"
    )
    new_initial: float | None = Field(
        default=None, ge=0, le=_MAX_READING, description="new meter's first reading"
    )
    old_multiplier: float | None = Field(default=None, gt=0, le=_MAX_MULTIPLIER)
    multiplier: float | None = Field(default=None, gt=0, le=_MAX_MULTIPLIER)
    reading: float | None = Field(
        default=None, ge=0, le=_MAX_READING, description="display count at the change"
    )
    old_register_width: int | None = Field(default=None, ge=3, le=15)
    register_width: int | None = Field(default=None, ge=3, le=15)


class MaintenanceEntryOut(BaseModel):
    """An entry of the log and where it was declared."""

    kind: MaintenanceKind
    at: datetime
    source: Literal["registry", "api"]
    meter_register: str | None = None
    old_final: float | None = None
    new_initial: float | None = None
    old_multiplier: float | None = None
    multiplier: float | None = None
    reading: float | None = None
    old_register_width: int | None = None
    register_width: int | None = None
    note: str | None = None


class CadenceOut(BaseModel):
    """The device's expected reporting interval: declared in the registry or learned from its
    readings (their median spacing); completeness counts readings at this cadence."""

    expected_interval_s: float | None = Field(description="s; null when unknown")
    source: Literal["declared", "learned", "unknown"]


_LOG_EXAMPLE: dict[str, JsonValue] = {
    "park": "wuhan-demo",
    "device": "plant-1-main",
    "cadence": {"expected_interval_s": 900.0, "source": "learned"},
    "entries": [
        {
            "kind": "replacement",
            "at": "2026-03-04T02:30:00Z",
            "source": "api",
            "old_final": 12345.6,
            "new_initial": 0.0,
        }
    ],
}


class MaintenanceLogOut(BaseModel):
    """A device's maintenance log, oldest first, and its cadence."""

    model_config = ConfigDict(json_schema_extra={"examples": [_LOG_EXAMPLE]})

    park: str
    device: str
    cadence: CadenceOut
    entries: list[MaintenanceEntryOut]


class MaintenanceRecordedOut(MaintenanceLogOut):
    """The log after a ``POST``, and what was recomputed."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_LOG_EXAMPLE,
                    "written": True,
                    "recomputed_start": "2026-03-03T02:30:00.000Z",
                    "recomputed_end": "2026-03-05T02:30:00.000Z",
                    "intervals": 192,
                    "days": 3,
                }
            ]
        }
    )

    written: bool = Field(description="false when the same entry was already in the log")
    recomputed_start: str | None = Field(description="stored ledger rebuilt from (UTC)")
    recomputed_end: str | None = Field(description="… to (UTC, exclusive)")
    intervals: int = Field(description="ledger intervals rewritten")
    days: int = Field(description="day roll-ups rewritten (register-days)")


def _device(park: ParkRegistry, device_id: str) -> Device:
    dev = park.device(device_id)
    if dev is None:
        raise NotFoundError(f"park {park.id!r} has no device {device_id!r}")
    return dev


def _log_out(
    park: ParkRegistry, device: Device, entries: tuple[MaintenanceEntry, ...], store: StoreDep
) -> MaintenanceLogOut:
    cadence = device_cadence(store, park.id, device)
    return MaintenanceLogOut(
        park=park.id,
        device=device.id,
        cadence=CadenceOut(expected_interval_s=cadence.interval_s, source=cadence.source),
        entries=[
            MaintenanceEntryOut(
                **e.model_dump(),
                source="registry" if any(e.same_event(r) for r in device.maintenance) else "api",
            )
            for e in entries
        ],
    )


@router.get("/{park}/devices/{device}/maintenance", summary="Maintenance log of a device")
def get_maintenance(
    park: ParkDep, store: StoreDep, principal: PrincipalDep, device: DevicePath
) -> MaintenanceLogOut:
    """The registry's and the posted entries, oldest first, and the device's cadence. A tenant
    sees its own devices only."""
    dev = park.device(device)
    if principal.role is PrincipalRole.TENANT and (
        dev is None or not principal.sees_tenant(park.id, dev.tenant)
    ):
        raise forbidden(f"device {device!r} is not one of tenant {principal.tenant!r}'s")
    dev = _device(park, device)
    return _log_out(park, dev, maintenance_log(store, park.id, dev), store)


@router.post(
    "/{park}/devices/{device}/maintenance",
    summary="Declare a meter replacement, multiplier change or register width change",
    status_code=201,
    responses={
        200: {
            "model": MaintenanceRecordedOut,
            "description": "The same entry was already in the log; nothing changed",
        },
        400: {"model": ErrorOut, "description": "The body is not valid JSON"},
        409: {"model": ErrorOut, "description": "A different entry stands at that instant"},
        413: {
            "model": ErrorOut,
            "description": "`payload_too_large`: the body is over `SMARTPARK_MAX_BODY_BYTES`",
        },
        422: {"description": "A field is missing, out of range or does not fit the kind"},
    },
    dependencies=[Depends(require_roles(PrincipalRole.CITY, PrincipalRole.OPERATOR))],
)
def post_maintenance(
    park: ParkDep, store: StoreDep, device: DevicePath, body: MaintenanceIn, response: Response
) -> MaintenanceRecordedOut:
    """Add the entry to the log and rebuild the stored ledger and day roll-ups it changes (a
    day either side of a replacement; from a day before a multiplier or width change to the
    device's last reading). Nothing is stored when the entry is refused."""
    dev = _device(park, device)
    try:
        entry = MaintenanceEntry.model_validate(body.model_dump())
    except ValidationError as exc:  # the registry's cross-field rules, answered by api/errors.py
        detail = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise MaintenanceError(detail) from None
    done = record_entry(store, park, dev.id, entry)  # 409/422 from the one error table
    if not done.written:
        response.status_code = 200
    log = _log_out(park, dev, done.log, store)
    span = done.recomputed
    return MaintenanceRecordedOut(
        **log.model_dump(),
        written=done.written,
        recomputed_start=iso_from_ns(span[0]) if span else None,
        recomputed_end=iso_from_ns(span[1]) if span else None,
        intervals=done.intervals,
        days=done.days,
    )
