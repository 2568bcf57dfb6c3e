"""A real pymodbus server laid out per the CHINT DTSU666 map (edge/maps/chint-dtsu666.yaml),
run as its own process by the tests and by bench/edge.py; a unit written ``adl400:N`` is laid out
per the Acrel ADL400 map instead (edge/maps/acrel-adl400.yaml, :func:`adl400_device`).

    python -m tests.edge.modbus_server tcp UNITS...     # prints "PORT <n>" when serving
    python -m tests.edge.modbus_server rtu UNITS...     # prints "PTY <path>" when serving

Register values are a deterministic function of the unit id, written with ``struct`` (not with
the agent's own decoder): Uab = (4000 + u) x 0.1 V, Ia = (5000 + 10 u) x 0.001 A,
Pt = (30000 + 100 u) x 0.1 W, PFt = 950 x 0.001, ImpEp = 1000 u + n kWh where n counts the
reads of the energy registers of that unit (so every poll reads a new, known energy), and
ExpEp = 0.5 u kWh. ``rtu`` serves over a pseudo-terminal pair: two ptys joined by a relay
thread (a pure-Python ``socat``), the server on one, the path of the other printed.
"""

from __future__ import annotations

import asyncio
import os
import selectors
import struct
import sys
import termios
import threading
import tty

from pymodbus.server import StartAsyncSerialServer, StartAsyncTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

ENERGY = 0x101E
EXPORT = 0x1028


def words(value: float) -> list[int]:
    """float32, high word first."""
    raw = struct.pack(">f", value)
    return [int.from_bytes(raw[0:2], "big"), int.from_bytes(raw[2:4], "big")]


def expected(unit: int, reads: int) -> dict[str, float]:
    """The values a correct decoder finds after ``reads`` reads (registry units)."""
    return {
        "energy": float(struct.unpack(">f", struct.pack(">f", 1000.0 * unit + reads))[0]),
        "export_energy": 0.5 * unit,
        "voltage": (4000 + unit) * 0.1,
        "current": (5000 + 10 * unit) * 0.001,
        "power": (30000 + 100 * unit) * 0.0001,
        "pf": 0.95,
    }


def device(unit: int) -> SimDevice:
    energy_block = [0] * 0x40
    energy_block[ENERGY - 0x1000 : ENERGY - 0x1000 + 2] = words(1000.0 * unit)
    energy_block[EXPORT - 0x1000 : EXPORT - 0x1000 + 2] = words(0.5 * unit)
    live = [0] * 0x50
    for address, value in (
        (0x2000, 4000.0 + unit),
        (0x200C, 5000.0 + 10 * unit),
        (0x2012, 30000.0 + 100 * unit),
        (0x202A, 950.0),
    ):
        live[address - 0x2000 : address - 0x2000 + 2] = words(value)
    reads = [0]

    async def count_energy_reads(
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: object,
    ) -> None:
        if function_code == 3 and address <= ENERGY < address + count:
            reads[0] += 1
            at = ENERGY - start_address
            registers[at : at + 2] = words(1000.0 * unit + reads[0])

    return SimDevice(
        id=unit,
        simdata=[
            SimData(0x1000, values=energy_block, datatype=DataType.REGISTERS),
            SimData(0x2000, values=live, datatype=DataType.REGISTERS),
        ],
        action=count_energy_reads,
    )


ADL400_ENERGY, ADL400_CURRENT, ADL400_POWER = 0, 100, 362


def adl400_expected(unit: int) -> dict[str, float]:
    """What a correct decoder of an ADL400 unit finds (registry units, ratios 1)."""
    return {
        "energy": (123_456 + 100 * unit) * 0.01,  # kWh
        "current": (1_600 + unit) * 0.01,  # A
        "power": -(11_040 + unit) * 0.001,  # kW, exporting
    }


def adl400_device(unit: int) -> SimDevice:
    """An ADL400 as its register table (E1 of the map) lays it out: total active energy int32
    in 0.01 kWh at 0, phase A current uint16 in 0.01 A at 100, total active power int32 in W at
    362, high word first; every other register 0."""
    block = [0] * (ADL400_POWER + 2)
    energy = struct.pack(">i", 123_456 + 100 * unit)
    power = struct.pack(">i", -(11_040 + unit))
    block[ADL400_ENERGY : ADL400_ENERGY + 2] = struct.unpack(">HH", energy)
    block[ADL400_CURRENT] = struct.unpack(">H", struct.pack(">H", 1_600 + unit))[0]
    block[ADL400_POWER : ADL400_POWER + 2] = struct.unpack(">HH", power)
    return SimDevice(id=unit, simdata=[SimData(0, values=block, datatype=DataType.REGISTERS)])


def _device_of(spec: str) -> SimDevice:
    layout, _, unit = spec.rpartition(":")
    return adl400_device(int(unit)) if layout == "adl400" else device(int(unit))


def _raw_pty() -> tuple[int, str]:
    master, slave = os.openpty()
    tty.setraw(slave)
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    return master, os.ttyname(slave)


def _relay(a: int, b: int) -> None:
    sel = selectors.DefaultSelector()
    sel.register(a, selectors.EVENT_READ, b)
    sel.register(b, selectors.EVENT_READ, a)
    while True:
        for key, _ in sel.select():
            try:
                data = os.read(key.fd, 4096)
            except OSError:  # the other side not open yet (EIO): wait for it
                continue
            os.write(key.data, data)


async def main(mode: str, units: list[str]) -> None:
    devices = [_device_of(u) for u in units]
    if mode == "tcp":
        port = int(os.environ.get("MODBUS_PORT", "0")) or _free_port()
        print(f"PORT {port}", flush=True)
        await StartAsyncTcpServer(devices, address=("127.0.0.1", port))
    else:
        server_master, server_path = _raw_pty()
        client_master, client_path = _raw_pty()
        threading.Thread(target=_relay, args=(server_master, client_master), daemon=True).start()
        print(f"PTY {client_path}", flush=True)
        await StartAsyncSerialServer(devices, port=server_path, baudrate=9600)


def wait_listening(port: int, *, timeout_s: float = 10.0) -> None:
    """Block until the server accepts a connection on ``port``: it prints "PORT n" before its
    socket listens, so a client connecting at once may find nothing there yet."""
    import socket
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listens on {port} after {timeout_s} s") from None
            time.sleep(0.05)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
