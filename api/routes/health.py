"""Liveness and readiness: ``/healthz``."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import RegistryDep, StoreDep
from api.schemas import HealthOut
from config.settings import DEFAULT_STORE
from config.version import smartpark_version as package_version
from store.routed import RoutedStore

__all__ = ["package_version", "router"]

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    summary="Health",
    responses={503: {"model": HealthOut, "description": "No store answers."}},
)
def healthz(store: StoreDep, registry: RegistryDep, response: Response) -> HealthOut:
    """``ok`` (200) while every store answers; ``degraded`` when one does not, answered 503 only
    when none does (with several stores, the parks of the others are still served, so a load
    balancer must not take the server out). ``stores`` says which store answers."""
    answers = store.health() if isinstance(store, RoutedStore) else {DEFAULT_STORE: store.ping()}
    if not any(answers.values()):
        response.status_code = 503
    all_ok = all(answers.values())
    return HealthOut(
        status="ok" if all_ok else "degraded",
        store="ok" if all_ok else "unavailable",
        stores={name: "ok" if ok else "unavailable" for name, ok in answers.items()},
        parks=len(registry.parks),
        version=package_version(),
    )
