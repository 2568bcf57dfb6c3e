"""Interval energy from the cumulative register readings of one meter.

A meter's register counts up (kWh for electricity, m3 for gas, in the canonical unit of its
quantity). :func:`intervals_from_register` turns one register's readings into the energy of
fixed intervals (default 15 min, aligned to the epoch or to ``origin_ns``), each with a
:class:`Quality` code, and returns every data-quality finding as an :class:`Issue` value.

Algorithm
---------
1. **Clean.** Non-finite readings, negative readings and readings at or above ``rollover_at``
   (the wrap value in force at the reading: ``width_changes`` change it from their instant on)
   are rejected (``non_finite``, ``implausible_value``).
2. **Order.** Readings are sorted by time, ties by value; of readings sharing one timestamp the
   lowest value is kept (``duplicate`` / ``conflicting_duplicate``). The result therefore does
   not depend on the order or the repetition of the input.
3. **Glitches.** A drop of the register that returns to the earlier level within
   ``max_glitch_readings`` readings is a glitch, not a reset: a reading above both the one before
   and the one after it (a spike), or below both (a dip, as when a gateway reports 0 while
   reconnecting), is rejected (``spike``). Of two equally short explanations the higher readings
   are rejected.
4. **Steps.** Each pair of consecutive kept readings is a step with energy ``v1 − v0``:

   * a step that contains an explicit :class:`Replacement` time gets
     ``(old_final − v0) + (v1 − new_initial)`` — ``meter_replaced`` (nothing lost). Without the
     old meter's final reading what it counted between ``v0`` and the swap is lost: that part
     counts 0 and the step is ``RESET_CORRECTED``, as after a reset;
   * a drop with ``rollover_at`` set, whose wrapped difference ``rollover_at − v0 + v1`` is at
     most the plausible rate × duration gets that difference — ``rollover``. The plausible rate is
     ``max_rate_per_h``, else 10 × the register's median rate (else 10 % of ``rollover_at`` per
     step, when the register never rises);
   * any other drop is a reset: the register restarted from zero, so ``v1`` is credited (a lower
     bound of the true energy: what was counted between ``v0`` and the reset is lost), or 0 if
     ``v1`` is above the plausible rate × duration — ``reset``.
   * a step whose average rate exceeds ``max_rate_per_h`` (default: 1,000 × the register's median
     rate) is implausible; its energy is unknown (``implausible_step``) and its intervals are
     missing — unless it follows a run of at most ``max_stuck_readings`` repeated readings and is
     plausible over the run: the register froze and caught up, so its energy is spread over the
     run (``stuck``; the run's intervals are ``INTERPOLATED``).

5. **Spread.** The energy of a step is spread over the time it spans, in proportion to time
   (linear interpolation of the register between readings). A step longer than ``gap_s`` is a
   gap: its energy is spread over all the intervals it covers, never lumped into one.

Quality of an interval is the worst of the steps that feed it (the numeric order of
:class:`Quality` is the order of severity): ``INTERPOLATED`` if a gap feeds it, ``ESTIMATED`` if
readings cover only part of it (its energy is then that of the covered part only), ``MISSING``
(energy NaN) if none do. A reset or a replacement outranks a gap (its code is higher) — a step
that spans both, and an interval fed by both, is ``RESET_CORRECTED`` (``METER_REPLACED``), since
energy lost before a reset matters more than how known energy is spread.

Completeness
------------
Two shares of a run of intervals answer two questions (:func:`known_pct`, :func:`measured_pct`):

* **known** — is the *total* exact? An interval's total is known when readings bracket it and
  nothing between them was lost: :data:`KNOWN_TOTAL` = ``MEASURED``, ``ROLLOVER_CORRECTED``,
  ``INTERPOLATED`` (a gap between two readings: its total is exact, only its spread over the
  intervals inside it is estimated) and ``METER_REPLACED`` (both readings of the swap known; a
  swap without the old meter's final reading is ``RESET_CORRECTED``). A sum over whole gaps is
  exact, so a day, month or year of an hourly meter with every reading is 100 % known.
* **measured** — is the *shape* inside the interval read, not spread? Only ``MEASURED``. Peak
  demand, load factor and time-of-use splits need it: an hourly meter's quarter hours are
  ``INTERPOLATED``, 0 % measured.

(A period edge falling inside a gap splits the gap's exact total between two periods by time:
each period's share is estimated though the intervals are known. The sum of the two is exact.)

Assumptions
-----------
* The register only counts up (import or export registers; a net register is not supported).
* A reset restarts the register at zero; a register that restarts elsewhere is credited its new
  value, which may overstate — pass ``max_rate_per_h`` to catch that.
* A reset and a rollover look alike; with ``rollover_at`` set, a drop from near the top to near
  zero is taken for a rollover. A meter replacement cannot be told from a reset by the numbers
  alone; pass the replacements explicitly (from the registry's maintenance log).
* A reading stamped exactly at a replacement time belongs to the new meter.
* A multiplier (CT x PT) change is a discontinuity of the scaled register: :func:`rescale_register`
  scales each reading by the multiplier in force and returns the change as a replacement whose
  old and new values are the display count at the change times the old and the new multiplier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFAULT_INTERVAL_S",
    "KNOWN_TOTAL",
    "IntervalLedger",
    "Issue",
    "IssueCode",
    "MultiplierChange",
    "Quality",
    "Replacement",
    "WidthChange",
    "intervals_from_register",
    "known_pct",
    "measured_pct",
    "rescale_register",
    "typical_spacing_s",
    "worst_quality",
]

# The ledger's default interval [s]: 15 min, the demand-integration period of Chinese C&I
# metering and of DESIGN.md's interval ledger.
DEFAULT_INTERVAL_S = 900

_NS_PER_S = 1_000_000_000
_S_PER_H = 3600.0
# With no rate limit, a drop counts as a rollover when the wrapped difference is below this share
# of the register's span (a heuristic; a meter cannot plausibly count 10 % of its span in a step).
_ROLLOVER_SHARE = 0.1
_MAX_ISSUE_TIMES = 10
# Without a rate limit, the plausible rate is this multiple of the register's median rate
# (a heuristic: a load rarely runs at ten times its typical power for a whole step).
_RATE_HEADROOM = 10.0
# Without a rate limit, a step above this multiple of that plausible rate (1,000 × the median) is
# rejected as implausible: no meter jumps three orders of magnitude above its typical rate.
_IMPLAUSIBLE_FACTOR = 100.0


class Quality(IntEnum):
    """Quality of one interval's energy; a larger code is worse, so the worst of several is their
    maximum. A reset or a replacement (energy lost before it, or resting on the new meter's
    reading) outranks interpolation (known energy, only its spread over a gap estimated)."""

    MEASURED = 0
    ROLLOVER_CORRECTED = 1
    INTERPOLATED = 2
    RESET_CORRECTED = 3
    METER_REPLACED = 4
    ESTIMATED = 5
    MISSING = 6


KNOWN_TOTAL = frozenset(
    {Quality.MEASURED, Quality.ROLLOVER_CORRECTED, Quality.INTERPOLATED, Quality.METER_REPLACED}
)
"""Qualities of an interval whose energy *total* is exact (readings bracket it, nothing lost);
see "Completeness" in the module docstring. ``RESET_CORRECTED`` (energy lost before the reset or
an undeclared swap), ``ESTIMATED`` and ``MISSING`` are not."""

_KNOWN_CODES = np.array(sorted(int(q) for q in KNOWN_TOTAL), dtype=np.int8)


def known_pct(quality: ArrayLike) -> float:
    """Share of intervals whose energy total is known (quality in :data:`KNOWN_TOTAL`) [%].

    ``quality`` holds :class:`Quality` codes; an empty array is 0 % (nothing known).
    """
    q = np.asarray(quality).ravel()
    return 100.0 * float(np.count_nonzero(np.isin(q, _KNOWN_CODES))) / q.size if q.size else 0.0


def measured_pct(quality: ArrayLike) -> float:
    """Share of intervals of quality ``MEASURED`` (read, not spread over a gap) [%].

    ``quality`` holds :class:`Quality` codes; an empty array is 0 %.
    """
    q = np.asarray(quality).ravel()
    return 100.0 * float(np.count_nonzero(q == Quality.MEASURED)) / q.size if q.size else 0.0


class IssueCode(StrEnum):
    """What a data-quality finding is about."""

    NON_FINITE = "non_finite"
    IMPLAUSIBLE_VALUE = "implausible_value"
    OUT_OF_ORDER = "out_of_order"
    DUPLICATE = "duplicate"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"
    SPIKE = "spike"
    RESET = "reset"
    ROLLOVER = "rollover"
    METER_REPLACED = "meter_replaced"
    IMPLAUSIBLE_STEP = "implausible_step"
    STUCK = "stuck"
    GAP = "gap"
    INSUFFICIENT_DATA = "insufficient_data"


@dataclass(frozen=True, slots=True)
class Issue:
    """One data-quality finding: a code, a message for people, JSON-serialisable data."""

    code: IssueCode
    message: str
    data: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Replacement:
    """A meter replaced at ``time_ns``.

    ``old_final`` is the old register's last value [canonical unit] if it was read at removal;
    ``new_initial`` the new register's value at installation (not always zero). With both the
    step across the swap is exact (``METER_REPLACED``, a known total); without ``old_final`` the
    old meter's last count is lost (``RESET_CORRECTED``).
    """

    time_ns: int
    old_final: float | None = None
    new_initial: float = 0.0


@dataclass(frozen=True, slots=True)
class WidthChange:
    """From ``time_ns`` on the register wraps at ``rollover_at`` [canonical unit] (None: never),
    e.g. a display reprogrammed from 6 to 8 digits."""

    time_ns: int
    rollover_at: float | None


@dataclass(frozen=True, slots=True)
class MultiplierChange:
    """The register multiplier (CT x PT ratio) changes from ``old`` to ``new`` at ``time_ns``.

    ``reading`` is the register's display count at the change, when it was noted; otherwise it
    is interpolated in time between the readings either side.
    """

    time_ns: int
    old: float
    new: float
    reading: float | None = None


@dataclass(frozen=True, slots=True)
class IntervalLedger:
    """Energy per interval of one register.

    ``start_ns`` [ns since epoch, UTC] opens each interval of ``interval_s`` seconds; ``energy``
    is in the register's canonical unit (kWh, m3), NaN where missing; ``quality`` holds
    :class:`Quality` codes.
    """

    start_ns: NDArray[np.int64]
    energy: NDArray[np.float64]
    quality: NDArray[np.int8]
    interval_s: int
    issues: tuple[Issue, ...]

    def total(self) -> float:
        """Sum of the known interval energies [canonical unit]."""
        return float(np.nansum(self.energy))


def worst_quality(a: ArrayLike, b: ArrayLike) -> NDArray[np.int8]:
    """The worse of two :class:`Quality` codes, element by element: their maximum (the codes are
    ordered by severity, so a lost interval is never hidden by an interpolated one)."""
    return np.maximum(np.asarray(a, dtype=np.int8), np.asarray(b, dtype=np.int8))


def typical_spacing_s(
    time_ns: ArrayLike, *, recent: int = 96, min_readings: int = 3
) -> float | None:
    """The reporting interval of a device learned from its readings [s]: the median spacing of
    its last ``recent`` distinct reading times [ns], or None with fewer than ``min_readings``.

    The median, so that a few gaps or a burst of backlog readings do not move it.
    """
    t = np.unique(np.asarray(time_ns, dtype=np.int64).ravel())[-(recent + 1) :]
    if t.size < max(min_readings, 3):
        return None
    return float(np.median(np.diff(t))) / _NS_PER_S


def _times_word(n: int) -> str:
    """``once`` or ``n times``: the English of a count of events."""
    return "once" if n == 1 else f"{n} times"


def _times(t_ns: NDArray[np.int64]) -> list[int]:
    return [int(x) for x in t_ns[:_MAX_ISSUE_TIMES]]


def _crossings(
    rep_ns: NDArray[np.int64], a_ns: NDArray[np.int64], b_ns: NDArray[np.int64]
) -> NDArray[np.intp]:
    """Number of replacement times r with a < r <= b, per pair."""
    hi = np.searchsorted(rep_ns, b_ns, side="right")
    lo = np.searchsorted(rep_ns, a_ns, side="right")
    return np.asarray(hi - lo, dtype=np.intp)


def _rate_ok(dv: float, dt_ns: int, max_rate_per_h: float | None) -> bool:
    if max_rate_per_h is None:
        return True
    return dv <= max_rate_per_h * (dt_ns / _NS_PER_S / _S_PER_H) * (1 + 1e-9)


def _reject_glitches(
    t: NDArray[np.int64],
    v: NDArray[np.float64],
    rep_ns: NDArray[np.int64],
    window: int,
    max_rate_per_h: float | None,
) -> NDArray[np.bool_]:
    """Mask of readings kept after removing spikes and dips (see the module docstring).

    Works on a doubly linked list of kept readings, visiting each drop once: rejecting a glitch
    joins two readings that are in order by construction, so it never creates a new drop.
    """
    n = v.size
    keep = np.ones(n, dtype=bool)
    if window < 1 or n < 3:
        return keep
    crossing = _crossings(rep_ns, t[:-1], t[1:]) > 0
    prev = list(range(-1, n - 1))
    nxt = list(range(1, n + 1))

    def clean(a: int, b: int) -> bool:
        """No replacement between readings a and b, and a plausible rate."""
        no_rep = _crossings(rep_ns, t[a : a + 1], t[b : b + 1])[0] == 0
        return bool(no_rep) and _rate_ok(float(v[b] - v[a]), int(t[b] - t[a]), max_rate_per_h)

    for k in (np.flatnonzero((v[1:] < v[:-1]) & ~crossing) + 1).tolist():
        before = prev[k]
        if (
            not keep[k]
            or before < 0
            or not v[k] < v[before]
            or bool(_crossings(rep_ns, t[before : before + 1], t[k : k + 1])[0])
        ):
            continue
        spike: tuple[int, int] | None = None  # (last kept reading, readings rejected)
        p = before
        for count in range(1, window + 1):
            p = prev[p]
            if p < 0:
                break
            if v[p] <= v[k] and clean(p, k):
                spike = (p, count)
                break
        dip: tuple[int, int] | None = None  # (first kept reading, readings rejected)
        j = k
        for count in range(1, window + 1):
            j = nxt[j]
            if j >= n:
                break
            if v[j] >= v[before] and clean(before, j):
                dip = (j, count)
                break
        if spike is not None and (dip is None or spike[1] <= dip[1]):
            first, last = nxt[spike[0]], k
        elif dip is not None:
            first, last = k, dip[0]
        else:
            continue
        i = first
        while i != last:
            keep[i] = False
            i = nxt[i]
        nxt[prev[first]] = last
        prev[last] = prev[first]
    return keep


def _rate_bound_per_h(
    t: NDArray[np.int64], v: NDArray[np.float64], max_rate_per_h: float | None
) -> float | None:
    """Highest plausible rate [unit/h]: the given one, else a multiple of the typical rate."""
    if max_rate_per_h is not None:
        return max_rate_per_h
    if v.size < 2:
        return None
    dv = np.diff(v)
    dt_h = np.diff(t) / _NS_PER_S / _S_PER_H
    rising = (dv > 0) & (dt_h > 0)
    if not rising.any():
        return None
    typical = float(np.median(dv[rising] / dt_h[rising]))
    if not typical > np.finfo(np.float64).tiny:  # underflow: no usable typical rate
        return None
    return _RATE_HEADROOM * typical


class _Rollover:
    """The register's wrap value over time [canonical unit]; NaN where it never wraps."""

    def __init__(self, first: float | None, changes: Sequence[WidthChange]) -> None:
        chg = sorted(changes, key=lambda c: c.time_ns)
        values = [first, *(c.rollover_at for c in chg)]
        for x in values:
            if x is not None and not x > 0:
                raise ValueError(f"rollover_at must be positive, got {x}")
        self._ns = np.array([c.time_ns for c in chg], dtype=np.int64)
        self._top = np.array([np.nan if x is None else x for x in values], dtype=np.float64)

    def any(self) -> bool:
        return bool(np.isfinite(self._top).any())

    def at(self, t_ns: NDArray[np.int64]) -> NDArray[np.float64]:
        """Wrap value in force at each time (a change applies from its own time on)."""
        return np.asarray(self._top[np.searchsorted(self._ns, t_ns, side="right")])

    def describe(self) -> str:
        tops = [f"{x:g}" for x in self._top.tolist() if np.isfinite(x)]
        return "/".join(tops) if tops else "inf"


