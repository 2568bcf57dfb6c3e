"""The dashboard's pages in headless Chromium: the park overview with live values, the drill-down
building → floor → device with charts and data quality, the tenant page and its isolation, the
city page, the language toggle, and the two ways live data arrives (the stream, or polling
``/latest`` when the stream answers 404).

Two parks (the demo park and a small second one), keys for the city, the demo park's operator
and two of its tenants. A thread keeps writing readings while the page is open. Screenshots at
1920×1080 and 1366×768 go to ``test-artifacts/``.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    Page,
    Request,
    Response,
    Route,
    expect,
)
from playwright.sync_api import Error as PlaywrightError

from api.main import create_app
from config.auth import ApiKeys, KeyEntry, PrincipalRole, hash_token
from config.registry import demo_registry_path, load_registry
from config.settings import Settings
from store.base import TELEMETRY, Point
from store.embedded import EmbeddedStore
from tests.api.test_dashboard import (
    ARTIFACTS,
    PARK,
    chromium,
    fill_store,
    in_english,
    keep_writing,
    only_local,
    serving,
)

pytestmark = pytest.mark.browser

OTHER_PARK = "riverside"
RIVERSIDE = """\
park:
  id: riverside
  name: Riverside test park
  latitude: 30.6
  longitude: 114.2
  grid_region: central_china
  province: hubei
tenants:
  - {id: delta, name: Delta}
buildings:
  - id: rs-hall
    name: Hall
    floors:
      - {number: 1, tenant: delta, area_m2: 800}
devices:
  - {id: rs-grid, kind: electricity_meter, role: grid_connection}
  - {id: rs-delta-meter, kind: electricity_meter, role: load, parent: rs-grid, building: rs-hall,
     floor: 1, tenant: delta}
