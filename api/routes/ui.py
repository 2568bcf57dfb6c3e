"""What the dashboard must not repeat: ``GET /api/v1/ui-config``.

The page judges data the way the server does (a verdict needs 90 % measured data, a reading is
stale after 60 s). It reads those numbers here instead of writing them a second time.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.routes.parks import STALE_AFTER_S
from services.targets import MIN_COMPLETENESS_PCT

__all__ = ["UiConfigOut", "router"]

router = APIRouter(prefix="/api/v1", tags=["dashboard"])


class UiConfigOut(BaseModel):
    """The thresholds the dashboard shows data against, as the server applies them."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {"min_completeness_pct": MIN_COMPLETENESS_PCT, "stale_after_s": STALE_AFTER_S}
            ]
        },
    )

    min_completeness_pct: float = Field(
        description="Below this share of measured data [%] a target gets no verdict "
        "(`not_enough_data`) and a day's bar is drawn as partial."
    )
    stale_after_s: float = Field(
        description="A device with no reading for longer than this [s] is stale, as in `/latest`."
    )


@router.get("/ui-config", summary="Thresholds the dashboard applies")
def ui_config() -> UiConfigOut:
    """The completeness [%] a verdict needs (as `/targets` and the reports apply it) and the age
    [s] after which a reading is stale (as `/latest` marks it). Needs a key, like every route."""
    return UiConfigOut(min_completeness_pct=MIN_COMPLETENESS_PCT, stale_after_s=STALE_AFTER_S)
