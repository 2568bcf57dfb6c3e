"""What the dashboard must not repeat: ``GET /api/v1/ui-config`` and ``GET /messages``.

The page judges data the way the server does (a verdict needs 90 % measured data, a reading is
stale after 60 s). It reads those numbers here instead of writing them a second time. It reads
its texts from the one message catalogue (``config/messages/``) that the reports and the API's
messages use, so no label is written twice. The catalogue holds no data: it is served without a
key, outside ``/api/v1`` like ``/healthz`` (``public_router``), as the page needs its texts to
ask for one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.routes.parks import STALE_AFTER_S
from config.messages import Lang, Text, texts
from services.targets import MIN_COMPLETENESS_PCT

__all__ = ["MessagesOut", "UiConfigOut", "public_router", "router"]

router = APIRouter(prefix="/api/v1", tags=["dashboard"])
public_router = APIRouter(tags=["dashboard"])


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


class MessagesOut(BaseModel):
    """Every text of the message catalogue in one language."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "lang": "en",
                    "messages": {
                        "ui.loading": "Loading…",
                        "device_kind.pv_inverter": "PV inverter",
                        "ui.n_devices": {"one": "{0} device", "other": "{0} devices"},
                    },
                }
            ]
        },
    )

    lang: Lang
    messages: dict[str, Text] = Field(
        description="key → text; `{0}`, `{1}` … are arguments in order, `{name}` by name; a "
        "text with plural forms is an object by CLDR category (`one`, `other`)."
    )


@public_router.get("/messages", summary="The dashboard's texts in one language")
def messages(
    response: Response,
    lang: Annotated[Lang, Query(description="`zh` (Chinese) or `en` (English)")] = "zh",
) -> MessagesOut:
    """Every label, unit, device kind, field, grid region and alarm text of the message
    catalogue in ``lang``. No key needed: it holds no data, and the page shows it before it
    has one."""
    response.headers["Cache-Control"] = "no-cache"
    return MessagesOut(lang=lang, messages=texts(lang))
