"""Decoding and validation of payloads (no broker, no store)."""

from __future__ import annotations

import time

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.registry import load_registry
from ingest.decode import Decoder, Reason, TopicTemplate, parse_ts_ns
from tests.ingest.corpus import load_cases

NOW_MS = time.time_ns() // 1_000_000


@pytest.fixture(scope="module")
def decoder():
    return Decoder(load_registry(), topic_template="parks/{park}/devices/{device}/telemetry")


@pytest.mark.parametrize("case", load_cases(NOW_MS), ids=lambda c: c.name)
def test_corpus_case(decoder, case):
    out = decoder.decode(case.topic, case.payload, NOW_MS * 1_000_000)
    assert len(out.points) == case.stored
    assert [r.reason for r in out.rejected] == case.reasons
    for record in out.rejected:
        assert record.detail
        assert record.topic == case.topic
        assert record.received_ns == NOW_MS * 1_000_000
        assert len(record.excerpt) <= 256


def test_units_and_multiplier_are_applied_once(decoder):
    out = decoder.decode(
        "parks/wuhan-demo/devices/plant-2-main/telemetry",
        orjson.dumps({"ts": NOW_MS, "energy": 2_500_000, "power": 61_000}),
        NOW_MS * 1_000_000,
    )
    (point,) = out.points
    assert point.fields == {"energy_kwh": 2500.0, "power_kw": 61.0}
    assert point.tags == {"park": "wuhan-demo", "device": "plant-2-main"}
    assert point.time_ns == NOW_MS * 1_000_000


def test_oversized_payload_is_refused_before_parsing():
    small = Decoder(
        load_registry(),
        topic_template="parks/{park}/devices/{device}/telemetry",
        max_payload_bytes=100,
    )
    out = small.decode(
        "parks/wuhan-demo/devices/grid-main/telemetry", b"[" + b" " * 200 + b"]", NOW_MS * 1_000_000
    )
    assert [r.reason for r in out.rejected] == [Reason.PAYLOAD_TOO_LARGE]


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (1_764_000_000_000, 1_764_000_000_000_000_000),
        (1_764_000_000_000.5, 1_764_000_000_000_500_000),
        ("2025-11-24T16:00:00+08:00", 1_763_971_200_000_000_000),
        ("2025-11-24T08:00:00Z", 1_763_971_200_000_000_000),
        ("2025-11-24T08:00:00.123456+00:00", 1_763_971_200_123_456_000),
    ],
)
def test_timestamps(ts, expected):
    assert parse_ts_ns(ts) == expected


@pytest.mark.parametrize("ts", ["2025-11-24T08:00:00", "soon", True, None, [1], float("inf")])
def test_bad_timestamps_say_why(ts):
    assert isinstance(parse_ts_ns(ts), str)


def test_topic_template():
    t = TopicTemplate("site/{park}/m/{device}/up")
    assert t.subscription == "site/+/m/+/up"
    assert t.match("site/a/m/b/up") == ("a", "b")
    assert t.match("site/a/m/b/c/up") is None
    assert t.topic("a", "b") == "site/a/m/b/up"
    with pytest.raises(ValueError, match="exactly one"):
        TopicTemplate("site/{device}")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(doc=json_values, raw=st.binary(max_size=64))
def test_decoder_never_raises_and_accounts_for_everything(decoder, doc, raw):
    topic = "parks/wuhan-demo/devices/tower-a-f05/telemetry"
    for payload in (orjson.dumps(doc), raw):
        out = decoder.decode(topic, payload, NOW_MS * 1_000_000)
        for point in out.points:
            assert set(point.fields) <= {"energy_kwh", "power_kw"}
        assert out.points or out.rejected  # nothing vanishes without a reason


def test_implausible_values_are_refused_with_the_range(decoder):
    out = decoder.decode(
        "parks/wuhan-demo/devices/ev-01/telemetry",  # rated 60 kW: limit 90 kW
        orjson.dumps({"ts": NOW_MS, "power": 95.0}),
        NOW_MS * 1_000_000,
    )
    assert [r.reason for r in out.rejected] == [Reason.IMPLAUSIBLE]
    assert "power_kw = 95 is outside the plausible range [-90, 90]" in out.rejected[0].detail
    ok = decoder.decode(
        "parks/wuhan-demo/devices/ev-01/telemetry",
        orjson.dumps({"ts": NOW_MS, "power": 89.0}),
        NOW_MS * 1_000_000,
    )
    assert len(ok.points) == 1


def test_production_counter_payloads_are_stored_as_units(decoder):
    topic = "parks/wuhan-demo/devices/prod-chipcore/telemetry"
    out = decoder.decode(
        topic, orjson.dumps({"ts": NOW_MS, "produced": 191_631}), NOW_MS * 1_000_000
    )
    assert not out.rejected
    (point,) = out.points
    assert point.fields == {"produced_units": 191_631.0}
    assert point.tags == {"park": "wuhan-demo", "device": "prod-chipcore"}
    negative = decoder.decode(
        topic, orjson.dumps({"ts": NOW_MS, "produced": -1}), NOW_MS * 1_000_000
    )
    assert [r.reason for r in negative.rejected] == [Reason.IMPLAUSIBLE]
