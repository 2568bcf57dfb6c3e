"""The decoder refuses a device named under another park's topic, and topics beyond the limit."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from config.registry import Registry
from ingest.decode import Decoder, Reason
from tests.ingest.parks import PARK_A, PARK_B, two_parks

TEMPLATE = "parks/{park}/devices/{device}/telemetry"
NOW_MS = time.time_ns() // 1_000_000
NOW_NS = NOW_MS * 1_000_000


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    return two_parks(tmp_path_factory.mktemp("parks"))


@pytest.fixture
def decoder(registry: Registry) -> Decoder:
    return Decoder(registry, topic_template=TEMPLATE)


def reading() -> bytes:
    return orjson.dumps({"ts": NOW_MS, "power": 5.0})


def test_a_device_of_its_own_park_is_stored(decoder: Decoder) -> None:
    out = decoder.decode(f"parks/{PARK_A}/devices/{PARK_A}-f1/telemetry", reading(), NOW_NS)
    assert not out.rejected
    (point,) = out.points
    assert point.tags == {"park": PARK_A, "device": f"{PARK_A}-f1"}


def test_a_device_of_park_b_under_park_a_is_a_park_mismatch(decoder: Decoder) -> None:
    topic = f"parks/{PARK_A}/devices/{PARK_B}-f1/telemetry"
    out = decoder.decode(topic, reading(), NOW_NS)
    assert out.points == []
    (record,) = out.rejected
    assert record.reason == Reason.PARK_MISMATCH.value == "park_mismatch"
    assert record.detail == f"device '{PARK_B}-f1' belongs to park '{PARK_B}', not '{PARK_A}'"
    assert (record.park, record.device, record.topic) == (PARK_A, f"{PARK_B}-f1", topic)


def test_a_device_of_no_park_is_still_unknown(decoder: Decoder) -> None:
    out = decoder.decode(f"parks/{PARK_A}/devices/ghost/telemetry", reading(), NOW_NS)
    assert [r.reason for r in out.rejected] == [Reason.UNKNOWN_DEVICE]


def test_an_unregistered_park_stays_unknown_park(decoder: Decoder) -> None:
    out = decoder.decode(f"parks/elsewhere/devices/{PARK_A}-f1/telemetry", reading(), NOW_NS)
    assert [r.reason for r in out.rejected] == [Reason.UNKNOWN_PARK]


def test_a_batch_under_the_wrong_park_is_refused_whole(decoder: Decoder) -> None:
    batch = orjson.dumps({"readings": [{"ts": NOW_MS, "power": 1.0}, {"ts": NOW_MS, "power": 2}]})
    out = decoder.decode(f"parks/{PARK_B}/devices/{PARK_A}-grid/telemetry", batch, NOW_NS)
    assert out.points == []
    assert [r.reason for r in out.rejected] == [Reason.PARK_MISMATCH]


def test_a_topic_beyond_the_limit_is_refused_and_kept_short(registry: Registry) -> None:
    decoder = Decoder(registry, topic_template=TEMPLATE, max_topic_bytes=64)
    topic = f"parks/{PARK_A}/devices/{'x' * 10_000}/telemetry"
    out = decoder.decode(topic, reading(), NOW_NS)
    (record,) = out.rejected
    assert record.reason == Reason.TOPIC_TOO_LONG.value == "topic_too_long"
    assert record.detail == f"topic is {len(topic)} bytes > limit 64"
    assert len(record.topic) <= 65
    ok = decoder.decode(f"parks/{PARK_A}/devices/{PARK_A}-f1/telemetry", reading(), NOW_NS)
    assert len(ok.points) == 1


def test_topic_length_counts_bytes_not_characters(registry: Registry) -> None:
    decoder = Decoder(registry, topic_template=TEMPLATE, max_topic_bytes=64)
    topic = f"parks/{PARK_A}/devices/{'电' * 15}/telemetry"  # 49 characters, 79 bytes
    assert len(topic) <= 64 < len(topic.encode())
    out = decoder.decode(topic, reading(), NOW_NS)
    assert [r.reason for r in out.rejected] == [Reason.TOPIC_TOO_LONG]


def test_the_default_topic_limit_leaves_room_for_real_ids(tmp_path: Path) -> None:
    decoder = Decoder(two_parks(tmp_path), topic_template=TEMPLATE)
    assert decoder.max_topic_bytes == 512


def test_a_topic_of_exactly_the_limit_is_accepted(registry: Registry) -> None:
    topic = f"parks/{PARK_A}/devices/{PARK_A}-f1/telemetry"
    size = len(topic.encode())
    at_limit = Decoder(registry, topic_template=TEMPLATE, max_topic_bytes=size)
    assert len(at_limit.decode(topic, reading(), NOW_NS).points) == 1
    below = Decoder(registry, topic_template=TEMPLATE, max_topic_bytes=size - 1)
    assert [r.reason for r in below.decode(topic, reading(), NOW_NS).rejected] == [
        Reason.TOPIC_TOO_LONG
    ]


def test_a_payload_of_exactly_the_limit_is_accepted(registry: Registry) -> None:
    topic, payload = f"parks/{PARK_A}/devices/{PARK_A}-f1/telemetry", reading()
    at_limit = Decoder(registry, topic_template=TEMPLATE, max_payload_bytes=len(payload))
    assert len(at_limit.decode(topic, payload, NOW_NS).points) == 1
    below = Decoder(registry, topic_template=TEMPLATE, max_payload_bytes=len(payload) - 1)
    assert [r.reason for r in below.decode(topic, payload, NOW_NS).rejected] == [
        Reason.PAYLOAD_TOO_LARGE
    ]


@pytest.mark.parametrize(("ahead_s", "stored"), [(299, True), (301, False), (590, False)])
def test_readings_beyond_the_clock_skew_limit_are_refused(
    registry: Registry, ahead_s: int, stored: bool
) -> None:
    decoder = Decoder(registry, topic_template=TEMPLATE, max_skew_s=300.0)
    payload = orjson.dumps({"ts": NOW_MS + ahead_s * 1000, "power": 5.0})
    out = decoder.decode(f"parks/{PARK_A}/devices/{PARK_A}-f1/telemetry", payload, NOW_NS)
    assert len(out.points) == int(stored)
    assert [r.reason for r in out.rejected] == ([] if stored else [Reason.TS_OUT_OF_RANGE])
