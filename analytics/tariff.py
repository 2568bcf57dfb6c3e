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
each local month (:func:`demand_charge`, fixed blocks). Utilities bill maximum demand as the
highest average power over a 15-minute window that slides in steps of the meter's resolution
(:func:`sliding_demand_kw`, :func:`max_sliding_demand_kw`), and, for users billed by maximum
demand, never less than 40 % of the contracted capacity (:func:`billed_demand_kw`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analytics.calendar import DEFAULT_TZ, local_fields, local_period_edges

__all__ = [
    "DEMAND_FLOOR_FRACTION",
    "DEMAND_WINDOW_S",
    "DemandCharge",
    "TouCost",
    "TouPeriod",
    "billed_demand_kw",
    "demand_charge",
    "max_sliding_demand_kw",
    "periods_from_hours",
    "prices_from_ratios",
    "sliding_demand_kw",
    "sliding_demand_kw_from_register",
    "tou_cost",
    "tou_periods",
]

_NS_PER_S = 1_000_000_000
_S_PER_H = 3600.0

# Maximum-demand window of China's two-part tariff (demand = average power over 15 min), [s].
DEMAND_WINDOW_S = 900
# Floor of billed maximum demand: not below 40 % of the contracted capacity (transformers plus
# HV motors not on a capacity basis), 国家发展改革委办公厅《关于完善两部制电价用户基本电价执行
# 方式的通知》发改办价格[2016]1583号, 2016, [fraction of capacity].
DEMAND_FLOOR_FRACTION = 0.4


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


def sliding_demand_kw(
    energy_kwh: ArrayLike, *, interval_s: int, window_s: int = DEMAND_WINDOW_S
) -> NDArray[np.float64]:
    """Average power [kW] of every window of ``window_s`` sliding by one interval.

    ``energy_kwh`` [kWh] are consecutive intervals of ``interval_s`` [s] (e.g. 60 s), with no
    gaps; window j covers intervals j … j + w − 1, w = window_s / interval_s, and its demand is
    Σ E / (window_s / 3600). A window holding a NaN interval is NaN (its demand is unknown). The
    result has n − w + 1 values (none if the series is shorter than a window).

    Raises
    ------
    ValueError
        If ``interval_s`` is not > 0 or ``window_s`` is not a positive multiple of it.
    """
    if interval_s <= 0 or window_s <= 0 or window_s % interval_s:
        raise ValueError(
            f"window_s ({window_s}) must be a positive multiple of interval_s ({interval_s})"
        )
    e = np.asarray(energy_kwh, dtype=np.float64).ravel()
    w = window_s // interval_s
    if e.size < w:
        return np.zeros(0)
    known = np.isfinite(e)
    c = np.concatenate(([0.0], np.cumsum(np.where(known, e, 0.0))))
    bad = np.concatenate(([0], np.cumsum(~known)))
    sums = c[w:] - c[:-w]
    sums[(bad[w:] - bad[:-w]) > 0] = np.nan
    return sums / (window_s / _S_PER_H)


def sliding_demand_kw_from_register(
    register_kwh: ArrayLike, *, interval_s: int, window_s: int = DEMAND_WINDOW_S
) -> NDArray[np.float64]:
    """Sliding-window demand [kW] from cumulative register readings [kWh] every ``interval_s``.

    The readings are differenced into interval energy, then as :func:`sliding_demand_kw`. The
    register must be monotonic and already corrected for resets and replacements
    (:mod:`analytics.intervals`); NaN readings make the windows around them NaN.
    """
    r = np.asarray(register_kwh, dtype=np.float64).ravel()
    return sliding_demand_kw(np.diff(r), interval_s=interval_s, window_s=window_s)


def max_sliding_demand_kw(
    energy_kwh: ArrayLike, *, interval_s: int, window_s: int = DEMAND_WINDOW_S
) -> float:
    """Maximum demand [kW] as utilities bill it: the highest 15-min sliding-window average power.

    See :func:`sliding_demand_kw`; windows with missing data are ignored; NaN if none is known.
    With ``interval_s == window_s`` this is the fixed-block peak.
    """
    d = sliding_demand_kw(energy_kwh, interval_s=interval_s, window_s=window_s)
    known = d[np.isfinite(d)]
    return float(known.max()) if known.size else float("nan")


def billed_demand_kw(
    max_demand_kw: float,
    contract_capacity_kva: float,
    *,
    floor_fraction: float = DEMAND_FLOOR_FRACTION,
) -> float:
    """Billed demand [kW] by maximum demand with the contract floor (发改办价格[2016]1583号).

    max(measured maximum demand [kW], floor_fraction × contracted capacity [kVA, billed 1:1 as
    kW]). NaN demand gives NaN (unknown, not the floor).

    Raises
    ------
    ValueError
        If the capacity is negative or the fraction outside [0, 1].
    """
    if not contract_capacity_kva >= 0:
        raise ValueError(f"contract_capacity_kva must be >= 0, got {contract_capacity_kva!r}")
    if not 0 <= floor_fraction <= 1:
        raise ValueError(f"floor_fraction must be in [0, 1], got {floor_fraction!r}")
    if np.isnan(max_demand_kw):
        return float("nan")
    return max(float(max_demand_kw), floor_fraction * contract_capacity_kva)
