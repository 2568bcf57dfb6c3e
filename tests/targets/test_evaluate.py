"""Evaluating target profiles against hand-built indicator reports: statuses, gaps, bands,
declared values, scores and the year-end projection."""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from config.accounting import AccountingProfile
from config.registry import load_registry
from config.targets import targets
from services.indicators import Indicator, IndicatorReport, local_period, park_indicators
from services.targets import MIN_COMPLETENESS_PCT, evaluate, score
from store import EmbeddedStore

TZ = "Asia/Shanghai"
UNITS = {
    "comprehensive_energy_tce": "tce",
    "scope1_tco2": "tCO2",
    "scope2_location_tco2": "tCO2",
    "tco2_per_tce": "tCO2/tce",
    "clean_energy_share": "fraction",
    "renewable_share": "fraction",
    "renewable_electricity_share": "fraction",
    "kgce_per_unit": "kgce/unit",
    "tco2_per_unit": "tCO2/unit",
    "self_sufficiency_rate": "fraction",
    "renewable_penetration": "fraction",
}
ZERO_CARBON = targets().profile("zero_carbon_park")
MIIT = targets().profile("miit_green_park")
FACTORY = targets().profile("green_factory")


def report(
    period: str = "2026",
    completeness: float = 99.0,
    details: dict[str, dict[str, float | None]] | None = None,
    **values: float | None,
) -> IndicatorReport:
    details = details or {}
    indicators = tuple(
        Indicator(
            name,
            value,
            UNITS[name],
            completeness,
            reason=None if value is not None else "no data",
            detail=details.get(name, {}),
        )
        for name, value in values.items()
    )
    return IndicatorReport(
        "p", local_period(period, TZ), TZ, ("CN",), AccountingProfile(), indicators
    )


def test_core_indicator_met_in_the_small_band():
    r = evaluate(ZERO_CARBON, report(comprehensive_energy_tce=500_000, tco2_per_tce=0.18))
    core = r.result("carbon_per_energy")
    assert (core.status, core.threshold, core.basis, core.veto) == ("met", 0.20, "measured", True)
    assert core.gap == pytest.approx(-0.02)
    assert core.thresholds[0].evidence == "P"
    assert r.vetoes_met is True
    assert not r.indicative


def test_core_indicator_band_by_annual_energy():
    large = evaluate(ZERO_CARBON, report(comprehensive_energy_tce=1_500_000, tco2_per_tce=0.25))
    assert (
        large.result("carbon_per_energy").status,
        large.result("carbon_per_energy").threshold,
    ) == ("met", 0.30)
    missed = evaluate(ZERO_CARBON, report(comprehensive_energy_tce=500_000, tco2_per_tce=0.25))
    core = missed.result("carbon_per_energy")
    assert (core.status, core.gap) == ("not_met", pytest.approx(0.05))
    assert missed.vetoes_met is False
    small = evaluate(ZERO_CARBON, report(comprehensive_energy_tce=50_000, tco2_per_tce=0.1))
    core = small.result("carbon_per_energy")
    assert core.status == "no_threshold"
    assert "no threshold for a park of 50,000 tce/yr" in (core.reason or "")
    assert small.vetoes_met is None


def test_a_month_needs_the_annual_energy_for_the_band():
    month = report("2026-03", comprehensive_energy_tce=40_000, tco2_per_tce=0.15)
    r = evaluate(ZERO_CARBON, month)
    core = r.result("carbon_per_energy")
    assert core.status == "not_enough_data"
    assert "annual energy" in (core.reason or "")
    assert r.indicative
    r = evaluate(ZERO_CARBON, month, annual_tce=480_000)
    assert r.result("carbon_per_energy").status == "met"


def test_incomplete_data_is_not_enough_data():
    r = evaluate(
        ZERO_CARBON,
        report(
            completeness=MIN_COMPLETENESS_PCT - 0.1, comprehensive_energy_tce=5e5, tco2_per_tce=0.1
        ),
        annual_tce=5e5,
    )
    core = r.result("carbon_per_energy")
    assert core.status == "not_enough_data"
    assert core.value == 0.1
    assert core.gap == pytest.approx(-0.1)
    assert "89.9 % complete, below the 90 % needed" in (core.reason or "")
    at_limit = evaluate(
        ZERO_CARBON,
        report(completeness=MIN_COMPLETENESS_PCT, comprehensive_energy_tce=5e5, tco2_per_tce=0.1),
    )
    assert at_limit.result("carbon_per_energy").status == "met"


def test_no_value_is_not_enough_data_with_the_report_reason():
    r = evaluate(ZERO_CARBON, report(comprehensive_energy_tce=5e5, tco2_per_tce=None))
    core = r.result("carbon_per_energy")
    assert (core.status, core.value, core.gap, core.reason) == (
        "not_enough_data",
        None,
        None,
        "no data",
    )


