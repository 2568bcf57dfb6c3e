"""Fault injection between the park model and the broker, every fault recorded for the truth.

A fault profile is YAML mapping fault kinds to rates (see ``docs/simulator.md``)::

    dropout: 0.01            # probability per reading
    gateway_outage: 0.0005   # probability per gateway and tick that an outage starts
    gateway_outage_s: 1800   # its duration; the backlog is then uploaded in batches
    rollover: 0.05           # share of register devices preset to roll over during the run

Rates of the per-reading kinds are probabilities per reading (device × tick). A gateway is a
building (devices without one share the ``site`` gateway). Register faults change what a device
*reports*, never the true energy in the truth file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from config.errors import ConfigError
from config.registry import ParkRegistry
from simulators.park import Reading
from simulators.truth import FaultRecord, RegisterBreak

__all__ = ["FAULT_KINDS", "FaultInjector", "FaultProfile", "Outgoing", "load_fault_profile"]

FaultKind = Literal[
    "dropout",
    "gateway_outage",
    "counter_reset",
    "rollover",
    "meter_replacement",
    "spike",
    "stuck",
    "duplicate",
    "out_of_order",
    "late",
    "clock_skew",
    "malformed",
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)

_Rate = Field(default=0.0, ge=0.0, le=1.0)


class FaultProfile(BaseModel):
    """Rates of each fault kind and the parameters of the lasting ones."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dropout: float = _Rate
    gateway_outage: float = _Rate
    counter_reset: float = _Rate
    rollover: float = _Rate
    meter_replacement: float = _Rate
    spike: float = _Rate
    stuck: float = _Rate
    duplicate: float = _Rate
    out_of_order: float = _Rate
    late: float = _Rate
    clock_skew: float = _Rate
    malformed: float = _Rate
    gateway_outage_s: float = Field(default=1800.0, gt=0)
    stuck_s: float = Field(default=1800.0, gt=0)
    late_s: float = Field(default=900.0, gt=0)
    clock_skew_s: float = Field(default=120.0, description="offset of a skewed clock [s]")
    clock_skew_duration_s: float = Field(default=3600.0, gt=0)
    spike_factor: float = Field(default=20.0, gt=1)
    backlog_batch: int = Field(default=50, ge=1, description="readings per backlog message")
    rollover_width: int = Field(
        default=9, ge=3, le=15, description="register digits where the device declares none"
    )


def load_fault_profile(path: Path) -> FaultProfile:
    """Read a fault profile; :class:`ConfigError` if it cannot be read or is invalid."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return FaultProfile.model_validate(data)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"fault profile {path}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to publish: one reading, a backlog batch, or raw (possibly malformed) bytes."""

    device: str
    readings: tuple[dict[str, Any], ...] = ()
    raw: bytes | None = None
    batch: bool = False

    def payload(self) -> bytes:
        """The message body."""
        if self.raw is not None:
            return self.raw
        if self.batch:
            return orjson.dumps({"readings": list(self.readings)})
        return orjson.dumps(self.readings[0])


@dataclass
class _DeviceState:
    offset: dict[str, float] = field(default_factory=dict)  # register offsets [device units]
    width: float = float("inf")  # register modulus once a rollover is armed
    stuck_until_ms: int = -1
    stuck_values: dict[str, float] | None = None
    skew_until_ms: int = -1
    skew_ms: int = 0
    swapped: dict[str, Any] | None = None  # held back, sent after the next reading
    rolled: bool = False
    wraps: dict[str, int] = field(default_factory=dict)  # register wraps so far, per register


