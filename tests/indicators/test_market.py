"""Market-based Scope 2 and the 910 core indicator with green instruments, through the pipeline.

GHG Protocol Scope 2 Guidance (WRI/WBCSD 2015), market-based method: C = (E − E_green) × EF,
E_green the certified kWh claimed for that consumption (Quality Criteria 2–3: each claimed once,
never above the consumption it covers); EF the residual-mix proxy, the MEE/NBS 2023 national
factor excluding market-traded non-fossil power, 0.6096 kgCO2/kWh. 910 core indicator with
certified green at zero: (Scope 1 + (E − E_green) × 0.4044 kgCO2/kWh Hubei 2023) / tce.

Data: 2026-01-10 the grid supplies 1,000 kWh (tenant a 600, b 400); 2026-02-10 800 kWh (a 500,
b 300); nothing else in the year. No PV: each tenant's purchase is its own consumption.
"""

from __future__ import annotations

from datetime import date

import pytest

from analytics.instruments import Instrument, gec_batch, month_index
from services.energy import Scope
from services.indicators import Indicator, park_indicators, scope_indicators
from store import EmbeddedStore
from tests.indicators import toy

JAN, FEB = date(2026, 1, 10), date(2026, 2, 10)
RESIDUAL, EF_HUBEI, K_CV = 0.6096, 0.4044, 0.1229  # kgCO2/kWh, kgCO2/kWh, kgce/kWh
M1, M2 = month_index(2026, 1), month_index(2026, 2)

# 500 GEC would certify 500 MWh; a batch of half a certificate is not issued, so the annual
# batch here is 0.5 MWh as an Instrument: generated over 2026, retired against February only.
ANNUAL_FEB = Instrument("annual-2026", "gec", 500.0, M1, M1 + 12, M2, M2 + 1)
# one certificate = 1,000 kWh (发改能源[2023]1044号), tenant a's, retired against January
TENANT_A_JAN = gec_batch(
    "a-2026-01", 1, generation_start=M1, generation_end=M1 + 1, retired_start=M1,
    retired_end=M1 + 1, tenant="a",
)  # fmt: skip


def by_name(items: tuple[Indicator, ...]) -> dict[str, Indicator]:
    return {i.name: i for i in items}


def value(ind: Indicator) -> float:
    assert ind.value is not None, f"{ind.name}: {ind.reason}"
    return ind.value


@pytest.fixture
def two_months(tmp_path):
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    toy.write(store, "grid", "energy_kwh", {JAN: toy.spread(1000.0), FEB: toy.spread(800.0)})
    toy.write(store, "ma", "energy_kwh", {JAN: toy.spread(600.0), FEB: toy.spread(500.0)})
    toy.write(store, "mb", "energy_kwh", {JAN: toy.spread(400.0), FEB: toy.spread(300.0)})
    return store, toy.registry(tmp_path)


PARK = Scope("park")


def market(store, park, period, *instruments, scope=PARK):
    report = scope_indicators(store, park, period, scope=scope, instruments=lambda *_: instruments)
    return report, by_name(report.indicators)


def test_an_annual_batch_retired_against_one_month_changes_that_month_only(two_months):
    store, park = two_months
    _, jan = market(store, park, "2026-01", ANNUAL_FEB)
    feb_report, feb = market(store, park, "2026-02", ANNUAL_FEB)
    _, year = market(store, park, "2026", ANNUAL_FEB)
    # January: no claim, 1,000 kWh × 0.6096 = 609.6 kgCO2
    assert value(jan["scope2_market_tco2"]) == pytest.approx(0.6096)
    # February: (800 − 500) kWh × 0.6096 = 182.88 kgCO2
    assert value(feb["scope2_market_tco2"]) == pytest.approx(0.18288)
    # the year: 609.6 + 182.88 kgCO2, the batch used once
    assert value(year["scope2_market_tco2"]) == pytest.approx(0.79248)
    assert [(u.instrument_id, u.month, u.energy_kwh) for u in feb_report.instruments] == [
        ("annual-2026", "2026-02", pytest.approx(500.0))
    ]
    # 910 core in February: (800 − 500) × 0.4044 / (800 × 0.1229) = 121.32 / 98.32 kg
    assert value(feb["tco2_per_tce"]) == pytest.approx(300 * EF_HUBEI / (800 * K_CV))
    assert value(feb["tco2_per_tce_location"]) == pytest.approx(EF_HUBEI / K_CV)
    assert value(jan["tco2_per_tce"]) == pytest.approx(EF_HUBEI / K_CV)
    # renewable share of electricity: 500 / 800 kWh certified green
    assert value(feb["renewable_electricity_share"]) == pytest.approx(500 / 800)
    # a day of February holds all of February's purchase, so all of its claim
    _, day = market(store, park, FEB.isoformat(), ANNUAL_FEB)
    assert value(day["scope2_market_tco2"]) == pytest.approx(0.18288)


def test_a_tenant_scoped_gec_does_not_reduce_another_tenant(two_months):
    store, park = two_months
    a_report, a = market(store, park, "2026-01", TENANT_A_JAN, scope=Scope("tenant", "a"))
    _, b = market(store, park, "2026-01", TENANT_A_JAN, scope=Scope("tenant", "b"))
    _, whole = market(store, park, "2026-01", TENANT_A_JAN)
    # tenant a: 1,000 kWh certified but only 600 kWh bought: (600 − 600) × 0.6096 = 0
    assert value(a["scope2_market_tco2"]) == pytest.approx(0.0)
    assert a["scope2_market_tco2"].detail["green_kwh"] == pytest.approx(600.0)
    assert [u.tenant for u in a_report.instruments] == ["a"]
    # tenant b keeps its whole purchase: 400 × 0.6096
    assert value(b["scope2_market_tco2"]) == pytest.approx(0.24384)
    # the park counts a's 600 kWh, never more than the park bought: (1000 − 600) × 0.6096
    assert value(whole["scope2_market_tco2"]) == pytest.approx(0.24384)
    # and the 910 core indicator of tenant a drops to 0: its purchase is all certified
    assert value(a["tco2_per_tce"]) == pytest.approx(0.0)
    assert value(b["tco2_per_tce"]) == pytest.approx(EF_HUBEI / K_CV)


def test_park_claims_never_exceed_the_park(two_months):
    store, park = two_months
    big = Instrument("big", "contract", 5000.0, M1, M1 + 1, M1, M1 + 1)
    report, ind = market(store, park, "2026-01", big, TENANT_A_JAN)
    # tenant a's claim (600) first, then the park contract up to the park's 1,000 kWh
    assert sum(u.energy_kwh for u in report.instruments) == pytest.approx(1000.0)
    assert value(ind["scope2_market_tco2"]) == pytest.approx(0.0)
    assert ind["scope2_market_tco2"].detail["green_kwh:contract"] == pytest.approx(400.0)


def test_no_instrument_leaves_market_at_the_residual_mix(two_months):
    store, park = two_months
    ind = by_name(park_indicators(store, park, "2026-02").indicators)
    assert value(ind["scope2_market_tco2"]) == pytest.approx(800 * RESIDUAL / 1000)
