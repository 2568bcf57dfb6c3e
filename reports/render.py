"""Render a :class:`~reports.model.ReportDoc` as JSON, CSV, HTML or PDF, computing nothing new.

* ``json``: the doc itself (``model_dump(mode="json")``), model field order, the keys of the free
  dictionary (monthly values) sorted; UTF-8, not ASCII-escaped.
* ``csv``: every table in one long ("tidy") table ``table,row,column,value,unit,note``, UTF-8 with
  a BOM (Excel), numbers as ``repr`` so they read back exactly.
* ``html``: one self-contained page (inline CSS and SVG charts, no external reference).
* ``pdf``: WeasyPrint from the same HTML with the print stylesheet; Chinese text needs a CJK font
  known to fontconfig (Debian: ``fonts-noto-cjk``), else :class:`MissingCJKFontError`.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any, Literal

import jinja2

from config.errors import UnavailableError
from config.messages import message, scope_name, source_text
from reports import charts, i18n
from reports import fmt as numfmt
from reports.city_model import CityReportDoc
from reports.i18n import Lang
from reports.model import IndicatorRow, Note, ReportDoc, TargetBlock, TargetRow
from reports.savings import SAVINGS_NUMBERS

__all__ = [
    "CSV_COLUMNS",
    "Format",
    "MissingCJKFontError",
    "cjk_fonts",
    "csv_rows",
    "monthly_columns",
    "render",
    "render_csv",
    "render_html",
    "render_json",
    "render_pdf",
]

Format = Literal["json", "csv", "html", "pdf"]
CSV_COLUMNS = ("table", "row", "column", "value", "unit", "note")
TEMPLATES = Path(__file__).with_name("templates")
CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")
FONT_PACKAGE = "fonts-noto-cjk"


class MissingCJKFontError(UnavailableError):
    """A PDF with Chinese text was asked for and no CJK font is installed."""


def render(doc: ReportDoc | CityReportDoc, fmt: Format, lang: Lang = "zh") -> bytes:
    """``doc`` as ``fmt``; ``lang`` chooses the labels of HTML and PDF (JSON and CSV are keyed)."""
    if isinstance(doc, CityReportDoc):  # the "city" kind has its own renderer
        from reports.city_render import render_city

        return render_city(doc, fmt, lang)
    if lang not in ("zh", "en"):
        raise ValueError(f"unknown language {lang!r} (zh or en)")
    match fmt:
        case "json":
            return render_json(doc)
        case "csv":
            return render_csv(doc)
        case "html":
            return render_html(doc, lang).encode("utf-8")
        case "pdf":
            return render_pdf(doc, lang)
    raise ValueError(f"unknown format {fmt!r} (json, csv, html or pdf)")


# --- JSON -----------------------------------------------------------------------------------


def render_json(doc: ReportDoc) -> bytes:
    data = doc.model_dump(mode="json")
    for month in data["monthly"]:
        month["values"] = dict(sorted(month["values"].items()))
    text = json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False)
    return (text + "\n").encode("utf-8")


# --- CSV ------------------------------------------------------------------------------------


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def monthly_columns(doc: ReportDoc) -> list[tuple[str, str | None]]:
    """The monthly indicators in order of first appearance, each with its unit (that of the
    year's indicator of the same key, None when the year has none)."""
    units = {i.key: i.unit for i in doc.indicators}
    keys: dict[str, None] = {}
    for month in doc.monthly:
        keys.update(dict.fromkeys(month.values))
    return [(key, units.get(key)) for key in keys]


def csv_rows(doc: ReportDoc) -> Iterator[tuple[str, str, str, str, str, str]]:
    """The long-form rows of :func:`render_csv` (without the header)."""

    def row(
        table: str,
        name: str,
        column: str,
        value: object,
        unit: str | None = None,
        *,
        note: str | None = None,
    ) -> tuple[str, str, str, str, str, str]:
        return (table, name, column, _cell(value), unit or "", note or "")

    for key in (
        "kind",
        "park_id",
        "park_name",
        "tenant_id",
        "tenant_name",
        "sector",
        "year",
        "tz",
        "generated_at",
        "software",
    ):
        yield row("report", "report", key, getattr(doc, key))
    yield row("report", "report", "completeness_pct", doc.completeness_pct, "%")

    def indicator_rows(table: str, rows: tuple[IndicatorRow, ...]) -> Iterator[Any]:
        for ind in rows:
            yield row(table, ind.key, "value", ind.value, ind.unit, note=ind.reason)
            yield row(table, ind.key, "completeness_pct", ind.completeness_pct, "%")
            yield row(table, ind.key, "basis", ind.basis)
            if ind.factors:
                yield row(table, ind.key, "factors", " ".join(ind.factors))

    yield from indicator_rows("indicators", doc.indicators)
    for block in doc.targets:
        table = f"targets:{block.key}"
        yield row(table, "", "title", block.title)
        yield row(table, "", "document", block.document)
        yield row(table, "", "year", block.year)
        yield row(table, "", "indicative", block.indicative)
        yield row(table, "", "vetoes_met", block.vetoes_met)
        for target in block.rows:
            yield from _target_rows(table, target, row)
    for month in doc.monthly:
        for key, unit in monthly_columns(doc):
            if key in month.values:
                yield row("monthly", month.month, key, month.values[key], unit)
        yield row("monthly", month.month, "completeness_pct", month.completeness_pct, "%")
    for carrier in doc.carriers:
        yield row("carriers", carrier.carrier, "quantity", carrier.quantity, carrier.unit)
        yield row("carriers", carrier.carrier, "tce", carrier.tce, "tce")
        yield row("carriers", carrier.carrier, "tco2", carrier.tco2, "tCO2")
        yield row("carriers", carrier.carrier, "completeness_pct", carrier.completeness_pct, "%")
    for tenant in doc.tenants:
        yield row("tenants", tenant.key, "name", tenant.name)
        yield row("tenants", tenant.key, "sector", tenant.sector)
        for column, unit in (
            ("electricity_kwh", "kWh"),
            ("tce", "tce"),
            ("tco2", "tCO2"),
            ("tco2_per_tce", "tCO2/tce"),
            ("cost_cny", "CNY"),
            ("completeness_pct", "%"),
        ):
            yield row("tenants", tenant.key, column, getattr(tenant, column), unit)
    yield from indicator_rows("microgrid", doc.microgrid)
    for factor in doc.factors:
        yield row("factors", factor.key, "value", factor.value, factor.unit)
        for column in ("name", "year", "region", "source", "evidence"):
            yield row("factors", factor.key, column, getattr(factor, column))
    for name, value in doc.profile.model_dump().items():
        unit = {"gas_lhv_mj_per_m3": "MJ/m3", "flat_price_cny_per_kwh": "CNY/kWh"}.get(name)
        yield row("accounting", name, "value", value, unit)
    if doc.methods is not None:
        m = doc.methods
        for column in ("target_key", "document", "direction", "chosen"):
            yield row("methods", "", column, getattr(m, column))
        yield row("methods", "", "threshold", m.threshold, m.unit)
        for method in m.rows:
            yield row("methods", method.method, "value", method.value, m.unit)
            yield row("methods", method.method, "status", method.status)
            yield row("methods", method.method, "chosen", method.chosen)
    for k, used in enumerate(doc.instruments, 1):
        yield row("instruments", str(k), "id", used.id)
        yield row("instruments", str(k), "kind", used.kind)
        yield row("instruments", str(k), "kwh", used.kwh, "kWh")
        yield row("instruments", str(k), "month", used.month)
        yield row("instruments", str(k), "tenant", used.tenant)
    yield from _savings_rows(doc, row)
    yield from _note_rows(doc, row)


def _note_rows(doc: ReportDoc, row: Callable[..., Any]) -> Iterator[Any]:
    for k, note in enumerate(doc.notes, 1):
        yield row("notes", str(k), "kind", note.kind)
        yield row("notes", str(k), "code", note.code)
        yield row("notes", str(k), "items", " ".join(note.items))
        if note.value is not None:
            yield row("notes", str(k), "value", note.value)


def _target_rows(table: str, target: TargetRow, row: Callable[..., Any]) -> Iterator[Any]:
    unit = target.unit
    yield row(table, target.key, "title", target.title)
    yield row(table, target.key, "reads", target.reads)
    yield row(table, target.key, "value", target.value, unit, note=target.reason)
    note = target.threshold_source
    if target.example_threshold:
        note = f"example value; {note}" if note else "example value"
    yield row(table, target.key, "threshold", target.threshold, unit, note=note)
    yield row(table, target.key, "direction", target.direction)
    yield row(table, target.key, "threshold_evidence", target.threshold_evidence)
    yield row(table, target.key, "status", target.status)
    yield row(table, target.key, "veto", target.veto)
    yield row(table, target.key, "gap", target.gap, unit)
    yield row(table, target.key, "completeness_pct", target.completeness_pct, "%")
    yield row(table, target.key, "basis", target.basis)
    yield row(table, target.key, "score", target.score, "score")
    yield row(table, target.key, "ytd", target.ytd, unit)
    yield row(table, target.key, "projected", target.projected, unit)
    yield row(table, target.key, "projected_sigma", target.projected_sigma, unit)
    yield row(table, target.key, "projected_status", target.projected_status)


_SAVINGS_UNITS = {
    **dict.fromkeys(("cv_rmse_pct", "nmbe_pct", "max_cv_rmse_pct", "max_abs_nmbe_pct"), "%"),
    **dict.fromkeys(("r2", "min_r2", "fraction", "fsu", "max_fsu", "confidence"), "-"),
    "fsu_confidence": "-",
}  # the counts of periods and parameters have no unit
_SAVINGS_ENERGY = ("adjusted_baseline", "actual", "savings", "uncertainty")


def _savings_rows(doc: ReportDoc, row: Callable[..., Any]) -> Iterator[Any]:
    """The savings section, one CSV row per field of each baseline (table ``savings``, row the
    baseline's id): what it models, the periods, the fit statistics with the limits they were
    judged by and the Guideline 14 clause cited, the savings and the verdict."""
    for r in doc.savings:
        for column in ("scope", "figure", "model"):
            yield row("savings", r.id, column, getattr(r, column))
        yield row("savings", r.id, "change_points_c", " ".join(map(repr, r.change_points_c)))
        for column in ("baseline_start", "baseline_end", "reporting_start", "reporting_end"):
            yield row("savings", r.id, column, getattr(r, column).isoformat())
        for column in ("limit_set", "limit_title", "limit_clause", "limit_source", "limit_year"):
            yield row("savings", r.id, column, getattr(r, column))
        yield row("savings", r.id, "limit_evidence", r.limit_evidence)
        for column in SAVINGS_NUMBERS:
            unit = r.unit if column in _SAVINGS_ENERGY else _SAVINGS_UNITS.get(column)
            yield row("savings", r.id, column, getattr(r, column), unit)
        yield row("savings", r.id, "passed", r.passed)
        yield row("savings", r.id, "claimed", r.claimed)
        yield row("savings", r.id, "reasons", " ".join(r.reasons))


def render_csv(doc: ReportDoc) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_rows(doc))
    return out.getvalue().encode("utf-8-sig")


