"""The base every response model shares, and the time helpers the routes use.

Every instant goes out twice, as an ISO-8601 UTC string (``...Z``, millisecond precision) and as
integer milliseconds since the epoch (``*_ms``), so a browser and a script both read it without
parsing. Values are canonical units; the unit is in the field name (``power_kw``) or given beside
the value. Non-finite numbers (which JSON cannot carry) go out as ``null``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["finite_or_none", "iso_from_ns", "ms_from_ns"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ms_from_ns(time_ns: int) -> int:
    """Epoch milliseconds (floored) from epoch nanoseconds."""
    return time_ns // 1_000_000


def iso_from_ns(time_ns: int) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``, e.g. ``2025-06-01T04:00:00.000Z``."""
    when = _EPOCH + timedelta(milliseconds=ms_from_ns(time_ns))
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def finite_or_none(value: float) -> float | None:
    """The value, or None when it is NaN or infinite."""
    return value if math.isfinite(value) else None


class _Out(BaseModel):
    # from_attributes: a route builds an answer from a domain object whose attributes have the
    # answer's names with ``Model.model_validate(obj)``, not field by field
    model_config = ConfigDict(frozen=True, from_attributes=True)


def _example(example: dict[str, Any]) -> ConfigDict:
    """The model config of a response model with ``example`` as its OpenAPI example."""
    return ConfigDict(frozen=True, from_attributes=True, json_schema_extra={"examples": [example]})


_T = {"time": "2025-06-01T04:00:00.000Z", "time_ms": 1748750400000}


_RANGE = {
    "start": "2025-05-31T16:00:00.000Z",
    "start_ms": 1748707200000,
    "end": "2025-06-01T16:00:00.000Z",
    "end_ms": 1748793600000,
}
