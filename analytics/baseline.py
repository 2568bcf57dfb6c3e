"""Energy baselines and savings: change-point regression on outdoor temperature, day type and
production; fit statistics; fractional savings uncertainty; acceptance of a model.

A baseline model predicts the energy of a period (a day or an hour) from what drives it. It is
fitted on a *baseline period*, then fed the conditions of the *reporting period*; the savings are
the adjusted baseline minus the reporting-period actual (IPMVP Option C, whole facility; ISO 50006
"statistical model" energy baseline; ISO 50015 verification):

    savings = Σ ŷ_baseline(reporting conditions) − Σ y_actual   [unit of y]

Models (ASHRAE Guideline 14-2014 / ASHRAE RP-1050 "Inverse Modeling Toolkit" forms; T the outdoor
air temperature [degC], ``(x)+ = max(x, 0)``):

===============  ============================================================  ==========
kind             energy                                                        parameters
===============  ============================================================  ==========
``mean``         b0                                                            1
``2p``           b0 + b1·T                                                     2
``3p_heating``   b0 + b1·(cp − T)+                                             3
``3p_cooling``   b0 + b1·(T − cp)+                                             3
``4p``           b0 + b1·(cp − T)+ + b2·(T − cp)+                              4
``5p``           b0 + b1·(cp_h − T)+ + b2·(T − cp_c)+,  cp_h ≤ cp_c            5
``degree_day``   b0 + b1·HDD + b2·CDD (degree days the caller computed)        3
===============  ============================================================  ==========

Change points are parameters (counted in ``p``) found by a grid search: every candidate on a
``grid_step_c`` grid between the ``edge_fraction`` and ``1 − edge_fraction`` quantiles of T is
tried, the others fitted by ordinary least squares, the one with the smallest residual sum of
squares kept. To any model the caller may add a *category* (day type — working day, rest day,
adjusted working day — or hour-of-week for hourly models: one intercept shift per level beyond
the first) and *production* (one slope per column, [energy unit per production unit]).

Statistics (ASHRAE Guideline 14-2014 definitions, with ``p`` the number of parameters):

- CV(RMSE) = √(Σ(y − ŷ)² / (n − p)) / ȳ
- NMBE = Σ(y − ŷ) / ((n − p) · ȳ)
- fractional savings uncertainty (Guideline 14-2014 Annex B, after Reddy & Claridge 2000)::

      ΔE_save / E_save = t · 1.26 · CV · √( (n / n') · (1 + 2 / n') · (1 / m) ) / F

  with n' = n · (1 − rho) / (1 + rho) the effective number of baseline points for residuals of
  lag-1 autocorrelation rho, m the number of reporting points, F the savings fraction and t
  Student's t at the stated confidence. The factor 1.26 is Guideline 14's empirical correction
  (validated for monthly data; CalTRACK replaces it by fitted polynomials for daily data) [S:
  docs/sources/standards.md §8.2–8.3; equation number not verified].

Acceptance limits are data (``config/data/baseline_limits.yaml``), passed in as
:class:`AcceptanceLimits`; :func:`judge` gives every reason a model fails, and
:func:`claim_savings` refuses to claim savings from a model that fails or from savings that are
not larger than their uncertainty allows. See docs/baselines.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "FSU_CORRECTION",
    "KINDS",
    "AcceptanceLimits",
    "BaselineError",
    "BaselineModel",
    "FitStats",
    "ModelKind",
    "Reason",
    "Savings",
    "SavingsClaim",
    "autocorrelation_lag1",
    "claim_savings",
    "cv_rmse",
    "degree_days",
    "effective_n",
    "fit_baseline",
    "fit_best",
    "fractional_savings_uncertainty",
    "judge",
    "nmbe",
    "physical_slopes",
    "predict",
    "r_squared",
    "savings",
    "student_t_ppf",
]

ModelKind = Literal["mean", "2p", "3p_heating", "3p_cooling", "4p", "5p", "degree_day"]
KINDS: tuple[ModelKind, ...] = (
    "mean",
    "2p",
    "3p_heating",
    "3p_cooling",
    "4p",
    "5p",
    "degree_day",
)
_CHANGE_POINTS: dict[ModelKind, int] = {"3p_heating": 1, "3p_cooling": 1, "4p": 1, "5p": 2}


def physical_slopes(kind: ModelKind, coefs: tuple[float, ...] | NDArray[np.float64]) -> bool:
    """Whether the temperature coefficients ``coefs`` [unit of y per K, or per degree day] of a
    ``kind`` model have the signs weather-driven energy can have (ASHRAE RP-1050's inverse
    models): heating rises as it gets colder and cooling as it gets warmer, so ``3p_heating``,
    ``3p_cooling``, both slopes of ``5p`` and every degree-day coefficient are ≥ 0; a ``4p``
    model may slope either way on each side but never peaks at its change point (both
    coefficients < 0). ``mean`` and ``2p`` have no sign to keep."""
    c = [float(v) for v in coefs]
    if kind in ("3p_heating", "3p_cooling", "5p", "degree_day"):
        return all(v >= 0.0 for v in c)
    if kind == "4p":
        return not (c[0] < 0.0 and c[1] < 0.0)
    return True


FSU_CORRECTION = 1.26
"""[-] Empirical factor of the fractional savings uncertainty, ASHRAE Guideline 14-2014 Annex B
(Reddy & Claridge 2000) [S: docs/sources/standards.md §8.2; annex equation number not verified]."""


class BaselineError(ValueError):
    """Inputs a baseline cannot be fitted or used on (shape, NaN, too few points, bad kind)."""


# --------------------------------------------------------------------------------------------
# Student's t quantile (no SciPy): regularised incomplete beta by Lentz's continued fraction.


def _betacf(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        for num in (
            m * (b - m) * x / ((a + m2 - 1.0) * (a + m2)),
            -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0)),
        ):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    ln = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x)
    ln += b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(ln) * _betacf(a, b, x) / a
    return 1.0 - math.exp(ln) * _betacf(b, a, 1.0 - x) / b


def _t_cdf(t: float, df: float) -> float:
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def student_t_ppf(q: float, df: float) -> float:
    """Quantile of Student's t distribution [-] at probability ``q`` (0 < q < 1) with ``df`` > 0
    degrees of freedom, to about 1e-10 (bisection on the CDF)."""
    if not 0.0 < q < 1.0 or not df > 0 or not math.isfinite(df):
        raise BaselineError(f"t quantile needs 0 < q < 1 and df > 0, got q={q!r}, df={df!r}")
    if q < 0.5:
        return -student_t_ppf(1.0 - q, df)
    lo, hi = 0.0, 1.0
    while _t_cdf(hi, df) < q:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _t_cdf(mid, df) < q:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


def _t_two_sided(confidence: float, df: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise BaselineError(f"confidence must be in (0, 1), got {confidence!r}")
    return student_t_ppf(0.5 + confidence / 2.0, df)


# --------------------------------------------------------------------------------------------
# Statistics


def _arr(x: ArrayLike, name: str) -> NDArray[np.float64]:
    out = np.asarray(x, dtype=np.float64)
    if out.ndim != 1:
        raise BaselineError(f"{name} must be one-dimensional, got shape {out.shape}")
    return out


def r_squared(y: ArrayLike, y_hat: ArrayLike) -> float:
    """Coefficient of determination R² [-] = 1 − Σ(y − ŷ)² / Σ(y − ȳ)² (NaN if y is constant)."""
    ya, yh = _arr(y, "y"), _arr(y_hat, "y_hat")
    sst = float(np.sum((ya - ya.mean()) ** 2))
    return 1.0 - float(np.sum((ya - yh) ** 2)) / sst if sst > 0 else math.nan


def cv_rmse(y: ArrayLike, y_hat: ArrayLike, p: int) -> float:
    """CV(RMSE) [%] = 100 · √(Σ(y − ŷ)² / (n − p)) / ȳ, ASHRAE Guideline 14-2014, with ``p`` the
    number of model parameters [-]. NaN when n ≤ p or ȳ = 0."""
    ya, yh = _arr(y, "y"), _arr(y_hat, "y_hat")
    n, mean = ya.size, float(np.mean(ya)) if ya.size else math.nan
    if n <= p or mean == 0 or not math.isfinite(mean):
        return math.nan
    return 100.0 * math.sqrt(float(np.sum((ya - yh) ** 2)) / (n - p)) / mean


def nmbe(y: ArrayLike, y_hat: ArrayLike, p: int) -> float:
    """NMBE [%] = 100 · Σ(y − ŷ) / ((n − p) · ȳ), ASHRAE Guideline 14-2014 (the (n − p) form).
    Positive when the model under-predicts. NaN when n ≤ p or ȳ = 0."""
    ya, yh = _arr(y, "y"), _arr(y_hat, "y_hat")
    n, mean = ya.size, float(np.mean(ya)) if ya.size else math.nan
    if n <= p or mean == 0 or not math.isfinite(mean):
        return math.nan
    return 100.0 * float(np.sum(ya - yh)) / ((n - p) * mean)


def autocorrelation_lag1(residuals: ArrayLike) -> float:
    """Lag-1 autocorrelation rho [-] of residuals in time order: Σ e_t·e_(t−1) / Σ e_t² (after
    removing their mean). 0 for fewer than 3 points or zero residuals."""
    e = _arr(residuals, "residuals")
    if e.size < 3:
        return 0.0
    e = e - e.mean()
    den = float(np.sum(e * e))
    return float(np.sum(e[1:] * e[:-1])) / den if den > 0 else 0.0


def effective_n(n: int, rho: float) -> float:
    """Effective number of independent points n' = n · (1 − rho) / (1 + rho) [-] (ASHRAE Guideline
    14-2014 Annex B). A negative rho is taken as 0: n' is never more than n (conservative)."""
    r = min(max(rho, 0.0), 0.999)
    return n * (1.0 - r) / (1.0 + r)


