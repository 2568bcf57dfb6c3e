"""Green-electricity instruments matched to consumption, each kWh claimed once.

An instrument is a green certificate batch (GEC, 绿证: 1 GEC = 1,000 kWh, NDRC/MOF/NEA
发改能源[2023]1044号), a green-power trading contract (绿电交易, certificates transferred with
the power) or direct supply (绿电直连). :func:`match` allocates instruments to consumption
buckets (one local month of one scope) under the GHG Protocol Scope 2 Guidance (WRI/WBCSD,
2015) Quality Criteria and 发改环资[2025]910号:

1. **Unique claim** (Quality Criteria 2–3): every kWh of an instrument is allocated at most once.
   An instrument is retired against one consumption period inside one calendar year and one
   scope, so it can never count in two years or for two tenants; across the months of its
   period its kWh are split, never repeated (an annual batch is not reused every month).
2. **Never above consumption**: a bucket receives at most its consumption; what an instrument
   cannot place is returned as unused, never carried elsewhere.
3. **Vintage** (Quality Criterion 5, "as close as possible to the period of consumption"):
   a contract or direct supply covers only the months it delivered power (its generation
   period); a GEC covers consumption from its first generation month for ``gec_validity_months``
   (24: a GEC is valid two years from the month of generation, NEA 国能发新能规[2024]67号
   《可再生能源绿色电力证书核发和交易规则》 [U: verify]). Consumption before generation is never
   covered.
4. **Scope** (910: certified green power of the park's own consumption): a tenant-scoped
   instrument covers only that tenant's bucket; a park-scoped one covers only the park-level
   bucket, so it reduces the park total and no tenant's figure. Every allocation in a month,
   tenant or park, also draws on the park-level bucket, so the green kWh of all tenants together
   never exceed the park's consumption.

Allocation is deterministic and greedy, not an optimum: tenant-scoped instruments first (they
have only one place to go), then park-scoped ones, each group in order of id; each instrument
fills its months in calendar order. Months are integer indices, ``year × 12 + month − 1`` of the
park's local calendar (:func:`month_index`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from analytics.carbon import KWH_PER_GEC

__all__ = [
    "GEC_VALIDITY_MONTHS",
    "INSTRUMENT_KINDS",
    "Allocation",
    "ConsumptionBucket",
    "Instrument",
    "InstrumentKind",
    "InstrumentProblem",
    "MatchResult",
    "gec_batch",
    "instrument_problems",
    "match",
    "month_index",
    "year_month",
]

InstrumentKind = Literal["gec", "contract", "direct"]
"""``gec`` = green electricity certificates (绿证); ``contract`` = green-power trading (绿电交易);
``direct`` = green-power direct supply (绿电直连)."""

INSTRUMENT_KINDS: tuple[InstrumentKind, ...] = ("gec", "contract", "direct")

# A GEC is valid for two years counted from its month of generation, NEA 国能发新能规[2024]67号
# 《可再生能源绿色电力证书核发和交易规则》, 2024, [months]. Unverified [U]: check the text.
GEC_VALIDITY_MONTHS = 24


def month_index(year: int, month: int) -> int:
    """Month index [months since year 0]: ``year × 12 + month − 1`` (month 1–12, local calendar).

    Raises
    ------
    ValueError
        If ``month`` is not 1–12.
    """
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1-12, got {month!r}")
    return year * 12 + month - 1


def year_month(index: int) -> tuple[int, int]:
    """(year, month 1–12) of a :func:`month_index`."""
    return index // 12, index % 12 + 1


@dataclass(frozen=True, slots=True)
class Instrument:
    """One green-electricity instrument.

    ``energy_kwh`` [kWh] is what it certifies (a GEC batch: count × kWh per certificate, see
    :func:`gec_batch`). ``generation_start``/``generation_end`` and ``retired_start``/
    ``retired_end`` are month indices (:func:`month_index`), start inclusive, end exclusive: when
    the power was generated, and the consumption months it is retired against. ``tenant`` is
    the scope: a tenant id, or ``None`` for the park as a whole. Both periods must lie inside one
    calendar year; ``vintage`` is that generation year.

    Raises
    ------
    ValueError
        On an empty id, an unknown kind, energy not finite and ≥ 0, an empty period, or a period
        crossing a calendar year.
    """

    id: str
    kind: InstrumentKind
    energy_kwh: float
    generation_start: int
    generation_end: int
    retired_start: int
    retired_end: int
    tenant: str | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("instrument id must not be empty")
        if self.kind not in INSTRUMENT_KINDS:
            raise ValueError(
                f"instrument {self.id}: kind {self.kind!r} is not one of "
                f"{', '.join(INSTRUMENT_KINDS)}"
            )
        if not (math.isfinite(self.energy_kwh) and self.energy_kwh >= 0):
            raise ValueError(
                f"instrument {self.id}: energy_kwh must be finite and >= 0, got {self.energy_kwh!r}"
            )
        for name, start, end in (
            ("generation", self.generation_start, self.generation_end),
            ("retired", self.retired_start, self.retired_end),
        ):
            if end <= start:
                raise ValueError(f"instrument {self.id}: {name}_end must be after {name}_start")
            if start // 12 != (end - 1) // 12:
                raise ValueError(
                    f"instrument {self.id}: the {name} period must lie in one calendar year"
                )

    @property
    def vintage(self) -> int:
        """Generation year [year]."""
        return self.generation_start // 12

    @property
    def reporting_year(self) -> int:
        """The calendar year of the consumption it is retired against [year]."""
        return self.retired_start // 12


def gec_batch(
    id: str,
    certificates: int,
    *,
    generation_start: int,
    generation_end: int,
    retired_start: int,
    retired_end: int,
    tenant: str | None = None,
    kwh_per_certificate: float = KWH_PER_GEC,
) -> Instrument:
    """A GEC batch as an :class:`Instrument`: energy = certificates × kWh per certificate [kWh].

    ``kwh_per_certificate`` [kWh/GEC] is 1,000 (发改能源[2023]1044号); periods as in
    :class:`Instrument`.

    Raises
    ------
    ValueError
        If ``certificates`` is negative or ``kwh_per_certificate`` is not > 0.
    """
    if certificates < 0:
        raise ValueError(f"instrument {id}: certificates must be >= 0, got {certificates!r}")
    if not kwh_per_certificate > 0:
        raise ValueError(f"kwh_per_certificate must be > 0, got {kwh_per_certificate!r}")
    return Instrument(
        id=id,
        kind="gec",
        energy_kwh=certificates * kwh_per_certificate,
        generation_start=generation_start,
        generation_end=generation_end,
        retired_start=retired_start,
        retired_end=retired_end,
        tenant=tenant,
    )


@dataclass(frozen=True, slots=True)
class ConsumptionBucket:
    """Electricity consumed [kWh] in one local month (:func:`month_index`) by one scope.

    ``tenant`` is a tenant id, or ``None`` for the park-level total (which includes the tenants).

    Raises
    ------
    ValueError
        If the consumption is not finite and ≥ 0 (unknown consumption cannot be matched).
    """

    month: int
    consumption_kwh: float
    tenant: str | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.consumption_kwh) and self.consumption_kwh >= 0):
            raise ValueError(
                f"consumption of month {self.month} ({self.tenant or 'park'}) must be finite "
                f"and >= 0, got {self.consumption_kwh!r}"
            )


@dataclass(frozen=True, slots=True)
class InstrumentProblem:
    """Why an instrument cannot be matched: its id, the field at fault and a code.

    Codes: ``duplicate_id`` (the same instrument twice: a double claim),
    ``retired_outside_generation`` (a contract or direct supply retired against a month it did
    not deliver), ``retired_before_generation`` (a GEC against consumption before its power was
    generated), ``retired_after_validity`` (a GEC against consumption after it expired).
    """

    instrument_id: str
    field: str
    code: str


def instrument_problems(
    instruments: Iterable[Instrument], *, gec_validity_months: int = GEC_VALIDITY_MONTHS
) -> tuple[InstrumentProblem, ...]:
    """Every violation of the unique-claim and vintage rules (module docstring), by id.

    ``gec_validity_months`` [months] is how long a GEC may cover consumption after its first
    generation month. An empty result means :func:`match` accepts the instruments.
    """
    problems: list[InstrumentProblem] = []
    seen: set[str] = set()
    for inst in sorted(instruments, key=lambda i: i.id):
        if inst.id in seen:
            problems.append(InstrumentProblem(inst.id, "id", "duplicate_id"))
            continue
        seen.add(inst.id)
        if inst.kind == "gec":
            if inst.retired_start < inst.generation_start:
                problems.append(
                    InstrumentProblem(inst.id, "retired_start", "retired_before_generation")
                )
            if inst.retired_end > inst.generation_start + gec_validity_months:
                problems.append(InstrumentProblem(inst.id, "retired_end", "retired_after_validity"))
        elif inst.retired_start < inst.generation_start or inst.retired_end > inst.generation_end:
            problems.append(
                InstrumentProblem(inst.id, "retired_start", "retired_outside_generation")
            )
    return tuple(problems)


@dataclass(frozen=True, slots=True)
class Allocation:
    """``energy_kwh`` [kWh] of instrument ``instrument_id`` claimed for one bucket."""

    instrument_id: str
    month: int
    tenant: str | None
    energy_kwh: float


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Allocations (in the order made) and the kWh each instrument could not place [kWh]."""

    allocations: tuple[Allocation, ...]
    unused_kwh: Mapping[str, float] = field(default_factory=dict)

    def green_kwh(self, month: int, tenant: str | None = None) -> float:
        """Certified green kWh [kWh] claimed for this bucket (``None``: park-scoped only)."""
        return sum(
            a.energy_kwh for a in self.allocations if a.month == month and a.tenant == tenant
        )

    def park_green_kwh(self, month: int) -> float:
        """All certified green kWh [kWh] claimed in a month: park-scoped plus every tenant's."""
        return sum(a.energy_kwh for a in self.allocations if a.month == month)

    def used_kwh(self, instrument_id: str) -> float:
        """kWh [kWh] of one instrument that were allocated."""
        return sum(a.energy_kwh for a in self.allocations if a.instrument_id == instrument_id)


