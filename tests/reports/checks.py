"""Helpers of the report tests: which numbers a doc holds and how the reports must show them,
HTML text per data-row, PDF text per section, and a PGM reader."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from reports import fmt
from reports.i18n import Lang, t
from reports.model import ReportDoc

NUMBER = re.compile(r"(?<![0-9A-Za-z.,_])[-+]?\d[\d,]*(?:\.\d+)?%?")
VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


def tokens(text: str) -> Counter[str]:
    """The numbers in ``text`` as the format function writes them (sign, separators, %)."""
    return Counter(m.group() for m in NUMBER.finditer(text))


@dataclass(frozen=True)
class Expected:
    path: tuple[str | int, ...]
    value: float | int
    csv: tuple[str, str, str]  # table, row, column
    row: str  # the data-row of the HTML element showing it
    section: str  # the section of the report showing it
    shown: str  # as the format function formats it


def _walk(data: Any, path: tuple[str | int, ...] = ()) -> list[tuple[tuple[str | int, ...], Any]]:
    if isinstance(data, dict):
        return [leaf for k, v in data.items() for leaf in _walk(v, (*path, k))]
    if isinstance(data, list):
        return [leaf for k, v in enumerate(data) for leaf in _walk(v, (*path, k))]
    return [(path, data)]


TENANT_UNITS = {
    "electricity_kwh": "kWh",
    "tce": "tce",
    "tco2": "tCO2",
    "tco2_per_tce": "tCO2/tce",
    "cost_cny": "CNY",
    "completeness_pct": "%",
}
TARGET_FIELDS = {
    "value",
    "threshold",
    "gap",
    "completeness_pct",
    "score",
    "ytd",
    "projected",
    "projected_sigma",
}


def expected_numbers(doc: ReportDoc) -> list[Expected]:
    """Every number of the doc's JSON, where the CSV and the HTML/PDF must show it and how.
    A number at a path this does not know fails the test: a new field must be shown."""
    data = doc.model_dump(mode="json")
    units = {i.key: i.unit for i in doc.indicators}
    out = []
    for path, value in _walk(data):
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        out.append(_expect(doc, data, units, path, value))
    return out


def _expect(
    doc: ReportDoc,
    data: dict[str, Any],
    units: dict[str, str],
    path: tuple[str | int, ...],
    value: float,
) -> Expected:
    def make(csv: tuple[str, str, str], row: str, section: str, shown: str) -> Expected:
        return Expected(path, value, csv, row, section, shown)

    match path:
        case ("year",):
            return make(("report", "report", "year"), "header", "header", fmt.year(int(value)))
        case ("completeness_pct",):
            return make(
                ("report", "report", "completeness_pct"),
                "summary",
                "summary",
                fmt.number(value, "%"),
            )
        case ("indicators" | "microgrid" as table, int(i), "value" | "completeness_pct" as f):
            ind = data[table][i]
            unit = ind["unit"] if f == "value" else "%"
            return make(
                (table, ind["key"], f), f"{table}:{ind['key']}", table, fmt.number(value, unit)
            )
        case ("targets", int(b), "year"):
            key = data["targets"][b]["key"]
            return make(
                (f"targets:{key}", "", "year"), f"targets:{key}", "targets", fmt.year(int(value))
            )
        case ("targets", int(b), "rows", int(r), str(f)) if f in TARGET_FIELDS:
            block, row = data["targets"][b], data["targets"][b]["rows"][r]
            unit = {"completeness_pct": "%", "score": "score"}.get(f, row["unit"])
            shown = fmt.gap(value, unit) if f == "gap" else fmt.number(value, unit)
            return make(
                (f"targets:{block['key']}", row["key"], f),
                f"targets:{block['key']}:{row['key']}",
                "targets",
                shown,
            )
        case ("monthly", int(m), "values", str(key)):
            month = data["monthly"][m]["month"]
            return make(
                ("monthly", month, key),
                f"monthly:{month}",
                "monthly",
                fmt.number(value, units.get(key)),
            )
        case ("monthly", int(m), "completeness_pct"):
            month = data["monthly"][m]["month"]
            return make(
                ("monthly", month, "completeness_pct"),
                f"monthly:{month}",
                "monthly",
                fmt.number(value, "%"),
            )
        case ("carriers", int(c), str(f)):
            carrier = data["carriers"][c]
            unit = {"quantity": carrier["unit"], "tce": "tce", "tco2": "tCO2"}.get(f, "%")
            return make(
                ("carriers", carrier["carrier"], f),
                f"carriers:{carrier['carrier']}",
                "carriers",
                fmt.number(value, unit),
            )
        case ("tenants", int(s), str(f)) if f in TENANT_UNITS:
            key = data["tenants"][s]["key"]
            return make(
                ("tenants", key, f), f"tenants:{key}", "tenants", fmt.number(value, TENANT_UNITS[f])
            )
        case ("factors", int(i), "value" | "year" as f):
            factor = data["factors"][i]
            # a factor in full: 0.1229, never 0.123
            shown = fmt.year(int(value)) if f == "year" else fmt.exact(value)
            return make(("factors", factor["key"], f), f"factors:{i}", "factors", shown)
        case ("profile", "gas_lhv_mj_per_m3" | "flat_price_cny_per_kwh" as name):
            row = "gas" if name == "gas_lhv_mj_per_m3" else name
            return make(
                ("accounting", name, "value"), f"accounting:{row}", "accounting", fmt.exact(value)
            )
        case ("methods", "threshold"):
            unit = data["methods"]["unit"]
            return make(
                ("methods", "", "threshold"), "methods", "accounting", fmt.number(value, unit)
            )
        case ("methods", "rows", int(r), "value"):
            method, unit = data["methods"]["rows"][r]["method"], data["methods"]["unit"]
            return make(
                ("methods", method, "value"),
                f"methods:{method}",
                "accounting",
                fmt.number(value, unit),
            )
        case ("instruments", int(k), "kwh"):
            return make(
                ("instruments", str(k + 1), "kwh"),
                f"instruments:{k + 1}",
                "instruments",
                fmt.number(value, "kWh"),
            )
        case ("notes", int(k), "value"):
            return make(("notes", str(k + 1), "value"), f"notes:{k + 1}", "notes", fmt.exact(value))
    raise AssertionError(f"a number at {path} that no report section is known to show")


def number_problems(doc: ReportDoc, csv_raw: bytes, html: str, pdf: str, lang: Lang) -> list[str]:
    """Every number of the doc's JSON: in the CSV exactly (repr), in its HTML row (data-row)
    and in its PDF section as the format function writes it. Counted: a row that must show
    "1.8" twice must show it twice. Returns what is missing, empty when all is there."""
    cells: dict[tuple[str, str, str], list[str]] = {}
    for line in csv.reader(io.StringIO(csv_raw.decode("utf-8-sig"))):
        cells.setdefault((line[0], line[1], line[2]), []).append(line[3])
    parsed = parse_html(html)
    sections = pdf_sections(pdf, doc, lang)
    per_row: dict[str, Counter[str]] = {}
    per_section: dict[str, Counter[str]] = {}
    problems = []
    for e in expected_numbers(doc):
        text = repr(e.value) if isinstance(e.value, float) else str(e.value)
        found = cells.get(e.csv, [])
        if text not in found or float(text) != e.value:
            problems.append(f"CSV {e.csv}: {text} not in {found}")
        per_row.setdefault(e.row, Counter()).update(tokens(e.shown))
        per_section.setdefault(e.section, Counter()).update(tokens(e.shown))
    for row, want in per_row.items():
        if row not in parsed.rows:
            problems.append(f"HTML: no element data-row={row!r}")
            continue
        shown = " ".join(parsed.rows[row])
        if lacking := want - tokens(shown):
            problems.append(f"HTML {row}: lacks {dict(lacking)} in {shown!r}")
    for section, want in per_section.items():
        if lacking := want - tokens(sections[section]):
            problems.append(f"PDF {section}: lacks {dict(lacking)}")
    return problems


class RowText(HTMLParser):
    """The text of every element with a ``data-row`` (nested rows count in their parents too),
    of the whole body, and every URL-carrying attribute."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: dict[str, list[str]] = {}
        self.stack: list[tuple[str, str | None]] = []
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str, str]] = []
        self.text: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"] or "")
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "srcset", "poster", "data", "action"):
                self.refs.append((tag, name, value or ""))
        if tag in VOID:
            return
        row = a.get("data-row")
        if row is not None:
            self.rows.setdefault(row, [])
        if tag in ("style", "script"):
            self.skip += 1
        self.stack.append((tag, row))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "xlink:href"):
                self.refs.append((tag, name, value or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        while self.stack:
            open_tag, _ = self.stack.pop()
            if open_tag in ("style", "script"):
                self.skip -= 1
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        self.text.append(data)
        for _, row in self.stack:
            if row is not None:
                self.rows[row].append(data)


def parse_html(html: str) -> RowText:
    parser = RowText()
    parser.feed(html)
    parser.close()
    return parser


SECTIONS = (
    "summary",
    "targets",
    "monthly",
    "indicators",
    "carriers",
    "tenants",
    "microgrid",
    "factors",
    "accounting",
    "instruments",
    "notes",
)


def pdf_text(pdf: bytes, tmp: Path) -> str:
    path = tmp / "report.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, timeout=60
    )
    return done.stdout.decode("utf-8")


def pdf_sections(text: str, doc: ReportDoc, lang: Lang) -> dict[str, str]:
    """The PDF text cut at the numbered section headings, in order ("header" = before the
    first). Running headers and footers stay in: they only add numbers."""
    present = [
        s
        for s in SECTIONS
        if (s != "tenants" or doc.tenants) and (s != "microgrid" or doc.microgrid)
    ]
    cuts = [("header", 0)]
    position = 0
    for n, section in enumerate(present, 1):
        heading = re.compile(
            rf"^[ \t]*{n}[ \t]*{re.escape(t('section.' + section, lang))}[ \t]*$", re.MULTILINE
        )
        found = heading.search(text, position)
        assert found, f"section heading {n} {t('section.' + section, lang)} not in the PDF text"
        cuts.append((section, found.start()))
        position = found.end()
    bounds = [*(c[1] for c in cuts[1:]), len(text)]
    return {name: text[start:end] for (name, start), end in zip(cuts, bounds, strict=True)}


def read_pgm(path: Path) -> tuple[int, int, bytes]:
    """Width, height and pixels of a binary (P5) 8-bit PGM, as pdftoppm -gray writes it."""
    raw = path.read_bytes()
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:
        while raw[pos : pos + 1].isspace():
            pos += 1
        if raw[pos : pos + 1] == b"#":
            pos = raw.index(b"\n", pos) + 1
            continue
        end = pos
        while not raw[end : end + 1].isspace():
            end += 1
        fields.append(raw[pos:end])
        pos = end
    assert fields[0] == b"P5", fields[0]
    width, height, maxval = int(fields[1]), int(fields[2]), int(fields[3])
    assert maxval == 255
    pixels = raw[pos + 1 : pos + 1 + width * height]
    assert len(pixels) == width * height
    return width, height, pixels