def fractional_savings_uncertainty(
    cv_rmse_pct: float,
    *,
    n: int,
    n_eff: float,
    m: int,
    savings_fraction: float,
    p: int,
    confidence: float = 0.68,
) -> float:
    """Fractional savings uncertainty ΔE_save / E_save [-] of ASHRAE Guideline 14-2014 Annex B::

        t · 1.26 · CV · √((n / n') · (1 + 2 / n') / m) / F

    ``cv_rmse_pct`` [%] of the baseline model; ``n`` baseline points, ``n_eff`` = n' (see
    :func:`effective_n`), ``m`` reporting points, ``savings_fraction`` F [-] (savings / adjusted
    baseline), ``p`` parameters; t two-sided at ``confidence`` [-] with n − p degrees of freedom.
    Infinite when F = 0.
    """
    if n <= p or m < 1 or not n_eff > 0:
        raise BaselineError(f"need n > p, m ≥ 1 and n' > 0 (n={n}, p={p}, m={m}, n'={n_eff})")
    t = _t_two_sided(confidence, n - p)
    spread = t * FSU_CORRECTION * (cv_rmse_pct / 100.0)
    spread *= math.sqrt((n / n_eff) * (1.0 + 2.0 / n_eff) / m)
    return spread / abs(savings_fraction) if savings_fraction != 0 else math.inf


