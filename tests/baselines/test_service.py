"""Baselines on the simulated demo park's January 2025: fitted on three weeks, reported on the
fourth. The park did not change, so the savings found are ≈ 0 within their uncertainty and no
savings are claimed."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from config.baselines import BaselineLimitError, baseline_limits, load_baseline_limits
from config.registry import load_registry
from services.baselines import (
    BaselineDataError,
    BaselineNotFoundError,
    BaselineRequestError,
    create_baseline,
    day_type_codes,
    list_baselines,
    read_baseline,
    scope_periods,
)
from services.energy import Scope, UnknownScopeError, energy_balance
from store import EmbeddedStore

PARK = load_registry().parks["wuhan-demo"]
# Two ordinary weeks, then one: the last week of January 2025 runs up to the Spring Festival
# (28 Jan), whose pre-holiday wind-down no day type of the model captures (docs/baselines.md)
BASE = (date(2025, 1, 1), date(2025, 1, 15))
REPORT = (date(2025, 1, 15), date(2025, 1, 22))


@pytest.fixture(scope="module")
def store(
    january_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmbeddedStore]:
    """A copy of January (the tests write baseline definitions)."""
    folder = tmp_path_factory.mktemp("baselines")
    shutil.copy(january_data_dir / "store.sqlite3", folder / "store.sqlite3")
    s = EmbeddedStore(folder / "store.sqlite3")
    yield s
    s.close()


def test_day_types_follow_the_chinese_calendar() -> None:
    # 2025-01-26 (Sunday) was worked for the Spring Festival; 2025-01-28 … 02-04 a holiday
    days = [date(2025, 1, d) for d in (24, 25, 26, 27, 28)]
    assert day_type_codes(days).tolist() == [0, 1, 2, 0, 1]


def test_periods_sum_the_balance_and_read_the_outdoor_sensor(store: EmbeddedStore) -> None:
    p = scope_periods(
        store,
        PARK,
        scope=Scope("park"),
        figure="load_kwh",
        granularity="day",
        start=date(2025, 1, 10),
        end=date(2025, 1, 12),
    )
    assert p.expected == 2
    assert p.unit == "kWh"
    balance = energy_balance(
        store,
        PARK,
        Scope("park"),
        start_ns=int(p.start_ns[0]),
        end_ns=int(p.start_ns[0]) + 2 * 86_400 * 10**9,
    )
    load = balance.figure("load_kwh")
    assert load is not None
    per_day = load.series.energy.reshape(2, 96).sum(axis=1)
    np.testing.assert_allclose(p.energy, per_day, rtol=1e-12)
    # Wuhan in January: the climate normal is about 4 degC
    assert np.all((p.temperature_c > -10) & (p.temperature_c < 20))
    assert p.category.tolist() == [0, 1]  # Friday, Saturday


def test_unchanged_park_shows_no_savings(store: EmbeddedStore) -> None:
    result = create_baseline(
        store,
        PARK,
        scope=Scope("park"),
        baseline_period=BASE,
        reporting_period=REPORT,
        baseline_id="park-jan",
    )
    stats = result.model.stats
    assert result.baseline_periods == 14
    assert result.reporting_expected == 7
    assert result.reporting_periods == 7
    assert stats.cv_rmse_pct < 10
    assert abs(stats.nmbe_pct) < 1e-6
    assert result.passed
    assert result.limit_set.id == "ashrae14_baseline_lt12m"
    assert result.claim is not None
    saved = result.claim.savings
    assert abs(saved.fraction) < 0.03
    assert abs(saved.savings) <= 2 * saved.uncertainty
    assert not result.claim.claimed
    assert [r.code for r in result.claim.reasons] == ["fsu"]


def test_savings_found_when_the_reporting_load_drops(store: EmbeddedStore) -> None:
    """A tenant's daily model, reported against its own data: the savings equal the adjusted
    baseline minus the actual, and the uncertainty grows with the model's RMSE."""
    result = create_baseline(
        store,
        PARK,
        scope=Scope("tenant", "chipcore"),
        baseline_period=BASE,
        reporting_period=REPORT,
        kind="3p_heating",
    )
    assert result.definition.figure == "electricity_kwh"
    assert result.model.kind == "3p_heating"
    assert result.claim is not None
    s = result.claim.savings
    assert s.savings == pytest.approx(s.adjusted_baseline - s.actual)
    assert s.uncertainty > 0


def test_hourly_model_with_day_type_by_hour(store: EmbeddedStore) -> None:
    result = create_baseline(
        store,
        PARK,
        scope=Scope("park"),
        baseline_period=BASE,
        reporting_period=REPORT,
        granularity="hour",
        kind="4p",
        baseline_id="park-hourly",
    )
    assert result.baseline_periods == 14 * 24
    assert len(result.model.category_levels) == 48  # working and rest days × 24 hours
    assert result.model.stats.n_eff < result.model.stats.n  # hourly residuals are correlated
    assert result.claim is not None


