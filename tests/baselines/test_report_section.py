"""The savings section of the reports: a stored baseline of a tenant appears in its green-factory
report (JSON and HTML, zh and en) with the figures of the service, and in the park's; a report
of another year or tenant has none."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect, sync_playwright

from api.main import create_app
from config.registry import load_registry
from config.settings import Settings
from reports.baselines import savings_rows
from reports.build import ReportRequest, build_report
from reports.render import render, render_html
from reports.savings import SAVINGS_NUMBERS
from services.baselines import create_baseline
from services.energy import Scope
from store import EmbeddedStore
from tests.api.test_dashboard import (
    CHROMIUM,
    CHROMIUM_ARGS,
    KEYS,
    OPERATOR_KEY,
    in_english,
    require_chromium,
    serving,
)

REGISTRY = load_registry()
PARK = REGISTRY.parks["wuhan-demo"]


@pytest.fixture(scope="module")
def store(
    january_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmbeddedStore]:
    folder = tmp_path_factory.mktemp("savings-report")
    shutil.copy(january_data_dir / "store.sqlite3", folder / "store.sqlite3")
    s = EmbeddedStore(folder / "store.sqlite3")
    create_baseline(
        s,
        PARK,
        scope=Scope("tenant", "chipcore"),
        baseline_period=(date(2025, 1, 1), date(2025, 1, 15)),
        reporting_period=(date(2025, 1, 15), date(2025, 1, 22)),
        kind="3p_heating",
        baseline_id="chipcore-jan",
    )
    yield s
    s.close()


def test_rows_carry_the_services_figures(store: EmbeddedStore) -> None:
    (row,) = savings_rows(store, PARK, 2025, "chipcore")
    again = create_baseline(
        store,
        PARK,
        scope=Scope("tenant", "chipcore"),
        baseline_period=(date(2025, 1, 1), date(2025, 1, 15)),
        reporting_period=(date(2025, 1, 15), date(2025, 1, 22)),
        kind="3p_heating",
        baseline_id="chipcore-jan",
    )
    assert again.claim is not None
    s = again.claim.savings
    assert (row.id, row.scope, row.model, row.unit) == (
        "chipcore-jan",
        "tenant:chipcore",
        "3p_heating",
        "kWh",
    )
    assert row.savings == s.savings
    assert row.uncertainty == s.uncertainty
    assert row.adjusted_baseline - row.actual == pytest.approx(row.savings)  # type: ignore[operator]
    assert row.cv_rmse_pct == again.model.stats.cv_rmse_pct
    assert row.claimed == again.claim.claimed
    assert row.limit_set == "ashrae14_baseline_lt12m"
    assert savings_rows(store, PARK, 2024) == ()
    assert savings_rows(store, PARK, 2025, "lumina") == ()
    assert [r.id for r in savings_rows(store, PARK, 2025)] == ["chipcore-jan"]


def test_green_factory_report_has_the_section(store: EmbeddedStore) -> None:
    doc = build_report(
        store,
        PARK,
        ReportRequest(year=2025, tenant="chipcore", now=datetime(2025, 2, 1, tzinfo=UTC)),
    )
    assert [r.id for r in doc.savings] == ["chipcore-jan"]
    zh, en = render_html(doc, "zh"), render_html(doc, "en")
    assert 'data-section="savings"' in zh
    assert "节能量" in zh
    assert "Energy savings" in en
    assert 'data-row="savings:chipcore-jan"' in en


def test_the_section_is_in_every_format_with_the_same_numbers(store: EmbeddedStore) -> None:
    """JSON, CSV, HTML (and so PDF, made from the HTML): the same baseline with its model,
    periods, fit statistics, the limits and the Guideline 14 clause they come from, the FSU and
    the verdict with its reasons; every number of the CSV equals the JSON's."""
    doc = build_report(
        store,
        PARK,
        ReportRequest(year=2025, tenant="chipcore", now=datetime(2025, 2, 1, tzinfo=UTC)),
    )
    (saved,) = json.loads(render(doc, "json"))["savings"]
    text = render(doc, "csv").decode("utf-8-sig")
    rows = [r for r in csv.DictReader(io.StringIO(text)) if r["table"] == "savings"]
    cells = {r["column"]: r for r in rows if r["row"] == "chipcore-jan"}
    assert {r["row"] for r in rows} == {"chipcore-jan"}
    for column in SAVINGS_NUMBERS:
        value, cell = saved[column], cells[column]["value"]
        if value is None:
            assert cell == "", column
        else:
            assert float(cell) == value, column  # repr in the CSV: exact
    assert cells["savings"]["unit"] == cells["uncertainty"]["unit"] == "kWh"
    assert cells["cv_rmse_pct"]["unit"] == "%"
    for column in ("model", "scope", "limit_set", "limit_clause", "limit_source"):
        assert cells[column]["value"] == saved[column]
    assert cells["baseline_start"]["value"] == saved["baseline_start"] == "2025-01-01"
    assert [float(c) for c in cells["change_points_c"]["value"].split()] == saved["change_points_c"]
    assert cells["claimed"]["value"] == ("true" if saved["claimed"] else "false")
    assert cells["reasons"]["value"].split() == saved["reasons"]
    # what the row says, checked against the service's figures
    assert saved["model"] == "3p_heating"
    assert saved["baseline_periods"] == 14
    # intercept, slope, change point, one day-type shift (1–14 January has no adjusted working
    # day: working days and rest days only)
    assert saved["parameters"] == 1 + 1 + 1 + 1
    assert saved["reporting_periods"] == 7
    assert "Guideline 14-2014" in saved["limit_clause"]
    assert saved["limit_evidence"] == "U"
    assert (saved["max_cv_rmse_pct"], saved["max_fsu"], saved["fsu_confidence"]) == (
        20.0,
        0.5,
        0.68,
    )
    assert saved["fsu"] == pytest.approx(saved["uncertainty"] / abs(saved["savings"]))
    # an unchanged park: the savings are small against their uncertainty and not claimed
    assert not saved["claimed"]
    assert "fsu" in saved["reasons"]
    for lang, words in (("zh", "相对不确定度"), ("en", "FSU")):
        html = render_html(doc, lang)  # type: ignore[arg-type]
        assert words in html
        assert 'data-limits="ashrae14_baseline_lt12m"' in html
        assert "Guideline 14-2014" in html


