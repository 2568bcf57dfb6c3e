"""The number check on documents the service layer builds from data: the demo park's January
2025 simulated into an embedded store (the ``january_data_dir`` fixture of tests/conftest.py),
a park evaluation and a tenant's green-factory report, built by ``reports.build``."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config.accounting import AccountingProfile
from config.registry import load_registry
from reports import build as build_module
from reports.build import ReportRequest, build_report
from reports.i18n import LABELS
from reports.model import ReportDoc
from reports.render import cjk_fonts, render
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
    doc = build_report(store, PARK, ReportRequest(year=2025, tenant=tenant))
    assert isinstance(doc, ReportDoc)
    # every factor the indicators used is named in words, not by its key
    assert doc.factors
    assert [f.name for f in doc.factors if f"factor.{f.name}" not in LABELS] == []
    problems = number_problems(
        doc,
        render(doc, "csv"),
        render(doc, "html", lang).decode("utf-8"),  # type: ignore[arg-type]
        pdf_text(render(doc, "pdf", lang), tmp_path),  # type: ignore[arg-type]
        lang,  # type: ignore[arg-type]
    )
    assert not problems, "\n".join(problems)


def test_a_built_report_states_its_method_and_passes_no_certificate_count(
    store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The builder computes with the request's profile and never hands the indicators a
    certificate count (one annual count would be reused in every month and for every tenant);
    its notes, badges and statement are what an evaluator reads."""
    passed: list[Any] = []
    real = build_module.scope_indicators

    def spy(*args: Any, **kwargs: Any) -> Any:
        passed.append(kwargs.get("profile", args[3] if len(args) > 3 else None))
        return real(*args, **kwargs)

    monkeypatch.setattr(build_module, "scope_indicators", spy)
    profile = AccountingProfile(name="wuhan-demo/2025", electricity_method="coal_equivalent")
    doc = build_report(store, PARK, ReportRequest(year=2025, profile=profile))

    # the year, twelve months and every tenant, all with the profile's method and no count
    assert len(passed) == 1 + 12 + len(PARK.tenants)
    assert passed == [profile] * len(passed)  # the request's profile itself, every time
    # and no certificate count anywhere: the profile has no such field, instruments come
    # from the store matched per month and scope
    assert not any("gec" in name for name in AccountingProfile.model_fields)
    assert (doc.profile.name, doc.profile.electricity_method) == profile_names(profile)
    assert doc.methods is not None
    chosen = [r for r in doc.methods.rows if r.chosen]
    assert [r.method for r in chosen] == ["coal_equivalent"]
    core = next(i for i in doc.indicators if i.key == "tco2_per_tce")
    assert chosen[0].value == core.value
    assert doc.instruments == ()  # none in the store: the report says so

    for block in doc.targets:
        vetoes = [r for r in block.rows if r.veto]
        lacking = {r.key for r in vetoes if r.status == "not_enough_data"}
        assert set(block.vetoes_lacking_data) == lacking
        if not vetoes or any(r.status != "met" for r in vetoes):
            assert block.vetoes_met is not True, block.key
    assert any(not any(r.veto for r in b.rows) for b in doc.targets)  # the microgrid block

    html = render(doc, "html", "zh").decode("utf-8")
    notes = html[html.index('data-section="notes"') :]
    assert doc.notes
    assert not re.search(r"[A-Za-z0-9]+_[A-Za-z0-9_]+", notes.split("</h2>", 1)[1]), notes
    assert "等价值 (GB/T 2589-2020)" in html


def profile_names(profile: AccountingProfile) -> tuple[str, str]:
    return profile.name, profile.electricity_method
