"""The simulator's retrofit (``--retrofit TENANT:YYYY-MM-DD:FACTOR``) and its truth, and the proof
of the baselines against it: a baseline fitted before the retrofit finds the truth's savings
within its reported uncertainty; a model without the holiday calendar fails Guideline 14's
limits and claims nothing."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from config.messages import has, message
from config.registry import load_registry
from services.baselines import BaselineDataError, create_baseline
from services.energy import Scope
from simulators.park import ParkModel
from simulators.retrofit import Retrofit, RetrofitError, parse_retrofit
from simulators.truth import TruthWriter
from store import EmbeddedStore

REGISTRY = load_registry()
PARK = REGISTRY.parks["wuhan-demo"]
ZONE = ZoneInfo("Asia/Shanghai")
STEP_S = 900
BASE = (date(2025, 1, 1), date(2025, 1, 15))
REPORT = (date(2025, 1, 15), date(2025, 1, 29))
HVAC_BASE = (date(2024, 12, 1), date(2025, 1, 15))
HVAC_REPORT = (date(2025, 1, 15), date(2025, 1, 28))


def _ns(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=ZONE).timestamp()) * 10**9


def test_parse_retrofit() -> None:
    r = parse_retrofit("chipcore:2025-01-15:0.85")
    assert r == Retrofit("chipcore", date(2025, 1, 15), 0.85)
    assert str(r) == "chipcore:2025-01-15:0.85"
    assert parse_retrofit("chipcore:2025-01-15:load=0.85") == r
    h = parse_retrofit("t01:2025-01-15:hvac=0.4")
    assert h == Retrofit("t01", date(2025, 1, 15), 0.4, "hvac")
    assert str(h) == "t01:2025-01-15:hvac=0.4"
    assert parse_retrofit(str(h)) == h
    bad_texts = (
        "t01:2025-01-15:fans=0.4",
        "t01:2025-01-15:hvac=",
        "t01:2025-01-15:hvac=0",
        "chipcore",
        "chipcore:2025-13-01:0.9",
        "chipcore:2025-01-15:x",
        ":2025-01-15:1",
        "chipcore:2025-01-15:0",
        "chipcore:2025-01-15:2.5",
        "chipcore:2025-01-15:nan",
    )
    for bad in bad_texts:
        with pytest.raises(RetrofitError) as caught:
            parse_retrofit(bad)
        # the text a person reads comes from the catalogue, in both languages
        assert has(caught.value.key)
        assert message(caught.value.key, "en", *caught.value.params) == str(caught.value)
        assert bad in message(caught.value.key, "zh", *caught.value.params)
    with pytest.raises(RetrofitError, match="no tenant"):
        ParkModel(PARK, retrofits=[parse_retrofit("nobody:2025-01-15:0.9")])


def test_retrofit_scales_the_tenants_load_and_nothing_else() -> None:
    """Same seed with and without the retrofit: identical until the date, then the tenant's
    meter reads exactly 0.85 × what it would have, the saving is the difference, and the other
    tenants' meters and the production counters are unchanged."""
    plain = ParkModel(PARK, seed=3)
    fitted = ParkModel(PARK, seed=3, retrofits=[parse_retrofit("chipcore:2025-01-02:0.85")])
    i = plain.position["plant-1-main"]
    other = plain.position["tower-a-f07"]
    prod = plain.position["prod-chipcore"]
    t0 = _ns(date(2025, 1, 1))
    before_saved = []
    after = []
    for k in range(1, 2 * 96 + 1):
        t = t0 + k * STEP_S * 10**9
        a, b = plain.advance(t, STEP_S), fitted.advance(t, STEP_S)
        if k <= 96:
            assert b.delta["energy"][i] == a.delta["energy"][i]
            before_saved.append(b.saved)
        else:
            after.append((a, b))
    assert all(s is None for s in before_saved)
    for a, b in after:
        assert b.saved is not None
        np.testing.assert_allclose(b.delta["energy"][i], 0.85 * a.delta["energy"][i], rtol=1e-12)
        assert b.saved[i] == pytest.approx(a.delta["energy"][i] - b.delta["energy"][i], rel=1e-12)
        assert b.delta["energy"][other] == a.delta["energy"][other]
        assert b.delta["produced"][prod] == a.delta["produced"][prod]
        assert np.count_nonzero(b.saved) == 1  # chipcore has one load meter


