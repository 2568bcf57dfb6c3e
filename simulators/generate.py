"""Generate a registry for a synthetic park of N devices (for scale tests and benchmarks).

The park mixes high-rise factories (one tenant and one meter per floor), rooftop PV, batteries,
EV charging banks, gas, heat, water and environment meters, a pyranometer in the plane of every
fifth building's array, and one production counter per building, in roughly the proportions of a
Wuhan high-tech park; device ids are stable for a given N.
"""

from __future__ import annotations

from typing import Any

from config.registry import TenantProfile

__all__ = ["generate_park"]

FLOORS_PER_BUILDING = 20
CHARGERS_PER_BANK = 40
_PROFILES: tuple[TenantProfile, ...] = (
    "assembly_2shift",
    "fab_24x7",
    "office",
    "assembly_2shift",
    "data_room",
)
_MAKES_PRODUCT = frozenset({"assembly_2shift", "fab_24x7"})


def generate_park(devices: int, *, park_id: str = "generated") -> dict[str, Any]:
    """A registry document (for ``yaml.safe_dump``) with exactly ``devices`` devices (≥ 2)."""
    if devices < 2:
        raise ValueError("a park needs at least 2 devices (grid meter and one load)")
    tenants: list[dict[str, Any]] = []
    buildings: list[dict[str, Any]] = []
    devs: list[dict[str, Any]] = [
        {"id": "grid-main", "kind": "electricity_meter", "role": "grid_connection"}
    ]
    b = 0
    while len(devs) < devices:
        b += 1
        bid = f"b{b:03d}"
        floors = []
        maker: tuple[int, str] | None = None  # the building's first floor that makes product
        block: list[dict[str, Any]] = [
            {"id": f"{bid}-main", "kind": "electricity_meter", "role": "feeder",
             "parent": "grid-main", "building": bid},
        ]  # fmt: skip
        for f in range(1, FLOORS_PER_BUILDING + 1):
            tid = f"{bid}-t{f:02d}"
            profile = _PROFILES[(b + f) % len(_PROFILES)]
            tenants.append({"id": tid, "name": f"Tenant {bid} floor {f}", "profile": profile})
            if maker is None and profile in _MAKES_PRODUCT:
                maker = (f, tid)
            floors.append({"number": f, "tenant": tid, "area_m2": 1500})
            block.append(
                {"id": f"{bid}-f{f:02d}", "kind": "electricity_meter", "role": "load",
                 "parent": f"{bid}-main", "building": bid, "floor": f, "tenant": tid}
            )  # fmt: skip
        block += [
            {"id": f"{bid}-pv", "kind": "pv_inverter", "role": "pv", "parent": "grid-main",
             "building": bid, "capacity_kw": 300, "dc_kwp": 330, "tilt_deg": 20,
             "azimuth_deg": 180},
            {"id": f"{bid}-env", "kind": "env_sensor", "role": "environment", "building": bid,
             "floor": 1},
            {"id": f"{bid}-water", "kind": "water_meter", "role": "water", "building": bid},
            {"id": f"{bid}-heat", "kind": "heat_meter", "role": "heat", "building": bid},
            {"id": f"{bid}-gas", "kind": "gas_meter", "role": "gas", "building": bid},
        ]  # fmt: skip
        if maker is not None:
            block.append({"id": f"{bid}-prod", "kind": "production_counter", "role": "production",
                          "building": bid, "floor": maker[0], "tenant": maker[1]})  # fmt: skip
        if b % 5 == 1:
            block.append({"id": f"{bid}-bess", "kind": "battery", "role": "storage",
                          "parent": "grid-main", "capacity_kw": 500, "capacity_kwh": 1000,
                          "dispatch": "peak_shaving"})  # fmt: skip
            # a pyranometer in the plane of the building's array: the PV performance ratio
            block.append({"id": f"{bid}-pyr", "kind": "pyranometer", "role": "environment",
                          "building": bid, "tilt_deg": 20, "azimuth_deg": 180})  # fmt: skip
        if b % 2 == 0:
            bank = f"{bid}-ev"
            block.append({"id": bank, "kind": "electricity_meter", "role": "feeder",
                          "parent": "grid-main", "building": bid})  # fmt: skip
            block += [
                {"id": f"{bank}-{c:03d}", "kind": "ev_charger", "role": "ev_charging",
                 "parent": bank, "capacity_kw": 60 if c % 4 == 0 else 7}
                for c in range(1, CHARGERS_PER_BANK + 1)
            ]  # fmt: skip
        buildings.append({"id": bid, "name": f"Building {b}", "floors": floors})
        devs += block
    devs = devs[:devices]
    kept = {d["id"] for d in devs}
    # a parent cut off by the size limit: hang its children on the grid meter
    for d in devs:
        if d.get("parent") and d["parent"] not in kept:
            d["parent"] = "grid-main"
    return {
        "park": {
            "id": park_id,
            "name": f"Generated park ({devices} devices)",
            "timezone": "Asia/Shanghai",
            "latitude": 30.47,
            "longitude": 114.53,
            "grid_region": "central_china",
            "province": "hubei",
        },
        "tenants": tenants,
        "buildings": buildings,
        "devices": devs,
    }
