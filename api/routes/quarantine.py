"""Input the collector kept aside: ``/api/v1/quarantine``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import PrincipalDep, StoreDep, forbidden, require_roles
from api.schemas import QuarantineListOut, QuarantineOut, iso_from_ns, ms_from_ns
from config.auth import PrincipalRole

__all__ = ["router"]

# tenant keys are refused: quarantined payloads may be anybody's
router = APIRouter(
    prefix="/api/v1/quarantine",
    tags=["quarantine"],
    dependencies=[Depends(require_roles(PrincipalRole.CITY, PrincipalRole.OPERATOR))],
)


@router.get("", summary="Quarantined input, newest first")
def list_quarantine(
    store: StoreDep,
    principal: PrincipalDep,
    park: Annotated[
        str | None,
        Query(
            description="Only input addressed to this park id. Any id is accepted: input is often "
            "quarantined precisely because its park is unknown. An operator key sees its own "
            "park's only (the default for it)."
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many records.")] = 100,
) -> QuarantineListOut:
    """What was kept aside, why (``reason`` code and ``detail``), from which topic, and an excerpt
    of the payload."""
    if principal.role is PrincipalRole.OPERATOR:
        if park is not None and park != principal.park:
            raise forbidden(f"this key has no access to park {park!r}")
        park = principal.park
    records = store.quarantined(park=park, limit=limit)
    return QuarantineListOut(
        park=park,
        limit=limit,
        records=[
            QuarantineOut(
                received=iso_from_ns(r.received_ns),
                received_ms=ms_from_ns(r.received_ns),
                reason=r.reason,
                detail=r.detail,
                topic=r.topic,
                excerpt=r.excerpt,
                park=r.park,
                device=r.device,
            )
            for r in records
        ],
    )
