"""Counters → interval energy: known values, data-quality cases, and ledger properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from analytics.intervals import (
    KNOWN_TOTAL,
    IntervalLedger,
    IssueCode,
    MultiplierChange,
    Quality,
    Replacement,
    WidthChange,
    intervals_from_register,
    known_pct,
    measured_pct,
    rescale_register,
    typical_spacing_s,
    worst_quality,
)

S = 1_000_000_000  # ns per second
MIN = 60 * S
Q = 900 * S  # one 15-min interval
M, RC, RO, MR, IP, ES, MI = (
    Quality.MEASURED,
    Quality.RESET_CORRECTED,
    Quality.ROLLOVER_CORRECTED,
    Quality.METER_REPLACED,
    Quality.INTERPOLATED,
    Quality.ESTIMATED,
    Quality.MISSING,
)


def steady(minutes: int = 60, kw: float = 6.0, start_kwh: float = 0.0):
    """A 6 kW load read every minute: 0.1 kWh per reading (6 kW × 1/60 h)."""
    t = np.arange(minutes + 1, dtype=np.int64) * MIN
    return t, start_kwh + np.arange(minutes + 1) * kw / 60


def codes(ledger: IntervalLedger) -> set[IssueCode]:
    return {i.code for i in ledger.issues}


# --- known values -------------------------------------------------------------------------------


def test_steady_load_gives_measured_quarter_hours():
    t, v = steady()
    ledger = intervals_from_register(t, v)
    # 6 kW × 0.25 h = 1.5 kWh per quarter hour, four quarter hours in the hour.
    assert_allclose(ledger.energy, [1.5, 1.5, 1.5, 1.5], rtol=1e-12)
    assert_array_equal(ledger.quality, [M] * 4)
    assert_array_equal(ledger.start_ns, [0, Q, 2 * Q, 3 * Q])
    assert ledger.interval_s == 900
    assert ledger.issues == ()


def test_gap_is_spread_over_its_intervals_not_lumped():
    # 4 kWh between two readings one hour apart: 4 kWh × (900 s / 3600 s) = 1 kWh per interval.
    ledger = intervals_from_register([0, 3600 * S], [10.0, 14.0])
    assert_allclose(ledger.energy, [1.0, 1.0, 1.0, 1.0])
    assert_array_equal(ledger.quality, [IP] * 4)
    assert codes(ledger) == {IssueCode.GAP}


def test_gap_spread_by_time_across_unaligned_readings():
    # Readings at 00:10 (0 kWh) and 00:40 (3 kWh): 0.1 kWh/min. Interval 00:00 gets 5 min
    # (0.5 kWh, partly covered → estimated), 00:15 gets 15 min (1.5), 00:30 gets 10 min (1.0).
    ledger = intervals_from_register([10 * MIN, 40 * MIN], [0.0, 3.0])
    assert_allclose(ledger.energy, [0.5, 1.5, 1.0])
    assert_array_equal(ledger.quality, [ES, IP, ES])


def test_dip_to_zero_on_reconnect_is_a_glitch_not_a_reset():
    t, v = steady()
    v[30] = 0.0  # gateway reports 0 while reconnecting (HA frontend #29595)
    ledger = intervals_from_register(t, v)
    assert_allclose(ledger.energy, [1.5] * 4)
    assert_array_equal(ledger.quality, [M] * 4)
    assert codes(ledger) == {IssueCode.SPIKE}


def test_upward_spike_is_rejected():
    t, v = steady()
    v[10] = 1e6
    ledger = intervals_from_register(t, v)
    assert_allclose(ledger.energy, [1.5] * 4)
    assert codes(ledger) == {IssueCode.SPIKE}


def test_reset_credits_only_what_was_counted_since_zero():
    t, v = steady()
    # The register restarts from zero between minute 29 (2.9 kWh) and minute 30, and reads
    # 0.05 kWh at minute 30 (it was reset half-way through the minute).
    v[30:] = v[30:] - 3.0 + 0.05
    ledger = intervals_from_register(t, v)
    # Step 29→30 is credited 0.05 kWh instead of 0.1: interval 2 (minutes 30–45) is unaffected,
    # interval 1 (minutes 15–30) holds 1.5 − 0.1 + 0.05 = 1.45 kWh.
    assert_allclose(ledger.energy, [1.5, 1.45, 1.5, 1.5])
    assert_array_equal(ledger.quality, [M, RC, M, M])
    assert codes(ledger) == {IssueCode.RESET}
    assert ledger.total() < 6.0


def test_rollover_of_a_six_digit_register():
    # 99,999.5 kWh then 0.5 kWh on a register that wraps at 100,000:
    # energy = 100,000 − 99,999.5 + 0.5 = 1.0 kWh.
    ledger = intervals_from_register(
        [0, 5 * MIN, 10 * MIN, 15 * MIN], [99_998.5, 99_999.0, 99_999.5, 0.5], rollover_at=1e5
    )
    assert_allclose(ledger.energy, [2.0])
    assert_array_equal(ledger.quality, [RO])
    assert codes(ledger) == {IssueCode.ROLLOVER}


def test_meter_replacement_with_known_final_and_initial_values():
    # Old meter read 1,000.0 at 00:00 and 1,000.4 at removal; the new one was installed at 00:10
    # reading 5.0 and reads 5.6 at 00:15. Energy = (1,000.4 − 1,000.0) + (5.6 − 5.0) = 1.0 kWh.
    ledger = intervals_from_register(
        [0, 15 * MIN],
        [1000.0, 5.6],
        replacements=[Replacement(10 * MIN, old_final=1000.4, new_initial=5.0)],
    )
    assert_allclose(ledger.energy, [1.0])
    assert_array_equal(ledger.quality, [MR])
    assert codes(ledger) == {IssueCode.METER_REPLACED}


def test_meter_replacement_starting_above_old_value_is_not_counted_as_energy():
    # A new meter calibrated to start at 50,000 (ioBroker.statistics #264): without the
    # replacement the jump would be 49,000 kWh of phantom energy.
    ledger = intervals_from_register(
        [0, 5 * MIN, 10 * MIN, 15 * MIN],
        [1000.0, 1000.5, 50_000.2, 50_000.7],
        replacements=[Replacement(10 * MIN, new_initial=50_000.0)],
    )
    # 0.5 (old) + (50,000.2 − 50,000.0) + 0.5 (new) = 1.2 kWh. The old meter's final reading is
    # unknown, so what it counted from 00:05 to the swap is lost: a reset, not a known total.
    assert_allclose(ledger.energy, [1.2])
    assert_array_equal(ledger.quality, [RC])
    (issue,) = ledger.issues
    assert issue.code is IssueCode.METER_REPLACED
    assert issue.data["lost"] == 1


def test_implausible_step_is_missing_not_counted():
    # 100 kWh in 5 minutes is 1,200 kW, above the meter's 50 kW: the step's energy is unknown.
    t = np.array([0, 5, 10, 15, 20, 25, 30], dtype=np.int64) * MIN
    v = np.array([0.0, 1.0, 2.0, 3.0, 103.0, 104.0, 105.0])
    ledger = intervals_from_register(t, v, max_rate_per_h=50.0, max_glitch_readings=0)
    # Interval 0: 3 kWh measured. Interval 1: steps 15→20 unknown, 20→25 and 25→30 1 kWh each:
    # 2 kWh over 10 of 15 min → estimated.
    assert_allclose(ledger.energy, [3.0, 2.0])
    assert_array_equal(ledger.quality, [M, ES])
    assert IssueCode.IMPLAUSIBLE_STEP in codes(ledger)


def test_a_reset_in_a_gap_is_flagged_as_a_reset_not_hidden_as_interpolated():
    # Found by the ground-truth test: a reading 2 min late (a skewed clock) made the step that
    # held a counter reset 17 min long, a gap, and INTERPOLATED (4) outranked RESET_CORRECTED (2),
    # so the intervals whose energy was lost before the reset looked merely interpolated.
    t = np.array([0, 15, 30, 47, 62, 75], dtype=np.int64) * MIN
    v = np.array([100.0, 101.0, 102.0, 0.5, 1.5, 2.5])
    ledger = intervals_from_register(t, v, start_ns=0, end_ns=75 * MIN)
    assert_array_equal(ledger.quality, [M, M, RC, RC, M])
    assert IssueCode.RESET in codes(ledger)
    assert IssueCode.GAP in codes(ledger)


def test_worst_quality_lets_a_reset_or_replacement_outrank_a_gap():
    a = np.array([RC, IP, M, ES, MR, RO], dtype=np.int8)
    b = np.array([IP, RC, IP, RC, IP, M], dtype=np.int8)
    assert_array_equal(worst_quality(a, b), [RC, RC, IP, ES, MR, RO])
    assert_array_equal(worst_quality(b, a), worst_quality(a, b))


def test_a_frozen_register_that_catches_up_is_spread_over_the_run_not_missing():
    # Found by the ground-truth test: a PV inverter's register froze for two readings, then
    # caught up by 3 intervals' energy in one step, above the inverter's rated rate, so the step
    # was rejected as implausible and 3 intervals of known energy were lost.
    t = np.arange(7, dtype=np.int64) * Q
    v = np.array([0.0, 10.0, 20.0, 20.0, 20.0, 50.0, 60.0])  # 40 kW; 50 kW rated
    ledger = intervals_from_register(t, v, max_rate_per_h=50.0, max_glitch_readings=0)
    assert_allclose(ledger.energy, [10.0] * 6)
    assert_array_equal(ledger.quality, [M, M, IP, IP, IP, M])
    assert IssueCode.STUCK in codes(ledger)
    assert IssueCode.IMPLAUSIBLE_STEP not in codes(ledger)
    # without the rule (or with a run too short to explain it) the step stays implausible
    off = intervals_from_register(
        t, v, max_rate_per_h=50.0, max_glitch_readings=0, max_stuck_readings=0
    )
    assert np.isnan(off.energy[4])
    assert off.quality[4] == MI
    short = intervals_from_register(
        t, v, max_rate_per_h=50.0, max_glitch_readings=0, max_stuck_readings=1
    )
    assert IssueCode.IMPLAUSIBLE_STEP in codes(short)


def test_invalid_readings_are_rejected_with_codes():
    t, v = steady(15)
    v = v.copy()
    v[3] = np.nan
    v[5] = -1.0
    ledger = intervals_from_register(t, v)
    assert_allclose(ledger.energy, [1.5])
    assert {IssueCode.NON_FINITE, IssueCode.IMPLAUSIBLE_VALUE} <= codes(ledger)


def test_conflicting_duplicates_keep_the_lowest_value():
    ledger = intervals_from_register([0, 15 * MIN, 15 * MIN], [0.0, 1.5, 1.7])
    assert_allclose(ledger.energy, [1.5])
    assert IssueCode.CONFLICTING_DUPLICATE in codes(ledger)


def test_out_of_order_and_duplicates_are_reported():
    t, v = steady(15)
    ledger = intervals_from_register(np.r_[t[::-1], t[:3]], np.r_[v[::-1], v[:3]])
    assert_allclose(ledger.energy, [1.5])
    assert {IssueCode.OUT_OF_ORDER, IssueCode.DUPLICATE} <= codes(ledger)


def test_range_outside_readings_is_missing():
    t, v = steady()
    ledger = intervals_from_register(t, v, start_ns=-Q, end_ns=5 * Q)
    assert np.isnan(ledger.energy[[0, 5]]).all()
    assert_array_equal(ledger.quality, [MI, M, M, M, M, MI])


def test_origin_shifts_the_grid():
    t, v = steady()
    ledger = intervals_from_register(t, v, interval_s=1800, origin_ns=5 * MIN)
    # Grid 23:35, 00:05, 00:35: 0.5, 3.0 and 2.5 kWh (5, 30 and 25 minutes of 0.1 kWh/min).
    assert_array_equal(ledger.start_ns, [-25 * MIN, 5 * MIN, 35 * MIN])
    assert_allclose(ledger.energy, [0.5, 3.0, 2.5])
    assert_array_equal(ledger.quality, [ES, M, ES])


def test_too_few_readings_is_an_issue_not_an_error():
    ledger = intervals_from_register([0], [1.0], start_ns=0, end_ns=Q)
    assert_array_equal(ledger.quality, [MI])
    assert codes(ledger) == {IssueCode.INSUFFICIENT_DATA}
    empty = intervals_from_register([], [])
    assert empty.energy.size == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time_ns": [0, 1], "value": [1.0]}, "readings"),
        ({"time_ns": [0], "value": [1.0], "interval_s": 0}, "positive"),
        ({"time_ns": [0], "value": [1.0], "start_ns": 7}, "boundary"),
        ({"time_ns": [0], "value": [1.0], "rollover_at": 0.0}, "rollover_at"),
    ],
)
def test_caller_errors_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        intervals_from_register(**kwargs)


def test_ledger_arrays_are_read_only():
    ledger = intervals_from_register(*steady())
    with pytest.raises(ValueError, match="read-only"):
        ledger.energy[0] = 0.0


# --- properties ---------------------------------------------------------------------------------

increments = st.lists(st.floats(0.0, 5.0, allow_nan=False), min_size=1, max_size=40)
steps_s = st.integers(10, 1800)


@st.composite
def register(draw: st.DrawFn, *, resets: bool = False):
    """A register's readings and the true energy it counted."""
    inc = np.array(draw(increments))
    dt = np.array(draw(st.lists(steps_s, min_size=inc.size, max_size=inc.size)))
    t = np.concatenate(([0], np.cumsum(dt))).astype(np.int64) * S + draw(st.integers(0, 10**6)) * S
    start = draw(st.floats(0.0, 1e5))
    v = start + np.concatenate(([0.0], np.cumsum(inc)))
    if resets:
        # Reset just before some readings: the register then holds what it counted since zero,
        # a random part of the step's increment.
        for k in draw(st.lists(st.integers(1, inc.size), max_size=3, unique=True)):
            since = draw(st.floats(0.0, 1.0)) * inc[k - 1]
            v[k:] = v[k:] - v[k] + since
    return t, v, float(inc.sum())


