"""Sparkplug B: aliases, sequence numbers and rebirth requests, DEATH → offline (no broker)."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.registry import load_registry
from ingest.decode import TIME_FROM_ARRIVAL_FIELD, Reason
from ingest.mapping import MetricSpec, SparkplugSpec
from ingest.sparkplug import (
    OFFLINE_FIELD,
    REBIRTH_METRIC,
    SUBSCRIPTIONS,
    DataType,
    Payload,
    SparkplugDecoder,
    new_payload,
)
from store.base import TELEMETRY

REGISTRY = load_registry()
NOW_MS = time.time_ns() // 10**6 - 10_000
NOW_NS = NOW_MS * 10**6
RECEIVED_NS = NOW_NS + 10**9
GROUP = "wuhan-demo"
NBIRTH = f"spBv1.0/{GROUP}/NBIRTH/gw1"
NDEATH = f"spBv1.0/{GROUP}/NDEATH/gw1"
NCMD = f"spBv1.0/{GROUP}/NCMD/gw1"


def dev(kind: str, device: str) -> str:
    return f"spBv1.0/{GROUP}/{kind}/gw1/{device}"


def birth(decoder: SparkplugDecoder, *, bd_seq: int = 0, at_ms: int = NOW_MS) -> None:
    """NBIRTH (seq 0) then DBIRTH of tower-a-f05 (seq 1) with aliases 1 energy, 2 power."""
    out = decoder.decode(
        NBIRTH,
        new_payload(
            [
                ("bdSeq", None, DataType.UINT64, bd_seq),
                (REBIRTH_METRIC, 99, DataType.BOOLEAN, False),
            ],
            timestamp_ms=at_ms,
            seq=0,
        ),
        RECEIVED_NS,
    )
    assert not out.rejected
    out = decoder.decode(
        dev("DBIRTH", "tower-a-f05"),
        new_payload(
            [("energy", 1, DataType.DOUBLE, 100.0), ("power", 2, DataType.FLOAT, 5.5)],
            timestamp_ms=at_ms,
            seq=1,
        ),
        RECEIVED_NS,
    )
    assert not out.rejected
    assert out.commands == []


def ddata(decoder, seq, metrics, *, at_ms=NOW_MS + 1000, device="tower-a-f05"):
    return decoder.decode(
        dev("DDATA", device), new_payload(metrics, timestamp_ms=at_ms, seq=seq), RECEIVED_NS
    )


def rebirth_metric(payload: bytes) -> tuple[str, int, bool]:
    (metric,) = Payload.FromString(payload).metrics
    return metric.name, metric.datatype, metric.boolean_value


def test_subscriptions_cover_the_six_message_types_a_host_reads():
    assert SUBSCRIPTIONS == (
        "spBv1.0/+/NBIRTH/+",
        "spBv1.0/+/NDATA/+",
        "spBv1.0/+/NDEATH/+",
        "spBv1.0/+/DBIRTH/+/+",
        "spBv1.0/+/DDATA/+/+",
        "spBv1.0/+/DDEATH/+/+",
    )


def test_birth_values_are_readings_and_aliases_are_learnt():
    decoder = SparkplugDecoder(REGISTRY)
    out = decoder.decode(
        NBIRTH, new_payload([("bdSeq", None, DataType.UINT64, 0)], seq=0), RECEIVED_NS
    )
    assert out.points == []  # gw1 is no registry device: no state, no reading
    out = decoder.decode(
        dev("DBIRTH", "tower-a-f05"),
        new_payload(
            [("energy", 1, DataType.DOUBLE, 100.0), ("power", 2, DataType.FLOAT, 5.5)],
            timestamp_ms=NOW_MS,
            seq=1,
        ),
        RECEIVED_NS,
    )
    (reading,) = out.points
    assert reading.measurement == TELEMETRY
    assert reading.tags == {"park": GROUP, "device": "tower-a-f05"}
    assert reading.fields == {"energy_kwh": 100.0, "power_kw": 5.5, OFFLINE_FIELD: 0.0}
    assert reading.time_ns == NOW_NS
    out = ddata(decoder, 2, [(None, 1, DataType.DOUBLE, 101.25), (None, 2, DataType.FLOAT, 6.5)])
    (point,) = out.points
    assert point.fields == {"energy_kwh": 101.25, "power_kw": 6.5}
    assert point.time_ns == NOW_NS + 10**9
    assert out.commands == []
    assert out.rejected == []


def test_metric_timestamps_split_a_message_into_points():
    decoder = SparkplugDecoder(REGISTRY)
    birth(decoder)
    payload = Payload(timestamp=NOW_MS + 5000, seq=2)
    for i, value in enumerate((101.0, 102.0)):
        m = payload.metrics.add(alias=1, datatype=DataType.DOUBLE, double_value=value)
        m.timestamp = NOW_MS + 1000 * (i + 1)
    payload.metrics.add(alias=2, datatype=DataType.FLOAT, float_value=7.0)
    out = decoder.decode(dev("DDATA", "tower-a-f05"), payload.SerializeToString(), RECEIVED_NS)
    assert [(p.time_ns - NOW_NS, dict(p.fields)) for p in out.points] == [
        (1 * 10**9, {"energy_kwh": 101.0}),
        (2 * 10**9, {"energy_kwh": 102.0}),
        (5 * 10**9, {"power_kw": 7.0}),
    ]


def test_sequence_runs_through_255_and_wraps_to_0_without_a_gap():
    decoder = SparkplugDecoder(REGISTRY)
    birth(decoder)
    for n in range(2, 300):
        out = ddata(decoder, n % 256, [(None, 1, DataType.DOUBLE, float(n))])
        assert out.commands == [], n
    assert decoder.rebirths_requested == 0


def test_a_sequence_gap_requests_a_rebirth_once_and_keeps_the_values():
    decoder = SparkplugDecoder(REGISTRY, SparkplugSpec(rebirth_wait_s=5))
    birth(decoder)
    assert ddata(decoder, 2, [(None, 1, DataType.DOUBLE, 101.0)]).commands == []
    out = ddata(decoder, 5, [(None, 1, DataType.DOUBLE, 104.0)])  # 3 and 4 were lost
    ((topic, payload),) = out.commands
    assert topic == NCMD
    assert rebirth_metric(payload) == (REBIRTH_METRIC, DataType.BOOLEAN, True)
    assert [p.fields for p in out.points] == [{"energy_kwh": 104.0}]
    # a second gap before the node was reborn: not asked again within rebirth_wait_s
    assert ddata(decoder, 9, [(None, 1, DataType.DOUBLE, 105.0)]).commands == []
    assert decoder.rebirths_requested == 1
    birth(decoder)  # the node answers; the next gap is asked again
    assert len(ddata(decoder, 7, [(None, 1, DataType.DOUBLE, 106.0)]).commands) == 1
    assert decoder.rebirths_requested == 2


def test_data_before_any_birth_is_quarantined_and_a_rebirth_requested():
    decoder = SparkplugDecoder(REGISTRY)
    out = ddata(decoder, 17, [(None, 1, DataType.DOUBLE, 101.0), ("power", None, 9, 2.0)])
    assert [c[0] for c in out.commands] == [NCMD]
    (record,) = out.rejected
    assert record.reason == Reason.UNKNOWN_METRIC
    assert "alias 1" in record.detail
    assert [p.fields for p in out.points] == [{"power_kw": 2.0}]  # a named metric needs no BIRTH


def test_ddeath_takes_a_device_offline_and_dbirth_brings_it_back():
    decoder = SparkplugDecoder(REGISTRY)
    birth(decoder)
    out = decoder.decode(
        dev("DDEATH", "tower-a-f05"), new_payload([], timestamp_ms=NOW_MS + 3000, seq=2), NOW_NS
    )
    (state,) = out.points
    assert state.measurement == TELEMETRY
    assert state.tags == {"park": GROUP, "device": "tower-a-f05"}
    assert state.fields == {OFFLINE_FIELD: 1.0}
    assert state.time_ns == NOW_NS + 3 * 10**9
    assert out.commands == []
    back = decoder.decode(
        dev("DBIRTH", "tower-a-f05"),
        new_payload([("energy", 1, DataType.DOUBLE, 100.5)], timestamp_ms=NOW_MS + 9000, seq=3),
        NOW_NS,
    )
    assert [dict(p.fields) for p in back.points] == [{"energy_kwh": 100.5, OFFLINE_FIELD: 0.0}]


def test_ndeath_takes_every_device_of_the_node_offline_unless_it_is_stale():
    decoder = SparkplugDecoder(REGISTRY)
    birth(decoder, bd_seq=4)
    decoder.decode(
        dev("DBIRTH", "tower-a-f06"),
        new_payload([("power", 3, DataType.FLOAT, 1.0)], timestamp_ms=NOW_MS, seq=2),
        RECEIVED_NS,
    )
    stale = decoder.decode(NDEATH, new_payload([("bdSeq", None, DataType.UINT64, 3)]), RECEIVED_NS)
    assert stale.points == []  # the will of the session before: the node is up
    will = new_payload([("bdSeq", None, DataType.UINT64, 4)], timestamp_ms=NOW_MS - 3_600_000)
    out = decoder.decode(NDEATH, will, RECEIVED_NS)
    assert sorted((p.tags["device"], dict(p.fields), p.time_ns) for p in out.points) == [
        ("tower-a-f05", {OFFLINE_FIELD: 1.0}, RECEIVED_NS),  # a will's time is its connect's
        ("tower-a-f06", {OFFLINE_FIELD: 1.0}, RECEIVED_NS),
    ]
    assert out.commands == []  # a DEATH is no gap: NDEATH has no seq


def test_mapped_names_units_and_signed_integers():
    spec = SparkplugSpec(
        groups={"plant-a": GROUP},
        devices={"gw7/Meter 3": "plant-2-main"},
        metrics={
            "Energy/Active Import": MetricSpec(field="energy", unit="Wh"),
            "Power/Active": MetricSpec(field="power", unit="W", scale=10),
        },
    )
    decoder = SparkplugDecoder(REGISTRY, spec)
    decoder.decode(
        "spBv1.0/plant-a/NBIRTH/gw7", new_payload([("bdSeq", None, 8, 0)], seq=0), RECEIVED_NS
    )
    out = decoder.decode(
        "spBv1.0/plant-a/DBIRTH/gw7/Meter 3",
        new_payload(
            [
                ("Energy/Active Import", 1, DataType.UINT64, 2_500_000),
                ("Power/Active", 2, DataType.INT32, -610),  # exporting: negative power
                ("Properties/Serial", 3, DataType.STRING, 0),
            ],
            timestamp_ms=NOW_MS,
            seq=1,
        ),
        RECEIVED_NS,
    )
    (reading,) = out.points
    assert reading.tags == {"park": GROUP, "device": "plant-2-main"}
    assert reading.fields == pytest.approx(
        {"energy_kwh": 2500.0, "power_kw": -6.1, OFFLINE_FIELD: 0.0}, rel=1e-12
    )
    assert out.rejected == []


def test_bad_input_is_quarantined():
    decoder = SparkplugDecoder(REGISTRY)
    birth(decoder)
    (garbage,) = decoder.decode(dev("DDATA", "tower-a-f05"), b"\xff\xff\xff", RECEIVED_NS).rejected
    assert garbage.reason == Reason.MALFORMED_PROTOBUF
    assert garbage.device == "tower-a-f05"
    (unknown,) = ddata(decoder, 2, [("energy", None, DataType.DOUBLE, 1.0)], device="x9").rejected
    assert unknown.reason == Reason.UNKNOWN_DEVICE
    (implausible,) = ddata(decoder, 3, [(None, 1, DataType.DOUBLE, -5.0)]).rejected
    assert implausible.reason == Reason.IMPLAUSIBLE
    (topic,) = decoder.decode("spBv1.0/g/DDATA/n", b"", RECEIVED_NS).rejected
    assert topic.reason == Reason.TOPIC_MISMATCH
    assert decoder.decode(NCMD, b"\x00", RECEIVED_NS).rejected == []  # our own request: ignored
    other = decoder.decode(
        "spBv1.0/nowhere/DDATA/n1/d1", new_payload([("power", None, 9, 1.0)], seq=0), RECEIVED_NS
    )
    ((unknown_park,), commands) = other.rejected, other.commands
    assert unknown_park.reason == Reason.UNKNOWN_PARK
    assert "'nowhere'" in unknown_park.detail
    assert commands == []  # no rebirth asked of a node that is no park's


def test_a_payload_without_a_timestamp_takes_the_arrival_time_and_says_so():
    decoder = SparkplugDecoder(REGISTRY)
    birth(decoder)
    payload = Payload(seq=2)
    payload.metrics.add(alias=2, datatype=DataType.FLOAT, float_value=3.0)
    out = decoder.decode(dev("DDATA", "tower-a-f05"), payload.SerializeToString(), RECEIVED_NS)
    (point,) = out.points
    assert point.time_ns == RECEIVED_NS
    assert point.fields == {"power_kw": 3.0, TIME_FROM_ARRIVAL_FIELD: 1.0}


@pytest.mark.parametrize("kind", ["NBIRTH", "NDATA", "NDEATH", "DBIRTH", "DDATA", "DDEATH"])
@given(payload=st.binary(max_size=120), device=st.sampled_from(["tower-a-f05", "zz", ""]))
@settings(max_examples=60, deadline=None)
def test_fuzz_never_raises(kind, payload, device):
    decoder = SparkplugDecoder(REGISTRY)
    topic = f"spBv1.0/{GROUP}/{kind}/gw1" + (f"/{device}" if kind.startswith("D") else "")
    out = decoder.decode(topic, payload, RECEIVED_NS)
    reasons = {r.value for r in Reason}
    assert all(r.reason in reasons for r in out.rejected)
