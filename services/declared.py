"""Declared values: what the telemetry cannot measure, entered by the park for a year.

Water reuse, waste-heat use, solid-waste use, the product energy quota level, industrial value
added … are judged by the target profiles (config/data/targets.yaml) but no meter measures them.
A park operator declares them per scope (the park, or a tenant) and year; reports and target
evaluations use them and mark them *declared*, never *measured*.

Stored as measurement :data:`DECLARED`: tags ``park`` and ``device`` — which here holds the
scope (``park`` or ``tenant:<id>``) — one field per declared key, at the local start of the year.
Declaring a key again replaces its value; other keys are kept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from config.errors import InvalidRequestError
from config.registry import ParkRegistry
from config.targets import DECLARED_PREFIX, TargetTable, targets
from services.energy import Scope
from services.indicators import local_period
from store.base import Point, Store

__all__ = [
    "DECLARED",
    "Declarable",
    "DeclaredValueError",
    "declarable",
    "read_declared",
    "write_declared",
]

DECLARED = "declared"
"""Measurement of declared values."""

_FRACTION_UNITS = frozenset({"fraction", "share", "fraction/yr"})


class DeclaredValueError(InvalidRequestError):
    """A declared value with an unknown key, a value out of its range, or a bad scope."""


@dataclass(frozen=True, slots=True)
class Declarable:
    """A key a park may declare: its unit and the target indicators that read it."""

    key: str
    unit: str
    used_by: tuple[str, ...]  # "<profile>.<indicator>"
    low: float | None = None
    high: float | None = None


def declarable(table: TargetTable | None = None) -> dict[str, Declarable]:
    """Every key the target profiles read as declared, by key."""
    table = table or targets()
    out: dict[str, Declarable] = {}

    def add(key: str, unit: str, user: str, low: float | None, high: float | None) -> None:
        known = out.get(key)
        users = (*known.used_by, user) if known else (user,)
        out[key] = Declarable(key, unit, users, low, high)

    for profile in table.profiles:
        for ti in profile.indicators:
            user = f"{profile.id}.{ti.key}"
            if ti.declared:
                fraction = ti.unit in _FRACTION_UNITS
                low, high = (0.0, 1.0) if fraction else (0.0, None)
                if ti.unit == "quota level":
                    low, high = 1.0, 3.0
                add(ti.key, ti.unit, user, low, high)
            if ti.ratio is not None:
                for term in (*ti.ratio.numerator, *ti.ratio.denominator):
                    if term.startswith(DECLARED_PREFIX):
                        name = term.removeprefix(DECLARED_PREFIX)
                        unit = "10k CNY" if name.endswith("_10k_cny") else "see docs/targets.md"
                        add(name, unit, user, 0.0, None)
    return dict(sorted(out.items()))


def _check_scope(park: ParkRegistry, scope: Scope) -> None:
    if scope.kind == "park":
        return
    if scope.kind == "tenant" and any(t.id == scope.id for t in park.tenants):
        return
    if scope.kind == "tenant":
        raise DeclaredValueError(f"park {park.id!r} has no tenant {scope.id!r}")
    raise DeclaredValueError(f"values are declared for the park or a tenant, not {scope}")


def write_declared(
    store: Store, park: ParkRegistry, *, scope: Scope, year: int, values: Mapping[str, float]
) -> dict[str, float]:
    """Store ``values`` for ``scope`` and ``year``; returns every value now declared there.

    Raises :class:`DeclaredValueError` for an unknown key, a value outside its range (a
    fraction in [0, 1], a quota level 1–3, amounts ≥ 0), a non-finite value or a bad scope.
    """
    _check_scope(park, scope)
    if not values:
        raise DeclaredValueError("no values to declare")
    known = declarable()
    problems = []
    for key, value in values.items():
        d = known.get(key)
        if d is None:
            problems.append(f"{key!r} is not declarable (known: {', '.join(known)})")
        elif not math.isfinite(value):
            problems.append(f"{key}: {value!r} is not a finite number")
        elif (d.low is not None and value < d.low) or (d.high is not None and value > d.high):
            span = f"[{d.low:g}, {d.high:g}]" if d.high is not None else f">= {d.low:g}"
            problems.append(f"{key}: {value:g} is outside {span} ({d.unit})")
    if problems:
        raise DeclaredValueError("; ".join(problems))
    start_ns = local_period(str(year), park.park.timezone).start_ns
    store.write([Point(DECLARED, {"park": park.id, "device": str(scope)}, dict(values), start_ns)])
    return read_declared(store, park, scope=scope, year=year)


def read_declared(store: Store, park: ParkRegistry, *, scope: Scope, year: int) -> dict[str, float]:
    """The values declared for ``scope`` and ``year`` (empty when none)."""
    start_ns = local_period(str(year), park.park.timezone).start_ns
    out: dict[str, float] = {}
    for p in store.scan(park.id, measurement=DECLARED, start_ns=start_ns, end_ns=start_ns + 1):
        if p.device == str(scope):
            out.update(p.fields)
    return dict(sorted(out.items()))
