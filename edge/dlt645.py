"""DL/T 645-2007 (多功能电能表通信协议), the frames a Chinese electricity meter speaks on RS-485.

A frame is ``68 A0..A5 68 C L DATA CS 16``, optionally led by up to four wake-up bytes ``FE``:

- ``A0..A5`` the meter's address, 12 BCD digits, least significant byte first (the address
  printed on the meter ``123456789012`` travels as ``12 90 78 56 34 12``); ``AA`` in every byte
  is the broadcast (wildcard) address;
- ``C`` the control code: ``0x11`` read data, ``0x91`` its normal reply, ``0xD1`` its abnormal
  reply (one error byte); ``0x13`` read the communication address, ``0x93`` its reply;
- ``L`` the length of ``DATA``; every data byte travels plus ``0x33`` (mod 256);
- ``CS`` the sum, mod 256, of every byte from the first ``68`` to the end of ``DATA``.

Values are BCD, least significant byte first; a signed format keeps its sign in the top bit of
the most significant byte. A data identifier (DI) ``DI3 DI2 DI1 DI0`` travels ``DI0`` first.

Why our own codec: the PyPI package ``dlt645`` (3.2.0, "Beta") was read. Its framing is sound,
but it ships no type information (``mypy --strict`` here), pulls in ``loguru`` (and removes
loguru's default handler when imported), and its tables have slips (02 06 00 00, the power
factor, carries the unit kW); the agent needs the four functions below. The constants follow
DL/T 645-2007 as restated by that package's tables (second-hand: the standard's text is not in
our sources).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from edge.errors import FrameError

__all__ = [
    "BROADCAST_ADDRESS",
    "DATA_IDS",
    "READ_ADDRESS",
    "READ_ADDRESS_REPLY",
    "READ_DATA",
    "READ_DATA_ERROR",
    "READ_DATA_REPLY",
    "DataId",
    "Frame",
    "decode_value",
    "encode_frame",
    "encode_value",
    "parse_frame",
    "read_address_request",
    "read_data_request",
]

START = 0x68
END = 0x16
WAKE_UP = 0xFE
OFFSET = 0x33
READ_DATA = 0x11
READ_DATA_REPLY = 0x91
READ_DATA_ERROR = 0xD1
READ_ADDRESS = 0x13
READ_ADDRESS_REPLY = 0x93
BROADCAST_ADDRESS = "AAAAAAAAAAAA"
_ADDRESS = re.compile(r"^[0-9]{12}$|^A{12}$")
_HEADER = 10  # 68 A0..A5 68 C L
_MAX_WAKE_UP = 4


@dataclass(frozen=True, slots=True)
class DataId:
    """A data identifier: its code, name, BCD digits and decimals, sign and unit."""

    code: int
    name: str
    digits: int  # BCD digits on the wire (two per byte)
    decimals: int
    signed: bool
    unit: str

    @property
    def size(self) -> int:
        """Bytes of the value on the wire."""
        return self.digits // 2


DATA_IDS: dict[int, DataId] = {
    d.code: d
    for d in (
        # format XXXXXX.XX kWh (DL/T 645-2007 appendix A, table A.1)
        DataId(0x00000000, "combined active energy, total", 8, 2, False, "kWh"),
        DataId(0x00010000, "forward active energy, total", 8, 2, False, "kWh"),
        DataId(0x00020000, "reverse active energy, total", 8, 2, False, "kWh"),
        # instantaneous values (table A.3): XXX.X V, XXX.XXX A, XX.XXXX kW, X.XXX
        DataId(0x02010100, "phase A voltage", 4, 1, False, "V"),
        DataId(0x02020100, "phase A current", 6, 3, True, "A"),
        DataId(0x02030000, "total active power", 6, 4, True, "kW"),
        DataId(0x02060000, "total power factor", 4, 3, True, "1"),
    )
}


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame: the address as printed on the meter (12 digits, or ``AAAAAAAAAAAA``), the
    control code and the data as meant (the ``+0x33`` already removed)."""

    address: str
    control: int
    data: bytes = b""


def _address_bytes(address: str) -> bytes:
    if not _ADDRESS.match(address):
        raise FrameError(f"a meter address is 12 decimal digits (or AAAAAAAAAAAA), got {address!r}")
    return bytes.fromhex(address)[::-1]


