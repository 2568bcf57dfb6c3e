"""The park's tariff in the registry: the demo park's, and clear errors with their lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.errors import RegistryError
from config.registry import load_registry

PARK = """\
park:
  id: p1
  name: Test park
  latitude: 30.5
  longitude: 114.3
  grid_region: central_china
  tariff:
{tariff}
devices:
  - {{id: grid, kind: electricity_meter, role: grid_connection}}
"""


def load(tmp_path: Path, *lines: str) -> str:
    """Load a park whose tariff block holds ``lines``; the error text, or "" when it loads."""
    path = tmp_path / "park.yaml"
    path.write_text(PARK.format(tariff="\n".join(f"    {line}" for line in lines)))
    try:
        load_registry(path)
    except RegistryError as exc:
        return str(exc)
    return ""


def test_demo_park_ships_an_example_tariff():
    tariff = load_registry().parks["wuhan-demo"].park.tariff
    assert tariff is not None
    assert tariff.flat_price_cny_per_kwh == 0.65
    assert tariff.demand_charge_cny_per_kw_month == 40.0
    assert tariff.demand_basis == "max_demand"
    assert tariff.evidence == "U"  # example values until checked against the Hubei notices
    assert "example" in tariff.source


def test_good_tariffs_load(tmp_path):
    base = ("flat_price_cny_per_kwh: 0.6", "source: a notice", "year: 2026")
    assert load(tmp_path, *base) == ""  # single-part: no demand charge
    assert (
        load(
            tmp_path,
            *base,
            "demand_charge_cny_per_kw_month: 25",
            "demand_basis: capacity",
            "contracted_kw: 800",
        )
        == ""
    )


@pytest.mark.parametrize(
    ("lines", "words"),
    [
        (("source: x", "year: 2026"), "flat_price_cny_per_kwh: Field required"),
        (("flat_price_cny_per_kwh: -1", "source: x", "year: 2026"), "greater than 0"),
        (("flat_price_cny_per_kwh: 0.6", "year: 2026"), "source: Field required"),
        (
            (
                "flat_price_cny_per_kwh: 0.6",
                "demand_charge_cny_per_kw_month: 25",
                "demand_basis: capacity",
                "source: x",
                "year: 2026",
            ),
            "set contracted_kw",
        ),
        (
            ("flat_price_cny_per_kwh: 0.6", "demand_basis: ratchet", "source: x", "year: 2026"),
            "demand_basis",
        ),
        (("flat_price_cny_per_kwh: 0.6", "source: x", "year: 2026", "vat: 0.13"), "vat"),
    ],
)
def test_bad_tariffs_are_refused_with_their_line(tmp_path, lines, words):
    text = load(tmp_path, *lines)
    assert words in text
    assert "park.yaml:" in text
    line = int(text.split("park.yaml:")[1].split(":")[0])
    assert 7 <= line <= 7 + len(lines)  # the tariff block
