"""deploy/prometheus/smartpark-rules.yml names only metrics that smartpark exports (the
collector's and the ledger follower's, as Prometheus sees them: counters with ``_total``,
histograms with ``_bucket``), and each alert says what it means in English and in Chinese."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from config.registry import load_registry
from ingest.metrics import CollectorMetrics
from services.follow import FollowerMetrics, LedgerFollower
from smartpark.follow_child import ChildMetrics, FollowerChild
from store import EmbeddedStore

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "smartpark-rules.yml"
METRIC = re.compile(r"\bsmartpark_[a-z_]+\b")
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every metric and sample name a collector that follows the ledger exports (with the
    follower in it, and the supervisor's figures of a follower child)."""
    collector = CollectorMetrics()
    collector.readings_quarantined.labels(reason="malformed_json").inc()  # a labelled sample
    store = EmbeddedStore(tmp_path_factory.mktemp("rules") / "store.sqlite3")
    try:
        follower = LedgerFollower(store, load_registry())
        follower.step()  # a pass: the park's cursor, so its age is a sample too
        collector.registry.register(FollowerMetrics(follower))
        collector.registry.register(ChildMetrics(FollowerChild(holder="rules")))  # not started
        families = list(collector.registry.collect())
    finally:
        store.close()
    names = {f.name for f in families} | {s.name for f in families for s in f.samples}
    assert "smartpark_follower_cursor_age_seconds" in {s.name for f in families for s in f.samples}
    return names


def rules() -> list[dict[str, object]]:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in doc["groups"] for rule in group["rules"]]


def test_the_rules_name_only_exported_metrics(exported: set[str]) -> None:
    found = rules()
    assert len(found) >= 8
    for rule in found:
        named = set(METRIC.findall(str(rule["expr"])))
        assert named, rule["alert"]
        assert named <= exported, (rule["alert"], sorted(named - exported))


def test_every_alert_is_complete_and_said_in_both_languages() -> None:
    found = rules()
    alerts = [str(r["alert"]) for r in found]
    assert len(alerts) == len(set(alerts))
    for rule in found:
        assert str(rule["alert"]).startswith("Smartpark")
        assert re.fullmatch(r"\d+[smh]", str(rule["for"])), rule["alert"]
        labels = rule["labels"]
        assert isinstance(labels, dict)
        assert labels["severity"] in {"critical", "warning", "info"}
        notes = rule["annotations"]
        assert isinstance(notes, dict)
        assert len(str(notes["summary"])) > 20
        assert not CJK.search(str(notes["summary"]))
        assert CJK.search(str(notes["summary_zh"])), rule["alert"]
