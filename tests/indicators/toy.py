"""A small park written into an embedded store, for the accounting tests of this package.

Register readings every ``step_s`` seconds over the local days given, the register flat between
them (no energy outside those days). Times are Wuhan local (UTC+8)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from config.registry import ParkRegistry, load_registry
from store import TELEMETRY, EmbeddedStore, Point

TZ = ZoneInfo("Asia/Shanghai")
Q_S = 900

REGISTRY = """\
park:
  id: toy
  name: Toy park
  latitude: 30.5
  longitude: 114.3
  grid_region: central_china
  province: hubei
  {tariff}
tenants:
  - {{id: a, name: Tenant A}}
  - {{id: b, name: Tenant B}}
buildings:
  - id: b1
    name: Building one
    floors:
      - {{number: 1, tenant: a, area_m2: 1000}}
      - {{number: 2, tenant: b, area_m2: 500}}
devices:
  - {{id: grid, kind: electricity_meter, role: grid_connection{grid_extra}}}
  - {{id: ma, kind: electricity_meter, role: load, parent: grid, building: b1, floor: 1, tenant: a}}
  - {{id: mb, kind: electricity_meter, role: load, parent: grid, building: b1, floor: 2, tenant: b}}
{extra}"""


def registry(
    tmp_path: Path, *, tariff: str = "", grid_extra: str = "", extra: str = ""
) -> ParkRegistry:
    """The toy park: a grid meter over tenant a's and b's meters, plus ``extra`` devices."""
    path = tmp_path / "toy.yaml"
    path.write_text(REGISTRY.format(tariff=tariff, grid_extra=grid_extra, extra=extra))
    return load_registry(path).parks["toy"]


def ns(day: date, seconds: int = 0) -> int:
    """Local midnight of ``day`` + ``seconds`` [ns since the epoch]."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=TZ)
    return (int(midnight.timestamp()) + seconds) * 10**9


def write(
    store: EmbeddedStore,
    device: str,
    field: str,
    days: Mapping[date, Mapping[int, float]],
    *,
    step_s: int = Q_S,
) -> None:
    """Readings every ``step_s`` over each day (and its next midnight), growing by
    ``days[day][i]`` in step i of that day; the register carries over between days."""
    value, points = 1000.0, []
    steps = 86_400 // step_s
    for day in sorted(days):
        grow = days[day]
        for i in range(steps + 1):
            points.append(
                Point(TELEMETRY, {"park": "toy", "device": device}, {field: value},
                      ns(day, i * step_s))
            )  # fmt: skip
            value += grow.get(i, 0.0) if i < steps else 0.0
    store.write(points)


def spread(total: float, first: int = 32, count: int = 40) -> dict[int, float]:
    """``total`` spread evenly over ``count`` quarter hours from quarter hour ``first``."""
    return dict.fromkeys(range(first, first + count), total / count)
