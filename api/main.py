"""The HTTP service: JSON API under ``/api/v1``, ``/healthz``, OpenAPI docs, the live dashboard.

:func:`create_app` builds the app. ``smartpark serve`` lets it open the store and load the registry
from settings at start-up (and close the store at shutdown); ``smartpark demo`` and the tests hand
it a store and a registry they own.

The docs at ``/docs`` (Swagger UI) and ``/redoc`` load their scripts and styles from the app
itself (the assets ship in the ``fastapi-offline`` package), never from a CDN, so they work on a
park's network without internet access. Every error is JSON shaped as :class:`ErrorOut`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack, asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.deps import get_principal
from api.routes import (
    alarms,
    city,
    declared,
    energy,
    health,
    instruments,
    ledger,
    me,
    parks,
    quarantine,
    reports,
    targets,
    ui,
)
from api.routes import stream as live
from api.routes.health import package_version
from api.schemas import ErrorOut
from api.security import install_security
from config.auth import ApiKeys
from config.errors import StoreQueryError, StoreUnavailableError, TooManyStreamsError
from config.registry import Registry, load_registry
from config.settings import Settings, get_settings
from services.alarms import AlarmEngine, load_rules, metrics_url_of
from services.stream import StreamHub
from store import open_store
from store.base import Store

__all__ = ["STATIC_DIR", "create_app"]

STATIC_DIR = Path(__file__).parent / "static"

_RETRY_AFTER_S = "5"  # a store outage is usually a restart; ask clients to come back soon

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "invalid_request",
    502: "store_query_failed",
    503: "store_unavailable",
}

_DESCRIPTION = """\
Energy of an industrial park, live: the registry of parks and devices, the newest reading of
every device, and server-side aggregated time series of any stored field.

Values are canonical units named in the field (`power_kw`, `energy_kwh`, `soc_pct`, ...).
Times go out as ISO-8601 UTC **and** epoch milliseconds; they come in as either
(ISO-8601 must carry an offset). Errors are JSON: `{"code", "message", "errors"}`.

Every endpoint under `/api/v1` needs an API key, sent as `Authorization: Bearer <token>` (or
`X-API-Key: <token>`): 401 without one or with an unknown one, 403 outside the key's scope. A
`city` key sees every park, an `operator` key one park, a `tenant` key only its own devices,
indicators and reports; a `gateway` key is refused (it only publishes over MQTT).
"""


def create_app(
    *,
    settings: Settings | None = None,
    store: Store | None = None,
    registry: Registry | None = None,
    auth: ApiKeys | None = None,
) -> FastAPI:
    """Build the app.

    A ``store`` or ``registry`` passed in is used as is and stays the caller's to close; whatever
    is not passed is built from ``settings`` (default :func:`get_settings`) when the app starts,
    and the store so opened is closed when it stops.

    ``auth`` holds the API keys every ``/api/v1`` request is checked against; None turns
    authentication off (every request acts as ``city``): ``smartpark serve`` allows that only with
    ``SMARTPARK_AUTH=off``.
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with ExitStack() as owned:
            if registry is None:
                app.state.registry = load_registry(settings.registry)
            if store is None:
                opened = open_store(settings.store_url, data_dir=settings.data_dir)
                owned.callback(opened.close)
                app.state.store = opened
            engine = _start_alarms(app, settings)
            if engine is not None:
                owned.callback(engine.stop)
            hub = StreamHub(
                app.state.store,
                app.state.registry.parks,
                poll_s=settings.stream_poll_s,
                queue_size=settings.stream_queue,
                max_streams=settings.stream_max,
                max_per_key=settings.stream_max_per_key,
                alarms=_active_alarms(engine),
            )
            app.state.stream_hub = hub
            if engine is not None:
                engine.listeners.append(
                    lambda alarm: hub.publish_alarm(alarm.park, alarm.device, alarm.as_json())
                )
            try:
                yield
            finally:
                await hub.close()

    app = FastAPIOffline(
        title="smartpark",
        version=package_version(),
        description=_DESCRIPTION,
        lifespan=lifespan,
        # Swagger UI would otherwise offer to send the schema to validator.swagger.io
        swagger_ui_parameters={"validatorUrl": None},
        responses={
            404: {"model": ErrorOut, "description": "Unknown park or device"},
            422: {"model": ErrorOut, "description": "Invalid parameters"},
            503: {"model": ErrorOut, "description": "The store cannot be reached"},
        },
    )
    app.state.settings = settings
    app.state.auth = auth
    install_security(app, settings)  # headers, CORS (only if configured), auth-failure limit
    if store is not None:
        app.state.store = store
    if registry is not None:
        app.state.registry = registry

    app.include_router(health.router)  # no data: stays open
    # every /api/v1 route authenticates here, in one place; scope checks are in api/deps.py
    secured = [Depends(get_principal)]
    auth_responses: dict[int | str, dict[str, object]] = {
        401: {"model": ErrorOut, "description": "No API key, or an unknown one"},
        403: {"model": ErrorOut, "description": "Outside the key's scope"},
        429: {
            "model": ErrorOut,
            "description": "Too many failed API keys from this address; retry after Retry-After s",
        },
    }
    for router in (
        parks.router,
        quarantine.router,
        ledger.router,
        energy.router,
        reports.router,
        declared.router,
        instruments.router,
        alarms.router,
        live.router,
        me.router,
        targets.router,
        city.router,
        ui.router,
    ):
        app.include_router(router, dependencies=secured, responses=auth_responses)
    _add_error_handlers(app)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    return app


