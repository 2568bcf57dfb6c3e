"""Units: one table per quantity, converted once at ingest to one canonical unit each.

The registry declares the unit each device reports a field in; the collector converts every value
to the canonical unit of its quantity and stores it under a name that carries that unit
(``energy`` in Wh → ``energy_kwh``; a dimensionless power factor ``pf`` keeps its name).
Nothing downstream converts units again.

Conversions are exact SI ratios (1 kWh = 3.6 MJ; 1 L = 0.001 m3) except temperature, which is
affine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum

from config.errors import ConfigError

__all__ = [
    "CANONICAL_SUFFIX",
    "CANONICAL_UNIT",
    "UNITS",
    "Quantity",
    "UnknownUnitError",
    "converter",
    "stored_field_name",
]


class Quantity(StrEnum):
    """Physical quantities a field can carry."""

    ENERGY = "energy"
    POWER = "power"
    VOLUME = "volume"
    FLOW = "flow"
    TEMPERATURE = "temperature"
    RATIO = "ratio"
    CONCENTRATION = "concentration"
    PPM = "ppm"
    COUNT = "count"  # discrete things made: a production counter's register
    VOLTAGE = "voltage"  # an electricity meter's line-to-line voltage
    CURRENT = "current"  # an electricity meter's phase current
    POWER_FACTOR = "power_factor"  # dimensionless: stored without a unit suffix
    IRRADIANCE = "irradiance"  # plane-of-array irradiance of a pyranometer (IEC 61724-1 G_POA)


class UnknownUnitError(ConfigError):
    """A unit that the table does not know for that quantity."""


CANONICAL_UNIT: Mapping[Quantity, str] = {
    Quantity.ENERGY: "kWh",
    Quantity.POWER: "kW",
    Quantity.VOLUME: "m3",
    Quantity.FLOW: "m3/h",
    Quantity.TEMPERATURE: "degC",
    Quantity.RATIO: "%",
    Quantity.CONCENTRATION: "ug/m3",
    Quantity.PPM: "ppm",
    Quantity.COUNT: "units",
    Quantity.VOLTAGE: "V",
    Quantity.CURRENT: "A",
    Quantity.POWER_FACTOR: "1",
    Quantity.IRRADIANCE: "W/m2",
}

CANONICAL_SUFFIX: Mapping[Quantity, str] = {
    Quantity.ENERGY: "kwh",
    Quantity.POWER: "kw",
    Quantity.VOLUME: "m3",
    Quantity.FLOW: "m3_per_h",
    Quantity.TEMPERATURE: "degc",
    Quantity.RATIO: "pct",
    Quantity.CONCENTRATION: "ug_per_m3",
    Quantity.PPM: "ppm",
    Quantity.COUNT: "units",
    Quantity.VOLTAGE: "v",
    Quantity.CURRENT: "a",
    Quantity.POWER_FACTOR: "",  # a pure number has no unit to name: ``pf`` is stored as ``pf``
    Quantity.IRRADIANCE: "w_per_m2",
}

# unit -> factor to the canonical unit (value_canonical = value * factor)
UNITS: Mapping[Quantity, Mapping[str, float]] = {
    Quantity.ENERGY: {
        "Wh": 1e-3,
        "kWh": 1.0,
        "MWh": 1e3,
        "GWh": 1e6,
        "kJ": 1 / 3600,
        "MJ": 1 / 3.6,
        "GJ": 1e3 / 3.6,  # 1 kWh = 3.6 MJ (SI)
    },
    Quantity.POWER: {"W": 1e-3, "kW": 1.0, "MW": 1e3},
    Quantity.VOLUME: {"L": 1e-3, "m3": 1.0, "Nm3": 1.0, "km3": 1e3},
    Quantity.FLOW: {"L/s": 3.6, "L/min": 0.06, "m3/h": 1.0, "Nm3/h": 1.0, "m3/s": 3600.0},
    Quantity.TEMPERATURE: {"degC": 1.0},  # affine units handled in converter()
    Quantity.RATIO: {"%": 1.0, "1": 100.0},
    Quantity.CONCENTRATION: {"ug/m3": 1.0, "mg/m3": 1e3},
    Quantity.PPM: {"ppm": 1.0, "ppb": 1e-3},
    Quantity.COUNT: {"units": 1.0, "kunits": 1000.0},
    Quantity.VOLTAGE: {"V": 1.0, "kV": 1e3},
    Quantity.CURRENT: {"A": 1.0, "kA": 1e3},
    Quantity.POWER_FACTOR: {"1": 1.0, "%": 0.01},
    Quantity.IRRADIANCE: {"W/m2": 1.0, "kW/m2": 1e3},
}

_AFFINE_TEMPERATURE: Mapping[str, Callable[[float], float]] = {
    "K": lambda k: k - 273.15,
    "degF": lambda f: (f - 32.0) * 5.0 / 9.0,
}


def known_units(quantity: Quantity) -> list[str]:
    """Units accepted for a quantity."""
    extra = list(_AFFINE_TEMPERATURE) if quantity is Quantity.TEMPERATURE else []
    return [*UNITS[quantity], *extra]


def converter(quantity: Quantity, unit: str, *, scale: float = 1.0) -> Callable[[float], float]:
    """A function taking a value in ``unit`` (times ``scale``) to the canonical unit.

    Raises :class:`UnknownUnitError` for a unit the table does not know for that quantity.
    """
    factor = UNITS[quantity].get(unit)
    if factor is not None:
        k = factor * scale
        return lambda v: v * k
    if quantity is Quantity.TEMPERATURE and unit in _AFFINE_TEMPERATURE:
        affine = _AFFINE_TEMPERATURE[unit]
        return lambda v: affine(v * scale)
    raise UnknownUnitError(
        f"unknown {quantity.value} unit {unit!r}; known: {', '.join(known_units(quantity))}"
    )


def stored_field_name(field: str, quantity: Quantity) -> str:
    """The name a field is stored under: the payload name plus its canonical unit suffix.

    A dimensionless quantity (power factor) has no suffix: ``pf`` is stored as ``pf``.
    """
    suffix = CANONICAL_SUFFIX[quantity]
    return f"{field}_{suffix}" if suffix else field
