"""Reports over the API: the documents `smartpark report` writes, from the same analytics."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from config.registry import load_registry
from config.settings import Settings
from services.energy import Scope
from services.indicators import scope_indicators
from store import EmbeddedStore

REGISTRY = load_registry()
PARK = REGISTRY.parks["wuhan-demo"]


@pytest.fixture(scope="module")
def store(january_data_dir: Path) -> Iterator[EmbeddedStore]:
    s = EmbeddedStore(january_data_dir / "store.sqlite3")
    yield s
    s.close()


@pytest.fixture(scope="module")
def api(store: EmbeddedStore, january_data_dir: Path) -> Iterator[TestClient]:
    app = create_app(settings=Settings(data_dir=january_data_dir), store=store, registry=REGISTRY)
    with TestClient(app) as client:
        yield client


def test_park_report_json_carries_the_analytics_figures(api, store):
    response = api.get("/api/v1/parks/wuhan-demo/reports/2025", params={"format": "json"})

    assert response.status_code == 200, response.text
    doc = response.json()
    assert (doc["kind"], doc["park_id"], doc["year"]) == ("park_evaluation", "wuhan-demo", 2025)
    january = scope_indicators(store, PARK, "2025-01", scope=Scope("park", PARK.id))
    expected = {i.name: i.value for i in january.indicators}
    month = doc["monthly"][0]
    assert month["month"] == "2025-01"
    assert month["values"]["comprehensive_energy_tce"] == pytest.approx(
        expected["comprehensive_energy_tce"], rel=1e-12
    )
    assert month["values"]["tco2_per_tce"] == pytest.approx(expected["tco2_per_tce"], rel=1e-12)
    assert expected["comprehensive_energy_tce"] > 0
    # one month of data in a year: the year's figures rest on it alone, and say so
    annual = {i["key"]: i for i in doc["indicators"]}
    assert annual["comprehensive_energy_tce"]["value"] == pytest.approx(
        expected["comprehensive_energy_tce"], rel=1e-9
    )
    assert annual["comprehensive_energy_tce"]["completeness_pct"] < 10
    assert {t["key"] for t in doc["tenants"]} == {t.id for t in PARK.tenants}
    assert {b["key"] for b in doc["targets"]} >= {"zero_carbon_park", "miit_green_park"}
    assert any(n["kind"] == "estimated" for n in doc["notes"])
    assert all(f["source"] and f["year"] for f in doc["factors"])


TENANT_REPORT = "/api/v1/parks/wuhan-demo/tenants/t01/reports/2025"


def test_tenant_report_and_formats(api):
    csv = api.get(TENANT_REPORT, params={"format": "csv"})
    html = api.get(TENANT_REPORT, params={"format": "html", "lang": "en"})
    doc = api.get(TENANT_REPORT).json()

    assert doc["kind"] == "green_factory"
    assert doc["tenant_id"] == "t01"
    assert doc["tenants"] == []
    assert doc["microgrid"] == []
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert 'filename="wuhan-demo-t01-2025-zh.csv"' in csv.headers["content-disposition"]
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert doc["tenant_name"] in html.text


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("/api/v1/parks/nowhere/reports/2025", {}, 404, "unknown park"),
        ("/api/v1/tenants/nobody/reports/2025", {}, 404, "unknown tenant"),
        ("/api/v1/parks/wuhan-demo/tenants/nobody/reports/2025", {}, 404, "has no tenant"),
        ("/api/v1/parks/wuhan-demo/tenants/t01/reports/1999", {}, 422, "year must be between"),
        ("/api/v1/parks/wuhan-demo/reports/1999", {}, 422, "year must be between"),
        ("/api/v1/parks/wuhan-demo/reports/2025", {"format": "docx"}, 422, "format"),
        ("/api/v1/parks/wuhan-demo/reports/2025", {"lang": "fr"}, 422, "lang"),
    ],
)
def test_bad_requests_are_refused_clearly(api, path, params, status, message):
    response = api.get(path, params=params)

    assert response.status_code == status
    assert message in response.text


def test_pdf_download_and_a_clear_503_without_cjk_fonts(api, monkeypatch):
    import reports.render

    pdf = api.get("/api/v1/parks/wuhan-demo/reports/2025", params={"format": "pdf"})

    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert 'attachment; filename="wuhan-demo-2025-zh.pdf"' in pdf.headers["content-disposition"]

    monkeypatch.setattr(reports.render, "cjk_fonts", list)
    refused = api.get(TENANT_REPORT, params={"format": "pdf"})
    assert refused.status_code == 503
    assert refused.json()["code"] == "unavailable"
    assert "fonts-noto-cjk" in refused.json()["message"]


def test_the_old_tenant_path_redirects_to_the_park_path_keeping_the_query(api):
    old = "/api/v1/tenants/t01/reports/2025"
    moved = api.get(old, params={"format": "csv", "lang": "en"}, follow_redirects=False)

    assert moved.status_code == 307
    assert moved.headers["deprecation"] == "true"
    assert moved.headers["location"].endswith(f"{TENANT_REPORT}?format=csv&lang=en")
    followed = api.get(old, params={"format": "csv", "lang": "en"})
    assert followed.status_code == 200
    assert 'filename="wuhan-demo-t01-2025-en.csv"' in followed.headers["content-disposition"]
    assert api.app.openapi()["paths"]["/api/v1/tenants/{tenant}/reports/{year}"]["get"][
        "deprecated"
    ]


def test_the_old_tenant_path_is_a_409_when_two_parks_have_the_tenant(store, january_data_dir):
    twin = PARK.model_copy(update={"park": PARK.park.model_copy(update={"id": "twin-park"})})
    registry = dataclasses.replace(REGISTRY, parks={**REGISTRY.parks, "twin-park": twin})
    app = create_app(settings=Settings(data_dir=january_data_dir), store=store, registry=registry)
    with TestClient(app) as client:
        response = client.get("/api/v1/tenants/t01/reports/2025", follow_redirects=False)

    assert response.status_code == 409, response.text
    body = response.json()
    assert body["code"] == "conflict"
    assert "twin-park" in body["message"]
    assert "wuhan-demo" in body["message"]


def test_a_report_of_the_current_year_projects_to_year_end(store):
    from datetime import UTC, datetime

    from reports.build import ReportRequest, build_report

    # mid-February 2025, with January measured: year to date and a year-end projection
    doc = build_report(store, PARK, ReportRequest(year=2025, now=datetime(2025, 2, 15, tzinfo=UTC)))

    assert [m.month for m in doc.monthly] == ["2025-01", "2025-02"]
    zero_carbon = next(b for b in doc.targets if b.key == "zero_carbon_park")
    clean = next(r for r in zero_carbon.rows if r.key == "clean_energy_share")
    assert clean.ytd is not None
    assert clean.ytd == pytest.approx(doc.monthly[0].values["clean_energy_share"], rel=1e-9)
    assert clean.projected is not None
    assert clean.projected_sigma is None  # one month observed: its spread is unknown, not zero
