"""The number check on documents the service layer builds from data: the demo park's January
2025 simulated into an embedded store (the ``january_data_dir`` fixture of tests/conftest.py),
a park evaluation and a tenant's green-factory report, built by ``services.reports``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.accounting import AccountingProfile
from config.registry import load_registry
from reports.model import ReportDoc
from reports.render import cjk_fonts, render
from services.reports import ReportRequest, build_report
from store import EmbeddedStore
from tests.reports.checks import number_problems, pdf_text

# in CI a missing font fails (render raises MissingCJKFontError) instead of skipping
pytestmark = pytest.mark.skipif(
    not cjk_fonts() and os.environ.get("CI") != "true", reason="no CJK font"
)
REGISTRY = load_registry()
PARK = REGISTRY.parks["wuhan-demo"]


@pytest.fixture(scope="module")
def store(january_data_dir: Path) -> Iterator[EmbeddedStore]:
    s = EmbeddedStore(january_data_dir / "store.sqlite3")
    yield s
    s.close()


@pytest.mark.parametrize("tenant", [None, PARK.tenants[0].id])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_number_of_a_built_report_is_shown(
    store: EmbeddedStore, tenant: str | None, lang: str, tmp_path: Path
) -> None:
    doc = build_report(
        store, PARK, ReportRequest(year=2025, tenant=tenant, profile=AccountingProfile())
    )
    assert isinstance(doc, ReportDoc)
    problems = number_problems(
        doc,
        render(doc, "csv"),
        render(doc, "html", lang).decode("utf-8"),  # type: ignore[arg-type]
        pdf_text(render(doc, "pdf", lang), tmp_path),  # type: ignore[arg-type]
        lang,  # type: ignore[arg-type]
    )
    assert not problems, "\n".join(problems)