"""
TOKENS = {
    "city": "pages-city-key-0123456789abcdef0123456789abc",
    "operator": "pages-operator-key-0123456789abcdef012345678",
    "chipcore": "pages-chipcore-key-0123456789abcdef012345678",
    "lumina": "pages-lumina-key-0123456789abcdef0123456789a",
}
# what a chipcore key must never receive: lumina's tenant entry, devices and names
LUMINA_MARKERS = ("lumina", "Lumina", "plant-2-main", "prod-lumina")


def _keys() -> ApiKeys:
    return ApiKeys(
        [
            KeyEntry(name="city", role=PrincipalRole.CITY, sha256=hash_token(TOKENS["city"])),
            KeyEntry(
                name="operator",
                role=PrincipalRole.OPERATOR,
                park=PARK,
                sha256=hash_token(TOKENS["operator"]),
            ),
            KeyEntry(
                name="chipcore",
                role=PrincipalRole.TENANT,
                park=PARK,
                tenant="chipcore",
                sha256=hash_token(TOKENS["chipcore"]),
            ),
            KeyEntry(
                name="lumina",
                role=PrincipalRole.TENANT,
                park=PARK,
                tenant="lumina",
                sha256=hash_token(TOKENS["lumina"]),
            ),
        ]
    )


@dataclass
class Pages:
    url: str
    store: EmbeddedStore


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pages]:
    folder = tmp_path_factory.mktemp("pages-registry")
    (folder / "a-demo.yaml").write_text(demo_registry_path().read_text(encoding="utf-8"))
    (folder / "b-riverside.yaml").write_text(RIVERSIDE)
    registry = load_registry(folder)
    data = tmp_path_factory.mktemp("pages-store")
    store = EmbeddedStore(data / "store.sqlite3")
    fill_store(store)
    now_ns = time.time_ns()
    store.write(
        [
            Point(
                TELEMETRY,
                {"park": OTHER_PARK, "device": dev},
                {"power_kw": kw, "energy_kwh": 500.0},
                now_ns,
            )
            for dev, kw in (("rs-grid", 80.0), ("rs-delta-meter", 60.0))
        ]
    )
    app = create_app(
        settings=Settings(_env_file=None, data_dir=data),
        store=store,
        registry=registry,
        auth=_keys(),
    )
    try:
        with keep_writing(store), serving(app) as (url, _server, _thread):
            yield Pages(url, store)
    finally:
        store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as instance:
        yield instance


@dataclass
class Watched:
    page: Page
    requested: list[str]
    errors: list[str]


def open_page(browser: Browser, width: int, height: int, *, english: bool = False) -> Watched:
    page = browser.new_page(viewport={"width": width, "height": height})
    requested: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    if english:
        in_english(page)
    return Watched(page, requested, errors)


def wait_for_requests(
    page: Page, matches: Callable[[str], bool], *, count: int, timeout_ms: int = 10_000
) -> None:
    """Wait until the page makes ``count`` more requests whose URL ``matches`` (each one within
    ``timeout_ms``): a condition, where a fixed wait would only hope the polls happened."""
    for _ in range(count):
        with page.expect_request(lambda request: matches(request.url), timeout=timeout_ms):
            pass


LOADING = re.compile(r"^(加载中…|Loading…)$")


def shot(page: Page, name: str, *, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=full_page)
    return path


KW = re.compile(r"^-?[0-9,]+\.[0-9] kW$")


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1366, 768)])
def test_overview_shows_live_values_that_change(
    pages: Pages, browser: Browser, width: int, height: int
) -> None:
    w = open_page(browser, width, height)
    page = w.page
    page.goto(f"{pages.url}/#key={TOKENS['operator']}")
    grid = page.locator('[data-flow="grid"]')
    expect(grid).to_have_text(KW, timeout=10_000)
    page.evaluate("window.__notReloaded = true")
    first = grid.text_content()
    # the writer changes grid-main every 0.5 s: the diagram follows without a reload
    page.wait_for_function(
        "before => document.querySelector('[data-flow=\"grid\"]').textContent !== before",
        arg=first,
        timeout=10_000,
    )
    assert page.evaluate("window.__notReloaded === true")
    for node in ("pv", "battery", "buildings", "ev"):
        expect(page.locator(f'[data-flow="{node}"]')).to_have_text(KW)
    expect(page.locator('.link[data-link="grid"]')).not_to_have_class(re.compile(r"\bidle\b"))
    # the battery charges in the test data: its flow runs from the bus to the battery
    expect(page.locator('.link[data-link="battery"]')).to_have_class(re.compile(r"\brev\b"))
    # today's energy and carbon from /energy and /indicators, carbon intensity from the factor
    expect(page.locator('[data-today="grid_import_kwh"]')).to_contain_text("kWh", timeout=15_000)
    expect(page.locator('[data-today="carbon"]')).to_contain_text("tCO2")
    expect(page.locator('[data-today="intensity"]')).to_contain_text("kgCO2/kWh")
    # targets from the park report: a threshold where there is one, "no threshold" where not
    expect(page.locator('[data-kpi="clean_energy_share"] .kpi-target')).to_contain_text(
        "目标 ≥ 90 %", timeout=20_000
    )
    expect(page.locator('[data-kpi="tco2_per_tce"] .kpi-target')).to_have_text("无阈值")
    # the accounting profile the figures use: the demo park's registry default
    expect(page.locator("#kpi-profile")).to_have_text(
        "核算口径\uff1awuhan-demo/default · 电力折标准煤按当量值 (GB/T 2589-2020)"
    )
    # the alarm panel: alarms, "none", or "not available" on a server without them
    expect(page.locator("#alarms .alarm-body")).not_to_have_text("加载中…")
    expect(page.locator('[data-device="grid-main"] .dev-value')).to_have_text(KW)
    expect(page.locator("#status-text")).to_have_text(re.compile(r"^实时 · (推送|轮询)$"))
    # the slow panels have settled: no "loading" placeholder is left anywhere on the page
    expect(page.get_by_text(LOADING)).to_have_count(0, timeout=15_000)
    shot(page, f"dashboard-{width}x{height}.png")
    if width == 1920:
        shot(page, "dashboard-overview-full.png", full_page=True)
    # a page that fits: no sideways scrolling at either size
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert only_local(w.requested) == []
    assert w.errors == []
    page.close()


def test_drill_down_building_floor_device(pages: Pages, browser: Browser) -> None:
    w = open_page(browser, 1366, 768, english=True)
    page = w.page
    series_requests: list[str] = []
    page.on("request", lambda r: series_requests.append(r.url) if "/series?" in r.url else None)
    page.goto(f"{pages.url}/#key={TOKENS['operator']}")
    expect(page.locator('[data-flow="grid"]')).to_have_text(KW, timeout=10_000)

    page.locator('.bld-panel .bld-card[data-building="tower-a"]').click()
    expect(page.locator("#crumbs .here")).to_have_text("Tower A (high-rise factory)")
    expect(page.locator('[data-chart="series"] path.line')).to_have_count(1, timeout=15_000)
    expect(page.locator('[data-chart="daily"] rect.col').first).to_be_visible(timeout=15_000)
    expect(page.locator('tr[data-floor="12"] td.num').last).to_have_text(KW)

    page.locator('tr[data-floor="12"] a').click()
    expect(page.locator("#crumbs .here")).to_have_text("Floor 12")
    expect(page.locator(".tenant-link")).to_contain_text("Tower A floor 12 tenant")
    expect(page.locator('a.dev[data-device="env-tower-a-f12"]')).to_be_visible()

    page.locator('a.dev[data-device="tower-a-f12"]').click()
    expect(page.locator('.drill-head[data-device="tower-a-f12"]')).to_be_visible()
    chart = page.locator('[data-chart="series"]')
    expect(chart.locator("path.line")).to_have_count(1, timeout=15_000)
    expect(page.locator('[data-field="power_kw"] .lf-value')).to_have_text(KW)
    # data quality behind it: the ledger's completeness and quality codes
    expect(page.locator('#quality .chip[data-quality="measured"]')).to_be_visible(timeout=15_000)
    expect(page.locator("#quality .quality-strip .q").first).to_be_visible()
    expect(page.locator('[data-chart="daily"] rect.col').first).to_be_visible(timeout=15_000)
    # the line has the points the server sent, never more than the chart is wide
    points = int(chart.get_attribute("data-points") or "0")
    width_px = int(chart.get_attribute("data-max-points") or "0")
    assert 10 < points <= width_px, (points, width_px)
    d = chart.locator("path.line").get_attribute("d") or ""
    assert len(re.findall(r"[ML]", d)) == points
    # every series request asks for at most one point per pixel of its chart
    assert series_requests
    for url in series_requests:
        q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        buckets = (int(q["end"]) - int(q["start"])) / 1000 / int(q["every"])
        assert buckets <= 1366, url
    shot(page, "dashboard-device-1366x768.png")
    assert only_local(w.requested) == []
    assert w.errors == []
    page.close()


def test_tenant_key_cannot_reach_another_tenants_page(pages: Pages, browser: Browser) -> None:
    w = open_page(browser, 1366, 768, english=True)
    page = w.page
    # polling only, so that every byte the page receives is in a response body checked below
    page.route("**/api/v1/parks/*/stream", lambda route: route.fulfill(status=404, body="{}"))
    bodies: list[tuple[str, str]] = []

    def keep(response: Response) -> None:
        if "/api/v1/" in response.url and response.ok and "/stream" not in response.url:
            with contextlib.suppress(PlaywrightError):  # a body the page abandoned
                bodies.append((response.url, response.text()))

    page.on("response", keep)
    page.goto(f"{pages.url}/#key={TOKENS['chipcore']}")
    # its own page: its devices, indicators and reports
    expect(page.locator('[data-device="plant-1-main"] .dev-value')).to_have_text(KW, timeout=10_000)
    expect(page.locator(".tenant-page")).to_have_attribute("data-tenant", "chipcore")
    expect(page.locator("#tenant-indicators .kpi").first).to_be_visible(timeout=15_000)
    expect(page.locator('#reports button[data-format="pdf"]')).to_be_visible()
    with page.expect_download(timeout=60_000) as download:
        page.locator('#reports button[data-format="json"]').click()
    name = download.value.suggested_filename
    assert re.fullmatch(r"wuhan-demo-chipcore-20[0-9]{2}-en\.json", name), name
    report = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert report["tenant_id"] == "chipcore"
    shot(page, "dashboard-tenant-1366x768.png")

    # another tenant's page, its device and its building: refused, nothing fetched for them
    for target in ("#/t/lumina", "#/d/plant-2-main", "#/b/plant-2", "#/city"):
        page.evaluate("target => { window.location.hash = target; }", target)
        expect(page.locator("#refusal")).to_be_visible()
        expect(page.locator("#refusal")).to_contain_text("may not see")
    # a few polls more, each of which could have leaked
    wait_for_requests(page, lambda url: "/api/v1/" in url and "/stream" not in url, count=3)
    assert bodies
    leaked = [(u, m) for u, body in bodies for m in LUMINA_MARKERS if m in body]
    assert leaked == []
    assert not any("lumina" in u or "plant-2" in u for u in w.requested)
    assert only_local(w.requested) == []
    assert w.errors == []
    page.close()


def test_city_page_compares_parks(pages: Pages, browser: Browser) -> None:
    w = open_page(browser, 1920, 1080, english=True)
    page = w.page
    page.goto(f"{pages.url}/#key={TOKENS['city']}")
    expect(page.locator('#tabs [data-tab="city"]')).to_be_visible(timeout=10_000)
    expect(page.locator("#park-select-label")).to_be_visible()
    page.locator('#tabs [data-tab="city"]').click()
    rows = page.locator("#city-table tbody tr")
    expect(rows).to_have_count(2)
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.park)") == [OTHER_PARK, PARK]
    demo_row = page.locator(f'#city-table tr[data-park="{PARK}"]')
    expect(demo_row.locator("td").nth(2)).to_contain_text("tCO2", timeout=20_000)
    expect(page.locator(f'#city-table tr[data-park="{OTHER_PARK}"] td').last).not_to_have_text(
        "…", timeout=20_000
    )
    page.select_option("#city-period", "month")
    expect(demo_row.locator("td").nth(2)).to_contain_text("tCO2", timeout=20_000)
    shot(page, "dashboard-city-1920x1080.png")
    # a park's name leads to its overview
    page.locator(f'#city-table tr[data-park="{OTHER_PARK}"] a').click()
    expect(page.locator("#park-name")).to_have_text("Riverside test park", timeout=10_000)
    assert only_local(w.requested) == []
    assert w.errors == []
    page.close()


def test_language_toggle_changes_labels(pages: Pages, browser: Browser) -> None:
    w = open_page(browser, 1366, 768)
    page = w.page
    page.goto(f"{pages.url}/#key={TOKENS['operator']}")
    overview_tab = page.locator('#tabs [data-tab="overview"]')
    expect(overview_tab).to_have_text("总览")
    expect(page.locator("#flow-title")).to_have_text("实时功率流", timeout=10_000)
    assert page.evaluate("document.documentElement.lang") == "zh-CN"

    page.locator("#lang-toggle").click()
    expect(overview_tab).to_have_text("Overview")
    expect(page.locator("#flow-title")).to_have_text("Live power flow")
    expect(page.locator('[data-node="grid"] .node-label')).to_have_text("Grid")
    assert page.evaluate("document.documentElement.lang") == "en"
    # kept for the next visit
    page.reload()
    expect(page.locator("#flow-title")).to_have_text("Live power flow", timeout=10_000)
    page.locator("#lang-toggle").click()
    expect(page.locator("#flow-title")).to_have_text("实时功率流")
    expect(page.locator('[data-node="grid"] .node-label')).to_have_text("电网")
    assert w.errors == []
    page.close()


def _sse(*events: tuple[str, dict[str, object]]) -> str:
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)


def test_stream_events_drive_the_page(pages: Pages, browser: Browser) -> None:
    w = open_page(browser, 1366, 768, english=True)
    page = w.page
    now_ms = int(time.time() * 1000)
    body = ": ping\n\n" + _sse(
        (
            "flows",
            {
                "time_ms": now_ms,
                "grid_kw": 1234.5,
                "pv_kw": 321.0,
                "battery_kw": 50.0,
                "ev_kw": 12.0,
                "load_kw": 1593.5,
            },
        ),
        (
            "alarm",
            {
                "id": "floor-demand~tower-a-f03~1",
                "kind": "threshold",
                "severity": "critical",
                "state": "raised",
                "device": "tower-a-f03",
                "message": "tower-a-f03 above its contracted demand for 15 min",
                "raised_ms": now_ms,
            },
        ),
    )

    def stream(route: Route, request: Request) -> None:
        assert request.headers.get("authorization") == f"Bearer {TOKENS['operator']}"
        route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=body)

    page.route("**/api/v1/parks/*/stream", stream)
    page.route("**/api/v1/parks/*/alarms*", lambda route: route.fulfill(status=404, body="{}"))
    page.goto(f"{pages.url}/#key={TOKENS['operator']}")
    expect(page.locator("#status-text")).to_have_text("Live · stream", timeout=10_000)
    expect(page.locator('[data-flow="grid"]')).to_have_text("1,234.5 kW")
    expect(page.locator('[data-flow="buildings"]')).to_have_text("1,593.5 kW")
    expect(page.locator('[data-node="battery"] .node-sub')).to_contain_text("discharging")
    alarm = page.locator('#alarms .alarm[data-alarm="floor-demand~tower-a-f03~1"]')
    expect(alarm).to_contain_text("above its contracted demand")
    expect(alarm).to_have_class(re.compile(r"sev-critical"))
    assert w.errors == []
    page.close()


def test_polling_when_the_stream_answers_404(pages: Pages, browser: Browser) -> None:
    w = open_page(browser, 1366, 768, english=True)
    page = w.page
    page.route("**/api/v1/parks/*/stream", lambda route: route.fulfill(status=404, body="{}"))
    page.route("**/api/v1/parks/*/alarms*", lambda route: route.fulfill(status=404, body="{}"))
    page.goto(f"{pages.url}/#key={TOKENS['operator']}")
    expect(page.locator("#status-text")).to_have_text("Live · polling", timeout=10_000)
    expect(page.locator("#alarms")).to_contain_text("alarms not available")
    # polled every 2 s: two more reads of /latest within 5 s each, or a timeout error
    wait_for_requests(page, lambda url: "/latest" in url, count=2, timeout_ms=5_000)
    expect(page.locator('[data-flow="grid"]')).to_have_text(KW)
    assert w.errors == []
    page.close()
