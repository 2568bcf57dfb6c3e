"""The savings section of the reports: a stored baseline of a tenant appears in its green-factory
report (JSON and HTML, zh and en) with the figures of the service, and in the park's; a report
of another year or tenant has none."""

from __future__ import annotations

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
from reports.render import render_html
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