class FaultInjector:
    """Turn each tick's readings into messages with faults, recording every fault injected."""

    def __init__(self, profile: FaultProfile, park: ParkRegistry, *, seed: int = 0) -> None:
        self.profile = profile
        self.rng = np.random.default_rng([seed, 0xFA17])
        self.faults: list[FaultRecord] = []
        self.breaks: list[RegisterBreak] = []
        self.gateway = {d.id: d.building or "site" for d in park.devices}
        self.registers = {
            d.id: [f for f, s in d.fields.items() if s.cumulative] for d in park.devices
        }
        self.instant = {
            d.id: [f for f, s in d.fields.items() if not s.cumulative] for d in park.devices
        }
        self.widths = {d.id: d.register_width for d in park.devices}
        self.state = {d.id: _DeviceState() for d in park.devices}
        self.outage_until_ms: dict[str, int] = {}
        self.backlog: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.delayed: list[tuple[int, Outgoing]] = []  # (release time ms, message)
        self._armed_rollover = {
            d.id
            for d in park.devices
            if self.registers[d.id] and self.rng.random() < profile.rollover
        }

    def _record(
        self, kind: str, time_ms: int, device: str, detail: str = "", value: float = 1.0
    ) -> None:
        self.faults.append(FaultRecord(kind, time_ms, device, detail, value))

    def drain_faults(self) -> list[FaultRecord]:
        """The faults recorded since the last call."""
        out, self.faults = self.faults, []
        return out

    def drain_breaks(self) -> list[RegisterBreak]:
        """The register breaks recorded since the last call."""
        out, self.breaks = self.breaks, []
        return out

    def process(self, readings: list[Reading], now_ms: int) -> list[Outgoing]:
        """Messages to publish for this tick (including released backlogs and late readings)."""
        p, rng = self.profile, self.rng
        out: list[Outgoing] = []
        gateways = sorted(set(self.gateway.values()))
        draws = rng.random(len(gateways))
        for gw, u in zip(gateways, draws, strict=True):
            if gw not in self.outage_until_ms and u < p.gateway_outage:
                self.outage_until_ms[gw] = now_ms + int(p.gateway_outage_s * 1000)
        kinds = (
            "dropout", "counter_reset", "meter_replacement", "spike", "stuck", "duplicate",
            "out_of_order", "late", "clock_skew", "malformed",
        )  # fmt: skip
        rates = np.array([getattr(p, k) for k in kinds])
        hits = rng.random((len(readings), len(kinds))) < rates
        for r, row in zip(readings, hits, strict=True):
            fired = {k for k, h in zip(kinds, row.tolist(), strict=True) if h}
            out.extend(self._device(r, fired, now_ms))
        for gw, until in list(self.outage_until_ms.items()):
            if now_ms >= until:
                del self.outage_until_ms[gw]
                out.extend(self._release(gw))
        due = [m for t, m in self.delayed if t <= now_ms]
        self.delayed = [(t, m) for t, m in self.delayed if t > now_ms]
        out.extend(due)
        return out

    def _shown_registers(self, r: Reading, fired: set[str], st: _DeviceState) -> dict[str, float]:
        """The reading's values with the register faults applied (they last from now on)."""
        p, rng = self.profile, self.rng
        dev, ts = r.device, r.time_ms
        values = dict(r.values)
        regs = self.registers[dev]
        if not regs:
            return values
        if dev in self._armed_rollover:
            self._armed_rollover.discard(dev)
            st.width = 10.0 ** (self.widths[dev] or p.rollover_width)
            # preset the register a few intervals' worth below the top, so it rolls over soon
            rate = abs(values.get("power", values.get("flow", 1.0)))
            first = regs[0]
            st.offset[first] = st.width - max(2.0 * rate, 1.0) - values[first]
        for kind in ("counter_reset", "meter_replacement"):
            if kind in fired:
                start = 0.0 if kind == "counter_reset" else round(float(rng.uniform(0, 10)), 3)
                for f in regs:
                    old = (values[f] + st.offset.get(f, 0.0)) % st.width
                    # a new meter never reads more than the one it replaces: a rise would look
                    # like energy, and no reader of the register could tell it was a replacement
                    new = min(start, old)
                    st.offset[f] = new - values[f]
                    if round(new, 6) < round(old, 6):  # as published: a visible drop
                        self.breaks.append(RegisterBreak(ts, dev, f, kind, old))
                self._record(kind, ts, dev, f"registers restart at {start}")
        for f in regs:
            shown = values[f] + st.offset.get(f, 0.0)
            wraps = int(shown // st.width) if shown >= st.width else 0
            if wraps > st.wraps.get(f, 0):
                self.breaks.append(RegisterBreak(ts, dev, f, "rollover", st.width))
            st.wraps[f] = wraps
            if shown >= st.width:
                if not st.rolled:
                    st.rolled = True
                    self._record("rollover", ts, dev, f"{f} rolled over at {st.width:.0f}")
                shown %= st.width
            values[f] = round(shown, 6)
        return values

    def _device(self, r: Reading, fired: set[str], now_ms: int) -> list[Outgoing]:
        p = self.profile
        st = self.state[r.device]
        dev = r.device
        broken = len(self.breaks)
        values = self._shown_registers(r, fired, st)
        ts = r.time_ms
        if len(self.breaks) > broken:
            # a register that restarts, is replaced or wraps is not frozen at its old values
            st.stuck_until_ms, st.stuck_values = -1, None
        # stuck: the same values again and again
        if "stuck" in fired and st.stuck_until_ms < ts:
            st.stuck_until_ms = ts + int(p.stuck_s * 1000)
            st.stuck_values = values
            self._record("stuck", ts, dev, f"values frozen for {p.stuck_s:.0f} s", p.stuck_s)
        if ts <= st.stuck_until_ms and st.stuck_values is not None:
            values = dict(st.stuck_values)
        if "spike" in fired and self.instant[dev]:
            f = self.instant[dev][0]
            values[f] = round(values[f] * p.spike_factor + p.spike_factor, 6)
            self._record("spike", ts, dev, f"{f} × {p.spike_factor}", values[f])
        # clock skew shifts the device's timestamps
        if "clock_skew" in fired and st.skew_until_ms < ts:
            st.skew_until_ms = ts + int(p.clock_skew_duration_s * 1000)
            st.skew_ms = int(p.clock_skew_s * 1000)
            self._record("clock_skew", ts, dev, f"clock {p.clock_skew_s:+.0f} s", p.clock_skew_s)
        if ts <= st.skew_until_ms:
            ts += st.skew_ms
        payload: dict[str, Any] = {"ts": ts, **values}
        if "dropout" in fired:
            self._record("dropout", r.time_ms, dev)
            return []
        gw = self.gateway[dev]
        if gw in self.outage_until_ms:
            if not self.backlog[dev]:
                self._record(
                    "gateway_outage", r.time_ms, dev, f"gateway {gw} down; backlog in batches"
                )
            self.backlog[dev].append(payload)
            return []
        if "malformed" in fired:
            self._record("malformed", r.time_ms, dev, "truncated JSON")
            raw = orjson.dumps(payload)
            return [Outgoing(dev, raw=raw[: max(1, len(raw) // 2)])]
        msg = Outgoing(dev, (payload,))
        if "late" in fired:
            self._record("late", r.time_ms, dev, f"delivered {p.late_s:.0f} s late", p.late_s)
            self.delayed.append((now_ms + int(p.late_s * 1000), msg))
            return []
        out = [msg]
        if "duplicate" in fired:
            self._record("duplicate", r.time_ms, dev)
            out.append(msg)
        if st.swapped is not None:
            out.append(Outgoing(dev, (st.swapped,)))
            st.swapped = None
        elif "out_of_order" in fired:
            self._record("out_of_order", r.time_ms, dev, "sent after the next reading")
            st.swapped = payload
            return []
        return out

    def _release(self, gateway: str) -> list[Outgoing]:
        out: list[Outgoing] = []
        n = self.profile.backlog_batch
        for dev, gw in self.gateway.items():
            if gw != gateway or not self.backlog[dev]:
                continue
            pending = self.backlog.pop(dev)
            out.extend(
                Outgoing(dev, tuple(pending[i : i + n]), batch=True)
                for i in range(0, len(pending), n)
            )
        return out

    def flush(self) -> list[Outgoing]:
        """Everything still held back at the end of a run."""
        out = [m for _, m in self.delayed]
        self.delayed = []
        for gw in list(self.outage_until_ms):
            del self.outage_until_ms[gw]
            out.extend(self._release(gw))
        for dev, st in self.state.items():
            if st.swapped is not None:
                out.append(Outgoing(dev, (st.swapped,)))
                st.swapped = None
        return out

    @property
    def rates(self) -> Mapping[str, float]:
        """The configured rate of each fault kind."""
        return {k: getattr(self.profile, k) for k in FAULT_KINDS}
