"""Parks, their devices, the newest reading of each device, and time series."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query

from api.deps import (
    ParkDep,
    PrincipalDep,
    RegistryDep,
    ScopedDeviceDep,
    StoreDep,
    forbidden,
)
from api.params import DEFAULT_WINDOW_NS, EverySeconds, InstantNs
from api.schemas import (
    BuildingOut,
    DeviceOut,
    FieldOut,
    FloorOut,
    LatestOut,
    ParkDetailOut,
    ParkOut,
    ReadingOut,
    SeriesOut,
    SeriesPointOut,
    TenantOut,
    finite_or_none,
    iso_from_ns,
    ms_from_ns,
)
from config.auth import Principal, PrincipalRole
from config.registry import KINDS, Device, DeviceKind, ParkRegistry, Role
from config.units import CANONICAL_UNIT, stored_field_name
from store.base import Aggregate, SeriesQuery

__all__ = ["MAX_POINTS", "STALE_AFTER_S", "router", "stored_fields"]

router = APIRouter(prefix="/api/v1/parks", tags=["parks"])

STALE_AFTER_S = 60.0
"""A device whose newest reading is older than this is shown as stale (the issue's definition)."""

MAX_POINTS = 10_000
"""Most points one series answer may hold; keeps a response under a few MB and a chart usable."""


def stored_fields(kind: DeviceKind) -> list[FieldOut]:
    """The fields a device of this kind has in the store, with their canonical units."""
    return [
        FieldOut(
            name=stored_field_name(name, spec.quantity),
            quantity=spec.quantity.value,
            unit=CANONICAL_UNIT[spec.quantity],
            cumulative=spec.cumulative,
        )
        for name, spec in KINDS[kind].items()
    ]


# -- handlers --------------------------------------------------------------------------------


def _visible(park: ParkRegistry, principal: Principal) -> ParkRegistry:
    """The park as ``principal`` may see it: whole, or for a tenant key only its own tenant
    entry, the floors it occupies (in their buildings) and its own devices."""
    if principal.role is not PrincipalRole.TENANT:
        return park
    own = principal.tenant
    buildings = []
    for b in park.buildings:
        floors = tuple(f for f in b.floors if f.tenant == own)
        if floors or any(d.building == b.id and d.tenant == own for d in park.devices):
            buildings.append(b.model_copy(update={"floors": floors}))
    seen = park.model_copy(
        update={
            "tenants": tuple(t for t in park.tenants if t.id == own),
            "buildings": tuple(buildings),
            "devices": tuple(d for d in park.devices if d.tenant == own),
        }
    )
    seen.__dict__.pop("_index", None)  # the whole park's device index, cached on the original
    return seen


def _park_out(reg: ParkRegistry) -> ParkOut:
    p = reg.park
    return ParkOut(
        id=p.id,
        name=p.name,
        timezone=p.timezone,
        latitude=p.latitude,
        longitude=p.longitude,
        grid_region=p.grid_region,
        province=p.province,
        tenants=len(reg.tenants),
        buildings=len(reg.buildings),
        devices=len(reg.devices),
    )


def _device_out(dev: Device) -> DeviceOut:
    return DeviceOut(
        id=dev.id,
        kind=dev.kind.value,
        role=dev.role.value,
        name=dev.name,
        parent=dev.parent,
        tenant=dev.tenant,
        building=dev.building,
        floor=dev.floor,
        capacity_kw=dev.capacity_kw,
        capacity_kwh=dev.capacity_kwh,
        fields=stored_fields(dev.kind),
    )


def _device_or_404(park: ParkRegistry, device_id: str) -> Device:
    dev = park.device(device_id)
    if dev is None:
        raise HTTPException(404, f"park {park.id!r} has no device {device_id!r}")
    return dev


@router.get("", summary="All parks")
def list_parks(registry: RegistryDep, principal: PrincipalDep) -> list[ParkOut]:
    """Every park the key may see, ordered by id (a tenant key: counted as it sees them)."""
    return [
        _park_out(_visible(registry.parks[pid], principal))
        for pid in sorted(registry.parks)
        if principal.sees_park(pid)
    ]


@router.get("/{park}", summary="One park with its tenants and buildings")
def park_detail(park: ParkDep, principal: PrincipalDep) -> ParkDetailOut:
    """A park, its tenants, and its buildings with their floors (a tenant key: its own)."""
    park = _visible(park, principal)
    return ParkDetailOut(
        park=_park_out(park),
        tenants=[TenantOut(id=t.id, name=t.name, sector=t.sector) for t in park.tenants],
        buildings=[
            BuildingOut(
                id=b.id,
                name=b.name,
                floors=[
                    FloorOut(number=f.number, tenant=f.tenant, area_m2=f.area_m2) for f in b.floors
                ],
            )
            for b in park.buildings
        ],
    )


@router.get("/{park}/devices", summary="Devices of a park")
def list_devices(
    park: ParkDep,
    principal: PrincipalDep,
    role: Annotated[Role | None, Query(description="Only devices with this role.")] = None,
    kind: Annotated[DeviceKind | None, Query(description="Only devices of this kind.")] = None,
) -> list[DeviceOut]:
    """The park's devices in registry order, each with the fields it stores (a tenant key: its
    own devices only)."""
    return [
        _device_out(d)
        for d in _visible(park, principal).devices
        if (role is None or d.role is role) and (kind is None or d.kind is kind)
    ]


@router.get("/{park}/devices/{device}", summary="One device")
def get_device(
    park: ParkDep, principal: PrincipalDep, device: Annotated[str, Path(description="Device id.")]
) -> DeviceOut:
    """A device of the park, with the fields it stores."""
    dev = park.device(device)
    if principal.role is PrincipalRole.TENANT and (
        dev is None or not principal.sees_tenant(park.id, dev.tenant)
    ):
        raise forbidden(f"device {device!r} is not one of tenant {principal.tenant!r}'s")
    return _device_out(_device_or_404(park, device))


@router.get("/{park}/latest", summary="Newest reading of every device")
def latest(park: ParkDep, store: StoreDep, principal: PrincipalDep) -> LatestOut:
    """The newest reading of each device that has reported, with its age and a stale flag.

    Devices of the registry that never reported are absent; devices that reported but are not in
    the registry are listed with ``kind`` and ``role`` null. A tenant key gets its own devices.
    """
    readings = store.latest(park.id)
    now_ns = time.time_ns()
    out = []
    for r in readings:
        dev = park.device(r.device)
        if principal.role is PrincipalRole.TENANT and (
            dev is None or not principal.sees_tenant(park.id, dev.tenant)
        ):
            continue
        age_s = max(0.0, (now_ns - r.time_ns) / 1e9)
        out.append(
            ReadingOut(
                device=r.device,
                kind=dev.kind.value if dev else None,
                role=dev.role.value if dev else None,
                time=iso_from_ns(r.time_ns),
                time_ms=ms_from_ns(r.time_ns),
                age_s=round(age_s, 3),
                stale=age_s > STALE_AFTER_S,
                fields={k: finite_or_none(v) for k, v in sorted(r.fields.items())},
            )
        )
    return LatestOut(
        park=park.id,
        server_time=iso_from_ns(now_ns),
        server_time_ms=ms_from_ns(now_ns),
        stale_after_s=STALE_AFTER_S,
        readings=out,
    )


@router.get(
    "/{park}/series",
    summary="Time series of one field of one device",
    responses={422: {"description": "Bad parameters, or more than MAX_POINTS points"}},
)
def series(  # the parameters are the query string
    *,
    park: ParkDep,
    store: StoreDep,
    dev: ScopedDeviceDep,
    field: Annotated[str, Query(description="Stored field name, e.g. `power_kw`.")],
    start: Annotated[
        InstantNs | None,
        Query(
            description="Inclusive start: ISO-8601 with offset, or epoch ms. Default: end - 1 h."
        ),
    ] = None,
    end: Annotated[
        InstantNs | None,
        Query(description="Exclusive end: ISO-8601 with offset, or epoch ms. Default now."),
    ] = None,
    every: Annotated[
        EverySeconds | None,
        Query(
            description="Aggregate per bucket of this width (seconds, or `30s`, `5m`, `1h`, "
            "`1d`); buckets are aligned to the epoch and empty ones are left out. "
            "Omit for raw readings."
        ),
    ] = None,
    agg: Annotated[
        Aggregate, Query(description="Aggregate per bucket (only with `every`).")
    ] = "mean",
) -> SeriesOut:
    """Raw readings, or one aggregate per ``every`` bucket, computed by the store."""
    device = dev.id
    fields = {f.name: f for f in stored_fields(dev.kind)}
    if field not in fields:
        raise HTTPException(
            422, f"device {device!r} has no field {field!r}; it has: {', '.join(fields)}"
        )
    end_ns = end if end is not None else time.time_ns()
    start_ns = start if start is not None else end_ns - DEFAULT_WINDOW_NS
    if end_ns <= start_ns:
        raise HTTPException(422, "end must be after start")
    if every is not None:
        every_ns = every * 1_000_000_000
        buckets = (end_ns - 1) // every_ns - start_ns // every_ns + 1
        if buckets > MAX_POINTS:
            raise HTTPException(
                422,
                f"every={every}s over this range gives up to {buckets} points, more than "
                f"{MAX_POINTS}; use a larger every or a shorter range",
            )
    query = SeriesQuery(
        park=park.id,
        device=device,
        field=field,
        start_ns=start_ns,
        end_ns=end_ns,
        every_s=every,
        aggregate=agg,
        limit=MAX_POINTS + 1,
    )
    rows = store.series(query)
    if len(rows) > MAX_POINTS:
        raise HTTPException(
            422,
            f"more than {MAX_POINTS} raw readings in this range; "
            "set every= to aggregate or use a shorter range",
        )
    return SeriesOut(
        park=park.id,
        device=device,
        field=field,
        unit=fields[field].unit,
        start=iso_from_ns(start_ns),
        start_ms=ms_from_ns(start_ns),
        end=iso_from_ns(end_ns),
        end_ms=ms_from_ns(end_ns),
        every_s=every,
        agg=agg if every is not None else None,
        points=[
            SeriesPointOut(
                time=iso_from_ns(r.time_ns),
                time_ms=ms_from_ns(r.time_ns),
                value=finite_or_none(r.value),
            )
            for r in rows
        ],
    )
