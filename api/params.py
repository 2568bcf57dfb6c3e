"""Query-parameter types shared by the routers: instants and durations as users write them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema

__all__ = ["DEFAULT_WINDOW_NS", "EverySeconds", "InstantNs"]

DEFAULT_WINDOW_NS = 3600 * 1_000_000_000  # a range with no start: the hour before its end

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_NS = 2**63 - 1  # what a store's int64 timestamp holds (year 2262)
_MAX_EVERY_S = 366 * 86_400  # longer buckets are a report's business
_DIGITS = re.compile(r"[0-9]{1,19}")
_DURATION = re.compile(r"(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?")


def _ns_from_instant(value: object) -> object:
    """``start``/``end``: epoch milliseconds, or ISO-8601 with a UTC offset."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if _DIGITS.fullmatch(text):
        time_ns = int(text) * 1_000_000
    else:
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                "expected epoch milliseconds or ISO-8601, e.g. 2025-06-01T08:00:00+08:00"
            ) from None
        if when.tzinfo is None:
            raise ValueError("an ISO-8601 time needs a UTC offset (e.g. +08:00 or Z)")
        time_ns = (when - _EPOCH) // timedelta(microseconds=1) * 1000
    if not 0 <= time_ns <= _MAX_NS:
        raise ValueError("out of range: must lie between 1970 and 2262")
    return time_ns


def _seconds_from_every(value: object) -> object:
    """``every``: seconds (``300``) or a duration: ``30s``, ``5m``, ``1h``, ``1d``, ``1h30m``."""
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    if _DIGITS.fullmatch(text):
        seconds = int(text)
    else:
        match = _DURATION.fullmatch(text)
        if not text or match is None:
            raise ValueError("expected seconds or a duration like 30s, 5m, 1h, 1d or 1h30m")
        d, h, m, s = (int(g) if g else 0 for g in match.groups())
        seconds = ((d * 24 + h) * 60 + m) * 60 + s
    if not 0 < seconds <= _MAX_EVERY_S:
        raise ValueError(f"must be a positive duration of at most {_MAX_EVERY_S} s (366 days)")
    return seconds


InstantNs = Annotated[
    int,
    BeforeValidator(_ns_from_instant),
    WithJsonSchema({"type": "string", "examples": ["2025-06-01T08:00:00+08:00", "1748736000000"]}),
]
EverySeconds = Annotated[
    int,
    BeforeValidator(_seconds_from_every),
    WithJsonSchema({"type": "string", "examples": ["300", "5m", "1h"]}),
]
