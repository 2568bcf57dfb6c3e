"""Retrofits the simulator applies, so baselines and savings are tested against a known answer.

A retrofit scales a tenant's electric load from a local date on: every leaf load meter of the
tenant (its own ``tenant`` or its floor's) draws ``factor`` × what it would have drawn, hour by
hour, HVAC included, while its output (production counters) and every random draw stay as they
were. So the energy saved in an interval is exactly what the meter would have read without the
retrofit minus what it reads with it, and :class:`simulators.truth.TruthWriter` writes it per
local day and device (``record=retrofit``, ``docs/baselines.md``).

The text form of the CLI option ``--retrofit`` is ``TENANT:YYYY-MM-DD:FACTOR``, e.g.
``chipcore:2025-01-15:0.85`` (a 15 % cut from 15 January 2025, local time).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from config.registry import DeviceKind, ParkRegistry

__all__ = ["Retrofit", "RetrofitError", "load_scale", "parse_retrofit", "retrofit_devices"]


class RetrofitError(ValueError):
    """A retrofit the park cannot take: bad text, unknown tenant, or a factor outside (0, 2]."""


@dataclass(frozen=True, slots=True)
class Retrofit:
    """The load of ``tenant`` times ``factor`` [-] from local date ``start`` on (inclusive)."""

    tenant: str
    start: date
    factor: float

    def __str__(self) -> str:
        return f"{self.tenant}:{self.start.isoformat()}:{self.factor:g}"


def parse_retrofit(text: str) -> Retrofit:
    """A :class:`Retrofit` from ``TENANT:YYYY-MM-DD:FACTOR``; :class:`RetrofitError` otherwise.
    ``FACTOR`` [-] must lie in (0, 2] (below 1 a saving, above 1 a rise)."""
    parts = text.split(":")
    if len(parts) != 3 or not parts[0]:
        raise RetrofitError(f"retrofit {text!r}: write TENANT:YYYY-MM-DD:FACTOR")
    tenant, day, factor_text = parts
    try:
        start = date.fromisoformat(day)
        factor = float(factor_text)
    except ValueError:
        raise RetrofitError(
            f"retrofit {text!r}: the date must be YYYY-MM-DD and the factor a number"
        ) from None
    if not math.isfinite(factor) or not 0.0 < factor <= 2.0:
        raise RetrofitError(f"retrofit {text!r}: the factor must be in (0, 2], got {factor!r}")
    return Retrofit(tenant, start, factor)


def retrofit_devices(
    park: ParkRegistry, retrofit: Retrofit, loads: npt.NDArray[np.intp]
) -> npt.NDArray[np.intp]:
    """Positions (registry order) among ``loads`` of the electricity meters of the retrofit's
    tenant; :class:`RetrofitError` for a tenant the park does not have, or one without a load
    meter."""
    if retrofit.tenant not in {t.id for t in park.tenants}:
        raise RetrofitError(f"retrofit: park {park.id!r} has no tenant {retrofit.tenant!r}")
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
        raise RetrofitError(f"retrofit: tenant {retrofit.tenant!r} has no load meter to scale")
    return np.asarray(out, dtype=np.intp)


def load_scale(
    n: int,
    day: date,
    retrofits: Sequence[tuple[Retrofit, npt.NDArray[np.intp]]],
) -> npt.NDArray[np.float64] | None:
    """Per device, the factor [-] its load is scaled by on local date ``day`` (retrofits of the
    same device multiply); None when no retrofit applies that day."""
    scale: npt.NDArray[np.float64] | None = None
    for retrofit, devices in retrofits:
        if day >= retrofit.start:
            if scale is None:
                scale = np.ones(n)
            scale[devices] *= retrofit.factor
    return scale
