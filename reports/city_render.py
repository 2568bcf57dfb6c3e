"""Render a :class:`~reports.city_model.CityReportDoc` as JSON, CSV, HTML or PDF, computing
nothing new (the conventions of :mod:`reports.render`: tidy UTF-8 CSV with a BOM, numbers as
``repr``; one self-contained HTML page; the PDF by WeasyPrint from it, a CJK font required for
Chinese)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import jinja2

from reports import charts, i18n
from reports import fmt as numfmt
from reports.city_model import CityReportDoc
from reports.i18n import Lang
from reports.render import CJK, CSV_COLUMNS, Format, require_cjk_fonts

__all__ = ["RANKING_CHART_PARKS", "city_csv_rows", "render_city", "render_city_html"]

TEMPLATES = Path(__file__).with_name("templates")

RANKING_CHART_PARKS = 20
"""Parks in the ranking chart: the top 20, as many as the city's 产业名园 selection picks
(docs/city.md); the table lists them all."""

# the figures of the ranking table, in order
TABLE_FIGURES = (
    "comprehensive_energy_tce",
    "tco2_per_tce",
    "renewable_electricity_share",
    "energy_per_mu_tce",
    "output_per_mu_10k_cny",
    "completeness_pct",
)


def render_city(doc: CityReportDoc, fmt: Format, lang: Lang = "zh") -> bytes:
    """``doc`` as ``fmt``; ``lang`` chooses the labels of HTML and PDF (JSON and CSV are keyed)."""
    if lang not in ("zh", "en"):
        raise ValueError(f"unknown language {lang!r} (zh or en)")
    match fmt:
        case "json":
            text = json.dumps(doc.model_dump(mode="json"), ensure_ascii=False, indent=2)
            return (text + "\n").encode("utf-8")
        case "csv":
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(CSV_COLUMNS)
            writer.writerows(city_csv_rows(doc))
            return out.getvalue().encode("utf-8-sig")
        case "html":
            return render_city_html(doc, lang).encode("utf-8")
        case "pdf":
            from reports._weasy import html_to_pdf

            html = render_city_html(doc, lang)
            if lang == "zh" or CJK.search(html):
                require_cjk_fonts()
            return html_to_pdf(html)
    raise ValueError(f"unknown format {fmt!r} (json, csv, html or pdf)")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def city_csv_rows(doc: CityReportDoc) -> Iterator[tuple[str, str, str, str, str, str]]:
    """The long-form rows of the CSV (without the header): ``header``, ``weights``,
    ``totals`` and ``parks`` (one row per figure, points and trend field of each park)."""

    def row(
        table: str, name: str, column: str, value: object, unit: str | None = None
    ) -> tuple[str, str, str, str, str, str]:
        return (table, name, column, _cell(value), unit or "", "")

    for key in ("kind", "period", "period_kind", "previous", "generated_at", "software"):
        yield row("header", "", key, getattr(doc, key))
    for key in ("evaluation_id", "evaluation_zh", "evaluation_en", "total", "cap"):
        yield row("header", "", key, getattr(doc, key))
    yield row("header", "", "scoring_source", doc.scoring_source)
    for w in doc.weights:
        for col in ("reads", "direction", "zh", "en", "source", "year", "evidence"):
            yield row("weights", w.key, col, getattr(w, col))
        yield row("weights", w.key, "weight", w.weight, "points")
        yield row("weights", w.key, "benchmark", w.benchmark, w.unit)
    t = doc.totals
    yield row("totals", "", "parks", t.parks)
    yield row("totals", "", "parks_in_error", t.parks_in_error)
    yield row("totals", "", "energy_tce", t.energy_tce, "tce")
    yield row("totals", "", "tco2", t.tco2, "tCO2")
    yield row("totals", "", "land_mu", t.land_mu, "mu")
    yield row("totals", "", "output_10k_cny", t.output_10k_cny, "10k CNY")
    for p in doc.parks:
        for col in ("rank", "name", "industry", "land_mu", "devices", "error"):
            yield row("parks", p.id, col, getattr(p, col), "mu" if col == "land_mu" else None)
        yield row("parks", p.id, "score", p.score, "points")
        for key, value in p.figures.items():
            yield row("parks", p.id, key, value, doc.figure_units.get(key))
        for key, pts in p.points.items():
            yield row("parks", p.id, f"points.{key}", pts, "points")
        yield row("parks", p.id, "previous_rank", p.previous_rank)
        yield row("parks", p.id, "rank_change", p.rank_change)
        yield row("parks", p.id, "score_change", p.score_change, "points")
        yield row("parks", p.id, "energy_change_pct", p.energy_change_pct, "%")


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(num=numfmt.number, gap=numfmt.gap, DASH=numfmt.DASH)
    return env


def render_city_html(doc: CityReportDoc, lang: Lang = "zh") -> str:
    """The city report as one self-contained HTML page."""

    def t(key: str) -> str:
        return i18n.t(key, lang)

    ranked = [p for p in doc.parks if p.score is not None][:RANKING_CHART_PARKS]
    chart = charts.bar_list(
        t("city.chart_title").format(n=len(ranked)),
        [(f"{p.rank}. {p.name}", p.score) for p in ranked],
        None,
    )
    return (
        _environment()
        .get_template("city.html.j2")
        .render(
            doc=doc,
            lang=lang,
            t=t,
            unit=lambda name: i18n.unit(name, lang),
            name=lambda zh, en: zh if lang == "zh" else en,
            why=lambda reason: i18n.reason(reason, lang),
            figures=TABLE_FIGURES,
            chart=chart,
            font_stack=charts.FONT_STACK,
        )
    )
