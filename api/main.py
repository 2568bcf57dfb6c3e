"""The HTTP service: JSON API under ``/api/v1``, ``/healthz``, OpenAPI docs, the live dashboard.

:func:`create_app` builds the app. ``smartpark serve`` lets it open the store and load the registry
from settings at start-up (and close the store at shutdown); ``smartpark demo`` and the tests hand
it a store and a registry they own.

The docs at ``/docs`` (Swagger UI) and ``/redoc`` load their scripts and styles from the app
itself (the assets ship in the ``fastapi-offline`` package), never from a CDN, so they work on a
park's network without internet access. Every error is JSON shaped as :class:`ErrorOut`.
"""

from __future__ import annotations

import logging
import mimetypes
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack, asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel

from api.deps import get_principal
from api.errors import install_error_handlers
from api.routes import (
    accounting,
    alarms,
    baselines,
    city,
    declared,
    devices_admin,
    energy,
    footprints,
    health,
    instruments,
    ledger,
    maintenance,
    me,
    parks,
    quarantine,
    reports,
    savings,
    tables,
    targets,
    ui,
)
from api.routes import stream as live
from api.routes.health import package_version
from api.schemas import ErrorOut
from api.security import install_security
from config.auth import ApiKeys
from config.errors import StoreUnavailableError
from config.registry import Registry, RegistryWatch, approved_dir
from config.settings import Settings, get_settings
from services.alarms import AlarmEngine, load_rules, metrics_url_of
from services.alarms.engine import alarm_leases
from services.city import evaluate_city
from services.provisioning import RegistryPoller
from services.report_cache import ReportCache
from services.stream import StreamHub
from store import open_stores
from store.base import Store

# ES modules must be served as JavaScript whatever /etc/mime.types says (Python 3.11's own table
# maps .js to application/javascript only where the system table is missing).
mimetypes.add_type("text/javascript", ".js")


class _RevalidatedStatic(StaticFiles):
    """The page's modules, revalidated on every load (ETag → 304), so a browser never runs a
    cached old module beside a new one after an upgrade."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


__all__ = ["STATIC_DIR", "create_app"]

STATIC_DIR = Path(__file__).parent / "static"

log = logging.getLogger("smartpark.api")

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


def _api_models() -> dict[str, type[BaseModel]]:
    """The API's pydantic models by class name (the name of their component schema)."""
    found: dict[str, type[BaseModel]] = {}
    pending: list[type[BaseModel]] = [BaseModel]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            if sub.__module__.split(".")[0] == "api":
                found[sub.__name__] = sub
    return found


