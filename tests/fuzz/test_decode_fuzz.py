"""Fuzzing the payload decoder: any topic, any bytes, any JSON-ish structure.

The decoder never raises; every message becomes stored points or quarantine records (at least one
of them), each record has a reason of the closed vocabulary and a detail, and every stored point
is a reading of a registry device, under its own park, with finite values of the device's declared
fields inside their plausible range.
"""

from __future__ import annotations

import math
import time
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.registry import Registry
from config.units import stored_field_name
from ingest.decode import EXCERPT_BYTES, Decoded, Decoder, Reason
from store.base import TELEMETRY
from tests.fuzz.support import budget

TEMPLATE = "parks/{park}/devices/{device}/telemetry"
NOW_MS = time.time_ns() // 1_000_000
NOW_NS = NOW_MS * 1_000_000
REASONS = {r.value for r in Reason}


@pytest.fixture(scope="module")
def decoder(two_park_registry: Registry) -> Decoder:
    return Decoder(two_park_registry, topic_template=TEMPLATE, max_payload_bytes=64 * 1024)


def _known(registry: Registry) -> list[tuple[str, str]]:
    return [(p.id, d.id) for p in registry.parks.values() for d in p.devices]


def check(decoder: Decoder, topic: str, payload: bytes, out: Decoded) -> None:
    """The invariants every decoded message keeps."""
    assert out.points or out.rejected, "a message vanished without a point or a reason"
    for record in out.rejected:
        assert record.reason in REASONS
        assert record.detail
        assert record.received_ns == NOW_NS
        assert len(record.excerpt.encode("utf-8", errors="surrogatepass")) <= 4 * EXCERPT_BYTES
    registry = decoder.registry
    for point in out.points:
        assert point.measurement == TELEMETRY
        park_id, device_id = point.tags["park"], point.tags["device"]
        assert decoder.template.match(topic) == (park_id, device_id)
        device = registry.device(park_id, device_id)
        assert device is not None, (park_id, device_id)
        allowed = {
            stored_field_name(name, spec.quantity): name for name, spec in device.fields.items()
        }
        assert point.fields
        for name, value in point.fields.items():
            assert name in allowed, name
            assert isinstance(value, float)
            assert math.isfinite(value)
            low, high = device.plausible(allowed[name])
            assert low <= value <= high
        assert point.time_ns >= 946_684_800_000_000_000
        assert point.time_ns <= NOW_NS + decoder.max_skew_ns


# --- strategies ---------------------------------------------------------------------------------

ids = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="/"), min_size=0, max_size=20
)


@st.composite
def topics(draw: st.DrawFn) -> str:
    """Mostly topics of the template with a known or unknown park and device; some anything."""
    known = _KNOWN
    kind = draw(st.sampled_from(["known", "cross", "random_ids", "any", "long"]))
    if kind == "known":
        park, device = draw(st.sampled_from(known))
    elif kind == "cross":  # a device under another park's topic
        park = draw(st.sampled_from(sorted({p for p, _ in known})))
        device = draw(st.sampled_from(known))[1]
    elif kind == "random_ids":
        park = draw(st.one_of(ids, st.sampled_from([p for p, _ in known])))
        device = draw(st.one_of(ids, st.sampled_from([d for _, d in known])))
    elif kind == "long":
        park, device = draw(st.sampled_from(known))
        device = device + "x" * draw(st.integers(400, 2000))
    else:
        return draw(st.text(max_size=80))
    return TEMPLATE.format(park=park, device=device)


field_names = st.one_of(
    st.sampled_from(
        [
            "energy",
            "power",
            "export_energy",
            "voltage",
            "current",
            "pf",
            "soc",
            "charge_energy",
            "discharge_energy",
            "volume",
            "flow",
            "temperature",
            "humidity",
            "pm25",
            "co2",
            "produced",
            "ts",
            "readings",
            "time",
            "power_kw",
        ]
    ),
    st.text(max_size=12),
)

numbers = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=-1e7, max_value=1e7),
    st.sampled_from([0, -0.0, 1e308, -1e308, 5e-324, 2**53 + 1]),
)

timestamps = st.one_of(
    st.integers(min_value=NOW_MS - 10 * 86_400_000, max_value=NOW_MS + 600_000),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()),
    st.text(max_size=40),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "nan", "1e999", "", "Z"]),
    st.none(),
    st.booleans(),
    st.lists(st.integers(-10, 10), max_size=2),
)

json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    numbers,
    st.text(max_size=20),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "\u0000", "\ud7ff\ue000"]),
)
json_values = st.recursive(
    json_leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(field_names, st.text(max_size=8)), children, max_size=4),
    ),
    max_leaves=25,
)


@st.composite
def readings(draw: st.DrawFn) -> dict[str, Any]:
    reading: dict[str, Any] = {}
    if draw(st.integers(0, 9)):
        reading["ts"] = draw(timestamps)
    values = st.one_of(numbers, numbers, json_values)
    reading.update(draw(st.dictionaries(field_names, values, max_size=5)))
    return reading


