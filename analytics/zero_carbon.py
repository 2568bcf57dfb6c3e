"""The zero-carbon park core indicator (发改环资[2025]910号): its band and both GB/T 2589 methods.

The core indicator 单位能耗碳排放 [tCO2/tce] is a veto with a threshold chosen by the park's
annual comprehensive energy consumption (≤ 0.2 for 200,000–1,000,000 tce/yr, ≤ 0.3 above;
``config/data/targets.yaml`` holds the bands as ``min_annual_tce``/``max_annual_tce``/``value``).
Within the current year the band must be chosen from the projected annual consumption, not the
year-to-date figure, or every park sits below the first band until autumn.

The annex's calculation notes do not say whether electricity enters the tce denominator at its
calorific value (当量值) or its coal equivalent (等价值) (docs/sources/standards.md §1.2, [U]);
the figure moves by a factor of about 2.5, and so does the band. :func:`core_indicator_by_method`
evaluates the same carbon and energy under both, side by side, so the caller can show both and
which one the park chose.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from analytics.energy import (
    CONVERSION_METHODS,
    ELECTRICITY_CALORIFIC_KGCE_PER_KWH,
    KGCE_PER_TCE,
    ConversionMethod,
    electricity_kgce_per_kwh,
)

__all__ = [
    "BandTable",
    "MethodVerdict",
    "band_threshold",
    "core_indicator_by_method",
]


@dataclass(frozen=True, slots=True)
class BandTable:
    """Thresholds by annual-consumption band: band i applies to min_i ≤ annual tce < max_i.

    ``min_annual_tce`` [tce/yr], ``max_annual_tce`` [tce/yr, ``None`` = no upper bound] and
    ``threshold`` [the indicator's unit] are parallel, as in ``config/data/targets.yaml``.

    Raises
    ------
    ValueError
        If the lengths differ, a band is empty (max ≤ min), or two bands overlap.
    """

    min_annual_tce: Sequence[float]
    max_annual_tce: Sequence[float | None]
    threshold: Sequence[float]

    def __post_init__(self) -> None:
        n = len(self.threshold)
        if len(self.min_annual_tce) != n or len(self.max_annual_tce) != n:
            raise ValueError(
                "min_annual_tce, max_annual_tce and threshold must have one entry each"
            )
        bands = sorted(
            (lo, math.inf if hi is None else hi)
            for lo, hi in zip(self.min_annual_tce, self.max_annual_tce, strict=True)
        )
        for lo, hi in bands:
            if not hi > lo:
                raise ValueError(f"band [{lo}, {hi}) tce is empty")
        for (_, hi), (lo, _) in itertools.pairwise(bands):
            if lo < hi:
                raise ValueError(f"bands overlap at {lo} tce")


def band_threshold(projected_annual_tce: float, bands: BandTable) -> float:
    """The threshold [the indicator's unit] of the band holding the projected annual tce [tce/yr].

    Pass the year's projected total (for a closed year, its actual total): within a year the
    year-to-date tce would pick a lower band. NaN when the consumption is unknown (NaN) or in
    no band (910 publishes none below 200,000 tce/yr).
    """
    if math.isnan(projected_annual_tce):
        return math.nan
    for lo, hi, value in zip(
        bands.min_annual_tce, bands.max_annual_tce, bands.threshold, strict=True
    ):
        if lo <= projected_annual_tce and (hi is None or projected_annual_tce < hi):
            return float(value)
    return math.nan


@dataclass(frozen=True, slots=True)
class MethodVerdict:
    """The core indicator under one GB/T 2589-2020 electricity conversion method.

    ``electricity_kgce_per_kwh`` [kgce/kWh] the coefficient used; ``energy_tce`` [tce] the
    period's comprehensive energy; ``tco2`` [tCO2] the same numerator for every method;
    ``tco2_per_tce`` [tCO2/tce]; ``annual_tce`` [tce/yr] the (projected) annual consumption the
    band was chosen by; ``threshold`` [tCO2/tce] that band's threshold (NaN: none applies);
    ``met`` whether tco2_per_tce ≤ threshold (``None`` when either is unknown).
    """

    method: ConversionMethod
    electricity_kgce_per_kwh: float
    energy_tce: float
    tco2: float
    tco2_per_tce: float
    annual_tce: float
    threshold: float
    met: bool | None


def core_indicator_by_method(
    *,
    tco2: float,
    electricity_kwh: float,
    other_tce: float,
    coal_equivalent_kgce_per_kwh: float,
    calorific_kgce_per_kwh: float = ELECTRICITY_CALORIFIC_KGCE_PER_KWH,
    bands: BandTable | None = None,
    annual_electricity_kwh: float | None = None,
    annual_other_tce: float | None = None,
) -> Mapping[ConversionMethod, MethodVerdict]:
    """单位能耗碳排放 [tCO2/tce] of the same inputs under 当量值 and 等价值, keyed by method.

    energy_tce = other_tce [tce] + electricity_kwh [kWh] × k_method [kgce/kWh] / 1000, with
    k = ``calorific_kgce_per_kwh`` (当量值, 0.1229) or ``coal_equivalent_kgce_per_kwh`` (等价值,
    the year's national average coal consumption per kWh supplied); tco2 [tCO2] (whichever
    numerator the caller chose: location-based, or with certified green at zero) is the same for
    both. ``electricity_kwh`` is the electricity inside the energy boundary (typically net grid
    purchase plus self-consumed on-site generation), ``other_tce`` every other carrier.

    With ``bands``, each method's threshold is chosen from its own annual consumption:
    ``annual_electricity_kwh`` [kWh/yr] and ``annual_other_tce`` [tce/yr], the projected year
    (default: the period's own figures, for a whole year).

    Raises
    ------
    ValueError
        If a coefficient is not > 0.
    """
    annual_kwh = electricity_kwh if annual_electricity_kwh is None else annual_electricity_kwh
    annual_other = other_tce if annual_other_tce is None else annual_other_tce
    verdicts: dict[ConversionMethod, MethodVerdict] = {}
    for method in CONVERSION_METHODS:
        k = electricity_kgce_per_kwh(
            method,
            coal_equivalent_kgce_per_kwh=coal_equivalent_kgce_per_kwh,
            calorific_kgce_per_kwh=calorific_kgce_per_kwh,
        )
        energy = float(other_tce) + float(electricity_kwh) * k / KGCE_PER_TCE
        ratio = float(tco2) / energy if energy > 0 else math.nan
        annual = float(annual_other) + float(annual_kwh) * k / KGCE_PER_TCE
        threshold = band_threshold(annual, bands) if bands is not None else math.nan
        met = None if math.isnan(ratio) or math.isnan(threshold) else ratio <= threshold
        verdicts[method] = MethodVerdict(
            method=method,
            electricity_kgce_per_kwh=k,
            energy_tce=energy,
            tco2=float(tco2),
            tco2_per_tce=ratio,
            annual_tce=annual,
            threshold=threshold,
            met=met,
        )
    return verdicts
