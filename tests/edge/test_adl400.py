"""The Acrel ADL400 map (edge/maps/acrel-adl400.yaml) against a real pymodbus TCP server process
laid out by the register table the map cites (tests/edge/modbus_server.py, values written with
``struct``, not with the agent's decoder): the fields, their signs and scales, the reads, and the
transformer ratios."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edge.buses import ModbusPoller
from edge.configfile import ModbusTcpBus
from edge.meter_maps import ModbusMap, builtin_maps
from tests.edge.modbus_server import adl400_expected, wait_listening

ROOT = Path(__file__).resolve().parents[2]


def _adl400() -> ModbusMap:
    meter_map = builtin_maps()["acrel-adl400"]
    assert isinstance(meter_map, ModbusMap)
    return meter_map


def test_the_map_holds_only_sourced_registers_in_three_reads():
    adl400 = _adl400()
    assert set(adl400.fields) == {"energy", "current", "power"}  # no voltage, pf, export: no source
    assert {e.evidence for e in adl400.fields.values()} == {"S"}
    # 0, 100 and 362 lie too far apart to share a read
    assert [(b.start, b.count, b.fields) for b in adl400.blocks()] == [
        (0, 2, ("energy",)),
        (100, 1, ("current",)),
        (362, 2, ("power",)),
    ]


async def test_values_from_a_real_modbus_server():
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.edge.modbus_server", "tcp", "adl400:1", "adl400:7"],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().split()[1])
        wait_listening(port)
        bus = ModbusTcpBus.model_validate(
            {
                "id": "t",
                "kind": "modbus_tcp",
                "host": "127.0.0.1",
                "port": port,
                "meters": [
                    {"device": "a", "unit": 1, "map": "acrel-adl400"},
                    {"device": "b", "unit": 7, "map": "acrel-adl400"}
                    | {"ct_ratio": 40, "pt_ratio": 2},
                ],
            }
        )
        poller = ModbusPoller(bus)
        try:
            plain = await poller.read(bus.meters[0], _adl400())
            ratios = await poller.read(bus.meters[1], _adl400())
        finally:
            await poller.close()
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    # unit 1: 1234.56 + 1 kWh, 16.01 A, -11.041 kW (exporting: the int32 keeps its sign)
    assert plain == pytest.approx({"energy": 1235.56, "current": 16.01, "power": -11.041})
    assert plain == pytest.approx(adl400_expected(1))
    seven = adl400_expected(7)
    assert ratios == pytest.approx(
        {
            "energy": seven["energy"] * 40 * 2,  # ct_pt
            "current": seven["current"] * 40,  # ct
            "power": seven["power"] * 40 * 2,  # ct_pt
        }
    )
