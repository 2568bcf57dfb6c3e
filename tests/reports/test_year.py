"""A simulated year of the demo park produces both reports, in every format.

The year is simulated hour by hour (the model, then the collector's own decoder, into an
embedded store: tests/support/simulated.py) and the reports use hourly intervals, so a whole
year fits in well under a minute; the 15-minute path and MQTT are proven elsewhere
(tests/e2e/test_ground_truth.py). What this adds: twelve months, every tenant, every target
profile and every format from one real year, with the number check on the park report.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.registry import load_registry
from reports.build import ReportRequest, build_report
from reports.render import cjk_fonts, render
from store import EmbeddedStore
from tests.reports.checks import number_problems, pdf_text
from tests.support.simulated import fill_store

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not cjk_fonts() and os.environ.get("CI") != "true", reason="no CJK font"),
]
REGISTRY = load_registry()
PARK = REGISTRY.parks["wuhan-demo"]
YEAR_2025_NS = (1_735_660_800 * 10**9, 1_767_196_800 * 10**9)  # local (UTC+8) year edges
HOUR_S = 3600


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    s = EmbeddedStore(tmp_path_factory.mktemp("year") / "store.sqlite3")
    start, end = YEAR_2025_NS
    # one reading before the year anchors its first interval
    fill_store(s, REGISTRY, PARK.id, start_ns=start - HOUR_S * 10**9, end_ns=end, interval_s=HOUR_S)
    yield s
    s.close()


def test_a_simulated_year_gives_both_reports(store: EmbeddedStore, tmp_path: Path) -> None:
    park = build_report(store, PARK, ReportRequest(year=2025, interval_s=HOUR_S))
    factory = build_report(
        store,
        PARK,
        ReportRequest(
            year=2025, tenant="chipcore", sector="example_electronics", interval_s=HOUR_S
        ),
    )

    for doc in (park, factory):
        assert [m.month for m in doc.monthly] == [f"2025-{m:02d}" for m in range(1, 13)]
        assert doc.completeness_pct is not None
        assert doc.completeness_pct > 99.9
        assert all(m.values["comprehensive_energy_tce"] for m in doc.monthly)
    assert {t.key for t in park.tenants} == {t.id for t in PARK.tenants}
    assert {b.key for b in park.targets} >= {"zero_carbon_park", "miit_green_park"}
    assert [b.key for b in factory.targets] == ["green_factory"]
    scored = [r for r in factory.targets[0].rows if r.score is not None]
    assert scored, "the example sector scores the factory"
    # the park's year is the sum of its months, and of its carriers
    tce = next(i.value for i in park.indicators if i.key == "comprehensive_energy_tce")
    assert tce == pytest.approx(sum(m.values["comprehensive_energy_tce"] for m in park.monthly))
    assert tce == pytest.approx(sum(c.tce for c in park.carriers if c.tce is not None))

    files = {}
    for name, doc in (("park", park), ("factory", factory)):
        for fmt in ("json", "csv", "html", "pdf"):
            body = render(doc, fmt, "zh")  # type: ignore[arg-type]
            assert body
            files[(name, fmt)] = tmp_path / f"{name}.{fmt}"
            files[(name, fmt)].write_bytes(body)
    pages = subprocess.run(
        ["pdfinfo", str(files[("park", "pdf")])], capture_output=True, text=True, check=True
    ).stdout
    assert (
        int(next(line.split()[-1] for line in pages.splitlines() if line.startswith("Pages"))) >= 4
    )
    problems = number_problems(
        park,
        files[("park", "csv")].read_bytes(),
        files[("park", "html")].read_text(encoding="utf-8"),
        pdf_text(files[("park", "pdf")].read_bytes(), tmp_path),
        "zh",
    )
    assert not problems, "\n".join(problems[:20])
