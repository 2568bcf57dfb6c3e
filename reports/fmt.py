"""The one number formatter of the HTML and PDF reports (the CSV and JSON keep full precision).

``number(value, unit)``: thousands separators, four significant digits from 1 up (none after the
point from 1,000 up), three below 1, trailing zeros dropped; a fraction (unit ``fraction``,
``share``, ``fraction/yr`` …) is shown as a percentage, as is a value whose unit is ``%``
(completeness), with at most two decimals. ``None`` and non-finite values are an em dash.

``exact(value)``: a factor or coefficient as its table holds it, every digit (0.1229, never
0.123; 35.544; 0.000025), no separators and no exponent, so an evaluator can recompute a figure.
"""

from __future__ import annotations

import math
from decimal import Decimal

__all__ = ["DASH", "exact", "gap", "is_fraction", "number", "year"]

DASH = "—"
_FRACTION_UNITS = frozenset({"fraction", "share", "ratio"})


def is_fraction(unit: str | None) -> bool:
    """True for the units whose values are fractions 0–1 shown as percentages."""
    if unit is None:
        return False
    return unit.split("/", 1)[0].strip() in _FRACTION_UNITS


def _decimals(magnitude: float) -> int:
    if magnitude >= 1000:
        return 0
    exponent = math.floor(math.log10(magnitude))
    if magnitude >= 1:
        return 3 - exponent  # four significant digits: 1.234, 12.34, 123.4
    return min(2 - exponent, 9)  # three significant digits: 0.123, 0.0123


def _plain(value: float, max_decimals: int | None = None) -> str:
    if value == 0:
        return "0"
    decimals = _decimals(abs(value))
    if max_decimals is not None:
        decimals = min(decimals, max_decimals)
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def number(value: float | None, unit: str | None = None) -> str:
    """``value`` as the reports show it (see the module docstring)."""
    if value is None or isinstance(value, bool) or not math.isfinite(value):
        return DASH
    if is_fraction(unit):
        return _plain(value * 100.0, 2) + "%"
    if unit == "%":
        return _plain(value, 2) + "%"
    return _plain(value)


def exact(value: float | None) -> str:
    """``value`` with every digit of its shortest round-trip form (``repr``), in positional
    notation: the number an evaluator copies from the report gives back the same float."""
    if value is None or isinstance(value, bool) or not math.isfinite(value):
        return DASH
    text = format(Decimal(repr(float(value))), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def gap(value: float | None, unit: str | None = None) -> str:
    """A signed difference (value − threshold): ``+0.012``; fractions in percentage points."""
    if value is None or not math.isfinite(value):
        return DASH
    sign = "+" if value > 0 else ""
    if is_fraction(unit):
        return f"{sign}{_plain(value * 100.0, 2)} pp"
    return f"{sign}{_plain(value)}"


def year(value: int) -> str:
    """A year, without a thousands separator."""
    return str(value)
