"""The shipped factor and tariff tables: they load, look up by date and region, and refuse
overlapping or incomplete entries."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from analytics.tariff import TouPeriod
from config.errors import ConfigError
from config.factors import (
    TOU_PERIOD_ORDER,
    FactorError,
    FactorNotFoundError,
    coal_equivalents,
    emission_factors,
    load_factor_table,
    load_tou_tariffs,
    tou_tariffs,
)


def test_grid_factors_by_date_and_region():
    table = emission_factors()
    # Consumption in 2025 uses the latest published factors (data year 2023).
    hubei = table.lookup("grid_average", "CN-HB", date(2025, 6, 1))
    assert (hubei.value, hubei.unit, hubei.year) == (0.4044, "kgCO2/kWh", 2023)
    assert table.lookup("grid_average", "CN", date(2022, 6, 1)).value == 0.5366
    assert table.lookup("grid_average", "CN-CENTRAL", date(2024, 1, 1)).value == 0.5271
    assert table.lookup("grid_excl_market_nonfossil", "CN", date(2024, 1, 1)).value == 0.6096
    assert table.for_year("grid_average", "CN", 2021).value == 0.5568
    with pytest.raises(FactorNotFoundError):
        table.lookup("grid_average", "CN-HB", date(2019, 1, 1))
    with pytest.raises(LookupError):
        table.for_year("grid_average", "CN", 1999)


def test_every_entry_has_source_unit_and_evidence():
    for table in (emission_factors(), coal_equivalents()):
        for f in table.entries:
            assert f.source
            assert f.unit
            assert f.evidence in {"P", "S", "U"}


def test_coal_equivalents():
    table = coal_equivalents()
    assert table.lookup("electricity_equivalent", "CN", date(2025, 1, 1)).value == 0.1229
    assert table.lookup("natural_gas", "CN", date(2025, 1, 1)).unit == "kgce/m3"
    assert table.lookup("heat", "CN", date(2025, 1, 1)).value == 0.03412
    assert table.lookup("electricity_coal_consumption", "CN", date(2024, 1, 1)).evidence == "U"


def test_hubei_tou_schedule():
    schedule = tou_tariffs().lookup("CN-HB", date(2025, 3, 1))
    periods = np.array(schedule.period_by_month_hour())
    ratios = np.array(schedule.ratio_by_month_period())
    assert periods.shape == (12, 24)
    assert_array_equal(np.bincount(periods[2], minlength=4), [2, 6, 8, 8])
    assert_array_equal(periods[6, 20:22], [TouPeriod.CRITICAL] * 2)  # July 20–22
    assert_array_equal(periods[2, 18:20], [TouPeriod.CRITICAL] * 2)  # March 18–20
    assert_array_equal(ratios[2], [1.8, 1.49, 1.0, 0.48])
    assert_array_equal(ratios[0], [2.0, 1.49, 1.0, 0.45])  # January is a peak month


def test_period_order_matches_analytics():
    assert [p.name.lower() for p in TouPeriod] == list(TOU_PERIOD_ORDER)


def test_overlapping_windows_are_refused(tmp_path: Path):
    path = tmp_path / "f.yaml"
    entry = (
        "{key: k, region: CN, value: 1, unit: u, year: %d, valid_from: %s, valid_to: null, "
        "evidence: P, source: s}"
    )
    path.write_text(
        "table: t\nentries:\n"
        f"  - {entry % (2022, '2022-01-01')}\n  - {entry % (2023, '2023-01-01')}\n"
    )
    with pytest.raises(FactorError, match="overlap"):
        load_factor_table(path)


def test_invalid_files_are_config_errors(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("table: t\nentries:\n  - {key: k}\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml"):
        load_factor_table(bad)
    with pytest.raises(FactorError, match="cannot read"):
        load_factor_table(tmp_path / "absent.yaml")
    gaps = tmp_path / "tou.yaml"
    gaps.write_text(
        "table: t\nschedules:\n  - name: x\n    region: R\n    valid_from: 2024-01-01\n"
        "    year: 2024\n    evidence: U\n    source: s\n    seasons:\n"
        "      - name: all\n        months: [1,2,3,4,5,6,7,8,9,10,11,12]\n"
        "        periods: {flat: [[0, 23]]}\n"
        "        ratios: {critical: 1, peak: 1, flat: 1, valley: 1}\n"
    )
    with pytest.raises(FactorError, match="every hour"):
        load_tou_tariffs(gaps)
