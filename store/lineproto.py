"""InfluxDB line protocol and InfluxQL quoting.

Hand-written because it is the hot path of ingest: the calibration measured this f-string encoder
at 5.0 µs per point against 18.7 µs for ``influxdb_client.Point.to_line_protocol()`` on this
machine (``docs/sources/performance.md`` §4.2). Escaping follows the InfluxDB 1.x line
protocol reference: measurement escapes comma and space; tag keys, tag values and field keys
escape comma, equals sign and space; string field values escape double quote and backslash.
Newlines cannot be escaped at all in line protocol, so identifiers containing them are refused
(the registry's id pattern already forbids them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from store.base import Point

__all__ = [
    "encode_point",
    "encode_points",
    "encode_string_fields",
    "escape_field_key",
    "escape_measurement",
    "escape_tag",
    "quote_ident",
    "quote_string",
    "string_field",
]

_MEASUREMENT = str.maketrans({",": r"\,", " ": r"\ "})
_TAG = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})
_STRING_FIELD = str.maketrans({'"': r"\"", "\\": "\\\\"})


def _no_newline(text: str) -> str:
    if "\n" in text or "\r" in text:
        raise ValueError(f"line protocol cannot carry a newline in {text!r}")
    return text


def _no_nul(text: str) -> str:
    # influxd stores a NUL in a name, but InfluxQL reads NUL as the end of the statement: such a
    # series could never be queried
    if "\x00" in text:
        raise ValueError(f"line protocol names cannot carry a NUL character: {text!r}")
    return _no_newline(text)


def escape_measurement(name: str) -> str:
    """Escape a measurement name."""
    return _no_nul(name).translate(_MEASUREMENT)


def escape_tag(text: str) -> str:
    """Escape a tag key or tag value (also used for field keys)."""
    if not text:
        raise ValueError("line protocol cannot carry an empty tag key or field key")
    if text.endswith("\\"):
        # a trailing backslash would escape the following separator
        raise ValueError(f"line protocol tags cannot end with a backslash: {text!r}")
    return _no_nul(text).translate(_TAG)


escape_field_key = escape_tag


def string_field(value: str) -> str:
    """A string field value, quoted and escaped (newlines are allowed inside quotes)."""
    return '"' + value.translate(_STRING_FIELD) + '"'


# Escaped series prefixes and field keys, cached: a park has few series and fewer field names, so
# escaping them again for every point is wasted work on the ingest hot path.
_CACHE_LIMIT = 200_000
_series_cache: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
_field_key_cache: dict[str, str] = {}


def _series(measurement: str, tags: Mapping[str, str]) -> str:
    key = (measurement, tuple(tags.items()))
    prefix = _series_cache.get(key)
    if prefix is None:
        pairs = sorted(tags.items())
        tag_part = "".join(f",{escape_tag(k)}={escape_tag(v)}" for k, v in pairs if v)
        prefix = f"{escape_measurement(measurement)}{tag_part} "
        if len(_series_cache) >= _CACHE_LIMIT:
            _series_cache.clear()
        _series_cache[key] = prefix
    return prefix


def _field_key(name: str) -> str:
    escaped = _field_key_cache.get(name)
    if escaped is None:
        if name.startswith("\t"):
            # influxd skips whitespace before the fields: "\tkw" would be stored as "kw"
            raise ValueError(f"line protocol field keys cannot start with a tab: {name!r}")
        escaped = escape_tag(name)
        if len(_field_key_cache) >= _CACHE_LIMIT:
            _field_key_cache.clear()
        _field_key_cache[name] = escaped
    return escaped


def encode_point(point: Point) -> str:
    """One point as one line, time in nanoseconds, tags sorted (as InfluxDB advises).

    Field values need no check here: :class:`Point` only holds finite numbers.
    """
    fields = ",".join([f"{_field_key(k)}={float(v)!r}" for k, v in point.fields.items()])
    return f"{_series(point.measurement, point.tags)}{fields} {point.time_ns}"


def encode_points(points: Iterable[Point]) -> bytes:
    """Many points as one request body."""
    return "\n".join(encode_point(p) for p in points).encode("utf-8")


def encode_string_fields(
    measurement: str, tags: Mapping[str, str], fields: Mapping[str, str], time_ns: int
) -> str:
    """A line whose fields are strings (used for quarantine records)."""
    tag_part = "".join(f",{escape_tag(k)}={escape_tag(v)}" for k, v in sorted(tags.items()) if v)
    field_part = ",".join(f"{escape_tag(k)}={string_field(v)}" for k, v in fields.items())
    return f"{escape_measurement(measurement)}{tag_part} {field_part} {time_ns}"


def quote_ident(name: str) -> str:
    """An InfluxQL identifier in double quotes (measurement, tag or field name)."""
    return '"' + _no_newline(name).replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_string(value: str) -> str:
    """An InfluxQL string literal in single quotes, for comparisons in WHERE clauses."""
    return "'" + _no_newline(value).replace("\\", "\\\\").replace("'", "\\'") + "'"
