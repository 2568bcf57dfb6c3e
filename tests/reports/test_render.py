"""The renderers: every number of the doc in every format, a PDF that opens and renders, a
self-contained HTML page, English without Chinese labels, and a clear error without CJK fonts."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from reports import fmt
from reports import render as render_module
from reports.i18n import LABELS, t
from reports.model import ProfileStatement, ReportDoc
from reports.render import CJK, MissingCJKFontError, cjk_fonts, render
from tests.reports.checks import (
    expected_numbers,
    number_problems,
    parse_html,
    pdf_text,
    read_pgm,
)
from tests.reports.sample import factory_doc, park_doc
from tests.support.catalogue import indicator_names

POPPLER = shutil.which("pdftotext") is not None and shutil.which("pdftoppm") is not None
IN_CI = os.environ.get("CI") == "true"  # in CI a missing tool fails the test instead of skipping it
needs_poppler = pytest.mark.skipif(not POPPLER and not IN_CI, reason="poppler-utils not installed")
needs_cjk = pytest.mark.skipif(
    not cjk_fonts() and not IN_CI, reason="no CJK font (apt-get install fonts-noto-cjk)"
)
KINDS = ["park", "factory"]
LANGS = ["zh", "en"]


@cache
def rendered(kind: str, fmt_: str, lang: str = "zh") -> bytes:
    doc = park_doc() if kind == "park" else factory_doc()
    return render(doc, fmt_, lang)  # type: ignore[arg-type]


def doc_of(kind: str) -> ReportDoc:
    return park_doc() if kind == "park" else factory_doc()


# --- JSON and CSV -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_json_is_the_doc(kind: str) -> None:
    raw = rendered(kind, "json")
    assert ReportDoc.model_validate_json(raw) == doc_of(kind)
    data = json.loads(raw)
    assert list(data) == list(ReportDoc.model_fields)  # the model's field order
    assert list(data["profile"]) == list(ProfileStatement.model_fields)
    assert "光谷示范园区" in raw.decode("utf-8")  # UTF-8, not \u-escaped
    assert rendered(kind, "json") == render(doc_of(kind), "json")  # stable


@pytest.mark.parametrize("kind", KINDS)
def test_csv_is_long_form_utf8_with_bom(kind: str) -> None:
    raw = rendered(kind, "csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["table", "row", "column", "value", "unit", "note"]
    assert all(len(r) == 6 for r in rows)
    tables = {r[0].split(":")[0] for r in rows[1:]}
    expected = {
        "report",
        "indicators",
        "targets",
        "monthly",
        "carriers",
        "factors",
        "accounting",
        "methods",
        "notes",
    }
    assert expected <= tables
    if kind == "park":
        assert {"tenants", "microgrid", "instruments"} <= tables
    missing = [r for r in rows if r[:3] == ["indicators", "kgco2_per_m2", "value"]]
    if kind == "park":  # a None value keeps its reason
        assert missing == [
            [
                "indicators",
                "kgco2_per_m2",
                "value",
                "",
                "kgCO2/m²",
                "floors without area_m2 in the registry: tower-a/3, plant-1/2",
            ]
        ]


# --- every number in every format -----------------------------------------------------------


@needs_poppler
@needs_cjk
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_number_is_in_every_format(kind: str, lang: str, tmp_path: Path) -> None:
    """Each number of the JSON: in the CSV exactly (repr), in its HTML row (data-row) and in
    its PDF section as the format function writes it, counted: a row showing 1.8 twice must
    show it twice."""
    doc = doc_of(kind)
    wanted = expected_numbers(doc)
    assert len(wanted) > 200 if kind == "park" else len(wanted) > 80

    problems = number_problems(
        doc,
        rendered(kind, "csv"),
        rendered(kind, "html", lang).decode("utf-8"),
        pdf_text(rendered(kind, "pdf", lang), tmp_path),
        lang,  # type: ignore[arg-type]
    )
    assert not problems, "\n".join(problems)


@needs_poppler
@needs_cjk
def test_the_number_check_finds_a_missing_or_wrong_number(tmp_path: Path) -> None:
    """The check of the test above is not vacuous: one number shown wrong, one row's number
    gone from the PDF text, one CSV value rounded — each is reported."""
    doc = park_doc()
    csv_raw = rendered("park", "csv")
    html = rendered("park", "html").decode("utf-8")
    text = pdf_text(rendered("park", "pdf"), tmp_path)
    assert number_problems(doc, csv_raw, html, text, "zh") == []
    wrong_html = html.replace('<td class="n">1.813', '<td class="n">1.812', 1)
    assert wrong_html != html
    problems = number_problems(doc, csv_raw, wrong_html, text, "zh")
    assert [p.split(" {")[0] for p in problems] == [
        "HTML targets:zero_carbon_park:carbon_per_energy: lacks"
    ]
    no_tenant = text.replace("412,987,654", "", 1)
    assert any(
        p.startswith("PDF tenants") for p in number_problems(doc, csv_raw, html, no_tenant, "zh")
    )
    rounded = csv_raw.replace(b"238850.574", b"238850.57", 1)
    assert any(
        p.startswith("CSV ('indicators'") for p in number_problems(doc, rounded, html, text, "zh")
    )


def test_format_function() -> None:
    assert fmt.number(238850.574, "tce") == "238,851"
    assert fmt.number(1.812784, "tCO2/tce") == "1.813"
    assert fmt.number(0.2) == "0.2"
    assert fmt.number(0.048731, "fraction") == "4.87%"
    assert fmt.number(97.83, "%") == "97.83%"
    assert fmt.number(0.0071) == "0.0071"
    assert fmt.number(None) == fmt.number(float("nan")) == "—"
    assert fmt.gap(-0.851269, "fraction") == "-85.13 pp"
    assert fmt.gap(1.612784, "tCO2/tce") == "+1.613"
    assert fmt.year(2026) == "2026"


def test_unknown_keys_fall_back_to_the_key() -> None:
    assert t("some_new_indicator", "zh") == "some_new_indicator"
    assert t("tco2_per_tce", "zh") == "单位能耗碳排放"
    assert t("tco2_per_tce", "en") == "CO2 per tce"
    assert [k for k, (_, en) in LABELS.items() if CJK.search(en)] == []
    assert [
        k for k, (zh, en) in LABELS.items() if not zh or (not en and not k.startswith("page."))
    ] == []


def test_every_indicator_has_a_label_in_both_languages(tmp_path: Path) -> None:
    names = indicator_names(tmp_path)
    # the keys the accounting issue added are among those the reports compute
    assert {
        "tco2_per_tce_calorific_value",
        "tco2_per_tce_coal_equivalent",
        "tco2_per_tce_location",
        "billed_demand_kw",
        "pv_performance_ratio",
    } <= set(names)
    assert [n for n in names if n not in LABELS] == []
    assert [n for n in names if not CJK.search(t(n, "zh")) or CJK.search(t(n, "en"))] == []


# --- the PDF opens and renders --------------------------------------------------------------


@needs_poppler
@needs_cjk
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_pdf_renders_every_page(kind: str, lang: str, tmp_path: Path) -> None:
    pdf = rendered(kind, "pdf", lang)
    assert pdf.startswith(b"%PDF-")
    (tmp_path / "r.pdf").write_bytes(pdf)
    info = subprocess.run(
        ["pdfinfo", str(tmp_path / "r.pdf")], capture_output=True, text=True, check=True
    ).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert "A4" in info or "595.276 x 841.89" in info, info
    assert 2 <= pages <= 12
    subprocess.run(
        ["pdftoppm", "-gray", "-r", "50", str(tmp_path / "r.pdf"), str(tmp_path / "page")],
        check=True,
        timeout=120,
    )
    images = sorted(tmp_path.glob("page-*.pgm"))
    assert len(images) == pages
    for image in images:
        width, height, pixels = read_pgm(image)
        assert abs(width - 413) <= 1
        assert abs(height - 585) <= 1
        mean = sum(pixels) / len(pixels)
        variance = sum((p - mean) ** 2 for p in pixels) / len(pixels)
        dark = sum(1 for p in pixels if p < 128)
        assert variance > 100, f"{image.name} looks blank (variance {variance:.1f})"
        assert dark > 200, f"{image.name} has almost no ink ({dark} dark pixels)"
    text = pdf_text(pdf, tmp_path)
    if lang == "zh":
        assert "目标评价" in text
        assert re.search(rf"第\s*1\s*页\s*/\s*共\s*{pages}\s*页", text)
        assert "\ufffd" not in text
    else:
        assert "Targets" in text
        assert f"Page 1 of {pages}" in text


# --- a self-contained HTML page ------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_html_has_no_external_or_broken_reference(kind: str, lang: str) -> None:
    page = rendered(kind, "html", lang).decode("utf-8")
    html = parse_html(page)
    for tag, name, value in html.refs:
        if value.startswith("#"):
            assert value[1:] in html.ids, f"<{tag} {name}={value}> points nowhere"
        else:
            assert value.startswith("data:"), f"<{tag} {name}={value}> is external"
    assert html.refs, "the contents links are gone"
    assert "http" not in page.lower()
    assert "//" not in page
    assert "url(" not in page
    assert "@import" not in page
    assert page.count('class="chart"') >= 2


# --- English ---------------------------------------------------------------------------------


def _data_strings(doc: ReportDoc) -> list[str]:
    out: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(k)
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)

    walk(doc.model_dump(mode="json"))
    return sorted(set(out), key=len, reverse=True)


@pytest.mark.parametrize("kind", KINDS)
def test_english_has_chinese_only_in_data(kind: str) -> None:
    """lang="en": every label is English; Chinese remains only inside strings that come from
    the data (park and tenant names, target titles, documents, sources, notes), shown as
    they are."""
    doc = doc_of(kind)
    page = rendered(kind, "html", "en").decode("utf-8")
    assert '<html lang="en">' in page
    text = " ".join(parse_html(page).text)
    title = re.search(r"<title>(.*?)</title>", page, re.DOTALL).group(1)  # type: ignore[union-attr]
    for value in _data_strings(doc):
        text = text.replace(value, " ")
        title = title.replace(value, " ")
    assert not CJK.findall(text), sorted(set(CJK.findall(text)))
    assert not CJK.findall(title)
    chinese = rendered(kind, "html", "zh").decode("utf-8")
    assert "目标评价" in chinese
    assert "Targets" not in chinese


@needs_poppler
@needs_cjk
def test_english_pdf_has_chinese_only_from_data(tmp_path: Path) -> None:
    allowed = set("".join(CJK.findall(" ".join(_data_strings(park_doc())))))
    text = pdf_text(rendered("park", "pdf", "en"), tmp_path)
    assert set(CJK.findall(text)) <= allowed


# --- fonts -------------------------------------------------------------------------------------


def test_chinese_pdf_without_cjk_fonts_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render_module, "cjk_fonts", list)
    with pytest.raises(MissingCJKFontError, match=r"apt-get install fonts-noto-cjk"):
        render(park_doc(), "pdf", "zh")
    with pytest.raises(MissingCJKFontError):  # English with Chinese names needs them too
        render(park_doc(), "pdf", "en")


@needs_cjk
def test_cjk_fonts_are_found() -> None:
    assert any("CJK" in f or "WenQuanYi" in f or "SC" in f for f in cjk_fonts())


def test_render_refuses_unknown_format_and_language(park: ReportDoc) -> None:
    with pytest.raises(ValueError, match="unknown format"):
        render(park, "docx")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown language"):
        render(park, "json", "fr")  # type: ignore[arg-type]
