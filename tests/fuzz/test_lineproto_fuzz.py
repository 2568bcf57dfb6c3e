"""Fuzzing the line-protocol encoder against a real influxd.

For any tag values, field names and finite values (unicode, spaces, commas, equals signs, quotes,
backslashes, newlines, control characters), a point is either refused with a ``ValueError`` before
anything is sent, or written and read back exactly: same park, device, field and value.
"""

from __future__ import annotations

import itertools
import math
import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from store import InfluxStore, Point
from store.base import TELEMETRY, QuarantineRecord, SeriesQuery, SeriesRow
from store.lineproto import encode_point, escape_tag
from tests.fuzz.support import budget

pytestmark = pytest.mark.influxdb

_SPECIAL = [",", "=", " ", '"', "'", "\\", "\n", "\r", "\t", "\x00", "#", "é", "电", "😀", "\u2028"]
names = st.text(
    alphabet=st.one_of(
        st.sampled_from(_SPECIAL),
        st.characters(codec="utf-8"),
        st.sampled_from("abcxyz019_-."),
    ),
    min_size=0,
    max_size=16,
)
values = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(2**53), max_value=2**53).map(float),
)

_clock = itertools.count(1_700_000_000_000_000_000, 1_000)


def _point(park: str, device: str, field: str, value: float, time_ns: int) -> Point:
    return Point(TELEMETRY, {"park": park, "device": device}, {field: value}, time_ns)


def _refusal(park: str, device: str, field: str, value: float) -> str | None:
    """Why the encoder refuses this point (before anything is sent), or None."""
    try:
        encode_point(_point(park, device, field, value, 1)).encode("utf-8")
    except ValueError as exc:
        return str(exc)
    return None


@budget(50)
@given(park=names, device=names, field=names, value=values)
@example(park="a\\,b", device="d", field="kw", value=1.0)  # a backslash before a comma
@example(park="p", device="a\\ b", field="kw", value=1.0)  # ... before a space
@example(park="p", device="d", field="k\\=w", value=1.0)  # ... before an equals sign
@example(park="p", device="d", field="", value=1.0)  # an empty field name: influxd said 400
@example(park="", device="d", field="kw", value=1.0)  # an empty tag value
@example(park="p", device="d", field="\x00", value=0.0)  # NUL: written, never readable
@example(park="p", device="d", field="\t", value=0.0)  # a leading tab: stored as ""
@example(park="p\t", device="\tq", field="k\tw", value=0.0)  # tabs elsewhere are kept
@example(park="p", device="d", field="kw", value=5e-324)
@example(park="p", device="d", field="kw", value=-1.7976931348623157e308)
def test_a_point_round_trips_through_influxd_or_is_refused_before_sending(
    influx_store: InfluxStore, park: str, device: str, field: str, value: float
) -> None:
    time_ns = next(_clock)
    why = _refusal(park, device, field, value)
    if why is not None:
        assert why  # a message that says what is wrong
        with pytest.raises(ValueError, match=re.escape(why)):
            influx_store.write([_point(park, device, field, value, time_ns)])
        return
    influx_store.write([_point(park, device, field, value, time_ns)])
    rows = influx_store.series(SeriesQuery(park, device, field, time_ns, time_ns + 1))
    assert rows == [SeriesRow(time_ns, value)]
    assert math.copysign(1.0, rows[0].value) == math.copysign(1.0, value) or value == 0.0


@pytest.mark.parametrize("text", ["a\\", "x\ny", "", "a\x00b"])
def test_tags_line_protocol_cannot_carry_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"newline|backslash|empty|NUL"):
        escape_tag(text)


@budget(30)
@given(device=names.filter(bool))
@example(device="x\\,y")  # a topic's device with a backslash before a comma
@example(device="x\\ y\\")
def test_any_quarantined_device_name_is_written(influx_store: InfluxStore, device: str) -> None:
    """The quarantine keeps whatever a topic said; its tags are made writable, never refused."""
    time_ns = next(_clock)
    record = QuarantineRecord(
        received_ns=time_ns,
        reason="unknown_device",
        detail="fuzz",
        topic=f"parks/p/devices/{device}/telemetry",
        excerpt="{}",
        park="fuzz-park",
        device=device,
    )
    influx_store.write_quarantine([record])
    got = [r for r in influx_store.quarantined(park="fuzz-park") if r.received_ns == time_ns]
    assert [r.topic for r in got] == [record.topic]


def test_a_nul_in_a_name_is_refused_before_writing() -> None:
    """Found by the round trip: influxd stored a field named "\\x00", then every InfluxQL query
    naming it failed (NUL ends an InfluxQL statement)."""
    for park, device, field in [("p\x00", "d", "kw"), ("p", "d\x00", "kw"), ("p", "d", "\x00")]:
        assert _refusal(park, device, field, 1.0) is not None
