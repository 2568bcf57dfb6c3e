"""Every page of the dashboard, in Chinese and in English, shows no untranslated key and no raw
identifier: no ``energy_kwh``, ``central_china`` or ``electricity_meter`` (nor "electricity
meter" in the Chinese page), and English counts things right ("1 device", never "device(s)" or
"3 × Building").

The pages are those of ``test_dashboard_pages`` (two parks; city, operator and tenant keys), read
as a person reads them: ``innerText`` of the page once its panels have loaded, and the tooltips
(``title``) where the page says why a value is missing. In Chinese, no English reason of the
catalogue (``reason.*``, the services' wording) may stand in either.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from config.alarm_rules import AlarmKind
from config.messages import catalogue
from config.registry import DeviceKind, demo_registry_path, load_registry
from tests.api.test_dashboard_pages import (
    LOADING,
    OTHER_PARK,
    PARK,
    TOKENS,
    Pages,
    open_page,
)
from tests.api.test_dashboard_pages import browser as browser  # noqa: PLC0414 (fixture)
from tests.api.test_dashboard_pages import pages as pages  # noqa: PLC0414 (fixture)

pytestmark = pytest.mark.browser

SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
"""A snake_case identifier (``energy_kwh``, ``tab_overview``, ``device_kind.battery``)."""
HAN = re.compile(r"[\u4e00-\u9fff]")
REGIONS = ("central_china", "east_china", "north_china")


def _demo() -> tuple[list[str], list[str]]:
    park = load_registry(demo_registry_path()).parks[PARK]
    one_per_kind: dict[str, str] = {}
    for device in park.devices:
        one_per_kind.setdefault(device.kind.value, device.id)
    buildings = [b.id for b in park.buildings]
    floor = next(f"#/b/{b.id}/f/{f.number}" for b in park.buildings for f in b.floors if f.tenant)
    routes = ["#/", "#/buildings", f"#/b/{buildings[0]}", floor, "#/tenants"]
    routes += [f"#/t/{t.id}" for t in park.tenants[:2]]
    return routes, sorted(one_per_kind.values())


ROUTES, DEVICES = _demo()


def _english_words() -> list[str]:
    """What must not stand in the Chinese page: the kinds, fields, regions and alarm kinds
    in English, and the identifiers spelled as words ("electricity meter")."""
    words = {k.value.replace("_", " ") for k in DeviceKind}
    words |= {k.value.replace("_", " ") for k in AlarmKind if "_" in k.value}
    words |= {r.replace("_", " ") for r in REGIONS}
    for key, entry in catalogue().items():
        en = entry.en
        named = key.startswith(("device_kind.", "field.", "region."))
        if named and isinstance(en, str) and not HAN.search(en) and " " in en:
            words.add(en.lower())
    return sorted(words)


ENGLISH_WORDS = _english_words()


def _english_reasons() -> list[str]:
    """The literal pieces (between placeholders, 12 characters or more) of every English reason
    of the catalogue: the services' wording, which the Chinese page must not show."""
    pieces: set[str] = set()
    for key, entry in catalogue().items():
        if key.startswith("reason.") and isinstance(entry.en, str):
            pieces |= {p.strip() for p in re.split(r"\{\w+\}", entry.en) if len(p.strip()) >= 12}
    return sorted(pieces)


ENGLISH_REASONS = _english_reasons()


def _data_names() -> list[str]:
    """The registry's own strings (names of parks, buildings, tenants and devices, sectors): data,
    shown as the registry has them, whatever the language."""
    names: set[str] = set()
    for registry in load_registry(demo_registry_path()).parks.values():
        names.add(registry.park.name)
        names |= {b.name for b in registry.buildings}
        names |= {t.name for t in registry.tenants} | {t.sector or "" for t in registry.tenants}
        names |= {d.name or "" for d in registry.devices}
    return sorted((n for n in names if n), key=len, reverse=True)


DATA_NAMES = _data_names()


def settled_text(page: Page) -> str:
    """The page's visible text once no panel says "loading" any more, then its tooltips."""
    expect(page.locator("#view")).not_to_be_empty(timeout=15_000)
    expect(page.get_by_text(LOADING)).to_have_count(0, timeout=20_000)
    text = str(page.evaluate("document.body.innerText"))
    titles = page.evaluate("[...document.querySelectorAll('[title]')].map((e) => e.title)")
    return "\n".join([text, *(str(t) for t in titles if t)])


