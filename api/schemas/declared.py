"""Declared values (``/declared/{year}``): what the telemetry cannot measure, in and out."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DeclarableOut", "DeclaredIn", "DeclaredOut"]


class DeclarableOut(BaseModel):
    """A key that may be declared."""

    unit: str
    used_by: list[str] = Field(description="target indicators that read it, profile.indicator")
    min: float | None
    max: float | None


class DeclaredOut(BaseModel):
    """The values declared for a scope and year, and every key that may be declared."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "park": "wuhan-demo",
                    "scope": "park",
                    "year": 2025,
                    "values": {"water_reuse": 0.82},
                    "declarable": {
                        "water_reuse": {
                            "unit": "fraction",
                            "used_by": ["zero_carbon_park.water_reuse"],
                            "min": 0.0,
                            "max": 1.0,
                        }
                    },
                }
            ]
        }
    )

    park: str
    scope: str
    year: int
    values: dict[str, float]
    declarable: dict[str, DeclarableOut]


class DeclaredIn(BaseModel):
    """Values to declare (others already declared are kept)."""

    scope: str = Field(default="park", examples=["park", "tenant:chipcore"])
    values: dict[str, float] = Field(
        min_length=1, examples=[{"water_reuse": 0.82, "waste_heat_use": 0.55}]
    )
