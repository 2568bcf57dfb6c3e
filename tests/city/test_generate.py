"""``smartpark simulate --generate-city``: a registry folder of parks of varied size, land and
industry, the same for the same seed, loadable as a registry; the two Park fields it uses."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from config.city import city_industries
from config.errors import RegistryError
from config.registry import load_registry
from simulators.city import MAX_METERS, MIN_METERS, generate_city
from smartpark.cli import main


def test_a_city_of_100_parks_spans_the_sizes_and_holds_about_50000_devices():
    docs = generate_city(100, seed=1)
    sizes = [len(d["devices"]) for d in docs]
    assert sizes[0] == MAX_METERS
    assert all(MIN_METERS <= s <= MAX_METERS for s in sizes)
    assert min(sizes) < 50  # small parks as well as large
    assert 35_000 <= sum(sizes) <= 70_000
    assert statistics.median(sizes) < statistics.mean(sizes)  # many small, a few large
    assert [d["park"]["id"] for d in docs[:3]] == ["city-001", "city-002", "city-003"]
    industries = {d["park"]["industry"] for d in docs}
    assert len(industries) >= 5
    assert all(city_industries().get(code) is not None for code in industries)
    for d in docs:
        floor_m2 = sum(f["area_m2"] for b in d["buildings"] for f in b["floors"])
        # land = floor area / plot ratio (1.2-3.0), in mu of 666.67 m²
        assert (
            floor_m2 / 3.0 / 666.67 * 0.99
            <= d["park"]["land_mu"]
            <= max(floor_m2 / 1.2 / 666.67 * 1.01, 5.0)
        )


def test_the_same_seed_gives_the_same_city_and_another_seed_another():
    assert generate_city(8, seed=7) == generate_city(8, seed=7)
    assert generate_city(8, seed=7) != generate_city(8, seed=8)


def test_stores_are_assigned_in_turn():
    docs = generate_city(5, seed=1, stores=("a", "b"))
    assert [d["park"]["store"] for d in docs] == ["a", "b", "a", "b", "a"]


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="1 to 9,999 parks"):
        generate_city(0)


def test_the_cli_writes_a_folder_that_loads_as_a_registry(tmp_path: Path):
    out = tmp_path / "city"
    assert main(["simulate", "--generate-city", "4", "--out", str(out), "--seed", "3"]) == 0
    files = sorted(p.name for p in out.glob("*.yaml"))
    assert files == ["city-001.yaml", "city-002.yaml", "city-003.yaml", "city-004.yaml"]
    registry = load_registry(out)
    assert sorted(registry.parks) == ["city-001", "city-002", "city-003", "city-004"]
    first = registry.parks["city-001"]
    assert len(first.devices) == MAX_METERS
    assert first.park.land_mu is not None
    assert first.park.land_mu > 0
    assert first.park.industry == generate_city(1, seed=3)[0]["park"]["industry"]
    # a folder that holds parks already is refused, nothing overwritten
    assert main(["simulate", "--generate-city", "2", "--out", str(out)]) != 0
    assert len(list(out.glob("*.yaml"))) == 4


PARK = """park:
  id: p1
  name: P1
  latitude: 30.5
  longitude: 114.3
  grid_region: central_china
{extra}devices:
  - {{id: g, kind: electricity_meter, role: grid_connection}}
"""


def test_land_and_industry_are_optional_and_checked_on_their_lines(tmp_path: Path):
    plain = tmp_path / "plain.yaml"
    plain.write_text(PARK.format(extra=""), encoding="utf-8")
    park = load_registry(plain).parks["p1"].park
    assert park.land_mu is None
    assert park.industry is None
    bad = tmp_path / "bad.yaml"
    bad.write_text(PARK.format(extra="  land_mu: 0\n  industry: x99\n"), encoding="utf-8")
    with pytest.raises(RegistryError) as caught:
        load_registry(bad)
    text = str(caught.value)
    assert "bad.yaml:7:" in text
    assert "land_mu" in text
    assert "bad.yaml:8:" in text
    assert "'x99' is not a known industry code" in text
