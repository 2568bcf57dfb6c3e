"""Every figure of a freshly started demo's overview and tenant page, read in headless Chromium,
checked against the API and against the plausibility rules of docs/dashboard.md (issue 17 item 2).

The demo's key is an operator key of its park; the city page wants a city key, so the city
page's figures (``/parks/{park}/indicators`` per park) are checked here through the API only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from config.registry import load_registry
from tests.api.test_dashboard import CHROMIUM, CHROMIUM_ARGS, require_chromium
from tests.e2e.helpers import SmartparkProcess, wait_for
from tests.support.servers import free_port

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PARK = "wuhan-demo"
TENANT = "chipcore"
# the overview refreshes today's figures every 60 s (api/static/js/state.js TODAY_REFRESH_MS);
# the demo park draws under 6 MW: the most a figure shown can lag the API's [kWh]
STALE_KWH = 6000 * 60 / 3600
TZ = ZoneInfo("Asia/Shanghai")  # the demo park's
NUMBER = re.compile(r"-?[0-9][0-9,]*(?:\.[0-9]+)?")
SHARE_KEYS = {"clean_energy_share", "renewable_share", "self_sufficiency_rate"}


@dataclass(frozen=True)
class Demo:
    url: str
    key: str

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(
            f"{self.url}/api/v1/parks/{PARK}{path}",
            params=params,
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=30,
        )
        assert response.status_code == 200, (path, response.text)
        return response.json()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    require_chromium()
    port = free_port()
    log = tmp_path_factory.mktemp("plausibility") / "demo.log"
    proc = SmartparkProcess(["demo", "--port", str(port), "--interval", "1"], env={}, log_path=log)
    try:

        def logged_key() -> str | None:
            assert proc.alive(), proc.output()
            found = re.search(rf"http://127\.0\.0\.1:{port}/#key=([A-Za-z0-9_-]+)", proc.output())
            return found.group(1) if found else None

        key = wait_for(logged_key, timeout_s=30, what="the demo's key")
        # the month's figures grow while the demo stores its history (30 days, newest first): a
        # tile and the API read seconds apart would then differ by more than any tolerance
        wait_for(
            lambda: re.search(r"history: \d+ readings of \d+ days stored", proc.output()),
            timeout_s=240,
            what="the demo's history stored",
        )
        yield Demo(f"http://127.0.0.1:{port}", key)
    finally:
        proc.kill()


def number(text: str) -> float:
    """The first number of a tile's text ("1,234.5 kWh" → 1234.5)."""
    found = NUMBER.search(text)
    assert found, f"no number in {text!r}"
    return float(found.group(0).replace(",", ""))


def completeness(text: str) -> float | None:
    found = re.search(r"完整度 ([0-9.]+) %", text)
    return float(found.group(1)) if found else None


def by_name(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["name"]: i for i in answer["indicators"]}


def check_completeness(where: str, pct: float | None) -> None:
    assert pct is None or 0.0 <= pct <= 100.0, f"{where}: completeness {pct} outside 0-100"


def check_value(key: str, text: str, api: dict[str, Any], *, rel: float) -> None:
    """A tile's value is the API's (a share shown in %, 0-100; others within ``rel``)."""
    shown = number(text)
    if api["unit"] == "fraction":
        assert 0.0 <= shown <= 100.0, f"{key}: {text!r} is not a share"
        assert shown == pytest.approx(100 * api["value"], rel=rel, abs=0.06), (key, text, api)
    else:
        assert shown == pytest.approx(api["value"], rel=rel, abs=0.01), (key, text, api)


def hours_since_start(period: str) -> float:
    """Hours from the local start of ``period`` ("YYYY-MM-DD" or "YYYY-MM") to now, in whole
    15-minute intervals begun [h]. Peak demand is the highest interval energy over 15 minutes,
    the open interval's too: a few minutes after midnight the day's only interval holds minutes
    of energy, so its peak (0 % complete) sat below the mean power over those minutes (CI,
    00:02 in Wuhan: 998 kW against 253 kWh in 2.6 min)."""
    first = datetime.fromisoformat(f"{period}-01" if len(period) == 7 else period)
    hours = (datetime.now(TZ) - first.replace(tzinfo=TZ)).total_seconds() / 3600
    return math.ceil(hours * 4) / 4


def tariff_range_cny_per_kwh(tou: dict[str, Any]) -> tuple[float, float]:
    """Lowest and highest energy price of the period's TOU schedule [CNY/kWh]."""
    prices = [v for k, v in tou["detail"].items() if k.endswith("_price_cny_per_kwh") and v]
    assert prices, tou["detail"]
    return min(prices), max(prices)


def test_every_tile_is_plausible_and_matches_the_api(demo: Demo) -> None:
    park = load_registry().parks[PARK]
    today = datetime.now(TZ).strftime("%Y-%m-%d")
    month = today[:7]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{demo.url}/#key={demo.key}")
            check_overview(page, demo, today)
            page.goto(f"{demo.url}/#/t/{TENANT}")
            check_tenant(page, demo, month)
            assert errors == []
        finally:
            browser.close()
    check_city_figures(demo, park.park.name, today, month)


