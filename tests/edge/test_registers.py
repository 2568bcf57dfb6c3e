"""Register words → numbers for every data type and word order; the shipped maps."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.errors import EdgeConfigError
from edge.meter_maps import MAX_REGISTERS_PER_READ, ModbusMap, builtin_maps, load_map
from edge.registers import decode_words, encode_value


@pytest.mark.parametrize(
    ("words", "data_type", "order", "value"),
    [
        ([0x4366, 0x8000], "float32", "big", 230.5),  # 0x43668000 = 230.5 (IEEE 754)
        ([0x8000, 0x4366], "float32", "little", 230.5),  # the same, low word first ("CDAB")
        ([0x1234, 0x5678], "uint32", "big", 0x12345678),
        ([0x5678, 0x1234], "uint32", "little", 0x12345678),
        ([0xFFFF, 0xFFFE], "int32", "big", -2),
        ([0xFFFE, 0xFFFF], "int32", "little", -2),
        ([0xFFFF], "int16", "big", -1),
        ([0xFFFF], "uint16", "little", 65535),  # one word: order does not matter
    ],
)
def test_known_words(words, data_type, order, value):
    assert decode_words(words, data_type, order) == value
    assert encode_value(value, data_type, order) == words


def test_nan_is_returned_for_the_caller_to_drop():
    assert math.isnan(decode_words([0x7FC0, 0x0000], "float32", "big"))


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="spans 2 registers"):
        decode_words([1], "float32", "big")
    with pytest.raises(ValueError, match="0…65535"):
        decode_words([70000], "uint16", "big")
    with pytest.raises(ValueError, match="word order"):
        decode_words([1, 2], "uint32", "middle")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="does not fit"):
        encode_value(70000, "uint16", "big")


_RANGES = {
    "uint16": st.integers(0, 0xFFFF),
    "int16": st.integers(-0x8000, 0x7FFF),
    "uint32": st.integers(0, 0xFFFFFFFF),
    "int32": st.integers(-0x80000000, 0x7FFFFFFF),
    "float32": st.floats(width=32, allow_nan=False),
}


@given(st.sampled_from(sorted(_RANGES)), st.sampled_from(["big", "little"]), st.data())
def test_round_trip(data_type, order, data):
    value = data.draw(_RANGES[data_type])
    words = encode_value(value, data_type, order)
    assert decode_words(words, data_type, order) == value


def test_word_orders_differ_only_by_word_swap():
    words = encode_value(1234.5, "float32", "big")
    assert decode_words(words[::-1], "float32", "little") == 1234.5
    assert decode_words(words[::-1], "float32", "big") != 1234.5


def test_shipped_maps_cite_their_sources():
    maps = builtin_maps()
    assert {"chint-dtsu666", "acrel-adw300", "dlt645-2007"} <= set(maps)
    for meter_map in maps.values():
        for name, entry in meter_map.fields.items():
            keys = {k.strip() for k in entry.source.split(",")}
            assert keys <= set(meter_map.sources), name
            assert entry.evidence in {"S", "U"}  # no map here was checked against a manual


def test_dtsu666_reads_cover_every_field_within_the_modbus_limit():
    dtsu = builtin_maps()["chint-dtsu666"]
    assert isinstance(dtsu, ModbusMap)
    blocks = dtsu.blocks()
    assert [(b.start, b.count) for b in blocks] == [(0x101E, 12), (0x2000, 44)]
    covered = {name for b in blocks for name in b.fields}
    assert covered == set(dtsu.fields)
    for block in blocks:
        assert block.count <= MAX_REGISTERS_PER_READ
        for name in block.fields:
            entry = dtsu.fields[name]
            assert block.start <= entry.address
            assert entry.address + entry.words <= block.end


def test_power_from_a_dtsu666_register(tmp_path: Path):
    # Pt is float32 in 0.1 W: 30100.0 -> 3.01 kW
    dtsu = builtin_maps()["chint-dtsu666"]
    raw = decode_words(
        [int.from_bytes(struct.pack(">f", 30100.0)[i : i + 2], "big") for i in (0, 2)],
        "float32",
        "big",
    )
    assert raw * dtsu.fields["power"].scale == pytest.approx(3.01)


def test_a_bad_map_is_reported_at_its_line(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nprotocol: modbus\nvendor: x\nmodel: y\nfunction: holding\n"
        "word_order: big\nsources: {A: a manual}\nfields:\n"
        "  power:\n    address: 10\n    type: float32\n    scale: 1\n"
        "    unit: W\n"  # line 13: the registry publishes power in kW
        "    ratio: ct_pt\n    source: A\n    evidence: S\n    scale_evidence: S\n",
        encoding="utf-8",
    )
    with pytest.raises(EdgeConfigError) as caught:
        load_map("bad.yaml", tmp_path)
    assert [str(p) for p in caught.value.problems] == [
        f"{bad}:13: 'power' is published in kW, the map gives W"
    ]
