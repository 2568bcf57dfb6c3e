"""The 910 veto under both GB/T 2589 electricity methods, and its band chosen from the projected
annual consumption within the current year (services.targets).

发改环资[2025]910号 annex: 单位能耗碳排放 ≤ 0.20 tCO2/tce for parks of 200,000–1,000,000 tce/yr,
≤ 0.30 from 1,000,000 tce/yr; no band below 200,000. The notice does not say which electricity
method (当量值 / 等价值, GB/T 2589-2020) applies, so both are evaluated.

A park buying 10⁹ kWh a year from the Hubei grid (0.4044 kgCO2/kWh, 2023):
- 当量值 0.1229 kgce/kWh → 122,900 tce/yr: below every band;
- 等价值 0.3036 kgce/kWh (2023) → 303,600 tce/yr: the 0.20 band.
With 9 × 10⁸ kWh of it certified green (counted at zero), 10⁸ kWh × 0.4044 = 40,440 tCO2:
40,440 / 122,900 = 0.32905 (no band) and 40,440 / 303,600 = 0.13320 (met). Without them
404,400 tCO2: 3.29048 and 1.33202 (not met).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from config.accounting import AccountingProfile
from config.targets import targets
from services.indicators import Indicator, IndicatorReport, local_period
from services.targets import evaluate

TZ = "Asia/Shanghai"
ZERO_CARBON = targets().profile("zero_carbon_park")
TCE_CV, TCE_CE = 1e9 * 0.1229 / 1000, 1e9 * 0.3036 / 1000  # 122,900 and 303,600 tce


def core_report(
    tco2: float,
    *,
    method: str = "coal_equivalent",
    period: str = "2026",
    tce_cv: float = TCE_CV,
    tce_ce: float = TCE_CE,
) -> IndicatorReport:
    chosen = tce_ce if method == "coal_equivalent" else tce_cv
    energy = Indicator(
        "comprehensive_energy_tce", chosen, "tce", 100.0,
        detail={"tce_calorific_value": tce_cv, "tce_coal_equivalent": tce_ce},
    )  # fmt: skip
    core = [
        Indicator("tco2_per_tce", tco2 / chosen, "tCO2/tce", 100.0),
        Indicator("tco2_per_tce_calorific_value", tco2 / tce_cv, "tCO2/tce", 100.0),
        Indicator("tco2_per_tce_coal_equivalent", tco2 / tce_ce, "tCO2/tce", 100.0),
    ]
    profile = AccountingProfile(name="hubei/2026", electricity_method=method)  # type: ignore[arg-type]
    return IndicatorReport("p", local_period(period, TZ), TZ, ("CN",), profile, (energy, *core))


def test_veto_under_both_methods_with_certified_green():
    r = evaluate(ZERO_CARBON, core_report(40_440.0)).result("carbon_per_energy")
    # the profile's method (等价值) gives the verdict: 0.13320 ≤ 0.20
    assert (r.status, r.threshold) == ("met", 0.20)
    assert r.value == pytest.approx(0.133202, rel=1e-5)
    cv, ce = r.by_method
    assert (cv.method, cv.chosen, ce.method, ce.chosen) == (
        "calorific_value", False, "coal_equivalent", True,
    )  # fmt: skip
    assert cv.value == pytest.approx(0.329048, rel=1e-5)
    assert cv.annual_tce == pytest.approx(122_900.0)
    assert (cv.status, cv.threshold) == ("no_threshold", None)  # below 200,000 tce/yr
    assert ce.annual_tce == pytest.approx(303_600.0)
    assert (ce.status, ce.threshold) == ("met", 0.20)


def test_veto_under_both_methods_without_instruments():
    r = evaluate(ZERO_CARBON, core_report(404_400.0)).result("carbon_per_energy")
    cv, ce = r.by_method
    assert ce.value == pytest.approx(1.332016, rel=1e-5)
    assert (ce.status, r.status) == ("not_met", "not_met")
    assert cv.value == pytest.approx(3.290480, rel=1e-5)
    assert cv.status == "no_threshold"
    # a profile at 当量值 has no band: its verdict is no_threshold, the other shown beside it
    r_cv = evaluate(ZERO_CARBON, core_report(404_400.0, method="calorific_value"))
    core = r_cv.result("carbon_per_energy")
    assert core.status == "no_threshold"
    assert [m.chosen for m in core.by_method] == [True, False]
    assert core.by_method[1].status == "not_met"


def month_report(month: int, tce: float) -> IndicatorReport:
    return core_report(0.15 * tce, method="calorific_value", period=f"2026-{month:02d}",
                       tce_cv=tce, tce_ce=tce * 0.3036 / 0.1229)  # fmt: skip


def test_band_from_the_projected_year_not_the_year_to_date():
    # Jan–Jun at 20,000 tce a month (当量值): 120,000 tce so far, below every band; projected
    # with the days of each month as the shape: 120,000 × 365 / 181 = 241,989 tce/yr → 0.20
    months = [month_report(m, 20_000.0) for m in range(1, 7)]
    ytd = core_report(0.15 * 120_000, method="calorific_value",
                      tce_cv=120_000.0, tce_ce=120_000.0 * 0.3036 / 0.1229)  # fmt: skip
    now = datetime(2026, 7, 1, tzinfo=ZoneInfo(TZ))
    r = evaluate(ZERO_CARBON, ytd, months=months, now=now).result("carbon_per_energy")
    assert r.annual_tce == pytest.approx(120_000 * 365 / 181)
    assert (r.status, r.threshold) == ("met", 0.20)
    # 等价值: 241,989 × 0.3036 / 0.1229 = 597,775 tce/yr, also the 0.20 band
    ce = r.by_method[1]
    assert ce.annual_tce == pytest.approx(120_000 * 365 / 181 * 0.3036 / 0.1229)
    assert ce.threshold == 0.20
    # the year-to-date alone would have chosen no band
    closed = evaluate(ZERO_CARBON, ytd).result("carbon_per_energy")
    assert closed.status == "no_threshold"