# --------------------------------------------------------------------------------------------
# Models


@dataclass(frozen=True, slots=True)
class FitStats:
    """Goodness of fit on the baseline period: ``n`` points, ``p`` parameters (change points
    included), ``r2`` [-], ``cv_rmse_pct`` and ``nmbe_pct`` [%], ``rmse`` [unit of y],
    ``mean`` ȳ [unit of y], ``rho`` lag-1 autocorrelation of residuals [-], ``n_eff`` n' [-]."""

    n: int
    p: int
    r2: float
    cv_rmse_pct: float
    nmbe_pct: float
    rmse: float
    mean: float
    rho: float
    n_eff: float


@dataclass(frozen=True, slots=True)
class BaselineModel:
    """A fitted baseline. ``change_points_c`` [degC] (heating first for 5P); ``intercept`` [unit
    of y]; ``temperature_coefs`` in feature order of the module table [unit of y per K, or per
    degree day]; ``category_levels`` and ``category_shifts`` (level → intercept shift, first
    level 0) [unit of y]; ``production_coefs`` [unit of y per production unit]."""

    kind: ModelKind
    change_points_c: tuple[float, ...]
    intercept: float
    temperature_coefs: tuple[float, ...]
    category_levels: tuple[int, ...]
    category_shifts: tuple[float, ...]
    production_coefs: tuple[float, ...]
    stats: FitStats
    residuals: NDArray[np.float64] = field(repr=False)


