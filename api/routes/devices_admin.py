"""Provisioning: devices waiting for approval, and their approval into the registry.

``GET /api/v1/parks/{park}/devices/pending`` lists the devices whose readings were quarantined as
unknown; ``POST /api/v1/parks/{park}/devices`` approves one (services/provisioning.py): from then
on its readings are stored, with no restart of the collector or the server.
``POST /api/v1/parks/{park}/devices/{device}/retire`` takes one out of service: its readings from
then on are set aside (reason ``retired``), what it stored before stays. City and operator keys
only.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request, Response

from api.deps import ParkDep, RegistryDep, SettingsDep, StoreDep, require_roles
from api.routes.parks import device_out
from api.schemas import (
    DeviceApprovalIn,
    DeviceApprovedOut,
    DeviceRetireIn,
    ErrorOut,
    PendingDeviceOut,
    PendingListOut,
    iso_from_ns,
    ms_from_ns,
)
from config.auth import PrincipalRole
from config.errors import InvalidRequestError
from config.registry import approved_dir
from services.provisioning import (
    PENDING_SCAN_RECORDS,
    approve_device,
    pending_devices,
    retire_device,
)

__all__ = ["router"]

_MAX_AHEAD_NS = 366 * 86_400 * 10**9

# included before api/routes/parks.py's router: ``/devices/pending`` is no device id
router = APIRouter(
    prefix="/api/v1/parks",
    tags=["provisioning"],
    dependencies=[Depends(require_roles(PrincipalRole.CITY, PrincipalRole.OPERATOR))],
)


@router.get("/{park}/devices/pending", summary="Devices waiting for approval")
def list_pending(park: ParkDep, store: StoreDep) -> PendingListOut:
    """Devices that published into the park but are not in its registry (their readings were
    quarantined as ``unknown_device``), each with the topic and an excerpt of its first
    payload, the most recently seen first. Built from the park's newest quarantine records."""
    return PendingListOut(
        park=park.id,
        scanned=PENDING_SCAN_RECORDS,
        devices=[
            PendingDeviceOut(
                device=p.device,
                topic=p.topic,
                first_payload=p.first_payload,
                messages=p.messages,
                first_seen=iso_from_ns(p.first_seen_ns),
                first_seen_ms=ms_from_ns(p.first_seen_ns),
                last_seen=iso_from_ns(p.last_seen_ns),
                last_seen_ms=ms_from_ns(p.last_seen_ns),
            )
            for p in pending_devices(store, park)
        ],
    )


@router.post(
    "/{park}/devices",
    summary="Approve a device into the park's registry",
    responses={
        400: {"model": ErrorOut, "description": "The body is not valid JSON"},
        422: {
            "model": ErrorOut,
            "description": "The entry is refused; `errors` names "
            "each field at fault and nothing was written",
        },
    },
)
def approve(
    *,
    request: Request,
    response: Response,
    park: ParkDep,
    registry: RegistryDep,
    settings: SettingsDep,
    entry: DeviceApprovalIn,
) -> DeviceApprovedOut:
    """Add the device to the registry: checked as ``smartpark check-config`` checks a device
    (a new id; known tenant, building, floor and parent meter; known units), written to the
    park's file of approved devices under the data folder, and served at once. Collectors pick
    it up within a few seconds, without a restart. Approving the same entry again changes
    nothing (``written`` false); another entry with an id in use is refused."""
    done = approve_device(
        registry,
        park.id,
        entry.model_dump(exclude_unset=True),
        approved=approved_dir(settings.data_dir),
    )
    request.app.state.registry = done.registry
    response.status_code = 201 if done.written else 200
    return DeviceApprovedOut(park=park.id, written=done.written, device=device_out(done.device))


@router.post(
    "/{park}/devices/{device}/retire",
    summary="Take a device out of service",
    responses={
        400: {"model": ErrorOut, "description": "The body is not valid JSON"},
        404: {"model": ErrorOut, "description": "Unknown park or device"},
    },
)
def retire(
    *,
    request: Request,
    park: ParkDep,
    device: str,
    registry: RegistryDep,
    settings: SettingsDep,
    entry: DeviceRetireIn | None = None,
) -> DeviceApprovedOut:
    """Retire the device from ``at`` (default now): collectors set its readings from then on
    aside in the quarantine (reason ``retired``) within a few seconds, without a restart; its
    stored readings, ledger and the reports of earlier periods keep it. Recorded in the park's
    file of approved devices, for hand-edited and approved devices alike. Retiring a retired
    device changes nothing (``written`` false)."""
    at = entry.at if entry is not None and entry.at is not None else None
    at_ns = time.time_ns() if at is None else int(at.timestamp() * 1e9)
    if at_ns > time.time_ns() + _MAX_AHEAD_NS:
        raise InvalidRequestError("at: a retirement may be set at most a year ahead")
    done = retire_device(registry, park.id, device, at_ns, approved=approved_dir(settings.data_dir))
    request.app.state.registry = done.registry
    return DeviceApprovedOut(park=park.id, written=done.written, device=device_out(done.device))
