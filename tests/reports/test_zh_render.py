"""Every section of every report, rendered in Chinese, shows Chinese: no catalogue key, no code
identifier and no English sentence reaches a person.

The rule, precisely. The *shown text* of an HTML rendering is its text nodes outside ``<style>``
and ``<script>`` (the inline SVG charts' labels included). From it the check removes

1. *data as entered*: the strings of the document that a person typed into the registry, a
   target or factor table or a profile, and that the report quotes rather than words — park and
   tenant names and ids, product names, factor keys and regions, sources and citations, the
   profile's name and rationale, the time zone, the software's name (:data:`VERBATIM_FIELDS`,
   gathered from the document itself, so nothing the renderer writes is excused), and the ids
   of the park's registry (buildings, tenants, devices), by which a reason names a floor;
2. *units, codes and proper names* that a Chinese text writes in Latin letters too
   (:data:`ALLOWED`: kWh, tCO2, GB/T, ISO, ASHRAE, CV(RMSE), the ``min(`` of a formula …).

What is left fails when it holds an *identifier* (an ASCII word with an underscore,
``comprehensive_energy_tce``, or a dotted catalogue key, ``reason.no_data``: the fallback of a
missing label) or *English* (any ASCII word of three or more letters).

The documents: the demo park's January 2025 (the ``january_data_dir`` store) as the park's
report, a tenant's green-factory report with a savings baseline, another tenant's without
production, the city report and each product's footprint sheet; and the sample documents of
``tests/reports/sample.py`` (every note kind, every status, a projection, a veto lacking data).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from config.registry import load_registry
from reports.build import ReportRequest, build_report
from reports.city import build_city_report
from reports.footprint import footprint_sheet, render_sheet
from reports.render import render
from services.baselines import create_baseline
from services.city import evaluate_city
from services.energy import Scope
from services.footprint import tenant_footprint
from store import EmbeddedStore
from tests.reports import sample

REGISTRY = load_registry()
PARK = REGISTRY.parks["wuhan-demo"]
SOFTWARE = "smartpark test"

VERBATIM_FIELDS = frozenset(
    {
        # who and when
        "park_id",
        "park_name",
        "tenant_id",
        "tenant_name",
        "product",
        "product_name",
        "tz",
        "generated_at",
        "software",
        "evaluation_id",
        # citations, quoted as their documents write them
        "source",
        "threshold_source",
        "gas_source",
        "scoring_source",
        # the park's own texts and names
        "rationale",
        "gas_supplier",
        "profile",
    }
)
"""Fields whose strings are data as entered, wherever they sit in a document."""
VERBATIM_IN = {
    "tenants": frozenset({"key", "name"}),
    "parks": frozenset({"id", "name", "error"}),
    "factors": frozenset({"key", "region"}),
    "instruments": frozenset({"id"}),
    "savings": frozenset({"id"}),
    "profile": frozenset({"name"}),
}
"""Fields that are data as entered inside the named list or object of a document."""

ALLOWED = (
    "GHG Protocol",
    "ASHRAE Guideline 14-2014",
    "ASHRAE",
    "IPMVP",
    "ISO",
    "min(",
    "CV(RMSE)",
    "NMBE",
    "GB/T",
    "kgCO2e",
    "tCO2e",
    "kgCO2",
    "tCO2",
    "CO2e",
    "CO2",
    "kgce",
    "gce",
    "tce",
    "MWh",
    "kWh",
    "kVA",
    "kW",
    "kPa",
    "MJ",
    "GJ",
    "GEC",
    "PM2.5",
    "PV",
    "EV",
    "SVG",
)
"""Units, codes and proper names that Chinese text writes in Latin letters."""
IDENTIFIER = re.compile(r"\b[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]+\b|\b[a-z]+\.[a-z_]+\b")
ENGLISH = re.compile(r"[A-Za-z]{3,}")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "script")

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.nodes.append(" ".join(data.split()))


def shown_text(html: str) -> list[str]:
    """The text nodes of ``html`` a person reads."""
    parser = _Text()
    parser.feed(html)
    return parser.nodes


REGISTRY_IDS = frozenset(x.id for x in (*PARK.buildings, *PARK.tenants, *PARK.devices)) | {PARK.id}


def verbatim(doc: BaseModel) -> list[str]:
    """The data-as-entered strings of ``doc`` and the registry's ids, longest first (so a name
    is removed before a shorter name inside it)."""
    found: set[str] = set(REGISTRY_IDS)

    def walk(node: Any, parent: str, name: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, name, str(k))
        elif isinstance(node, list | tuple):
            for v in node:
                walk(v, parent, name)
        elif (
            isinstance(node, str)
            and node
            and (name in VERBATIM_FIELDS or name in VERBATIM_IN.get(parent, ()))
        ):
            found.add(node)

    walk(doc.model_dump(mode="json"), "", "")
    return sorted(found, key=len, reverse=True)


def problems(html: str, doc: BaseModel) -> list[str]:
    """Each shown text of ``html`` (rendered in Chinese) that holds an identifier or English
    once ``doc``'s data as entered and the allowed units and codes are taken out."""
    data = verbatim(doc)
    out = []
    for text in shown_text(html):
        rest = text
        for s in (*data, *ALLOWED):
            rest = rest.replace(s, " ")
        if IDENTIFIER.search(rest) or ENGLISH.search(rest):
            out.append(text)
    return sorted(set(out))