def degree_days(
    temperature_c: ArrayLike, *, base_c: float, heating: bool = True, days: float = 1.0
) -> NDArray[np.float64]:
    """Degree days [K·d] of mean temperatures ``temperature_c`` [degC] at ``base_c`` [degC]:
    ``days · (base − T)+`` for heating, ``days · (T − base)+`` for cooling (``days`` = 1/24 for
    hourly means gives degree days per hour)."""
    t = _arr(temperature_c, "temperature_c")
    diff = (base_c - t) if heating else (t - base_c)
    return np.maximum(diff, 0.0) * days


def _temperature_features(
    kind: ModelKind, t: NDArray[np.float64], cps: tuple[float, ...], dd: NDArray[np.float64] | None
) -> NDArray[np.float64]:
    if kind == "mean":
        return np.empty((t.size, 0))
    if kind == "2p":
        return t[:, None]
    if kind == "3p_heating":
        return np.maximum(cps[0] - t, 0.0)[:, None]
    if kind == "3p_cooling":
        return np.maximum(t - cps[0], 0.0)[:, None]
    if kind == "4p":
        return np.column_stack([np.maximum(cps[0] - t, 0.0), np.maximum(t - cps[0], 0.0)])
    if kind == "5p":
        return np.column_stack([np.maximum(cps[0] - t, 0.0), np.maximum(t - cps[1], 0.0)])
    if dd is None:
        raise BaselineError("the degree_day model needs degree_days (HDD, CDD columns)")
    return dd


def _design(
    kind: ModelKind,
    t: NDArray[np.float64],
    *,
    cps: tuple[float, ...],
    dd: NDArray[np.float64] | None,
    category: NDArray[np.int64] | None,
    levels: tuple[int, ...],
    production: NDArray[np.float64] | None,
) -> NDArray[np.float64]:
    cols = [np.ones((t.size, 1)), _temperature_features(kind, t, cps, dd)]
    if category is not None and len(levels) > 1:
        cols.append(np.column_stack([category == lv for lv in levels[1:]]).astype(float))
    if production is not None:
        cols.append(production)
    return np.asarray(np.hstack([c.reshape(t.size, -1) for c in cols]), dtype=np.float64)