@st.composite
def documents(draw: st.DrawFn) -> Any:
    """A reading, a batch (array or ``{"readings": [...]}``), or any JSON value."""
    shape = draw(st.sampled_from(["one", "array", "readings", "any", "mixed"]))
    if shape == "one":
        return draw(readings())
    if shape == "array":
        return draw(st.lists(readings(), max_size=6))
    if shape == "readings":
        return {"readings": draw(st.one_of(st.lists(readings(), max_size=6), json_values))}
    if shape == "mixed":
        return draw(st.lists(st.one_of(readings(), json_values), max_size=6))
    return draw(json_values)


def _dumps(doc: Any) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_NON_STR_KEYS)


@st.composite
def raw_json(draw: st.DrawFn) -> bytes:
    """JSON text orjson would never write: NaN tokens, huge numbers, deep nesting, bad UTF-8."""
    kind = draw(st.sampled_from(["token", "deep", "bytes_edit", "bigint"]))
    if kind == "token":
        token = draw(
            st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1" * 400])
        )
        field = draw(st.sampled_from(["ts", "power", "energy", "temperature"]))
        other = "power" if field == "ts" else "ts"
        return f'{{"{field}": {token}, "{other}": {NOW_MS}}}'.encode()
    if kind == "deep":
        depth = draw(st.integers(1, 5000))
        opener = draw(st.sampled_from(["[", '{"readings":', '{"a":']))
        closer = {"[": "]", '{"readings":': "}", '{"a":': "}"}[opener]
        return (opener * depth + "1" + closer * depth).encode()
    if kind == "bigint":
        digits = draw(st.integers(19, 400))
        return f'{{"ts": {NOW_MS}, "power": {"9" * digits}}}'.encode()
    good = _dumps(draw(readings()))
    at = draw(st.integers(0, len(good)))
    junk = draw(st.binary(max_size=8))
    return good[:at] + junk + good[at + draw(st.integers(0, 4)) :]


payloads = st.one_of(
    st.binary(max_size=300),
    documents().map(_dumps),
    raw_json(),
)

_KNOWN: list[tuple[str, str]] = []


@pytest.fixture(scope="module", autouse=True)
def _known_ids(two_park_registry: Registry) -> None:
    _KNOWN[:] = _known(two_park_registry)


# --- the properties -----------------------------------------------------------------------------


@budget(400)
@given(topic=topics(), payload=payloads)
def test_any_message_is_stored_or_quarantined_with_a_reason(
    decoder: Decoder, topic: str, payload: bytes
) -> None:
    out = decoder.decode(topic, payload, NOW_NS)
    check(decoder, topic, payload, out)


@budget(300)
@given(
    device=st.sampled_from(["grid-main", "rs-env", "rs-gas", "pv-plant-1-a", "bess-1", "ev-01"]),
    batch=st.lists(readings(), min_size=1, max_size=8),
)
def test_each_reading_of_a_batch_is_judged_on_its_own(
    decoder: Decoder, device: str, batch: list[dict[str, Any]]
) -> None:
    park = "riverside" if device.startswith("rs-") else "wuhan-demo"
    if decoder.registry.device(park, device) is None:
        return
    topic = TEMPLATE.format(park=park, device=device)
    out = decoder.decode(topic, _dumps({"readings": batch}), NOW_NS)
    check(decoder, topic, b"", out)
    assert len(out.points) + len(out.rejected) == len(batch)


@budget(200)
@given(
    topic=st.text(max_size=600),
    payload=st.binary(max_size=64),
)
def test_any_text_as_a_topic(decoder: Decoder, topic: str, payload: bytes) -> None:
    out = decoder.decode(topic, payload, NOW_NS)
    check(decoder, topic, payload, out)


@budget(100)
@given(
    topic=st.text(
        alphabet=st.characters(categories=["Cs", "Co", "Cc", "Zs", "Lo"]), max_size=40
    ).map(lambda t: TEMPLATE.format(park=t, device="grid-main")),
)
def test_surrogates_and_control_characters_in_topics(decoder: Decoder, topic: str) -> None:
    out = decoder.decode(topic, _dumps({"ts": NOW_MS, "power": 1.0}), NOW_NS)
    check(decoder, topic, b"", out)


# --- regressions found by the fuzzer ------------------------------------------------------------


@pytest.mark.parametrize("ts", [1e303, 1.7976931348623157e308, 2**63 - 1])
def test_a_timestamp_beyond_any_float_is_quarantined(decoder: Decoder, ts: float) -> None:
    """Found by test_each_reading_of_a_batch_is_judged_on_its_own: the future-skew message
    divided the ns difference by 1e9, an OverflowError that killed the decode thread."""
    topic = TEMPLATE.format(park="wuhan-demo", device="grid-main")
    out = decoder.decode(topic, orjson.dumps({"ts": ts, "power": 1.0}), NOW_NS)
    assert [r.reason for r in out.rejected] == [Reason.TS_OUT_OF_RANGE]
    assert "in the future" in out.rejected[0].detail