@settings(max_examples=150, deadline=None)
@given(data=register(resets=True), perm=st.randoms(use_true_random=False))
def test_reordering_or_duplicating_never_changes_the_ledger(data, perm):
    t, v, _ = data
    base = intervals_from_register(t, v)
    idx = list(range(t.size)) * 2
    perm.shuffle(idx)
    shuffled = intervals_from_register(t[idx], v[idx])
    assert_array_equal(shuffled.start_ns, base.start_ns)
    assert_array_equal(shuffled.energy, base.energy)  # NaN compares equal here
    assert_array_equal(shuffled.quality, base.quality)


@settings(max_examples=150, deadline=None)
@given(
    t=st.lists(st.integers(0, 10**5), min_size=0, max_size=40),
    v=st.lists(st.floats(-10.0, 1e4) | st.just(float("nan")), min_size=40, max_size=40),
)
def test_energy_is_never_negative_whatever_the_input(t, v):
    ledger = intervals_from_register(np.array(t, dtype=np.int64) * S, v[: len(t)])
    known = ledger.energy[~np.isnan(ledger.energy)]
    assert (known >= 0).all()
    assert (np.isnan(ledger.energy) == (ledger.quality == MI)).all()


@settings(max_examples=150, deadline=None)
@given(data=register(resets=True))
def test_resets_never_create_energy(data):
    t, v, true_kwh = data
    assert intervals_from_register(t, v).total() <= true_kwh + 1e-6 * max(1.0, true_kwh)


