"""Sun position, clear-sky irradiance and PV output, as plain numpy functions.

pvlib is the reference implementation of all of this, but it pulls pandas, scipy and h5py
(≈ 240 MB, 0.7 s import) into a service that needs four formulas. These are the textbook ones
pvlib itself ships, and ``tests/simulators/test_solar.py`` pins them against pvlib's output:

- solar declination and equation of time: Spencer, J. W. (1971), "Fourier series representation
  of the position of the sun", Search 2(5), 172 (pvlib ``declination_spencer71``,
  ``equation_of_time_spencer71``);
- zenith and azimuth from hour angle, declination and latitude (spherical trigonometry;
  pvlib ``solar_zenith_analytical``, ``solar_azimuth_analytical``), within ≈ 0.5° of NREL SPA;
- clear-sky global horizontal irradiance: Haurwitz, B. (1945), "Insolation in relation to cloud
  type", J. Meteorology 3, 123-124 (pvlib ``clearsky.haurwitz``);
- diffuse fraction: Erbs, Klein & Duffie (1982), Solar Energy 28(4), 293-302 (pvlib ``erbs``);
- plane-of-array irradiance: isotropic sky (Liu & Jordan 1963) with ground albedo;
- cell temperature: NOCT model; power: PVWatts-style DC with a temperature coefficient, a flat
  system derate and inverter clipping (Dobos, NREL/TP-6A20-62641, 2014).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "SOLAR_CONSTANT_W_PER_M2",
    "clear_sky_ghi",
    "erbs_diffuse_fraction",
    "extraterrestrial_normal",
    "plane_of_array",
    "pv_ac_power_kw",
    "solar_position",
]

Array = npt.NDArray[np.float64]

SOLAR_CONSTANT_W_PER_M2 = 1366.1  # [W/m2] ASTM E-490 (pvlib default)
ALBEDO = 0.2  # [-] grass / concrete ground reflectance
NOCT_C = 45.0  # [degC] nominal operating cell temperature of c-Si modules
GAMMA_PER_K = -0.0040  # [1/K] power temperature coefficient of c-Si (datasheets −0.0035…−0.0045)
SYSTEM_DERATE = 0.86  # [-] PVWatts v5 default 14 % losses (soiling, wiring, mismatch …)
DC_AC_RATIO = 1.1  # [-] DC nameplate over inverter AC rating (PVWatts default 1.2; rooftops less)


def _day_angle(day_of_year: Array) -> Array:
    return 2.0 * np.pi * (day_of_year - 1.0) / 365.0


def solar_position(
    unix_s: Array, latitude_deg: float, longitude_deg: float
) -> tuple[Array, Array, Array]:
    """Solar zenith [deg], azimuth [deg, clockwise from north] and day of year at ``unix_s``."""
    unix_s = np.asarray(unix_s, dtype=np.float64)
    dt64 = (unix_s * 1e3).astype("datetime64[ms]")
    day_of_year = (dt64.astype("datetime64[D]") - dt64.astype("datetime64[Y]")).astype(
        np.float64
    ) + 1.0
    g = _day_angle(day_of_year)
    decl = (
        0.006918
        - 0.399912 * np.cos(g)
        + 0.070257 * np.sin(g)
        - 0.006758 * np.cos(2 * g)
        + 0.000907 * np.sin(2 * g)
        - 0.002697 * np.cos(3 * g)
        + 0.00148 * np.sin(3 * g)
    )
    eot_min = (1440.0 / 2 / np.pi) * (
        0.0000075
        + 0.001868 * np.cos(g)
        - 0.032077 * np.sin(g)
        - 0.014615 * np.cos(2 * g)
        - 0.040849 * np.sin(2 * g)
    )
    utc_hours = (unix_s % 86400.0) / 3600.0
    hour_angle = np.radians(15.0 * (utc_hours - 12.0) + longitude_deg + eot_min / 4.0)
    lat = np.radians(latitude_deg)
    cos_zen = np.sin(lat) * np.sin(decl) + np.cos(lat) * np.cos(decl) * np.cos(hour_angle)
    zenith = np.arccos(np.clip(cos_zen, -1.0, 1.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        cos_az = (np.cos(zenith) * np.sin(lat) - np.sin(decl)) / (np.sin(zenith) * np.cos(lat))
    azimuth = np.degrees(np.sign(hour_angle) * np.arccos(np.clip(cos_az, -1.0, 1.0))) + 180.0
    return np.degrees(zenith), azimuth, day_of_year


def extraterrestrial_normal(day_of_year: Array) -> Array:
    """Extraterrestrial normal irradiance [W/m2] (Spencer 1971 Earth-Sun distance)."""
    g = _day_angle(np.asarray(day_of_year, dtype=np.float64))
    r2 = (
        1.00011
        + 0.034221 * np.cos(g)
        + 0.00128 * np.sin(g)
        + 0.000719 * np.cos(2 * g)
        + 0.000077 * np.sin(2 * g)
    )
    return SOLAR_CONSTANT_W_PER_M2 * r2


def clear_sky_ghi(zenith_deg: Array) -> Array:
    """Haurwitz (1945) clear-sky global horizontal irradiance [W/m2]; 0 with the sun down."""
    cos_z = np.cos(np.radians(np.asarray(zenith_deg, dtype=np.float64)))
    out = np.zeros_like(cos_z)
    up = cos_z > 0
    out[up] = 1098.0 * cos_z[up] * np.exp(-0.059 / cos_z[up])
    return out


def erbs_diffuse_fraction(clearness_index: Array) -> Array:
    """Erbs et al. (1982) diffuse fraction of global horizontal irradiance [-]."""
    kt = np.clip(np.asarray(clearness_index, dtype=np.float64), 0.0, 1.0)
    mid = 0.9511 - 0.1604 * kt + 4.388 * kt**2 - 16.638 * kt**3 + 12.336 * kt**4
    return np.where(kt <= 0.22, 1.0 - 0.09 * kt, np.where(kt <= 0.8, mid, 0.165))


def plane_of_array(
    ghi: Array,
    zenith_deg: Array,
    azimuth_deg: Array,
    day_of_year: Array,
    *,
    tilt_deg: Array,
    surface_azimuth_deg: Array,
) -> Array:
    """Irradiance on tilted modules [W/m2]: beam + isotropic sky diffuse + ground reflection.

    ``ghi``, ``zenith_deg``, ``azimuth_deg`` and ``day_of_year`` broadcast against the module
    arrays ``tilt_deg`` and ``surface_azimuth_deg``.
    """
    zen = np.radians(zenith_deg)
    cos_z = np.cos(zen)
    up = cos_z > 0.01
    e0h = extraterrestrial_normal(day_of_year) * np.maximum(cos_z, 0.01)
    kt = np.where(up, ghi / e0h, 0.0)
    dhi = ghi * erbs_diffuse_fraction(kt)
    dni = np.where(up, (ghi - dhi) / np.maximum(cos_z, 0.01), 0.0)
    tilt = np.radians(tilt_deg)
    cos_aoi = cos_z * np.cos(tilt) + np.sin(zen) * np.sin(tilt) * np.cos(
        np.radians(azimuth_deg - surface_azimuth_deg)
    )
    beam = dni * np.maximum(cos_aoi, 0.0)
    sky = dhi * (1 + np.cos(tilt)) / 2
    ground = ghi * ALBEDO * (1 - np.cos(tilt)) / 2
    poa: Array = np.where(up, beam + sky + ground, 0.0)
    return poa


def pv_ac_power_kw(
    poa_w_per_m2: Array,
    air_temperature_c: Array | float,
    capacity_kw: Array,
    dc_kwp: Array | None = None,
) -> Array:
    """AC output [kW] of inverters rated ``capacity_kw`` [kW AC] under ``poa_w_per_m2`` [W/m²].

    DC nameplate ``dc_kwp`` [kWp at STC] (default ``DC_AC_RATIO`` × AC rating); NOCT cell
    temperature; PVWatts derate; clipped at the inverter's rating; never negative.
    """
    nameplate = capacity_kw * DC_AC_RATIO if dc_kwp is None else dc_kwp
    cell_c = air_temperature_c + poa_w_per_m2 * (NOCT_C - 20.0) / 800.0
    dc_kw = nameplate * poa_w_per_m2 / 1000.0 * (1.0 + GAMMA_PER_K * (cell_c - 25.0))
    out: Array = np.clip(dc_kw * SYSTEM_DERATE, 0.0, capacity_kw)
    return out
