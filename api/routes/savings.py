"""``GET /api/v1/parks/{park}/baselines/{id}/series`` — a baseline's reporting period period by
period (adjusted baseline, actual, the ± band of one period) for the savings chart of the
tenant page, with the totals of ``GET /baselines/{id}``. Staff keys only, as every baseline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from api.deps import ParkDep, StoreDep, require_roles
from config.auth import PrincipalRole
from services.baseline_series import baseline_series

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/parks", tags=["baselines"])


@router.get(
    "/{park}/baselines/{baseline_id}/series",
    summary="A baseline's reporting period, period by period, with its uncertainty band",
    dependencies=[Depends(require_roles(PrincipalRole.CITY, PrincipalRole.OPERATOR))],
    responses={
        200: {
            "description": "The reporting period, period by period",
            "content": {
                "application/json": {
                    "example": {
                        "id": "chipcore-2024",
                        "scope": "tenant:chipcore",
                        "unit": "kWh",
                        "granularity": "day",
                        "passed": True,
                        "time_ms": [1735660800000, 1735747200000],
                        "baseline": [2410.5, 2388.1],
                        "actual": [2150.2, 2101.7],
                        "band": 96.4,
                        "confidence": 0.68,
                        "savings": 546.7,
                        "uncertainty": 136.3,
                        "claimed": True,
                    }
                }
            },
        }
    },
)
def series(
    park: ParkDep,
    store: StoreDep,
    baseline_id: Annotated[str, Path(description="The baseline's id.")],
) -> dict[str, object]:
    """``time_ms`` period starts [ms], ``baseline`` and ``actual`` [unit] per period, ``band``
    the ± uncertainty of one period [unit] at ``confidence``; ``savings``, ``uncertainty`` and
    ``claimed`` over the whole reporting period (null before it has data)."""
    s = baseline_series(store, park, baseline_id)
    claim = s.result.claim
    return {
        "id": baseline_id,
        "scope": str(s.result.definition.scope),
        "unit": s.result.unit,
        "granularity": s.result.definition.granularity,
        "passed": s.result.passed,
        "time_ms": (s.start_ns // 1_000_000).tolist(),
        "baseline": s.baseline.tolist(),
        "actual": s.actual.tolist(),
        "band": s.band,
        "confidence": s.confidence,
        "savings": claim.savings.savings if claim else None,
        "uncertainty": claim.savings.uncertainty if claim else None,
        "claimed": bool(claim and claim.claimed),
    }
