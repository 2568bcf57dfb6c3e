"""The pending-devices page end to end, in headless Chromium: a real `smartpark serve` and a real
`smartpark collect` on one real InfluxDB, devices publishing to real Mosquitto.

An unknown device publishes → its card appears on #/pending with its first topic and payload →
a malformed approval (an unknown unit; an id another operator approved meanwhile) shows the
field at fault next to the form, in Chinese, and changes nothing → the approval through the
form takes the device off the list, and its next readings are stored by the same collector
process → the device's page retires it, after a confirmation. A tenant key sees no tab and a
refusal. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
from playwright.sync_api import Browser, Page, expect

from api.main import STATIC_DIR
from config.auth import hash_token
from config.messages import message
from config.registry import REGISTRY_POLL_S, approved_dir, approved_file
from store import InfluxStore
from store.base import SeriesQuery
from tests.api.test_dashboard import ARTIFACTS, chromium, require_chromium
from tests.e2e.helpers import SmartparkProcess, forget_session, publish_all, wait_for
from tests.provisioning.park import PARK, write_registry
from tests.support.servers import InfluxService, MosquittoService, free_port

pytestmark = [pytest.mark.browser, pytest.mark.mosquitto, pytest.mark.influxdb, pytest.mark.slow]

BATCH_INTERVAL_S = 0.2
NEW = "rs-new"  # approved through the page
LATE = "rs-late"  # appears while the page is open; approved through the API meanwhile
OPERATOR = "pending-operator-key-0123456789abcdef0123456789"
TENANT = "pending-tenant-key-0123456789abcdef012345678901"
# how often the page refreshes its list [ms], as the page itself has it
PENDING_REFRESH_MS = int(
    re.search(
        r"PENDING_REFRESH_MS = (\d+);", (STATIC_DIR / "js" / "state.js").read_text(encoding="utf-8")
    ).group(1)  # type: ignore[union-attr]
)


def _show(page: Page, route: str) -> None:
    """Move the open page to ``route`` as a link inside it would: the same document, the key it
    holds. (In one CI run a ``page.goto`` to the tenant's ``#/pending`` found the page asking for a
    key: a second navigation racing the page's own redirect to the tenant's page.)"""
    page.evaluate("r => { window.location.hash = r; }", route)


def _zh(key: str, *args: object) -> str:
    return message(key, "zh", *args)


@dataclass
class Running:
    url: str
    serve: SmartparkProcess
    collector: SmartparkProcess
    store: InfluxStore
    mqtt_port: int
    data_dir: Path


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def running(
    mosquitto: MosquittoService, influxd: InfluxService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("pending-page")
    database = f"pend_{uuid.uuid4().hex[:10]}"
    registry = write_registry(tmp / "registry")
    keys = tmp / "keys.yaml"
    keys.write_text(
        f"- {{name: ops, role: operator, park: {PARK}, sha256: {hash_token(OPERATOR)}}}\n"
        f"- {{name: delta, role: tenant, park: {PARK}, tenant: delta, "
        f"sha256: {hash_token(TENANT)}}}\n",
        encoding="utf-8",
    )
    shared = {
        "SMARTPARK_STORE_URL": influxd.store_url(database),
        "SMARTPARK_REGISTRY": str(registry),
        "SMARTPARK_DATA_DIR": str(tmp / "data"),
    }
    client_id = f"collector-{database}"
    collector = SmartparkProcess(
        ["collect"],
        env={
            **shared,
            "SMARTPARK_MQTT_URL": mosquitto.url,
            "SMARTPARK_CLIENT_ID": client_id,
            "SMARTPARK_BATCH_INTERVAL_S": str(BATCH_INTERVAL_S),
            "SMARTPARK_LEDGER_FOLLOW": "false",
        },
        log_path=tmp / "collect.log",
    )
    port = free_port()
    serve = SmartparkProcess(
        ["serve", "--port", str(port)],
        env={**shared, "SMARTPARK_API_KEYS": str(keys), "SMARTPARK_ALARMS": "false"},
        log_path=tmp / "serve.log",
    )
    url = f"http://127.0.0.1:{port}"
    store = InfluxStore(influxd.store_url(database))
    try:
        wait_for(
            lambda: "subscribed to" in collector.output() or not collector.alive(),
            timeout_s=20,
            what="the collector to subscribe",
        )
        assert collector.alive(), collector.tail()
        wait_for(lambda: _answers(url) or not serve.alive(), timeout_s=20, what="serve")
        assert serve.alive(), serve.tail()
        yield Running(url, serve, collector, store, mosquitto.port, tmp / "data")
    finally:
        store.close()
        for proc in (serve, collector):
            if proc.alive():
                proc.interrupt(timeout_s=10)
            else:
                proc.kill()
        forget_session(mosquitto.port, client_id)
        influxd.drop_database(database)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as instance:
        yield instance


def _reading(device: str, power_w: float) -> tuple[str, bytes]:
    topic = f"parks/{PARK}/devices/{device}/telemetry"
    return topic, orjson.dumps({"ts": time.time_ns() // 10**6, "power": power_w})


def _api(running: Running, path: str) -> httpx.Response:
    return httpx.get(
        f"{running.url}/api/v1/parks/{PARK}{path}",
        headers={"Authorization": f"Bearer {OPERATOR}"},
        timeout=10,
    )


def _pending_ids(running: Running) -> list[str]:
    return [d["device"] for d in _api(running, "/devices/pending").json()["devices"]]


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_a_device_is_approved_through_the_page(running: Running, browser: Browser) -> None:
    pid = running.collector.pid
    publish_all(running.mqtt_port, [_reading(NEW, 1500.0)])
    wait_for(lambda: NEW in _pending_ids(running), timeout_s=10, what=f"{NEW} pending")

    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.clock.install()  # time flows; the 10 s refresh is fast-forwarded, not waited for
    page.goto(f"{running.url}/?park={PARK}#key={OPERATOR}")
    tab = page.locator('#tabs [data-tab="pending"]')
    expect(tab).to_be_visible(timeout=10_000)
    expect(tab).to_have_text(_zh("ui.tab_pending"))
    tab.click()
    card = page.locator(f'.pending-card[data-device="{NEW}"]')
    expect(card.locator(".pending-topic")).to_have_text(f"parks/{PARK}/devices/{NEW}/telemetry")
    expect(card.locator(".pending-payload")).to_contain_text('"power":1500.0')
    expect(card.locator(".pending-count")).to_have_text("1")

    # a device that starts publishing while the page is open shows up at the next refresh
    publish_all(running.mqtt_port, [_reading(LATE, 700.0)])
    wait_for(lambda: LATE in _pending_ids(running), timeout_s=10, what=f"{LATE} pending")
    late = page.locator(f'.pending-card[data-device="{LATE}"]')
    expect(late).to_have_count(0)
    page.clock.fast_forward(PENDING_REFRESH_MS)
    expect(late).to_have_count(1, timeout=5_000)

    # malformed: an unknown unit. The field is named next to its input, nothing is written
    form = card.locator("form.approve-form")
    form.locator('[data-field="building"]').select_option("hall")
    form.locator('[data-field="floor"]').select_option("1")
    expect(form.locator('[data-field="tenant"]')).to_have_value("delta")  # the floor's tenant
    form.locator('[data-field="parent"]').select_option("rs-grid")
    form.locator('[data-field="multiplier"]').fill("40")
    form.locator('[data-field="units.power"]').fill("furlongs")
    form.locator('button[type="submit"]').click()
    unit_error = form.locator('[data-error-for="units.power"]')
    expect(unit_error).to_have_text(
        f"{_zh('ui.pending_f_unit_of', 'power')}\uff1a{_zh('ui.pending_err_unknown_unit')}"
    )
    expect(form.locator('[data-field="units.power"]')).to_have_attribute("aria-invalid", "true")
    expect(form.locator(".form-msg")).to_have_text(_zh("ui.pending_fix"))
    _shot(page, "pending-page-field-error.png")
    approved = approved_file(approved_dir(running.data_dir), PARK)
    assert not approved.exists()
    assert _api(running, f"/devices/{NEW}").status_code == 404
    assert NEW in _pending_ids(running)

    # malformed: another operator approved LATE through the API meanwhile; the page's form now
    # names an id in use. Refused with the id named; the entry approved first stays as it was
    first = httpx.post(
        f"{running.url}/api/v1/parks/{PARK}/devices",
        headers={"Authorization": f"Bearer {OPERATOR}"},
        json={"id": LATE, "kind": "electricity_meter", "role": "load", "parent": "rs-grid"},
        timeout=10,
    )
    assert first.status_code == 201, first.text
    before = approved.read_bytes()
    late.locator('[data-field="name"]').fill("late meter")
    late.locator('button[type="submit"]').click()
    expect(late.locator('[data-error-for="id"]')).to_have_text(
        f"{_zh('ui.pending_f_id')}\uff1a{_zh('ui.pending_err_duplicate')}"
    )
    assert approved.read_bytes() == before

    # the approval through the page: the card leaves, and the list refreshes (LATE leaves too)
    form.locator('[data-field="units.power"]').fill("W")
    form.locator('button[type="submit"]').click()
    expect(page.locator(".pending-notice")).to_have_text(_zh("ui.pending_approved", NEW))
    approved_at = time.monotonic()
    expect(page.locator(".pending-card")).to_have_count(0)
    expect(page.locator(".pending-empty")).to_have_text(_zh("ui.pending_none"))
    device = _api(running, f"/devices/{NEW}").json()
    assert (device["tenant"], device["building"], device["floor"], device["parent"]) == (
        "delta",
        "hall",
        1,
        "rs-grid",
    )
    _shot(page, "pending-page-approved.png")

    # its next readings are stored by the same collector: 1500 W x 40 (CT) = 60 kW
    start_ns = time.time_ns() - 10**9
    stored: list[float] = []
    while not stored and time.monotonic() - approved_at < REGISTRY_POLL_S + 10:
        publish_all(running.mqtt_port, [_reading(NEW, 1500.0)])
        time.sleep(BATCH_INTERVAL_S)
        rows = running.store.series(
            SeriesQuery(PARK, NEW, "power_kw", start_ns, time.time_ns() + 10**9)
        )
        stored = [r.value for r in rows]
    assert stored, running.collector.tail()
    assert stored[0] == pytest.approx(60.0)
    assert running.collector.alive()
    assert running.collector.pid == pid  # no restart

    # retire it from its page, after a confirmation
    _show(page, f"#/d/{NEW}")
    retire = page.locator("#retire")
    retire.get_by_role("button", name=_zh("ui.retire")).click()
    expect(retire.locator(".retire-question")).to_have_text(_zh("ui.retire_confirm", NEW))
    assert _api(running, f"/devices/{NEW}").json()["retired"] is None  # not before "yes"
    retire.get_by_role("button", name=_zh("ui.retire_yes")).click()
    expect(page.locator(".retired-note")).to_contain_text(re.compile(r"^已于 .+ 停用$"))
    assert _api(running, f"/devices/{NEW}").json()["retired"] is not None
    assert errors == []
    page.close()


def test_a_tenant_key_has_no_pending_tab_and_is_refused(running: Running, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(f"{running.url}/?park={PARK}#key={TENANT}")
    expect(page.locator('#tabs [data-tab="tenant"]')).to_be_visible(timeout=10_000)
    expect(page.locator('#tabs [data-tab="pending"]')).to_be_hidden()
    _show(page, "#/pending")
    # the page loads its view after the tabs: on a busy machine (a full test run) over 5 s
    expect(page.locator("#refusal")).to_contain_text(_zh("ui.pending_refused"), timeout=15_000)
    assert (
        httpx.get(
            f"{running.url}/api/v1/parks/{PARK}/devices/pending",
            headers={"Authorization": f"Bearer {TENANT}"},
            timeout=10,
        ).status_code
        == 403
    )
    page.close()


def test_in_english_a_refused_field_reads_the_servers_sentence(
    running: Running, browser: Browser
) -> None:
    device = "rs-english"
    publish_all(running.mqtt_port, [_reading(device, 300.0)])
    wait_for(lambda: device in _pending_ids(running), timeout_s=10, what=f"{device} pending")
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(f"{running.url}/?park={PARK}&lang=en#key={OPERATOR}")
    expect(page.locator('#tabs [data-tab="pending"]')).to_have_text("Pending devices")
    _show(page, "#/pending")
    form = page.locator(f'form.approve-form[data-device="{device}"]')
    form.locator('[data-field="multiplier"]').fill("")  # the request's own validation refuses it
    form.locator('button[type="submit"]').click()
    error = form.locator('[data-error-for="multiplier"]')
    expect(error).to_have_text(re.compile(r"^Multiplier \(CT×PT\): \S.*"))
    assert not re.search(r"[\u4e00-\u9fff]", error.text_content() or "")
    assert device in _pending_ids(running)
    assert _api(running, f"/devices/{device}").status_code == 404
    page.close()
