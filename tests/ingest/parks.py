"""Two small parks whose device ids differ, for tests of a gateway that writes outside its park."""

from __future__ import annotations

from pathlib import Path

from config.registry import Registry, load_registry

_PARK = """\
park:
  id: {park}
  name: Park {park}
  latitude: 30.5
  longitude: 114.3
  grid_region: central_china
tenants:
  - {{id: t1, name: Tenant one}}
buildings:
  - id: b1
    name: Building one
    floors:
      - {{number: 1, tenant: t1}}
devices:
  - {{id: {park}-grid, kind: electricity_meter, role: grid_connection}}
  - {{id: {park}-f1, kind: electricity_meter, role: load, parent: {park}-grid, building: b1,
     floor: 1, tenant: t1}}
"""

PARK_A, PARK_B = "park-a", "park-b"


def write_two_parks(folder: Path) -> Path:
    """``folder`` with ``park-a.yaml`` and ``park-b.yaml``, devices ``<park>-grid``, ``-f1``."""
    folder.mkdir(parents=True, exist_ok=True)
    for park in (PARK_A, PARK_B):
        (folder / f"{park}.yaml").write_text(_PARK.format(park=park), encoding="utf-8")
    return folder


def two_parks(folder: Path) -> Registry:
    """The registry of :func:`write_two_parks`."""
    return load_registry(write_two_parks(folder))
