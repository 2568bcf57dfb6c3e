"""Maximum demand on a 15-minute window sliding over minute data, and billed demand with the
contract floor.

Utilities bill the highest 15-minute average power, the window sliding with the meter's
resolution; fixed blocks can split a peak. 15 minutes at 1,000 kW from 10:07 to 10:22: the
blocks 10:00–10:15 and 10:15–10:30 hold 8 and 7 of those minutes, 1,000 × 8/15 = 533.3 kW and
466.7 kW; the sliding window finds 1,000 kW. Billed demand is not below 40 % of the contracted
capacity (发改办价格[2016]1583号): with 3,150 kVA the floor is 1,260 kW, with 2,000 kVA 800 kW.
"""

from __future__ import annotations

from datetime import date

import pytest

from services.indicators import park_indicators
from store import EmbeddedStore
from tests.indicators import toy

DAY = date(2026, 3, 10)
PEAK_KW = 1000.0
MINUTES = range(10 * 60 + 7, 10 * 60 + 22)  # 10:07 … 10:21, fifteen minutes


def tariff(contracted_kw: float) -> str:
    return (
        "tariff: {flat_price_cny_per_kwh: 0.5, demand_charge_cny_per_kw_month: 40, "
        f"contracted_kw: {contracted_kw}, source: test tariff, year: 2026}}"
    )


@pytest.fixture
def minutes(tmp_path):
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    per_minute = dict.fromkeys(MINUTES, PEAK_KW / 60)  # kWh per minute at 1,000 kW
    toy.write(store, "grid", "energy_kwh", {DAY: per_minute}, step_s=60)
    return store


@pytest.mark.parametrize(("contracted", "billed"), [(3150.0, 1260.0), (2000.0, PEAK_KW)])
def test_sliding_peak_and_billed_demand(tmp_path, minutes, contracted, billed):
    park = toy.registry(tmp_path, tariff=tariff(contracted), grid_extra=", expected_interval_s: 60")
    ind = {i.name: i for i in park_indicators(minutes, park, DAY.isoformat()).indicators}
    peak = ind["peak_demand_kw"]
    assert peak.value == pytest.approx(PEAK_KW)
    assert "sliding" in (peak.note or "")
    assert ind["billed_demand_kw"].value == pytest.approx(billed)
    assert ind["billed_demand_kw"].detail["contracted_kw"] == contracted
    # the fixed quarter hours split the peak: 8 of 15 minutes in the first block
    charge = ind["demand_charge_cny"]
    assert charge.detail["fixed_block_max_kw:2026-03"] == pytest.approx(PEAK_KW * 8 / 15)
    assert charge.detail["max_demand_kw:2026-03"] == pytest.approx(PEAK_KW)
    # the month's demand charge bills the billed demand: × 40 CNY/(kW·month)
    month = {i.name: i for i in park_indicators(minutes, park, "2026-03").indicators}
    assert month["demand_charge_cny"].value == pytest.approx(billed * 40)


def test_quarter_hour_meters_keep_fixed_blocks(tmp_path):
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    toy.write(store, "grid", "energy_kwh", {DAY: {40: 250.0}})  # 250 kWh in one quarter hour
    park = toy.registry(tmp_path, tariff=tariff(500.0))
    ind = {i.name: i for i in park_indicators(store, park, DAY.isoformat()).indicators}
    assert ind["peak_demand_kw"].value == pytest.approx(1000.0)
    assert "fixed" in (ind["peak_demand_kw"].note or "")
    assert ind["billed_demand_kw"].value == pytest.approx(1000.0)  # above 0.4 × 500 = 200


def test_no_contracted_capacity_no_billed_demand(tmp_path, minutes):
    park = toy.registry(tmp_path, grid_extra=", expected_interval_s: 60")
    ind = {i.name: i for i in park_indicators(minutes, park, DAY.isoformat()).indicators}
    assert ind["billed_demand_kw"].value is None
    assert "contracted_kw" in (ind["billed_demand_kw"].reason or "")
