"""The live stream: ``GET /api/v1/parks/{park}/stream`` (Server-Sent Events)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from api.deps import ParkDep, PrincipalDep
from api.schemas import ErrorOut
from config.auth import PrincipalRole
from config.errors import UnavailableError
from services.stream import PING, StreamHub, encode_event

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/parks", tags=["live"])

_T = 1_764_000_000_000
_EXAMPLE = (
    encode_event(
        "reading",
        {
            "device": "grid-main",
            "time_ms": _T,
            "fields": {"energy_kwh": 120345.2, "power_kw": 1450.2},
        },
    )
    + encode_event(
        "flows",
        {
            "time_ms": _T,
            "grid_kw": 1450.2,
            "pv_kw": 620.0,
            "battery_kw": -95.0,
            "ev_kw": 120.0,
            "load_kw": 1855.2,
        },
    )
    + encode_event(
        "alarm",
        {
            "id": f"offline~ev-08~{_T}",
            "park": "wuhan-demo",
            "device": "ev-08",
            "rule": "offline",
            "kind": "offline",
            "severity": "major",
            "message": "ev-08: no reading for 312 s (offline after 10 s)",
            "value": 312.0,
            "threshold": 10.0,
            "state": "raised",
            "raised_ms": _T,
            "acknowledged_ms": None,
            "acknowledged_by": None,
            "cleared_ms": None,
            "cleared_by": None,
        },
    )
    + PING
).decode()


class _Stream(StreamingResponse):
    """A streaming response that runs ``on_end`` however it ends: the events ran out, the
    client went away (the stream is cancelled), or sending failed before the first event."""

    def __init__(self, content: AsyncIterator[bytes], *, on_end: Callable[[], None]) -> None:
        super().__init__(
            content,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._on_end = on_end

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._on_end()


@router.get(
    "/{park}/stream",
    summary="Live stream of readings, power flows and alarms (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "An endless `text/event-stream`",
            "content": {"text/event-stream": {"schema": {"type": "string"}, "example": _EXAMPLE}},
        },
        429: {
            "model": ErrorOut,
            "description": "`too_many_streams`: the key (`SMARTPARK_STREAM_MAX_PER_KEY`) or the "
            "server (`SMARTPARK_STREAM_MAX`) has the most live streams open; or "
            "`too_many_requests`: too many failed API keys from this address. Retry after "
            "`Retry-After` s",
        },
    },
)
async def stream(
    request: Request,
    park: ParkDep,
    principal: PrincipalDep,
    once: Annotated[
        bool, Query(description="Send the snapshot of the current state and end the stream.")
    ] = False,
) -> StreamingResponse:
    """Events, each `event: <name>` and one `data:` line of JSON:

    - `reading` `{"device", "time_ms", "fields": {...}}`: a device's newest reading changed (the
      server reads the store every `SMARTPARK_STREAM_POLL_S`, 0.5 s by default);
    - `flows` `{"time_ms", "grid_kw", "pv_kw", "battery_kw", "ev_kw", "load_kw"}`: the park's
      power flows changed. `grid_kw` > 0 import, < 0 export; `battery_kw` > 0 discharging,
      < 0 charging; `load_kw = grid_kw + pv_kw + battery_kw − ev_kw` (the buildings);
    - `alarm` (the alarm as in `GET /alarms`): raised, acknowledged or cleared;
    - `: ping` comment lines every 15 s.

    On connect the current state comes first, as ordinary events: a `reading` per device, the
    `flows`, an `alarm` per active alarm. A tenant key gets its own devices' readings and alarms
    and no `flows`. A client that falls `SMARTPARK_STREAM_QUEUE` events behind is dropped (the
    stream ends; reconnect for a fresh snapshot). Send the key as `Authorization: Bearer` (read it
    with `fetch()` and a stream reader: `EventSource` cannot send headers).

    One key may hold `SMARTPARK_STREAM_MAX_PER_KEY` streams open at once (8 by default), the
    server `SMARTPARK_STREAM_MAX` (256); one more is refused with 429 `too_many_streams` and
    `Retry-After` before it starts. A stream's slot is free again when it ends or its client
    disconnects.
    """
    hub: StreamHub | None = getattr(request.app.state, "stream_hub", None)
    if hub is None:
        raise UnavailableError("the live stream is not running")
    devices: frozenset[str] | None = None
    if principal.role is PrincipalRole.TENANT:
        devices = frozenset(d.id for d in park.devices if principal.sees_tenant(park.id, d.tenant))
    # with auth off there are no keys: only the server's total applies
    key = principal.name if request.app.state.auth is not None else None
    sub, snapshot = await hub.subscribe(
        park.id, devices=devices, flows=principal.role is not PrincipalRole.TENANT, key=key
    )
    ping_s: float = request.app.state.settings.stream_ping_s

    async def events() -> AsyncIterator[bytes]:
        # the slot is freed by _Stream, however the stream ends
        yield snapshot or PING
        if once:
            return
        while True:
            try:
                chunk = await asyncio.wait_for(sub.queue.get(), timeout=ping_s)
            except TimeoutError:
                yield PING
                continue
            if chunk is None:
                return
            # whatever else is waiting goes out in the same write
            parts = [chunk]
            while not sub.queue.empty() and len(parts) < 256:
                more = sub.queue.get_nowait()
                if more is None:
                    yield b"".join(parts)
                    return
                parts.append(more)
            yield b"".join(parts)

    return _Stream(events(), on_end=lambda: hub.unsubscribe(sub))
