"""ParkRegistry.visible_to: what a tenant key, an operator and the city see of a park."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.auth import Principal, PrincipalRole
from config.registry import ParkRegistry, load_registry

PARK = """\
park: {id: p1, name: Park, latitude: 30.5, longitude: 114.3, grid_region: central_china}
tenants:
  - {id: t1, name: One}
  - {id: t2, name: Two}
buildings:
  - id: tower
    name: Tower
    floors:
      - {number: 1, tenant: t1}
      - {number: 2, tenant: t2}
      - {number: 3}
  - {id: plant, name: Plant}
  - {id: hall, name: Hall}
devices:
  - {id: grid, kind: electricity_meter, role: grid_connection}
  - {id: f1, kind: electricity_meter, role: load, parent: grid, tenant: t1, building: tower,
     floor: 1}
  - {id: f2, kind: electricity_meter, role: load, parent: grid, tenant: t2, building: tower,
     floor: 2}
  - {id: press, kind: electricity_meter, role: load, parent: grid, tenant: t2, building: plant}
  - {id: pv, kind: pv_inverter, role: pv, building: hall}
"""


@pytest.fixture
def park(tmp_path: Path) -> ParkRegistry:
    path = tmp_path / "park.yaml"
    path.write_text(PARK, encoding="utf-8")
    return load_registry(path).parks["p1"]


def _tenant(tenant: str, park: str = "p1") -> Principal:
    return Principal(name=f"key-{tenant}", role=PrincipalRole.TENANT, park=park, tenant=tenant)


def test_a_tenant_sees_its_entry_its_floors_and_its_devices(park: ParkRegistry):
    seen = park.visible_to(_tenant("t2"))
    assert [t.id for t in seen.tenants] == ["t2"]
    assert [(b.id, [f.number for f in b.floors]) for b in seen.buildings] == [
        ("tower", [2]),
        ("plant", []),  # no floor of its own, but its press meter is there
    ]
    assert [d.id for d in seen.devices] == ["f2", "press"]
    assert seen.park == park.park


def test_the_device_index_is_the_views_own(park: ParkRegistry):
    assert park.device("f1") is not None  # builds and caches the whole park's index
    seen = park.visible_to(_tenant("t2"))
    assert seen.device("f1") is None
    assert seen.device("grid") is None
    assert seen.device("press") == park.device("press")
    assert park.device("f1") is not None  # the original keeps its own


@pytest.mark.parametrize(
    "principal",
    [
        Principal(name="ops", role=PrincipalRole.OPERATOR, park="p1"),
        Principal(name="city", role=PrincipalRole.CITY),
    ],
)
def test_operator_and_city_see_the_whole_park(park: ParkRegistry, principal: Principal):
    assert park.visible_to(principal) is park


def test_a_tenant_of_another_park_sees_nothing(park: ParkRegistry):
    seen = park.visible_to(_tenant("t2", park="elsewhere"))
    assert (seen.tenants, seen.buildings, seen.devices) == ((), (), ())