def test_declared_guiding_indicators():
    declared = {"waste_heat_use": 0.55, "solid_waste_use": 0.7, "product_energy_quota_level": 3}
    r = evaluate(
        ZERO_CARBON,
        report(comprehensive_energy_tce=5e5, tco2_per_tce=0.1, clean_energy_share=0.92),
        declared,
    )
    heat = r.result("waste_heat_use")
    assert (heat.status, heat.basis, heat.completeness_pct) == ("met", "declared", None)
    assert heat.gap == pytest.approx(0.05)
    waste = r.result("solid_waste_use")
    assert (waste.status, waste.gap) == ("not_met", pytest.approx(-0.1))
    quota = r.result("product_energy_quota_level")
    assert (quota.status, quota.gap, quota.direction) == ("not_met", 1.0, "le")
    water = r.result("water_reuse")
    assert (water.status, water.reason) == ("not_enough_data", "water_reuse not declared")
    clean = r.result("clean_energy_share")
    assert (clean.status, clean.gap) == ("met", pytest.approx(0.02))


def test_miit_ratios_with_a_declared_value_added():
    rep = report(
        comprehensive_energy_tce=500_000,
        scope1_tco2=20_000,
        scope2_location_tco2=80_000,
        renewable_share=0.1,
    )
    declared = {"industrial_value_added_10k_cny": 2_000_000}
    r = evaluate(MIIT, rep, declared)
    ep = r.result("energy_productivity")
    assert (ep.value, ep.status, ep.basis, ep.threshold) == (4.0, "met", "mixed", 3.0)
    assert ep.thresholds[0].evidence == "U"
    assert ep.reads == "(declared:industrial_value_added_10k_cny) / (comprehensive_energy_tce)"
    cva = r.result("carbon_per_value_added")
    assert cva.value == pytest.approx(0.05)
    assert (cva.status, cva.threshold) == ("no_threshold", None)
    assert "park-configurable" in (cva.reason or "")
    assert r.result("renewable_share").status == "not_met"
    park = evaluate(MIIT, rep, declared, overrides={"carbon_per_value_added": 0.04})
    cva = park.result("carbon_per_value_added")
    assert (cva.status, cva.threshold, cva.thresholds[0].kind) == ("not_met", 0.04, "park")
    assert cva.gap == pytest.approx(0.01)
    undeclared = evaluate(MIIT, rep).result("energy_productivity")
    assert (undeclared.status, undeclared.reason) == (
        "not_enough_data",
        "industrial_value_added_10k_cny not declared",
    )


def test_green_factory_scores_between_baseline_and_leading():
    assert score(1.0, 1.2, 0.8) == pytest.approx(50.0)
    assert score(0.5, 1.2, 0.8) == 100.0
    assert score(2.0, 1.2, 0.8) == 0.0
    assert score(0.3, 0.1, 0.5) == pytest.approx(50.0)
    rep = report(
        kgce_per_unit=1.0, tco2_per_unit=0.007, renewable_electricity_share=0.5, tco2_per_tce=2.0
    )
    r = evaluate(FACTORY, rep, sector="example_electronics")
    energy = r.result("unit_product_energy")
    assert (energy.status, energy.threshold, energy.score) == ("met", 1.2, pytest.approx(50.0))
    assert [t.kind for t in energy.thresholds] == ["baseline", "leading"]
    assert all(t.example for t in energy.thresholds)
    carbon = r.result("unit_product_carbon")
    assert (carbon.status, carbon.score) == ("not_met", 0.0)
    assert r.result("renewable_electricity_share").score == pytest.approx(100.0)
    assert r.result("carbon_per_energy").score == pytest.approx(50.0)
    none = evaluate(FACTORY, rep).result("unit_product_energy")
    assert (none.status, none.score) == ("no_threshold", None)
    assert "no sector chosen" in (none.reason or "")


def test_unit_mismatch_is_refused():
    bad = IndicatorReport(
        "p", local_period("2026", TZ), TZ, ("CN",), AccountingProfile(),
        (Indicator("tco2_per_tce", 0.1, "kgCO2/kgce", 100.0),),
    )  # fmt: skip
    with pytest.raises(ValueError, match="in 'tCO2/tce' but indicator tco2_per_tce is in"):
        evaluate(ZERO_CARBON, bad)


