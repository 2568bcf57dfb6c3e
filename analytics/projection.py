"""Year-to-date totals and their projection to the end of the year, with an uncertainty.

A year is cut into periods (usually the 12 local months). For an **additive** quantity (tce,
tCO2, kWh, CNY) the projection is a *ratio estimator* on a reference shape::

    W_i   = e_i · ref_i                 reference already observed (e_i = elapsed share of period i)
    rem_i = (1 − e_i) · ref_i           reference still to come
    r     = Σ actual_i / Σ W_i          this year relative to the reference so far
    total = Σ actual_i + r · Σ rem_i    year-to-date + the rest of the reference, scaled by r

``ref`` is the expected shape of the year: the same months of last year when they are known,
otherwise a flat shape such as the number of days in each month. So a park that used 10 % more
than last year's January–March is projected to use 10 % more than last year's April–December,
and a summer-peaking load keeps its summer.

The uncertainty is the standard deviation ``sigma`` of the year-end total under the model
"each remaining period's ratio to the reference scatters independently around ``r`` as the
observed periods' ratios ``r_i = actual_i / W_i`` did": with ``s²`` their W-weighted variance
and ``k_eff = (Σ W)² / Σ W²`` the effective number of observed periods,

    sigma² = s² · (Σ rem_i² + (Σ rem_i)² / k_eff)

(the scatter of the remaining periods, plus the error of ``r`` itself). ``sigma`` is 0 once the
year is complete; it is NaN (unknown, not zero) while fewer than two periods have been observed.
It says nothing of a change the observed periods did not show (a new tenant, a new PV plant).

A **ratio** (tCO2/tce, a share) is not extrapolated as a ratio: its numerator and denominator
are projected separately, each with its own reference shape, and divided; its ``sigma`` comes
from theirs by the delta method, with the correlation of the per-period ratios to the reference
of numerator and denominator (carbon and energy move together, which narrows the band).

Pure functions over numpy arrays; no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["Projection", "RatioProjection", "project_ratio", "project_total"]

_F64 = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Projection:
    """An additive quantity: ``ytd`` observed so far, ``value`` projected for the whole year,
    ``sigma`` one standard deviation of ``value`` (0 when the year is complete, NaN when it
    cannot be estimated), ``elapsed_share`` the share of the reference already observed (0–1),
    ``ratio`` this year relative to the reference so far (``r``), ``periods`` the number of
    periods observed (fully or partly)."""

    ytd: float
    value: float
    sigma: float
    elapsed_share: float
    ratio: float
    periods: int


@dataclass(frozen=True, slots=True)
class RatioProjection:
    """A ratio numerator / denominator: ``ytd`` the ratio of the year-to-date totals, ``value``
    the ratio of the projected totals, ``sigma`` one standard deviation of ``value`` (delta
    method), ``correlation`` the correlation used between numerator and denominator."""

    ytd: float
    value: float
    sigma: float
    numerator: Projection
    denominator: Projection
    correlation: float


def _inputs(
    actual: ArrayLike, reference: ArrayLike, elapsed: ArrayLike | None
) -> tuple[_F64, _F64, _F64]:
    a = np.asarray(actual, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    if a.ndim != 1 or ref.shape != a.shape:
        raise ValueError("actual and reference must be 1-D arrays of the same length")
    e = (
        np.isfinite(a).astype(np.float64)
        if elapsed is None
        else np.asarray(elapsed, dtype=np.float64)
    )
    if e.shape != a.shape:
        raise ValueError("elapsed must have the length of actual")
    if not np.all((e >= 0.0) & (e <= 1.0)):
        raise ValueError("elapsed shares must be within [0, 1]")
    if not np.all(np.isfinite(ref) & (ref >= 0.0)):
        raise ValueError("reference must be finite and non-negative")
    if not np.all(np.isfinite(a[e > 0])):
        raise ValueError("actual must be finite in every period with elapsed > 0")
    return np.where(e > 0, a, 0.0), ref, e


def _ratios(a: _F64, w: _F64) -> tuple[_F64, _F64]:
    """Per-period ratios to the reference and their weights, for periods with reference > 0."""
    ok = w > 0
    return a[ok] / w[ok], w[ok]


def _weighted_var(r: _F64, w: _F64, mean: float) -> tuple[float, float]:
    """W-weighted variance of ``r`` about ``mean`` (bias-corrected) and ``k_eff``; NaN below
    two effective periods."""
    if r.size < 2:
        return math.nan, float(r.size)
    k_eff = float(w.sum() ** 2 / np.sum(w**2))
    if k_eff <= 1.0:
        return math.nan, k_eff
    var = float(np.sum(w * (r - mean) ** 2) / w.sum()) * k_eff / (k_eff - 1.0)
    return var, k_eff


def project_total(
    actual: ArrayLike, reference: ArrayLike, elapsed: ArrayLike | None = None
) -> Projection:
    """Project an additive quantity to the end of the year (see the module docstring).

    Parameters
    ----------
    actual
        Value of each period of the year [unit]; periods not yet begun are ignored (NaN is fine).
    reference
        Expected shape of the year, one non-negative value per period (last year's values, or
        the days in each period) [any unit: only its proportions matter].
    elapsed
        Share of each period already observed, 0–1 (1 for past months, e.g. 0.5 half-way
        through the current one, 0 for future ones). Default: 1 where ``actual`` is finite,
        else 0.

    Returns
    -------
    Projection
        ``value`` NaN when nothing of the reference has been observed yet (a zero reference so
        far), unless the year is already complete.
    """
    a, ref, e = _inputs(actual, reference, elapsed)
    ytd = float(a.sum())
    w = e * ref
    rem = (1.0 - e) * ref
    observed, remaining, total = float(w.sum()), float(rem.sum()), float(ref.sum())
    periods = int(np.count_nonzero(e > 0))
    share = observed / total if total > 0 else math.nan
    if remaining == 0.0:
        ratio = ytd / observed if observed > 0 else math.nan
        return Projection(ytd, ytd, 0.0, 1.0 if total > 0 else share, ratio, periods)
    if observed == 0.0:
        return Projection(ytd, math.nan, math.nan, share, math.nan, periods)
    ratio = ytd / observed
    r_i, w_i = _ratios(a, w)
    var, k_eff = _weighted_var(r_i, w_i, ratio)
    sigma = math.sqrt(var * (float(np.sum(rem**2)) + remaining**2 / k_eff))
    return Projection(ytd, ytd + ratio * remaining, sigma, share, ratio, periods)


def _correlation(
    num: tuple[_F64, _F64, float], den: tuple[_F64, _F64, float], elapsed: _F64
) -> float:
    """Weighted correlation of the per-period ratios to the reference of numerator and
    denominator, over the periods where both references are > 0 (weights: the denominator's
    observed reference). 0 when it cannot be estimated."""
    (a_n, w_n, r_n), (a_d, w_d, r_d) = num, den
    ok = (w_n > 0) & (w_d > 0) & (elapsed > 0)
    if np.count_nonzero(ok) < 2:
        return 0.0
    dn = a_n[ok] / w_n[ok] - r_n
    dd = a_d[ok] / w_d[ok] - r_d
    w = w_d[ok]
    cov = float(np.sum(w * dn * dd))
    sn, sd = float(np.sum(w * dn**2)), float(np.sum(w * dd**2))
    if sn <= 0 or sd <= 0:
        return 0.0
    return max(-1.0, min(1.0, cov / math.sqrt(sn * sd)))


def project_ratio(
    numerator: ArrayLike,
    numerator_reference: ArrayLike,
    denominator: ArrayLike,
    denominator_reference: ArrayLike,
    elapsed: ArrayLike | None = None,
) -> RatioProjection:
    """Project a ratio by projecting its numerator and denominator separately.

    The year-end value is ``N / D`` of the two projections; its variance by the delta method is
    ``(s_N² + Q² s_D² − 2 Q rho s_N s_D) / D²`` with ``Q = N / D``, ``s`` the sigmas and ``rho``
    the correlation of
    the per-period ratios of numerator and denominator to their references. ``elapsed``
    defaults to the periods where the denominator is finite. Values are NaN when the projected
    denominator is not positive.
    """
    d_arr = np.asarray(denominator, dtype=np.float64)
    e = np.isfinite(d_arr).astype(np.float64) if elapsed is None else elapsed
    num = project_total(numerator, numerator_reference, e)
    den = project_total(d_arr, denominator_reference, e)
    ytd = num.ytd / den.ytd if den.ytd > 0 else math.nan
    if not (den.value > 0) or not math.isfinite(num.value):
        return RatioProjection(ytd, math.nan, math.nan, num, den, 0.0)
    q = num.value / den.value
    a_n, ref_n, e_arr = _inputs(numerator, numerator_reference, e)
    a_d, ref_d, _ = _inputs(d_arr, denominator_reference, e)
    rho = _correlation((a_n, e_arr * ref_n, num.ratio), (a_d, e_arr * ref_d, den.ratio), e_arr)
    if num.sigma == 0.0 and den.sigma == 0.0:
        sigma = 0.0
    else:
        var = num.sigma**2 + q**2 * den.sigma**2 - 2.0 * q * rho * num.sigma * den.sigma
        sigma = math.sqrt(max(var, 0.0)) / den.value
    return RatioProjection(ytd, q, sigma, num, den, rho)
