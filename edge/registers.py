"""Modbus register words → numbers, and back: the data types and word orders meters use.

A Modbus register is a 16-bit word sent high byte first (Modbus Application Protocol v1.1b3,
§4.2). Values wider than a word span consecutive registers, and the standard leaves their order
open: ``big`` puts the most significant word first (the "ABCD" order of most Chinese meters'
manuals), ``little`` the least significant first ("CDAB", "word-swapped").
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from typing import Literal, get_args

__all__ = ["WORDS", "DataType", "WordOrder", "decode_words", "encode_value"]

DataType = Literal["uint16", "int16", "uint32", "int32", "float32"]
WordOrder = Literal["big", "little"]

WORDS: dict[DataType, int] = {"uint16": 1, "int16": 1, "uint32": 2, "int32": 2, "float32": 2}
"""Registers (16-bit words) each data type spans."""

_STRUCT: dict[DataType, str] = {
    "uint16": ">H",
    "int16": ">h",
    "uint32": ">I",
    "int32": ">i",
    "float32": ">f",
}


def _check(data_type: str, word_order: str) -> None:
    if data_type not in WORDS:
        raise ValueError(f"unknown data type {data_type!r}; one of {', '.join(WORDS)}")
    if word_order not in get_args(WordOrder):
        raise ValueError(f"unknown word order {word_order!r}; big or little")


def decode_words(words: Sequence[int], data_type: DataType, word_order: WordOrder) -> float:
    """The number that ``words`` (register values, 0…65535 each) hold as ``data_type``.

    Raises :class:`ValueError` for a wrong word count or a word out of range. A float32 NaN or
    infinity is returned as it is; the caller decides (the agent publishes no value for it).
    """
    _check(data_type, word_order)
    count = WORDS[data_type]
    if len(words) != count:
        raise ValueError(f"{data_type} spans {count} registers, got {len(words)}")
    if any(not 0 <= w <= 0xFFFF for w in words):
        raise ValueError(f"a register holds 0…65535, got {list(words)}")
    ordered = list(words) if word_order == "big" else list(reversed(words))
    raw = b"".join(w.to_bytes(2, "big") for w in ordered)
    value = struct.unpack(_STRUCT[data_type], raw)[0]
    return float(value)


def encode_value(value: float, data_type: DataType, word_order: WordOrder) -> list[int]:
    """The register words that hold ``value`` as ``data_type`` (the inverse of
    :func:`decode_words`; integer types need an integral ``value`` in range)."""
    _check(data_type, word_order)
    if data_type == "float32":
        raw = struct.pack(">f", value)
    else:
        if not math.isfinite(value) or value != int(value):
            raise ValueError(f"{data_type} holds integers, got {value!r}")
        try:
            raw = struct.pack(_STRUCT[data_type], int(value))
        except struct.error:
            raise ValueError(f"{value!r} does not fit in {data_type}") from None
    words = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    return words if word_order == "big" else list(reversed(words))
