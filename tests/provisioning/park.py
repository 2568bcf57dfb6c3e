"""A small park for the provisioning tests, written to a folder as its registry file."""

from __future__ import annotations

from pathlib import Path

PARK = "riverside"

RIVERSIDE = """\
park:
  id: riverside
  name: Riverside test park
  latitude: 30.6
  longitude: 114.2
  grid_region: central_china
  province: hubei
tenants:
  - {id: delta, name: Delta}
buildings:
  - id: hall
    name: Hall
    floors:
      - {number: 1, tenant: delta, area_m2: 800}
devices:
  - {id: rs-grid, kind: electricity_meter, role: grid_connection}
  - {id: rs-delta, kind: electricity_meter, role: load, parent: rs-grid, building: hall,
     floor: 1, tenant: delta}
"""

NEW_METER = {
    "id": "rs-new",
    "kind": "electricity_meter",
    "role": "load",
    "parent": "rs-grid",
    "building": "hall",
    "floor": 1,
    "tenant": "delta",
    "units": {"power": "W"},
    "multiplier": 40,
}
"""An approval: a floor meter reporting power in W behind a 200/5 A CT (x 40)."""


def write_registry(folder: Path) -> Path:
    """The registry file of the park, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "riverside.yaml"
    path.write_text(RIVERSIDE, encoding="utf-8")
    return path
