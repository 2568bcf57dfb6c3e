"""The dashboard in a real browser: the app under uvicorn on a loopback port, a thread writing
changing power readings into the store, and Debian's headless Chromium driven by Playwright.

Checks that the page shows a device's power and then shows a new value without a reload, greys a
stale device, asks no host but the app for anything, and that /docs renders offline too. The API
wants a key: the page takes it from the ``#key=`` fragment (and drops it from the address bar) or
asks for it. Screenshots go to ``test-artifacts/`` for people to look at.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect, sync_playwright

from api.main import STATIC_DIR, create_app
from api.routes.parks import STALE_AFTER_S
from config.auth import ApiKeys, KeyEntry, PrincipalRole, hash_token
from config.messages import catalogue
from config.registry import Role, demo_registry_path, load_registry
from config.settings import Settings
from services.targets import MIN_COMPLETENESS_PCT
from store.base import TELEMETRY, Point
from store.embedded import EmbeddedStore
from tests.support.catalogue import indicator_names

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
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
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PARK = "wuhan-demo"
WRITE_EVERY_S = 0.5
STALE_DEVICE = "ev-08"  # last reported five minutes ago
SILENT_DEVICE = "tower-a-f24"  # never reports
OPERATOR_KEY = "dashboard-operator-key-0123456789abcdef012345"
TENANT_KEY = "dashboard-tenant-key-0123456789abcdef01234567"  # chipcore
KEYS = ApiKeys(
    [
        KeyEntry(
            name="operator",
            role=PrincipalRole.OPERATOR,
            park=PARK,
            sha256=hash_token(OPERATOR_KEY),
        ),
        KeyEntry(
            name="chipcore",
            role=PrincipalRole.TENANT,
            park=PARK,
            tenant="chipcore",
            sha256=hash_token(TENANT_KEY),
        ),
    ]
)


@dataclass
class LiveApp:
    url: str
    store: EmbeddedStore
    server: uvicorn.Server
    thread: threading.Thread

    def stop_server(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        assert not self.thread.is_alive(), "uvicorn did not stop within 15 s"


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} not found (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium through Playwright, closed on the way out (a missing browser
    skips, or fails in CI: :func:`require_chromium`)."""
    require_chromium()
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


def power_kw(device: str, role: Role, t: float, capacity_kw: float | None) -> float:
    """A plausible, ever-changing power value per device (kW) at time ``t`` (s)."""
    phase = (sum(map(ord, device)) % 97) / 97 * 2 * math.pi
    wobble = math.sin(t * 1.3 + phase)
    match role:
        case Role.GRID_CONNECTION:
            return 1450.0 + 60.0 * wobble
        case Role.FEEDER:
            return 420.0 + 40.0 * wobble
        case Role.LOAD:
            return 35.0 + 25.0 * (0.5 + 0.5 * math.sin(phase * 3)) + 4.0 * wobble
        case Role.PV:
            return (capacity_kw or 300.0) * (0.62 + 0.03 * wobble)
        case Role.STORAGE:
            return -95.0 + 8.0 * wobble  # charging
        case Role.EV_CHARGING:
            cap = capacity_kw or 7.0
            return 0.0 if phase < 2.0 else cap * (0.7 + 0.2 * wobble)
        case _:
            return 0.0


def sensor_fields(role: Role, t: float) -> dict[str, float]:
    if role is Role.GAS:
        return {"flow_m3_per_h": 42.0 + math.sin(t), "volume_m3": 81_234.0 + t / 100}
    return {
        "temperature_degc": 27.5 + 0.2 * math.sin(t),
        "humidity_pct": 64.0,
        "pm25_ug_per_m3": 31.0,
        "co2_ppm": 540.0,
    }