def test_shipped_profiles_read_real_indicators_in_their_units(tmp_path):
    park = load_registry().parks["wuhan-demo"]
    real = park_indicators(EmbeddedStore(tmp_path / "s.sqlite3"), park, "2026-03-14")
    units = {i.name: i.unit for i in real.indicators}
    for profile in targets().profiles:
        for ind in profile.indicators:
            terms = (
                [ind.reads]
                if ind.reads is not None
                else [*ind.ratio.numerator, *ind.ratio.denominator]  # type: ignore[union-attr]
            )
            for term in terms:
                if term == "declared" or term.startswith("declared:"):
                    continue
                assert term in units, (profile.id, ind.key, term)
                if ind.reads is not None:
                    assert units[term] == ind.unit, (profile.id, ind.key)


# -- year to date and year end --------------------------------------------------------------


def months(year: int, n: int, tce: list[float], tco2_per_tce: list[float]) -> list[IndicatorReport]:
    return [
        report(
            f"{year}-{m:02d}", comprehensive_energy_tce=tce[m - 1], tco2_per_tce=tco2_per_tce[m - 1]
        )
        for m in range(1, n + 1)
    ]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(TZ))


def test_year_end_with_last_years_shape():
    # Last year: 30,000 tce a month in the first half, 50,000 in the second (a new line).
    last = months(2025, 12, [30_000.0] * 6 + [50_000.0] * 6, [0.2] * 12)
    # This year: 33,000 a month so far (+10 %), carbon intensity 0.15.
    this = months(2026, 6, [33_000.0] * 6, [0.15] * 6)
    r = evaluate(
        ZERO_CARBON, this[-1], months=this, reference=last, now=at("2026-07-01T00:00"),
        annual_tce=500_000,
    )  # fmt: skip
    ye = r.result("carbon_per_energy").year_end
    assert ye is not None
    assert ye.ytd == pytest.approx(0.15)
    assert ye.value == pytest.approx(0.15)  # every month 0.15: numerator follows denominator
    assert ye.sigma == pytest.approx(0.0, abs=1e-12)
    assert ye.elapsed_share == pytest.approx(180_000 / 480_000)
    assert (ye.status, ye.gap) == ("met", pytest.approx(-0.05))
    assert "last year's months" in ye.method
    declared = r.result("waste_heat_use").year_end
    assert declared is not None
    assert declared.method == "declared"
    assert declared.value is None


def test_year_end_additive_and_mixed_ratio():
    this = months(2026, 4, [100.0, 120.0, 80.0, 100.0], [0.2] * 4)
    for rep in this:  # carbon so the MIIT ratio has a numerator
        object.__setattr__(
            rep, "indicators",
            (*rep.indicators, Indicator("scope1_tco2", 10.0, "tCO2", 99.0),
             Indicator("scope2_location_tco2", 10.0, "tCO2", 99.0)),
        )  # fmt: skip
    # Half-way through April (2026-04-16 00:00 of 30 days → 0.5): April's value is its first half.
    r = evaluate(
        MIIT, this[-1], {"industrial_value_added_10k_cny": 1000.0}, months=this,
        now=at("2026-04-16T00:00"),
    )  # fmt: skip
    ep = r.result("energy_productivity").year_end
    assert ep is not None
    assert ep.ytd is None
    # Days shape: observed 31 + 28 + 31 + 15 = 105 days, 400 tce → year 400 × 365 / 105.
    year_tce = 400.0 * 365.0 / 105.0
    assert ep.value == pytest.approx(1000.0 / year_tce)
    assert ep.sigma is not None
    assert ep.sigma > 0
    assert "declared side is the year's" in ep.method
    cva = r.result("carbon_per_value_added").year_end
    assert cva is not None
    assert cva.value == pytest.approx(80.0 * 365.0 / 105.0 / 1000.0)


def test_year_end_of_a_complete_year_is_the_year():
    tce = [float(10 + m) for m in range(12)]
    ratio = [0.1 + 0.01 * m for m in range(12)]
    this = months(2026, 12, tce, ratio)
    r = evaluate(ZERO_CARBON, this[0], months=this, now=at("2027-01-01T00:00"), annual_tce=3e5)
    ye = r.result("carbon_per_energy").year_end
    assert ye is not None
    expected = sum(t * q for t, q in zip(tce, ratio, strict=True)) / sum(tce)
    assert ye.value == pytest.approx(expected)
    assert ye.ytd == pytest.approx(expected)
    assert ye.sigma == 0.0
    assert ye.elapsed_share == 1.0


def test_year_end_with_one_month_has_no_uncertainty_yet():
    this = months(2026, 1, [100.0], [0.3])
    r = evaluate(ZERO_CARBON, this[0], months=this, now=at("2026-02-01T00:00"), annual_tce=5e5)
    ye = r.result("carbon_per_energy").year_end
    assert ye is not None
    assert ye.value == pytest.approx(0.3)
    assert ye.sigma is None
    assert ye.status == "not_met"
    assert not math.isnan(ye.elapsed_share or 0.0)