def test_series_route_matches_the_totals(store: EmbeddedStore, tmp_path: Path) -> None:
    """Per period: Σ baseline − Σ actual is the savings of the result; the band of one period
    is the whole period's uncertainty over √m (m = 7 days)."""
    app = create_app(settings=Settings(data_dir=tmp_path), store=store, registry=REGISTRY)
    with TestClient(app) as client:
        r = client.get("/api/v1/parks/wuhan-demo/baselines/chipcore-jan/series")
        assert r.status_code == 200, r.text
        s = r.json()
        assert client.get("/api/v1/parks/wuhan-demo/baselines/nope/series").status_code == 404
    assert len(s["time_ms"]) == len(s["baseline"]) == len(s["actual"]) == 7
    assert sum(s["baseline"]) - sum(s["actual"]) == pytest.approx(s["savings"], rel=1e-9)
    assert s["band"] == pytest.approx(s["uncertainty"] / math.sqrt(7), rel=1e-9)
    assert s["unit"] == "kWh"


def test_tenant_page_draws_the_savings_chart(store: EmbeddedStore, tmp_path: Path) -> None:
    """The operator opens chipcore's page: the savings panel shows the baseline with its band
    and the actual, and the verdict in English."""
    require_chromium()
    app = create_app(
        settings=Settings(_env_file=None, data_dir=tmp_path), store=store, registry=REGISTRY,
        auth=KEYS,
    )  # fmt: skip
    with serving(app) as (url, _server, _thread), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            in_english(page)
            page.goto(f"{url}/#key={OPERATOR_KEY}")
            # the page takes the key from the fragment once its modules have loaded
            expect(page).to_have_url(f"{url}/", timeout=15_000)
            page.goto(f"{url}/#/t/chipcore")
            panel = page.locator(".savings-panel")
            expect(panel).to_be_visible(timeout=30_000)
            assert panel.get_attribute("data-baseline") == "chipcore-jan"
            assert panel.locator("path.savings-band").count() == 1
            assert panel.locator("path.savings-baseline").count() == 1
            assert panel.locator("path.savings-actual").count() == 1
            expect(panel.locator(".savings-verdict")).to_contain_text("Savings")
            assert errors == []
        finally:
            browser.close()
