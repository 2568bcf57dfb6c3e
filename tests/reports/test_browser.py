"""The HTML report in headless Chromium (Debian's, driven by Playwright as in
tests/api/test_dashboard.py): it asks for nothing but itself, and its charts are visible.
Screenshots go to test-artifacts/ for people to look at."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from reports.render import render
from tests.reports.sample import factory_doc, park_doc

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = Path(
    "/usr/bin/chromium"
)  # as tests/api/test_dashboard.py (not imported: it needs the API)
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} not found (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium()
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.mark.parametrize(("kind", "lang"), [("park", "zh"), ("park", "en"), ("factory", "zh")])
def test_report_renders_offline_with_visible_charts(
    browser: Browser, kind: str, lang: str, tmp_path: Path
) -> None:
    doc = park_doc() if kind == "park" else factory_doc()
    path = tmp_path / f"report-{kind}-{lang}.html"
    path.write_bytes(render(doc, "html", lang))  # type: ignore[arg-type]
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    requested: list[str] = []
    failed: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")

    assert requested == [path.as_uri()], requested  # the page itself, nothing else
    assert failed == []
    assert errors == []
    charts = page.locator("svg.chart")
    assert charts.count() >= 2
    for k in range(charts.count()):
        box = charts.nth(k).bounding_box()
        assert box is not None
        assert box["width"] > 300, box
        assert box["height"] > 50, box
        assert charts.nth(k).is_visible()
        assert charts.nth(k).locator("rect").count() >= 3
        assert charts.nth(k).locator("text").count() > 3
    first_bar = charts.first.locator("rect").nth(1).bounding_box()
    assert first_bar is not None
    assert first_bar["width"] > 0
    assert first_bar["height"] > 0
    heading = page.locator("h2#targets")
    assert heading.is_visible()
    assert heading.text_content() == ("2 目标评价" if lang == "zh" else "2 Targets")
    # the contents links land on their sections
    page.locator('nav.toc a[href="#factors"]').click()
    assert page.evaluate("location.hash") == "#factors"

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"report-{kind}-{lang}.png"), full_page=True)
    page.close()
