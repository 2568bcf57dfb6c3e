"""Line protocol and InfluxQL quoting: known strings, refusals, and a round trip through influxd."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store import LatestReading, Point
from store.lineproto import (
    encode_point,
    encode_points,
    encode_string_fields,
    escape_measurement,
    escape_tag,
    quote_ident,
    quote_string,
    string_field,
)


def point(fields=None, time_ns=1_700_000_000_000_000_000, **tags):
    return Point(
        "telemetry", {"park": "p1", "device": "m1", **tags}, fields or {"kw": 1.5}, time_ns
    )


# --- known strings (InfluxDB 1.x line protocol reference) ---------------------------------------


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain", "plain"),
        ("a,b", r"a\,b"),
        ("a b", r"a\ b"),
        ("a=b", r"a\=b"),
        ('"hi"', '"hi"'),  # quotes need no escape in tags
        ("it's", "it's"),
        ("back\\slash", "back\\slash"),
        ("ünï €", r"ünï\ €"),
    ],
)
def test_escape_tag(text, escaped):
    assert escape_tag(text) == escaped


def test_escape_measurement_leaves_equals_alone():
    assert escape_measurement("my m,x=1") == r"my\ m\,x=1"


def test_string_field_escapes_quote_and_backslash_and_keeps_newlines():
    assert string_field('a "b" \\ c\nd') == '"a \\"b\\" \\\\ c\nd"'


def test_encode_point_sorts_tags_and_drops_empty_ones():
    p = Point(
        "telemetry",
        {"park": "p 1", "device": "a,b=c", "zone": "", "floor": "3"},
        {"kw": 1.5, "kwh": 10.0},
        123,
    )
    assert encode_point(p) == r"telemetry,device=a\,b\=c,floor=3,park=p\ 1 kw=1.5,kwh=10.0 123"


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.0, "1.0"), (-0.5, "-0.5"), (1 / 3, "0.3333333333333333"), (1e300, "1e+300"), (5, "5.0")],
)
def test_floats_are_written_shortest_exact(value, text):
    assert encode_point(point({"v": value})).split(" ")[1] == f"v={text}"


def test_encode_points_joins_lines():
    body = encode_points([point(time_ns=1), point(time_ns=2)])
    assert body == b"telemetry,device=m1,park=p1 kw=1.5 1\ntelemetry,device=m1,park=p1 kw=1.5 2"


def test_encode_string_fields():
    line = encode_string_fields("quarantine", {"park": "p1", "device": ""}, {"detail": 'x "y"'}, 7)
    assert line == 'quarantine,park=p1 detail="x \\"y\\"" 7'


@pytest.mark.parametrize(
    ("name", "quoted"),
    [("kw", '"kw"'), ('say "hi"', r'"say \"hi\""'), ("a\\b", r'"a\\b"'), ("it's", '"it\'s"')],
)
def test_quote_ident(name, quoted):
    assert quote_ident(name) == quoted


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("p1", "'p1'"),
        ("x' OR '1'='1", r"'x\' OR \'1\'=\'1'"),
        ("a\\", r"'a\\'"),
        ("\\'", r"'\\\''"),
        ('say "hi"', "'say \"hi\"'"),
    ],
)
def test_quote_string(value, quoted):
    assert quote_string(value) == quoted


# --- refusals -----------------------------------------------------------------------------------


NEWLINE_TARGETS = {
    "tag": lambda name: encode_point(point(device=name)),
    "field": lambda name: encode_point(point({name: 1.0})),
    "measurement": lambda name: encode_point(
        Point(name, {"park": "p", "device": "d"}, {"kw": 1.0}, 1)
    ),
    "ident": quote_ident,
    "string": quote_string,
}


@pytest.mark.parametrize("newline", ["\n", "\r"])
@pytest.mark.parametrize("where", sorted(NEWLINE_TARGETS))
def test_newlines_are_refused_everywhere_but_string_fields(newline, where):
    with pytest.raises(ValueError, match="newline"):
        NEWLINE_TARGETS[where](f"a{newline}b")


def test_trailing_backslash_in_a_tag_is_refused():
    with pytest.raises(ValueError, match="backslash"):
        encode_point(point(device="m1\\"))


# --- round trip through a real influxd ----------------------------------------------------------

tag_values = st.text(
    # printable: no control characters (newline among them) and no lone surrogates
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")),
    min_size=1,
    max_size=30,
).filter(lambda v: not v.endswith("\\"))

_clock = itertools.count(1_700_000_000_000_000_000)


@pytest.fixture
def written() -> dict[str, dict[str, int]]:
    """park → device → newest time written, across the examples of one test."""
    return {}


@pytest.mark.influxdb
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # one database for all examples
)
@given(park=tag_values, device=tag_values)
def test_any_printable_tag_value_round_trips_through_influxd(influx_store, written, park, device):
    time_ns = next(_clock)
    influx_store.write([Point("telemetry", {"park": park, "device": device}, {"kw": 1.0}, time_ns)])
    written.setdefault(park, {})[device] = time_ns

    assert influx_store.latest(park) == [
        LatestReading(d, t, {"kw": 1.0}) for d, t in sorted(written[park].items())
    ]
    assert influx_store.quarantined(park=park) == []