# --- HTML -----------------------------------------------------------------------------------


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        num=numfmt.number, exact=numfmt.exact, gap=numfmt.gap, year=numfmt.year, DASH=numfmt.DASH
    )
    return env


def intensity_target(doc: ReportDoc) -> TargetRow | None:
    """The target row the tCO2/tce tile and chart compare with: the first veto row reading
    ``tco2_per_tce`` that has a threshold, else the first such row with one, else the first."""
    rows = [r for b in doc.targets for r in b.rows if r.reads == "tco2_per_tce"]
    for candidates in (
        [r for r in rows if r.veto and r.threshold is not None],
        [r for r in rows if r.threshold is not None],
        rows,
    ):
        if candidates:
            return candidates[0]
    return None


def render_html(doc: ReportDoc, lang: Lang = "zh") -> str:
    """The report as one self-contained HTML page."""

    def t(key: str) -> str:
        return i18n.t(key, lang)

    def unit(name: str | None) -> str:
        return i18n.unit(name, lang)

    def label(key: str) -> str:  # an indicator key
        return i18n.t(key, lang)

    def target_label(row: TargetRow) -> str:
        key = f"target.{row.key}"
        if lang == "zh":
            return row.title.split(" — ", 1)[0] if " — " in row.title else row.title
        return i18n.t(key, lang) if key in i18n.LABELS else row.title

    targets_by_key = {r.key: r for b in doc.targets for r in b.rows}

    factor_rows = {f"factor.{f.name}": n for n, f in enumerate(doc.factors, 1)}

    def item_label(key: str) -> str:
        """A note item: its label; else a target's title from the target table, or where the
        factor table lists a factor (a time-of-use schedule is named by its tariff's key)."""
        row = targets_by_key.get(key.removeprefix("target."))
        if key.startswith("target.") and row is not None:
            return target_label(row)
        if key not in i18n.LABELS and key in factor_rows:
            return i18n.t("factor.row", lang).format(n=factor_rows[key])
        return i18n.t(key, lang)

    def note_text(note: Note) -> str:
        return _note_text(note, lang, item_label)

    def lacking(block: TargetBlock) -> str:
        """The veto rows of ``block`` without enough data, by their labels."""
        comma = "、" if lang == "zh" else ", "
        return comma.join(target_label(r) for r in block.rows if r.key in block.vetoes_lacking_data)

    def factor_label(name: str) -> str:
        return i18n.t(f"factor.{name}", lang) if f"factor.{name}" in i18n.LABELS else name

    indicators = {i.key: i for i in doc.indicators}
    columns = monthly_columns(doc)
    months = [m.month for m in doc.monthly]
    intensity = intensity_target(doc)
    energy_svg = None
    if doc.monthly:
        energy_svg = charts.energy_chart(
            months=months,
            energy=[m.values.get("comprehensive_energy_tce") for m in doc.monthly],
            intensity=[m.values.get("tco2_per_tce") for m in doc.monthly],
            threshold=intensity.threshold if intensity is not None else None,
            direction=intensity.direction if intensity is not None else "<=",
            lang=lang,
        )
    completeness_svg = (
        charts.completeness_chart(months, [m.completeness_pct for m in doc.monthly], lang)
        if doc.monthly
        else None
    )
    carriers_svg = None
    if any(c.tco2 is not None for c in doc.carriers):
        carriers_svg = charts.bar_list(
            t("chart.carriers_title"),
            [(i18n.t(f"carrier.{c.carrier}", lang), c.tco2) for c in doc.carriers],
            "tCO2",
        )
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            doc=doc,
            lang=lang,
            t=t,
            tf=lambda key, *args, **kwargs: message(key, lang, *args, **kwargs),
            unit=unit,
            label=label,
            target_label=target_label,
            item_label=item_label,
            note_text=note_text,
            why=lambda reason: i18n.reason(reason, lang),
            source=lambda text: source_text(text, lang) or "",
            sector=lambda name: i18n.sector(name, lang),
            scope=lambda text: scope_name(text, lang) or text,
            known=lambda prefix, name: t(prefix + name) if prefix + name in i18n.LABELS else name,
            factor_label=factor_label,
            lacking=lacking,
            method=lambda m: i18n.method(m, lang),
            ind=indicators,
            columns=columns,
            intensity=intensity,
            energy_svg=energy_svg,
            completeness_svg=completeness_svg,
            carriers_svg=carriers_svg,
            font_stack=charts.FONT_STACK,
            labels=i18n.LABELS,
            sym=lambda d: charts.SYMBOLS.get(d, d),
            month_label=lambda m: charts.month_label(m, lang),
        )
    )


