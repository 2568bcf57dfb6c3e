"""Time-of-use energy cost and demand charges.

A TOU schedule is data: for each local month (1–12) and hour (0–23) the :class:`TouPeriod` in
force (``period_by_month_hour``, shape 12 × 24), and the energy price of each period in each
month (``price_cny_per_kwh``, shape 12 × 4, indexed by ``TouPeriod``). Prices are usually the
flat price times the period ratios (Hubei, consultation draft of 2024-01-03: critical : peak :
flat : valley = 1.8 : 1.49 : 1 : 0.48, and 2.0 : 1.49 : 1 : 0.45 in July, August, December and
January); :func:`prices_from_ratios` builds that table. Schedules and ratios are effective-dated
in ``config/data/tariffs_hubei.yaml``.

An interval is priced by the period in force at its start in the park's local time, so intervals
must not straddle a local hour (15-minute intervals aligned to the epoch do not, in any zone with
whole-quarter-hour offsets). Demand charges (两部制) price the highest interval-average power of
each local month.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analytics.calendar import DEFAULT_TZ, local_fields, local_period_edges

__all__ = [
    "DemandCharge",
    "TouCost",
    "TouPeriod",
    "demand_charge",
    "periods_from_hours",
    "prices_from_ratios",
    "tou_cost",
    "tou_periods",
]

_NS_PER_S = 1_000_000_000
_S_PER_H = 3600.0


class TouPeriod(IntEnum):
    """TOU periods, in the order of the price table's columns."""

    CRITICAL = 0  # 尖峰
    PEAK = 1  # 高峰
    FLAT = 2  # 平
    VALLEY = 3  # 低谷


def periods_from_hours(spans: Mapping[TouPeriod, Sequence[tuple[int, int]]]) -> NDArray[np.int8]:
    """A 24-hour period table from ``{period: [(start_hour, end_hour), ...]}`` (end exclusive).

    Raises
    ------
    ValueError
        If the spans leave an hour uncovered or cover one twice.
    """
    table = np.full(24, -1, dtype=np.int8)
    for period, ranges in spans.items():
        for start, end in ranges:
            if not 0 <= start < end <= 24:
                raise ValueError(f"bad hour range ({start}, {end}) for {period.name}")
            if np.any(table[start:end] >= 0):
                raise ValueError(f"hours {start}–{end} are assigned twice")
            table[start:end] = period
    if np.any(table < 0):
        raise ValueError(f"hours {np.flatnonzero(table < 0).tolist()} have no period")
    return table


def prices_from_ratios(
    flat_price_cny_per_kwh: float, ratio_by_month_period: ArrayLike
) -> NDArray[np.float64]:
    """Price table [CNY/kWh], 12 × 4: the flat price times each month's period ratios."""
    ratios = np.asarray(ratio_by_month_period, dtype=np.float64)
    if ratios.shape != (12, len(TouPeriod)):
        raise ValueError(f"ratio table must be 12 × {len(TouPeriod)}, got {ratios.shape}")
    return flat_price_cny_per_kwh * ratios


def tou_periods(
    start_ns: ArrayLike, period_by_month_hour: ArrayLike, *, tz: str = DEFAULT_TZ
) -> NDArray[np.int8]:
    """The :class:`TouPeriod` of each interval, by its local month and hour."""
    table = np.asarray(period_by_month_hour, dtype=np.int8)
    if table.shape != (12, 24):
        raise ValueError(f"period table must be 12 × 24, got {table.shape}")
    month, hour, _ = local_fields(start_ns, tz)
    return table[month - 1, hour]


@dataclass(frozen=True, slots=True)
class TouCost:
    """TOU cost: per interval [CNY], and energy [kWh] and cost [CNY] per :class:`TouPeriod`."""

    cost_cny: NDArray[np.float64]
    period: NDArray[np.int8]
    energy_kwh_by_period: NDArray[np.float64]
    cost_cny_by_period: NDArray[np.float64]

    def total_cny(self) -> float:
        """Total cost of the known intervals [CNY]."""
        return float(np.nansum(self.cost_cny))


def tou_cost(
    start_ns: ArrayLike,
    energy_kwh: ArrayLike,
    *,
    period_by_month_hour: ArrayLike,
    price_cny_per_kwh: ArrayLike,
    tz: str = DEFAULT_TZ,
) -> TouCost:
    """Energy cost of intervals under a TOU schedule.

    Parameters
    ----------
    start_ns : array of int
        Interval starts. [ns since the epoch, UTC]
    energy_kwh : array of float
        Interval energy, NaN where missing (costs NaN there). [kWh]
    period_by_month_hour : array, 12 × 24
        :class:`TouPeriod` by local month and hour.
    price_cny_per_kwh : array, 12 × 4
        Price by local month and period. [CNY/kWh]
    tz : str
        IANA zone of the park.
    """
    e = np.asarray(energy_kwh, dtype=np.float64).ravel()
    starts = np.asarray(start_ns, dtype=np.int64).ravel()
    if starts.size != e.size:
        raise ValueError("start_ns and energy_kwh must have the same length")
    prices = np.asarray(price_cny_per_kwh, dtype=np.float64)
    if prices.shape != (12, len(TouPeriod)):
        raise ValueError(f"price table must be 12 × {len(TouPeriod)}, got {prices.shape}")
    period = tou_periods(starts, period_by_month_hour, tz=tz)
    month, _, _ = local_fields(starts, tz)
    cost = e * prices[month - 1, period]
    known = np.isfinite(e)
    n = len(TouPeriod)
    return TouCost(
        cost_cny=cost,
        period=period,
        energy_kwh_by_period=np.asarray(
            np.bincount(period[known], weights=e[known], minlength=n), dtype=np.float64
        ),
        cost_cny_by_period=np.asarray(
            np.bincount(period[known], weights=cost[known], minlength=n), dtype=np.float64
        ),
    )


@dataclass(frozen=True, slots=True)
class DemandCharge:
    """Per local month: label (``YYYY-MM``), peak demand [kW] and charge [CNY]."""

    month: tuple[str, ...]
    max_demand_kw: NDArray[np.float64]
    charge_cny: NDArray[np.float64]


def demand_charge(
    start_ns: ArrayLike,
    energy_kwh: ArrayLike,
    *,
    interval_s: int,
    price_cny_per_kw_month: float,
    tz: str = DEFAULT_TZ,
) -> DemandCharge:
    """Demand charge per local month: max interval-average power [kW] × price [CNY/(kW·month)].

    Interval power is E_i / (interval_s / 3600); missing intervals are ignored, and a month with
    no known interval has NaN demand.
    """
    e = np.asarray(energy_kwh, dtype=np.float64).ravel()
    starts = np.asarray(start_ns, dtype=np.int64).ravel()
    if starts.size != e.size:
        raise ValueError("start_ns and energy_kwh must have the same length")
    if starts.size == 0:
        return DemandCharge((), np.zeros(0), np.zeros(0))
    edges, labels = local_period_edges(
        int(starts.min()), int(starts.max()) + interval_s * _NS_PER_S, tz, "month"
    )
    which = np.searchsorted(edges, starts, side="right") - 1
    demand = np.full(len(labels), -np.inf)
    known = np.isfinite(e)
    np.maximum.at(demand, which[known], e[known] / (interval_s / _S_PER_H))
    demand[np.isneginf(demand)] = np.nan
    return DemandCharge(labels, demand, demand * price_cny_per_kw_month)