def _lstsq(x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[NDArray[np.float64], float]:
    beta = np.asarray(np.linalg.lstsq(x, y, rcond=None)[0], dtype=np.float64)
    resid = y - x @ beta
    return beta, float(resid @ resid)


def _candidates(t: NDArray[np.float64], step_c: float, edge_fraction: float) -> NDArray[np.float64]:
    lo, hi = (float(v) for v in np.quantile(t, [edge_fraction, 1.0 - edge_fraction]))
    start = math.floor(lo / step_c) * step_c
    grid = np.arange(start, hi + step_c / 2, step_c, dtype=np.float64)
    grid = grid[(grid >= lo) & (grid <= hi)]
    if grid.size == 0 or hi - lo < step_c:
        raise BaselineError(
            f"no change-point candidate: temperatures span only {lo:.2f}…{hi:.2f} degC"
        )
    return grid


def _inputs(
    y: ArrayLike | None,
    temperature_c: ArrayLike,
    degree_days_kd: ArrayLike | None,
    category: ArrayLike | None,
    production: ArrayLike | None,
) -> tuple[
    NDArray[np.float64] | None,
    NDArray[np.float64],
    NDArray[np.float64] | None,
    NDArray[np.int64] | None,
    NDArray[np.float64] | None,
]:
    t = _arr(temperature_c, "temperature_c")
    n = t.size
    ya = None if y is None else _arr(y, "y")
    dd = None if degree_days_kd is None else np.asarray(degree_days_kd, dtype=np.float64)
    cat = None if category is None else np.asarray(category).astype(np.int64)
    prod = None if production is None else np.asarray(production, dtype=np.float64)
    if dd is not None and dd.ndim == 1:
        dd = dd[:, None]
    if prod is not None and prod.ndim == 1:
        prod = prod[:, None]
    for name, a in (("y", ya), ("degree_days", dd), ("category", cat), ("production", prod)):
        if a is not None and a.shape[0] != n:
            raise BaselineError(f"{name} has {a.shape[0]} rows, temperature_c has {n}")
    for name, b in (("y", ya), ("temperature_c", t), ("degree_days", dd), ("production", prod)):
        if b is not None and not np.all(np.isfinite(b)):
            raise BaselineError(f"{name} holds NaN or infinite values: drop those periods first")
    return ya, t, dd, cat, prod


def _search(
    kind: ModelKind,
    n_cp: int,
    t: NDArray[np.float64],
    *,
    sse: Callable[[tuple[float, ...]], tuple[float, NDArray[np.float64]]],
    grid_step_c: float,
    edge_fraction: float,
) -> tuple[float, ...]:
    """The change points [degC] of the least residual sum of squares among those whose slopes
    have a physical sign (:func:`physical_slopes`): a wrong-signed fit is refused, never
    reported. Raises :class:`BaselineError` when no candidate has physical slopes."""
    if n_cp == 0:
        pairs: list[tuple[float, ...]] = [()]
    else:
        grid = _candidates(t, grid_step_c, edge_fraction)
        pairs = (
            [(float(c),) for c in grid]
            if n_cp == 1
            else [(float(a), float(b)) for a in grid for b in grid if a <= b]
        )
    best: tuple[float, tuple[float, ...]] | None = None
    wrong: NDArray[np.float64] | None = None
    for cps in pairs:
        s, coefs = sse(cps)
        if not physical_slopes(kind, coefs):
            wrong = coefs if wrong is None else wrong
            continue
        if best is None or s < best[0] - 1e-12 * max(1.0, best[0]):
            best = (s, cps)
    if best is None:
        example = ", ".join(f"{c:.4g}" for c in (wrong if wrong is not None else ()))
        raise BaselineError(
            f"no {kind} fit has physically signed temperature slopes (heating must rise as it "
            f"gets colder, cooling as it gets warmer; e.g. {example}): the data show no such "
            "dependence — use another model"
        )
    return best[1]


def fit_baseline(
    y: ArrayLike,
    temperature_c: ArrayLike,
    *,
    kind: ModelKind,
    category: ArrayLike | None = None,
    production: ArrayLike | None = None,
    degree_days_kd: ArrayLike | None = None,
    grid_step_c: float = 0.5,
    edge_fraction: float = 0.1,
) -> BaselineModel:
    """Fit a baseline of ``kind`` (module table) by grid search over the change points and
    ordinary least squares.

    ``y`` energy per period [any unit, e.g. kWh/d]; ``temperature_c`` mean outdoor temperature
    per period [degC]; ``category`` an integer (or boolean) per period, e.g. day type;
    ``production`` one or more columns [production unit per period]; ``degree_days_kd`` (HDD,
    CDD) columns [K·d] for ``degree_day``; ``grid_step_c`` [K] the change-point grid;
    ``edge_fraction`` [-] the share of temperatures kept on each side of every change point.
    Inputs must be finite (drop missing periods first). Raises :class:`BaselineError` for bad
    input or n ≤ p.
    """
    if kind not in KINDS:
        raise BaselineError(f"unknown model kind {kind!r} (known: {', '.join(KINDS)})")
    if not grid_step_c > 0 or not 0.0 <= edge_fraction < 0.5:
        raise BaselineError("grid_step_c must be > 0 and edge_fraction in [0, 0.5)")
    ya, t, dd, cat, prod = _inputs(y, temperature_c, degree_days_kd, category, production)
    assert ya is not None
    levels = tuple(int(v) for v in np.unique(cat)) if cat is not None else ()
    n_cp = _CHANGE_POINTS.get(kind, 0)
    n_cols = _design(
        kind,
        t[:1],
        cps=(0.0, 0.0),
        dd=None if dd is None else dd[:1],
        category=None,
        levels=(),
        production=None,
    )
    p = n_cols.shape[1] + max(len(levels) - 1, 0) + (prod.shape[1] if prod is not None else 0)
    p += n_cp
    if ya.size <= p:
        raise BaselineError(f"{ya.size} points cannot fit a model of {p} parameters")

    # Frisch-Waugh-Lovell: project the fixed columns (intercept, categories, production) out
    # once, so each change-point candidate costs a fit of its 1-2 temperature columns only.
    fixed = _design("mean", t, cps=(), dd=None, category=cat, levels=levels, production=prod)
    q, r = np.linalg.qr(fixed)
    full_rank = bool(np.all(np.abs(np.diag(r)) > 1e-10 * max(1.0, float(np.abs(r).max()))))

    def sse(cps: tuple[float, ...]) -> tuple[float, NDArray[np.float64]]:
        """Residual sum of squares and the temperature coefficients at change points ``cps``
        (by FWL the same coefficients as the full fit's)."""
        if not full_rank:
            x = _design(kind, t, cps=cps, dd=dd, category=cat, levels=levels, production=prod)
            beta, s = _lstsq(x, ya)
            return s, beta[1 : 1 + x.shape[1] - fixed.shape[1]]
        f = _temperature_features(kind, t, cps, dd)
        f_r = f - q @ (q.T @ f)
        beta, s = _lstsq(f_r, y_r)
        return s, beta

    y_r = ya - q @ (q.T @ ya)
    cps = _search(kind, n_cp, t, sse=sse, grid_step_c=grid_step_c, edge_fraction=edge_fraction)
    x = _design(kind, t, cps=cps, dd=dd, category=cat, levels=levels, production=prod)
    beta = _lstsq(x, ya)[0]
    y_hat = x @ beta
    resid = ya - y_hat
    n_temp = x.shape[1] - 1 - max(len(levels) - 1, 0) - (prod.shape[1] if prod is not None else 0)
    i = 1 + n_temp
    n_cat = max(len(levels) - 1, 0)
    rho = autocorrelation_lag1(resid)
    rmse = math.sqrt(float(resid @ resid) / (ya.size - p))
    stats = FitStats(
        n=int(ya.size),
        p=p,
        r2=r_squared(ya, y_hat),
        cv_rmse_pct=cv_rmse(ya, y_hat, p),
        nmbe_pct=nmbe(ya, y_hat, p),
        rmse=rmse,
        mean=float(ya.mean()),
        rho=rho,
        n_eff=effective_n(int(ya.size), rho),
    )
    return BaselineModel(
        kind=kind,
        change_points_c=cps,
        intercept=float(beta[0]),
        temperature_coefs=tuple(float(b) for b in beta[1:i]),
        category_levels=levels,
        category_shifts=(0.0, *(float(b) for b in beta[i : i + n_cat])) if levels else (),
        production_coefs=tuple(float(b) for b in beta[i + n_cat :]),
        stats=stats,
        residuals=resid,
    )


def predict(
    model: BaselineModel,
    temperature_c: ArrayLike,
    *,
    category: ArrayLike | None = None,
    production: ArrayLike | None = None,
    degree_days_kd: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """The model's energy per period [unit of y] under the given conditions (same units as the
    fit). A category level the baseline period never saw raises :class:`BaselineError`."""
    _, t, dd, cat, prod = _inputs(None, temperature_c, degree_days_kd, category, production)
    if (cat is None) != (not model.category_levels):
        raise BaselineError("give category exactly when the model was fitted with one")
    if (prod is None) != (not model.production_coefs):
        raise BaselineError("give production exactly when the model was fitted with it")
    if prod is not None and prod.shape[1] != len(model.production_coefs):
        raise BaselineError(f"production needs {len(model.production_coefs)} columns")
    out = model.intercept + _temperature_features(model.kind, t, model.change_points_c, dd) @ (
        np.asarray(model.temperature_coefs, dtype=np.float64)
    )
    if cat is not None:
        unseen = set(np.unique(cat).tolist()) - set(model.category_levels)
        if unseen:
            raise BaselineError(f"category levels {sorted(unseen)} were not in the baseline period")
        shift = dict(zip(model.category_levels, model.category_shifts, strict=True))
        out = out + np.array([shift[int(c)] for c in cat], dtype=np.float64)
    if prod is not None:
        out = out + prod @ np.asarray(model.production_coefs, dtype=np.float64)
    return np.asarray(out, dtype=np.float64)


def fit_best(
    y: ArrayLike,
    temperature_c: ArrayLike,
    *,
    kinds: tuple[ModelKind, ...] = ("mean", "2p", "3p_heating", "3p_cooling", "4p", "5p"),
    category: ArrayLike | None = None,
    production: ArrayLike | None = None,
    grid_step_c: float = 0.5,
) -> BaselineModel:
    """Of ``kinds``, the model with the lowest CV(RMSE) [%] (which already charges each extra
    parameter through n − p); kinds that cannot be fitted on these data are skipped."""
    best: BaselineModel | None = None
    problems = []
    for kind in kinds:
        try:
            model = fit_baseline(
                y,
                temperature_c,
                kind=kind,
                category=category,
                production=production,
                grid_step_c=grid_step_c,
            )
        except BaselineError as exc:
            problems.append(f"{kind}: {exc}")
            continue
        if best is None or model.stats.cv_rmse_pct < best.stats.cv_rmse_pct:
            best = model
    if best is None:
        raise BaselineError("no model could be fitted: " + "; ".join(problems))
    return best


# --------------------------------------------------------------------------------------------
# Savings and acceptance


@dataclass(frozen=True, slots=True)
class Savings:
    """Avoided energy over the reporting period: ``adjusted_baseline`` Σŷ and ``actual`` Σy and
    ``savings`` = their difference [unit of y]; ``fraction`` F = savings / adjusted baseline [-];
    ``uncertainty`` ΔE_save [unit of y] and ``fsu`` = ΔE_save / |savings| [-] at ``confidence``
    [-]; ``m`` reporting points."""

    adjusted_baseline: float
    actual: float
    savings: float
    fraction: float
    uncertainty: float
    fsu: float
    confidence: float
    m: int


def savings(
    model: BaselineModel,
    actual: ArrayLike,
    temperature_c: ArrayLike,
    *,
    category: ArrayLike | None = None,
    production: ArrayLike | None = None,
    degree_days_kd: ArrayLike | None = None,
    confidence: float = 0.68,
) -> Savings:
    """Savings = adjusted baseline − reporting-period actual [unit of y] (IPMVP Option C), with
    ΔE_save = t · 1.26 · RMSE · √(m · (n / n') · (1 + 2 / n')) [unit of y], the absolute form of
    :func:`fractional_savings_uncertainty` (t two-sided at ``confidence``, n − p degrees of
    freedom)."""
    y = _arr(actual, "actual")
    if y.size == 0:
        raise BaselineError("the reporting period has no points")
    if not np.all(np.isfinite(y)):
        raise BaselineError("actual holds NaN or infinite values: drop those periods first")
    base = predict(
        model,
        temperature_c,
        category=category,
        production=production,
        degree_days_kd=degree_days_kd,
    )
    if base.size != y.size:
        raise BaselineError(f"actual has {y.size} points, the conditions {base.size}")
    st = model.stats
    m = int(y.size)
    t = _t_two_sided(confidence, st.n - st.p)
    unc = t * FSU_CORRECTION * st.rmse * math.sqrt(m * (st.n / st.n_eff) * (1 + 2 / st.n_eff))
    adjusted, act = float(base.sum()), float(y.sum())
    saved = adjusted - act
    return Savings(
        adjusted_baseline=adjusted,
        actual=act,
        savings=saved,
        fraction=saved / adjusted if adjusted != 0 else math.nan,
        uncertainty=unc,
        fsu=unc / abs(saved) if saved != 0 else math.inf,
        confidence=confidence,
        m=m,
    )


@dataclass(frozen=True, slots=True)
class AcceptanceLimits:
    """Limits a baseline model must meet before savings are claimed from it (values from
    ``config/data/baseline_limits.yaml``): ``max_cv_rmse_pct`` [%], ``max_abs_nmbe_pct`` [%],
    ``max_fsu`` [-] at ``fsu_confidence`` [-], ``min_r2`` [-] (None: not checked),
    ``min_points`` [-]."""

    max_cv_rmse_pct: float
    max_abs_nmbe_pct: float
    max_fsu: float
    fsu_confidence: float
    min_r2: float | None = None
    min_points: int = 0


ReasonCode = Literal["too_few_points", "cv_rmse", "nmbe", "r2", "fsu", "not_finite"]


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a model or a claim fails: ``code``, the ``value`` found and the ``limit`` it broke."""

    code: ReasonCode
    value: float
    limit: float

    def __str__(self) -> str:
        return f"{self.code}: {self.value:.4g} breaks the limit {self.limit:.4g}"


def judge(model: BaselineModel, limits: AcceptanceLimits) -> tuple[Reason, ...]:
    """Every reason ``model`` fails ``limits`` (empty: it passes). A NaN statistic fails."""
    st = model.stats
    out: list[Reason] = []
    if st.n < limits.min_points:
        out.append(Reason("too_few_points", st.n, limits.min_points))
    if not (st.cv_rmse_pct <= limits.max_cv_rmse_pct):
        out.append(Reason("cv_rmse", st.cv_rmse_pct, limits.max_cv_rmse_pct))
    if not (abs(st.nmbe_pct) <= limits.max_abs_nmbe_pct):
        out.append(Reason("nmbe", st.nmbe_pct, limits.max_abs_nmbe_pct))
    if limits.min_r2 is not None and not (st.r2 >= limits.min_r2):
        out.append(Reason("r2", st.r2, limits.min_r2))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class SavingsClaim:
    """``claimed``: the savings may be reported; otherwise ``reasons`` says why not (the model
    fails its limits, or the savings are smaller than their uncertainty allows)."""

    claimed: bool
    reasons: tuple[Reason, ...]
    savings: Savings


def claim_savings(model: BaselineModel, result: Savings, limits: AcceptanceLimits) -> SavingsClaim:
    """Claim ``result`` only if ``model`` passes ``limits`` and the fractional savings
    uncertainty at ``limits.fsu_confidence`` is at most ``limits.max_fsu`` [-] (``result`` must
    have been computed at that confidence)."""
    if not math.isclose(result.confidence, limits.fsu_confidence):
        raise BaselineError(
            f"savings computed at {result.confidence:g} confidence, limits ask "
            f"{limits.fsu_confidence:g}"
        )
    reasons = list(judge(model, limits))
    if not (result.fsu <= limits.max_fsu):
        reasons.append(Reason("fsu", result.fsu, limits.max_fsu))
    return SavingsClaim(not reasons, tuple(reasons), result)
