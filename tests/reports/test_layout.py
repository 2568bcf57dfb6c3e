"""The PDF reports fit A4: both kinds (park evaluation, a tenant's green-factory report), in
Chinese and English, from the sample documents (tests/reports/sample.py) and from documents built
on the demo park's simulated January 2025 (the ``january_data_dir`` fixture).

The pages are read with ``pdftotext -bbox-layout`` (poppler-utils): every word with its box in
PDF points (1/72 in, origin top left). Three checks on every page:

* **margins**: every word lies inside the page area the stylesheet sets (``@page`` in
  reports/templates/report.css: A4, margins 18 mm top, 12 mm right, 16 mm bottom, 12 mm left),
  except the running header and the page number, which lie wholly inside the top and bottom
  margins, inside the left and right margins like everything else. A word is allowed
  ``TOLERANCE_PT`` of overhang (glyph boxes are font boxes, a little wider than the ink).
* **no stacked cell**: no text laid out one character per line. A *stack* is a run of at least
  ``STACK_MIN`` words, each exactly one character and alone on its line (no other word within
  0.4 line height to its left or right), each below the previous one at the spacing of lines
  of one paragraph (the gap between one's bottom and the next's top under half a line height;
  table rows are further apart: 6 px of cell padding and a rule) and overlapping it
  horizontally; the bullets of a list do not count. That is what a table column too narrow
  for its words looks like ("证", "据", "等", "级" one under the other, or "e", "v", "i"
  when a Latin word is broken).
* **page count**: each report has between 2 and 12 pages (a sample doc: 3 to 7).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from config.registry import load_registry
from reports.build import ReportRequest, build_report
from reports.model import ReportDoc
from reports.render import TEMPLATES, cjk_fonts, render
from services.baselines import create_baseline
from services.energy import Scope
from store import EmbeddedStore
from tests.reports.sample import factory_doc, park_doc

IN_CI = os.environ.get("CI") == "true"  # in CI a missing tool or font fails instead of skipping
pytestmark = [
    pytest.mark.skipif(
        shutil.which("pdftotext") is None and not IN_CI, reason="poppler-utils not installed"
    ),
    pytest.mark.skipif(not cjk_fonts() and not IN_CI, reason="no CJK font"),
]

PT_PER_MM = 72 / 25.4  # PDF points per millimetre (1 pt = 1/72 in, 1 in = 25.4 mm)
A4_MM = (210.0, 297.0)  # ISO 216 A4, width x height, mm
TOLERANCE_PT = 0.5  # overhang allowed to a word box, pt
STACK_MIN = 3  # single characters one under the other that make a stacked cell
LIST_MARKERS = frozenset("•·◦▪")  # a list's bullets stand one under the other by design
REGISTRY = load_registry()
PARK = REGISTRY.parks["wuhan-demo"]


@dataclass(frozen=True)
class Word:
    page: int  # 1-based
    text: str
    x0: float  # pt from the left edge
    y0: float  # pt from the top edge
    x1: float
    y1: float

    @property
    def height(self) -> float:
        return self.y1 - self.y0


@dataclass(frozen=True)
class Page:
    number: int
    width: float  # pt
    height: float  # pt
    words: tuple[Word, ...]


def page_margins_mm() -> tuple[float, float, float, float]:
    """The ``@page`` margin of the print stylesheet (top, right, bottom, left), in mm."""
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    found = re.search(r"@page\s*\{[^}]*?\bmargin:\s*([^;]+);", css)
    assert found, "report.css sets no @page margin"
    values = [float(v.removesuffix("mm")) for v in found.group(1).split()]
    assert len(values) == 4, found.group(1)
    assert all(v > 0 for v in values), found.group(1)
    top, right, bottom, left = values
    return top, right, bottom, left


WORD = re.compile(
    r'<word xMin="(-?[\d.]+)" yMin="(-?[\d.]+)" xMax="(-?[\d.]+)" yMax="(-?[\d.]+)">(.*?)</word>'
)
PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.DOTALL)


def pdf_pages(pdf: bytes, tmp: Path) -> list[Page]:
    """Every page of ``pdf`` with its words and their boxes (pt), by ``pdftotext -bbox-layout``."""
    path = tmp / "layout.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        ["pdftotext", "-bbox-layout", str(path), "-"], capture_output=True, check=True, timeout=60
    )
    pages = []
    for n, m in enumerate(PAGE.finditer(done.stdout.decode("utf-8")), 1):
        words = tuple(
            Word(n, html.unescape(w[4]), float(w[0]), float(w[1]), float(w[2]), float(w[3]))
            for w in WORD.findall(m.group(3))
        )
        pages.append(Page(n, float(m.group(1)), float(m.group(2)), words))
    return pages


def outside_margins(page: Page) -> list[str]:
    """The words of ``page`` outside the page area (or, in the top or bottom margin, crossing
    into the page area or out of the page), each as ``"page N: 'word' <where> by X mm"``."""
    top, right, bottom, left = (v * PT_PER_MM for v in page_margins_mm())
    area_x0, area_x1 = left, page.width - right
    area_y0, area_y1 = top, page.height - bottom
    tol = TOLERANCE_PT
    problems = []

    def bad(word: Word, where: str, by_pt: float) -> None:
        problems.append(f"page {page.number}: {word.text!r} {where} by {by_pt / PT_PER_MM:.1f} mm")

    for w in page.words:
        if w.x0 < area_x0 - tol:
            bad(w, "past the left margin", area_x0 - w.x0)
        if w.x1 > area_x1 + tol:
            bad(w, "past the right margin", w.x1 - area_x1)
        if w.y1 <= area_y0:  # the running header: wholly in the top margin, on the page
            if w.y0 < -tol:
                bad(w, "above the page", -w.y0)
        elif w.y0 >= area_y1:  # the page number: wholly in the bottom margin, on the page
            if w.y1 > page.height + tol:
                bad(w, "below the page", w.y1 - page.height)
        elif w.y0 < area_y0 - tol:
            bad(w, "across the top margin", area_y0 - w.y0)
        elif w.y1 > area_y1 + tol:
            bad(w, "across the bottom margin", w.y1 - area_y1)
    return problems


def _alone(word: Word, words: tuple[Word, ...]) -> bool:
    """No other word on ``word``'s line within 0.4 line height to its left or right (a space
    is about 0.25 em; neighbouring cells are 12 px of padding, about one line height, apart)."""
    reach = 0.4 * word.height
    for other in words:
        if other is word or other.y1 <= word.y0 or other.y0 >= word.y1:
            continue
        if other.x1 > word.x0 - reach and other.x0 < word.x1 + reach:
            return False
    return True


def stacked(page: Page) -> list[str]:
    """The stacks of single characters on ``page`` (see the module docstring), each as
    ``"page N: 'a' / 'b' / 'c' at x = X mm"``."""
    singles = sorted(
        (
            w
            for w in page.words
            if len(w.text) == 1 and w.text not in LIST_MARKERS and _alone(w, page.words)
        ),
        key=lambda w: (w.y0, w.x0),
    )

    def follows(upper: Word, lower: Word) -> bool:
        gap = lower.y0 - upper.y1
        overlap = min(upper.x1, lower.x1) - max(upper.x0, lower.x0)
        return -0.1 * upper.height <= gap < 0.5 * upper.height and overlap > 0

    problems = []
    used: set[int] = set()
    for i, first in enumerate(singles):
        if i in used:
            continue
        run, last = [first], first
        for j in range(i + 1, len(singles)):
            if j not in used and follows(last, singles[j]):
                run.append(singles[j])
                used.add(j)
                last = singles[j]
        if len(run) >= STACK_MIN:
            chars = " / ".join(repr(w.text) for w in run)
            problems.append(f"page {page.number}: {chars} at x = {first.x0 / PT_PER_MM:.1f} mm")
    return problems


def layout_problems(pdf: bytes, tmp: Path, pages: range) -> list[str]:
    """Everything the three checks find in ``pdf``; ``pages`` is the page count allowed."""
    found = pdf_pages(pdf, tmp)
    problems = [f"{len(found)} pages, expected {pages.start} to {pages.stop - 1}"]
    if len(found) in pages:
        problems = []
    for page in found:
        assert (page.width / PT_PER_MM, page.height / PT_PER_MM) == pytest.approx(A4_MM, abs=0.5)
        assert page.words, f"page {page.number} has no text"
        problems += outside_margins(page) + stacked(page)
    return problems


# --- the checks themselves, on pages made to fail ---------------------------------------------


def _page(*words: tuple[str, float, float, float, float]) -> Page:
    w, h = (v * PT_PER_MM for v in A4_MM)
    return Page(1, w, h, tuple(Word(1, *word) for word in words))


def test_the_margin_check_finds_a_word_past_the_right_margin() -> None:
    width = A4_MM[0] * PT_PER_MM
    right = page_margins_mm()[1] * PT_PER_MM
    # 6 mm past the right edge of the page area, as the issue saw in the English tenant report
    past = width - right + 6 * PT_PER_MM
    page = _page(("inside", 100, 200, 140, 210), ("Projection", past - 40, 300, past, 310))
    assert outside_margins(page) == ["page 1: 'Projection' past the right margin by 6.0 mm"]
    # the running header in the top margin and the page number in the bottom margin are fine
    assert outside_margins(_page(("Park", 40, 20, 60, 31), ("1/4", 280, 810, 300, 818))) == []
    # a word crossing from the page area into the bottom margin is not
    bottom = (A4_MM[1] - page_margins_mm()[2]) * PT_PER_MM
    assert outside_margins(_page(("cut", 40, bottom - 5, 60, bottom + 5))) == [
        "page 1: 'cut' across the bottom margin by 1.8 mm"
    ]


def test_the_stack_check_finds_one_character_per_line() -> None:
    # "证据等级" in a column one character wide: 9.3 pt high glyph boxes, 11.6 pt line pitch
    stack = [(c, 300.0, 100 + 11.6 * k, 308.0, 109.3 + 11.6 * k) for k, c in enumerate("证据等级")]
    assert stacked(_page(*stack)) == ["page 1: '证' / '据' / '等' / '级' at x = 105.8 mm"]
    # two characters stacked are not yet a stack; the same characters in rows 20 pt apart
    # (one per table row, like a column of dashes) are not one either
    assert stacked(_page(*stack[:2])) == []
    rows = [(c, 300.0, 100 + 20 * k, 308.0, 109.3 + 20 * k) for k, c in enumerate("———")]
    assert stacked(_page(*rows)) == []
    # nor are single-character words of one line, side by side
    assert (
        stacked(
            _page(*[(c, 300.0 + 10 * k, 100, 306.0 + 10 * k, 109.3) for k, c in enumerate("abc")])
        )
        == []
    )


# --- the reports --------------------------------------------------------------------------------

SAMPLES = {"park": park_doc, "factory": factory_doc}


@cache
def _sample_pdf(kind: str, lang: str) -> bytes:
    return render(SAMPLES[kind](), "pdf", lang)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["park", "factory"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_sample_report_fits_a4(kind: str, lang: str, tmp_path: Path) -> None:
    assert layout_problems(_sample_pdf(kind, lang), tmp_path, range(3, 8)) == []


@pytest.fixture(scope="module")
def built(
    january_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, ReportDoc]]:
    folder = tmp_path_factory.mktemp("layout")
    shutil.copy(january_data_dir / "store.sqlite3", folder / "store.sqlite3")
    store = EmbeddedStore(folder / "store.sqlite3")
    tenant = PARK.tenants[0].id
    # a savings baseline, so the factory report carries the savings table (its widest)
    create_baseline(
        store,
        PARK,
        scope=Scope("tenant", tenant),
        baseline_period=(date(2025, 1, 1), date(2025, 1, 15)),
        reporting_period=(date(2025, 1, 15), date(2025, 1, 22)),
        kind="3p_heating",
        baseline_id="layout",
    )
    try:
        factory = build_report(store, PARK, ReportRequest(year=2025, tenant=tenant))
        assert factory.savings, "the factory report has no savings table to lay out"
        yield {"park": build_report(store, PARK, ReportRequest(year=2025)), "factory": factory}
    finally:
        store.close()


@pytest.mark.parametrize("kind", ["park", "factory"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_built_report_fits_a4(
    built: dict[str, ReportDoc], kind: str, lang: str, tmp_path: Path
) -> None:
    doc = built[kind]
    assert doc.kind == ("park_evaluation" if kind == "park" else "green_factory")
    pdf = render(doc, "pdf", lang)  # type: ignore[arg-type]
    assert layout_problems(pdf, tmp_path, range(2, 13)) == []
