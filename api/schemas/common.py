"""Answers every resource shares: errors, health, the caller (``/me``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas._base import _example, _Out

__all__ = ["ErrorOut", "HealthOut", "MeOut"]


class ErrorOut(_Out):
    """Every error the API returns: a stable code, a sentence for people, and details if any."""

    code: str = Field(examples=["not_found"])
    message: str = Field(examples=["unknown park 'nowhere'"])
    message_zh: str | None = Field(
        default=None,
        description="The same sentence in Chinese, where the error's text is in the message "
        "catalogue (e.g. a refused baseline).",
    )
    errors: list[dict[str, object]] | None = Field(
        default=None, description="Per-parameter problems (validation errors only)."
    )


class HealthOut(_Out):
    """Liveness and whether the store answers."""

    status: Literal["ok", "degraded"]
    store: Literal["ok", "unavailable"]
    stores: dict[str, Literal["ok", "unavailable"]] = Field(
        default_factory=dict,
        description="Each named store (SMARTPARK_STORES, `default` included) and whether it "
        "answers; one entry, `default`, with a single store.",
    )
    parks: int = Field(description="Number of parks in the registry.")
    version: str


# -- who am I, targets, the city view ------------------------------------------------------------


class MeOut(_Out):
    """The caller's key: its name, role, the park and tenant it is bound to, and the parks it
    may see."""

    model_config = _example(
        {
            "name": "chipcore",
            "role": "tenant",
            "park": "wuhan-demo",
            "tenant": "chipcore",
            "parks": ["wuhan-demo"],
        }
    )

    name: str = Field(description="The key's name in the key file (not the token).")
    role: Literal["city", "operator", "tenant"]
    park: str | None = Field(description="The key's park; null for a city key.")
    tenant: str | None = Field(description="The key's tenant; null unless a tenant key.")
    parks: list[str] = Field(description="Ids of the parks the key may see, sorted.")
