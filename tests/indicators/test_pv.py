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
from store import TELEMETRY, EmbeddedStore, Point
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


# --- PR from a pyranometer in the registry, read from the store ----------------------------------
# The same day measured by a plane-of-array pyranometer whose readings are each the mean over the
# interval before them (as a power reading is): 1,000 W/m² from 08:00 to 15:30, 0 otherwise. Its
# irradiation is H = 7.5 h × 1 kW/m² = 7.5 kWh/m², so Y_r = 7.5 h and PR = 6 / 7.5 = 0.80 however
# often it reports.
SUN_FROM_S, SUN_TO_S = 8 * 3600, 15 * 3600 + 1800


def _pyranometer(store, step_s: int, *, missing: tuple[int, ...] = ()) -> None:
    """Readings every ``step_s`` over DAY and its next midnight (none at the local seconds
    ``missing``): the mean irradiance [W/m²] over ``(t − step_s, t]``."""
    points = []
    for t in range(step_s, 86_400 + step_s, step_s):
        if t in missing:
            continue
        sunny = max(0, min(t, SUN_TO_S) - max(t - step_s, SUN_FROM_S))
        g = 1000.0 * sunny / step_s
        points.append(
            Point(TELEMETRY, {"park": "toy", "device": "pyr"}, {"irradiance_w_per_m2": g},
                  toy.ns(DAY, t))
        )  # fmt: skip
    store.write(points)


@pytest.mark.parametrize("step_s", [60, 900, 3600])
def test_performance_ratio_from_a_registered_pyranometer(tmp_path, step_s):
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    toy.write(store, "pv", "energy_kwh", {DAY: dict.fromkeys(SUNNY, 20.0)})
    toy.write(store, "grid", "energy_kwh", {DAY: {0: 0.0}})
    _pyranometer(store, step_s)
    extra = (
        "  - {id: pv, kind: pv_inverter, role: pv, parent: grid, capacity_kw: 80, dc_kwp: 100}\n"
        "  - {id: pyr, kind: pyranometer, role: environment, tilt_deg: 20, azimuth_deg: 180}\n"
    )
    park = toy.registry(tmp_path, extra=extra)
    ind = {i.name: i for i in park_indicators(store, park, DAY.isoformat()).indicators}
    pr = ind["pv_performance_ratio"]
    assert pr.value == pytest.approx(0.80, rel=1e-9), pr.reason
    assert pr.detail["irradiation_kwh_per_m2"] == pytest.approx(7.5, rel=1e-9)
    assert pr.completeness_pct == 100.0
    assert "pyr" in (pr.note or "")


def test_irradiance_not_reported_is_left_out(tmp_path):
    # a pyranometer reporting hourly that misses 12:00 (the mean over 11:00-12:00): those four
    # quarter hours are unknown, not dark, and leave both sums (H = 6.5 kWh/m², PV 520 kWh)
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    toy.write(store, "pv", "energy_kwh", {DAY: dict.fromkeys(SUNNY, 20.0)})
    toy.write(store, "grid", "energy_kwh", {DAY: {0: 0.0}})
    _pyranometer(store, 3600, missing=(12 * 3600,))
    extra = (
        "  - {id: pv, kind: pv_inverter, role: pv, parent: grid, capacity_kw: 80, dc_kwp: 100}\n"
        "  - {id: pyr, kind: pyranometer, role: environment, expected_interval_s: 3600}\n"
    )
    park = toy.registry(tmp_path, extra=extra)
    ind = {i.name: i for i in park_indicators(store, park, DAY.isoformat()).indicators}
    pr = ind["pv_performance_ratio"]
    assert pr.detail["irradiation_kwh_per_m2"] == pytest.approx(6.5, rel=1e-9)
    assert pr.value == pytest.approx((520.0 / 100.0) / 6.5, rel=1e-9)
    assert pr.completeness_pct == pytest.approx(100.0 * 92 / 96)
