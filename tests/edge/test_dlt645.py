"""DL/T 645-2007 frames: known bytes written out with their meaning, and round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge import dlt645
from edge.errors import FrameError

ADDRESS = "000012345678"  # as printed on the meter; travels 78 56 34 12 00 00


def test_read_energy_request_bytes():
    expected = bytes.fromhex(
        "FE FE FE FE"  # wake-up
        " 68 78 56 34 12 00 00 68"  # start, address least significant byte first, start
        " 11 04"  # control 0x11 read data, 4 data bytes
        " 33 33 33 33"  # DI 00 00 00 00 (DI0 first) each + 0x33
        " C5 16"  # checksum: sum of 68 … 33 = 0x2C5 -> C5; end
    )
    assert dlt645.read_data_request(ADDRESS, 0x00000000) == expected


def test_read_voltage_request_carries_the_identifier_di0_first():
    frame = dlt645.read_data_request(ADDRESS, 0x02010100)
    # DI3..DI0 = 02 01 01 00 travels 00 01 01 02, each + 0x33
    assert frame[14:18] == bytes.fromhex("33 34 34 35")
    assert frame[18] == sum(frame[4:18]) & 0xFF


def test_broadcast_read_address_request_bytes():
    # 68 AA*6 68 13 00: 0x68*2 + 0xAA*6 + 0x13 = 0x4DF -> DF
    expected = bytes.fromhex("FE FE FE FE 68 AA AA AA AA AA AA 68 13 00 DF 16")
    assert dlt645.read_address_request() == expected


def test_energy_reply_decodes_to_kwh():
    # reply 0x91 with 8 data bytes: DI 00 00 00 00, then 12345.67 kWh as BCD 00 01 23 45 67
    # least significant first (67 45 23 01), each + 0x33 -> 9A 78 56 34
    body = bytes.fromhex("68 78 56 34 12 00 00 68 91 08 33 33 33 33 9A 78 56 34")
    raw = bytes.fromhex("FE FE") + body + bytes([sum(body) & 0xFF, 0x16])
    frame, end = dlt645.parse_frame(raw)
    assert end == len(raw)
    assert frame == dlt645.Frame(ADDRESS, 0x91, bytes.fromhex("00 00 00 00 67 45 23 01"))
    di = dlt645.DATA_IDS[0x00000000]
    assert dlt645.decode_value(di, frame.data[4:]) == pytest.approx(12345.67, abs=1e-9)


def test_signed_values_keep_the_sign_in_the_top_bit():
    current = dlt645.DATA_IDS[0x02020100]  # XXX.XXX A, signed
    # -1.234 A: digits 001234, top bit of the most significant byte set: 80 12 34, sent 34 12 80
    assert dlt645.encode_value(current, -1.234) == bytes.fromhex("34 12 80")
    assert dlt645.decode_value(current, bytes.fromhex("34 12 80")) == pytest.approx(-1.234)
    power = dlt645.DATA_IDS[0x02030000]  # XX.XXXX kW
    assert dlt645.decode_value(power, bytes.fromhex("45 23 01")) == pytest.approx(1.2345)
    voltage = dlt645.DATA_IDS[0x02010100]  # XXX.X V, unsigned
    assert dlt645.decode_value(voltage, bytes.fromhex("98 22")) == pytest.approx(229.8)


def test_bad_frames_are_refused():
    good = dlt645.read_data_request(ADDRESS, 0)
    with pytest.raises(FrameError, match="checksum"):
        dlt645.parse_frame(good[:-2] + bytes([(good[-2] + 1) & 0xFF, 0x16]))
    with pytest.raises(FrameError, match="ends with 16"):
        dlt645.parse_frame(good[:-1] + b"\x17")
    with pytest.raises(FrameError, match="not BCD"):
        dlt645.decode_value(dlt645.DATA_IDS[0x02010100], bytes.fromhex("9A 22"))
    with pytest.raises(FrameError, match="12 decimal digits"):
        dlt645.read_data_request("12345", 0)
    with pytest.raises(FrameError, match="does not fit"):
        dlt645.encode_value(dlt645.DATA_IDS[0x02010100], 1000.0)  # XXX.X V holds 999.9


def test_partial_and_noisy_input():
    good = dlt645.read_data_request(ADDRESS, 0)
    assert dlt645.parse_frame(good[:12]) == (None, 0)  # wait for more
    frame, end = dlt645.parse_frame(b"\x00\x01" + good)  # line noise before the frame
    assert frame is None
    assert end == 6
    frame, end = dlt645.parse_frame((b"\x00\x01" + good)[end:])
    assert frame is not None
    assert frame.address == ADDRESS


addresses = st.text("0123456789", min_size=12, max_size=12)


@given(addresses, st.integers(0, 255), st.binary(max_size=200), st.integers(0, 4))
def test_frames_round_trip(address: str, control: int, data: bytes, wake_up: int):
    frame = dlt645.Frame(address, control, data)
    raw = dlt645.encode_frame(frame, wake_up=wake_up)
    assert dlt645.parse_frame(raw) == (frame, len(raw))


@given(st.sampled_from(sorted(dlt645.DATA_IDS)), st.data())
def test_values_round_trip(code: int, data: st.DataObject):
    di = dlt645.DATA_IDS[code]
    top = 10 ** (di.digits - (1 if di.signed else 0)) * (8 if di.signed else 1) - 1
    scaled = data.draw(st.integers(-top if di.signed else 0, top))
    value = scaled / 10**di.decimals
    assert dlt645.decode_value(di, dlt645.encode_value(di, value)) == pytest.approx(value)