def readings_at(t: float, park_id: str = PARK) -> list[Point]:
    """One reading of every device of the demo park at ``t`` (s): power, and registers that
    grow with it (energy, gas volume), so the ledger and energy balances have data too."""
    park = load_registry(demo_registry_path()).parks[PARK]
    time_ns = int(t * 1e9)
    points = []
    for dev in park.devices:
        if dev.id in (STALE_DEVICE, SILENT_DEVICE):
            continue
        if dev.role in (Role.GAS, Role.ENVIRONMENT):
            fields = sensor_fields(dev.role, t)
        elif dev.role in (Role.WATER, Role.PRODUCTION, Role.HEAT):
            continue
        else:
            power = power_kw(dev.id, dev.role, t, dev.capacity_kw)
            fields = {"power_kw": round(power, 3)}
            if dev.role is Role.STORAGE:
                fields["soc_pct"] = 63.0 + math.sin(t / 10)
                fields["charge_energy_kwh"] = 5_000.0 + 95.0 * t / 3600
                fields["discharge_energy_kwh"] = 4_000.0
            else:
                # a register growing at the device's mean power: never decreasing
                rate = abs(power_kw(dev.id, dev.role, 0.0, dev.capacity_kw))
                fields["energy_kwh"] = round(10_000.0 + rate * (t - 1.7e9) / 3600, 3)
        points.append(Point(TELEMETRY, {"park": park_id, "device": dev.id}, fields, time_ns))
    return points


BACKFILL_S = 6 * 3600
BACKFILL_STEP_S = 300


def fill_store(store: EmbeddedStore) -> None:
    """The last six hours every five minutes, a stale device, and a reading now."""
    now = time.time()
    for k in range(BACKFILL_S // BACKFILL_STEP_S, 0, -1):
        store.write(readings_at(now - k * BACKFILL_STEP_S))
    five_minutes_ago = time.time_ns() - 300 * 1_000_000_000
    stale = Point(
        TELEMETRY, {"park": PARK, "device": STALE_DEVICE}, {"power_kw": 6.4}, five_minutes_ago
    )
    store.write([stale])
    store.write(readings_at(time.time()))


@contextmanager
def keep_writing(store: EmbeddedStore) -> Iterator[None]:
    """Fresh readings every WRITE_EVERY_S while the block runs."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(WRITE_EVERY_S):
            store.write(readings_at(time.time()))

    writer = threading.Thread(target=run, name="dashboard-writer", daemon=True)
    writer.start()
    try:
        yield
    finally:
        stop.set()
        writer.join(timeout=5)


@contextmanager
def serving(app: FastAPI) -> Iterator[tuple[str, uvicorn.Server, threading.Thread]]:
    """``app`` under uvicorn on a free loopback port: its base URL, the server, its thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ws="none",
            # an open live stream never ends by itself: do not wait for it at shutdown
            timeout_graceful_shutdown=1,
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped during start-up"
        assert time.monotonic() < deadline, "uvicorn did not start within 15 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", server, thread
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@pytest.fixture
def live_app(tmp_path: Path) -> Iterator[LiveApp]:
    store = EmbeddedStore(tmp_path / "dashboard.sqlite3")
    fill_store(store)
    app = create_app(
        settings=Settings(_env_file=None, data_dir=tmp_path),
        store=store,
        registry=load_registry(demo_registry_path()),
        auth=KEYS,
    )
    try:
        with keep_writing(store), serving(app) as (url, server, thread):
            yield LiveApp(url, store, server, thread)
    finally:
        store.close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as instance:
        yield instance


def only_local(urls: list[str]) -> list[str]:
    """The URLs that went anywhere but the app on 127.0.0.1 (data: and blob: URLs stay in the
    page)."""
    return [
        u
        for u in urls
        if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).hostname != "127.0.0.1"
    ]


def in_english(page: Page) -> None:
    """Open the page in English (Chinese is the default)."""
    page.add_init_script("localStorage.setItem('smartpark.lang', 'en')")


