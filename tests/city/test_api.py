"""``GET /api/v1/city/indicators`` (ranks, scores, 亩均, trend, weights) and ``GET
/api/v1/city/reports/{period}`` (JSON, CSV, HTML, PDF) on two small parks with known energy."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

import api.main
from api.main import create_app
from config.registry import load_registry
from config.settings import Settings
from services.declared import write_declared
from services.energy import Scope
from services.rollup import write_day_rollups
from store import TELEMETRY, EmbeddedStore, Point
from tests.city.helpers import PARK
from tests.city.test_service import HalfDown

TZ = ZoneInfo("Asia/Shanghai")
KGCE_PER_KWH = 0.1229  # GB/T 2589-2020 当量值, the default profile's method
DAY_KWH = {"a": 1000.0, "b": 400.0}
LAND = {"a": 100.0, "b": 50.0}
OUTPUT = {"a": 2000.0, "b": 500.0}  # declared value added 2025 [10k CNY]


def _write_day(store: EmbeddedStore, park: str, kwh: float) -> None:
    midnight = int(datetime(2025, 6, 1, tzinfo=TZ).timestamp())
    points = [
        Point(TELEMETRY, {"park": park, "device": "grid"}, {"energy_kwh": 5000.0 + kwh * i / 96},
              (midnight + 900 * i) * 10**9)
        for i in range(97)
    ]  # fmt: skip
    store.write(points)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedStore, object]]:
    tmp = tmp_path_factory.mktemp("city-api")
    folder = tmp / "reg"
    folder.mkdir()
    for pid, mu in LAND.items():
        extra = f"  land_mu: {mu}\n  industry: {'c39' if pid == 'a' else 'c27'}\n"
        (folder / f"{pid}.yaml").write_text(PARK.format(pid=pid, extra=extra), encoding="utf-8")
    registry = load_registry(folder)
    store = EmbeddedStore(tmp / "store.db")
    for pid, kwh in DAY_KWH.items():
        _write_day(store, pid, kwh)
        write_declared(store, registry.parks[pid], scope=Scope("park"), year=2025,
                       values={"industrial_value_added_10k_cny": OUTPUT[pid]})  # fmt: skip
    yield store, registry
    store.close()


def client(store: object, registry: object, tmp_path: Path) -> TestClient:
    app = create_app(
        settings=Settings(_env_file=None, data_dir=tmp_path),
        store=store,  # type: ignore[arg-type]
        registry=registry,  # type: ignore[arg-type]
    )
    return TestClient(app)


def test_the_city_view_ranks_parks_with_mu_figures_and_weights(city, tmp_path: Path):
    store, registry = city
    with client(store, registry, tmp_path) as c:
        body = c.get("/api/v1/city/indicators", params={"period": "2025"}).json()
    assert (body["period"], body["kind"], body["previous"]) == ("2025", "year", "2024")
    assert [p["id"] for p in body["parks"]] == ["a", "b"]  # by id, as before
    weights = {w["key"]: w["weight"] for w in body["evaluation"]["indicators"]}
    assert sum(weights.values()) == pytest.approx(body["evaluation"]["total"])
    a, b = body["parks"]
    tce_a = DAY_KWH["a"] * KGCE_PER_KWH / 1000
    tce_b = DAY_KWH["b"] * KGCE_PER_KWH / 1000
    assert a["figures"]["comprehensive_energy_tce"] == pytest.approx(tce_a, rel=1e-9)
    assert a["figures"]["energy_per_mu_tce"] == pytest.approx(tce_a / 100.0, rel=1e-9)
    assert b["figures"]["energy_per_mu_tce"] == pytest.approx(tce_b / 50.0, rel=1e-9)
    assert a["figures"]["output_per_mu_10k_cny"] == pytest.approx(20.0)
    assert b["figures"]["output_per_mu_10k_cny"] == pytest.approx(10.0)
    assert a["figures"]["output_per_tce_10k_cny"] == pytest.approx(2000.0 / tce_a)
    assert body["benchmarks"]["output_per_mu"] == pytest.approx(15.0)
    assert a["industry"]["code"] == "c39"
    assert a["land_mu"] == 100.0
    # each indicator's points are weight × min(value / city mean, cap), inverted for energy/mu
    points_a = {s["key"]: s["points"] for s in a["scores"]}
    assert points_a["output_per_mu"] == pytest.approx(weights["output_per_mu"] * 20.0 / 15.0)
    bench_epm = (tce_a / 100.0 + tce_b / 50.0) / 2
    assert points_a["energy_per_mu"] == pytest.approx(
        weights["energy_per_mu"] * bench_epm / (tce_a / 100.0)
    )
    assert a["score"] == pytest.approx(sum(points_a.values()))
    assert (a["rank"], b["rank"]) == (1, 2)
    assert a["score"] > b["score"]
    # 2024 holds nothing: both parks score 0 there and share rank 1
    assert a["trend"]["period"] == "2024"
    assert a["trend"]["score"] == 0.0
    assert (a["trend"]["rank"], b["trend"]["rank"]) == (1, 1)
    assert (a["trend"]["rank_change"], b["trend"]["rank_change"]) == (0, -1)
    # the fields of before stay
    for park in body["parks"]:
        assert [i["name"] for i in park["indicators"]] == body["names"]
        assert park["profile"]["source"] == "default"
        assert park["error"] is None


def test_the_city_view_and_report_answer_from_kept_park_reports(city, tmp_path: Path):
    # services.city.ReportCache: each park's report stands until its data of the period change
    store, registry = city
    with client(store, registry, tmp_path) as c:
        cache = c.app.state.report_cache  # type: ignore[attr-defined]
        first = c.get("/api/v1/city/indicators", params={"period": "2025"})
        assert first.status_code == 200
        assert (cache.made, cache.hits) == (4, 0)  # 2 parks × 2025 and 2024 (the trend)
        again = c.get("/api/v1/city/indicators", params={"period": "2025"})
        assert again.json() == first.json()
        assert (cache.made, cache.hits) == (4, 4)
        doc = c.get("/api/v1/city/reports/2025", params={"format": "json"})
        assert doc.status_code == 200
        assert (cache.made, cache.hits) == (4, 8)  # the report is built from the same reports
        # another period is another report
        assert c.get("/api/v1/city/indicators", params={"period": "2025-06"}).status_code == 200
        assert cache.made == 8


def test_a_park_whose_data_moved_is_given_from_its_kept_figures_with_their_time(
    city, tmp_path: Path
):
    # CITY_STALE_S: the city view of a live period does not compute every park at every ask
    store, registry = city
    with client(store, registry, tmp_path) as c:
        cache = c.app.state.report_cache  # type: ignore[attr-defined]
        first = c.get("/api/v1/city/indicators", params={"period": "2025", "trend": "false"})
        body = first.json()
        assert body["stale_s"] == 900.0
        a = next(p for p in body["parks"] if p["id"] == "a")
        assert a["stale"] is False
        assert isinstance(a["as_of_ms"], int)
        assert a["as_of"].endswith("Z")
        # park a's day of June rolled up again (the follower, after a late reading)
        day = int(datetime(2025, 6, 1, tzinfo=TZ).timestamp()) * 10**9
        write_day_rollups(store, registry.parks["a"], start_ns=day, end_ns=day + 1)
        again = c.get("/api/v1/city/indicators", params={"period": "2025", "trend": "false"})
        moved = {p["id"]: p for p in again.json()["parks"]}
        assert moved["a"]["stale"] is True
        assert moved["a"]["as_of_ms"] == a["as_of_ms"]
        assert moved["a"]["figures"] == a["figures"]
        assert moved["b"]["stale"] is False
        assert cache.made == 2  # nothing computed again yet (a is younger than 5 minutes)
        fresh = c.get(
            "/api/v1/city/indicators", params={"period": "2025", "trend": "false", "fresh": "true"}
        )
        now = {p["id"]: p for p in fresh.json()["parks"]}
        assert fresh.json()["stale_s"] == 0.0
        assert now["a"]["stale"] is False
        assert now["a"]["as_of_ms"] > a["as_of_ms"]
        assert cache.made == 3


def test_serve_evaluates_the_city_at_start_for_the_first_view(
    city, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # SMARTPARK_CITY_WARM (on outside the tests): today, this month, this year, last year,
    # each with the period before
    store, registry = city
    monkeypatch.setattr(api.main, "CITY_WARM_DELAY_S", 0.0)
    app = create_app(
        settings=Settings(_env_file=None, data_dir=tmp_path, city_warm=True),
        store=store,
        registry=registry,
    )
    today = datetime.now(TZ).date()
    with TestClient(app) as c:
        cache = c.app.state.report_cache  # type: ignore[attr-defined]
        deadline = time.monotonic() + 60
        # 2 parks × (today, yesterday, this month, last month, this year, last year, the one
        # before), nobody having asked
        while cache.made + cache.hits < 16 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (cache.made, cache.hits) == (14, 2)  # last year: kept as this year's trend
        for period in (today.isoformat(), str(today.year - 1)):
            body = c.get("/api/v1/city/indicators", params={"period": period})
            assert body.status_code == 200
            assert body.json()["parks"][0]["stale"] is False
        assert (cache.made, cache.hits) == (14, 10)


def test_trend_off_and_bad_input(city, tmp_path: Path):
    store, registry = city
    with client(store, registry, tmp_path) as c:
        body = c.get("/api/v1/city/indicators", params={"period": "2025-06", "trend": "false"})
        assert body.status_code == 200
        assert body.json()["previous"] is None
        assert all(p["trend"] is None for p in body.json()["parks"])
        month = body.json()["parks"][0]
        assert month["figures"]["output_per_mu_10k_cny"] is None
        assert "declared per year" in month["figure_reasons"]["output_per_mu_10k_cny"]
        assert c.get("/api/v1/city/indicators", params={"period": "June"}).status_code == 422
        assert c.get("/api/v1/city/reports/2025", params={"format": "doc"}).status_code == 422


def test_a_park_whose_store_is_down_is_named_and_the_other_answers(city, tmp_path: Path):
    store, registry = city
    with client(HalfDown(store, "b"), registry, tmp_path) as c:
        response = c.get("/api/v1/city/indicators", params={"period": "2025", "trend": "false"})
    assert response.status_code == 200
    a, b = response.json()["parks"]
    assert a["rank"] == 1
    assert a["figures"]["comprehensive_energy_tce"] > 0
    assert b["rank"] is None
    assert b["score"] is None
    assert b["profile"] is None
    assert b["error"] == (
        "park b: its store is unavailable: influxdb://influx-b:8086 did not answer in 5 s"
    )
    # in Chinese from the catalogue; the adapter's own words stay as they are
    assert b["error_zh"] == "园区 b：其存储不可用：influxdb://influx-b:8086 did not answer in 5 s"  # noqa: RUF001


def test_the_city_report_in_every_format(city, tmp_path: Path):
    store, registry = city
    with client(store, registry, tmp_path) as c:
        doc = c.get("/api/v1/city/reports/2025", params={"format": "json"})
        table = c.get("/api/v1/city/reports/2025", params={"format": "csv"})
        html_en = c.get("/api/v1/city/reports/2025", params={"format": "html", "lang": "en"})
        html_zh = c.get("/api/v1/city/reports/2025", params={"format": "html"})
        pdf = c.get("/api/v1/city/reports/2025", params={"format": "pdf", "lang": "en"})
        api = c.get("/api/v1/city/indicators", params={"period": "2025"}).json()
    body = doc.json()
    assert body["kind"] == "city"
    assert [p["id"] for p in body["parks"]] == ["a", "b"]  # by rank
    assert [p["rank"] for p in body["parks"]] == [1, 2]
    by_api = {p["id"]: p["score"] for p in api["parks"]}
    assert {p["id"]: p["score"] for p in body["parks"]} == pytest.approx(by_api)
    assert body["totals"]["energy_tce"] == pytest.approx(
        sum(DAY_KWH.values()) * KGCE_PER_KWH / 1000
    )
    assert body["totals"]["output_10k_cny"] == pytest.approx(2500.0)
    assert doc.headers["content-disposition"] == 'inline; filename="city-2025-zh.json"'
    rows = list(csv.reader(io.StringIO(table.content.decode("utf-8-sig"))))
    assert rows[0] == ["table", "row", "column", "value", "unit", "note"]
    found = {(r[0], r[1], r[2]): r[3] for r in rows[1:]}
    assert float(found[("parks", "a", "output_per_mu_10k_cny")]) == pytest.approx(20.0)
    assert found[("parks", "b", "rank")] == "2"
    assert float(found[("weights", "output_per_mu", "weight")]) == 30.0
    assert "Top 2 parks by score" in html_en.text
    assert 'data-row="park:a"' in html_en.text
    assert "Ranking of parks" in html_en.text
    assert "园区排名" in html_zh.text
    assert "亩均工业增加值" in html_zh.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
