"""Parks, their tenants, buildings and devices, the newest readings and time series."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas._base import _RANGE, _T, _example, _Out
from store.base import Aggregate

__all__ = [
    "BuildingOut",
    "DeviceCadenceOut",
    "DeviceOut",
    "FieldOut",
    "FloorOut",
    "LatestOut",
    "ParkDetailOut",
    "ParkOut",
    "ReadingOut",
    "SeriesOut",
    "SeriesPointOut",
    "TenantOut",
]


class ParkOut(_Out):
    """A park and how much it contains."""

    model_config = _example(
        {
            "id": "wuhan-demo",
            "name": "Wuhan demo park",
            "timezone": "Asia/Shanghai",
            "latitude": 30.5,
            "longitude": 114.3,
            "grid_region": "central_china",
            "province": "hubei",
            "tenants": 6,
            "buildings": 4,
            "devices": 40,
        }
    )

    id: str
    name: str
    timezone: str = Field(description="IANA zone of the park's local calendar.")
    latitude: float
    longitude: float
    grid_region: str
    province: str | None
    tenants: int
    buildings: int
    devices: int


class TenantOut(_Out):
    """An enterprise in the park."""

    model_config = _example({"id": "chipcore", "name": "ChipCore Ltd", "sector": "electronics"})

    id: str
    name: str
    sector: str | None


class FloorOut(_Out):
    """A floor and who rents it."""

    number: int
    tenant: str | None
    area_m2: float | None


class BuildingOut(_Out):
    """A building and its floors."""

    model_config = _example(
        {
            "id": "plant-1",
            "name": "Plant 1",
            "floors": [{"number": 1, "tenant": "chipcore", "area_m2": 2400.0}],
        }
    )

    id: str
    name: str
    floors: list[FloorOut]


class ParkDetailOut(_Out):
    """A park with its tenants and buildings (devices have their own endpoint)."""

    model_config = _example(
        {
            "park": ParkOut.model_json_schema()["examples"][0],
            "tenants": [{"id": "chipcore", "name": "ChipCore Ltd", "sector": "electronics"}],
            "buildings": [
                {
                    "id": "plant-1",
                    "name": "Plant 1",
                    "floors": [{"number": 1, "tenant": "chipcore", "area_m2": 2400.0}],
                }
            ],
        }
    )

    park: ParkOut
    tenants: list[TenantOut]
    buildings: list[BuildingOut]


class FieldOut(_Out):
    """A field as stored: its name (with the unit suffix), quantity and canonical unit."""

    name: str = Field(examples=["power_kw"])
    quantity: str = Field(examples=["power"])
    unit: str = Field(examples=["kW"])
    cumulative: bool = Field(description="True for registers (energy, volume) that only grow.")


class DeviceCadenceOut(_Out):
    """How often a device is expected to report, and where that comes from."""

    expected_interval_s: float | None = Field(
        description="Expected reporting interval [s]; null when neither declared nor learned."
    )
    source: Literal["declared", "learned", "unknown"] = Field(
        description="declared: the registry's expected_interval_s; learned: the median spacing "
        "of its recent readings; unknown: too few readings to learn from."
    )


class DeviceOut(_Out):
    """A device of the registry and the fields it stores."""

    model_config = _example(
        {
            "id": "plant-1-main",
            "kind": "electricity_meter",
            "role": "load",
            "name": "Plant 1 main meter",
            "parent": "grid-main",
            "tenant": "chipcore",
            "building": "plant-1",
            "floor": None,
            "capacity_kw": None,
            "capacity_kwh": None,
            "fields": [
                {"name": "power_kw", "quantity": "power", "unit": "kW", "cumulative": False},
                {"name": "energy_kwh", "quantity": "energy", "unit": "kWh", "cumulative": True},
            ],
            "cadence": {"expected_interval_s": 900.0, "source": "learned"},
        }
    )

    id: str
    kind: str
    role: str
    name: str | None
    parent: str | None
    tenant: str | None
    building: str | None
    floor: int | None
    capacity_kw: float | None
    capacity_kwh: float | None
    fields: list[FieldOut]
    retired: str | None = Field(
        default=None,
        description="ISO-8601 instant from which its readings are set aside (reason `retired`); "
        "null while in service",
    )
    cadence: DeviceCadenceOut | None = Field(
        default=None, description="Reporting cadence; given when one device is asked for."
    )


class ReadingOut(_Out):
    """The newest reading of one device."""

    device: str
    kind: str | None = Field(description="None when the device is not in the registry.")
    role: str | None
    time: str = Field(examples=["2025-06-01T04:00:00.000Z"])
    time_ms: int
    age_s: float = Field(description="Seconds between the reading and the server's clock.")
    stale: bool = Field(description="True when the reading is older than `stale_after_s`.")
    fields: dict[str, float | None] = Field(examples=[{"power_kw": 412.5, "energy_kwh": 91234.2}])


class LatestOut(_Out):
    """The newest reading of every device of a park that has reported."""

    model_config = _example(
        {
            "park": "wuhan-demo",
            "server_time": "2025-06-01T04:00:05.000Z",
            "server_time_ms": 1748750405000,
            "stale_after_s": 60.0,
            "readings": [
                {
                    "device": "grid-main",
                    "kind": "electricity_meter",
                    "role": "grid_connection",
                    **_T,
                    "age_s": 5.0,
                    "stale": False,
                    "fields": {"power_kw": 412.5, "energy_kwh": 91234.2},
                }
            ],
        }
    )

    park: str
    server_time: str
    server_time_ms: int
    stale_after_s: float
    readings: list[ReadingOut]


class SeriesPointOut(_Out):
    """One value: a raw reading's time, or the start of an aggregation bucket."""

    time: str
    time_ms: int
    value: float | None
    min: float | None = Field(
        default=None,
        description="Smallest raw value in the bucket: only when the server chose `every` "
        "(`max_points`) and `agg=mean`; null otherwise.",
    )
    max: float | None = Field(default=None, description="Largest raw value, as `min`.")


class SeriesOut(_Out):
    """One field of one device over ``[start, end)``."""

    model_config = _example(
        {
            "park": "wuhan-demo",
            "device": "grid-main",
            "field": "power_kw",
            "unit": "kW",
            **_RANGE,
            "every_s": 300,
            "agg": "mean",
            "max_points": 288,
            "every_auto": True,
            "points": [{**_T, "value": 412.5, "min": 398.0, "max": 430.1}],
        }
    )

    park: str
    device: str
    field: str
    unit: str | None
    start: str
    start_ms: int
    end: str
    end_ms: int
    every_s: int | None = Field(description="Bucket width; None for raw readings.")
    agg: Aggregate | None = Field(description="Aggregate per bucket; None for raw readings.")
    max_points: int | None = Field(
        default=None, description="The request's `max_points`: the answer never holds more."
    )
    every_auto: bool = Field(
        default=False,
        description="True when the server chose `every` because the raw readings would have "
        "been more than `max_points`.",
    )
    points: list[SeriesPointOut]
