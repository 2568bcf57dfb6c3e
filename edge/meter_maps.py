"""Register maps as data: where a meter keeps each reading, in ``edge/maps/*.yaml``.

A Modbus map gives, per registry field, the register address, data type, scale (raw → the
field's unit) and which transformer ratio multiplies it; a DL/T 645 map the data identifier.
Every entry names its source and an evidence grade (P primary, S second-hand, U unverified).
Maps are validated on load against the registry's electricity-meter fields and units
(``config.registry.KINDS``), with problems at file:line.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from config.registry import KINDS, DeviceKind
from config.yamlfile import YamlFileError, parse_yaml, read_yaml
from edge import dlt645
from edge.errors import EdgeConfigError
from edge.registers import WORDS, DataType, WordOrder

__all__ = [
    "MAX_REGISTERS_PER_READ",
    "Block",
    "Dlt645Field",
    "Dlt645Map",
    "MeterMap",
    "ModbusField",
    "ModbusMap",
    "Ratio",
    "builtin_maps",
    "load_map",
]

MAX_REGISTERS_PER_READ = 125
"""Most registers one read (function 03/04) may ask for (Modbus Application Protocol v1.1b3,
§6.3)."""
_MAX_GAP = 32  # registers: read across a gap this small rather than send another request

Ratio = Literal["none", "ct", "pt", "ct_pt"]
Evidence = Literal["P", "S", "U"]
_FIELDS = KINDS[DeviceKind.ELECTRICITY_METER]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ratio: Ratio
    source: str = Field(min_length=1)
    evidence: Evidence


class ModbusField(_Entry):
    """One reading: ``address`` (0-based, as on the wire), ``type``, ``scale`` (raw → ``unit``)."""

    address: int = Field(ge=0, le=0xFFFF)
    type: DataType
    scale: float
    unit: str
    scale_evidence: Evidence

    @property
    def words(self) -> int:
        """Registers the value spans."""
        return WORDS[self.type]


class Dlt645Field(_Entry):
    """One reading: its data identifier (8 hex digits, ``DI3 DI2 DI1 DI0``)."""

    di: Annotated[str, Field(pattern=r"^[0-9A-Fa-f]{8}$")]
    format_evidence: Evidence | None = None

    @field_validator("di")
    @classmethod
    def _known(cls, di: str) -> str:
        if int(di, 16) not in dlt645.DATA_IDS:
            known = ", ".join(f"{c:08X}" for c in dlt645.DATA_IDS)
            raise ValueError(f"data identifier {di} is not one the codec decodes ({known})")
        return di

    @property
    def data_id(self) -> dlt645.DataId:
        """The identifier's format and unit."""
        return dlt645.DATA_IDS[int(self.di, 16)]

    @property
    def unit(self) -> str:
        """The unit the meter reports the value in."""
        return self.data_id.unit


class _Map(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    vendor: str
    model: str
    sources: dict[str, str] = Field(min_length=1)

    def problems(self) -> list[tuple[tuple[str, ...], str]]:
        """What the models cannot check alone, each at its location in the file: every field is
        an electricity-meter field of the registry, in the unit the registry publishes it in,
        citing listed sources."""
        fields: dict[str, ModbusField] | dict[str, Dlt645Field] = getattr(self, "fields", {})
        out: list[tuple[tuple[str, ...], str]] = []
        if not fields:
            out.append((("fields",), "a map needs at least one field"))
        for name, entry in fields.items():
            spec = _FIELDS.get(name)
            if spec is None:
                known = ", ".join(_FIELDS)
                out.append(
                    (("fields", name), f"{name!r} is not an electricity-meter field ({known})")
                )
                continue
            if entry.unit != spec.default_unit:
                where = ("fields", name, "unit" if isinstance(entry, ModbusField) else "di")
                message = (
                    f"{name!r} is published in {spec.default_unit}, the map gives {entry.unit}"
                )
                out.append((where, message))
            for key in (k.strip() for k in entry.source.split(",")):
                if key not in self.sources:
                    out.append((("fields", name, "source"), f"source {key!r} is not in sources"))
        return out


class ModbusMap(_Map):
    """A Modbus meter's map: function (holding 03 / input 04), word order, fields."""

    protocol: Literal["modbus"]
    function: Literal["holding", "input"]
    word_order: WordOrder
    fields: dict[str, ModbusField]

    def blocks(self) -> list[Block]:
        """The reads that cover every field: neighbours within a few registers share a read of
        at most :data:`MAX_REGISTERS_PER_READ` registers."""
        out: list[Block] = []
        for name, entry in sorted(self.fields.items(), key=lambda kv: kv[1].address):
            end = entry.address + entry.words
            last = out[-1] if out else None
            if (
                last is not None
                and entry.address - last.end <= _MAX_GAP
                and end - last.start <= MAX_REGISTERS_PER_READ
            ):
                out[-1] = Block(last.start, max(last.end, end) - last.start, (*last.fields, name))
            else:
                out.append(Block(entry.address, entry.words, (name,)))
        return out


class Dlt645Map(_Map):
    """A DL/T 645 meter's map: the data identifiers read, one request each."""

    protocol: Literal["dlt645"]
    fields: dict[str, Dlt645Field]


MeterMap = ModbusMap | Dlt645Map


@dataclass(frozen=True, slots=True)
class Block:
    """One read: ``count`` registers from ``start``, holding ``fields``."""

    start: int
    count: int
    fields: tuple[str, ...]

    @property
    def end(self) -> int:
        """The first register after the block."""
        return self.start + self.count


def _validate(text: bytes, file: str) -> MeterMap:
    try:
        doc = parse_yaml(text, file)
    except YamlFileError as exc:
        raise EdgeConfigError(exc.problems) from None
    data = doc.data
    protocol = data.get("protocol") if isinstance(data, dict) else None
    model: type[ModbusMap | Dlt645Map] = Dlt645Map if protocol == "dlt645" else ModbusMap
    if protocol not in ("modbus", "dlt645"):
        message = f"protocol: modbus or dlt645, got {protocol!r}"
        raise EdgeConfigError([doc.problem(("protocol",), message)])
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise EdgeConfigError(doc.problems(exc)) from None
    problems = [doc.problem(where, message) for where, message in parsed.problems()]
    if problems:
        raise EdgeConfigError(problems)
    return parsed


@cache
def builtin_maps() -> dict[str, MeterMap]:
    """The maps shipped in ``edge/maps/`` by name."""
    out: dict[str, MeterMap] = {}
    for item in resources.files("edge.maps").iterdir():
        if item.name.endswith(".yaml"):
            parsed = _validate(item.read_bytes(), f"edge/maps/{item.name}")
            out[parsed.name] = parsed
    return out


def load_map(name_or_path: str, base: Path | None = None) -> MeterMap:
    """A shipped map by name (``chint-dtsu666``) or a map file (a name ending ``.yaml``,
    relative to ``base``). Raises :class:`EdgeConfigError` with file:line."""
    if name_or_path.endswith((".yaml", ".yml")):
        path = Path(name_or_path)
        if base is not None and not path.is_absolute():
            path = base / path
        try:
            read_yaml(path, max_bytes=1 << 20)  # size, bytes, syntax: one place for all files
        except YamlFileError as exc:
            raise EdgeConfigError(exc.problems) from None
        return _validate(path.read_bytes(), str(path))
    maps = builtin_maps()
    if name_or_path not in maps:
        raise KeyError(name_or_path)
    return maps[name_or_path]
