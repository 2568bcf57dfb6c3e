"""Payload mappings: the shipped ones against their corpus, the file's validation, the paths."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import jsonpath
import orjson
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from config.registry import load_registry
from ingest.collector import Router
from ingest.decode import TIME_FROM_ARRIVAL_FIELD, Decoder, Reason
from ingest.mapping import (
    MISSING,
    JsonPath,
    MappingDecoder,
    MappingError,
    TopicFilter,
    load_mappings,
    shipped_mappings_path,
)

CORPUS = Path(__file__).parent.parent / "data" / "mappings"
REGISTRY = load_registry()
SHIPPED = load_mappings(shipped_mappings_path(), registry=REGISTRY)
NOW_S = time.time_ns() // 10**9 - 60  # whole seconds: every time format can say it exactly
NOW_NS = NOW_S * 10**9
RECEIVED_NS = NOW_NS + 60 * 10**9 + 123  # the broker's arrival time


def _fill(text: str) -> bytes:
    now = datetime.fromtimestamp(NOW_S, UTC)
    return (
        text.replace("NOW_MS", str(NOW_S * 1000))
        .replace("NOW_S", str(NOW_S))
        .replace("NOW_ISO", now.astimezone(timezone(timedelta(hours=8))).isoformat())
        .replace("NOW_UTC", now.strftime("%Y-%m-%dT%H:%M:%SZ"))
        .replace(
            "NOW_LOCAL",
            now.astimezone(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None).isoformat(),
        )
        .encode()
    )


def _cases() -> list[tuple[str, dict[str, object]]]:
    out = []
    for file in sorted(CORPUS.glob("*.yaml")):
        out.extend((file.stem, case) for case in yaml.safe_load(file.read_text()))
    return out


def _decoder(mapping_id: str) -> MappingDecoder:
    (spec,) = [m for m in SHIPPED.mappings if m.id == mapping_id]
    return MappingDecoder(spec, REGISTRY)


def test_every_shipped_mapping_has_a_corpus_with_good_and_bad_payloads():
    by_mapping: dict[str, set[str]] = {}
    for mapping_id, case in _cases():
        by_mapping.setdefault(mapping_id, set()).add("good" if case.get("stored") else "bad")
    assert by_mapping == {m.id: {"good", "bad"} for m in SHIPPED.mappings}


@pytest.mark.parametrize(("mapping_id", "case"), _cases(), ids=lambda c: str(c)[:60])
def test_corpus_case(mapping_id, case):
    decoder = _decoder(mapping_id)
    assert decoder.filter.matches(case["topic"])
    out = decoder.decode(case["topic"], _fill(case["payload"]), RECEIVED_NS)
    got = [
        {
            "device": p.tags["device"],
            "time": {NOW_NS: "now", RECEIVED_NS: "arrival"}.get(p.time_ns, p.time_ns),
            "fields": dict(p.fields),
        }
        for p in out.points
    ]
    assert got == case.get("stored", [])
    for point in out.points:
        assert point.tags["park"] == "wuhan-demo"
    expected = case.get("rejected", [])
    assert [r.reason for r in out.rejected] == [e["reason"] for e in expected]
    for record, want in zip(out.rejected, expected, strict=True):
        assert record.detail.startswith(f"mapping {mapping_id!r}: ")
        assert want["path"] in record.detail
        assert record.extra == {"mapping": mapping_id}
        assert record.topic == case["topic"]
        assert record.received_ns == RECEIVED_NS


def test_units_scale_and_multiplier_are_applied_once(tmp_path):
    file = tmp_path / "m.yaml"
    file.write_text(
        """
mappings:
  - id: tenths
    topic: x/+/y
    park: wuhan-demo
    device: {topic: 1}
    time: {path: $.t, format: epoch_us}
    values:
      - {path: $.e, field: energy, unit: Wh, scale: 0.1}   # a register in tenths of a Wh
      - {path: $.p, field: power, unit: W}
"""
    )
    (spec,) = load_mappings(file, registry=REGISTRY).mappings
    out = MappingDecoder(spec, REGISTRY).decode(
        "x/grid-main/y", orjson.dumps({"t": NOW_S * 10**6, "e": 123_456, "p": 2500}), RECEIVED_NS
    )
    (point,) = out.points
    assert point.fields == pytest.approx({"energy_kwh": 12.3456, "power_kw": 2.5}, rel=1e-12)
    assert point.time_ns == NOW_NS


def test_arrival_time_is_used_and_flagged(tmp_path):
    file = tmp_path / "m.yaml"
    file.write_text(
        """
mappings:
  - id: no-clock
    topic: meters/+/now
    park: wuhan-demo
    device: {topic: 1}
    time: {format: arrival}
    values: [{path: $.kw, field: power}]
  - id: sometimes-a-clock
    topic: meters/+/maybe
    park: wuhan-demo
    device: {topic: 1}
    time: {path: $.ts, format: epoch_s, if_missing: arrival}
    values: [{path: $.kw, field: power}]
