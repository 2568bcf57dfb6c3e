"""Parks, their devices, the newest reading of each device, and time series."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path, Query

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
from api.schemas.parks import DeviceCadenceOut
from config.auth import Principal, PrincipalRole
from config.errors import InvalidRequestError, NotFoundError
from config.registry import KINDS, Device, DeviceKind, ParkRegistry, Role
from config.units import CANONICAL_UNIT, stored_field_name
from services.maintenance import device_cadence
from store.base import Aggregate, SeriesQuery, SeriesRow

__all__ = ["MAX_POINTS", "STALE_AFTER_S", "auto_every", "router", "stored_fields"]

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
    return park.visible_to(principal)


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


def device_out(dev: Device) -> DeviceOut:
    """A registry device as the API answers it."""
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
        retired=None if dev.retired is None else dev.retired.isoformat(),
    )


def _device_or_404(park: ParkRegistry, device_id: str) -> Device:
    dev = park.device(device_id)
    if dev is None:
        raise NotFoundError(f"park {park.id!r} has no device {device_id!r}")
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
        tenants=[TenantOut.model_validate(t) for t in park.tenants],
        buildings=[BuildingOut.model_validate(b) for b in park.buildings],
    )


@router.get("/{park}/tenants", summary="Tenants of a park")
def list_tenants(park: ParkDep, principal: PrincipalDep) -> list[TenantOut]:
    """The park's tenants (enterprises) in registry order (a tenant key: only itself)."""
    return [TenantOut.model_validate(t) for t in _visible(park, principal).tenants]


@router.get("/{park}/buildings", summary="Buildings of a park, with their floors")
def list_buildings(park: ParkDep, principal: PrincipalDep) -> list[BuildingOut]:
    """The park's buildings in registry order, each with its floors, the tenant renting each
    and its area (a tenant key: the buildings where it occupies a floor or has a device, with
    only the floors it occupies)."""
    return [BuildingOut.model_validate(b) for b in _visible(park, principal).buildings]


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
        device_out(d)
        for d in _visible(park, principal).devices
        if (role is None or d.role is role) and (kind is None or d.kind is kind)
    ]


@router.get("/{park}/devices/{device}", summary="One device")
def get_device(
    park: ParkDep,
    store: StoreDep,
    principal: PrincipalDep,
    device: Annotated[str, Path(description="Device id.")],
) -> DeviceOut:
    """A device of the park, with the fields it stores and its reporting cadence (declared in
    the registry, else learned from its readings)."""
    dev = park.device(device)
    if principal.role is PrincipalRole.TENANT and (
        dev is None or not principal.sees_tenant(park.id, dev.tenant)
    ):
        raise forbidden(f"device {device!r} is not one of tenant {principal.tenant!r}'s")
    dev = _device_or_404(park, device)
    cadence = device_cadence(store, park.id, dev)
    return device_out(dev).model_copy(
        update={
            "cadence": DeviceCadenceOut(
                expected_interval_s=cadence.interval_s, source=cadence.source
            )
        }
    )


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


_NICE_EVERY_S: tuple[int, ...] = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800)
_NICE_EVERY_S += (3600, 7200, 10800, 21600, 43200, 86400)
_DAY_S = 86400


def _buckets(start_ns: int, end_ns: int, every_s: int) -> int:
    """How many epoch-aligned buckets of ``every_s`` ``[start_ns, end_ns)`` touches."""
    every_ns = every_s * 1_000_000_000
    return (end_ns - 1) // every_ns - start_ns // every_ns + 1