@settings(max_examples=150, deadline=None)
@given(
    inc=st.lists(st.floats(1.0, 2.0), min_size=2, max_size=60),
    start=st.floats(0.0, 999.0),
)
def test_rollovers_are_exact_and_never_create_energy(inc, start):
    # Readings every minute of a register wrapping at 1,000, increments 1–2 per minute.
    t = np.arange(len(inc) + 1, dtype=np.int64) * MIN
    true = np.concatenate(([0.0], np.cumsum(inc)))
    ledger = intervals_from_register(t, (start + true) % 1000.0, rollover_at=1000.0)
    assert_allclose(ledger.total(), true[-1], rtol=1e-9, atol=1e-6)
    wrapped = int((start + true[-1]) // 1000)
    assert (IssueCode.ROLLOVER in codes(ledger)) == (wrapped > 0)


@settings(max_examples=100, deadline=None)
@given(
    n_intervals=st.integers(2, 96),
    energy=st.floats(0.0, 1e4),
    lead=st.integers(1, 899),
)
def test_gaps_are_spread_in_proportion_to_time(n_intervals, energy, lead):
    # Two readings `lead` s into an interval and n intervals later: every interval fully inside
    # the gap gets energy × 900 / gap, none gets the lot.
    t0 = lead * S
    t1 = t0 + n_intervals * Q
    ledger = intervals_from_register([t0, t1], [0.0, energy])
    inside = ledger.energy[1:-1]
    assert_allclose(inside, energy / n_intervals, rtol=1e-9, atol=1e-9)
    assert_allclose(ledger.total(), energy, rtol=1e-9, atol=1e-9)
    assert (ledger.quality[1:-1] == IP).all()


# -- maintenance log: replacement, multiplier change, width change --------------------------------

_H = 3600 * 10**9


def test_swap_with_old_final_12345_6_and_new_initial_0_loses_nothing():
    # Old meter read 12,300.0 at 00:00 and its final reading 12,345.6 at the swap (00:30); the
    # new meter starts at 0.0 and reads 54.4 at 01:00. Energy = (12,345.6 - 12,300.0) + (54.4 -
    # 0.0) = 45.6 + 54.4 = 100.0 kWh over the hour; nothing is lost.
    t = np.array([0, _H], dtype=np.int64)
    led = intervals_from_register(
        t,
        [12_300.0, 54.4],
        interval_s=3600,
        replacements=[Replacement(_H // 2, old_final=12_345.6, new_initial=0.0)],
    )
    assert_allclose(led.energy, [100.0], rtol=1e-12)
    assert led.quality.tolist() == [Quality.METER_REPLACED]
    assert {i.code for i in led.issues} == {IssueCode.METER_REPLACED}


def test_multiplier_change_scales_each_side_by_its_own_ratio():
    # Display counts 100 at 00:00, 110 at the change (00:30, noted), 130 at 01:00; the CT ratio
    # goes from 40 to 80 at the change. Energy = (110 - 100) x 40 + (130 - 110) x 80 = 400 +
    # 1,600 = 2,000 kWh. The collector stored count x 40 (the registry's multiplier).
    t = np.array([0, _H], dtype=np.int64)
    stored = np.array([100.0, 130.0]) * 40.0
    values, reps = rescale_register(
        t,
        stored,
        [MultiplierChange(_H // 2, old=40.0, new=80.0, reading=110.0)],
        stored_multiplier=40.0,
    )
    assert_allclose(values, [4_000.0, 10_400.0])
    led = intervals_from_register(t, values, interval_s=3600, replacements=reps)
    assert_allclose(led.energy, [2_000.0], rtol=1e-12)
    assert led.quality.tolist() == [Quality.METER_REPLACED]


def test_multiplier_change_without_a_noted_reading_interpolates_the_count():
    # Counts 100 at 00:00 and 140 at 01:00, change 40 -> 80 at 00:15 unnoted: the count there is
    # interpolated as 110, so energy = 10 x 40 + 30 x 80 = 2,800 kWh.
    t = np.array([0, _H], dtype=np.int64)
    values, reps = rescale_register(
        t,
        [4_000.0, 5_600.0],
        [MultiplierChange(_H // 4, old=40.0, new=80.0)],
        stored_multiplier=40.0,
    )
    led = intervals_from_register(t, values, interval_s=3600, replacements=reps)
    assert_allclose(led.energy, [2_800.0], rtol=1e-12)


def test_width_change_wraps_at_the_new_width_only_after_it():
    # A 4-digit register (wraps at 10,000) reprogrammed to 6 digits at 02:00. Readings hourly:
    # 9,990 -> 10 (a 4-digit wrap: 10,000 - 9,990 + 10 = 20 kWh) -> 30 (20) -> 50 (20) -> 5 -> 25.
    # After the change the drop 50 -> 5 would be 999,955 kWh at 6 digits, beyond 100 kW x 1 h:
    # a reset crediting 5; then 20.
    t = np.arange(6, dtype=np.int64) * _H
    led = intervals_from_register(
        t,
        [9_990.0, 10.0, 30.0, 50.0, 5.0, 25.0],
        interval_s=3600,
        rollover_at=10_000.0,
        width_changes=[WidthChange(2 * _H, 1e6)],
        max_rate_per_h=100.0,
    )
    assert_allclose(led.energy, [20.0, 20.0, 20.0, 5.0, 20.0])
    assert led.quality.tolist() == [RO, M, M, RC, M]


def test_width_change_accepts_readings_above_the_old_width():
    # 4 digits until 01:00, then 5: 12,000 at 02:00 is valid (below 100,000), 12,000 at 00:30
    # would not be.
    t = np.array([0, _H // 2, 2 * _H, 3 * _H], dtype=np.int64)
    led = intervals_from_register(
        t,
        [9_000.0, 12_000.0, 12_000.0, 12_500.0],
        interval_s=3600,
        rollover_at=10_000.0,
        width_changes=[WidthChange(_H, 100_000.0)],
    )
    codes = {i.code for i in led.issues}
    assert IssueCode.IMPLAUSIBLE_VALUE in codes
    assert_allclose(led.energy[-1], 500.0)


def test_an_hourly_meter_is_known_in_total_and_interpolated_in_quarter_hours():
    # 16 kW read hourly: 16 kWh an hour, 4 kWh a quarter hour. Each hour's 16 kWh is exact (two
    # readings bracket it); its split into quarter hours is linear, not read: INTERPOLATED. So the
    # hour's total is 100 % known and 0 % measured (peak demand cannot come from these).
    t = np.array([0, 1, 2, 3], dtype=np.int64) * _H
    led = intervals_from_register(t, [0.0, 16.0, 32.0, 48.0])
    assert_allclose(led.energy, np.full(12, 4.0))
    assert (led.quality == Quality.INTERPOLATED).all()
    assert known_pct(led.quality) == 100.0
    assert measured_pct(led.quality) == 0.0
    # gap_s still widens what counts as a step: 1.5 h makes the quarter hours "measured" — the
    # ledger never passes it (services.ledger), since their shape is not read
    assert (intervals_from_register(t, [0.0, 16.0, 32.0, 48.0], gap_s=5400).quality == M).all()


def test_known_total_holds_the_qualities_whose_total_is_exact():
    # readings bracket the interval and nothing between them was lost
    assert {MR, RO, IP, M} == KNOWN_TOTAL
    assert not KNOWN_TOTAL & {RC, ES, MI}


def test_known_and_measured_shares_count_codes():
    # 8 intervals: 2 measured, 1 rollover-corrected, 2 interpolated, 1 meter-replaced (6 known
    # totals), 1 reset-corrected, 1 missing. Known 6 / 8 = 75 %; measured 2 / 8 = 25 %.
    q = np.array([M, M, RO, IP, IP, MR, RC, MI], dtype=np.int8)
    assert known_pct(q) == 75.0
    assert measured_pct(q) == 25.0
    assert known_pct([ES, ES]) == 0.0
    assert known_pct([]) == measured_pct([]) == 0.0  # nothing is not complete
    assert known_pct(q.reshape(2, 4)) == 75.0  # any shape


def test_a_swap_without_the_old_final_reading_is_a_reset_not_a_known_total():
    # Old meter 100.0 at 00:00, swapped at 00:30 (its last count not read), the new one from 0.0
    # reads 5.0 at 01:00: the old meter's half hour is lost, 5.0 kWh is a lower bound.
    t = np.array([0, _H], dtype=np.int64)
    led = intervals_from_register(
        t, [100.0, 5.0], interval_s=3600, replacements=[Replacement(_H // 2, new_initial=0.0)]
    )
    assert_allclose(led.energy, [5.0])
    assert led.quality.tolist() == [RC]
    assert known_pct(led.quality) == 0.0
    (issue,) = led.issues
    assert "without the old meter's final reading" in issue.message


def test_typical_spacing_is_the_median_of_recent_readings():
    # hourly readings with one missing (a 2 h step) and one duplicate: the median stays 3,600 s
    t = np.array([0, 1, 2, 2, 4, 5, 6], dtype=np.int64) * _H
    assert typical_spacing_s(t) == 3600.0
    assert typical_spacing_s(t[:2]) is None
    # only the last 3 spacings count: 60 s apart at the end
    t2 = np.concatenate([t, 6 * _H + np.arange(1, 4) * 60 * S])
    assert typical_spacing_s(t2, recent=3) == 60.0