"""
    )
    first, second = load_mappings(file, registry=REGISTRY).mappings
    out = MappingDecoder(first, REGISTRY).decode("meters/grid-main/now", b'{"kw": 5}', NOW_NS)
    (point,) = out.points
    assert point.time_ns == NOW_NS
    assert point.fields == {"power_kw": 5.0, TIME_FROM_ARRIVAL_FIELD: 1.0}
    decoder = MappingDecoder(second, REGISTRY)
    (flagged,) = decoder.decode("meters/grid-main/maybe", b'{"kw": 5}', NOW_NS).points
    assert flagged.fields[TIME_FROM_ARRIVAL_FIELD] == 1.0
    payload = orjson.dumps({"kw": 5, "ts": NOW_S - 30})
    (timed,) = decoder.decode("meters/grid-main/maybe", payload, NOW_NS).points
    assert timed.time_ns == NOW_NS - 30 * 10**9
    assert TIME_FROM_ARRIVAL_FIELD not in timed.fields


def test_router_sends_mapped_topics_to_their_mapping_and_the_rest_to_the_native_decoder():
    native = Decoder(REGISTRY, topic_template="parks/{park}/devices/{device}/telemetry")
    router = Router(native, SHIPPED)
    assert router.subscriptions[0] == "parks/+/devices/+/telemetry"
    assert {"gw/+/meters", "v1/gateway/telemetry", "tele/+/SENSOR"} <= set(router.subscriptions)
    assert "spBv1.0/+/DDATA/+/+" in router.subscriptions
    payload = orjson.dumps({"Time": "2026-01-01T00:00:00", "ENERGY": {"Power": 1}})
    (mapped,) = router.decode("tele/tower-a-f01/SENSOR", payload, RECEIVED_NS).rejected
    assert mapped.extra == {"mapping": "tasmota-energy"}
    native_payload = orjson.dumps({"ts": NOW_S * 1000, "power": 5})
    out = router.decode("parks/wuhan-demo/devices/grid-main/telemetry", native_payload, NOW_NS)
    assert [p.fields for p in out.points] == [{"power_kw": 5.0}]
    (other,) = router.decode("tele/x/STATE", b"{}", NOW_NS).rejected
    assert other.reason == Reason.TOPIC_MISMATCH
    long_topic = "tele/" + "x" * 600 + "/SENSOR"  # matches tele/+/SENSOR, but is too long
    (too_long,) = router.decode(long_topic, payload, NOW_NS).rejected
    assert too_long.reason == Reason.TOPIC_TOO_LONG


# -- the file's validation --

_GOOD = """\
mappings:
  - id: m1
    topic: a/+/b
    park: wuhan-demo
    device: {topic: 1}
    time: {path: $.t, format: epoch_ms}
    values:
      - {path: $.e, field: energy, unit: kWh}
