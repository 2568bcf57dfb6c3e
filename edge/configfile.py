"""``edge.yaml``: the broker, the local buffer, and the field buses with their meters.

Read through :func:`config.yamlfile.read_yaml` (size cap, safe loader) and validated by the
models below; every problem is reported with file:line, all at once. Example::

    park: wuhan-demo
    broker: {url: "mqtt://10.0.0.2:1883", client_id: edge-tower-a}
    buffer: /var/lib/smartpark/edge.sqlite3
    buses:
      - id: tower-a-rs485
        kind: modbus_rtu
        port: /dev/ttyUSB0
        baudrate: 9600
        parity: N
        interval_s: 15
        timeout_s: 1.0
        retries: 2
        meters:
          - {device: tower-a-f01, unit: 1, map: chint-dtsu666, ct_ratio: 40}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from config.errors import ConfigError, Problem
from config.settings import DEFAULT_STATUS_TEMPLATE, DEFAULT_TOPIC_TEMPLATE, parse_mqtt_url
from config.yamlfile import YamlDocument, YamlFileError, describe_error, read_yaml
from edge.errors import EdgeConfigError
from edge.meter_maps import Dlt645Map, MeterMap, ModbusMap, builtin_maps, load_map

__all__ = [
    "Broker",
    "Bus",
    "Dlt645Meter",
    "Dlt645SerialBus",
    "Dlt645TcpBus",
    "EdgeConfig",
    "EdgeSetup",
    "ModbusMeter",
    "ModbusRtuBus",
    "ModbusTcpBus",
    "load_edge_config",
]

_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Broker(_Model):
    """Where readings go: the broker URL (``mqtt://`` or ``mqtts://`` with the system's CAs),
    the client id, and the topic templates of readings and of a meter's online/offline state."""

    url: str = "mqtt://127.0.0.1:1883"
    client_id: str = Field(default="smartpark-edge", min_length=1, max_length=64)
    topic_template: str = DEFAULT_TOPIC_TEMPLATE
    status_topic_template: str = DEFAULT_STATUS_TEMPLATE
    inflight: int = Field(default=32, ge=1, le=1000)  # QoS 1 messages awaiting PUBACK at once
    keepalive_s: int = Field(default=30, ge=5, le=3600)

    @model_validator(mode="after")
    def _valid(self) -> Broker:
        try:
            parse_mqtt_url(self.url)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None  # pydantic places it at this line
        for template in (self.topic_template, self.status_topic_template):
            if "{device}" not in template or any(c in template for c in "#+"):
                raise ValueError(f"{template!r}: a topic template names {{device}}, no wildcards")
        return self


class _Meter(_Model):
    device: str = Field(pattern=_ID)  # the registry's device id
    map: str
    ct_ratio: float = Field(default=1.0, gt=0)  # current transformer, primary/secondary [-]
    pt_ratio: float = Field(default=1.0, gt=0)  # voltage transformer, primary/secondary [-]


class ModbusMeter(_Meter):
    """A Modbus meter: its unit id (1…247) on the bus."""

    unit: int = Field(ge=1, le=247)


class Dlt645Meter(_Meter):
    """A DL/T 645 meter: its 12-digit address as printed on the meter."""

    address: str = Field(pattern=r"^[0-9]{12}$")


class _Bus(_Model):
    id: str = Field(pattern=_ID)
    interval_s: float = Field(default=15.0, gt=0, le=86400)  # one poll of every meter
    timeout_s: float = Field(default=1.0, gt=0, le=60)  # one request
    retries: int = Field(default=2, ge=0, le=10)  # more tries of a request before offline


class _Serial(_Model):
    port: str = Field(min_length=1)
    baudrate: int = Field(default=9600, ge=300, le=921600)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1


class ModbusTcpBus(_Bus):
    """Modbus TCP (a meter or a TCP gateway in front of an RS-485 line)."""

    kind: Literal["modbus_tcp"]
    host: str
    port: int = Field(default=502, ge=1, le=65535)
    meters: list[ModbusMeter] = Field(min_length=1)


class ModbusRtuBus(_Bus, _Serial):
    """Modbus RTU on a serial port (RS-485)."""

    kind: Literal["modbus_rtu"]
    meters: list[ModbusMeter] = Field(min_length=1)


class Dlt645SerialBus(_Bus, _Serial):
    """DL/T 645-2007 on a serial port; the standard's default line is 2400 bit/s, 8E1."""

    kind: Literal["dlt645_serial"]
    baudrate: int = Field(default=2400, ge=300, le=921600)
    parity: Literal["N", "E", "O"] = "E"
    discover: bool = False  # ask the line's meter its address at start (one meter per line)
    meters: list[Dlt645Meter] = Field(min_length=1)


class Dlt645TcpBus(_Bus):
    """DL/T 645-2007 through a transparent TCP-to-serial converter."""

    kind: Literal["dlt645_tcp"]
    host: str
    port: int = Field(ge=1, le=65535)
    discover: bool = False
    meters: list[Dlt645Meter] = Field(min_length=1)


Bus = Annotated[
    ModbusTcpBus | ModbusRtuBus | Dlt645SerialBus | Dlt645TcpBus, Field(discriminator="kind")
]


class EdgeConfig(_Model):
    """The whole file. ``journal`` keeps every reading in the buffer's database after delivery
    too (for audits and tests; it grows without bound)."""

    park: str = Field(pattern=_ID)
    broker: Broker = Broker()
    buffer: Path
    journal: bool = False
    buses: list[Bus] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class EdgeSetup:
    """A checked ``edge.yaml`` and the register map of each device (device id → map)."""

    config: EdgeConfig
    maps: Mapping[str, MeterMap]


_KINDS = {"modbus_tcp", "modbus_rtu", "dlt645_serial", "dlt645_tcp"}


def _problem(doc: YamlDocument, err: dict[str, Any]) -> Problem:
    loc = tuple(err["loc"])
    if (
        len(loc) > 2 and loc[0] == "buses" and loc[2] in _KINDS
    ):  # the union's tag is not in the file
        loc = loc[:2] + loc[3:]
    return doc.problem(loc, describe_error({**err, "loc": loc}))


def load_edge_config(path: Path) -> EdgeSetup:
    """Read and check ``edge.yaml``: structure, unique bus and device ids, each meter's map
    (shipped name or file) and that it suits the bus's protocol. Raises
    :class:`EdgeConfigError` listing every problem with file:line."""
    try:
        doc = read_yaml(path, max_bytes=4 << 20)
    except YamlFileError as exc:
        raise EdgeConfigError(exc.problems) from None
    try:
        cfg = EdgeConfig.model_validate(doc.data)
    except ValidationError as exc:
        raise EdgeConfigError([_problem(doc, dict(err)) for err in exc.errors()]) from None
    problems: list[Problem] = []
    seen_bus: set[str] = set()
    seen_device: set[str] = set()
    maps: dict[str, MeterMap] = {}
    for b, bus in enumerate(cfg.buses):
        if bus.id in seen_bus:
            problems.append(doc.problem(("buses", b, "id"), f"bus id {bus.id!r} given twice"))
        seen_bus.add(bus.id)
        wants = ModbusMap if bus.kind.startswith("modbus") else Dlt645Map
        for m, meter in enumerate(bus.meters):
            where = ("buses", b, "meters", m)
            if meter.device in seen_device:
                problems.append(
                    doc.problem((*where, "device"), f"device {meter.device!r} given twice")
                )
            seen_device.add(meter.device)
            try:
                found = load_map(meter.map, path.parent)
            except KeyError:
                known = ", ".join(sorted(builtin_maps()))
                message = f"map {meter.map!r} is neither a shipped map ({known}) nor a .yaml file"
                problems.append(doc.problem((*where, "map"), message))
                continue
            except (EdgeConfigError, ConfigError) as exc:
                problems.append(doc.problem((*where, "map"), f"map {meter.map!r}: {exc}"))
                continue
            if not isinstance(found, wants):
                message = f"map {meter.map!r} is a {found.protocol} map, the bus is {bus.kind}"
                problems.append(doc.problem((*where, "map"), message))
            maps[meter.device] = found
    if problems:
        raise EdgeConfigError(problems)
    return EdgeSetup(cfg, maps)
