"""Who is asking: ``GET /api/v1/me``."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException

from api.deps import PrincipalDep, RegistryDep
from api.schemas import MeOut
from config.auth import PrincipalRole

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["auth"])

_ROLES: dict[PrincipalRole, Literal["city", "operator", "tenant"]] = {
    PrincipalRole.CITY: "city",
    PrincipalRole.OPERATOR: "operator",
    PrincipalRole.TENANT: "tenant",
}


@router.get("/me", summary="The caller's role, park and tenant")
def me(principal: PrincipalDep, registry: RegistryDep) -> MeOut:
    """The key's name and role, the park and tenant it is bound to, and the ids of every park
    it may see: what a client needs to decide which pages to offer (a city key: every park; an
    operator or tenant key: its own). 401 without a key; a gateway key gets 403, as everywhere.
    With authentication off the caller is a city key named `auth-off`."""
    role = principal.role
    if role not in _ROLES:  # get_principal refuses gateway keys before this
        raise HTTPException(403, "this key cannot use the API")
    return MeOut(
        name=principal.name,
        role=_ROLES[role],
        park=principal.park,
        tenant=principal.tenant if role is PrincipalRole.TENANT else None,
        parks=sorted(p for p in registry.parks if principal.sees_park(p)),
    )
