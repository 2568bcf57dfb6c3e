"""Outdoor weather for the park's climate: air temperature and cloudiness, seeded.

Monthly mean air temperatures are the 1991–2020 climate normals of Wuhan station (57494) as
published by the China Meteorological Administration (mirrored on Wikipedia, "Wuhan#Climate");
the mean daily range is ≈ 8 K. The diurnal cycle is a cosine with its minimum near sunrise (06:00)
and maximum at 15:00 local time. Day-to-day weather is an AR(1) anomaly (SD ≈ 2.5 K, one-day
correlation 0.7), and cloudiness an AR(1) process on the clearness index with a 2-hour time
constant — the simplest models that give realistic autocorrelation.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

__all__ = ["WUHAN_MONTHLY_MEAN_C", "Weather"]

Array = npt.NDArray[np.float64]

# [degC] Jan … Dec, Wuhan 1991-2020 normals (CMA)
WUHAN_MONTHLY_MEAN_C = (4.3, 7.3, 11.9, 17.7, 22.8, 26.4, 29.5, 28.9, 24.8, 19.0, 12.6, 6.5)
DAILY_RANGE_K = 8.0
ANOMALY_SD_K = 2.5
ANOMALY_DAY_CORRELATION = 0.7
CLOUD_TAU_S = 7200.0
CLEAR_DAY_SHARE = 0.45  # share of time the sky is essentially clear (Wuhan ≈ 1,900 sun-hours/yr)

_CLEAR_Z = NormalDist().inv_cdf(1.0 - CLEAR_DAY_SHARE)


class Weather:
    """Evolves the park's outdoor temperature and clearness index tick by tick."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.anomaly_k = float(rng.normal(0.0, ANOMALY_SD_K))
        self._cloud_latent = float(rng.normal())

    def step(self, month: int, day_of_month: float, local_hour: float, interval_s: float) -> None:
        """Advance the weather by ``interval_s`` seconds [s]."""
        phi_day = ANOMALY_DAY_CORRELATION ** (interval_s / 86400.0)
        self.anomaly_k = phi_day * self.anomaly_k + ANOMALY_SD_K * math.sqrt(
            1 - phi_day**2
        ) * float(self.rng.normal())
        phi = math.exp(-interval_s / CLOUD_TAU_S)
        self._cloud_latent = phi * self._cloud_latent + math.sqrt(1 - phi**2) * float(
            self.rng.normal()
        )
        self.month, self.day, self.hour = month, day_of_month, local_hour

    def temperature_c(self) -> float:
        """Outdoor air temperature [degC]: monthly normal (interpolated), daily cycle, anomaly."""
        m = self.month - 1
        frac = (self.day - 15.0) / 30.0
        nxt = (m + 1) % 12 if frac >= 0 else (m - 1) % 12
        mean = WUHAN_MONTHLY_MEAN_C[m] + abs(frac) * (
            WUHAN_MONTHLY_MEAN_C[nxt] - WUHAN_MONTHLY_MEAN_C[m]
        )
        daily = (
            -math.cos(math.pi * (self.hour - 6.0) / 9.0)
            if 6 <= self.hour < 15
            else math.cos(math.pi * ((self.hour - 15.0) % 24) / 15.0)
        )
        return mean + DAILY_RANGE_K / 2 * daily + self.anomaly_k

    def clearness(self) -> float:
        """Ratio of global irradiance to the clear-sky value [-], 0.1 (overcast) … 1 (clear)."""
        # a latent N(0,1): above its (1 - clear share) quantile the sky is clear, below it
        # clouds thicken linearly
        z = self._cloud_latent
        if z >= _CLEAR_Z:
            return 1.0
        return max(0.1, 1.0 + 0.45 * (z - _CLEAR_Z))
