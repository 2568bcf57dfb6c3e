"""Year-end projection: hand-computed cases and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from analytics.projection import project_ratio, project_total

NAN = math.nan


def test_flat_shape_two_months_observed():
    # ref 1,1,1,1; Jan 10, Feb 12 → r = 22 / 2 = 11, total = 22 + 11 × 2 = 44.
    # Ratios 10, 12: weighted variance 1, × k_eff/(k_eff − 1) = 2 → s² = 2 (the sample variance).
    # sigma² = 2 × (Σ rem² = 2 + (Σ rem)² / k_eff = 4 / 2) = 8.
    p = project_total([10.0, 12.0, NAN, NAN], [1.0, 1.0, 1.0, 1.0])
    assert (p.ytd, p.value, p.ratio, p.periods) == (22.0, 44.0, 11.0, 2)
    assert_allclose(p.sigma, math.sqrt(8.0))
    assert p.elapsed_share == 0.5


def test_seasonal_reference_keeps_the_shape():
    # Last year 100, 200, 300, 400; this year +10 % in the first two → 110 + 220 + 330 + 440.
    p = project_total([110.0, 220.0, NAN, NAN], [100.0, 200.0, 300.0, 400.0])
    assert_allclose(p.value, 1100.0)
    assert_allclose(p.sigma, 0.0, atol=1e-9)  # both months exactly +10 %: no scatter seen
    assert_allclose(p.elapsed_share, 0.3)


def test_partial_current_period():
    # ref 2 each; Jan 4 (full), Feb 1 after half of it: W = 2 + 1 = 3, r = 5/3,
    # remaining reference = 1 + 2 + 2 = 5 → total = 5 + 25/3.
    p = project_total([4.0, 1.0, NAN, NAN], [2.0] * 4, elapsed=[1.0, 0.5, 0.0, 0.0])
    assert_allclose(p.value, 5.0 + 25.0 / 3.0)
    assert p.periods == 2


def test_complete_year_is_itself_with_no_uncertainty():
    p = project_total([3.0, 5.0, 7.0], [1.0, 1.0, 1.0])
    assert (p.value, p.sigma, p.elapsed_share) == (15.0, 0.0, 1.0)


def test_one_period_has_unknown_uncertainty_and_none_no_value():
    one = project_total([10.0, NAN, NAN], [1.0, 1.0, 1.0])
    assert one.value == 30.0
    assert math.isnan(one.sigma)
    none = project_total([NAN, NAN], [1.0, 1.0])
    assert math.isnan(none.value)
    assert none.ytd == 0.0


def test_bad_inputs():
    with pytest.raises(ValueError, match="same length"):
        project_total([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="within"):
        project_total([1.0, 2.0], [1.0, 1.0], elapsed=[1.0, 1.5])
    with pytest.raises(ValueError, match="non-negative"):
        project_total([1.0, 2.0], [1.0, -1.0])
    with pytest.raises(ValueError, match="finite"):
        project_total([NAN, 2.0], [1.0, 1.0], elapsed=[1.0, 0.0])


def test_ratio_projects_numerator_and_denominator_apart():
    # N: 1, 3 of a flat year of 4 → 8, sigma_N = √8 (as above); D: 10, 10 → 40, sigma_D = 0.
    # Q = 8 / 40 = 0.2; sigma_Q = sigma_N / D = √8 / 40.
    q = project_ratio([1.0, 3.0, NAN, NAN], [1.0] * 4, [10.0, 10.0, NAN, NAN], [1.0] * 4)
    assert_allclose(q.ytd, 0.2)
    assert_allclose(q.value, 0.2)
    assert_allclose(q.sigma, math.sqrt(8.0) / 40.0)
    assert q.correlation == 0.0


def test_ratio_with_different_shapes():
    # Carbon follows last year's shape 1,1,2,2; energy is flat: Jan, Feb at last year's level.
    q = project_ratio([1.0, 1.0, NAN, NAN], [1.0, 1.0, 2.0, 2.0], [5.0, 5.0, NAN, NAN], [1.0] * 4)
    assert_allclose(q.numerator.value, 6.0)
    assert_allclose(q.denominator.value, 20.0)
    assert_allclose(q.value, 0.3)  # not the year-to-date 0.2
    assert_allclose(q.ytd, 0.2)


def test_correlated_numerator_and_denominator_narrow_the_ratio():
    n = [1.0, 2.0, 3.0, NAN, NAN, NAN]
    d = [10.0, 20.0, 30.0, NAN, NAN, NAN]  # carbon exactly follows energy
    q = project_ratio(n, [1.0] * 6, d, [1.0] * 6)
    assert_allclose(q.correlation, 1.0)
    assert_allclose(q.value, 0.1)
    assert_allclose(q.sigma, 0.0, atol=1e-12)
    assert q.numerator.sigma > 0


_values = st.lists(st.floats(0.0, 1e6, allow_nan=False), min_size=1, max_size=24)


@given(_values)
def test_property_complete_year(values):
    ref = np.ones(len(values))
    p = project_total(values, ref)
    assert_allclose(p.value, sum(values), rtol=1e-12)
    assert p.sigma == 0.0


@given(
    st.lists(st.floats(0.1, 1e4, allow_nan=False), min_size=2, max_size=12),
    st.floats(0.01, 100.0),
    st.integers(1, 12),
)
def test_property_proportional_year_is_exact(ref, c, k):
    k = min(k, len(ref))
    actual = [c * r if i < k else NAN for i, r in enumerate(ref)]
    p = project_total(actual, ref)
    assert_allclose(p.value, c * sum(ref), rtol=1e-9)
    if k >= 2:
        assert_allclose(p.sigma, 0.0, atol=1e-6 * c * sum(ref))


@given(
    st.lists(st.floats(1.0, 1e4, allow_nan=False), min_size=3, max_size=12),
    st.floats(0.1, 10.0),
)
def test_property_scales_linearly(values, lam):
    actual = [*values[:2], *([NAN] * (len(values) - 2))]
    ref = np.ones(len(values))
    p, q = project_total(actual, ref), project_total([lam * a for a in actual], ref)
    assert_allclose(q.value, lam * p.value, rtol=1e-9)
    assert_allclose(q.sigma, lam * p.sigma, rtol=1e-9, atol=1e-9)


def test_correlation_needs_two_common_periods():
    # N and D share one period with both references > 0 (period 0; N has no reference in period
    # 2, D none in period 1): one point gives no correlation, so it is 0, not ±1.
    # N: 1, 3, 2 → 9, sigma_N = √6; D: 10, 14 → 36, sigma_D = √12; Q = 9 / 36 = 0.25;
    # sigma_Q = √((sigma_N / D)² + (N sigma_D / D²)²) = √(6/1296 + 81·12/1296²) = 0.0721688.
    q = project_ratio([1.0, 3.0, 2.0, NAN], [1.0, 1.0, 0.0, 1.0], [10.0, 0.0, 14.0, NAN],
                      [1.0, 0.0, 1.0, 1.0])  # fmt: skip
    assert q.correlation == 0.0
    assert_allclose(q.value, 0.25)
    assert_allclose(q.sigma, math.sqrt(6 / 36**2 + (9 * math.sqrt(12) / 36**2) ** 2), rtol=1e-12)