def check_overview(page: Page, demo: Demo, today: str) -> None:
    """Today's energy figures and the KPI tiles: the API's values, within 0-100 % complete."""
    # loaded: the figure carries its completeness (its value may be withheld, "—")
    expect(page.locator('[data-today="grid_import_kwh"] .today-note')).to_contain_text(
        "%", timeout=60_000
    )
    expect(page.locator('[data-kpi="tco2_per_tce"] .kpi-comp')).to_contain_text("%", timeout=20_000)
    before = demo.get("/energy", every="day")
    shown = {
        key: page.locator(f'[data-today="{key}"]').text_content() or ""
        for key in page.locator("[data-today]").evaluate_all("ds => ds.map(d => d.dataset.today)")
    }
    after = demo.get("/energy", every="day")
    month_energy = {f["name"]: f["total"] for f in demo.get("/energy", every="month")["figures"]}
    figures = [f["name"] for f in before["figures"]]
    assert "grid_import_kwh" in shown, shown
    assert "load_kwh" in shown, shown
    for name in figures:
        if name not in shown:
            continue
        text = shown[name]
        check_completeness(f"today {name}", completeness(text))
        low = next(f["total"] for f in before["figures"] if f["name"] == name)
        high = next(f["total"] for f in after["figures"] if f["name"] == name)
        if low is None or high is None:
            assert text.startswith("—"), f"today {name}: {text!r} where the API has no value"
            continue
        value = number(text)
        # shown with 0 decimals; the page loaded it up to one refresh before the API answered
        # ``low`` (the day's energy grows by at most the park's power × the refresh interval)
        assert low - STALE_KWH - 0.5 <= value <= high + 0.5, (name, text, low, high)
        assert value >= 0, f"today {name} is negative: {text!r}"
        total = month_energy.get(name)
        assert total is None or total >= value - 0.5, f"{name}: month {total} < today {value}"
    indicators = by_name(demo.get("/indicators", period=today))
    for key in page.locator("[data-kpi]").evaluate_all("ts => ts.map(t => t.dataset.kpi)"):
        tile = page.locator(f'[data-kpi="{key}"]')
        value_text = tile.locator(".kpi-value").text_content() or ""
        check_completeness(f"tile {key}", completeness(tile.text_content() or ""))
        api = indicators[key]
        if api["value"] is None:
            assert value_text == "—", f"{key}: {value_text!r} where the API says {api['reason']}"
            continue
        check_value(key, value_text, api, rel=0.01)


def check_tenant(page: Page, demo: Demo, month: str) -> None:
    """The tenant's month: peak demand between its mean power and its highest reading, cost per
    kWh inside the tariff once the demand charge is set apart, and both labelled month to date."""
    tiles = page.locator("[data-kpi]")
    expect(tiles.first).to_be_visible(timeout=20_000)
    expect(page.locator('[data-kpi="electricity_cost_cny"]')).to_be_visible(timeout=20_000)
    api = by_name(demo.get("/indicators", period=month, scope=f"tenant:{TENANT}"))
    for key in tiles.evaluate_all("ts => ts.map(t => t.dataset.kpi)"):
        tile = page.locator(f'[data-kpi="{key}"]')
        text = tile.text_content() or ""
        check_completeness(f"tenant {key}", completeness(text))
        value_text = tile.locator(".kpi-value").text_content() or ""
        if api[key]["value"] is None:
            assert value_text == "—", (key, value_text)
            assert api[key]["reason"], f"{key} withheld without a reason"
            continue
        check_value(key, value_text, api[key], rel=0.05)  # the month grows while it is read

    peak = api["peak_demand_kw"]["value"]
    energy = api["tou_energy_cost_cny"]["detail"]
    kwh = sum(v for k, v in energy.items() if k.endswith("_kwh") and k != "ratio_weighted_kwh")
    assert kwh > 0
    hours = hours_since_start(month)
    assert peak is not None
    assert peak >= kwh / hours * 0.9, f"peak {peak} kW below the mean power {kwh / hours:.1f} kW"
    # a tenant's peak is part of the park's (both are highest 15-minute averages of the month)
    park_peak = by_name(demo.get("/indicators", period=month))["peak_demand_kw"]["value"]
    assert park_peak is not None
    assert peak <= park_peak + 1e-6, (peak, park_peak)
    cost = api["electricity_cost_cny"]
    low, high = tariff_range_cny_per_kwh(api["tou_energy_cost_cny"])
    per_kwh = (cost["value"] - (cost["detail"]["demand_cny"] or 0.0)) / kwh
    assert low - 1e-6 <= per_kwh <= high + 1e-6, f"energy cost {per_kwh:.3f} CNY/kWh"
    # a figure of a month in progress says so on its tile
    expect(page.locator('[data-kpi="peak_demand_kw"] .kpi-basis')).to_have_text(
        "本月至今的最大需量\uff0815 分钟平均\uff09"
    )
    demand_cny = cost["detail"]["demand_cny"]
    basis = page.locator('[data-kpi="electricity_cost_cny"] .kpi-basis')
    expect(basis).to_contain_text("本月至今")
    if demand_cny:
        expect(basis).to_contain_text(f"{demand_cny:,.0f} 元")


def check_city_figures(demo: Demo, name: str, today: str, month: str) -> None:
    """What the city page shows of the park, through the API: peak demand between the park's mean
    power and its connection's capacity, complete 0-100 %."""
    park = load_registry().parks[PARK]
    capacity_kw = park.park.tariff.contracted_kw if park.park.tariff else None
    for period in (today, month):
        ind = by_name(demo.get("/indicators", period=period))
        peak = ind["peak_demand_kw"]
        check_completeness(f"{name} {period} peak", peak["completeness_pct"])
        if peak["value"] is None:
            assert peak["reason"], f"{period}: peak withheld without a reason"
            continue
        if capacity_kw is not None:
            assert peak["value"] <= capacity_kw, (period, peak["value"], capacity_kw)
        grid = ind["tou_energy_cost_cny"]["detail"]
        kwh = sum(v for k, v in grid.items() if k.endswith("_kwh") and k != "ratio_weighted_kwh")
        hours = hours_since_start(period)
        assert peak["value"] >= kwh / hours * 0.9, (period, peak["value"], kwh, hours)
