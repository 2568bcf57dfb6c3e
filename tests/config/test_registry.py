"""The park registry: the demo park loads, and every kind of problem is reported with its line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from config.errors import RegistryError
from config.registry import DeviceKind, Quantity, Role, load_registry
from config.units import CANONICAL_UNIT, converter, stored_field_name
from smartpark.cli import main

GOOD = """\
park:
  id: p1
  name: Test park
  latitude: 30.5
  longitude: 114.3
  grid_region: central_china
tenants:
  - {id: t1, name: Tenant one}
buildings:
  - id: b1
    name: Building one
    floors:
      - {number: 1, tenant: t1}
devices:
  - {id: grid, kind: electricity_meter, role: grid_connection}
  - {id: f1, kind: electricity_meter, role: load, parent: grid, building: b1, floor: 1, tenant: t1}
"""


def write(tmp_path: Path, text: str, name: str = "park.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(path: Path) -> list[tuple[int, str]]:
    with pytest.raises(RegistryError) as info:
        load_registry(path)
    return [(p.line, p.message) for p in info.value.problems]


def test_demo_park_has_what_the_issue_asks_for():
    park = load_registry().parks["wuhan-demo"]
    assert park.park.timezone == "Asia/Shanghai"
    tower = next(b for b in park.buildings if b.id == "tower-a")
    assert len(tower.floors) == 24
    assert len({f.tenant for f in tower.floors}) == 24  # one tenant per floor
    floor_meters = [d for d in park.devices if d.building == "tower-a" and d.role is Role.LOAD]
    assert sorted(d.floor for d in floor_meters) == list(range(1, 25))
    kinds = {d.kind for d in park.devices}
    assert kinds == set(DeviceKind)
    assert [d.id for d in park.devices if d.role is Role.GRID_CONNECTION] == ["grid-main"]
    assert sum(1 for d in park.devices if d.kind is DeviceKind.EV_CHARGER) >= 4
    plants = [b for b in park.buildings if len(b.floors) == 1]
    assert len(plants) == 2


def test_good_file_loads_and_models_are_frozen(tmp_path):
    reg = load_registry(write(tmp_path, GOOD))
    device = reg.device("p1", "f1")
    assert device is not None
    assert device.unit_of("energy") == "kWh"
    with pytest.raises(ValueError, match="frozen"):
        device.multiplier = 2.0  # type: ignore[misc]


def test_structural_problems_carry_their_lines(tmp_path):
    text = GOOD.replace("id: p1", "id: P 1").replace("latitude: 30.5", "latitude: 95")
    text = text.replace("role: load, parent", "role: kitchen, parent")
    found = problems(write(tmp_path, text))
    assert (2, found[0][1]) == found[0]
    assert "not a valid id" in found[0][1]
    assert any(line == 4 and "less than or equal to 90" in msg for line, msg in found)
    assert any(line == 16 and "devices.1.role" in msg for line, msg in found)


def test_reference_problems_carry_their_lines(tmp_path):
    text = GOOD.replace("tenant: t1}\ndevices", "tenant: t9}\ndevices")
    text = text.replace("parent: grid,", "parent: nowhere,").replace(
        "floor: 1, tenant: t1}\n", "floor: 7, tenant: t1}\n"
    )
    found = problems(write(tmp_path, text))
    assert (13, "floor 1 names unknown tenant 't9'") in found
    assert (16, "device 'f1': unknown parent meter 'nowhere'") in found
    assert (16, "device 'f1': building 'b1' has no floor 7") in found


def test_unknown_units_and_fields_are_refused(tmp_path):
    text = GOOD.replace("role: grid_connection}", "role: grid_connection, units: {power: hp}}")
    assert any("unknown power unit 'hp'" in m for _, m in problems(write(tmp_path, text)))
    text = GOOD.replace("role: grid_connection}", "role: grid_connection, units: {flux: W}}")
    assert any(
        "fields a electricity_meter does not have: flux" in m
        for _, m in problems(write(tmp_path, text))
    )


def test_invalid_yaml_duplicates_and_loops(tmp_path):
    assert problems(write(tmp_path, "park: [unclosed\n"))[0][1].startswith("not valid YAML")
    dup = GOOD + "  - {id: f1, kind: electricity_meter, role: load, parent: grid}\n"
    assert (17, "device id 'f1' is used twice") in problems(write(tmp_path, dup))
    loop = GOOD.replace("role: grid_connection}", "role: grid_connection, parent: f1}")
    assert any("form a loop" in m for _, m in problems(write(tmp_path, loop)))


def test_folder_of_parks_and_duplicate_park_ids(tmp_path):
    write(tmp_path, GOOD, "a.yaml")
    write(tmp_path, GOOD.replace("id: p1", "id: p2"), "b.yaml")
    assert sorted(load_registry(tmp_path).parks) == ["p1", "p2"]
    write(tmp_path, GOOD, "c.yaml")
    assert any("already defined" in m for _, m in problems(tmp_path))


def test_check_config_command_prints_file_and_line(tmp_path, capsys):
    bad = write(tmp_path, GOOD.replace("parent: grid,", "parent: nowhere,"))
    assert main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:16: device 'f1': unknown parent meter 'nowhere'" in err
    assert main(["check-config", str(write(tmp_path, GOOD, "ok.yaml"))]) == 0
    assert "park 'p1' OK" in capsys.readouterr().out


def test_plausible_ranges_defaults_capacity_and_device_limits(tmp_path):
    text = GOOD.replace(
        "role: grid_connection}",
        "role: grid_connection, capacity_kw: 1000, limits: {energy: [0, 5.0e6]}}",
    ).replace("floor: 1, tenant: t1}\n", "floor: 1, tenant: t1, limits: {power: [-5, 80]}}\n")
    reg = load_registry(write(tmp_path, text))
    grid, floor = reg.device("p1", "grid"), reg.device("p1", "f1")
    assert grid is not None
    assert floor is not None
    assert grid.plausible("power") == (-1500.0, 1500.0)  # 1.5 x rated capacity
    assert grid.plausible("energy") == (0.0, 5.0e6)  # the device's own limit
    assert floor.plausible("power") == (-5.0, 80.0)
    assert floor.plausible("energy") == (0.0, 1e12)  # the kind's default: never negative
    bad = GOOD.replace("role: grid_connection}", "role: grid_connection, limits: {power: [5, 1]}}")
    assert any("min must be below max" in m for _, m in problems(write(tmp_path, bad, "b.yaml")))


def test_production_counter_needs_a_tenant_and_is_no_parent(tmp_path):
    counter = "  - {id: made, kind: production_counter, role: production, building: b1, floor: 1}\n"
    assert problems(write(tmp_path, GOOD + counter)) == [
        (17, "device 'made': a production_counter must name a tenant")
    ]
    reg = load_registry(write(tmp_path, GOOD + counter.replace("floor: 1}", "tenant: t1}")))
    made = reg.device("p1", "made")
    assert made is not None
    spec = made.fields["produced"]
    assert (spec.quantity, spec.default_unit, spec.cumulative) == (Quantity.COUNT, "units", True)
    assert made.plausible("produced") == (0.0, 1e12)
    under = (
        GOOD
        + counter.replace("floor: 1}", "tenant: t1}")
        + ("  - {id: sub, kind: electricity_meter, role: load, parent: made}\n")
    )
    assert (18, "device 'sub': parent 'made' is not a meter") in problems(write(tmp_path, under))


def test_count_units_convert_to_units():
    assert converter(Quantity.COUNT, "kunits")(2.5) == 2500.0
    assert converter(Quantity.COUNT, "units")(7) == 7
    assert stored_field_name("produced", Quantity.COUNT) == "produced_units"
    assert CANONICAL_UNIT[Quantity.COUNT] == "units"


def test_registry_size_is_bounded_with_a_clear_error(tmp_path):
    from config.registry import RegistryError, demo_registry_path, load_registry

    demo = demo_registry_path()
    devices = len(load_registry(demo).parks["wuhan-demo"].devices)

    with pytest.raises(RegistryError) as too_many:
        load_registry(demo, max_devices=devices - 1)
    with pytest.raises(RegistryError) as too_big:
        load_registry(demo, max_file_bytes=1000)

    assert f"holds {devices:,} devices with this park, more than {devices - 1:,}" in str(
        too_many.value
    )
    assert "more than the 1,000 read" in str(too_big.value)
    assert load_registry(demo, max_devices=devices).parks  # exactly at the limit: fine
