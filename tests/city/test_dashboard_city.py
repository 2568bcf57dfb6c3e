"""The dashboard's city page in a real browser: one request to /city/indicators (not one per
park), the ranking chart, rank and score per row, and the city report for download. Reuses the
two-park set-up and browser of tests/api/test_dashboard_pages.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.api.test_dashboard_pages import (
    OTHER_PARK,
    PARK,
    TOKENS,
    Pages,
    browser,
    open_page,
    pages,
)

__all__ = ["browser", "pages"]  # the fixtures of test_dashboard_pages.py, used here by name


def test_city_page_ranks_parks_from_one_city_request(pages: Pages, browser: Browser) -> None:
    w = open_page(browser, 1366, 900, english=True)
    page = w.page
    page.goto(f"{pages.url}/#key={TOKENS['city']}")
    expect(page.locator('#tabs [data-tab="city"]')).to_be_visible(timeout=10_000)
    before = len(w.requested)  # the overview asks for its own park's indicators
    page.locator('#tabs [data-tab="city"]').click()
    bars = page.locator("#city-rank-chart rect")
    expect(bars).to_have_count(2, timeout=30_000)
    assert sorted(bars.evaluate_all("rs => rs.map(r => r.dataset.park)")) == sorted(
        [OTHER_PARK, PARK]
    )
    # the line saying every park is being computed is gone once the answer is drawn
    expect(page.locator("#city-waiting")).to_have_count(0)
    # and when the figures were computed (a live period may give a park's kept ones)
    expect(page.locator("#city-as-of")).to_contain_text(re.compile(r"Figures computed at .+"))
    ranks = page.locator("#city-table .city-rank").all_text_contents()
    assert sorted(r.strip() for r in ranks) == ["1.", "2."]
    for pid in (PARK, OTHER_PARK):
        score = page.locator(f'#city-table tr[data-park="{pid}"] td').nth(-3)
        expect(score).not_to_have_text("…")
        assert float(score.text_content() or "nan") >= 0
    asked = w.requested[before:]
    assert len([u for u in asked if "/api/v1/city/indicators" in u]) == 1
    # the overview shows the first park (riverside); the demo park's indicators were only ever
    # asked for by the city page of before, one park at a time
    assert not [u for u in w.requested if f"/api/v1/parks/{PARK}/indicators" in u]
    # the city report of the same period
    with page.expect_download(timeout=60_000) as download:
        page.locator('#city-reports button[data-format="json"]').click()
    name = download.value.suggested_filename
    assert name.startswith("city-")
    assert name.endswith("-en.json")
    doc = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert doc["kind"] == "city"
    assert sorted(p["id"] for p in doc["parks"]) == sorted([OTHER_PARK, PARK])
    assert w.errors == []
    page.close()
