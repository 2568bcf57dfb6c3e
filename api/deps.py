"""Typed dependencies the handlers declare; they read what :func:`api.main.create_app` put on
``app.state``, so tests swap a store or registry by building the app with their own.

Access control lives here too, in one place (docs/api-security.md has the matrix):
:func:`get_principal` authenticates every request under ``/api/v1`` (``create_app`` attaches it to
each API router), :func:`get_park` refuses parks outside the principal's scope, and the other
``*Dep`` types narrow a tenant to its own devices and scope.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from config.auth import AUTH_OFF, ApiKeys, Principal, PrincipalRole
from config.errors import NotFoundError
from config.registry import Device, ParkRegistry, Registry, RegistryWatch
from config.settings import Settings
from services.report_cache import ReportCache
from store.base import Store

__all__ = [
    "ParkDep",
    "PrincipalDep",
    "RegistryDep",
    "ReportCacheDep",
    "SettingsDep",
    "StoreDep",
    "forbidden",
    "get_park",
    "get_principal",
    "get_registry",
    "get_report_cache",
    "get_settings_dep",
    "get_store",
    "require_roles",
    "scope_query",
    "scoped_device",
]

log = logging.getLogger("smartpark.api.auth")


def get_store(request: Request) -> Store:
    """The store the app was built with (or opened at start-up)."""
    store: Store = request.app.state.store
    return store


def get_registry(request: Request) -> Registry:
    """The park registry the app serves; reloaded (every few seconds at most) when devices were
    approved by another process (:class:`config.registry.RegistryWatch`)."""
    watch: RegistryWatch | None = getattr(request.app.state, "registry_watch", None)
    if watch is not None and (reloaded := watch.poll()) is not None:
        request.app.state.registry = reloaded
    registry: Registry = request.app.state.registry
    return registry


def get_settings_dep(request: Request) -> Settings:
    """The settings the app was built from."""
    settings: Settings = request.app.state.settings
    return settings


def get_report_cache(request: Request) -> ReportCache:
    """The app's :class:`~services.report_cache.ReportCache` (one per process): indicator
    reports kept while their data stand."""
    cache: ReportCache = request.app.state.report_cache
    return cache


StoreDep = Annotated[Store, Depends(get_store)]
ReportCacheDep = Annotated[ReportCache, Depends(get_report_cache)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


# -- who is asking -------------------------------------------------------------------------------

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="`Authorization: Bearer <token>`; `smartpark keys add` makes a token.",
)
_api_key = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="apiKey", description="The same token."
)


class _Unauthorized(HTTPException):
    """A 401 whose body carries ``code`` (``unauthorized``, ``key_expired``)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(401, message, headers={"WWW-Authenticate": "Bearer"})
        self.code = code


def _unauthorized(message: str, *, code: str = "unauthorized") -> HTTPException:
    return _Unauthorized(message, code)


def forbidden(message: str) -> HTTPException:
    """A 403 with ``message``."""
    return HTTPException(403, message)


def get_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Principal:
    """The principal of the request's token (``Authorization: Bearer`` or ``X-API-Key``).

    401 without a token or with an unknown one (code ``key_expired`` for a key past its
    ``expires`` day); 403 for a gateway key (publish-only). With auth
    off (``create_app(auth=None)``) every request is ``city``. The token is never logged.
    """
    keys: ApiKeys | None = request.app.state.auth
    if keys is None:
        return AUTH_OFF
    if bearer is None and request.headers.get("authorization") and api_key is None:
        raise _unauthorized("the Authorization header must be 'Bearer <token>'")
    token = bearer.credentials if bearer is not None else api_key
    if not token:
        raise _unauthorized("an API key is required: send 'Authorization: Bearer <token>'")
    entry = keys.lookup(token)  # a KeyFile reads its file again here when it has changed
    client = request.client.host if request.client else "?"
    if entry is None:
        log.info("refused an unknown API key from %s for %s", client, request.url.path)
        raise _unauthorized("invalid API key")
    if entry.expired():
        log.info("refused the expired key %r from %s", entry.name, client)
        raise _unauthorized(
            f"this API key expired after {entry.expires} (UTC); ask for a new one",
            code="key_expired",
        )
    principal = entry.principal
    if principal.role is PrincipalRole.GATEWAY:
        raise forbidden("a gateway key may only publish over MQTT; it cannot use the API")
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: PrincipalRole) -> Callable[[Principal], Principal]:
    """A dependency letting only ``roles`` through (403 for the others)."""
    allowed = frozenset(roles)
    names = " or ".join(str(r) for r in roles)

    def check(principal: PrincipalDep) -> Principal:
        if principal.role not in allowed:
            raise forbidden(f"only {names} keys may use this endpoint")
        return principal

    return check


# -- what it may see -----------------------------------------------------------------------------


def get_park(
    park: Annotated[str, Path(description="Park id, as in the registry (e.g. `wuhan-demo`).")],
    registry: RegistryDep,
    principal: PrincipalDep,
) -> ParkRegistry:
    """The park named in the path: 403 outside the principal's parks (whether it exists or not,
    so a key learns nothing of other parks), else 404 when unknown."""
    if not principal.sees_park(park):
        raise forbidden(f"this key has no access to park {park!r}")
    found = registry.park(park)
    if found is None:
        raise NotFoundError(f"unknown park {park!r}")
    return found


ParkDep = Annotated[ParkRegistry, Depends(get_park)]


def scoped_device(
    park: ParkDep,
    principal: PrincipalDep,
    device: Annotated[str, Query(description="Device id.")],
) -> Device:
    """The device named by the ``device`` query parameter: 403 for a tenant unless the device is
    its own (shared, park-level devices included), else 404 when the park has no such device."""
    dev = park.device(device)
    if principal.role is PrincipalRole.TENANT and (
        dev is None or not principal.sees_tenant(park.id, dev.tenant)
    ):
        raise forbidden(f"device {device!r} is not one of tenant {principal.tenant!r}'s")
    if dev is None:
        raise NotFoundError(f"park {park.id!r} has no device {device!r}")
    return dev


ScopedDeviceDep = Annotated[Device, Depends(scoped_device)]


def scope_query(description: str) -> Callable[[Principal, str | None], str]:
    """A dependency for a ``scope`` query parameter (``park``, ``tenant:<id>`` …): a tenant may
    only ask for ``tenant:<own id>``, which is also its default; for the others it defaults to
    ``park``."""

    def scope(principal: Principal, scope: str | None = None) -> str:
        if principal.role is not PrincipalRole.TENANT:
            return scope if scope is not None else "park"
        own = f"tenant:{principal.tenant}"
        if scope is None:
            return own
        if scope.strip() != own:
            raise forbidden(f"a tenant key may only ask for scope {own!r}")
        return own

    # the description is per endpoint, so the signature FastAPI reads is built here at run time
    # (string annotations could not see ``description``)
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    setattr(  # noqa: B010 (mypy does not know functions have __signature__)
        scope,
        "__signature__",
        inspect.Signature(
            [
                inspect.Parameter("principal", kind, annotation=PrincipalDep),
                inspect.Parameter(
                    "scope",
                    kind,
                    default=None,
                    annotation=Annotated[str | None, Query(description=description)],
                ),
            ],
            return_annotation=str,
        ),
    )
    return scope
