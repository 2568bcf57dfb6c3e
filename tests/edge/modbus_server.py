"""A real pymodbus server laid out per the CHINT DTSU666 map (edge/maps/chint-dtsu666.yaml),
run as its own process by the tests and by bench/edge.py.

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


async def main(mode: str, units: list[int]) -> None:
    devices = [device(u) for u in units]
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


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], [int(u) for u in sys.argv[2:]]))