def _note_text(note: Note, lang: Lang, label: Callable[[str], str]) -> str:
    """A note in ``lang``: its text (``notetext.<code>``), then its items by their labels; a
    declared value as ``item = value (declared, not measured)``."""
    colon, comma = ("：", "、") if lang == "zh" else (": ", ", ")  # noqa: RUF001
    items = comma.join(label(k) for k in note.items)
    text = i18n.t(f"notetext.{note.code}", lang)
    if note.value is not None:
        shown = f"{items} = {numfmt.exact(note.value)}"
        return f"{shown}（{text}）" if lang == "zh" else f"{shown} ({text})"  # noqa: RUF001
    return f"{text}{colon}{items}" if items else text


# --- PDF ------------------------------------------------------------------------------------


def cjk_fonts() -> list[str]:
    """The font families fontconfig knows for Chinese (``fc-list :lang=zh family``); without
    fc-list, the CJK font files under the usual font folders."""
    fc_list = shutil.which("fc-list")
    if fc_list is not None:
        done = subprocess.run(
            [fc_list, ":lang=zh", "family"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        return sorted({line.strip() for line in done.stdout.splitlines() if line.strip()})
    folders = [
        Path("/usr/share/fonts"),
        Path("/usr/local/share/fonts"),
        Path.home() / ".fonts",
        Path.home() / ".local/share/fonts",
    ]
    pattern = re.compile(r"cjk|wqy|wenquanyi|sourcehan|notosanssc|notoserifsc", re.IGNORECASE)
    return sorted(
        p.name
        for folder in folders
        if folder.is_dir()
        for p in folder.rglob("*")
        if pattern.search(p.name)
    )


def require_cjk_fonts() -> None:
    """Raise :class:`MissingCJKFontError` unless a CJK font is installed."""
    if not cjk_fonts():
        raise MissingCJKFontError(
            "no font with Chinese glyphs is installed (fontconfig: `fc-list :lang=zh` is empty),"
            f" so the PDF would show empty boxes; install one, on Debian/Ubuntu: "
            f"`apt-get install {FONT_PACKAGE}`"
        )


def render_pdf(doc: ReportDoc, lang: Lang = "zh") -> bytes:
    """The report as A4 PDF. Needs a CJK font whenever the page has Chinese text (always in
    Chinese; in English when names or titles from the data are Chinese)."""
    from reports._weasy import html_to_pdf

    html = render_html(doc, lang)
    if lang == "zh" or CJK.search(html):
        require_cjk_fonts()
    return html_to_pdf(html)