def test_dashboard_shows_live_power_without_reload(live_app: LiveApp, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    requested: list[str] = []
    page_errors: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.on("console", lambda m: page_errors.append(m.text) if m.type == "error" else None)
    in_english(page)

    page.goto(f"{live_app.url}/#key={OPERATOR_KEY}")
    expect(page.locator("#park-name")).to_have_text("Optics Valley Demo Park (Wuhan)")
    # the key left the address bar (and history) and stays for this tab only
    assert page.url == f"{live_app.url}/"
    assert page.evaluate("sessionStorage.getItem('smartpark.apiKey')") == OPERATOR_KEY
    assert all(OPERATOR_KEY not in url for url in requested)
    grid_value = page.locator('[data-device="grid-main"] .dev-value')
    expect(grid_value).to_have_text(re.compile(r"^1,[0-9]{3}\.[0-9] kW$"), timeout=10_000)
    page.evaluate("window.__notReloaded = true")
    first = grid_value.text_content()

    # the writer changes grid-main every 0.5 s and the page polls every 2 s
    page.wait_for_function(
        "([selector, before]) => document.querySelector(selector).textContent !== before",
        arg=['[data-device="grid-main"] .dev-value', first],
        timeout=10_000,
    )
    assert page.evaluate("window.__notReloaded === true"), "the page reloaded"
    assert grid_value.text_content() != first

    expect(page.locator('[data-flow="grid"]')).not_to_have_text("—")
    expect(page.locator('[data-node="battery"] .node-sub')).to_contain_text("charging · SoC")
    expect(page.locator(f'[data-device="{STALE_DEVICE}"]')).to_have_class("dev stale")
    expect(page.locator(f'[data-device="{STALE_DEVICE}"] .dev-age')).to_contain_text("stale")
    expect(page.locator(f'[data-device="{SILENT_DEVICE}"]')).to_have_class("dev stale no-data")
    expect(page.locator('[data-device="pv-plant-1-a"]')).to_have_class("dev")
    # the live stream when the server has one, else polling /latest
    expect(page.locator("#status-text")).to_have_text(re.compile(r"^Live · (stream|polling)$"))
    # the 910 core indicator under the method the demo profile (当量值) does not use: shown with
    # the year's verdict, beside the profile's
    expect(page.locator('[data-kpi="tco2_per_tce"] .kpi-method')).to_have_text(
        re.compile(
            rf"^equivalent value \({datetime.now(UTC).year}\): (—|[0-9.,]+) tCO2/tce "
            r"\((met|not met|not enough data|no threshold)\)$"
        ),
        timeout=15_000,
    )

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert requested, "the page made no requests"
    # the thresholds come from the server, not from the page
    assert f"{live_app.url}/api/v1/ui-config" in requested
    assert only_local(requested) == []
    assert page_errors == []

    # when the server goes away the page says so, keeps the last values, and keeps trying
    live_app.stop_server()
    expect(page.locator("#status-text")).to_have_text("Offline · retrying", timeout=10_000)
    expect(page.locator("#error")).to_contain_text("Cannot reach the server", timeout=10_000)
    expect(grid_value).to_have_text(re.compile(r"kW$"))
    assert page.evaluate("window.__notReloaded === true")
    page.close()


def test_page_asks_for_a_key_and_keeps_it_for_the_tab(live_app: LiveApp, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    in_english(page)
    authorizations: list[str | None] = []
    page.on(
        "request",
        lambda r: (
            authorizations.append(r.headers.get("authorization")) if "/api/v1/" in r.url else None
        ),
    )

    page.goto(f"{live_app.url}/")
    expect(page.locator("#key-form")).to_be_visible()
    expect(page.locator("#key-message")).to_have_text("Enter an API key to see the park.")
    expect(page.locator("#status-text")).to_have_text("API key needed")

    page.fill("#key-input", "not-a-key")
    page.click("#key-form button")
    expect(page.locator("#key-message")).to_have_text(
        "That API key was refused. Enter another one."
    )

    page.fill("#key-input", OPERATOR_KEY)
    page.click("#key-form button")
    expect(page.locator("#key-form")).to_be_hidden()
    expect(page.locator('[data-device="grid-main"] .dev-value')).to_have_text(
        re.compile(r"kW$"), timeout=10_000
    )
    # a reload keeps the key (sessionStorage): no form
    page.reload()
    expect(page.locator('[data-device="grid-main"] .dev-value')).to_have_text(
        re.compile(r"kW$"), timeout=10_000
    )
    expect(page.locator("#key-form")).to_be_hidden()
    assert f"Bearer {OPERATOR_KEY}" in authorizations
    assert page_errors == []
    page.close()


def test_tenant_key_sees_only_its_own_devices(live_app: LiveApp, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    in_english(page)
    page.goto(f"{live_app.url}/#key={TENANT_KEY}")
    # a tenant key lands on its own page
    expect(page.locator('[data-device="plant-1-main"] .dev-value')).to_have_text(
        re.compile(r"kW$"), timeout=10_000
    )
    assert page.url.endswith("#/t/chipcore")
    expect(page.locator("#status-text")).to_have_text(re.compile(r"^Live · (stream|polling)$"))
    shown = set(page.locator("[data-device]").evaluate_all("els => els.map(e => e.dataset.device)"))
    # not plant-2-main (lumina), not grid-main
    assert shown == {"plant-1-main", "gas-boiler", "water-plant-1", "prod-chipcore"}
    page.close()


def test_docs_render_offline(live_app: LiveApp, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(f"{live_app.url}/docs")
    expect(page.locator(".opblock-summary-path").first).to_be_visible(timeout=15_000)
    paths = page.locator(".opblock-summary-path").all_text_contents()
    assert any("/api/v1/parks/{park}/series" in p.replace("\u200b", "") for p in paths), paths
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs.png"))
    page.close()

    assert only_local(requested) == []


_IMPORT = re.compile(r"""^(?:import|export)\b[^"';]*?\bfrom\s*"(\.{1,2}/[^"]+)";""", re.MULTILINE)
_ENTRY = re.compile(r'<script type="module" src="([^"]+)"></script>')


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(
        settings=Settings(_env_file=None, data_dir=tmp_path),
        store=EmbeddedStore(tmp_path / "client.sqlite3"),
        registry=load_registry(demo_registry_path()),
        auth=KEYS,
    )
    with TestClient(app) as test_client:
        yield test_client


def test_every_module_of_the_page_is_served_as_javascript(client: TestClient) -> None:
    """Follows the import graph from the entry script of index.html: every module answers 200
    with a JavaScript content type (a browser refuses a module script of any other type), and
    every .js file in api/static is reached (none left over from an older layout)."""
    page = client.get("/")
    assert page.status_code == 200
    entries = _ENTRY.findall(page.text)
    assert entries == ["static/js/main.js"]
    todo = [f"/{entries[0]}"]
    seen: set[str] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"].split(";")[0] == "text/javascript", path
        assert r.headers["cache-control"] == "no-cache", path  # never a stale module after upgrade
        base = path.rsplit("/", 1)[0]
        for spec in _IMPORT.findall(r.text):
            parts = [*base.split("/"), *spec.split("/")]
            resolved: list[str] = []
            for part in parts:
                if part == "..":
                    resolved.pop()
                elif part != ".":
                    resolved.append(part)
            todo.append("/".join(resolved))
    on_disk = {f"/static/{p.relative_to(STATIC_DIR).as_posix()}" for p in STATIC_DIR.rglob("*.js")}
    assert seen == on_disk
    assert len(seen) >= 10  # api, live, i18n, charts, router, views…: the graph was followed


def test_every_indicator_has_a_dashboard_label_in_both_languages(tmp_path: Path) -> None:
    """The dashboard shows an indicator by its ``ind_<name>`` label (the raw name otherwise):
    every indicator a report carries has one, Chinese and English."""
    labels = {
        k.removeprefix("ui."): (e.zh, e.en) for k, e in catalogue().items() if k.startswith("ui.")
    }
    assert len(labels) > 100  # the table was read
    names = indicator_names(tmp_path)
    assert "tco2_per_tce_location" in names
    assert [n for n in names if f"ind_{n}" not in labels] == []
    han = re.compile(r"[\u4e00-\u9fff]")
    shown = [f"ind_{n}" for n in names]
    shown += ["method_calorific_value", "method_coal_equivalent", "by_method", "by_method_title"]
    assert [k for k in shown if not han.search(labels[k][0])] == []  # Chinese
    assert [k for k in shown if not labels[k][1] or han.search(labels[k][1])] == []  # English


def test_ui_config_gives_the_thresholds_the_server_applies(client: TestClient) -> None:
    assert client.get("/api/v1/ui-config").status_code == 401
    r = client.get("/api/v1/ui-config", headers={"Authorization": f"Bearer {TENANT_KEY}"})
    assert r.status_code == 200
    assert r.json() == {"min_completeness_pct": 90.0, "stale_after_s": 60.0}
    assert r.json() == {
        "min_completeness_pct": MIN_COMPLETENESS_PCT,
        "stale_after_s": STALE_AFTER_S,
    }
