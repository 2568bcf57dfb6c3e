"""The pollers on their own: DL/T 645 through a TCP-to-serial converter, a Modbus error reply."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from edge import dlt645
from edge.buses import Dlt645Poller, ModbusPoller
from edge.configfile import Dlt645TcpBus, ModbusTcpBus
from edge.errors import EdgeConfigError, MeterError, MeterUnavailableError
from edge.meter_maps import builtin_maps, load_map
from tests.edge.dlt645_responder import answer, energy_kwh
from tests.edge.modbus_server import wait_listening

ROOT = Path(__file__).resolve().parents[2]


async def test_dlt645_through_a_tcp_to_serial_converter():
    reads = {"000012345678": 0}

    async def converter(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buffer = b""
        while data := await reader.read(256):
            buffer += data
            frame, used = dlt645.parse_frame(buffer)
            buffer = buffer[used:]
            if frame is not None:
                reply = answer(frame, list(reads), reads)
                if reply is not None:
                    writer.write(dlt645.encode_frame(reply))
        writer.close()

    server = await asyncio.start_server(converter, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    bus = Dlt645TcpBus.model_validate(
        {
            "id": "t",
            "kind": "dlt645_tcp",
            "host": "127.0.0.1",
            "port": port,
            "timeout_s": 0.3,
            "retries": 0,
            "meters": [
                {"device": "d1", "address": "000012345678", "map": "dlt645-2007", "pt_ratio": 3},
                {"device": "d2", "address": "000000000001", "map": "dlt645-2007"},
            ],
        }
    )
    poller = Dlt645Poller(bus)
    try:
        assert await poller.discover() == "000012345678"
        values = await poller.read(bus.meters[0], builtin_maps()["dlt645-2007"])
        assert values == {
            "energy": pytest.approx(3 * energy_kwh(1)),  # ct_pt: x PT 3
            "power": pytest.approx(3 * 1.2345),
            "current": pytest.approx(-1.234),  # ct only: CT 1
            "pf": pytest.approx(0.987),
        }
        with pytest.raises(MeterUnavailableError, match=r"no answer within 0\.3 s, 1 tries"):
            await poller.read(bus.meters[1], builtin_maps()["dlt645-2007"])
        # an identifier the meter does not have: the abnormal reply 0xD1
        with pytest.raises(MeterError, match="error reply 02"):
            await poller.read_value("000012345678", dlt645.DATA_IDS[0x00010000])
    finally:
        await poller.close()
        server.close()
        await server.wait_closed()


async def test_a_modbus_exception_reply_is_an_error_not_a_value(tmp_path: Path):
    map_file = tmp_path / "wrong.yaml"
    map_file.write_text(
        "name: wrong\nprotocol: modbus\nvendor: x\nmodel: y\nfunction: holding\n"
        "word_order: big\nsources: {A: nothing}\nfields:\n"
        "  power: {address: 0x3000, type: float32, scale: 1, unit: kW, ratio: none,\n"
        "          source: A, evidence: U, scale_evidence: U}\n",
        encoding="utf-8",
    )
    wrong = load_map("wrong.yaml", tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.edge.modbus_server", "tcp", "1"],
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
                "meters": [{"device": "m", "unit": 1, "map": "chint-dtsu666"}],
            }
        )
        poller = ModbusPoller(bus)
        try:
            with pytest.raises(MeterError, match="unit 1 refused a read of 2 registers at 12288"):
                await poller.read(bus.meters[0], wrong)
            assert (await poller.read(bus.meters[0], builtin_maps()["chint-dtsu666"]))["pf"] == (
                pytest.approx(0.95)
            )
        finally:
            await poller.close()
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_a_map_of_the_wrong_protocol_field_is_refused(tmp_path: Path):
    map_file = tmp_path / "m.yaml"
    map_file.write_text(
        "name: m\nprotocol: dlt645\nvendor: x\nmodel: y\nsources: {A: a}\nfields:\n"
        "  power: {di: '02010100', ratio: none, source: A, evidence: U}\n",  # a voltage DI
        encoding="utf-8",
    )
    with pytest.raises(EdgeConfigError) as caught:
        load_map("m.yaml", tmp_path)
    assert [(p.line, p.message) for p in caught.value.problems] == [
        (7, "'power' is published in kW, the map gives V"),
    ]