def test_the_rule_finds_identifiers_keys_and_english_but_not_data_or_units() -> None:
    doc = sample.park_doc()
    html = (
        "<style>.a{color:red}</style><p>综合能耗 1,234 tce</p><p>{name}</p>"
        "<p>comprehensive_energy_tce</p><p>reason.no_data</p><p>本期 no grid import data</p>"
        "<p>单位 kgCO2/kWh，GB/T 2589-2020</p>"  # noqa: RUF001
    ).replace("{name}", doc.park_name)
    assert problems(html, doc) == [
        "comprehensive_energy_tce",
        "reason.no_data",
        "本期 no grid import data",
    ]


@pytest.fixture(scope="module")
def store(
    january_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmbeddedStore]:
    folder = tmp_path_factory.mktemp("zh-render")
    shutil.copy(january_data_dir / "store.sqlite3", folder / "store.sqlite3")
    s = EmbeddedStore(folder / "store.sqlite3")
    create_baseline(
        s,
        PARK,
        scope=Scope("tenant", "chipcore"),
        baseline_period=(date(2025, 1, 1), date(2025, 1, 15)),
        reporting_period=(date(2025, 1, 15), date(2025, 1, 22)),
        kind="3p_heating",
        baseline_id="chipcore-jan",
    )
    yield s
    s.close()


# the park; a tenant with production, a savings baseline and park-level indicators withheld; a
# tenant without a production counter, so per-unit indicators are withheld with their reasons
@pytest.mark.parametrize("tenant", [None, "chipcore", "t01"])
def test_a_built_report_in_chinese_shows_no_identifier_or_english(
    store: EmbeddedStore, tenant: str | None
) -> None:
    doc = build_report(store, PARK, ReportRequest(year=2025, tenant=tenant))
    html = render(doc, "html", "zh").decode("utf-8")
    reasons = [i.reason for i in doc.indicators if i.value is None and i.reason]
    assert reasons, "the report withholds no figure, so its reasons are not tried"
    assert problems(html, doc) == []


@pytest.mark.parametrize(
    "build", [sample.park_doc, sample.factory_doc, sample.no_veto_doc, sample.lacking_veto_doc]
)
def test_a_sample_report_in_chinese_shows_no_identifier_or_english(build: Any) -> None:
    doc = build()
    assert problems(render(doc, "html", "zh").decode("utf-8"), doc) == []


def test_the_city_report_in_chinese_shows_no_identifier_or_english(store: EmbeddedStore) -> None:
    doc = build_city_report(evaluate_city(store, [PARK], "2025-01"), software=SOFTWARE)
    assert problems(render(doc, "html", "zh").decode("utf-8"), doc) == []


def test_every_footprint_sheet_in_chinese_shows_no_identifier_or_english(
    store: EmbeddedStore,
) -> None:
    fp = tenant_footprint(store, PARK, "chipcore", "2025-01")
    assert fp.products
    for product in fp.products:
        sheet = footprint_sheet(fp, product.counter, software=SOFTWARE)
        html = render_sheet(sheet, "html", "zh").decode("utf-8")
        assert problems(html, sheet) == [], product.counter
