"""What an indicator answer is made of, and the helpers every concern of the package shares:
the period (parsed by :mod:`analytics.calendar`), the factor regions of a park, the indicator,
report and factor records, and a flow's total with its completeness."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from analytics import calendar, carbon
from analytics.calendar import LocalPeriod
from analytics.intervals import known_pct, measured_pct
from config.accounting import AccountingProfile
from config.errors import InvalidRequestError
from config.factors import Factor, FactorNotFoundError, FactorTable
from config.messages import message
from config.registry import ParkRegistry
from services.energy import Balance, Figure, Series

__all__ = [
    "GEC",
    "KG_PER_T",
    "NATIONAL",
    "FactorUsed",
    "Flow",
    "Indicator",
    "IndicatorReport",
    "Inputs",
    "InstrumentUse",
    "LocalPeriod",
    "PeriodError",
    "completeness",
    "factor_regions",
    "finite",
    "flow_of",
    "local_period",
    "lookup",
    "min_of",
    "missing",
]

# ISO 3166-2:CN province codes, as the factor tables name provinces (CN-HB = Hubei).
_PROVINCES = {
    "beijing": "BJ", "tianjin": "TJ", "hebei": "HE", "shanxi": "SX", "inner_mongolia": "NM",
    "liaoning": "LN", "jilin": "JL", "heilongjiang": "HL", "shanghai": "SH", "jiangsu": "JS",
    "zhejiang": "ZJ", "anhui": "AH", "fujian": "FJ", "jiangxi": "JX", "shandong": "SD",
    "henan": "HA", "hubei": "HB", "hunan": "HN", "guangdong": "GD", "guangxi": "GX",
    "hainan": "HI", "chongqing": "CQ", "sichuan": "SC", "guizhou": "GZ", "yunnan": "YN",
    "tibet": "XZ", "xizang": "XZ", "shaanxi": "SN", "gansu": "GS", "qinghai": "QH",
    "ningxia": "NX", "xinjiang": "XJ",
}  # fmt: skip
# The seven regional grids of the MEE/NBS factor announcements.
_GRID_REGIONS = {
    "north_china": "CN-NORTH", "northeast_china": "CN-NORTHEAST", "east_china": "CN-EAST",
    "central_china": "CN-CENTRAL", "northwest_china": "CN-NORTHWEST", "south_china": "CN-SOUTH",
    "southwest_china": "CN-SOUTHWEST",
}  # fmt: skip
NATIONAL = "CN"
KG_PER_T = 1000.0


class PeriodError(InvalidRequestError):
    """A period that is not ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, or not a real date."""


def local_period(text: str, tz: str) -> LocalPeriod:
    """``2026`` (year), ``2026-03`` (month) or ``2026-03-14`` (day) in the zone ``tz``
    (:func:`analytics.calendar.local_period`); raises :class:`PeriodError` for a bad one."""
    try:
        return calendar.local_period(text, tz)
    except calendar.PeriodParseError as exc:
        raise PeriodError(str(exc)) from None


def factor_regions(park: ParkRegistry) -> tuple[str, ...]:
    """Regions to look factors up in, most specific first: province, grid region, national."""
    out: list[str] = []
    province = (park.park.province or "").strip()
    if province:
        code = province if province.upper().startswith("CN-") else _PROVINCES.get(province.lower())
        if code:
            out.append(code if code.upper().startswith("CN-") else f"CN-{code}")
    grid = park.park.grid_region.strip()
    code = grid if grid.upper().startswith("CN-") else _GRID_REGIONS.get(grid.lower())
    if code:
        out.append(code)
    out.append(NATIONAL)
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True, slots=True)
class InstrumentUse:
    """A green instrument matched to this scope and period: its id, kind (``gec``, ``contract``,
    ``direct``), the kWh used [kWh], the local month ``YYYY-MM`` and the tenant (None: the
    park)."""

    # One month's claim of one scope; services.instruments.InstrumentUse is the other view, a
    # whole record of the ledger with what it covered in the year.
    instrument_id: str
    kind: str
    energy_kwh: float
    month: str
    tenant: str | None


@dataclass(frozen=True, slots=True)
class FactorUsed:
    """A factor an indicator used, with where it comes from."""

    name: str
    value: float
    unit: str
    source: str
    year: int
    region: str
    evidence: str

    @staticmethod
    def of(f: Factor) -> FactorUsed:
        return FactorUsed(f.key, f.value, f.unit, f.source, f.year, f.region, f.evidence)


@dataclass(frozen=True, slots=True)
class Indicator:
    """One indicator: value (None when it cannot be computed, then ``reason`` says why)."""

    name: str
    value: float | None
    unit: str
    completeness_pct: float | None
    factors: tuple[FactorUsed, ...] = ()
    reason: str | None = None
    note: str | None = None
    detail: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IndicatorReport:
    """Every indicator of a park, or of a building, floor or tenant of it (``scope``, as
    :func:`services.energy.parse_scope` writes it), for one local period, under the accounting
    ``profile``, with the green ``instruments`` matched to this scope and period."""

    park: str
    period: LocalPeriod
    tz: str
    regions: tuple[str, ...]
    profile: AccountingProfile
    indicators: tuple[Indicator, ...]
    scope: str = "park"
    instruments: tuple[InstrumentUse, ...] = ()


GEC = FactorUsed(
    "kwh_per_gec",
    carbon.KWH_PER_GEC,
    "kWh/GEC",
    "发改能源[2023]1044号: one green electricity certificate per 1,000 kWh",
    2023,
    NATIONAL,
    "P",
)


def lookup(table: FactorTable, key: str, regions: Sequence[str], on: date) -> Factor | None:
    for region in regions:
        try:
            return table.lookup(key, region, on)
        except FactorNotFoundError:
            continue
    return None


@dataclass(frozen=True, slots=True)
class Flow:
    """A flow's total over the period [its unit]; ``kwh`` None when the scope meters it but no
    interval is known (``why`` may then say why); ``metered`` False when the scope has no such
    meter (then the flow is 0)."""

    kwh: float | None
    completeness: float
    metered: bool
    series: Series
    why: str | None = None


def finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def completeness(series: Series) -> float:
    """Share of intervals whose energy total is known [%] (analytics.intervals.known_pct): the
    completeness of totals and of everything derived from them (tce, carbon, shares,
    intensities). An hourly meter with every reading is 100 % complete here."""
    return known_pct(series.quality)


def shape_completeness(series: Series) -> float:
    """Share of intervals read, not spread over a gap [%] (analytics.intervals.measured_pct):
    the completeness of figures that need the 15-minute shape (peak demand, load factor, the
    time-of-use split, the demand charge). An hourly meter's quarter hours are interpolated."""
    return measured_pct(series.quality)


def flow_of(series: Series, why: str) -> Flow:
    """The total of a derived series; ``why`` is the reason given when no interval is known."""
    known = bool(np.isfinite(series.energy).any())
    total = float(np.nansum(series.energy)) if known else None
    return Flow(total, completeness(series), True, series, None if known else why)


class Inputs:
    def __init__(self, bal: Balance) -> None:
        self.bal = bal
        self.n = bal.start_ns.size

    def flow(self, name: str) -> Flow:
        fig: Figure | None = self.bal.figure(name)
        if fig is None or fig.absent:
            return Flow(0.0, 100.0, False, Series.zero(self.n))
        total = fig.total()
        return Flow(finite(total), fig.completeness_pct(), True, fig.series)


def min_of(*values: float) -> float:
    return min(values) if values else 100.0


def missing(*flows: tuple[str, Flow]) -> str | None:
    """Why the named flows have no total, joined; None when every one has."""
    absent = [
        f.why or message("reason.no_meter_data", "en", flow=name)
        for name, f in flows
        if f.kwh is None
    ]
    return "; ".join(dict.fromkeys(absent)) or None
