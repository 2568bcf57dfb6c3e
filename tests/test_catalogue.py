"""The one message catalogue (``config/messages/``): every key in both languages with the same
placeholders, English plurals, every name the registry, the store and the alarm engine show has
an entry, the dashboard's keys exist, the API serves it without a key, the reports' functions
read it, and every report section in Chinese shows no raw identifier."""

from __future__ import annotations

import html as html_lib
import re
import string
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from analytics.intervals import IssueCode, Quality
from api.main import STATIC_DIR, create_app
from api.routes.parks import stored_fields
from config.alarm_rules import AlarmKind, Severity
from config.messages import (
    CatalogueError,
    catalogue,
    load_catalogue,
    message,
    reason_key,
    reason_text,
    scope_name,
    template,
    texts,
    yaml_from_block,
)
from config.registry import DeviceKind, Role, demo_registry_path, load_registry
from config.settings import Settings
from reports import i18n
from reports.model import ReportDoc
from reports.render import render_html
from services.alarms.records import Alarm, describe
from services.indicators import model as indicator_model
from store.embedded import EmbeddedStore
from tests.reports.sample import factory_doc, park_doc

HAN = re.compile(r"[\u4e00-\u9fff]")
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def _forms(text: object) -> list[str]:
    return [text] if isinstance(text, str) else list(text.values())  # type: ignore[attr-defined]


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


# --- the catalogue itself -------------------------------------------------------------------


def test_every_key_has_both_languages_with_the_same_placeholders() -> None:
    entries = catalogue()
    assert len(entries) > 500  # reports, dashboard, vocabulary: all read
    wrong = []
    for key, entry in entries.items():
        zh, en = _forms(entry.zh), _forms(entry.en)
        if not all(zh) or any(HAN.search(e) for e in en):
            wrong.append(f"{key}: language")
        if not all(en) and not key.startswith("page."):  # "第 3 页" reads "" after it in English
            wrong.append(f"{key}: no English")
        if len({frozenset(_fields(x)) for x in zh + en}) != 1:
            wrong.append(f"{key}: placeholders differ")
    assert wrong == []


def test_english_counts_things_right() -> None:
    assert message("ui.n_devices", "en", 1) == "1 device"
    assert message("ui.n_devices", "en", 52) == "52 devices"
    assert message("ui.n_devices", "zh", 1) == "1 台设备"
    assert message("ui.n_floors", "en", 1) == "1 floor"
    assert message("ui.n_buildings", "en", 0) == "0 buildings"
    assert i18n.plural("ui.n_tenants", 1, "en") == "1 tenant"
    assert i18n.plural("ui.n_tenants", 3, "en") == "3 tenants"
    assert message("verify.faults", "en", n=1, count=1) == "1 fault injected"
    assert message("verify.n_device_days", "en", n=2, count=2) == "2 device-days"
    assert message("verify.faults", "zh", n=1, count=1) == "注入故障 1 次"
    # no English text counts with "(s)"
    assert [k for k, e in catalogue().items() if any("(s)" in x for x in _forms(e.en))] == []