def _start_alarms(app: FastAPI, settings: Settings) -> AlarmEngine | None:
    """The alarm engine of this server, evaluating in a background thread (None when
    ``SMARTPARK_ALARMS=false``). It loads the stored alarms before the app takes requests."""
    if not settings.alarms:
        app.state.alarm_engine = None
        return None
    engine = AlarmEngine(
        app.state.store,
        app.state.registry,
        load_rules(settings.alarm_rules),
        metrics_url=metrics_url_of(settings.metrics_host, settings.metrics_port),
    )
    engine.load()
    engine.start(every_s=settings.alarm_eval_s)
    app.state.alarm_engine = engine
    return engine


def _active_alarms(
    engine: AlarmEngine | None,
) -> Callable[[str], list[tuple[str | None, dict[str, object]]]] | None:
    if engine is None:
        return None

    def active(park: str) -> list[tuple[str | None, dict[str, object]]]:
        return [(a.device, a.as_json()) for a in engine.alarms(park, active_only=True)]

    return active


def _error(
    status: int, message: str, errors: list[dict[str, object]] | None = None
) -> JSONResponse:
    body = ErrorOut(code=_CODES.get(status, "error"), message=message, errors=errors)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = _error(exc.status_code, str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors: list[dict[str, object]] = []
        sentences: list[str] = []
        for err in exc.errors():
            loc = [str(part) for part in err.get("loc", ())]
            msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            errors.append({"loc": loc, "msg": msg, "type": str(err.get("type", ""))})
            # ("query", "start") reads as "start"
            sentences.append(f"{'.'.join(loc[1:]) or 'request'}: {msg}")
        return _error(422, "; ".join(sentences) or "invalid request", errors)

    @app.exception_handler(StoreUnavailableError)
    async def store_unavailable(_: Request, exc: StoreUnavailableError) -> JSONResponse:
        response = _error(503, f"the store is unavailable: {exc}")
        response.headers["Retry-After"] = _RETRY_AFTER_S
        return response

    @app.exception_handler(TooManyStreamsError)
    async def too_many_streams(_: Request, exc: TooManyStreamsError) -> JSONResponse:
        body = ErrorOut(code="too_many_streams", message=str(exc))
        response = JSONResponse(body.model_dump(exclude_none=True), status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response

    @app.exception_handler(StoreQueryError)
    async def store_refused(_: Request, exc: StoreQueryError) -> JSONResponse:
        # Parameters are validated before the store is asked, so a refusal is the upstream's
        # failure, not the client's: 502, not 400.
        return _error(502, f"the store refused the query: {exc}")
