"""Sun position, clear sky and PV power against pvlib 0.16.1 (values pinned, pvlib not needed)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from numpy.testing import assert_allclose

from simulators import solar

WUHAN = (30.47, 114.53)
ZONE = ZoneInfo("Asia/Shanghai")
TIMES = [
    datetime(2026, 6, 21, 12, 0, tzinfo=ZONE),
    datetime(2026, 12, 21, 12, 0, tzinfo=ZONE),
    datetime(2026, 3, 20, 8, 0, tzinfo=ZONE),
    datetime(2026, 9, 10, 16, 30, tzinfo=ZONE),
]
# pvlib.solarposition.get_solarposition(method="nrel_numpy"): NREL SPA, true (not refracted)
SPA_ZENITH = [8.781000, 54.115958, 70.761356, 64.151853]
SPA_AZIMUTH = [141.796372, 174.398141, 102.155684, 259.892584]


def test_solar_position_agrees_with_nrel_spa():
    unix_s = np.array([t.timestamp() for t in TIMES])
    zenith, azimuth, doy = solar.solar_position(unix_s, *WUHAN)
    # Spencer's series is good to a few tenths of a degree (Spencer 1971; Michalsky 1988)
    assert_allclose(zenith, SPA_ZENITH, atol=0.5)
    assert_allclose(azimuth, SPA_AZIMUTH, atol=1.5)
    assert doy.tolist() == [172, 355, 79, 253]


def test_haurwitz_clear_sky_matches_pvlib():
    # pvlib.clearsky.haurwitz(apparent_zenith) for the apparent zeniths of TIMES
    apparent = np.array([8.778420, 54.092764, 70.713958, 64.117408])
    assert_allclose(
        solar.clear_sky_ghi(apparent), [1022.251761, 582.319158, 303.326786, 418.713386], rtol=1e-6
    )
    assert solar.clear_sky_ghi(np.array([90.0, 120.0])).tolist() == [0.0, 0.0]


def test_extraterrestrial_and_erbs_match_pvlib():
    assert_allclose(
        solar.extraterrestrial_normal(np.array([1, 172, 355])),
        [1413.981805, 1321.62359257, 1412.70856436],
        rtol=1e-8,
    )
    # pvlib.irradiance.erbs(500, 30, 172) → dhi 390.31215586, kt 0.43684925
    assert solar.erbs_diffuse_fraction(np.array([0.43684925]))[0] * 500 == pytest.approx(
        390.31215586, rel=1e-6
    )


def test_plane_of_array_matches_pvlib_isotropic():
    # pvlib: erbs(800, 30, 172) → dni/dhi, then get_total_irradiance(20, 180, 30, 150, …,
    # albedo=0.2, model="isotropic")["poa_global"]
    poa = solar.plane_of_array(
        np.array([800.0]), np.array([30.0]), np.array([150.0]), np.array([172.0]),
        tilt_deg=np.array([20.0]), surface_azimuth_deg=np.array([180.0]),
    )  # fmt: skip
    assert poa[0] == pytest.approx(865.7113140467659, rel=1e-6)


def test_pv_power_clips_derates_and_stays_positive():
    cap = np.array([100.0, 100.0, 100.0])
    p = solar.pv_ac_power_kw(np.array([0.0, 1000.0, 1300.0]), 25.0, cap)
    assert p[0] == 0
    assert p[2] == 100.0  # clipped at the inverter's rating
    hot = solar.pv_ac_power_kw(np.array([800.0]), 38.0, cap[:1])
    cold = solar.pv_ac_power_kw(np.array([800.0]), 0.0, cap[:1])
    assert hot[0] < cold[0]  # temperature derating
    # 800 W/m2 at 38 °C air: cell 38 + 800·25/800 = 63 °C → (1 − 0.004·38) = 0.848
    assert hot[0] == pytest.approx(100 * 1.1 * 0.8 * 0.848 * 0.86, rel=1e-9)
