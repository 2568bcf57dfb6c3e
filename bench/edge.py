"""Edge agent benchmark: meters polled per second per bus, and the CPU each poll costs.

``python -m bench.edge [--seconds S] [--units N] [--json FILE]`` starts, on this machine:

- a pymodbus TCP server process with N DTSU666 meters (unit ids 1…N; ``tests/edge/modbus_server``),
- the same server over Modbus RTU behind a pseudo-terminal pair,
- a DL/T 645 responder on a pseudo-terminal with N meters,

and runs the agent's own poll cycle against each bus (``EdgeAgent.poll_once``: read every meter,
decode, build the JSON payloads, append them to the fsynced buffer; no broker) for S seconds at
most (and at most 20,000 meter polls). Figures per bus: meters polled per second, CPU per meter
poll (user + system of this process, ``resource.getrusage``; the servers run in their own
processes and are not counted) and the requests each poll takes.

A pseudo-terminal has no baud rate, so the RTU and DL/T 645 figures are the software's ceiling;
on a real RS-485 line the wire decides: the line-limited rate is printed beside them (8 data
bits + start + parity/stop = 11 bits a byte for 8E1, 10 for 8N1, and Modbus RTU's 3.5-character
silence between frames; DL/T 645 adds its 4 wake-up bytes). Every process the benchmark starts
is stopped by PID on the way out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from bench._procs import exit_on_sigterm
from edge.agent import EdgeAgent
from edge.buses import AnyBus, open_poller
from edge.configfile import load_edge_config
from edge.meter_maps import Dlt645Map, ModbusMap, builtin_maps

REPO = Path(__file__).resolve().parent.parent
MAX_POLLS = 20_000


@dataclass
class BusFigures:
    bus: str
    meters: int
    polls: int
    seconds: float
    polls_per_s: float
    cpu_ms_per_poll: float
    requests_per_poll: int
    line_limited_polls_per_s: float | None
    baud: int | None


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _start(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if len(line) != 2:
        proc.kill()
        raise SystemExit(f"{args[0]} did not start")
    return proc, line[1]


def _rtu_wire_s(blocks: list[tuple[int, int]], baud: int, bits_per_byte: int) -> float:
    """Seconds on the wire for one Modbus RTU poll: per read a request of 8 bytes and a reply of
    5 + 2 x count bytes, each frame followed by 3.5 characters of silence."""
    chars = sum(8 + 3.5 + 5 + 2 * count + 3.5 for _, count in blocks)
    return chars * bits_per_byte / baud


def _dlt_wire_s(sizes: list[int], baud: int, bits_per_byte: int) -> float:
    """Seconds on the wire for one DL/T 645 poll: per identifier a request of 4 + 16 bytes and a
    reply of 4 + 12 + 4 + value bytes (wake-up, frame, DI, value)."""
    chars = sum(4 + 16 + 4 + 12 + 4 + size for size in sizes)
    return chars * bits_per_byte / baud


async def _measure(agent: EdgeAgent, bus: AnyBus, seconds: float) -> tuple[int, float, float]:
    poller = open_poller(bus)
    online: dict[str, bool] = {}
    try:
        agent.outbox.append(await agent.poll_once(bus, poller, online))  # connect, warm up
        polls = 0
        cpu0, t0 = _cpu_s(), time.perf_counter()
        while time.perf_counter() - t0 < seconds and polls < MAX_POLLS:
            messages = await agent.poll_once(bus, poller, online)
            agent.outbox.append(messages)
            polls += len(bus.meters)
        wall, cpu = time.perf_counter() - t0, _cpu_s() - cpu0
        assert all(online.values()), f"a meter went offline during the run: {online}"
        return polls, wall, cpu
    finally:
        await poller.close()


def main() -> None:
    exit_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per bus (default 5)")
    parser.add_argument("--units", type=int, default=8, help="meters per bus (default 8)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    units = [str(u) for u in range(1, args.units + 1)]
    addresses = [f"{u:012d}" for u in range(1, args.units + 1)]
    procs: list[subprocess.Popen[str]] = []
    try:
        tcp, port = _start(["tests.edge.modbus_server", "tcp", *units])
        procs.append(tcp)
        rtu, rtu_pty = _start(["tests.edge.modbus_server", "rtu", *units])
        procs.append(rtu)
        dlt, dlt_pty = _start(["tests.edge.dlt645_responder", *addresses])
        procs.append(dlt)
        with tempfile.TemporaryDirectory(prefix="bench-edge-") as tmp:
            modbus = [{"device": f"m{u}", "unit": int(u), "map": "chint-dtsu666"} for u in units]
            dlt_meters = [
                {"device": f"d{a}", "address": a, "map": "dlt645-2007"} for a in addresses
            ]
            buses = [
                {
                    "id": "modbus-tcp",
                    "kind": "modbus_tcp",
                    "host": "127.0.0.1",
                    "port": int(port),
                    "timeout_s": 2,
                    "meters": modbus,
                },
                {
                    "id": "modbus-rtu-pty",
                    "kind": "modbus_rtu",
                    "port": rtu_pty,
                    "baudrate": 9600,
                    "timeout_s": 2,
                    "meters": [{**m, "device": f"r{m['unit']}"} for m in modbus],
                },
                {
                    "id": "dlt645-pty",
                    "kind": "dlt645_serial",
                    "port": dlt_pty,
                    "timeout_s": 2,
                    "meters": dlt_meters,
                },
            ]
            config = Path(tmp) / "edge.yaml"
            config.write_text(
                yaml.safe_dump(
                    {"park": "bench", "buffer": f"{tmp}/buffer.sqlite3", "buses": buses}
                ),
                encoding="utf-8",
            )
            setup = load_edge_config(config)
            agent = EdgeAgent(setup)
            figures = []
            dtsu = builtin_maps()["chint-dtsu666"]
            dlt_map = builtin_maps()["dlt645-2007"]
            assert isinstance(dtsu, ModbusMap)
            assert isinstance(dlt_map, Dlt645Map)
            blocks = [(b.start, b.count) for b in dtsu.blocks()]
            sizes = [f.data_id.size for f in dlt_map.fields.values()]
            for bus in setup.config.buses:
                polls, wall, cpu = asyncio.run(_measure(agent, bus, args.seconds))
                if bus.kind == "modbus_rtu":
                    baud, wire = 9600, _rtu_wire_s(blocks, 9600, 10)
                elif bus.kind == "dlt645_serial":
                    baud, wire = 2400, _dlt_wire_s(sizes, 2400, 11)
                else:
                    baud, wire = None, None
                figures.append(
                    BusFigures(
                        bus=bus.id,
                        meters=len(bus.meters),
                        polls=polls,
                        seconds=round(wall, 2),
                        polls_per_s=round(polls / wall, 1),
                        cpu_ms_per_poll=round(1000 * cpu / polls, 3),
                        requests_per_poll=len(blocks)
                        if bus.kind.startswith("modbus")
                        else len(sizes),
                        line_limited_polls_per_s=round(1 / wire, 2) if wire else None,
                        baud=baud,
                    )
                )
            agent.outbox.close()
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()
    print(f"edge agent poll cycle, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(
        f"{'bus':16} {'meters':>6} {'polls':>6} {'polls/s':>8} {'CPU ms/poll':>12} "
        f"{'req/poll':>8} {'line-limited polls/s':>22}"
    )
    for f in figures:
        line = f"{f.line_limited_polls_per_s} at {f.baud} bit/s" if f.baud else "-"
        print(
            f"{f.bus:16} {f.meters:>6} {f.polls:>6} {f.polls_per_s:>8} "
            f"{f.cpu_ms_per_poll:>12} {f.requests_per_poll:>8} {line:>22}"
        )
    if args.json:
        args.json.write_text(json.dumps([asdict(f) for f in figures], indent=2) + "\n")


if __name__ == "__main__":
    main()
