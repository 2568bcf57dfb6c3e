"""Baseline benchmark: fitting a year of hourly data per meter, for parks of 250 to 2,000 meters.

``python -m bench.baselines [--quick] [--json FILE]`` measures on this machine, in one process
(numpy's BLAS may use a second core inside each least-squares fit: the CPU time is printed
beside the wall time; the fits are independent, so more processes divide the time):

1. ``analytics.baseline.fit_baseline`` of the hourly ``4p`` model with day type × hour of day
   (the service's hourly model, up to 72 category levels) on a year of hourly energy (8,760
   points) per meter, for 2,000 synthetic meters one after the other; the time to fit the first
   250, 500, 1,000 and 2,000 is recorded, so the growth with the number of meters is read off
   one run (each meter's data is generated before its timer starts);
2. per meter, the other forms on the same data (a sample of meters): ``3p_heating``,
   ``5p`` and ``auto`` (every form, the lowest CV(RMSE)), to extrapolate a park of 2,000 meters
   fitted with each.

A meter's data: a Wuhan-like hourly outdoor temperature for 2025 (annual and daily sines plus
AR(1) weather), day types from the Chinese working calendar, a load of profile × day type ×
hour plus heating below 12 degC and cooling above 24 degC, times 5 % noise — seeded, so every
run fits the same numbers. ``--quick`` fits 2, 4 and 8 meters on 60 days (1,440 h) and samples
one of each form (a few seconds);
the full run takes about 5-10 minutes on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from analytics.baseline import KINDS, BaselineError, ModelKind, fit_baseline, fit_best
from bench._procs import exit_on_sigterm
from services.baselines import day_type_codes

__all__ = ["main", "meter_year", "year_inputs"]

YEAR = 2025
FULL_SIZES = (250, 500, 1000, 2000)
QUICK_SIZES = (2, 4, 8)
QUICK_DAYS = 60  # --quick: two months of hourly data, so the smoke run takes seconds
SAMPLE_KINDS: tuple[ModelKind | str, ...] = ("3p_heating", "5p", "auto")


def year_inputs(seed: int = 0, days: int = 365) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """``days`` (a year by default) of hourly outdoor temperature [degC] and day type × 24 +
    hour (the service's hourly category) from 1 January 2025, local time."""
    rng = np.random.default_rng(seed)
    hours = np.arange(days * 24)
    day = hours // 24
    weather = np.zeros(hours.size)
    for k in range(1, hours.size):  # AR(1) weather, a few days' memory
        weather[k] = 0.995 * weather[k - 1] + 0.3 * rng.normal()
    temp = (
        17.0
        - 12.0 * np.cos(2 * np.pi * (day - 15) / 365)
        - 4.0 * np.cos(2 * np.pi * ((hours % 24) - 3) / 24)
        + weather
    )
    dates = [date(YEAR, 1, 1) + timedelta(days=int(d)) for d in range(days)]
    category = np.repeat(day_type_codes(dates), 24) * 24 + hours % 24
    return temp, category


def meter_year(
    rng: np.random.Generator, temp: NDArray[np.float64], category: NDArray[np.int64]
) -> NDArray[np.float64]:
    """One meter's hourly energy [kWh] over the year: a random size and shape, heating below
    12 degC, cooling above 24 degC, 5 % noise."""
    peak = rng.uniform(20.0, 500.0)
    hour = category % 24
    working = category // 24 != 1
    shape = np.where(
        working,
        0.3 + 0.6 * ((hour >= 8) & (hour < 20)),
        0.25 + 0.1 * ((hour >= 9) & (hour < 17)),
    )
    hvac = rng.uniform(0.0, 0.03) * np.maximum(12.0 - temp, 0.0)
    hvac += rng.uniform(0.0, 0.05) * np.maximum(temp - 24.0, 0.0)
    noise = 1.0 + 0.05 * rng.normal(size=temp.size)
    return np.asarray(peak * (shape + hvac) * noise, dtype=np.float64)


def _fit(
    kind: ModelKind | str, y: NDArray[np.float64], temp: NDArray[np.float64], cat: NDArray[np.int64]
) -> float:
    """Seconds to fit ``kind``. A form the data cannot give physically signed slopes (a 5P's
    cooling on two winter months) is refused only after its whole grid search, so its time
    counts the same."""
    began = time.perf_counter()
    try:
        if kind == "auto":
            fit_best(y, temp, category=cat)
        else:
            fit_baseline(y, temp, kind=kind, category=cat)  # type: ignore[arg-type]
    except BaselineError:
        pass
    return time.perf_counter() - began


def run(sizes: tuple[int, ...], sample: int, seed: int = 7, days: int = 365) -> dict[str, Any]:
    """Fit ``max(sizes)`` meters with the hourly 4P model on ``days`` of hourly data, recording
    the time to each size, then ``sample`` meters with every form of :data:`SAMPLE_KINDS`; the
    figures as a dict."""
    temp, cat = year_inputs(seed, days)
    rng = np.random.default_rng(seed)
    fit_s = 0.0
    levels = 0
    at: dict[int, float] = {}
    cpu0 = time.process_time()
    for k in range(1, max(sizes) + 1):
        y = meter_year(rng, temp, cat)
        began = time.perf_counter()
        model = fit_baseline(y, temp, kind="4p", category=cat)
        fit_s += time.perf_counter() - began
        levels = len(model.category_levels)
        if k in sizes:
            at[k] = fit_s
            print(f"  {k:>5} meters fitted: {fit_s:8.1f} s", file=sys.stderr, flush=True)
    cpu_s = time.process_time() - cpu0
    per_kind: dict[str, float] = {}
    for kind in SAMPLE_KINDS:
        times = [_fit(kind, meter_year(rng, temp, cat), temp, cat) for _ in range(sample)]
        per_kind[str(kind)] = float(np.median(times))
    first = min(sizes)
    return {
        "machine": platform.node(),
        "python": platform.python_version(),
        "points_per_meter": int(temp.size),
        "category_levels": levels,
        "sizes": {
            str(n): {
                "seconds": at[n],
                "ms_per_meter": 1000.0 * at[n] / n,
                "growth_vs_smallest": (at[n] / at[first]) / (n / first),
            }
            for n in sizes
        },
        "cpu_s_4p": cpu_s,
        "sample_ms_per_meter": {k: 1000.0 * v for k, v in per_kind.items()},
        "extrapolated_2000_s": {k: 2000 * v for k, v in per_kind.items()},
        "kinds": list(KINDS),
    }


def table(figures: dict[str, Any]) -> str:
    """The figures as the printed table."""
    lines = [
        "| what | figure |",
        "|---|---|",
    ]
    n_pts, levels = figures["points_per_meter"], figures["category_levels"]
    for n, f in figures["sizes"].items():
        lines.append(
            f"| hourly 4P, {n} meters × {n_pts:,} h ({levels} day-type × hour levels) | "
            f"{f['seconds']:,.1f} s, {f['ms_per_meter']:,.0f} ms/meter, "
            f"growth {f['growth_vs_smallest']:.2f} × linear |"
        )
    lines.append(
        f"| CPU time of the {max(int(n) for n in figures['sizes']):,} 4P fits (all threads) | "
        f"{figures['cpu_s_4p']:,.1f} s |"
    )
    for kind, ms in figures["sample_ms_per_meter"].items():
        lines.append(
            f"| hourly {kind}, one meter (median of the sample) | {ms:,.0f} ms/meter → "
            f"{figures['extrapolated_2000_s'][kind]:,.0f} s for 2,000 meters (extrapolated) |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table; 0 on success."""
    exit_on_sigterm()
    p = argparse.ArgumentParser(
        prog="python -m bench.baselines", description=__doc__.split("\n")[0]
    )
    p.add_argument(
        "--quick", action="store_true", help="2, 4 and 8 meters, 60 days, a sample of one"
    )
    p.add_argument("--json", type=Path, help="write the figures here")
    args = p.parse_args(argv)
    sizes, sample, days = (QUICK_SIZES, 1, QUICK_DAYS) if args.quick else (FULL_SIZES, 5, 365)
    print(f"fitting {days} days of hourly data for up to {max(sizes):,} meters …", file=sys.stderr)
    figures = run(sizes, sample, days=days)
    print(f"baselines benchmark ({'quick' if args.quick else 'full'}), {figures['python']}\n")
    print(table(figures))
    if args.json is not None:
        args.json.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