def problems(text: str, lang: str) -> list[str]:
    """What a person should not read in ``text``: identifiers, and in Chinese English terms;
    in English, counts written "(s)" or "N × thing"."""
    for name in DATA_NAMES:
        text = text.replace(name, "")
    found = [f"identifier {m!r}" for m in sorted(set(SNAKE.findall(text)))]
    if lang == "zh":
        lower = text.lower()
        found += [f"English {w!r}" for w in ENGLISH_WORDS if w in lower]
        found += [f"English reason {r!r}" for r in ENGLISH_REASONS if r in text]
    else:
        found += [f"plural {m!r}" for m in re.findall(r"\w+\(s\)|\d+ × \w+", text)]
    return found


def test_the_check_finds_what_it_looks_for() -> None:
    """Not vacuous: each kind of slip is reported, and good text is not."""
    assert problems("电能表 · 功率 12.0 kW · 华中电网", "zh") == []
    assert problems("2 devices · 1 floor · Central China grid", "en") == []
    assert problems("energy_kwh · 12 kWh", "zh") == ["identifier 'energy_kwh'"]
    assert problems("类型 electricity meter", "zh") == ["English 'electricity meter'"]
    assert problems("区域 central_china", "zh") == [
        "identifier 'central_china'",
    ]
    split = "a park-level indicator: the park's PV, battery and grid connection are not split to"
    assert f"English reason {split!r}" in problems(f"光伏自用率 {split} tenant:t01", "zh")
    assert problems("光伏自用率 园区级指标 园区的光伏、储能和电网接入不分摊到企业 t01", "zh") == []
    assert problems("1 device(s) · 3 × Building", "en") == [
        "plural 'device(s)'",
        "plural '3 × Building'",
    ]


@pytest.fixture(scope="module")
def read_pages(pages: Pages, browser: Browser) -> dict[tuple[str, str], str]:
    """Every page's text in both languages, read once: (lang, route) → text."""
    texts: dict[tuple[str, str], str] = {}
    for lang in ("zh", "en"):
        for key, routes in (
            ("operator", ROUTES + [f"#/d/{d}" for d in DEVICES]),
            ("city", ["#/city", f"#/?park={OTHER_PARK}"]),
            ("chipcore", ["#/t/chipcore"]),
        ):
            w = open_page(browser, 1366, 768, english=lang == "en")
            page = w.page
            page.goto(f"{pages.url}/#key={TOKENS[key]}")
            expect(page.locator("#park-name")).not_to_have_text(LOADING, timeout=15_000)
            for route in routes:
                if route.startswith("#/?"):
                    page.goto(f"{pages.url}/{route.removeprefix('#/')}")
                else:
                    page.evaluate("r => { window.location.hash = r; }", route)
                texts[(lang, f"{key} {route}")] = settled_text(page)
            assert w.errors == [], w.errors
            page.close()
    return texts


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_page_shows_an_identifier_or_an_untranslated_term(
    read_pages: dict[tuple[str, str], str], lang: str
) -> None:
    shown = {route: text for (lg, route), text in read_pages.items() if lg == lang}
    assert len(shown) == len(ROUTES) + len(DEVICES) + 3
    # the pages did render, in their language
    for route, text in shown.items():
        assert len(text) > 40, route
        if lang == "zh":
            assert HAN.search(text), route
    found = {route: problems(text, lang) for route, text in shown.items()}
    assert {r: p for r, p in found.items() if p} == {}


def test_kinds_fields_and_regions_read_in_the_pages_language(
    read_pages: dict[tuple[str, str], str],
) -> None:
    zh = read_pages[("zh", f"operator #/d/{DEVICES[0]}")]
    en = read_pages[("en", f"operator #/d/{DEVICES[0]}")]
    battery = catalogue()["device_kind.battery"]
    assert any(battery.zh in read_pages[("zh", f"operator #/d/{d}")] for d in DEVICES)
    assert any(battery.en in read_pages[("en", f"operator #/d/{d}")] for d in DEVICES)
    assert "功率" in zh or "累计" in zh
    assert "Power" in en or "register" in en
    assert "华中电网" in read_pages[("zh", "city #/city")]
    assert "Central China grid" in read_pages[("en", "city #/city")]
    # English counts: the riverside park has one tenant and one building
    meta = read_pages[("en", f"city #/?park={OTHER_PARK}")]
    assert re.search(r"\b2 devices · 1 building · 1 tenant\b", meta), meta
    assert re.search(
        r"2 台设备 · 1 栋楼宇 · 1 家企业", read_pages[("zh", f"city #/?park={OTHER_PARK}")]
    )
