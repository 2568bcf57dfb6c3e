"""SMARTPARK_TABLES_DIR: a park's own factor, tariff and target tables extend the shipped ones, so
a park outside Hubei prices its energy by its own time-of-use schedule (docs/tables.md)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from config.factors import (
    TOU_PERIOD_ORDER,
    FactorError,
    FactorNotFoundError,
    coal_equivalents,
    emission_factors,
    load_factor_table,
    tou_tariffs,
)
from config.registry import load_registry
from config.settings import get_settings
from config.targets import TargetError, targets
from services.indicators import factor_regions

# An example schedule, not a published tariff: the periods cover the 24 hours once.
GUANGDONG_TOU = """\
table: tou_tariffs
schedules:
  - name: example_guangdong_tou
    region: CN-GD
    valid_from: 2025-01-01
    valid_to: null
    year: 2025
    evidence: U
    source: example schedule for a test, not a published tariff
    seasons:
      - name: all_year
        months: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
        periods:
          critical: [[11, 12], [15, 17]]
          peak: [[10, 11], [12, 15], [17, 19]]
          flat: [[8, 10], [19, 24]]
          valley: [[0, 8]]
        ratios: {critical: 2.04, peak: 1.7, flat: 1.0, valley: 0.38}
"""


@pytest.fixture
def tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty tables folder named by SMARTPARK_TABLES_DIR."""
    folder = tmp_path / "tables"
    folder.mkdir()
    monkeypatch.setenv("SMARTPARK_TABLES_DIR", str(folder))
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


def test_without_a_folder_time_of_use_pricing_is_hubeis_only(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("SMARTPARK_TABLES_DIR", raising=False)
    get_settings.cache_clear()
    assert get_settings().tables_dir is None
    with pytest.raises(FactorNotFoundError, match="no TOU schedule for 'CN-GD'"):
        tou_tariffs().lookup("CN-GD", date(2025, 7, 1))


def test_a_park_outside_hubei_loads_its_own_tariff(tables: Path):
    (tables / "tariffs.yaml").write_text(GUANGDONG_TOU, encoding="utf-8")
    guangdong = tou_tariffs().lookup("CN-GD", date(2025, 7, 1))
    assert guangdong.name == "example_guangdong_tou"
    hours = guangdong.period_by_month_hour()[6]  # July
    assert [TOU_PERIOD_ORDER[i] for i in hours[9:13]] == ["flat", "peak", "critical", "peak"]
    assert hours[:8] == (TOU_PERIOD_ORDER.index("valley"),) * 8
    assert guangdong.ratio_by_month_period()[0] == (2.04, 1.7, 1.0, 0.38)
    # extended, not replaced: Hubei's shipped schedule is still there
    assert tou_tariffs().lookup("CN-HB", date(2025, 7, 1)).name == "hubei_ci_tou_2024_draft"


def test_a_guangdong_park_finds_its_schedule_first(tables: Path, tmp_path: Path):
    (tables / "tariffs.yaml").write_text(GUANGDONG_TOU, encoding="utf-8")
    park = tmp_path / "park.yaml"
    park.write_text(
        "park: {id: gz, name: Guangzhou park, latitude: 23.1, longitude: 113.3,\n"
        "       grid_region: south_china, province: guangdong}\n",
        encoding="utf-8",
    )
    regions = factor_regions(load_registry(park).parks["gz"])
    assert regions == ("CN-GD", "CN-SOUTH", "CN")
    assert tou_tariffs().lookup(regions[0], date(2026, 1, 15)).region == "CN-GD"


def test_an_override_replaces_the_entries_of_the_keys_it_names(tables: Path):
    (tables / "emission_factors.yaml").write_text(
        textwrap.dedent("""\
            table: emission_factors
            entries:
              - {key: grid_average, region: CN-HB, value: 0.3, unit: kgCO2/kWh, year: 2023,
                 valid_from: 2020-01-01, valid_to: null, evidence: U,
                 source: "example: the park's own accounting choice"}
              - {key: grid_average, region: CN-GD, value: 0.4, unit: kgCO2/kWh, year: 2023,
                 valid_from: 2020-01-01, valid_to: null, evidence: U, source: example}
        """),
        encoding="utf-8",
    )
    table = emission_factors()
    assert table.lookup("grid_average", "CN-HB", date(2021, 6, 1)).value == 0.3
    assert table.lookup("grid_average", "CN-HB", date(2025, 6, 1)).value == 0.3
    assert table.lookup("grid_average", "CN-GD", date(2025, 6, 1)).value == 0.4
    assert table.lookup("grid_average", "CN", date(2025, 6, 1)).value == 0.5306  # shipped
    assert coal_equivalents() == load_factor_table(name="coal_equivalents.yaml")  # no file


def test_a_target_profile_is_added_or_replaced(tables: Path):
    shipped = targets().ids()
    (tables / "targets.yaml").write_text(
        textwrap.dedent("""\
            table: targets
            profiles:
              - id: microgrid
                title: Our microgrid targets
                document: park board decision
                year: 2025
                valid_from: 2025-01-01
                evidence: U
                source: example
                indicators:
                  - {key: self_sufficiency, title: Self-sufficiency, role: target,
                     reads: self_sufficiency, direction: ge, unit: "1",
                     thresholds: [{value: 0.5, year: 2025, source: example, evidence: U,
                                   example: true}]}
        """),
        encoding="utf-8",
    )
    table = targets()
    assert table.ids() == shipped  # the same ids, microgrid now the park's own
    microgrid = table.profile("microgrid")
    assert microgrid.title == "Our microgrid targets"
    assert [i.key for i in microgrid.indicators] == ["self_sufficiency"]
    assert (
        table.profile("zero_carbon_park").indicator("clean_energy_share").thresholds[0].value
        == 0.90
    )


def test_a_bad_override_is_reported_with_its_file_and_line(tables: Path):
    bad = GUANGDONG_TOU.replace("valley: [[0, 8]]", "valley: [[0, 7]]")
    (tables / "tariffs.yaml").write_text(bad, encoding="utf-8")
    with pytest.raises(FactorError) as caught:
        tou_tariffs()
    (problem,) = caught.value.problems
    assert (problem.file, problem.line) == (str(tables / "tariffs.yaml"), 11)
    assert "periods must cover every hour exactly once" in problem.message


def test_an_override_of_another_table_is_refused_at_its_table_line(tables: Path):
    (tables / "tariffs.yaml").write_text(
        GUANGDONG_TOU.replace("table: tou_tariffs", "# the coal table\ntable: coal"),
        encoding="utf-8",
    )
    with pytest.raises(FactorError) as caught:
        tou_tariffs()
    assert [str(p) for p in caught.value.problems] == [
        f"{tables / 'tariffs.yaml'}:2: table: 'coal' in this file, but tariffs.yaml holds the "
        "'tou_tariffs' table"
    ]


def test_a_bad_target_override_names_its_line(tables: Path):
    (tables / "targets.yaml").write_text("table: targets\nprofiles:\n  - id: Bad Id\n", "utf-8")
    with pytest.raises(TargetError) as caught:
        targets()
    lines = {p.line for p in caught.value.problems}
    assert lines == {3}
    assert all(p.file == str(tables / "targets.yaml") for p in caught.value.problems)
