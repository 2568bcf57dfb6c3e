"""The shipped target table loads with sourced thresholds; bad files name file and line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from config.errors import ConfigError
from config.targets import (
    TargetError,
    TargetNotFoundError,
    load_targets,
    targets,
)


def test_shipped_profiles():
    table = targets()
    assert table.ids() == ("zero_carbon_park", "miit_green_park", "green_factory", "microgrid")
    zc = table.profile("zero_carbon_park", date(2026, 6, 1))
    core = zc.indicator("carbon_per_energy")
    assert (core.veto, core.direction, core.unit, core.reads) == (
        True,
        "le",
        "tCO2/tce",
        "tco2_per_tce",
    )
    small, large = core.thresholds
    assert (small.value, small.min_annual_tce, small.max_annual_tce) == (0.20, 200_000, 1_000_000)
    assert (large.value, large.min_annual_tce, large.max_annual_tce) == (0.30, 1_000_000, None)
    assert small.evidence == large.evidence == "P"
    assert not small.covers(100_000)
    assert small.covers(200_000)
    assert not small.covers(1_000_000)
    assert zc.indicator("clean_energy_share").thresholds[0].value == 0.90
    declared = {i.key for i in zc.indicators if i.declared}
    assert declared == {
        "waste_heat_use", "water_reuse", "solid_waste_use", "product_energy_quota_level",
    }  # fmt: skip
    assert [zc.indicator(k).thresholds[0].value for k in sorted(declared)] == [2, 0.8, 0.5, 0.8]


def test_miit_values_are_unverified_or_configurable():
    park = targets().profile("miit_green_park")
    for ind in park.indicators:
        assert all(t.evidence == "U" for t in ind.thresholds), ind.key
    cva = park.indicator("carbon_per_value_added")
    assert cva.configurable
    assert cva.ratio is not None
    assert cva.ratio.denominator == ("declared:industrial_value_added_10k_cny",)
    assert park.indicator("energy_productivity").thresholds[0].value == 3


def test_green_factory_and_microgrid_examples_are_marked():
    gf = targets().profile("green_factory")
    for ind in gf.indicators:
        assert ind.scored
        scale = ind.sector("example_electronics")
        assert scale is not None
        assert scale.baseline.example
        assert scale.leading.example
    for ind in targets().profile("microgrid").indicators:
        assert all(t.example for t in ind.thresholds)


def test_every_number_has_source_year_and_evidence():
    for p in targets().profiles:
        assert p.source
        assert p.document
        for ind in p.indicators:
            assert ind.unit
            values = [*ind.thresholds] + [v for s in ind.sectors for v in (s.baseline, s.leading)]
            for v in values:
                assert v.source
                assert v.year >= 2016
                assert v.evidence in {"P", "S", "U"}


def test_unknown_profile():
    with pytest.raises(TargetNotFoundError, match="no target profile 'nope'"):
        targets().profile("nope")
    with pytest.raises(LookupError):
        targets().profile("green_factory", date(2020, 1, 1))  # before GB/T 36132-2025


_GOOD = """\
table: targets
profiles:
  - id: p
    title: t
    document: d
    year: 2025
    valid_from: 2025-01-01
    evidence: U
    source: s
    indicators:
      - key: a
        title: A
        role: core
        reads: tco2_per_tce
        direction: le
        unit: tCO2/tce
        thresholds:
          - {value: 0.2, min_annual_tce: 200000, max_annual_tce: 1000000, year: 2025,
             evidence: P, source: x}
          - {value: 0.3, min_annual_tce: 1000000, year: 2025, evidence: P, source: x}
"""


def _load(tmp_path: Path, text: str):
    path = tmp_path / "targets.yaml"
    path.write_text(text, encoding="utf-8")
    return load_targets(path), path


def _problem(tmp_path: Path, text: str) -> tuple[str, Path]:
    with pytest.raises(TargetError) as info:
        _load(tmp_path, text)
    assert isinstance(info.value, ConfigError)
    return str(info.value), tmp_path / "targets.yaml"


def test_good_file_loads(tmp_path):
    table, _ = _load(tmp_path, _GOOD)
    assert table.profile("p").indicator("a").thresholds[1].max_annual_tce is None


def test_missing_field_names_its_line(tmp_path):
    msg, path = _problem(tmp_path, _GOOD.replace("        direction: le\n", ""))
    # Reported on the "- key: a" line of the indicator that lacks it, and nothing else.
    assert msg == f"{path}:11: profiles.0.indicators.0.direction: Field required"


def test_overlapping_bands(tmp_path):
    msg, path = _problem(
        tmp_path, _GOOD.replace("min_annual_tce: 1000000,", "min_annual_tce: 900000,")
    )
    assert f"{path}:11:" in msg
    assert "bands of thresholds 0.2 and 0.3 overlap" in msg


def test_bad_value_points_at_its_line(tmp_path):
    msg, path = _problem(tmp_path, _GOOD.replace("value: 0.3,", "value: high,"))
    assert f"{path}:20: profiles.0.indicators.0.thresholds.1.value:" in msg


def test_evidence_grade_and_unknown_key(tmp_path):
    msg, path = _problem(
        tmp_path,
        _GOOD.replace("evidence: U", "evidence: V").replace(
            "unit: tCO2/tce", "unit: tCO2/tce\n        colour: red"
        ),
    )
    assert f"{path}:8: profiles.0.evidence: Input should be 'P', 'S' or 'U'" in msg
    assert f"{path}:17: profiles.0.indicators.0.colour: Extra inputs are not permitted" in msg


def test_reads_and_ratio_together(tmp_path):
    text = _GOOD.replace(
        "        reads: tco2_per_tce\n",
        "        reads: tco2_per_tce\n"
        "        ratio: {numerator: [scope1_tco2], denominator: [comprehensive_energy_tce]}\n",
    )
    msg, path = _problem(tmp_path, text)
    assert f"{path}:11:" in msg
    assert "exactly one of 'reads' and 'ratio'" in msg


def test_leading_must_beat_baseline(tmp_path):
    text = _GOOD.split("        thresholds:", maxsplit=1)[0] + (
        "        sectors:\n"
        "          - sector: s1\n"
        "            baseline: {value: 1.0, year: 2026, evidence: U, source: x}\n"
        "            leading: {value: 2.0, year: 2026, evidence: U, source: x}\n"
    )
    msg, path = _problem(tmp_path, text)
    assert f"{path}:11:" in msg
    assert "leading value 2.0 must be better than the baseline" in msg


def test_bad_ratio_term(tmp_path):
    text = _GOOD.replace(
        "        reads: tco2_per_tce\n",
        "        ratio: {numerator: [scope1_tco2], denominator: ['declared:']}\n",
    )
    msg, path = _problem(tmp_path, text)
    assert f"{path}:14: profiles.0.indicators.0.ratio:" in msg


def test_not_yaml_and_empty(tmp_path):
    msg, path = _problem(tmp_path, _GOOD.replace("  - id: p", "  - id: [p"))
    assert msg.startswith(f"{path}:")
    assert "not valid YAML" in msg
    msg, path = _problem(tmp_path, "")
    assert msg == f"{path}:1: file is empty"
    msg, path = _problem(tmp_path, "- a\n")
    assert "must be a mapping" in msg


def test_missing_file(tmp_path):
    with pytest.raises(TargetError, match="cannot read"):
        load_targets(tmp_path / "none.yaml")


def test_overlapping_versions(tmp_path):
    body = _GOOD.split("profiles:\n")[1]
    msg, _ = _problem(tmp_path, _GOOD + body)
    assert "two versions of profile 'p' overlap" in msg