def _aligned(t_ns: int, origin_ns: int, interval_ns: int, *, up: bool) -> int:
    q, r = divmod(t_ns - origin_ns, interval_ns)
    return origin_ns + (q + (1 if up and r else 0)) * interval_ns


def _clean_and_order(
    t_in: NDArray[np.int64],
    v_in: NDArray[np.float64],
    roll: _Rollover,
    issues: list[Issue],
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Reject invalid readings, sort by time (ties by value) and drop repeated timestamps."""
    finite = np.isfinite(v_in)
    if not finite.all():
        bad = t_in[~finite]
        issues.append(
            Issue(
                IssueCode.NON_FINITE,
                f"{bad.size} non-finite readings rejected",
                {"count": int(bad.size), "time_ns": _times(bad)},
            )
        )
    plausible = finite & (v_in >= 0)
    top = roll.at(t_in)
    plausible &= np.isnan(top) | (v_in < np.where(np.isnan(top), np.inf, top))
    implausible = finite & ~plausible
    if implausible.any():
        issues.append(
            Issue(
                IssueCode.IMPLAUSIBLE_VALUE,
                f"{int(implausible.sum())} readings outside [0, {roll.describe()}) rejected",
                {"count": int(implausible.sum()), "time_ns": _times(t_in[implausible])},
            )
        )
    t_ok, v_ok = t_in[plausible], v_in[plausible]
    if np.any(np.diff(t_ok) < 0):
        issues.append(
            Issue(
                IssueCode.OUT_OF_ORDER,
                "readings arrived out of order and were sorted",
                {"count": int(np.sum(np.diff(t_ok) < 0))},
            )
        )
    order = np.lexsort((v_ok, t_ok))
    t_s, v_s = t_ok[order], v_ok[order]
    same_t = np.zeros(t_s.size, dtype=bool)
    same_t[1:] = t_s[1:] == t_s[:-1]
    if same_t.any():
        conflicting = same_t.copy()
        conflicting[1:] &= v_s[1:] != v_s[:-1]
        n_conf = int(conflicting.sum())
        n_dup = int(same_t.sum()) - n_conf
        if n_dup:
            issues.append(
                Issue(
                    IssueCode.DUPLICATE,
                    f"{n_dup} duplicate readings ignored",
                    {"count": n_dup},
                )
            )
        if n_conf:
            issues.append(
                Issue(
                    IssueCode.CONFLICTING_DUPLICATE,
                    f"{n_conf} readings share a timestamp with a different value; "
                    "the lowest value was kept",
                    {"count": n_conf, "time_ns": _times(t_s[conflicting])},
                )
            )
    return t_s[~same_t], v_s[~same_t]


def _unwrap_and_deglitch(
    t: NDArray[np.int64],
    v: NDArray[np.float64],
    issues: list[Issue],
    *,
    rep_ns: NDArray[np.int64],
    roll: _Rollover,
    bound_per_h: float | None,
    max_rate_per_h: float | None,
    max_glitch_readings: int,
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Unwrap rollovers (returning the amount added to each reading by them), then reject
    glitches."""

    # Unwrap rollovers first, so that glitch detection sees a monotone register. A step wraps at
    # the width in force at its later reading.
    offset = np.zeros(v.size, dtype=np.float64)
    if roll.any() and v.size > 1:
        top = roll.at(t[1:])
        dt_h = (t[1:] - t[:-1]) / _NS_PER_S / _S_PER_H
        wrapped = top - v[:-1] + v[1:]
        limit = (
            bound_per_h * dt_h * (1 + 1e-9) if bound_per_h is not None else _ROLLOVER_SHARE * top
        )
        rolled = (
            (v[1:] < v[:-1])
            & np.isfinite(top)
            & (wrapped <= limit)
            & (_crossings(rep_ns, t[:-1], t[1:]) == 0)
        )
        offset = np.concatenate(([0.0], np.cumsum(np.where(rolled, top, 0.0))))
        v = v + offset

    kept = _reject_glitches(t, v, rep_ns, max_glitch_readings, max_rate_per_h)
    if not kept.all():
        issues.append(
            Issue(
                IssueCode.SPIKE,
                f"{int((~kept).sum())} readings rejected as spikes or dips",
                {"count": int((~kept).sum()), "time_ns": _times(t[~kept])},
            )
        )

    return t[kept], v[kept], offset[kept]


def _step_energy(
    t: NDArray[np.int64],
    v: NDArray[np.float64],
    issues: list[Issue],
    *,
    offset: NDArray[np.float64],
    reps: Sequence[Replacement],
    rep_ns: NDArray[np.int64],
    roll: _Rollover,
    bound_per_h: float | None,
    max_rate_per_h: float | None,
    gap_ns: float,
    max_stuck_readings: int = 0,
) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
    """Energy [unit] (NaN if unknown) and quality of each step between consecutive readings."""
    # Steps between consecutive readings.
    t0, t1 = t[:-1], t[1:]
    v0, v1 = v[:-1], v[1:]
    dt_ns = t1 - t0
    energy = v1 - v0
    quality = np.full(energy.size, Quality.MEASURED, dtype=np.int8)

    n_cross = _crossings(rep_ns, t0, t1)
    replaced = n_cross > 0
    if replaced.any():
        last_rep = np.searchsorted(rep_ns, t1[replaced], side="right") - 1
        old_final = np.array(
            [np.nan if reps[i].old_final is None else reps[i].old_final for i in last_rep]
        )
        new_initial = np.array([reps[i].new_initial for i in last_rep])
        lost = np.isnan(old_final)
        before = np.where(lost, 0.0, np.maximum(old_final - v0[replaced], 0.0))
        after = np.maximum(v1[replaced] - new_initial, 0.0)
        energy[replaced] = before + after
        # without the old meter's final reading, what it counted before the swap is lost
        quality[replaced] = np.where(lost, Quality.RESET_CORRECTED, Quality.METER_REPLACED)
        n_lost = int(lost.sum())
        issues.append(
            Issue(
                IssueCode.METER_REPLACED,
                f"{int(replaced.sum())} steps span a meter replacement"
                + (
                    f"; {n_lost} without the old meter's final reading: energy before it is lost"
                    if n_lost
                    else ""
                ),
                {"time_ns": _times(t1[replaced]), "lost": n_lost},
            )
        )

    dt_h = dt_ns / _NS_PER_S / _S_PER_H
    rolled = (offset[1:] != offset[:-1]) & ~replaced
    if rolled.any():
        quality[rolled] = Quality.ROLLOVER_CORRECTED
        issues.append(
            Issue(
                IssueCode.ROLLOVER,
                f"register rolled over at {roll.describe()} {_times_word(int(rolled.sum()))}",
                {"time_ns": _times(t1[rolled])},
            )
        )
    drop = (energy < 0) & ~replaced
    if drop.any():
        # The register restarted from zero: its new value is what it counted since (a lower
        # bound), unless that is more than the meter can plausibly count in the step.
        raw_v1 = v1 - offset[1:]
        credit_ok = (
            raw_v1 <= bound_per_h * dt_h * (1 + 1e-9)
            if bound_per_h is not None
            else np.ones(raw_v1.size, dtype=bool)
        )
        energy[drop] = np.where(credit_ok[drop], raw_v1[drop], 0.0)
        quality[drop] = Quality.RESET_CORRECTED
        issues.append(
            Issue(
                IssueCode.RESET,
                f"register reset {_times_word(int(drop.sum()))}; energy before each reset is lost",
                {"time_ns": _times(t1[drop]), "value_before": [float(x) for x in v0[drop][:10]]},
            )
        )
    limit_per_h = max_rate_per_h
    if limit_per_h is None and bound_per_h is not None:
        limit_per_h = bound_per_h * _IMPLAUSIBLE_FACTOR
    if limit_per_h is not None:
        too_fast = energy > limit_per_h * dt_h * (1 + 1e-9)
        if too_fast.any() and max_stuck_readings > 0:
            _catch_up(
                energy,
                quality,
                too_fast,
                dt_h=dt_h,
                limit_per_h=limit_per_h,
                max_stuck_readings=max_stuck_readings,
                issues=issues,
            )
        if too_fast.any():
            energy[too_fast] = np.nan
            issues.append(
                Issue(
                    IssueCode.IMPLAUSIBLE_STEP,
                    f"{int(too_fast.sum())} steps exceed {limit_per_h:g} per hour; "
                    "their energy is unknown",
                    {"time_ns": _times(t1[too_fast])},
                )
            )
    gap = dt_ns > gap_ns
    if gap.any():
        quality[gap] = worst_quality(quality[gap], np.int8(Quality.INTERPOLATED))
        issues.append(
            Issue(
                IssueCode.GAP,
                f"{int(gap.sum())} gaps longer than {gap_ns / _NS_PER_S:g} s; "
                "their energy is spread over the gap",
                {"start_ns": _times(t0[gap]), "end_ns": _times(t1[gap])},
            )
        )

    return energy, quality


def _catch_up(
    energy: NDArray[np.float64],
    quality: NDArray[np.int8],
    too_fast: NDArray[np.bool_],
    *,
    dt_h: NDArray[np.float64],
    limit_per_h: float,
    max_stuck_readings: int,
    issues: list[Issue],
) -> None:
    """Spread a too-fast step back over the frozen readings before it, where that makes it
    plausible (in place; clears ``too_fast`` for the steps it explains).

    A register that froze (the same value repeated) and then caught up shows zero steps followed
    by one step carrying all their energy. The repeated readings were stale: the energy of the
    catch-up belongs to the whole run, so it is spread over it in proportion to time, as over a
    gap (``INTERPOLATED``).
    """
    fixed = []
    for i in np.flatnonzero(too_fast).tolist():
        j, span_h = i, float(dt_h[i])
        while (
            j > 0
            and i - j < max_stuck_readings
            and energy[j - 1] == 0.0
            and quality[j - 1] == Quality.MEASURED
            and not too_fast[j - 1]
        ):
            j -= 1
            span_h += float(dt_h[j])
            if energy[i] <= limit_per_h * span_h * (1 + 1e-9):
                run = slice(j, i + 1)
                energy[run] = energy[i] * dt_h[run] / span_h
                quality[run] = worst_quality(quality[run], np.int8(Quality.INTERPOLATED))
                too_fast[i] = False
                fixed.append(i)
                break
    if fixed:
        issues.append(
            Issue(
                IssueCode.STUCK,
                f"{len(fixed)} steps catch up on a frozen register; their energy is spread over "
                "the repeated readings before them",
                {"count": len(fixed)},
            )
        )


def rescale_register(
    time_ns: ArrayLike,
    value: ArrayLike,
    changes: Sequence[MultiplierChange],
    *,
    stored_multiplier: float,
) -> tuple[NDArray[np.float64], list[Replacement]]:
    """Readings scaled by the multiplier in effect at their time, and each change as a
    :class:`Replacement` that keeps the display register continuous across it.

    ``value`` [canonical unit] was stored as display count x ``stored_multiplier`` (what a
    collector with one fixed multiplier writes). A reading before the first change is scaled by
    its ``old``, one at or after a change by its ``new``. At a change with display count ``r``
    the scaled register jumps from ``r x old`` to ``r x new``; passing that jump as a replacement
    to :func:`intervals_from_register` credits the crossing step ``(r - c0) x old + (c1 - r) x
    new`` [canonical unit], where ``c0``, ``c1`` are the counts either side.

    Returns the rescaled values [canonical unit] (in the order given) and the replacements.
    """
    t = np.asarray(time_ns, dtype=np.int64).ravel()
    v = np.asarray(value, dtype=np.float64).ravel()
    if t.shape != v.shape:
        raise ValueError(f"time_ns has {t.size} readings but value has {v.size}")
    if not stored_multiplier > 0:
        raise ValueError(f"stored_multiplier must be positive, got {stored_multiplier}")
    chg = sorted(changes, key=lambda c: c.time_ns)
    if not chg:
        return v.copy(), []
    for c in chg:
        if not (c.old > 0 and c.new > 0):
            raise ValueError(f"multipliers must be positive, got {c.old} -> {c.new}")
    count = v / stored_multiplier
    at = np.searchsorted(np.array([c.time_ns for c in chg], dtype=np.int64), t, side="right")
    scale = np.array([chg[0].old, *(c.new for c in chg)], dtype=np.float64)[at]
    order = np.argsort(t, kind="stable")
    ts, cs = t[order], count[order]
    reps = []
    for c in chg:
        r = c.reading
        if r is None:
            i = int(np.searchsorted(ts, c.time_ns, side="left"))
            if 0 < i < ts.size and np.isfinite(cs[i - 1]) and np.isfinite(cs[i]):
                r = float(np.interp(c.time_ns, ts[i - 1 : i + 1], cs[i - 1 : i + 1]))
            elif ts.size and i < ts.size:
                r = float(cs[i])
            elif ts.size:
                r = float(cs[-1])
            else:
                r = 0.0
        reps.append(Replacement(c.time_ns, old_final=r * c.old, new_initial=r * c.new))
    return count * scale, reps


def intervals_from_register(
    time_ns: ArrayLike,
    value: ArrayLike,
    *,
    interval_s: int = DEFAULT_INTERVAL_S,
    origin_ns: int = 0,
    start_ns: int | None = None,
    end_ns: int | None = None,
    rollover_at: float | None = None,
    max_rate_per_h: float | None = None,
    replacements: Sequence[Replacement] = (),
    width_changes: Sequence[WidthChange] = (),
    max_glitch_readings: int = 1,
    gap_s: float | None = None,
    max_stuck_readings: int = 4,
) -> IntervalLedger:
    """Energy per fixed interval from one meter's cumulative register readings.

    Parameters
    ----------
    time_ns : array of int
        Reading times. [ns since the epoch, UTC]
    value : array of float
        Register values, in any order, possibly duplicated. [canonical unit: kWh, m3]
    interval_s : int
        Interval length. [s]
    origin_ns : int
        An instant on which interval boundaries fall (0: aligned to the epoch). [ns]
    start_ns, end_ns : int, optional
        Range of the ledger (aligned to the intervals); default the span of the readings. [ns]
    rollover_at : float, optional
        Value at which the register wraps to zero (e.g. 1e6 for a 6-digit kWh register).
        [canonical unit]
    max_rate_per_h : float, optional
        Highest plausible average rate (for kWh registers, the meter's maximum power). Steps
        above it are rejected. [canonical unit per hour, e.g. kW]
    replacements : sequence of Replacement
        Known meter replacements (and multiplier changes, see :func:`rescale_register`).
    width_changes : sequence of WidthChange
        Changes of the register's wrap value: ``rollover_at`` holds until the first.
    max_glitch_readings : int
        Longest run of readings that may be rejected as one spike or dip (0 disables).
    gap_s : float, optional
        A step longer than this is a gap and its intervals are ``INTERPOLATED``. [s]
        Default ``interval_s``.
    max_stuck_readings : int
        Longest run of repeated readings (a frozen register) that an implausible step after it
        may be spread back over (0 disables).

    Returns
    -------
    IntervalLedger
        Interval starts, energy [canonical unit], quality codes, and the issues found.

    Raises
    ------
    ValueError
        If the arrays do not match, ``interval_s`` is not positive, or the range is not aligned.
    """
    t_in = np.asarray(time_ns, dtype=np.int64).ravel()
    v_in = np.asarray(value, dtype=np.float64).ravel()
    if t_in.shape != v_in.shape:
        raise ValueError(f"time_ns has {t_in.size} readings but value has {v_in.size}")
    if interval_s <= 0:
        raise ValueError(f"interval_s must be positive, got {interval_s}")
    roll = _Rollover(rollover_at, width_changes)
    interval_ns = int(interval_s) * _NS_PER_S
    gap_ns = (interval_s if gap_s is None else gap_s) * _NS_PER_S
    issues: list[Issue] = []

    t, v = _clean_and_order(t_in, v_in, roll, issues)
    reps = sorted(replacements, key=lambda r: r.time_ns)
    rep_ns = np.array([r.time_ns for r in reps], dtype=np.int64)
    bound_per_h = _rate_bound_per_h(t, v, max_rate_per_h)
    t, v, offset = _unwrap_and_deglitch(
        t,
        v,
        issues,
        rep_ns=rep_ns,
        roll=roll,
        bound_per_h=bound_per_h,
        max_rate_per_h=max_rate_per_h,
        max_glitch_readings=max_glitch_readings,
    )

    # Ledger range.
    if start_ns is None:
        start_ns = _aligned(int(t[0]), origin_ns, interval_ns, up=False) if t.size else 0
    if end_ns is None:
        end_ns = _aligned(int(t[-1]), origin_ns, interval_ns, up=True) if t.size else start_ns
    for name, edge in (("start_ns", start_ns), ("end_ns", end_ns)):
        if (edge - origin_ns) % interval_ns:
            raise ValueError(f"{name}={edge} is not on an interval boundary")
    if end_ns < start_ns:
        raise ValueError(f"end_ns={end_ns} is before start_ns={start_ns}")
    n_int = (end_ns - start_ns) // interval_ns
    starts = start_ns + np.arange(n_int, dtype=np.int64) * interval_ns

    if t.size < 2:
        issues.append(
            Issue(
                IssueCode.INSUFFICIENT_DATA,
                f"{t.size} valid readings; at least 2 are needed",
                {"count": int(t.size)},
            )
        )
        return _ledger(
            starts,
            np.full(n_int, np.nan),
            np.full(n_int, Quality.MISSING, dtype=np.int8),
            interval_s,
            issues,
        )

    energy, quality = _step_energy(
        t,
        v,
        issues,
        offset=offset,
        reps=reps,
        rep_ns=rep_ns,
        roll=roll,
        bound_per_h=bound_per_h,
        max_rate_per_h=max_rate_per_h,
        gap_ns=gap_ns,
        max_stuck_readings=max_stuck_readings,
    )
    e_out, q_out = _spread(t, energy, quality, starts, interval_ns)
    return _ledger(starts, e_out, q_out, interval_s, issues)


def _spread(
    t: NDArray[np.int64],
    step_energy: NDArray[np.float64],
    step_quality: NDArray[np.int8],
    starts: NDArray[np.int64],
    interval_ns: int,
) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
    """Spread each step's energy over the intervals in proportion to time."""
    n_int = starts.size
    if n_int == 0:
        return np.zeros(0), np.zeros(0, dtype=np.int8)
    origin = int(starts[0])
    known = np.isfinite(step_energy)
    dt_s = (t[1:] - t[:-1]) / _NS_PER_S
    cum_e = np.concatenate(([0.0], np.cumsum(np.where(known, step_energy, 0.0))))
    cum_k = np.concatenate(([0.0], np.cumsum(np.where(known, dt_s, 0.0))))
    t_rel = (t - origin) / _NS_PER_S
    edges = np.arange(n_int + 1, dtype=np.float64) * (interval_ns / _NS_PER_S)
    energy = np.maximum(np.diff(np.interp(edges, t_rel, cum_e)), 0.0)
    covered_s = np.diff(np.interp(edges, t_rel, cum_k))

    # Worst step quality touching each interval, via one difference array per code.
    quality = np.zeros(n_int, dtype=np.int8)
    lo = (t[:-1] - origin) // interval_ns
    hi = -((origin - t[1:]) // interval_ns)  # exclusive: ceil((t1 - origin) / interval)
    lo, hi = np.clip(lo, 0, n_int), np.clip(hi, 0, n_int)
    for code in np.unique(step_quality[known]).tolist():
        if code == Quality.MEASURED:
            continue
        sel = known & (step_quality == code)
        marks = np.zeros(n_int + 1, dtype=np.int64)
        np.add.at(marks, lo[sel], 1)
        np.add.at(marks, hi[sel], -1)
        touched = np.cumsum(marks[:-1]) > 0
        quality[touched] = worst_quality(quality[touched], np.int8(code))
    tolerance_s = 1e-6
    partial = covered_s < interval_ns / _NS_PER_S - tolerance_s
    quality[partial] = np.maximum(quality[partial], Quality.ESTIMATED)
    none = covered_s <= tolerance_s
    quality[none] = Quality.MISSING
    energy[none] = np.nan
    return energy, quality


def _ledger(
    starts: NDArray[np.int64],
    energy: NDArray[np.float64],
    quality: NDArray[np.int8],
    interval_s: int,
    issues: list[Issue],
) -> IntervalLedger:
    for a in (starts, energy, quality):
        a.flags.writeable = False
    return IntervalLedger(starts, energy, quality, int(interval_s), tuple(issues))
