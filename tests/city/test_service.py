"""services/city.py: figures per park, the 亩均 figures, scores against the city mean, ranks,
the trend against the previous period, and a park whose store is unavailable."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.city import city_evaluation
from config.errors import StoreUnavailableError
from services.city import evaluate_city, previous_period
from services.declared import write_declared
from services.energy import Scope
from services.indicators import PeriodError
from store import EmbeddedStore, RoutedStore
from tests.city.helpers import fake_indicators, parks

BASE = {
    "electricity_kwh": 1.0e6,
    "scope1_tco2": 10.0,
    "scope2_location_tco2": 400.0,
    "clean_energy_share": 0.1,
    "completeness_pct": 100.0,
}


def figures(
    tce: float, tco2_per_tce: float, green: float, **more: float
) -> dict[str, float | None]:
    return {
        **BASE,
        "comprehensive_energy_tce": tce,
        "tco2_per_tce": tco2_per_tce,
        "renewable_electricity_share": green,
        **more,
    }


@pytest.fixture
def store(tmp_path: Path):
    s = EmbeddedStore(tmp_path / "store.db")
    yield s
    s.close()


def test_previous_period_of_each_kind():
    assert previous_period("2026") == "2025"
    assert previous_period("2026-01") == "2025-12"
    assert previous_period("2026-03") == "2026-02"
    assert previous_period("2024-03-01") == "2024-02-29"


def test_scores_ranks_and_mu_figures_worked_by_hand(tmp_path: Path, store):
    ps = parks(tmp_path, {"a": 100.0, "b": 50.0, "c": None})
    # value added declared for 2025: a 20,000 and b 5,000 (10k CNY); c declares nothing
    write_declared(store, ps[0], scope=Scope("park"), year=2025,
                   values={"industrial_value_added_10k_cny": 20_000.0})  # fmt: skip
    write_declared(store, ps[1], scope=Scope("park"), year=2025,
                   values={"industrial_value_added_10k_cny": 5_000.0})  # fmt: skip
    values = {
        ("a", "2025"): figures(1000.0, 0.4, 0.2, completeness_pct=100.0),
        ("b", "2025"): figures(500.0, 0.6, 0.0, completeness_pct=90.0),
        ("c", "2025"): figures(2000.0, 0.5, 0.4, completeness_pct=80.0),
    }
    city = evaluate_city(store, ps, "2025", trend=False, indicators=fake_indicators(values))
    table = city_evaluation()
    cap = table.scoring.cap
    by = {r.park.id: r for r in city.parks}
    a, b, c = by["a"].figures.figures, by["b"].figures.figures, by["c"].figures.figures
    assert a["energy_per_mu_tce"] == pytest.approx(1000.0 / 100.0)
    assert a["output_per_mu_10k_cny"] == pytest.approx(200.0)
    assert a["output_per_tce_10k_cny"] == pytest.approx(20.0)
    assert b["output_per_mu_10k_cny"] == pytest.approx(100.0)
    assert a["tco2"] == pytest.approx(410.0)
    assert a["electricity_kwh"] == pytest.approx(1.0e6)
    assert c["energy_per_mu_tce"] is None
    assert by["c"].figures.reasons["energy_per_mu_tce"] == (
        "the registry gives no land area (land in mu)"
    )
    assert (
        "declared no industrial_value_added_10k_cny for 2025"
        in (by["c"].figures.reasons["output_per_tce_10k_cny"])
    )
    # benchmarks: the mean of the parks that have the value
    assert city.benchmarks["output_per_mu"] == pytest.approx(150.0)
    assert city.benchmarks["carbon_per_energy"] == pytest.approx(0.5)
    assert city.benchmarks["energy_per_mu"] == pytest.approx(10.0)  # a 10, b 10
    assert city.benchmarks["green_share"] == pytest.approx(0.2)
    assert city.benchmarks["data_completeness"] == pytest.approx(90.0)
    w = {i.key: i.weight for i in table.indicators}

    def expected(out_mu, out_tce_ratio, cpe, green, epm, comp):
        return (
            w["output_per_mu"] * min(out_mu, cap)
            + w["output_per_energy"] * min(out_tce_ratio, cap)
            + w["carbon_per_energy"] * min(cpe, cap)
            + w["green_share"] * min(green, cap)
            + w["energy_per_mu"] * min(epm, cap)
            + w["data_completeness"] * min(comp, cap)
        )

    out_tce_mean = (20.0 + 10.0) / 2
    score_a = expected(200 / 150, 20 / out_tce_mean, 0.5 / 0.4, 0.2 / 0.2, 1.0, 100 / 90)
    score_b = expected(100 / 150, 10 / out_tce_mean, 0.5 / 0.6, 0.0, 1.0, 90 / 90)
    score_c = expected(0, 0, 0.5 / 0.5, 0.4 / 0.2, 0, 80 / 90)
    assert by["a"].score == pytest.approx(score_a)
    assert by["b"].score == pytest.approx(score_b)
    assert by["c"].score == pytest.approx(score_c)
    assert [r.park.id for r in city.parks] == ["a", "b", "c"]
    assert [r.rank for r in city.parks] == [1, 2, 3]
    # a score without its value is 0 with the reason
    miss = next(s for s in by["c"].scores if s.key == "output_per_mu")
    assert miss.points == 0.0
    assert miss.value is None
    assert miss.reason == "the registry gives no land area (land in mu)"


def test_trend_compares_with_the_previous_period(tmp_path: Path, store):
    ps = parks(tmp_path, {"a": 100.0, "b": 100.0})
    values = {
        ("a", "2025-06"): figures(110.0, 0.5, 0.1),
        ("b", "2025-06"): figures(100.0, 0.5, 0.3),
        ("a", "2025-05"): figures(100.0, 0.5, 0.3),
        ("b", "2025-05"): figures(100.0, 0.6, 0.1),
    }
    city = evaluate_city(store, ps, "2025-06", indicators=fake_indicators(values))
    assert city.previous == "2025-05"
    by = {r.park.id: r for r in city.parks}
    assert by["b"].rank == 1
    assert by["a"].rank == 2
    ta, tb = by["a"].trend, by["b"].trend
    assert ta is not None
    assert tb is not None
    assert ta.rank == 1
    assert tb.rank == 2
    assert ta.rank_change == -1
    assert tb.rank_change == 1
    assert ta.energy_change_pct == pytest.approx(10.0)
    assert tb.tco2_per_tce_change == pytest.approx(-0.1)
    assert ta.score_change == pytest.approx(by["a"].score - ta.score)
    # a month has no value added (declared per year): the reason says so
    assert "declared per year" in by["a"].figures.reasons["output_per_mu_10k_cny"]


class HalfDown:
    """A store whose park ``down`` is on a server that does not answer."""

    def __init__(self, inner: EmbeddedStore, down: str) -> None:
        self.inner, self.down = inner, down

    def __getattr__(self, name: str):
        method = getattr(self.inner, name)

        def call(*args, **kwargs):
            park = args[0] if args and isinstance(args[0], str) else kwargs.get("park")
            if park == self.down:
                raise StoreUnavailableError("influxdb://influx-b:8086 did not answer in 5 s")
            return method(*args, **kwargs)

        return call


def test_a_park_whose_store_is_down_is_named_and_the_others_answer(tmp_path: Path, store):
    ps = parks(tmp_path, {"a": 100.0, "b": 100.0, "c": 100.0})
    values = {(p, y): figures(100.0 * (i + 1), 0.5, 0.1) for i, p in enumerate("abc")
              for y in ("2025", "2024")}  # fmt: skip
    city = evaluate_city(HalfDown(store, "b"), ps, "2025", indicators=fake_indicators(values))
    by = {r.park.id: r for r in city.parks}
    assert by["b"].figures.error_kind == "unavailable"
    assert by["b"].figures.error == (
        "park b: its store is unavailable: influxdb://influx-b:8086 did not answer in 5 s"
    )
    assert by["b"].score is None
    assert by["b"].rank is None
    assert [r.park.id for r in city.parks][-1] == "b"  # in error: last
    assert {by["a"].rank, by["c"].rank} == {1, 2}
    assert city.benchmarks["energy_per_mu"] == pytest.approx(2.0)  # a 1, c 3: b takes no part


def test_a_bad_period_is_refused_before_any_park_is_computed(tmp_path: Path, store):
    ps = parks(tmp_path, {"a": 1.0})

    def never(*args, **kwargs):
        raise AssertionError("computed")

    with pytest.raises(PeriodError):
        evaluate_city(store, ps, "2025-13", indicators=never)


def test_the_real_indicators_run_for_a_park_without_data(tmp_path: Path, store):
    ps = parks(tmp_path, {"a": 10.0})
    city = evaluate_city(store, ps, "2025-06-01")
    (only,) = city.parks
    assert only.figures.error is None
    assert only.figures.report is not None
    assert only.figures.profile is not None
    assert only.figures.profile_source == "default"
    assert only.rank == 1
    assert only.figures.figures["comprehensive_energy_tce"] is None
    assert only.figures.figures["completeness_pct"] == 0.0
    assert only.figures.reasons["comprehensive_energy_tce"] == (
        "no interval with the grid import, export and PV meters all known"
    )


class Unanswered:
    """A named store whose server does not answer (every call)."""

    def __getattr__(self, name: str):
        def call(*args, **kwargs):
            raise StoreUnavailableError("influxdb://influx-b:8086 did not answer in 5 s")

        return call

    def close(self) -> None:
        pass


def test_with_several_stores_the_down_park_names_its_store_once(tmp_path: Path, store):
    ps = parks(tmp_path, {"a": 100.0, "b": 100.0})
    values = {(p, y): figures(100.0, 0.5, 0.1) for p in "ab" for y in ("2025", "2024")}
    routed = RoutedStore({"default": store, "south": Unanswered()}, {"b": "south"})
    try:
        city = evaluate_city(routed, ps, "2025", indicators=fake_indicators(values))
    finally:
        routed.close()  # closes the fixture's store too (closing twice is harmless)
    by = {r.park.id: r for r in city.parks}
    assert by["b"].figures.error == (
        "park b: the store 'south' is unavailable: influxdb://influx-b:8086 did not answer in 5 s"
    )
    assert by["a"].figures.error is None
    assert by["a"].rank == 1
