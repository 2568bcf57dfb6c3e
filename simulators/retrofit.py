"""Retrofits the simulator applies, so baselines and savings are tested against a known answer.

A retrofit changes a tenant's electric load from a local date on, on every leaf load meter of the
tenant (its own ``tenant`` or its floor's), in one of two ways:

- ``load`` — the meter draws ``factor`` × what it would have drawn, hour by hour, HVAC included
  (lighting, drives, a process made leaner);
- ``hvac`` — only the temperature-dependent part of the load, the HVAC term the park model adds
  to the occupancy shape (:mod:`simulators.park`), is scaled by ``factor`` (a heat pump for
  resistive heating, a better envelope): the saving grows with the heating or cooling demand of
  the day and is zero on a mild one.

Either way the tenant's output (production counters) and every random draw stay as they were. So
the energy saved in an interval is exactly what the meter would have read without the retrofit
minus what it reads with it, and :class:`simulators.truth.TruthWriter` writes it per local day and
device (``record=retrofit``, ``docs/baselines.md``).

The text form of the CLI option ``--retrofit`` is ``TENANT:YYYY-MM-DD:FACTOR`` for a load
retrofit, e.g. ``chipcore:2025-01-15:0.85`` (a 15 % cut from 15 January 2025, local time), and
``TENANT:YYYY-MM-DD:hvac=FACTOR`` for an HVAC one, e.g. ``t01:2025-01-15:hvac=0.4`` (the HVAC
load 60 % lower); ``load=FACTOR`` is the same as ``FACTOR``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

from config.registry import DeviceKind, ParkRegistry

__all__ = [
    "Retrofit",
    "RetrofitError",
    "RetrofitPart",
    "load_scale",
    "parse_retrofit",
    "retrofit_devices",
]

RetrofitPart = Literal["load", "hvac"]
"""What a retrofit scales: the whole load, or only its temperature-dependent (HVAC) part."""


class RetrofitError(ValueError):
    """A retrofit the park cannot take: bad text, unknown tenant, or a factor outside (0, 2].

    ``key`` and ``params`` name its text in the message catalogue (``config/messages/
    baselines.yaml``), so the CLI can say it in either language; ``str()`` is the English."""

    def __init__(self, message: str, *, key: str = "", args: Sequence[object] = ()) -> None:
        super().__init__(message)
        self.key = key
        self.params = tuple(args)


@dataclass(frozen=True, slots=True)
class Retrofit:
    """The load of ``tenant`` — all of it, or only its HVAC part (``part``) — times ``factor``
    [-] from local date ``start`` on (inclusive)."""

    tenant: str
    start: date
    factor: float
    part: RetrofitPart = "load"

    def __str__(self) -> str:
        factor = f"{self.factor:g}" if self.part == "load" else f"{self.part}={self.factor:g}"
        return f"{self.tenant}:{self.start.isoformat()}:{factor}"


def parse_retrofit(text: str) -> Retrofit:
    """A :class:`Retrofit` from ``TENANT:YYYY-MM-DD:FACTOR`` or ``TENANT:YYYY-MM-DD:PART=FACTOR``
    (``PART`` ``load`` or ``hvac``); :class:`RetrofitError` otherwise. ``FACTOR`` [-] must lie in
    (0, 2] (below 1 a saving, above 1 a rise)."""
    parts = text.split(":")
    if len(parts) != 3 or not parts[0]:
        raise RetrofitError(
            f"retrofit {text!r}: write TENANT:YYYY-MM-DD:FACTOR or TENANT:YYYY-MM-DD:hvac=FACTOR",
            key="retrofit.error.syntax",
            args=(text,),
        )
    tenant, day, factor_text = parts
    part, eq, value = factor_text.partition("=")
    if not eq:
        part, value = "load", factor_text
    if part not in get_args(RetrofitPart):
        raise RetrofitError(
            f"retrofit {text!r}: the part must be load or hvac, got {part!r}",
            key="retrofit.error.part",
            args=(text, part),
        )
    try:
        start = date.fromisoformat(day)
        factor = float(value)
    except ValueError:
        raise RetrofitError(
            f"retrofit {text!r}: the date must be YYYY-MM-DD and the factor a number",
            key="retrofit.error.value",
            args=(text,),
        ) from None
    if not math.isfinite(factor) or not 0.0 < factor <= 2.0:
        raise RetrofitError(
            f"retrofit {text!r}: the factor must be in (0, 2], got {factor!r}",
            key="retrofit.error.factor",
            args=(text, factor),
        )
    return Retrofit(tenant, start, factor, part)  # type: ignore[arg-type]  # checked above


def retrofit_devices(
    park: ParkRegistry, retrofit: Retrofit, loads: npt.NDArray[np.intp]
) -> npt.NDArray[np.intp]:
    """Positions (registry order) among ``loads`` of the electricity meters of the retrofit's
    tenant; :class:`RetrofitError` for a tenant the park does not have, or one without a load
    meter."""
    if retrofit.tenant not in {t.id for t in park.tenants}:
        raise RetrofitError(
            f"retrofit: park {park.id!r} has no tenant {retrofit.tenant!r}",
            key="retrofit.error.tenant",
            args=(park.id, retrofit.tenant),
        )
    floor_tenant = {(b.id, f.number): f.tenant for b in park.buildings for f in b.floors}
    out = []
    for i in loads.tolist():
        d = park.devices[i]
        if d.kind is not DeviceKind.ELECTRICITY_METER:
            continue
        tenant = d.tenant
        if tenant is None and d.building is not None and d.floor is not None:
            tenant = floor_tenant.get((d.building, d.floor))
        if tenant == retrofit.tenant:
            out.append(i)
    if not out:
        raise RetrofitError(
            f"retrofit: tenant {retrofit.tenant!r} has no load meter to scale",
            key="retrofit.error.no_meter",
            args=(retrofit.tenant,),
        )
    return np.asarray(out, dtype=np.intp)


def load_scale(
    n: int,
    day: date,
    retrofits: Sequence[tuple[Retrofit, npt.NDArray[np.intp]]],
    part: RetrofitPart = "load",
) -> npt.NDArray[np.float64] | None:
    """Per device, the factor [-] its load (``part="load"``) or its HVAC part (``"hvac"``) is
    scaled by on local date ``day`` (retrofits of the same device and part multiply); None when
    no retrofit of that part applies that day."""
    scale: npt.NDArray[np.float64] | None = None
    for retrofit, devices in retrofits:
        if retrofit.part == part and day >= retrofit.start:
            if scale is None:
                scale = np.ones(n)
            scale[devices] *= retrofit.factor
    return scale
