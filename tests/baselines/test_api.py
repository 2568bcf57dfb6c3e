"""Baselines over the API: create and fit on the demo park's January, list, read the results;
the figures are those of the service; bad definitions are refused and not stored."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from config.messages import message
from config.registry import load_registry
from config.settings import Settings
from services.baselines import BaselineDefinition, evaluate_baseline
from services.energy import Scope
from store import EmbeddedStore

REGISTRY = load_registry()
PARK = REGISTRY.parks["wuhan-demo"]
URL = "/api/v1/parks/wuhan-demo/baselines"
BODY = {
    "id": "jan",
    "baseline_start": "2025-01-01",
    "baseline_end": "2025-01-15",
    "reporting_start": "2025-01-15",
    "reporting_end": "2025-01-22",
    "kind": "3p_heating",
}


@pytest.fixture(scope="module")
def store(
    january_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmbeddedStore]:
    folder = tmp_path_factory.mktemp("baselines-api")
    shutil.copy(january_data_dir / "store.sqlite3", folder / "store.sqlite3")
    s = EmbeddedStore(folder / "store.sqlite3")
    yield s
    s.close()


@pytest.fixture(scope="module")
def api(store: EmbeddedStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(
        settings=Settings(data_dir=tmp_path_factory.mktemp("api-data")),
        store=store,
        registry=REGISTRY,
    )
    with TestClient(app) as client:
        yield client


def test_create_list_and_read(api: TestClient, store: EmbeddedStore) -> None:
    created = api.post(URL, json=BODY)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["definition"]["id"] == "jan"
    assert body["definition"]["figure"] == "load_kwh"
    assert body["unit"] == "kWh"
    assert body["model"]["kind"] == "3p_heating"
    assert len(body["model"]["change_points_c"]) == 1
    assert body["stats"]["p"] == 4  # intercept, slope, change point, rest-day shift
    assert body["limits"]["id"] == "ashrae14_baseline_lt12m"
    assert body["limits"]["year"] == 2014
    assert body["passed"] is True
    saved = body["savings"]
    assert saved["claimed"] is False
    assert [r["code"] for r in saved["reasons"]] == ["fsu"]
    assert saved["reasons"][0]["message_zh"]
    assert saved["reasons"][0]["message_en"]
    assert abs(saved["savings"]) <= 2 * saved["uncertainty"]

    # the same figures as the service computes
    defn = BaselineDefinition(
        id="jan",
        scope=Scope("park"),
        figure="load_kwh",
        granularity="day",
        kind="3p_heating",
        baseline_start=date(2025, 1, 1),
        baseline_end=date(2025, 1, 15),
        reporting_start=date(2025, 1, 15),
        reporting_end=date(2025, 1, 22),
        limits=None,
        production=False,
        created_ns=0,
    )
    direct = evaluate_baseline(store, PARK, defn)
    assert body["stats"]["cv_rmse_pct"] == pytest.approx(direct.model.stats.cv_rmse_pct, rel=1e-12)
    assert direct.claim is not None
    assert saved["savings"] == pytest.approx(direct.claim.savings.savings, rel=1e-9)

    listed = api.get(URL)
    assert listed.status_code == 200
    assert [b["id"] for b in listed.json()["baselines"]] == ["jan"]
    read = api.get(f"{URL}/jan")
    assert read.status_code == 200
    assert read.json()["model"] == body["model"]


@pytest.mark.parametrize(
    ("change", "status", "text"),
    [
        ({"reporting_start": "2025-01-10"}, 422, "has ended"),
        ({"kind": "9p"}, 422, "kind"),
        ({"limits": "ashrae14_calibration_monthly"}, 422, "calibration"),
        ({"scope": "tenant:nobody"}, 404, "nobody"),
        ({"scope": "nonsense"}, 422, "scope"),
        ({"baseline_start": "2024-05-01", "baseline_end": "2024-05-20"}, 422, "no day"),
    ],
)
def test_bad_definitions_are_refused(
    api: TestClient, change: dict[str, str], status: int, text: str
) -> None:
    response = api.post(URL, json=BODY | change | {"id": "bad"})
    assert response.status_code == status, response.text
    assert text in response.text
    assert "bad" not in {b["id"] for b in api.get(URL).json()["baselines"]}


@pytest.mark.parametrize(
    ("change", "key", "zh"),
    [
        ({"reporting_start": "2025-01-10"}, "baseline.error.overlap", "报告期须在基准期结束之后"),
        (
            {"baseline_start": "2024-05-01", "baseline_end": "2024-05-20"},
            "baseline.error.no_data",
            "同时具备",
        ),
        ({"limits": "ashrae14_calibration_monthly"}, "baseline.error.limits", "验收限值"),
        # January heats: no cooling slope of the right sign
        ({"kind": "3p_cooling"}, "baseline.error.cannot_fit", "无法拟合该模型"),
    ],
)
def test_a_refusal_reads_in_both_languages_from_the_catalogue(
    api: TestClient, change: dict[str, str], key: str, zh: str
) -> None:
    response = api.post(URL, json=BODY | change | {"id": "bad"})
    assert response.status_code == 422, response.text
    body = response.json()
    assert zh in body["message_zh"]
    # the English sentence is the same entry's, its placeholders filled alike
    english = message(key, "en")
    head = english.split("{", 1)[0]
    assert body["message"].startswith(head), (body["message"], english)


def test_unknown_baseline_is_404(api: TestClient) -> None:
    response = api.get(f"{URL}/missing")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    zh = message("baseline.error.not_found", "zh", PARK.id, "missing")
    assert response.json()["message_zh"] == zh