def match(
    instruments: Iterable[Instrument],
    consumption: Iterable[ConsumptionBucket],
    *,
    gec_validity_months: int = GEC_VALIDITY_MONTHS,
) -> MatchResult:
    """Allocate instruments [kWh] to consumption buckets [kWh] by the rules of this module.

    Every month that has a tenant bucket must have a park-level bucket (``tenant=None``): it
    caps the sum of all claims in that month. A month or scope without a bucket receives
    nothing. Returns the allocations and, for every instrument, its unused kWh.

    Raises
    ------
    ValueError
        If any instrument has a problem (:func:`instrument_problems`; the message lists each id,
        field and code), a bucket is given twice, or a month has tenant buckets but no park total.
    """
    insts = list(instruments)
    problems = instrument_problems(insts, gec_validity_months=gec_validity_months)
    if problems:
        listed = "; ".join(f"{p.instrument_id}.{p.field}: {p.code}" for p in problems)
        raise ValueError(f"instruments cannot be matched: {listed}")
    left: dict[tuple[int, str | None], float] = {}
    for bucket in consumption:
        key = (bucket.month, bucket.tenant)
        if key in left:
            raise ValueError(
                f"consumption of month {bucket.month} ({bucket.tenant or 'park'}) given twice"
            )
        left[key] = float(bucket.consumption_kwh)
    missing = sorted({m for m, t in left if t is not None and (m, None) not in left})
    if missing:
        raise ValueError(f"months {missing} have tenant consumption but no park-level total")

    allocations: list[Allocation] = []
    unused: dict[str, float] = {}
    for inst in sorted(insts, key=lambda i: (i.tenant is None, i.id)):
        remaining = float(inst.energy_kwh)
        for month in range(inst.retired_start, inst.retired_end):
            key = (month, inst.tenant)
            if remaining <= 0 or key not in left:
                continue
            park = (month, None)
            cap = left[park] if inst.tenant is None else min(left[key], left[park])
            take = min(remaining, cap)
            if take <= 0:
                continue
            allocations.append(Allocation(inst.id, month, inst.tenant, take))
            remaining -= take
            left[park] -= take
            if inst.tenant is not None:
                left[key] -= take
        unused[inst.id] = remaining
    return MatchResult(tuple(allocations), unused)
