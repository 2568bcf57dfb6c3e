"""Alarms: ``/api/v1/parks/{park}/alarms`` (list, acknowledge, clear)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from api.deps import ParkDep, PrincipalDep, require_roles
from api.schemas import AlarmListOut, AlarmOut
from config.auth import Principal, PrincipalRole
from config.errors import NotFoundError, UnavailableError
from config.registry import ParkRegistry
from services.alarms import Alarm, AlarmEngine

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/parks", tags=["alarms"])

_staff = Depends(require_roles(PrincipalRole.CITY, PrincipalRole.OPERATOR))
AlarmId = Annotated[
    str,
    Path(description="Alarm id, `<rule>~<device or ->~<raised_ms>`.", max_length=200),
]


def _engine(request: Request) -> AlarmEngine:
    engine: AlarmEngine | None = getattr(request.app.state, "alarm_engine", None)
    if engine is None:
        raise UnavailableError("alarms are off in this server (SMARTPARK_ALARMS=false)")
    return engine


EngineDep = Annotated[AlarmEngine, Depends(_engine)]


def _visible(alarm: Alarm, park: ParkRegistry, principal: Principal) -> bool:
    if principal.role is not PrincipalRole.TENANT:
        return True
    dev = park.device(alarm.device) if alarm.device else None
    return dev is not None and principal.sees_tenant(park.id, dev.tenant)


def _out(alarm: Alarm) -> AlarmOut:
    return AlarmOut.model_validate(alarm.as_json())


@router.get("/{park}/alarms", summary="Alarms of a park")
def list_alarms(
    park: ParkDep,
    principal: PrincipalDep,
    engine: EngineDep,
    state: Annotated[
        Literal["active", "all"],
        Query(description="`active`: raised or acknowledged; `all`: cleared ones too."),
    ] = "active",
) -> AlarmListOut:
    """The park's alarms, newest raise first (a tenant key: its own devices' only)."""
    alarms = engine.alarms(park.id, active_only=state == "active")
    return AlarmListOut(
        park=park.id,
        state=state,
        alarms=[_out(a) for a in alarms if _visible(a, park, principal)],
    )


def _find(engine: AlarmEngine, park: ParkRegistry, alarm_id: str) -> Alarm:
    alarm = engine.get(park.id, alarm_id)
    if alarm is None:
        raise NotFoundError(f"park {park.id!r} has no alarm {alarm_id!r}")
    return alarm


@router.post(
    "/{park}/alarms/{alarm_id}/ack",
    summary="Acknowledge an alarm",
    dependencies=[_staff],
    responses={409: {"description": "The alarm is already cleared"}},
)
def acknowledge(
    park: ParkDep, principal: PrincipalDep, engine: EngineDep, alarm_id: AlarmId
) -> AlarmOut:
    """Mark an active alarm acknowledged by this key (again: unchanged). City and operator keys
    only."""
    _find(engine, park, alarm_id)
    return _out(engine.acknowledge(park.id, alarm_id, by=principal.name))


@router.post("/{park}/alarms/{alarm_id}/clear", summary="Clear an alarm", dependencies=[_staff])
def clear(park: ParkDep, principal: PrincipalDep, engine: EngineDep, alarm_id: AlarmId) -> AlarmOut:
    """Clear an alarm by hand (a cleared one: unchanged). If its condition still holds, the
    engine raises a new alarm once it has held for the rule's duration again. City and operator
    keys only."""
    _find(engine, park, alarm_id)
    return _out(engine.clear(park.id, alarm_id, by=principal.name))
