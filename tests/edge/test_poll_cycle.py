"""One poll cycle of the agent, with a scripted bus: readings, state changes, nothing made up."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import edge.agent as agent_module
from edge.agent import EdgeAgent
from edge.buses import Meter, ratio_factor
from edge.configfile import ModbusMeter, load_edge_config
from edge.errors import MeterError, MeterUnavailableError
from edge.meter_maps import MeterMap

CONFIG = """\
park: p1
buffer: {buffer}
buses:
  - id: b
    kind: modbus_tcp
    host: 127.0.0.1
    meters:
      - {{device: a, unit: 1, map: chint-dtsu666}}
      - {{device: b, unit: 2, map: chint-dtsu666}}
"""


class ScriptedBus:
    """Answers per device from a script: a dict of values, or an exception to raise."""

    def __init__(self) -> None:
        self.script: dict[str, dict[str, float] | Exception] = {}

    async def read(self, meter: Meter, meter_map: MeterMap) -> dict[str, float]:
        answer = self.script[meter.device]
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def close(self) -> None:
        pass


async def test_state_changes_once_and_no_value_is_invented(tmp_path: Path):
    path = tmp_path / "edge.yaml"
    path.write_text(CONFIG.format(buffer=tmp_path / "buf.sqlite3"), encoding="utf-8")
    setup = load_edge_config(path)
    clock = iter(range(1_000, 100_000, 10))
    agent = EdgeAgent(setup, clock_ms=lambda: next(clock))
    bus, poller, online = setup.config.buses[0], ScriptedBus(), {}
    poller.script = {"a": {"energy": 12.5, "power": 1.25}, "b": MeterUnavailableError("b: silent")}
    first = await agent.poll_once(bus, poller, online)
    assert [(m.topic, json.loads(m.payload)) for m in first] == [
        (
            "parks/p1/devices/a/status",
            {
                "ts": 1000,
                "state": "online",
                "message": {"en": "meter answering", "zh": "电表应答正常"},
            },
        ),
        ("parks/p1/devices/a/telemetry", {"ts": 1000, "energy": 12.5, "power": 1.25}),
        (
            "parks/p1/devices/b/status",
            {
                "ts": 1010,
                "state": "offline",
                "reason": "b: silent",
                "message": {"en": "meter not answering", "zh": "电表无应答"},
            },
        ),
    ]
    assert all(m.retain for m in first if m.kind == "status")
    second = await agent.poll_once(bus, poller, online)  # no change of state: readings only
    assert [m.topic for m in second] == ["parks/p1/devices/a/telemetry"]
    poller.script = {"a": MeterError("a: exception 2"), "b": {"energy": 3.0}}
    third = await agent.poll_once(bus, poller, online)
    assert [(m.device, m.kind) for m in third] == [
        ("a", "status"),
        ("b", "status"),
        ("b", "reading"),
    ]
    assert json.loads(third[0].payload)["message"]["en"] == "meter answered with an error"
    agent.outbox.close()


def test_transformer_ratios():
    meter = ModbusMeter(device="x", unit=1, map="chint-dtsu666", ct_ratio=40, pt_ratio=100)
    assert ratio_factor("none", meter) == 1.0
    assert ratio_factor("ct", meter) == 40.0
    assert ratio_factor("pt", meter) == 100.0
    assert ratio_factor("ct_pt", meter) == 4000.0


class SwallowsCancel:
    """A bus whose read loses a cancellation, as Python 3.11's asyncio.wait_for can when the
    cancellation arrives as its inner call completes: the read returns an error instead."""

    def __init__(self) -> None:
        self.reads = 0

    async def read(self, meter: Meter, meter_map: MeterMap) -> dict[str, float]:
        self.reads += 1
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            raise MeterUnavailableError(f"{meter.device}: cancelled") from None
        return {"energy": 1.0}

    async def close(self) -> None:
        pass


async def test_a_stop_ends_the_agent_even_when_a_bus_read_loses_its_cancellation(
    tmp_path: Path, monkeypatch
):
    path = tmp_path / "edge.yaml"
    fast = CONFIG.replace("    host: 127.0.0.1\n", "    host: 127.0.0.1\n    interval_s: 0.05\n")
    path.write_text(fast.format(buffer=tmp_path / "buf.sqlite3"), encoding="utf-8")
    setup = load_edge_config(path)
    assert setup.config.buses[0].interval_s == 0.05
    bus = SwallowsCancel()
    monkeypatch.setattr(agent_module, "open_poller", lambda _bus: bus)
    agent = EdgeAgent(setup)
    run = asyncio.create_task(agent.run())
    while bus.reads < 10:  # polling (no broker: the readings wait in the buffer)
        await asyncio.sleep(0.01)
    agent.stop()
    await asyncio.wait_for(run, 5.0)  # before: the cancelled poll loop polled on, run() hung
    reads = bus.reads
    await asyncio.sleep(0.1)
    assert bus.reads == reads  # nothing polls after the stop
