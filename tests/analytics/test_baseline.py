"""Baseline models: parameters recovered from synthetic data of known parameters, statistics by
hand, Student's t against printed tables, the savings uncertainty, acceptance and refusal.

No published worked example of Guideline 14's savings uncertainty could be verified here, so
the formula is checked term by term against hand arithmetic instead."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from analytics.baseline import (
    AcceptanceLimits,
    BaselineError,
    autocorrelation_lag1,
    claim_savings,
    cv_rmse,
    degree_days,
    effective_n,
    fit_baseline,
    fit_best,
    fractional_savings_uncertainty,
    judge,
    nmbe,
    physical_slopes,
    predict,
    r_squared,
    savings,
    student_t_ppf,
)

RNG = np.random.default_rng(20250101)
LIMITS = AcceptanceLimits(
    max_cv_rmse_pct=20.0, max_abs_nmbe_pct=0.005, max_fsu=0.5, fsu_confidence=0.68, min_points=20
)


def _temps(n: int = 365) -> np.ndarray:
    return RNG.uniform(-5.0, 35.0, n)


@pytest.mark.parametrize(
    ("q", "df", "table"),
    # two-sided 95 %, one-sided 95 %, 99 % from any printed t table (3 decimals)
    [
        (0.975, 1, 12.706),
        (0.975, 10, 2.228),
        (0.95, 30, 1.697),
        (0.995, 5, 4.032),
        (0.975, 120, 1.980),
    ],
)
def test_student_t_matches_printed_tables(q: float, df: int, table: float) -> None:
    assert student_t_ppf(q, df) == pytest.approx(table, abs=6e-4)
    assert student_t_ppf(1 - q, df) == pytest.approx(-table, abs=6e-4)


def test_student_t_tends_to_the_normal() -> None:
    assert student_t_ppf(0.84, 1e7) == pytest.approx(NormalDist().inv_cdf(0.84), abs=1e-5)


def test_student_t_refuses_bad_input() -> None:
    with pytest.raises(BaselineError):
        student_t_ppf(1.0, 5)
    with pytest.raises(BaselineError):
        student_t_ppf(0.9, 0)


@pytest.mark.parametrize(
    ("kind", "cps", "coefs"),
    [
        ("3p_heating", (14.0,), (5.0,)),
        ("3p_cooling", (20.0,), (7.0,)),
        ("4p", (17.0,), (3.0, 6.0)),
        ("5p", (12.0, 23.0), (4.0, 8.0)),
    ],
)
def test_change_point_models_recover_known_parameters(
    kind: str, cps: tuple[float, ...], coefs: tuple[float, ...]
) -> None:
    t = _temps(730)
    base = 800.0
    if kind == "3p_heating":
        y = base + coefs[0] * np.maximum(cps[0] - t, 0)
    elif kind == "3p_cooling":
        y = base + coefs[0] * np.maximum(t - cps[0], 0)
    elif kind == "4p":
        y = base + coefs[0] * np.maximum(cps[0] - t, 0) + coefs[1] * np.maximum(t - cps[0], 0)
    else:
        y = base + coefs[0] * np.maximum(cps[0] - t, 0) + coefs[1] * np.maximum(t - cps[1], 0)
    y = y + RNG.normal(0.0, 5.0, t.size)
    model = fit_baseline(y, t, kind=kind, grid_step_c=0.5)  # type: ignore[arg-type]
    assert model.change_points_c == pytest.approx(cps, abs=0.51)
    assert_allclose(model.temperature_coefs, coefs, rtol=0.05)
    assert model.intercept == pytest.approx(base, rel=0.01)
    assert model.stats.p == 1 + len(coefs) + len(cps)
    assert model.stats.r2 > 0.95


def test_day_type_and_production_recovered() -> None:
    t = _temps(500)
    day = RNG.integers(0, 3, t.size)  # working / rest / adjusted working day
    prod = RNG.uniform(10.0, 50.0, t.size)  # [t/d]
    shift = np.array([0.0, -250.0, -40.0])
    y = 600 + 6 * np.maximum(t - 21, 0) + shift[day] + 12.0 * prod + RNG.normal(0, 3, t.size)
    model = fit_baseline(y, t, kind="3p_cooling", category=day, production=prod)
    assert model.category_levels == (0, 1, 2)
    assert_allclose(model.category_shifts, shift, atol=2.0)
    assert model.production_coefs[0] == pytest.approx(12.0, rel=0.01)
    assert model.stats.p == 3 + 2 + 1
    assert_allclose(predict(model, t, category=day, production=prod), y - model.residuals)


def test_degree_day_form() -> None:
    t = _temps()
    hdd = degree_days(t, base_c=18.0, heating=True)
    cdd = degree_days(t, base_c=24.0, heating=False)
    assert hdd[t < 18].min() > 0
    assert np.all(hdd[t >= 18] == 0)
    y = 300 + 9 * hdd + 11 * cdd + RNG.normal(0, 1, t.size)
    model = fit_baseline(y, t, kind="degree_day", degree_days_kd=np.column_stack([hdd, cdd]))
    assert_allclose(model.temperature_coefs, (9.0, 11.0), rtol=0.01)
    assert model.stats.p == 3


def test_statistics_by_hand() -> None:
    y = np.array([10.0, 12.0, 14.0, 16.0])
    y_hat = np.array([11.0, 11.0, 15.0, 15.0])  # residuals −1, 1, −1, 1; ȳ = 13
    assert cv_rmse(y, y_hat, 2) == pytest.approx(100 * math.sqrt(4 / 2) / 13)
    assert nmbe(y, y_hat, 2) == pytest.approx(0.0)
    assert nmbe(y, y_hat - 1.0, 2) == pytest.approx(100 * 4 / (2 * 13))
    assert r_squared(y, y_hat) == pytest.approx(1 - 4 / 20)
    assert autocorrelation_lag1([-1.0, 1.0, -1.0, 1.0]) == pytest.approx(-0.75)
    assert effective_n(100, 0.5) == pytest.approx(100 / 3)
    assert effective_n(100, -0.3) == 100  # negative rho: not more points than measured
    assert math.isnan(cv_rmse(y, y_hat, 4))


def test_fractional_savings_uncertainty_by_hand() -> None:
    # CV 10 %, a year of uncorrelated daily points, a year of reporting, 10 % savings, 68 %
    fsu = fractional_savings_uncertainty(
        10.0, n=365, n_eff=365.0, m=365, savings_fraction=0.10, p=3, confidence=0.68
    )
    t = student_t_ppf(0.84, 362)
    assert t == pytest.approx(0.9959, abs=2e-3)  # ≈ the normal 0.9945
    assert fsu == pytest.approx(t * 1.26 * 0.10 * math.sqrt((1 + 2 / 365) / 365) / 0.10)
    # autocorrelation rho = 0.5 makes n' = n/3: the uncertainty grows by about √3
    fsu_rho = fractional_savings_uncertainty(
        10.0, n=365, n_eff=effective_n(365, 0.5), m=365, savings_fraction=0.10, p=3
    )
    assert fsu_rho / fsu == pytest.approx(math.sqrt(3 * (1 + 6 / 365) / (1 + 2 / 365)))


def test_savings_found_within_uncertainty_and_claimed() -> None:
    t = _temps(365)
    y = 1000 + 20 * np.maximum(t - 20, 0) + RNG.normal(0, 20, t.size)
    model = fit_baseline(y[:300], t[:300], kind="3p_cooling")
    actual = (1000 + 20 * np.maximum(t[300:] - 20, 0)) * 0.85 + RNG.normal(0, 20, 65)
    result = savings(model, actual, t[300:], confidence=0.68)
    expected = 0.15 * float(np.sum(1000 + 20 * np.maximum(t[300:] - 20, 0)))
    assert abs(result.savings - expected) < 2 * result.uncertainty + 1e-9
    assert result.fraction == pytest.approx(0.15, abs=0.01)
    claim = claim_savings(model, result, LIMITS)
    assert claim.claimed
    assert claim.reasons == ()


def test_no_change_no_claim() -> None:
    t = _temps(365)
    y = 1000 + 20 * np.maximum(t - 20, 0) + RNG.normal(0, 20, t.size)
    model = fit_baseline(y[:300], t[:300], kind="3p_cooling")
    result = savings(model, y[300:], t[300:])
    assert abs(result.savings) <= 3 * result.uncertainty
    claim = claim_savings(model, result, LIMITS)
    assert not claim.claimed
    assert [r.code for r in claim.reasons] == ["fsu"]


def test_poor_model_refused_with_reasons() -> None:
    t = _temps(100)
    y = 100 + RNG.normal(0, 40, t.size)  # CV(RMSE) ≈ 40 %
    model = fit_baseline(y, t, kind="mean")
    reasons = judge(model, AcceptanceLimits(20.0, 5.0, 0.5, 0.68, min_r2=0.5, min_points=200))
    assert {r.code for r in reasons} == {"cv_rmse", "r2", "too_few_points"}
    result = savings(model, y[:10] * 0.5, t[:10])
    assert not claim_savings(model, result, LIMITS).claimed
    with pytest.raises(BaselineError, match="confidence"):
        claim_savings(model, savings(model, y[:10], t[:10], confidence=0.9), LIMITS)


def test_fit_best_picks_the_generating_form() -> None:
    t = _temps(600)
    y = 500 + 4 * np.maximum(10 - t, 0) + 9 * np.maximum(t - 24, 0) + RNG.normal(0, 2, t.size)
    assert fit_best(y, t).kind == "5p"


def test_bad_input_is_refused() -> None:
    t = _temps(50)
    with pytest.raises(BaselineError, match="NaN"):
        fit_baseline(np.where(t > 30, np.nan, t), t, kind="2p")
    with pytest.raises(BaselineError, match="rows"):
        fit_baseline(t[:10], t, kind="2p")
    with pytest.raises(BaselineError, match="parameters"):
        fit_baseline(t[:4], t[:4], kind="5p")
    with pytest.raises(BaselineError, match="unknown"):
        fit_baseline(t, t, kind="6p")  # type: ignore[arg-type]
    with pytest.raises(BaselineError, match="candidate"):
        fit_baseline(t, np.full(50, 10.0), kind="4p")
    model = fit_baseline(t, t, kind="2p", category=(t > 10).astype(int))
    with pytest.raises(BaselineError, match="not in the baseline"):
        predict(model, t, category=np.full(50, 7))
    with pytest.raises(BaselineError, match="category"):
        predict(model, t)
    with pytest.raises(BaselineError, match="no points"):
        savings(model, [], [], category=[])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(1.0, 1e4), min_size=8, max_size=60),
    st.floats(-10.0, 10.0),
)
def test_properties_of_an_ols_fit(ys: list[float], slope: float) -> None:
    y = np.asarray(ys)
    t = np.linspace(0.0, 30.0, y.size)
    y = y + slope * t
    y = y - min(0.0, float(y.min())) + 1.0  # positive energies
    model = fit_baseline(y, t, kind="2p")
    assert model.stats.cv_rmse_pct >= 0
    assert abs(model.stats.nmbe_pct) < 1e-6  # OLS with an intercept: residuals sum to zero
    assert not model.stats.r2 > 1 + 1e-12  # NaN when y is constant
    assert model.stats.n_eff <= model.stats.n
    same = savings(model, predict(model, t), t)
    assert same.savings == pytest.approx(0.0, abs=1e-6 * float(y.sum()))
    assert same.uncertainty >= 0


def test_collinear_fixed_columns_take_the_plain_least_squares_path() -> None:
    """A production column equal to a constant is collinear with the intercept: the change-point
    search must not use the projection shortcut then, and finds the same change point."""
    t = _temps(400)
    y = 200 + 5 * np.maximum(t - 19, 0) + RNG.normal(0, 1, t.size)
    plain = fit_baseline(y, t, kind="3p_cooling")
    collinear = fit_baseline(y, t, kind="3p_cooling", production=np.full(t.size, 3.0))
    assert plain.change_points_c == collinear.change_points_c == pytest.approx((19.0,), abs=0.51)
    assert collinear.stats.cv_rmse_pct == pytest.approx(plain.stats.cv_rmse_pct, rel=0.01)


def test_a_wrongly_signed_slope_is_refused_not_reported() -> None:
    """Energy that falls as it gets warmer above 20 degC is no cooling load: left free, the 3P
    cooling fit would report a negative cooling slope (≈ −6 kWh/K); it is refused instead, and
    the automatic choice takes a form that can describe the data."""
    t = _temps(400)
    y = 500 - 6 * np.maximum(t - 20, 0) + RNG.normal(0, 1, t.size)
    with pytest.raises(BaselineError, match="physically signed"):
        fit_baseline(y, t, kind="3p_cooling")
    with pytest.raises(BaselineError, match="physically signed"):
        fit_baseline(y, t, kind="5p")
    best = fit_best(y, t)
    assert best.kind not in ("3p_cooling", "5p")
    assert physical_slopes(best.kind, best.temperature_coefs)
    # a load that peaks at the change point (Λ) is no 4P weather response either
    peak = 500 - 4 * np.maximum(15 - t, 0) - 4 * np.maximum(t - 15, 0) + RNG.normal(0, 1, t.size)
    with pytest.raises(BaselineError, match="physically signed"):
        fit_baseline(peak, t, kind="4p")
    hdd = degree_days(t, base_c=18.0)
    with pytest.raises(BaselineError, match="physically signed"):
        fit_baseline(500 - 3 * hdd, t, kind="degree_day", degree_days_kd=hdd)


def test_the_change_point_search_keeps_only_physical_slopes() -> None:
    """Heating below 3 degC and cooling above 15 degC, fitted as 3P heating: over the whole grid
    the best fit would set its change point at 30.5 degC and fit the cooling with a negative
    heating slope; the search keeps the best of the change points whose slope is ≥ 0 instead
    (the heating one) — checked against a brute-force search of the same grid."""
    rng = np.random.default_rng(1)
    t = rng.uniform(-5.0, 35.0, 600)
    y = 800 + 15 * np.maximum(3 - t, 0) + 8 * np.maximum(t - 15, 0) + rng.normal(0, 1, t.size)
    model = fit_baseline(y, t, kind="3p_heating")
    grid = np.arange(np.ceil(2 * np.quantile(t, 0.1)) / 2, np.quantile(t, 0.9), 0.5)
    fits = []
    for cp in grid:
        x = np.column_stack([np.ones(t.size), np.maximum(cp - t, 0)])
        beta, sse, *_ = np.linalg.lstsq(x, y, rcond=None)
        fits.append((float(sse[0]), float(cp), float(beta[1])))
    free = min(fits)
    assert free[2] < 0  # unconstrained, the heating slope would be negative
    kept = min(f for f in fits if f[2] >= 0)
    assert model.change_points_c == pytest.approx((kept[1],))
    assert model.temperature_coefs[0] == pytest.approx(kept[2], rel=1e-9)
    assert model.temperature_coefs[0] > 10  # the heating, not a sliver of the cooling
    assert physical_slopes("3p_heating", (0.0,))
    assert not physical_slopes("3p_heating", (-1e-9,))
    assert physical_slopes("4p", (3.0, -1.0))  # a heating 4P: flatter above the change point
    assert physical_slopes("2p", (-7.0,))  # a straight line has no sign to keep