def auto_every(start_ns: int, end_ns: int, max_points: int) -> int:
    """The bucket width [s] the server picks for ``max_points``: the smallest of 1, 2, 5, 10,
    15, 30 s, 1, 2, 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h, 1 d — then whole days — whose
    epoch-aligned buckets over ``[start_ns, end_ns)`` number at most ``max_points``."""
    for every_s in _NICE_EVERY_S:
        if _buckets(start_ns, end_ns, every_s) <= max_points:
            return every_s
    days = max(1, -(-(end_ns - start_ns) // (max_points * _DAY_S * 1_000_000_000)))
    while _buckets(start_ns, end_ns, days * _DAY_S) > max_points:
        days += 1
    return days * _DAY_S


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
            description="Aggregate per bucket of this **duration** (seconds, or `30s`, `5m`, "
            "`1h`, `1d`); buckets are aligned to the epoch (UTC), not to local days, and empty "
            "ones are left out. Omit for raw readings. (On `/energy`, `every`/`period` is a local "
            "calendar period instead: hour, day, month or year.)"
        ),
    ] = None,
    agg: Annotated[
        Aggregate,
        Query(description="Aggregate per bucket (with `every`, or when `max_points` applies)."),
    ] = "mean",
    max_points: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_POINTS,
            description="Most points the answer may hold (the chart's width in pixels). Without "
            "`every`: raw readings when they are no more, else the server picks `every` (the "
            "smallest of 1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h, 1 d, "
            "then whole days, giving at most `max_points` buckets) and with `agg=mean` adds "
            "each bucket's `min` and `max`. With `every`: 422 when it gives more buckets.",
        ),
    ] = None,
) -> SeriesOut:
    """Raw readings, or one aggregate per ``every`` bucket, computed by the store.

    Never more than `MAX_POINTS` (10 000) points: 422 when an explicit `every` or the raw
    readings of the range would give more. With `max_points` the answer never holds more than
    that: when the raw readings would, the server aggregates them with an `every` it picks
    (`every_auto` true) and, for `agg=mean`, gives the smallest and largest raw value of each
    bucket too, so a chart can draw the envelope that the mean hides."""
    device = dev.id
    fields = {f.name: f for f in stored_fields(dev.kind)}
    if field not in fields:
        raise InvalidRequestError(
            f"device {device!r} has no field {field!r}; it has: {', '.join(fields)}"
        )
    end_ns = end if end is not None else time.time_ns()
    start_ns = start if start is not None else end_ns - DEFAULT_WINDOW_NS
    if end_ns <= start_ns:
        raise InvalidRequestError("end must be after start")
    cap = MAX_POINTS if max_points is None else max_points
    if every is not None:
        buckets = _buckets(start_ns, end_ns, every)
        if buckets > cap:
            what = "MAX_POINTS" if max_points is None else "max_points"
            raise InvalidRequestError(
                f"every={every}s over this range gives up to {buckets} points, more than "
                f"{cap} ({what}); use a larger every or a shorter range",
            )

    def query(every_s: int | None, aggregate: Aggregate, limit: int) -> list[SeriesRow]:
        return store.series(
            SeriesQuery(
                park=park.id,
                device=device,
                field=field,
                start_ns=start_ns,
                end_ns=end_ns,
                every_s=every_s,
                aggregate=aggregate,
                limit=limit,
            )
        )

    rows = query(every, agg, cap + 1)
    auto = False
    envelope: dict[int, tuple[float, float]] = {}
    if every is None and len(rows) > cap:
        if max_points is None:
            raise InvalidRequestError(
                f"more than {MAX_POINTS} raw readings in this range; "
                "set every= to aggregate, max_points= or use a shorter range",
            )
        auto = True
        every = auto_every(start_ns, end_ns, max_points)
        rows = query(every, agg, max_points)
        if agg == "mean":
            lows = query(every, "min", max_points)
            highs = query(every, "max", max_points)
            high_at = {r.time_ns: r.value for r in highs}
            envelope = {
                r.time_ns: (r.value, high_at[r.time_ns]) for r in lows if r.time_ns in high_at
            }
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
        max_points=max_points,
        every_auto=auto,
        points=[
            SeriesPointOut(
                time=iso_from_ns(r.time_ns),
                time_ms=ms_from_ns(r.time_ns),
                value=finite_or_none(r.value),
                min=finite_or_none(envelope[r.time_ns][0]) if r.time_ns in envelope else None,
                max=finite_or_none(envelope[r.time_ns][1]) if r.time_ns in envelope else None,
            )
            for r in rows
        ],
    )
