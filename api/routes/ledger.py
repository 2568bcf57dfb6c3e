"""Interval energy with quality codes: ``GET /api/v1/parks/{park}/ledger``."""

from __future__ import annotations

import time
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query

from analytics.intervals import Quality, known_pct, measured_pct
from api.deps import ParkDep, ScopedDeviceDep, StoreDep
from api.params import EverySeconds, InstantNs
from api.routes.parks import MAX_POINTS
from api.schemas import (
    LedgerFieldOut,
    LedgerIntervalOut,
    LedgerIssueOut,
    LedgerOut,
    finite_or_none,
    iso_from_ns,
    ms_from_ns,
)
from config.errors import InvalidRequestError
from services.ledger import device_ledger

__all__ = ["DEFAULT_LEDGER_WINDOW_NS", "router"]

router = APIRouter(prefix="/api/v1/parks", tags=["ledger"])

DEFAULT_LEDGER_WINDOW_NS = 86_400 * 1_000_000_000  # no start given: the day before end
_QUALITY_NAMES = {int(q): q.name.lower() for q in Quality}


@router.get("/{park}/ledger", summary="Interval energy of a device, with quality codes")
def ledger(
    park: ParkDep,
    store: StoreDep,
    *,
    dev: ScopedDeviceDep,
    start: Annotated[
        InstantNs | None,
        Query(
            description="Inclusive start (ISO-8601 with offset, or epoch ms); default end - 1 d."
        ),
    ] = None,
    end: Annotated[InstantNs | None, Query(description="Exclusive end; default now.")] = None,
    interval: Annotated[
        EverySeconds, Query(description="Interval length (seconds, or `15m`, `1h`).")
    ] = 900,
) -> LedgerOut:
    """Energy per interval of each register of a device (energy, volume …), computed from its
    cumulative readings: resets, rollovers and gaps are corrected or flagged, never hidden."""
    end_ns = end if end is not None else time.time_ns()
    start_ns = start if start is not None else end_ns - DEFAULT_LEDGER_WINDOW_NS
    if end_ns <= start_ns:
        raise InvalidRequestError("end must be after start")
    intervals = (end_ns - start_ns) // (interval * 1_000_000_000) + 1
    if intervals > MAX_POINTS:
        raise InvalidRequestError(
            f"{intervals} intervals is more than {MAX_POINTS}; use a longer interval"
        )
    fields = []
    for result in device_ledger(
        store, park.id, dev, start_ns=start_ns, end_ns=end_ns, interval_s=interval
    ):
        led = result.ledger
        codes, counts = np.unique(led.quality, return_counts=True)
        known = known_pct(led.quality)
        fields.append(
            LedgerFieldOut(
                field=result.field,
                unit=result.unit,
                total=led.total(),
                completeness_pct=known,
                known_pct=known,
                measured_pct=measured_pct(led.quality),
                quality_counts={
                    _QUALITY_NAMES[int(c)]: int(n) for c, n in zip(codes, counts, strict=True)
                },
                intervals=[
                    LedgerIntervalOut(
                        start=iso_from_ns(int(t)),
                        start_ms=ms_from_ns(int(t)),
                        energy=finite_or_none(float(e)),
                        quality=_QUALITY_NAMES[int(q)],
                    )
                    for t, e, q in zip(led.start_ns, led.energy, led.quality, strict=True)
                ],
                issues=[LedgerIssueOut(code=str(i.code), message=i.message) for i in led.issues],
            )
        )
    return LedgerOut(
        park=park.id,
        device=dev.id,
        interval_s=interval,
        start=iso_from_ns(start_ns),
        start_ms=ms_from_ns(start_ns),
        end=iso_from_ns(end_ns),
        end_ms=ms_from_ns(end_ns),
        fields=fields,
    )
