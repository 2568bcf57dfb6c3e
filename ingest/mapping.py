"""Payload mappings: another vendor's topics and JSON, described as data, decoded into readings.

A mapping file (``SMARTPARK_MAPPINGS``: a file or a folder of ``*.yaml``; docs/onboarding.md) is
``mappings: [...]``. Each mapping binds an MQTT topic filter (``+`` and ``#`` allowed) to a
description of the payload: where the park and the device id are (a topic level, a path in the
payload, the key a reading sits under, or a constant), where the time is and how it is written
(epoch s/ms/µs, ISO-8601 with an offset, a local time in the park's zone, or none: the broker
arrival time, flagged on the reading), and where each value is, with its unit, a scale and the
registry field it is stored as. A file may also hold a ``sparkplug:`` section
(:mod:`ingest.sparkplug`).

The output is what the native decoder gives (:class:`ingest.decode.Decoded`): points in canonical
units (converted once, :mod:`config.units`), named by the registry's fields, and quarantine
records; a bad reading is quarantined with a reason, and its detail names the mapping and the
path that failed.

Paths are a small compiled subset of JSONPath: ``$``, ``.name``, ``['any name']``, ``[3]``,
``[-1]`` and, in ``readings`` only, the wildcards ``.*`` and ``[*]``. python-jsonpath 2.2 takes
7.4 µs to find one value in a Tasmota message on this machine against 0.16 µs for the compiled
path (docs/onboarding.md), and a reading needs three to ten of them, so the hot path uses its own.
"""

from __future__ import annotations

import math
import re
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic import model_validator as _model_validator

from config.errors import ConfigError, Problem
from config.registry import KINDS, Device, Registry
from config.units import Quantity, UnknownUnitError, converter, stored_field_name
from config.yamlfile import YamlDocument, YamlFileError, read_yaml
from ingest.decode import (
    EXCERPT_BYTES,
    NS_PER_MS,
    TIME_FROM_ARRIVAL_FIELD,
    Decoded,
    Reason,
    check_time_ns,
    parse_ts_ns,
)
from store.base import TELEMETRY, Point, QuarantineRecord

__all__ = [
    "JsonPath",
    "MappingDecoder",
    "MappingError",
    "MappingSet",
    "MappingSpec",
    "MetricSpec",
    "SparkplugSpec",
    "TopicFilter",
    "load_mappings",
    "shipped_mappings_path",
]

MAX_MAPPING_FILE_BYTES = 1 << 20
"""Largest mapping file read [bytes]; a mapping is a few hundred bytes."""

_ID = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
_FIELD_QUANTITY: dict[str, Quantity] = {
    name: spec.quantity for fields in KINDS.values() for name, spec in fields.items()
}


