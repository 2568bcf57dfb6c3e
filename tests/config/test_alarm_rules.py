"""The alarm rule loader: the shipped file, the rule defaults, and a clear ConfigError naming the
file for every kind of bad file."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.alarm_rules import AlarmKind, Rule, RuleSet, Severity, default_rules_path, load_rules
from config.errors import ConfigError
from config.registry import demo_registry_path, load_registry


def test_shipped_rules_are_the_default() -> None:
    assert default_rules_path().name == "default.yaml"
    assert load_rules() == load_rules(default_rules_path())
    demand = load_rules().rule("floor-demand")
    assert demand is not None
    assert (demand.kind, demand.severity) == (AlarmKind.THRESHOLD, Severity.WARNING)


def test_rule_defaults_and_selection() -> None:
    rule = Rule.model_validate(
        {
            "id": "demand",
            "kind": "threshold",
            "above": 100,
            "per_device": {"tower-a-f03": 250},
            "parks": ["wuhan-demo"],
            "devices": {"roles": ["load"]},
        }
    )
    assert (rule.severity, rule.field, rule.for_s, rule.hysteresis) == (
        Severity.WARNING,
        "power_kw",
        900.0,
        0.0,
    )
    assert rule.threshold_for("tower-a-f03") == 250.0
    assert rule.threshold_for("tower-a-f04") == 100.0
    assert rule.applies_to_park("wuhan-demo")
    assert not rule.applies_to_park("elsewhere")
    assert rule.per_device_kind
    assert not Rule(id="q", kind=AlarmKind.QUARANTINE_RATE).per_device_kind
    park = load_registry(demo_registry_path()).parks["wuhan-demo"]
    selected = {d.id for d in park.devices if rule.devices.matches(d)}
    assert selected
    assert selected == {d.id for d in park.devices if d.role == "load"}


def test_an_empty_file_is_no_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("", encoding="utf-8")
    assert load_rules(path) == RuleSet()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: [", "not valid YAML"),
        ("rules:\n  - {id: a, kind: nonsense}\n", "invalid alarm rules: rules.0.kind"),
        ("rules:\n  - {id: a, kind: offline, colour: red}\n", "rules.0.colour"),
        ("rules:\n  - {id: Bad Id, kind: offline}\n", "rules.0.id"),
        ("rules:\n  - {id: a, kind: offline, for_s: -1}\n", "rules.0.for_s"),
        (
            "rules:\n  - {id: a, kind: offline}\n  - {id: a, kind: offline}\n",
            "a rule id is used twice",
        ),
        ("rules:\n  - {id: a, kind: threshold}\n", "rule 'a': a threshold rule needs 'above'"),
        (
            "rules:\n  - {id: n, kind: night_base_load, night_start_h: 5, night_end_h: 2}\n",
            "rule 'n': night_end_h must be after night_start_h",
        ),
    ],
)
def test_bad_rule_files_name_the_file_and_the_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as info:
        load_rules(path)
    # "<file>: …" or, for YAML syntax, "<file>:<line>: …"
    assert str(info.value).startswith(f"{path}:")


def test_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError, match="cannot read alarm rules") as info:
        load_rules(str(path))
    assert str(info.value).startswith(f"{path}: ")
