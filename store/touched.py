"""Touched marks: what the collector writes beside each batch so the ledger follower knows what
arrived (:mod:`services.follow` reads them).

One mark per (park, device) of a stored batch: measurement :data:`store.base.TOUCHED`, tags
``park``, ``device`` and ``collector`` (the writer), fields ``first_ms`` and ``last_ms`` (the
device times the batch covered [ms]), stamped with the wall-clock time of the write. Written in
the same store write as the readings, a mark is durable exactly when its readings are.

With ``live_s``, the devices of a park whose readings are all *live* (device times no older than
``live_s`` before the write) share one mark instead: device :data:`ALL_DEVICES`, spanning all of
them. A live stream of single readings from a thousand meters then costs one mark per park and
batch, not one per meter (each mark is a point InfluxDB indexes and stores like a reading). The
follower finds the devices of such a mark in the readings themselves: every device with a
register reading in its span. Late readings keep their own per-device marks, so a reading into
yesterday never makes the follower look at every device's yesterday.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from store.base import TOUCHED, Point, Store

__all__ = ["ALL_DEVICES", "LIVE_S", "SETTLE_S", "arrived_since", "touched_marks"]

ALL_DEVICES = "*"
"""Device tag of a park-wide mark (no device id can be ``*``: config/registry.py's pattern)."""

LIVE_S = 1_800.0
"""Readings at most this old [s] when written count as live: the collector's marks for them are
park-wide (two ledger intervals of 15 minutes; a late reading is older)."""

SETTLE_S = 30.0
"""How far before a moment [s] a mark may be stamped and yet be written after it: a write's
stamp precedes its completion by up to the store's timeout. The follower re-reads as far by
default (``services.follow.LedgerFollower``'s ``settle_s``), the city's kept reports look as far
back (:func:`arrived_since`)."""

_NS_PER_MS = 1_000_000
_AHEAD_NS = 86_400 * 10**9  # marks stamped by a clock this far ahead [ns] still count


def touched_marks(
    points: Iterable[Point],
    *,
    now_ns: int,
    source: str,
    devices: Callable[[str, str], bool],
    live_s: float | None = None,
) -> list[Point]:
    """One touched mark per (park, device) of ``points`` for which ``devices(park, device)`` is
    true: the first and last device time of its points [ms, floor and ceiling], stamped
    ``now_ns`` [ns] and tagged with the writer ``source``.

    With ``live_s`` [s], the devices of a park whose first time is at most ``live_s`` before
    ``now_ns`` share one mark of device :data:`ALL_DEVICES` spanning all their points."""
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
    if live_s is not None:
        since = now_ns - int(live_s * 1e9)
        merged: dict[tuple[str, str], list[int]] = {}
        for (park, device), span in spans.items():
            key = (park, ALL_DEVICES) if span[0] >= since else (park, device)
            both = merged.get(key)
            if both is None:
                merged[key] = span
            else:
                both[0] = min(both[0], span[0])
                both[1] = max(both[1], span[1])
        spans = merged
    return [
        Point(
            TOUCHED,
            {"park": park, "device": device, "collector": source},
            {"first_ms": float(lo // _NS_PER_MS), "last_ms": float(-(-hi // _NS_PER_MS))},
            now_ns,
        )
        for (park, device), (lo, hi) in spans.items()
    ]


def arrived_since(
    store: Store, park: str, *, since_ns: int, now_ns: int, start_ns: int, end_ns: int
) -> bool:
    """Whether readings of ``park`` with device times in ``[start_ns, end_ns)`` [ns] were
    stored at or after ``since_ns`` (the wall clock [ns], less :data:`SETTLE_S`): a touched mark
    stamped since then whose span overlaps the range. One :meth:`~store.base.Store.columns` of
    the marks stamped since, up to a day past ``now_ns`` (a writer's clock ahead of ours)."""
    got = store.columns(
        park,
        measurement=TOUCHED,
        fields=["first_ms", "last_ms"],
        start_ns=since_ns - int(SETTLE_S * 1e9),
        end_ns=now_ns + _AHEAD_NS,
    )
    for cols in got.values():
        first = np.asarray(cols.values["first_ms"], dtype=np.float64) * _NS_PER_MS
        last = np.asarray(cols.values["last_ms"], dtype=np.float64) * _NS_PER_MS
        if np.any((first < end_ns) & (last >= start_ns)):
            return True
    return False