def _openapi_keeping_nulls(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """FastAPI writes the schema with ``exclude_none``, which also strips the ``null`` values
    out of every example, so an example of a field that is required but may be null would no
    longer validate against its own schema. Put each model's examples back as the model gives
    them (``tests/fuzz/test_openapi_examples.py`` checks every example)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        models = _api_models()
        for name, component in schema.get("components", {}).get("schemas", {}).items():
            model = models.get(name.removesuffix("-Output").removesuffix("-Input"))
            if model is None or "examples" not in component:
                continue
            own = model.model_json_schema().get("examples")
            if own:
                component["examples"] = own
        app.openapi_schema = schema
        return schema

    return openapi


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
            watch: RegistryWatch | None = None
            if registry is None:  # reloaded when devices are approved (config/registry.py)
                watch = RegistryWatch(settings.registry, approved_dir(settings.data_dir))
                app.state.registry, app.state.registry_watch = watch.registry, watch
            if store is None:
                opened = open_stores(settings, app.state.registry)  # each park's store
                owned.callback(opened.close)
                app.state.store = opened
            engine = _start_alarms(app, settings)
            if engine is not None:
                owned.callback(engine.stop)
            if settings.city_warm:
                owned.callback(_warm_city(app).set)
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
            if watch is not None:
                _follow_registry(app, watch, hub, engine)
                poller = RegistryPoller(watch)
                poller.start(every_s=watch.poll_s)
                owned.callback(poller.stop)
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
    app.state.report_cache = ReportCache()  # indicator reports while their data stand
    install_security(app, settings)  # headers, CORS (only if configured), auth-failure limit
    if store is not None:
        app.state.store = store
    if registry is not None:
        app.state.registry = registry

    app.include_router(health.router)  # no data: stays open
    app.include_router(ui.public_router)  # the message catalogue: no data, stays open
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
        devices_admin.router,  # before parks: /devices/pending is no device id
        parks.router,
        quarantine.router,
        ledger.router,
        energy.router,
        reports.router,
        declared.router,
        baselines.router,
        savings.router,
        footprints.router,
        tables.router,
        maintenance.router,
        instruments.router,
        accounting.router,
        alarms.router,
        live.router,
        me.router,
        targets.router,
        city.router,
        ui.router,
    ):
        app.include_router(router, dependencies=secured, responses=auth_responses)
    install_error_handlers(app)  # every error answered from one table: api/errors.py
    app.openapi = _openapi_keeping_nulls(app)  # type: ignore[method-assign]

    app.mount("/static", _RevalidatedStatic(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    return app


def _follow_registry(
    app: FastAPI, watch: RegistryWatch, hub: StreamHub, engine: AlarmEngine | None
) -> None:
    """Devices approved or retired while the server runs reach the routes, the live stream and
    the alarm engine within the watch's poll period, without a restart."""

    def use(registry: Registry) -> None:
        app.state.registry = registry
        hub.use_registry(registry.parks)
        if engine is not None:
            engine.use_registry(registry)

    watch.listeners.append(use)


CITY_WARM_DELAY_S = 5.0
"""Wait after start before the city is evaluated in the background [s]: the server takes its
first requests (a health check, the page) without sharing the cores at once."""


def _warm_city(app: FastAPI) -> threading.Event:
    """Evaluate every park into the app's report cache in a background thread when the registry
    has 2 or more parks: today (the city page's first view), this month, this year and last
    year, each with the period before (the trend), in that order; the event returned cancels
    it (set at shutdown: the thread stops between two periods, or before it starts)."""
    stop = threading.Event()
    registry: Registry = app.state.registry
    if len(registry.parks) < 2:
        return stop
    parks = [registry.parks[p] for p in sorted(registry.parks)]
    today = datetime.now(ZoneInfo(parks[0].park.timezone)).date()
    periods = [
        today.isoformat(),
        today.isoformat()[:7],
        str(today.year),
        str(today.year - 1),
    ]

    def run() -> None:
        if stop.wait(CITY_WARM_DELAY_S):
            return
        began = time.perf_counter()
        for period in periods:
            if stop.is_set():
                return
            try:
                evaluate_city(app.state.store, parks, period, cache=app.state.report_cache)
            except Exception as exc:  # the city view computes what is missing when asked
                if not stop.is_set():
                    log.warning("city: the warm-up evaluation of %s failed: %s", period, exc)
                return
        log.info(
            "city: %d parks evaluated for %s (and each period before) in %.1f s, kept for "
            "the city view",
            len(parks),
            ", ".join(periods),
            time.perf_counter() - began,
        )

    threading.Thread(target=run, name="city-warm", daemon=True).start()
    return stop


def _start_alarms(app: FastAPI, settings: Settings) -> AlarmEngine | None:
    """The alarm engine of this server, evaluating in a background thread (None when
    ``SMARTPARK_ALARMS=false``). It loads the stored alarms before the app takes requests, or,
    with the store down at start, on its first pass after the store answers again."""
    if not settings.alarms:
        app.state.alarm_engine = None
        return None
    engine = AlarmEngine(
        app.state.store,
        app.state.registry,
        load_rules(settings.alarm_rules),
        metrics_url=metrics_url_of(settings.metrics_host, settings.metrics_port),
        lease=alarm_leases(
            app.state.store,
            ttl_s=settings.alarm_lease_ttl_s,
            settle_s=settings.alarm_lease_settle_s,
            holder=settings.replica_id,
        )
        if settings.alarm_lease
        else None,
    )
    try:
        engine.load()
    except StoreUnavailableError as exc:
        # the server still starts: data routes answer 503 naming the store, /healthz says
        # degraded, and the engine's thread loads the stored alarms once the store answers
        log.warning("alarms: %s; the alarm engine waits for the store and retries", exc)
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