def test_definitions_are_stored_and_read_back(store: EmbeddedStore) -> None:
    first = create_baseline(
        store,
        PARK,
        scope=Scope("park"),
        baseline_period=BASE,
        reporting_period=REPORT,
        baseline_id="stored",
        kind="3p_heating",
    )
    listed = {d.id: d for d in list_baselines(store, PARK)}
    assert listed["stored"] == first.definition
    again = read_baseline(store, PARK, "stored")
    assert again.model.intercept == pytest.approx(first.model.intercept, rel=1e-12)
    with pytest.raises(BaselineNotFoundError):
        read_baseline(store, PARK, "nope")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"baseline_period": (BASE[1], BASE[0])}, BaselineRequestError, "baseline period"),
        (
            {"reporting_period": (date(2025, 1, 10), date(2025, 1, 20))},
            BaselineRequestError,
            "has ended",
        ),
        ({"baseline_id": "Bad Id"}, BaselineRequestError, "id"),
        ({"kind": "7p"}, BaselineRequestError, "kind"),
        ({"limits": "ashrae14_calibration_hourly"}, BaselineRequestError, "calibration"),
        ({"limits": "nope"}, BaselineRequestError, "no baseline limit set"),
        ({"figure": "steam_t"}, BaselineRequestError, "no figure"),
        ({"scope": Scope("tenant", "ghost")}, UnknownScopeError, "ghost"),
        ({"baseline_period": (date(2024, 6, 1), date(2024, 6, 20))}, BaselineDataError, "no day"),
        # January heats: a cooling model could only fit a load that falls as it gets warmer
        ({"kind": "3p_cooling"}, BaselineDataError, "physically signed"),
        (
            {"granularity": "hour", "baseline_period": (date(2024, 1, 1), date(2025, 1, 22))},
            BaselineRequestError,
            "over 366 days",
        ),
    ],
)
def test_bad_definitions_are_refused_and_not_stored(
    store: EmbeddedStore, kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    args: dict[str, object] = {
        "scope": Scope("park"),
        "baseline_period": BASE,
        "reporting_period": REPORT,
        "baseline_id": "refused",
    }
    args.update(kwargs)
    with pytest.raises(error, match=match):
        create_baseline(store, PARK, **args)  # type: ignore[arg-type]
    assert "refused" not in {d.id for d in list_baselines(store, PARK)}


def test_the_limit_table_keeps_baseline_and_calibration_apart(tmp_path: Path) -> None:
    table = baseline_limits()
    assert table.for_baseline(1.0).max_cv_rmse_pct == 20.0
    assert table.for_baseline(24.0).max_cv_rmse_pct == 25.0
    assert table.for_baseline(72.0).max_cv_rmse_pct == 30.0
    for s in table.sets:
        assert s.source
        assert s.year == 2014
    bad = tmp_path / "limits.yaml"
    bad.write_text(
        "table: baseline_limits\ndefault: x\ndata_sufficiency: {min_period_coverage: 2, "
        "source: s, year: null, evidence: S}\nsets: []\n",
        encoding="utf-8",
    )
    with pytest.raises(BaselineLimitError) as info:
        load_baseline_limits(bad)
    assert "limits.yaml" in str(info.value)


def test_production_as_a_regressor_explains_a_factory(store: EmbeddedStore) -> None:
    """chipcore's load follows its output: with the production counter the model explains more
    (the simulated factory's energy is driven by its load profile, which its output follows)."""
    common = {
        "scope": Scope("tenant", "chipcore"),
        "baseline_period": BASE,
        "reporting_period": REPORT,
        "kind": "3p_heating",
    }
    plain = create_baseline(store, PARK, **common)  # type: ignore[arg-type]
    with_output = create_baseline(store, PARK, production=True, **common)  # type: ignore[arg-type]
    assert len(with_output.model.production_coefs) == 1
    assert with_output.model.production_coefs[0] > 0  # [kWh per unit made]
    assert with_output.model.stats.p == plain.model.stats.p + 1
    assert with_output.model.stats.cv_rmse_pct < 0.7 * plain.model.stats.cv_rmse_pct
    assert with_output.model.stats.r2 > plain.model.stats.r2
    with pytest.raises(BaselineRequestError, match="production counter"):
        create_baseline(
            store,
            PARK,
            scope=Scope("tenant", "t01"),
            baseline_period=BASE,
            reporting_period=REPORT,
            production=True,
        )


def test_without_the_holiday_calendar_the_model_explains_far_less(store: EmbeddedStore) -> None:
    """The demo park works to the Chinese calendar: without day types the daily model's
    CV(RMSE) is several times larger, and nothing is claimed."""
    with_days = create_baseline(
        store,
        PARK,
        scope=Scope("park"),
        baseline_period=BASE,
        reporting_period=REPORT,
        kind="3p_heating",
        baseline_id="with-days",
    )
    without = create_baseline(
        store,
        PARK,
        scope=Scope("park"),
        baseline_period=BASE,
        reporting_period=REPORT,
        kind="3p_heating",
        day_type=False,
        baseline_id="no-days",
    )
    assert without.model.category_levels == ()
    assert without.model.stats.cv_rmse_pct > 4 * with_days.model.stats.cv_rmse_pct
    assert without.claim is not None
    assert with_days.claim is not None
    assert without.claim.savings.uncertainty > 3 * with_days.claim.savings.uncertainty
    assert not without.claim.claimed
    stored = {d.id: d for d in list_baselines(store, PARK)}
    assert stored["no-days"].day_type is False
    assert stored["with-days"].day_type is True
    hourly = create_baseline(
        store,
        PARK,
        scope=Scope("park"),
        baseline_period=BASE,
        reporting_period=REPORT,
        granularity="hour",
        kind="4p",
        day_type=False,
    )
    assert hourly.model.category_levels == tuple(range(24))  # the hour of day is kept