def test_truth_file_holds_the_saving_per_day_and_meter(tmp_path: Path) -> None:
    plain = ParkModel(PARK, seed=3)
    model = ParkModel(PARK, seed=3, retrofits=[parse_retrofit("chipcore:2025-01-02:0.85")])
    i = plain.position["plant-1-main"]
    path = tmp_path / "truth.csv"
    expected: defaultdict[date, float] = defaultdict(float)
    t0 = _ns(date(2025, 1, 1))
    with TruthWriter(path, model) as truth:
        for k in range(1, 3 * 96 + 1):
            t = t0 + k * STEP_S * 10**9
            a = plain.advance(t, STEP_S)
            b = model.advance(t, STEP_S)
            truth.write_tick(b)
            day = datetime.fromtimestamp(t / 1e9 - STEP_S, ZONE).date()
            expected[day] += float(a.delta["energy"][i] - b.delta["energy"][i])
    with path.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["record"] == "retrofit"]
    by = {(r["scope"], r["id"], int(r["time_ms"])): r for r in rows}
    assert len(rows) == 6  # three days × (the meter, the tenant)
    for day in (date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)):
        ms = _ns(day) // 10**6
        dev, ten = by[("device", "plant-1-main", ms)], by[("tenant", "chipcore", ms)]
        assert float(dev["value"]) == pytest.approx(expected[day], rel=1e-9, abs=1e-9)
        assert float(ten["value"]) == float(dev["value"])
        assert dev["quantity"] == "electricity_saved"
        assert dev["unit"] == "kWh"
        assert dev["detail"] == "chipcore:2025-01-02:0.85"
        assert float(dev["interval_s"]) == 86_400
    assert float(by[("device", "plant-1-main", _ns(date(2025, 1, 1)) // 10**6)]["value"]) == 0
    # chipcore's fab peaks at 12,000 m² × 0.15 kW/m² = 1.8 MW and runs near it round the clock
    # (≈ 0.9 × 1.8 MW × 24 h ≈ 39 MWh plus winter HVAC): 15 % of that is 6–9 MWh a day
    assert 6_000 < expected[date(2025, 1, 2)] < 9_000


def _truth_saved(path: Path, tenant: str, start: date, end: date) -> float:
    total = 0.0
    with path.open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["record"] == "retrofit" and r["scope"] == "tenant" and r["id"] == tenant:
                day = datetime.fromtimestamp(int(r["time_ms"]) / 1000, ZONE).date()
                if start <= day < end:
                    total += float(r["value"])
    return total


def test_baseline_finds_the_retrofits_savings_within_its_uncertainty(
    retrofit_store: tuple[EmbeddedStore, Path],
) -> None:
    store, truth_path = retrofit_store
    truth = _truth_saved(truth_path, "chipcore", *REPORT)
    result = create_baseline(
        store,
        PARK,
        scope=Scope("tenant", "chipcore"),
        baseline_period=BASE,
        reporting_period=REPORT,
        production=True,
        baseline_id="chipcore-retrofit",
    )
    # the fab's HVAC heats below 12 degC, a straight line over every January day: of the forms,
    # the two-parameter one with the output wins (CV(RMSE) under 1 %)
    assert result.model.kind == "2p"
    assert result.model.stats.cv_rmse_pct < 1.0
    assert result.passed, result.reasons
    assert result.claim is not None
    s = result.claim.savings
    assert result.reporting_periods == 14
    # the truth: the 15 % of the meter's counterfactual over 14 days, ≈ 5.9 MWh a day
    assert 14 * 5_000 < truth < 14 * 7_000
    assert abs(s.savings - truth) <= s.uncertainty
    assert s.uncertainty < 0.05 * truth
    assert 0.13 < s.fraction < 0.17  # the 15 % cut, seen through the model
    assert result.claim.claimed


def test_without_the_holiday_calendar_the_model_fails_and_claims_nothing(
    retrofit_store: tuple[EmbeddedStore, Path],
) -> None:
    """An assembly plant (two shifts on working days, a skeleton crew on days off) with no day
    type: working days and days off fall on one line. A heating change-point model would then
    need a heating slope of the wrong sign (the colder days of the fortnight fell on working
    days) and is refused; the best form that can be fitted breaks Guideline 14's CV(RMSE) limit
    and no savings are claimed. With the calendar the same choice passes."""
    store, _ = retrofit_store
    common = {
        "scope": Scope("tenant", "lumina"),
        "baseline_period": BASE,
        "reporting_period": REPORT,
    }
    with pytest.raises(BaselineDataError, match="physically signed"):
        create_baseline(
            store,
            PARK,
            kind="3p_heating",
            day_type=False,
            baseline_id="lumina-3p-no-calendar",
            **common,  # type: ignore[arg-type]
        )
    result = create_baseline(
        store,
        PARK,
        kind="auto",
        day_type=False,
        baseline_id="lumina-no-calendar",
        **common,  # type: ignore[arg-type]
    )
    assert not result.passed
    assert "cv_rmse" in [r.code for r in result.reasons]
    assert result.model.stats.cv_rmse_pct > result.limit_set.max_cv_rmse_pct
    assert result.claim is not None
    assert not result.claim.claimed
    with_calendar = create_baseline(
        store,
        PARK,
        kind="auto",
        baseline_id="lumina-calendar",
        **common,  # type: ignore[arg-type]
    )
    assert with_calendar.passed, with_calendar.reasons
    assert with_calendar.model.stats.cv_rmse_pct < 0.5 * result.model.stats.cv_rmse_pct


def test_cli_refuses_a_bad_retrofit(capsys: pytest.CaptureFixture[str]) -> None:
    from smartpark.cli import main

    code = main(["simulate", "--fresh-registers", "--retrofit", "nobody:2025-01-15:0.9"])
    assert code == 2
    assert "no tenant 'nobody'" in capsys.readouterr().err
    code = main(["simulate", "--fresh-registers", "--retrofit", "chipcore:15-01-2025:0.9"])
    assert code == 2
    code = main(["simulate", "--fresh-registers", "--retrofit", "t01:2025-01-15:fans=0.4"])
    assert code == 2
    assert "the part must be load or hvac, got 'fans'" in capsys.readouterr().err


def test_hvac_retrofit_scales_only_the_temperature_dependent_load() -> None:
    """Same seed with and without an HVAC retrofit: the fab's meter saves exactly 60 % of its
    HVAC term, more on a colder interval, and the other meters are unchanged."""
    plain = ParkModel(PARK, seed=3)
    fitted = ParkModel(PARK, seed=3, retrofits=[parse_retrofit("t01:2025-01-01:hvac=0.4")])
    i = plain.position["tower-a-f01"]
    other = plain.position["plant-1-main"]
    t0 = _ns(date(2025, 1, 1))
    saved = []
    for k in range(1, 96 + 1):
        t = t0 + k * STEP_S * 10**9
        a, b = plain.advance(t, STEP_S), fitted.advance(t, STEP_S)
        assert b.saved is not None
        assert b.delta["energy"][other] == a.delta["energy"][other]
        assert b.saved[i] == pytest.approx(a.delta["energy"][i] - b.delta["energy"][i], rel=1e-12)
        # the fab's HVAC term: 25 % of its peak times (12 - T) / 12 below 12 degC, times the
        # load's noise; 60 % of it saved over 0.25 h, nothing in a mild hour
        lift = max(0.0, 12.0 - a.outdoor_c) / 12.0
        hvac_kwh = 0.25 * lift * plain.base_kw[i] * (1 + plain.noise[i]) * 0.25
        assert b.saved[i] == pytest.approx(0.6 * hvac_kwh, rel=1e-9, abs=1e-12)
        saved.append((lift, b.saved[i] / a.delta["energy"][i]))
    cold = [share for lift, share in saved if lift > 0.25]
    mild = [share for lift, share in saved if lift == 0]
    # a January day in Wuhan: cold nights, a mild afternoon
    assert len(cold) > 10
    assert mild
    assert all(share == 0 for share in mild)
    # a few percent of the meter on a cold hour, not a load retrofit's flat share
    assert min(cold) > 0.03
    assert max(cold) < 0.15


def test_hvac_retrofit_found_by_a_change_point_baseline_within_its_uncertainty(
    hvac_retrofit_store: tuple[EmbeddedStore, Path],
) -> None:
    """A heating change-point model (3P) fitted on 1 December – 14 January, before the HVAC
    retrofit, finds the truth's savings of 15–27 January within its reported uncertainty. The
    baseline period spans the reporting period's temperatures, so nothing is extrapolated."""
    store, truth_path = hvac_retrofit_store
    truth = _truth_saved(truth_path, "t01", *HVAC_REPORT)
    result = create_baseline(
        store,
        PARK,
        scope=Scope("tenant", "t01"),
        baseline_period=HVAC_BASE,
        reporting_period=HVAC_REPORT,
        kind="3p_heating",
        baseline_id="t01-hvac",
    )
    model = result.model
    (cp,) = model.change_points_c
    (slope,) = model.temperature_coefs
    # the simulated HVAC heats below 12 degC hour by hour; daily means 4 K under that already
    # have some hours above it, so the daily model bends a little lower
    assert 6.0 <= cp <= 12.5
    # physical: 0.25 × 270 kW / 12 K × 24 h ≈ 135 kWh per K and day, less the bend
    assert 80.0 < slope < 170.0
    assert result.passed, result.reasons
    assert result.claim is not None
    s = result.claim.savings
    assert result.reporting_periods == 13
    assert 13 * 100 < truth < 13 * 1_000
    assert abs(s.savings - truth) <= s.uncertainty
    assert result.claim.claimed
    # an HVAC cut saves a few percent of a fab's load, not the 60 % of the HVAC itself
    assert 0.02 < s.fraction < 0.15
