"""The baseline benchmark's smoke form: ``python -m bench.baselines --quick`` fits its meters,
prints a figure for every size and form, and the fits grow about linearly with the meters."""

from __future__ import annotations

import re

import pytest

from bench import baselines


def test_the_quick_baseline_bench_completes_and_prints_its_figures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert baselines.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for n in baselines.QUICK_SIZES:
        line = next(x for x in out.splitlines() if f"hourly 4P, {n} meters × 1,440 h" in x)
        assert "72 day-type × hour levels" in line
        ms = float(re.search(r"([\d,]+) ms/meter", line)[1].replace(",", ""))  # type: ignore[index]
        assert 0 < ms < 5_000
    for kind in baselines.SAMPLE_KINDS:
        assert f"hourly {kind}, one meter" in out
    assert "CPU time of the 8 4P fits" in out


def test_synthetic_meters_are_seeded_and_plausible() -> None:
    import numpy as np

    temp, cat = baselines.year_inputs(0)
    assert temp.size == cat.size == 8_760
    assert -10 < temp.min() < 10 < 25 < temp.max() < 45  # a Wuhan year [degC]
    assert set(np.unique(cat // 24).tolist()) == {0, 1, 2}  # working, rest, adjusted days
    a = baselines.meter_year(np.random.default_rng(1), temp, cat)
    b = baselines.meter_year(np.random.default_rng(1), temp, cat)
    np.testing.assert_array_equal(a, b)
    assert np.all(a > 0)