"""


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("topic: a/+/b", "topic: a/#/b", 3, "'#' must be the last level"),
        ("topic: a/+/b", "topic: a/b+", 3, "a wildcard must fill a whole level"),
        ("device: {topic: 1}", "device: {topic: 3}", 5, "topic level 3 is not a level"),
        ("device: {topic: 1}", "device: {path: $.d, value: x}", 5, "exactly one of"),
        ("device: {topic: 1}", "device: {path: 'd'}", 5, "must start with '$'"),
        ("device: {topic: 1}", "device: {path: '$.a[*]'}", 5, "only readings may have one"),
        ("device: {topic: 1}", "device: {key: 0}", 5, "key 0 is beyond"),
        ("format: epoch_ms", "format: epoch_ns", 6, "epoch_ms"),
        ("{path: $.t, format: epoch_ms}", "{format: arrival, path: $.t}", 6, "takes no path"),
        ("field: energy, unit: kWh", "field: enrgy, unit: kWh", 8, "'enrgy' is no registry"),
        ("field: energy, unit: kWh", "field: energy, unit: kW", 8, "unknown energy unit 'kW'"),
        ("$.e, field", "'$.e..x', field", 8, "cannot read"),
        (
            "{path: $.e, field: energy, unit: kWh}",
            "{path: $.e, field: energy}\n      - {path: $.f, field: energy}",
            9,
            "mapped twice",
        ),
        (
            "values:\n      - {path: $.e, field: energy, unit: kWh}\n",
            "values: []\n",
            7,
            "at least one",
        ),
        ("park: wuhan-demo", "park: nowhere", 4, "park 'nowhere' is not in the registry"),
        ("  - id: m1", "  - id: M1", 2, "id"),
    ],
)
def test_a_bad_mapping_file_is_refused_with_file_and_line(tmp_path, old, new, line, message):
    assert old in _GOOD
    file = tmp_path / "bad.yaml"
    file.write_text(_GOOD.replace(old, new))
    with pytest.raises(MappingError) as info:
        load_mappings(file, registry=REGISTRY)
    (problem,) = info.value.problems
    assert problem.file == str(file)
    assert problem.line == line
    assert message in problem.message


def test_duplicate_ids_across_files_and_a_devices_table_naming_no_device(tmp_path):
    (tmp_path / "a.yaml").write_text(_GOOD)
    (tmp_path / "b.yaml").write_text(_GOOD + "    devices: {Meter 1: tower-z}\n")
    with pytest.raises(MappingError) as info:
        load_mappings(tmp_path, registry=REGISTRY)
    assert [(Path(p.file).name, p.line) for p in info.value.problems] == [
        ("b.yaml", 2),
        ("b.yaml", 9),
    ]
    assert "already in" in info.value.problems[0].message
    assert "'tower-z', not a device of park 'wuhan-demo'" in info.value.problems[1].message


def test_the_yaml_loader_guards_apply(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n"
        for p, c in zip("abcdefg", "bcdefgh", strict=True)
    )
    (tmp_path / "bomb.yaml").write_text(bomb)
    with pytest.raises(MappingError, match="alias"):
        load_mappings(tmp_path / "bomb.yaml")
    with pytest.raises(MappingError, match="mapping file not found"):
        load_mappings(tmp_path / "nothing.yaml")


# -- paths and filters --


@pytest.mark.parametrize(
    ("filter_", "topic", "matches"),
    [
        ("tele/+/SENSOR", "tele/plug/SENSOR", True),
        ("tele/+/SENSOR", "tele/plug/STATE", False),
        ("tele/+/SENSOR", "tele/a/b/SENSOR", False),
        ("tele/+/SENSOR", "tele//SENSOR", True),  # '+' matches an empty level (MQTT 3.1.1)
        ("a/#", "a", True),
        ("a/#", "a/b/c", True),
        ("a/#", "ab", False),
        ("#", "$SYS/broker", False),  # wildcards first never match $ topics
        ("v1/gateway/telemetry", "v1/gateway/telemetry", True),
        ("v1/gateway/telemetry", "v1/gateway/telemetryx", False),
        ("a.b/+", "aXb/c", False),  # a literal dot is no regex
    ],
)
def test_topic_filter(filter_, topic, matches):
    assert TopicFilter(filter_).matches(topic) is matches


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.sampled_from("abc"), kids),
    max_leaves=12,
)
_PATHS = ["$", "$.a", "$.a.b", "$['b'][0]", "$.a[-1]", "$.*", "$.a[*]", "$.*[*]", "$.*.c", "$[1]"]


# a top-level object or array, as payloads are: python-jsonpath parses a str document as JSON
# text (so "0" would become 0), which is the reference library's convention, not a payload's
@given(doc=_json.filter(lambda d: isinstance(d, dict | list)))
@settings(max_examples=300, deadline=None)
def test_paths_agree_with_python_jsonpath(doc):
    for text in _PATHS:
        ours = [value for _loc, value in JsonPath(text).each(doc)]
        assert ours == jsonpath.findall(text, doc), text
        assert JsonPath(text).get(doc) == (ours[0] if ours else MISSING)


# -- fuzz: never raises, everything bad is quarantined with a reason naming the mapping --

_int64 = st.integers(-(2**63), 2**63 - 1)
_payloads = st.one_of(
    st.binary(max_size=200),
    _json.map(orjson.dumps),
    st.fixed_dictionaries(
        {
            "Time": st.one_of(st.text(max_size=25), _int64, st.floats()),
            "ENERGY": st.dictionaries(
                st.sampled_from(["Total", "Power", "Factor", "Current"]),
                st.one_of(st.floats(), _int64, st.text(max_size=3), st.none()),
            ),
        }
    ).map(orjson.dumps),
    st.dictionaries(
        st.sampled_from(["Tower A F01", "tower-a-f02", "x"]),
        st.lists(
            st.fixed_dictionaries(
                {
                    "ts": st.one_of(_int64, st.floats(allow_nan=False), st.text(max_size=5)),
                    "values": st.dictionaries(
                        st.sampled_from(["energy", "power"]), st.one_of(st.floats(), _int64)
                    ),
                }
            ),
            max_size=3,
        ),
    ).map(orjson.dumps),
    st.fixed_dictionaries(
        {
            "meter": st.sampled_from(["grid-main", "bess-1", "nope", ""]),
            "time": st.one_of(st.text(max_size=30), st.datetimes().map(lambda d: d.isoformat())),
            "kwh": st.one_of(st.floats(), _int64, st.booleans()),
        }
    ).map(orjson.dumps),
)
_REASONS = {r.value for r in Reason}


@given(
    index=st.integers(0, len(SHIPPED.mappings) - 1), payload=_payloads, level=st.text(max_size=8)
)
@settings(max_examples=400, deadline=None)
def test_fuzz_a_mapping_never_raises_and_names_itself(index, payload, level):
    spec = SHIPPED.mappings[index]
    topic = spec.topic.replace("+", level.replace("/", "") or "x")
    out = MappingDecoder(spec, REGISTRY).decode(topic, payload, RECEIVED_NS)
    for record in out.rejected:
        assert record.reason in _REASONS
        assert record.detail.startswith(f"mapping {spec.id!r}: ")
    for point in out.points:
        assert point.tags["park"] == "wuhan-demo"
        assert REGISTRY.device("wuhan-demo", point.tags["device"]) is not None
    assert out.points or out.rejected  # every message leaves a trace
