"""PV final yield on the DC nameplate and the performance ratio, IEC 61724-1:2021.

Y_f = E_AC / P₀ [h], P₀ the array's DC power at STC (not the inverter's AC rating);
Y_r = H_POA / G_ref [h], G_ref = 1 kW/m², H_POA = Σ G_k × τ; PR = Y_f / Y_r.

The day: 100 kWp DC on 80 kW of inverters makes 600 kWh AC in 30 quarter hours of 1,000 W/m²:
H = 30 × 0.25 h × 1 kW/m² = 7.5 kWh/m², Y_f = 600 / 100 = 6 h, Y_r = 7.5 h, PR = 0.80 (on the
AC rating it would read 600 / 80 / 7.5 = 1.00).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from config.accounting import AccountingProfile
from services.energy import Scope, energy_balance
from services.indicators import park_indicators
from services.indicators.basis import park_basis
from services.indicators.microgrid import microgrid_indicators
from store import EmbeddedStore
from tests.indicators import toy

DAY = date(2026, 6, 10)
SUNNY = range(32, 62)  # 08:00-15:30 local, 30 quarter hours


@pytest.fixture
def pv(tmp_path):
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    toy.write(store, "pv", "energy_kwh", {DAY: dict.fromkeys(SUNNY, 20.0)})
    toy.write(store, "grid", "energy_kwh", {DAY: {0: 0.0}})
    extra = (
        "  - {id: pv, kind: pv_inverter, role: pv, parent: grid, capacity_kw: 80, dc_kwp: 100}\n"
    )
    return store, toy.registry(tmp_path, extra=extra)


def test_final_yield_on_dc_kwp(pv):
    store, park = pv
    ind = {i.name: i for i in park_indicators(store, park, DAY.isoformat()).indicators}
    yf = ind["pv_specific_yield_kwh_per_kw"]
    assert yf.value == pytest.approx(6.0)
    assert yf.detail["p0_kwp"] == 100.0
    assert "dc_kwp" in (yf.note or "")
    # the registry has no irradiance sensor: no PR, and the reason says so
    assert ind["pv_performance_ratio"].value is None
    assert "irradiance" in (ind["pv_performance_ratio"].reason or "")


def test_performance_ratio_from_an_irradiance_series(pv):
    store, park = pv
    start, end = toy.ns(DAY), toy.ns(DAY, 86_400)
    bal = energy_balance(store, park, Scope("park"), start_ns=start, end_ns=end)
    g = np.zeros(bal.start_ns.size)
    g[list(SUNNY)] = 1000.0  # W/m²
    g[70] = np.nan  # a missing sample at night, left out of both sums
    basis = park_basis(bal, park, AccountingProfile())
    out = microgrid_indicators(
        basis, bal, bal.start_ns, park=park, green_kwh=0.0, interval_s=900,
        tz="Asia/Shanghai", irradiance=(g, "pyranometer"),
    )  # fmt: skip
    pr = next(i for i in out if i.name == "pv_performance_ratio")
    assert pr.value == pytest.approx(0.80)
    assert pr.detail["irradiation_kwh_per_m2"] == pytest.approx(7.5)