class MappingError(ConfigError):
    """A mapping file has problems; ``problems`` lists them all, each with file and line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# -- paths and topic filters ----------------------------------------------------------------------


class _Missing(Enum):
    MISSING = "missing"


MISSING = _Missing.MISSING
"""What :meth:`JsonPath.get` returns when nothing is at the path."""

_STEP = re.compile(
    r"""\.(?P<name>[^.\[\]*'"\s]+)|(?P<star>\.\*|\[\*\])|\[(?P<index>-?\d+)\]"""
    r"""|\[(?P<quoted>'[^']*'|"[^"]*")\]"""
)
_ANY = None  # the wildcard step


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A compiled path into a JSON document (a subset of JSONPath, RFC 9535).

    Raises ``ValueError`` for text it cannot compile, saying where.
    """

    text: str
    steps: tuple[str | int | None, ...] = field(init=False)

    def __post_init__(self) -> None:
        text = self.text.strip()
        if not text.startswith("$"):
            raise ValueError(f"path {self.text!r} must start with '$'")
        steps: list[str | int | None] = []
        at = 1
        while at < len(text):
            m = _STEP.match(text, at)
            if m is None:
                raise ValueError(
                    f"path {self.text!r}: cannot read {text[at : at + 20]!r} at character {at + 1} "
                    "(use .name, ['name'], [index], .* or [*])"
                )
            if m["name"] is not None:
                steps.append(m["name"])
            elif m["star"] is not None:
                steps.append(_ANY)
            elif m["index"] is not None:
                steps.append(int(m["index"]))
            else:
                steps.append(m["quoted"][1:-1])
            at = m.end()
        object.__setattr__(self, "steps", tuple(steps))

    @property
    def has_wildcard(self) -> bool:
        """True when the path may select several values."""
        return _ANY in self.steps

    def get(self, doc: Any) -> Any:
        """The one value at the path, or :data:`MISSING` (a wildcard path: its first match)."""
        if _ANY in self.steps:
            for _loc, value in self.each(doc):
                return value
            return MISSING
        value = doc  # the hot path: a plain loop, no generator
        for step in self.steps:
            if isinstance(step, str):
                if type(value) is not dict:
                    return MISSING
                value = value.get(step, MISSING)
                if value is MISSING:
                    return MISSING
            elif type(value) is list and -len(value) <= step < len(value):  # type: ignore[operator]
                value = value[step]  # type: ignore[index]  # step: an int (no wildcard here)
            else:
                return MISSING
        return value

    def each(self, doc: Any) -> Iterator[tuple[tuple[str | int, ...], Any]]:
        """Every (location, value) the path selects, in document order; a location holds the
        key or index taken at each step."""
        if not self.has_wildcard:  # the hot path: no recursion, no tuples built
            value = doc
            for step in self.steps:
                if isinstance(step, str):
                    if not isinstance(value, dict) or step not in value:
                        return
                    value = value[step]
                else:
                    assert step is not None
                    if not isinstance(value, list) or not -len(value) <= step < len(value):
                        return
                    value = value[step]
            yield tuple(s for s in self.steps if s is not None), value
            return
        yield from _walk(doc, self.steps, ())


def _walk(
    value: Any, steps: tuple[str | int | None, ...], loc: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    if not steps:
        yield loc, value
        return
    step, rest = steps[0], steps[1:]
    if step is _ANY:
        if isinstance(value, dict):
            for key, item in value.items():
                yield from _walk(item, rest, (*loc, key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                yield from _walk(item, rest, (*loc, i))
    elif isinstance(step, str):
        if isinstance(value, dict) and step in value:
            yield from _walk(value[step], rest, (*loc, step))
    elif isinstance(value, list) and -len(value) <= step < len(value):
        yield from _walk(value[step], rest, (*loc, step))


@dataclass(frozen=True, slots=True)
class TopicFilter:
    """An MQTT topic filter (``+`` one level, ``#`` the rest), MQTT 3.1.1 §4.7.

    Raises ``ValueError`` for a filter MQTT would refuse.
    """

    text: str
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        levels = self.text.split("/")
        if not self.text or len(self.text.encode()) > 65535:
            raise ValueError("a topic filter must have 1 to 65535 bytes")
        parts: list[str | None] = []
        for i, level in enumerate(levels):
            if level == "#":
                if i != len(levels) - 1:
                    raise ValueError(f"topic filter {self.text!r}: '#' must be the last level")
                # 'a/#' matches 'a' too; a filter starting with a wildcard skips '$' topics
                parts.append(None)
            elif level == "+":
                parts.append("[^/]*")
            elif "#" in level or "+" in level:
                raise ValueError(
                    f"topic filter {self.text!r}: a wildcard must fill a whole level: {level!r}"
                )
            else:
                parts.append(re.escape(level))
        pattern = ""
        for i, part in enumerate(parts):
            if part is None:
                pattern += "(?:/.*)?" if i else ".*"
            else:
                pattern += ("/" if i else "") + part
        if levels[0] in ("+", "#"):
            pattern = "(?!\\$)" + pattern
        object.__setattr__(self, "_regex", re.compile(pattern, re.DOTALL))

    @property
    def levels(self) -> int:
        """Number of levels of the filter (``#`` counts as one)."""
        return self.text.count("/") + 1

    def matches(self, topic: str) -> bool:
        """True when ``topic`` is one the filter subscribes to."""
        return self._regex.fullmatch(topic) is not None


# -- the file's schema ---------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _compiled(text: str, *, wildcards: bool = False) -> str:
    path = JsonPath(text)  # ValueError: pydantic reports it on the line
    if path.has_wildcard and not wildcards:
        raise ValueError(
            f"path {text!r}: a wildcard selects several values; only readings may have one"
        )
    return text


class Source(_Model):
    """Where a string (park or device id) comes from: exactly one of a topic level (0-based), a
    path in the reading, the key or index the reading sits under in the payload (the
    ``readings`` location, 0-based), or a constant ``value`` (a bare string in YAML)."""

    topic: int | None = Field(default=None, ge=0, le=127)
    path: str | None = None
    key: int | None = Field(default=None, ge=0, le=63)
    value: str | None = Field(default=None, min_length=1)

    @_model_validator(mode="before")
    @classmethod
    def _bare_string(cls, data: Any) -> Any:
        return {"value": data} if isinstance(data, str) else data

    @_model_validator(mode="after")
    def _exactly_one(self) -> Source:
        given = [n for n in ("topic", "path", "key", "value") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of topic (a level), path, key or value; got "
                f"{', '.join(given) or 'none'}"
            )
        if self.path is not None:
            _compiled(self.path)
        return self

    def describe(self) -> str:
        """Where it is, for a quarantine detail."""
        if self.topic is not None:
            return f"topic level {self.topic}"
        if self.path is not None:
            return self.path
        if self.key is not None:
            return f"readings key {self.key}"
        return f"value {self.value!r}"


TimeFormat = Literal["epoch_s", "epoch_ms", "epoch_us", "iso8601", "local", "arrival"]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NS: Mapping[str, int] = {"epoch_s": 10**9, "epoch_ms": NS_PER_MS, "epoch_us": 1000}


class TimeSpec(_Model):
    """Where the device's time is and how it is written. ``local``: ISO-8601 without an offset,
    in the park's time zone (one with an offset keeps it). ``arrival``: the device sends no
    time; the broker arrival time is used and the reading carries ``time_from_arrival = 1``.
    ``if_missing: arrival`` falls back to that when the path finds nothing."""

    path: str | None = None
    format: TimeFormat
    if_missing: Literal["reject", "arrival"] = "reject"

    @_model_validator(mode="after")
    def _path_fits_format(self) -> TimeSpec:
        if self.format == "arrival" and self.path is not None:
            raise ValueError("format arrival takes no path")
        if self.format != "arrival" and self.path is None:
            raise ValueError(f"format {self.format} needs the path of the time")
        if self.path is not None:
            _compiled(self.path)
        return self


def _check_field_unit(name: str, unit: str | None) -> None:
    quantity = _FIELD_QUANTITY.get(name)
    if quantity is None:
        raise ValueError(
            f"field {name!r} is no registry field (known: {', '.join(sorted(_FIELD_QUANTITY))})"
        )
    if unit is not None:
        try:
            converter(quantity, unit)
        except UnknownUnitError as exc:
            raise ValueError(f"field {name!r}: {exc}") from None


class ValueSpec(_Model):
    """One value of a reading: its ``path``, the registry ``field`` it is stored as, the
    ``unit`` it is written in (default: the device's unit in the registry) and a ``scale`` the
    number is multiplied by first (e.g. 0.1 for a register in tenths). A value that is not
    ``optional`` must be there, or the reading is quarantined."""

    path: str
    field: str
    unit: str | None = None
    scale: float = 1.0
    optional: bool = False

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        return _compiled(value)

    @field_validator("scale")
    @classmethod
    def _scale(cls, value: float) -> float:
        if not math.isfinite(value) or value == 0:
            raise ValueError("scale must be a finite number other than 0")
        return value

    @_model_validator(mode="after")
    def _known(self) -> ValueSpec:
        _check_field_unit(self.field, self.unit)
        return self


class MappingSpec(_Model):
    """One mapping: topic filter, where ids, time and values are, and an optional table from the
    names in payloads to registry device ids (``devices``; a name not in it is the id itself)."""

    id: _ID
    topic: str
    park: Source
    device: Source
    readings: str | None = Field(
        default=None,
        description="path of the readings (wildcards allowed); default: the payload itself, "
        "or each item of a payload that is a JSON array",
    )
    time: TimeSpec
    values: tuple[ValueSpec, ...]
    devices: dict[str, str] = Field(default_factory=dict)

    @field_validator("topic")
    @classmethod
    def _topic(cls, value: str) -> str:
        TopicFilter(value)
        return value

    @field_validator("readings")
    @classmethod
    def _readings(cls, value: str | None) -> str | None:
        return None if value is None else _compiled(value, wildcards=True)


class MetricSpec(_Model):
    """The registry field a Sparkplug metric is stored as, its unit and scale."""

    field: str
    unit: str | None = None
    scale: float = 1.0

    @_model_validator(mode="after")
    def _known(self) -> MetricSpec:
        _check_field_unit(self.field, self.unit)
        if not math.isfinite(self.scale) or self.scale == 0:
            raise ValueError("scale must be a finite number other than 0")
        return self


class SparkplugSpec(_Model):
    """Sparkplug B (:mod:`ingest.sparkplug`): ``groups`` group id → park id (default: the group
    id is the park id); ``devices`` ``node/device`` (or ``node`` for the node's own metrics) →
    registry device id (default: the Sparkplug device name, or node id, is the device id);
    ``metrics`` metric name → field, unit and scale (default: a metric named like a field of the
    device, in the device's unit); ``rebirth_wait_s`` the least time [s] between two rebirth
    requests to one node."""

    groups: dict[str, str] = Field(default_factory=dict)
    devices: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, MetricSpec] = Field(default_factory=dict)
    rebirth_wait_s: float = Field(default=5.0, gt=0, le=3600)


class _MappingFile(_Model):
    mappings: tuple[MappingSpec, ...] = ()
    sparkplug: SparkplugSpec | None = None


@dataclass(frozen=True)
class MappingSet:
    """Every mapping of the files read, in file then list order (the first match wins), and the
    Sparkplug section (at most one in all files)."""

    mappings: tuple[MappingSpec, ...] = ()
    sparkplug: SparkplugSpec | None = None


def shipped_mappings_path() -> Path:
    """The folder of the mappings shipped with the package (examples for the demo park)."""
    return Path(str(resources.files("config") / "mappings"))


def load_mappings(path: Path, *, registry: Registry | None = None) -> MappingSet:
    """Load and validate a mapping file, or every ``*.yaml`` of a folder.

    With ``registry``, constant parks and the ``devices`` tables are checked against it too.
    Raises :class:`MappingError` listing every problem, each with file and line.
    """
    if path.is_dir():
        files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
        if not files:
            raise MappingError([Problem(str(path), 0, "no *.yaml mapping files in this folder")])
    elif path.exists():
        files = [path]
    else:
        raise MappingError([Problem(str(path), 0, "mapping file not found")])
    problems: list[Problem] = []
    mappings: list[MappingSpec] = []
    sparkplug: SparkplugSpec | None = None
    seen: dict[str, str] = {}
    for file in files:
        try:
            doc = read_yaml(file, max_bytes=MAX_MAPPING_FILE_BYTES)
        except YamlFileError as exc:
            problems.extend(exc.problems)
            continue
        if not isinstance(doc.data, dict):
            problems.append(doc.problem((), "a mapping file is a mapping with `mappings:`"))
            continue
        try:
            parsed = _MappingFile.model_validate(doc.data)
        except ValidationError as exc:
            problems.extend(doc.problems(exc))
            continue
        for i, spec in enumerate(parsed.mappings):
            if spec.id in seen:
                problems.append(
                    doc.problem(
                        ("mappings", i, "id"),
                        f"mapping id {spec.id!r} is already in {seen[spec.id]}",
                    )
                )
            seen[spec.id] = str(file)
            problems.extend(_spec_problems(doc, i, spec))
            if registry is not None:
                problems.extend(_cross_check(doc, i, spec, registry))
        if parsed.sparkplug is not None:
            if sparkplug is not None:
                problems.append(doc.problem(("sparkplug",), "a second `sparkplug:` section"))
            sparkplug = parsed.sparkplug
        mappings.extend(parsed.mappings)
    if problems:
        raise MappingError(problems)
    return MappingSet(tuple(mappings), sparkplug)


def _spec_problems(doc: YamlDocument, i: int, spec: MappingSpec) -> list[Problem]:
    """What one mapping's fields say about each other, each problem on its line."""
    out = []
    at: tuple[str | int, ...] = ("mappings", i)
    levels = spec.topic.split("/")
    depth = len(JsonPath(spec.readings).steps) if spec.readings else 0
    for name in ("park", "device"):
        source: Source = getattr(spec, name)
        if source.topic is not None and (
            source.topic >= len(levels) or levels[source.topic] == "#"
        ):
            message = (
                f"{name}: topic level {source.topic} is not a level of {spec.topic!r} "
                f"(levels 0..{len(levels) - 1}, '#' excluded)"
            )
            out.append(doc.problem((*at, name), message))
        if source.key is not None and source.key >= depth:
            message = (
                f"{name}: key {source.key} is beyond the {depth} step(s) of readings "
                f"{spec.readings or '(none)'}"
            )
            out.append(doc.problem((*at, name), message))
    if not spec.values:
        out.append(doc.problem((*at, "values"), "values: a mapping needs at least one value"))
    fields = [v.field for v in spec.values]
    for j, name in enumerate(fields):
        if name in fields[:j]:
            message = f"values: field {name!r} is mapped twice"
            out.append(doc.problem((*at, "values", j, "field"), message))
    return out


def _cross_check(doc: YamlDocument, i: int, spec: MappingSpec, registry: Registry) -> list[Problem]:
    out = []
    park = spec.park.value
    if park is not None and registry.park(park) is None:
        out.append(doc.problem(("mappings", i, "park"), f"park {park!r} is not in the registry"))
    if park is not None and registry.park(park) is not None:
        for name, device in spec.devices.items():
            if registry.device(park, device) is None:
                out.append(
                    doc.problem(
                        ("mappings", i, "devices", name),
                        f"devices: {name!r} maps to {device!r}, not a device of park {park!r}",
                    )
                )
    return out


# -- decoding -------------------------------------------------------------------------------------


class _Bad(Exception):
    """A reading cannot be stored: why (a closed reason) and a detail naming mapping and path."""

    def __init__(self, reason: Reason, detail: str) -> None:
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class _Value:
    spec: ValueSpec
    path: JsonPath


_Conv = tuple[str, Callable[[float], float], float, float]  # stored name, convert, low, high


class MappingDecoder:
    """Decode the messages of one mapping; pure apart from the caches it fills."""

    def __init__(
        self,
        spec: MappingSpec,
        registry: Registry,
        *,
        max_skew_s: float = 300.0,
        max_payload_bytes: int = 1_048_576,
    ) -> None:
        self.spec = spec
        self.filter = TopicFilter(spec.topic)
        self.registry = registry
        self.max_skew_ns = int(max_skew_s * 1e9)
        self.max_payload_bytes = max_payload_bytes
        self._readings = JsonPath(spec.readings) if spec.readings else None
        self._park_path = JsonPath(spec.park.path) if spec.park.path else None
        self._device_path = JsonPath(spec.device.path) if spec.device.path else None
        self._time_path = JsonPath(spec.time.path) if spec.time.path else None
        self._values = tuple(_Value(v, JsonPath(v.path)) for v in spec.values)
        self._conversions: dict[tuple[str, str], list[_Conv | str]] = {}
        self._zones: dict[str, zoneinfo.ZoneInfo] = {}

    def decode(self, topic: str, payload: bytes, received_ns: int) -> Decoded:
        """Turn one message into points and quarantine records; never raises on bad input."""
        out = Decoded()
        name = f"mapping {self.spec.id!r}"

        def reject(
            reason: Reason, detail: str, excerpt: bytes, park: str = "", device: str = ""
        ) -> None:
            out.rejected.append(
                QuarantineRecord(
                    received_ns=received_ns,
                    reason=reason.value,
                    detail=f"{name}: {detail}",
                    topic=topic,
                    excerpt=excerpt[:EXCERPT_BYTES].decode("utf-8", errors="replace"),
                    park=park,
                    device=device,
                    extra={"mapping": self.spec.id},
                )
            )

        if len(payload) > self.max_payload_bytes:
            reject(
                Reason.PAYLOAD_TOO_LARGE,
                f"{len(payload)} bytes > limit {self.max_payload_bytes}",
                payload,
            )
            return out
        try:
            doc = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            reject(Reason.MALFORMED_JSON, str(exc), payload)
            return out
        if self._readings is not None:
            items = list(self._readings.each(doc))
            if not items:
                reject(
                    Reason.MAPPING_PATH,
                    f"readings {self._readings.text}: no reading found",
                    payload,
                )
                return out
        elif isinstance(doc, list):
            items = [((i,), item) for i, item in enumerate(doc)]
            if not items:
                reject(Reason.EMPTY_BATCH, "the batch holds no readings", payload)
                return out
        else:
            items = [((), doc)]
        levels = topic.split("/")
        for loc, item in items:
            park = device = ""
            try:
                if not isinstance(item, dict):
                    raise _Bad(
                        Reason.NOT_AN_OBJECT,
                        f"readings {self.spec.readings or '$'}: a reading must be a JSON "
                        f"object, got {type(item).__name__}",
                    )
                park = self._string(
                    self.spec.park, self._park_path, "park", levels=levels, loc=loc, item=item
                )
                device = self._string(
                    self.spec.device, self._device_path, "device", levels=levels, loc=loc, item=item
                )
                device = self.spec.devices.get(device, device)
                out.points.append(self._point(park, device, item, received_ns))
            except _Bad as bad:
                reject(bad.reason, bad.detail, _excerpt(item), park, device)
        return out

    def _string(
        self,
        source: Source,
        path: JsonPath | None,
        what: str,
        *,
        levels: list[str],
        loc: tuple[str | int, ...],
        item: dict[str, Any],
    ) -> str:
        if source.value is not None:
            return source.value
        if source.topic is not None:
            if source.topic >= len(levels):  # only when called without the router's match
                raise _Bad(Reason.MAPPING_PATH, f"{what} {source.describe()}: no such level")
            return levels[source.topic]
        if source.key is not None:
            value: Any = loc[source.key] if source.key < len(loc) else MISSING
        else:
            assert path is not None
            value = path.get(item)
        if value is MISSING:
            raise _Bad(Reason.MAPPING_PATH, f"{what} {source.describe()}: not found")
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise _Bad(
                Reason.MAPPING_PATH,
                f"{what} {source.describe()}: is {type(value).__name__}, not a name",
            )
        return str(value)

    def _point(self, park_id: str, device_id: str, item: dict[str, Any], received_ns: int) -> Point:
        park = self.registry.park(park_id)
        if park is None:
            raise _Bad(Reason.UNKNOWN_PARK, f"park {park_id!r} is not in the registry")
        device = park.device(device_id)
        if device is None:
            raise _Bad(Reason.UNKNOWN_DEVICE, f"device {device_id!r} is not in park {park_id!r}")
        time_ns, from_arrival = self._time(item, park.park.timezone, received_ns)
        conversions = self._conversions_for(park_id, device)
        fields: dict[str, float] = {}
        for value, conv in zip(self._values, conversions, strict=True):
            raw = value.path.get(item)
            if raw is MISSING:
                if value.spec.optional:
                    continue
                raise _Bad(Reason.MAPPING_PATH, f"{value.path.text}: not found")
            if isinstance(conv, str):
                if value.spec.optional:
                    continue  # e.g. a plug's power factor, mapped to a device that has none
                raise _Bad(Reason.UNKNOWN_FIELD, conv)
            stored, to_canonical, low, high = conv
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                raise _Bad(
                    Reason.BAD_VALUE, f"{value.path.text}: is {type(raw).__name__}, not a number"
                )
            number = to_canonical(float(raw))
            if not math.isfinite(number):
                raise _Bad(Reason.BAD_VALUE, f"{value.path.text}: not a finite number")
            if not low <= number <= high:
                raise _Bad(
                    Reason.IMPLAUSIBLE,
                    f"{value.path.text}: {stored} = {number:g} is outside the plausible range "
                    f"[{low:g}, {high:g}]",
                )
            fields[stored] = number
        if not fields:
            raise _Bad(Reason.NO_FIELDS, "no value of the mapping is in the reading")
        if from_arrival:
            fields[TIME_FROM_ARRIVAL_FIELD] = 1.0
        return Point(TELEMETRY, {"park": park_id, "device": device_id}, fields, time_ns)

    def _time(self, item: dict[str, Any], zone: str, received_ns: int) -> tuple[int, bool]:
        spec = self.spec.time
        if self._time_path is None:
            return received_ns, True
        raw = self._time_path.get(item)
        where = self._time_path.text
        if raw is MISSING:
            if spec.if_missing == "arrival":
                return received_ns, True
            raise _Bad(Reason.MISSING_TS, f"{where}: not found")
        time_ns: int | str
        if spec.format in _EPOCH_NS:
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                time_ns = f"is {type(raw).__name__}, not a number ({spec.format})"
            elif isinstance(raw, float) and not math.isfinite(raw):
                time_ns = "is not a finite number"
            elif isinstance(raw, int):
                time_ns = raw * _EPOCH_NS[spec.format]
            else:
                scaled = raw * _EPOCH_NS[spec.format]
                time_ns = round(scaled) if abs(scaled) < 2**63 else "is out of range"
        elif not isinstance(raw, str):
            time_ns = f"is {type(raw).__name__}, not an ISO-8601 string"
        elif spec.format == "local":
            time_ns = self._local_ns(raw, zone)
        else:
            time_ns = parse_ts_ns(raw)
        if isinstance(time_ns, str):
            raise _Bad(Reason.BAD_TS, f"{where}: {time_ns}")
        out_of_range = check_time_ns(time_ns, received_ns, self.max_skew_ns)
        if out_of_range is not None:
            raise _Bad(Reason.TS_OUT_OF_RANGE, f"{where}: {out_of_range}")
        return time_ns, False

    def _local_ns(self, text: str, zone: str) -> int | str:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return f"{text[:40]!r} is not ISO-8601"
        if parsed.tzinfo is None:
            tz = self._zones.get(zone)
            if tz is None:
                tz = self._zones[zone] = zoneinfo.ZoneInfo(zone)
            parsed = parsed.replace(tzinfo=tz)
        try:
            delta = parsed - _EPOCH  # aware subtraction applies the zone's offset
        except OverflowError:
            return f"{text[:40]!r} is out of range"
        return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000

    def _conversions_for(self, park: str, device: Device) -> list[_Conv | str]:
        """Per value of the mapping: its conversion for ``device``, or why it has none."""
        key = (park, device.id)
        conv = self._conversions.get(key)
        if conv is None:
            conv = []
            for value in self._values:
                name = value.spec.field
                spec = device.fields.get(name)
                if spec is None:
                    conv.append(
                        f"{value.path.text}: field {name!r} is not one of a "
                        f"{device.kind.value} (known: {', '.join(sorted(device.fields))})"
                    )
                    continue
                to_canonical = converter(
                    spec.quantity,
                    value.spec.unit or device.unit_of(name),
                    scale=value.spec.scale * (device.multiplier if spec.scaled else 1.0),
                )
                conv.append(
                    (stored_field_name(name, spec.quantity), to_canonical, *device.plausible(name))
                )
            self._conversions[key] = conv
        return conv


def _excerpt(item: Any) -> bytes:
    try:
        return orjson.dumps(item)
    except TypeError:
        return repr(item).encode()
