"""Devices waiting for approval and their approval (``/parks/{park}/devices``)."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.schemas._base import _example, _Out
from api.schemas.parks import DeviceOut
from config.registry import DeviceKind, Role

__all__ = [
    "DeviceApprovalIn",
    "DeviceApprovedOut",
    "DeviceRetireIn",
    "PendingDeviceOut",
    "PendingListOut",
]

_ID = r"^[a-z0-9][a-z0-9_.-]{0,63}$"


class DeviceApprovalIn(BaseModel):
    """A device to add to the park's registry: the registry's own device fields (checked as
    ``smartpark check-config`` checks them)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "plant-3-ahu",
                    "kind": "electricity_meter",
                    "role": "load",
                    "name": "Plant 3 air handling",
                    "parent": "grid-main",
                    "tenant": "chipcore",
                    "building": "plant-1",
                    "floor": 1,
                    "units": {"power": "W"},
                    "multiplier": 40,
                }
            ]
        },
    )

    id: str = Field(pattern=_ID, description="device id, as in its topic")
    kind: DeviceKind
    role: Role
    name: str | None = None
    parent: str | None = Field(default=None, description="id of the meter this one is under")
    tenant: str | None = None
    building: str | None = None
    floor: int | None = None
    units: dict[str, str] = Field(default_factory=dict, description="field -> unit it reports in")
    multiplier: float = Field(default=1.0, gt=0, le=1e6, description="register multiplier CT x PT")
    capacity_kw: float | None = Field(default=None, gt=0)
    capacity_kwh: float | None = Field(default=None, gt=0)
    expected_interval_s: int | None = Field(default=None, ge=1, le=31 * 86_400)


class DeviceApprovedOut(_Out):
    """The approved device as the registry now holds it; ``written`` is false when the same
    entry had been approved before (nothing changed)."""

    model_config = _example(
        {
            "park": "wuhan-demo",
            "written": True,
            "device": {
                "id": "plant-3-ahu",
                "kind": "electricity_meter",
                "role": "load",
                "name": "Plant 3 air handling",
                "parent": "grid-main",
                "tenant": "chipcore",
                "building": "plant-1",
                "floor": 1,
                "capacity_kw": None,
                "capacity_kwh": None,
                "fields": [
                    {"name": "power_kw", "quantity": "power", "unit": "kW", "cumulative": False},
                    {"name": "energy_kwh", "quantity": "energy", "unit": "kWh", "cumulative": True},
                ],
            },
        }
    )

    park: str
    written: bool
    device: DeviceOut


class DeviceRetireIn(BaseModel):
    """When a device leaves service (default: now)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"at": "2026-12-01T00:00:00+08:00"}]}
    )

    at: AwareDatetime | None = Field(
        default=None,
        description="ISO-8601 instant with offset; readings from then on are set aside",
    )


class PendingDeviceOut(_Out):
    """A device that published but is not in the registry: its first message and its count."""

    device: str
    topic: str = Field(description="topic of its first quarantined message")
    first_payload: str = Field(description="excerpt of its first quarantined payload")
    messages: int = Field(description="its quarantined messages among those scanned")
    first_seen: str
    first_seen_ms: int
    last_seen: str
    last_seen_ms: int


class PendingListOut(_Out):
    """Devices waiting for approval, the most recently seen first."""

    model_config = _example(
        {
            "park": "wuhan-demo",
            "scanned": 1000,
            "devices": [
                {
                    "device": "plant-3-ahu",
                    "topic": "parks/wuhan-demo/devices/plant-3-ahu/telemetry",
                    "first_payload": '{"ts": 1748750400000, "power": 12.5}',
                    "messages": 4,
                    "first_seen": "2025-06-01T04:00:00.000Z",
                    "first_seen_ms": 1748750400000,
                    "last_seen": "2025-06-01T04:03:00.000Z",
                    "last_seen_ms": 1748750580000,
                }
            ],
        }
    )

    park: str
    scanned: int = Field(description="newest quarantine records of the park looked through")
    devices: list[PendingDeviceOut]