def test_the_loader_refuses_a_duplicate_a_missing_language_and_bad_plural_forms(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.yaml").write_text('"x.one": ["一", "one"]\n"x.two": ["二"]\n', encoding="utf-8")
    (tmp_path / "b.yaml").write_text(
        '"x.ok": ["好", "ok"]\n"x.one": ["一", "one"]\n"x.n": {zh: "{0} 个", en: {other: "{0}"}}\n',
        encoding="utf-8",
    )
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(tmp_path)
    assert [(Path(p.file).name, p.line, p.message) for p in caught.value.problems] == [
        ("a.yaml", 2, "x.two: an entry is [Chinese, English] or {zh: …, en: …}"),
        ("b.yaml", 2, f"x.one: already in {tmp_path / 'a.yaml'}:1"),
        ("b.yaml", 3, "x.n: en plural forms must be one, other"),
    ]
    (tmp_path / "a.yaml").write_text('"x.two": ["", "two"]\n', encoding="utf-8")
    (tmp_path / "b.yaml").unlink()
    with pytest.raises(CatalogueError, match=r"x\.two: no zh text"):
        load_catalogue(tmp_path)


def test_an_unknown_key_shows_as_itself() -> None:
    assert template("no.such.key", "zh") == "no.such.key"
    assert i18n.t("no_such_indicator", "en") == "no_such_indicator"


# --- what the registry, the store and the engine name ---------------------------------------


def test_every_kind_field_region_province_and_code_has_an_entry() -> None:
    keys = set(catalogue())
    wanted = [f"device_kind.{k.value}" for k in DeviceKind]
    wanted += [f"field.{f.name}" for k in DeviceKind for f in stored_fields(k)]
    wanted += [f"region.{r}" for r in indicator_model._GRID_REGIONS]
    wanted += [f"province.{p}" for p in indicator_model._PROVINCES]
    wanted += [f"alarm_kind.{k.value}" for k in AlarmKind]
    wanted += [f"alarm.{k.value}" for k in AlarmKind]
    wanted += [f"ledger_issue.{c.value}" for c in IssueCode]
    wanted += [f"ui.q_{q.name.lower()}" for q in Quality]
    wanted += [f"ui.role_{r.value}" for r in Role]
    wanted += [f"ui.sev_{s.value}" for s in Severity]
    assert len(wanted) > 100
    assert sorted(set(wanted) - keys) == []


def test_every_key_the_dashboard_names_exists() -> None:
    named = {
        m
        for path in STATIC_DIR.rglob("*.js")
        for m in re.findall(r'\bt\("([A-Za-z0-9_.]+)"', path.read_text(encoding="utf-8"))
    }
    assert len(named) > 100  # the page's calls were read
    keys = set(catalogue())
    assert sorted(k for k in named if f"ui.{k}" not in keys and k not in keys) == []


def test_alarm_messages_read_in_both_languages() -> None:
    for kind in AlarmKind:
        alarm = Alarm("p1", "r", "tower-a-f01", kind, Severity.WARNING, 182.0, 160.0, 0)
        zh, en = describe(alarm, None, "zh"), describe(alarm, None, "en")
        assert zh.startswith("tower-a-f01\uff1a"), zh
        assert HAN.search(zh), zh
        assert en.startswith("tower-a-f01: "), en
        assert not HAN.search(en), en
        assert not SNAKE.search(zh.replace("tower-a-f01", "")), zh
    park_wide = Alarm("p1", "r", None, AlarmKind.SPOOL_GROWING, Severity.WARNING, 5e6, 0.0, 0)
    assert describe(park_wide, None, "zh").startswith("园区 p1\uff1a")
    assert describe(park_wide, None, "en") == (
        "park p1: the collector's spool is growing (5e+06 bytes): the store lags"
    )


# --- served to the page ---------------------------------------------------------------------


def test_the_api_serves_the_catalogue_without_a_key(tmp_path: Path) -> None:
    app = create_app(
        settings=Settings(_env_file=None, data_dir=tmp_path),
        store=EmbeddedStore(tmp_path / "s.sqlite3"),
        registry=load_registry(demo_registry_path()),
    )
    with TestClient(app) as client:
        zh = client.get("/messages", params={"lang": "zh"})
        en = client.get("/messages", params={"lang": "en"})
        assert zh.status_code == en.status_code == 200
        assert zh.json()["messages"] == texts("zh")
        assert zh.json()["messages"]["ui.loading"] == "加载中…"
        assert en.json()["messages"]["ui.n_devices"] == {
            "one": "{0} device",
            "other": "{0} devices",
        }
        assert en.json()["messages"]["region.central_china"] == "Central China grid"
        assert client.get("/messages", params={"lang": "fr"}).status_code == 422


# --- the reports ----------------------------------------------------------------------------


def test_the_reports_functions_keep_their_keys() -> None:
    assert len(i18n.LABELS) == len(catalogue())
    assert i18n.t("section.targets", "zh") == "目标评价"
    assert i18n.t("section.targets", "en") == "Targets"
    assert i18n.t("section.targets") == "目标评价"  # Chinese by default
    assert i18n.unit("fraction", "en") == "%"
    assert i18n.unit("kWh", "zh") == "kWh"
    assert i18n.unit(None) == ""
    assert i18n.method("calorific_value", "zh").startswith("当量值")
    assert i18n.LABELS["factor.row"] == ("因子表第 {n} 行", "factor table row {n}")


def _sections(html: str) -> dict[str, str]:
    """The visible text of each ``<section data-section=…>`` of a rendered report."""
    html = re.sub(r"<(style|script)\b.*?</\1>", " ", html, flags=re.DOTALL)
    found = {}
    for name, body in re.findall(
        r'<section data-section="([a-z]+)">(.*?)</section>', html, flags=re.DOTALL
    ):
        found[name] = re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", body)))
    return found


def _data_strings(doc: ReportDoc) -> list[str]:
    """What a report shows as its data has it: factor ids (``grid_average:CN-HB:2023``), tenant
    ids and sectors, and the reasons the indicators and targets give (services/indicators: in
    English)."""
    found = [f.key for f in doc.factors]
    found += [s.key for s in doc.tenants] + [s.sector or "" for s in doc.tenants]
    found += [i.reason or "" for i in doc.indicators] + [i.reason or "" for i in doc.microgrid]
    found += [r.reason or "" for b in doc.targets for r in b.rows]
    return sorted((s for s in found if s), key=len, reverse=True)


@pytest.mark.parametrize("kind", ["park", "factory"])
def test_every_report_section_in_chinese_shows_no_identifier(kind: str) -> None:
    doc = park_doc() if kind == "park" else factory_doc()
    sections = _sections(render_html(doc, "zh"))
    assert {"summary", "targets", "factors", "accounting", "notes"} <= set(sections)
    problems = {}
    for name, text in sections.items():
        assert HAN.search(text), name
        rest = text
        for data in _data_strings(doc):
            rest = rest.replace(data, "")
        shown = sorted(set(SNAKE.findall(rest)))
        shown += [w for w in ("calorific value", "equivalent value", "central china") if w in rest]
        if shown:
            problems[name] = shown
    assert problems == {}
    accounting = sections["accounting"]
    assert "区域电网: 华中电网" in accounting, accounting


def test_a_block_of_old_entries_moves_into_the_catalogue_unchanged(tmp_path: Path) -> None:
    """How a block written the old way on another branch (the "city" and "plausibility" blocks)
    joins: converted line for line, loaded, every text kept."""
    python_block = (
        '    # city\n    "city.rank": ("排名", "Rank"),\n'
        '    "city.note": (\n        "按园区比较", \n        "compared by park"\n    ),\n'
    )
    js_block = '  // plausibility\n  plaus_withheld: ["暂不显示 {0}", "withheld: {0}"],\n'
    (tmp_path / "city.yaml").write_text(yaml_from_block(python_block), encoding="utf-8")
    (tmp_path / "plaus.yaml").write_text(yaml_from_block(js_block, "ui."), encoding="utf-8")
    loaded = load_catalogue(tmp_path)
    assert {k: (e.zh, e.en) for k, e in loaded.items()} == {
        "city.rank": ("排名", "Rank"),
        "city.note": ("按园区比较", "compared by park"),
        "ui.plaus_withheld": ("暂不显示 {0}", "withheld: {0}"),
    }


# a value of each kind of placeholder a reason.* text has (see config/messages/reasons.yaml)
REASON_VALUES = {
    "flow": "grid import",
    "scope": "tenant:t01",
    "item": "comprehensive_energy_tce",
    "items": "water_reuse, industrial_value_added_10k_cny",
    "reason": "comprehensive energy is 0",
    "rule": "province → grid region → national",
    "method": "calorific value (GB/T 2589-2020)",
}


def _reason_entries() -> list[tuple[str, str]]:
    return [
        (k, str(e.en))
        for k, e in catalogue().items()
        if k.startswith("reason.") and not k.startswith(("reason.rule.", "reason.method."))
    ]


def test_every_reason_is_found_again_from_its_english_and_reads_chinese() -> None:
    entries = _reason_entries()
    assert len(entries) > 40
    for key, en in entries:
        names = {f for _, f, _, _ in string.Formatter().parse(en) if f}
        values = {n: REASON_VALUES.get(n, "2025-02") for n in names}
        said = en.format(**values)
        assert reason_key(said) == (key, values), said
        zh = reason_text(said, "zh")
        assert zh is not None
        # the identifiers and English words of the placeholders are labels now
        assert not SNAKE.search(zh), zh
        assert not re.search(r"[A-Za-z]{3,}", re.sub(r"GB/T|\btce\b", "", zh)), zh


def test_several_reasons_and_unknown_ones() -> None:
    both = "no production counter in park; water_reuse not declared"
    assert reason_text(both, "zh") == "园区无产量计数器；未申报工业用水重复利用率"  # noqa: RUF001
    assert reason_text(both, "en") == (
        "no production counter in park; Industrial water reuse not declared"
    )
    assert reason_text("something new happened", "zh") == "something new happened"
    assert reason_text(None, "zh") is None
    # a placeholder must hold what its name says: an unknown flow is no match
    assert reason_key("no teleporter data in this period") is None
    assert scope_name("floor:tower-a/3", "zh") == "楼层「tower-a/3」"
    assert scope_name("nonsense", "zh") is None


@pytest.mark.parametrize(
    "said",
    [
        "no PV",
        "no maximum demand known in this period",
        "no discharge data in this period",
        "no charge in this period",
        "no electricity consumption meter in tenant:t01",
        "no flat energy price: set the park's tariff in the registry or pass "
        "flat_price_cny_per_kwh (cost = flat price × ratio_weighted_kwh)",
    ],
)
def test_the_microgrid_and_cost_reasons_are_worded_in_chinese(said: str) -> None:
    # services/indicators/microgrid.py, cost.py and basis.py write these as they are: the API's
    # reason_zh must not send them in English
    assert reason_key(said) is not None, said
    zh = reason_text(said, "zh")
    assert zh is not None
    assert HAN.search(zh), zh
    assert not re.search(r"[A-Za-z]{3,}", zh), zh
