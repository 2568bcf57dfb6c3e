"""The simulator's retrofit (``--retrofit TENANT:YYYY-MM-DD:FACTOR``) and its truth, and the proof
of the baselines against it: a baseline fitted before the retrofit finds the truth's savings
within its reported uncertainty; a model without the holiday calendar fails Guideline 14's
limits and claims nothing."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import pytest

from config.registry import load_registry
from config.settings import DEFAULT_TOPIC_TEMPLATE
from ingest.decode import Decoder
from services.baselines import create_baseline
from services.energy import Scope
from simulators.park import ParkModel
from simulators.retrofit import Retrofit, RetrofitError, parse_retrofit
from simulators.truth import TruthWriter
from store import EmbeddedStore

REGISTRY = load_registry()
PARK = REGISTRY.parks["wuhan-demo"]
ZONE = ZoneInfo("Asia/Shanghai")
STEP_S = 900
RETROFIT = "chipcore:2025-01-15:0.85"
BASE = (date(2025, 1, 1), date(2025, 1, 15))
REPORT = (date(2025, 1, 15), date(2025, 1, 29))


def _ns(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=ZONE).timestamp()) * 10**9


def test_parse_retrofit() -> None:
    r = parse_retrofit("chipcore:2025-01-15:0.85")
    assert r == Retrofit("chipcore", date(2025, 1, 15), 0.85)
    assert str(r) == "chipcore:2025-01-15:0.85"
    bad_texts = (
        "chipcore",
        "chipcore:2025-13-01:0.9",
        "chipcore:2025-01-15:x",
        ":2025-01-15:1",
        "chipcore:2025-01-15:0",
        "chipcore:2025-01-15:2.5",
        "chipcore:2025-01-15:nan",
    )
    for bad in bad_texts:
        with pytest.raises(RetrofitError):
            parse_retrofit(bad)
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


@pytest.fixture(scope="module")
def retrofit_store(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[EmbeddedStore, Path]]:
    """The demo park's 1–28 January 2025 with chipcore's load cut 15 % from the 15th, through the
    collector's decoder into an embedded store, and the truth file of the run."""
    folder = tmp_path_factory.mktemp("retrofit")
    store = EmbeddedStore(folder / "store.sqlite3")
    model = ParkModel(PARK, seed=7, retrofits=[parse_retrofit(RETROFIT)])
    decoder = Decoder(REGISTRY, topic_template=DEFAULT_TOPIC_TEMPLATE)
    truth_path = folder / "truth.csv"
    with TruthWriter(truth_path, model) as truth:
        batch = []
        for t in range(_ns(BASE[0]) + STEP_S * 10**9, _ns(REPORT[1]) + 1, STEP_S * 10**9):
            tick = model.advance(t, STEP_S)
            truth.write_tick(tick)
            for reading in tick.readings():
                topic = f"parks/{PARK.id}/devices/{reading.device}/telemetry"
                decoded = decoder.decode(topic, orjson.dumps(reading.payload()), t)
                batch.extend(decoded.points)
        store.write(batch)
    yield store, truth_path
    store.close()


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
    type: working days and days off fall on one line, so the model breaks Guideline 14's
    CV(RMSE) limit and no savings are claimed; with the calendar the same form passes."""
    store, _ = retrofit_store
    result = create_baseline(
        store,
        PARK,
        scope=Scope("tenant", "lumina"),
        baseline_period=BASE,
        reporting_period=REPORT,
        kind="3p_heating",
        day_type=False,
        baseline_id="lumina-no-calendar",
    )
    assert not result.passed
    assert "cv_rmse" in [r.code for r in result.reasons]
    assert result.model.stats.cv_rmse_pct > result.limit_set.max_cv_rmse_pct
    assert result.claim is not None
    assert not result.claim.claimed
    with_calendar = create_baseline(
        store,
        PARK,
        scope=Scope("tenant", "lumina"),
        baseline_period=BASE,
        reporting_period=REPORT,
        kind="3p_heating",
        baseline_id="lumina-calendar",
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