def encode_frame(frame: Frame, *, wake_up: int = _MAX_WAKE_UP) -> bytes:
    """The bytes of ``frame`` on the wire, led by ``wake_up`` bytes ``FE`` (0…4)."""
    if not 0 <= frame.control <= 0xFF:
        raise FrameError(f"a control code is one byte, got {frame.control}")
    if len(frame.data) > 0xFF:
        raise FrameError(f"a frame holds at most 255 data bytes, got {len(frame.data)}")
    if not 0 <= wake_up <= _MAX_WAKE_UP:
        raise FrameError(f"0 to 4 wake-up bytes, got {wake_up}")
    body = bytes(
        [START, *_address_bytes(frame.address), START, frame.control, len(frame.data)]
    ) + bytes((b + OFFSET) & 0xFF for b in frame.data)
    return bytes([WAKE_UP] * wake_up) + body + bytes([sum(body) & 0xFF, END])


def parse_frame(buffer: bytes) -> tuple[Frame | None, int]:
    """The first whole frame in ``buffer`` and the bytes it ends at, or ``(None, n)`` when no
    whole frame is there yet (``n`` bytes before a possible frame start may be dropped).

    Raises :class:`FrameError` for a frame whose checksum, end byte or address is wrong.
    """
    start = 0
    while start < len(buffer) and buffer[start] == WAKE_UP:
        start += 1
    if start < len(buffer) and buffer[start] != START:
        nxt = buffer.find(bytes([START]), start)
        return None, (nxt if nxt >= 0 else len(buffer))
    if len(buffer) - start < _HEADER:
        return None, 0
    if buffer[start + 7] != START:
        raise FrameError(f"no second 68 at byte {start + 7}: {buffer[start : start + 10].hex(' ')}")
    length = buffer[start + 9]
    end = start + _HEADER + length + 2
    if len(buffer) < end:
        return None, 0
    body = buffer[start : end - 2]
    if sum(body) & 0xFF != buffer[end - 2]:
        raise FrameError(
            f"checksum {buffer[end - 2]:02X} but the bytes sum to {sum(body) & 0xFF:02X}"
        )
    if buffer[end - 1] != END:
        raise FrameError(f"a frame ends with 16, got {buffer[end - 1]:02X}")
    address = body[1:7][::-1].hex().upper()
    if not _ADDRESS.match(address):
        raise FrameError(f"the address {address} is not 12 BCD digits")
    data = bytes((b - OFFSET) & 0xFF for b in body[_HEADER:])
    return Frame(address, body[8], data), end


def read_data_request(address: str, di: int) -> bytes:
    """A read-data request (control 0x11) for data identifier ``di`` of the meter ``address``."""
    return encode_frame(Frame(address, READ_DATA, di.to_bytes(4, "little")))


def read_address_request() -> bytes:
    """A read-address request (control 0x13) to the broadcast address: the one meter on the
    line answers with its address (address discovery; with several meters they collide)."""
    return encode_frame(Frame(BROADCAST_ADDRESS, READ_ADDRESS))


def decode_value(di: DataId, raw: bytes) -> float:
    """The value of ``raw`` (BCD, least significant byte first) in ``di``'s unit."""
    if len(raw) != di.size:
        raise FrameError(f"{di.name} takes {di.size} bytes, got {len(raw)}")
    big = bytearray(raw[::-1])
    negative = di.signed and bool(big[0] & 0x80)
    if di.signed:
        big[0] &= 0x7F
    digits = big.hex()
    if not digits.isdigit():
        raise FrameError(f"{di.name}: {raw.hex(' ')} is not BCD")
    value = int(digits) / 10.0**di.decimals
    return -value if negative else value


def encode_value(di: DataId, value: float) -> bytes:
    """``value`` in ``di``'s format (rounded to its decimals); the inverse of
    :func:`decode_value`. Raises :class:`FrameError` when it does not fit."""
    scaled = round(abs(value) * 10**di.decimals)
    digits = f"{scaled:0{di.digits}d}"
    if (
        len(digits) > di.digits
        or (di.signed and digits[0] > "7")
        or (value < 0 < scaled and not di.signed)
    ):
        raise FrameError(
            f"{value} does not fit {di.name} ({di.digits} BCD digits, {di.decimals} decimals)"
        )
    big = bytearray(bytes.fromhex(digits))
    if di.signed and value < 0 and scaled:
        big[0] |= 0x80
    return bytes(big[::-1])
