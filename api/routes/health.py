"""Liveness and readiness: ``/healthz``."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import RegistryDep, StoreDep
from api.schemas import HealthOut
from config.version import smartpark_version as package_version

__all__ = ["package_version", "router"]

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    summary="Health",
    responses={503: {"model": HealthOut, "description": "The store does not answer."}},
)
def healthz(store: StoreDep, registry: RegistryDep, response: Response) -> HealthOut:
    """``ok`` (200) while the store answers, ``degraded`` (503) when it does not."""
    store_ok = store.ping()
    if not store_ok:
        response.status_code = 503
    return HealthOut(
        status="ok" if store_ok else "degraded",
        store="ok" if store_ok else "unavailable",
        parks=len(registry.parks),
        version=package_version(),
    )
