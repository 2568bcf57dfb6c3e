"""Typed dependencies the handlers declare; they read what :func:`api.main.create_app` put on
``app.state``, so tests swap a store or registry by building the app with their own.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request

from config.registry import ParkRegistry, Registry
from config.settings import Settings
from store.base import Store

__all__ = [
    "ParkDep",
    "RegistryDep",
    "SettingsDep",
    "StoreDep",
    "get_park",
    "get_registry",
    "get_settings_dep",
    "get_store",
]


def get_store(request: Request) -> Store:
    """The store the app was built with (or opened at start-up)."""
    store: Store = request.app.state.store
    return store


def get_registry(request: Request) -> Registry:
    """The park registry the app serves."""
    registry: Registry = request.app.state.registry
    return registry


def get_settings_dep(request: Request) -> Settings:
    """The settings the app was built from."""
    settings: Settings = request.app.state.settings
    return settings


StoreDep = Annotated[Store, Depends(get_store)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_park(
    park: Annotated[str, Path(description="Park id, as in the registry (e.g. `wuhan-demo`).")],
    registry: RegistryDep,
) -> ParkRegistry:
    """The park named in the path, or 404."""
    found = registry.park(park)
    if found is None:
        raise HTTPException(status_code=404, detail=f"unknown park {park!r}")
    return found


ParkDep = Annotated[ParkRegistry, Depends(get_park)]
