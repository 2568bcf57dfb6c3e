"""Touched marks: what the collector writes beside each batch so the ledger follower knows what
arrived (:mod:`services.follow` reads them).

One mark per (park, device) of a stored batch: measurement :data:`store.base.TOUCHED`, tags
``park``, ``device`` and ``collector`` (the writer), fields ``first_ms`` and ``last_ms`` (the
device times the batch covered [ms]), stamped with the wall-clock time of the write. Written in
the same store write as the readings, a mark is durable exactly when its readings are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from store.base import TOUCHED, Point

__all__ = ["touched_marks"]

_NS_PER_MS = 1_000_000


def touched_marks(
    points: Iterable[Point], *, now_ns: int, source: str, devices: Callable[[str, str], bool]
) -> list[Point]:
    """One touched mark per (park, device) of ``points`` for which ``devices(park, device)`` is
    true: the first and last device time of its points [ms, floor and ceiling], stamped
    ``now_ns`` [ns] and tagged with the writer ``source``."""
    spans: dict[tuple[str, str], list[int]] = {}
    for p in points:
        key = (p.tags["park"], p.tags["device"])
        span = spans.get(key)
        if span is None:
            if not devices(*key):
                continue
            spans[key] = [p.time_ns, p.time_ns]
        else:
            span[0] = min(span[0], p.time_ns)
            span[1] = max(span[1], p.time_ns)
    return [
        Point(
            TOUCHED,
            {"park": park, "device": device, "collector": source},
            {"first_ms": float(lo // _NS_PER_MS), "last_ms": float(-(-hi // _NS_PER_MS))},
            now_ns,
        )
        for (park, device), (lo, hi) in spans.items()
    ]
