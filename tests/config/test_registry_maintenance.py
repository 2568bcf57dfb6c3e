"""The maintenance log and reporting cadence of a device in the registry: what loads, and every
mistake reported with its file and line."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config.errors import RegistryError
from config.registry import load_registry

HEAD = """\
park:
  id: p1
  name: Test park
  latitude: 30.5
  longitude: 114.3
  grid_region: central_china
devices:
  - id: grid
    kind: electricity_meter
    role: grid_connection
    expected_interval_s: 3600
    maintenance:
"""


def load(tmp_path: Path, entries: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "park.yaml"
    path.write_text(HEAD + textwrap.indent(textwrap.dedent(entries), "      "))
    return load_registry(path)


def problems(tmp_path: Path, entries: str) -> list[tuple[str, int, str]]:
    with pytest.raises(RegistryError) as info:
        load(tmp_path, entries)
    return [(Path(p.file).name, p.line, p.message) for p in info.value.problems]


def test_a_log_of_each_kind_loads_with_its_instant_in_utc(tmp_path):
    reg = load(
        tmp_path,
        """\
        - {kind: replacement, at: "2025-03-04T10:30:00+08:00", old_final: 12345.6, new_initial: 0}
        - {kind: multiplier, at: "2025-05-01T00:00:00+08:00", old_multiplier: 40, multiplier: 80}
        - {kind: register_width, at: "2025-06-01T00:00:00Z", old_register_width: 6,
           register_width: 8}
        """,
    )
    dev = reg.device("p1", "grid")
    assert dev is not None
    assert dev.expected_interval_s == 3600
    rep, mul, width = dev.maintenance
    # 10:30 at +08:00 is 02:30 UTC
    assert rep.time_ns == int(datetime(2025, 3, 4, 2, 30, tzinfo=UTC).timestamp()) * 10**9
    assert (rep.old_final, rep.new_initial) == (12345.6, 0.0)
    assert (mul.old_multiplier, mul.multiplier) == (40.0, 80.0)
    assert width.register_width == 8


def test_new_reading_above_the_old_is_refused_at_its_line(tmp_path):
    found = problems(
        tmp_path,
        """\
        - {kind: replacement, at: "2025-03-04T10:30:00+08:00", old_final: 10.0, new_initial: 0}
        - {kind: replacement, at: "2025-04-04T10:30:00+08:00", old_final: 5.0, new_initial: 7.5}
        """,
    )
    assert len(found) == 1
    name, line, message = found[0]
    assert (name, line) == ("park.yaml", 14)
    assert "new_initial" in message
    assert "7.5" in message
    assert "above" in message


def test_an_instant_without_offset_and_stray_fields_are_named(tmp_path):
    found = problems(
        tmp_path,
        """\
        - {kind: replacement, at: "2025-03-04T10:30:00", new_initial: 0}
        - {kind: multiplier, at: "2025-05-01T00:00:00+08:00", multiplier: 80, old_final: 3}
        - {kind: register_width, at: "2025-05-01T00:00:00+08:00", register_width: 2}
        """,
    )
    lines = {line for _, line, _ in found}
    assert lines == {13, 14, 15}
    text = " | ".join(m for _, _, m in found)
    assert "timezone" in text
    assert "old_final do not belong to a multiplier entry" in text
    assert "register_width" in text
    assert "greater than or equal to 3" in text


def test_two_different_entries_at_one_instant_conflict(tmp_path):
    found = problems(
        tmp_path,
        """\
        - {kind: replacement, at: "2025-03-04T10:30:00+08:00", old_final: 10.0, new_initial: 0}
        - {kind: replacement, at: "2025-03-04T02:30:00Z", old_final: 11.0, new_initial: 0}
        """,
    )
    assert len(found) == 1
    assert found[0][1] == 8  # the device
    assert "two different replacement entries" in found[0][2]


def test_cadence_out_of_range_is_refused(tmp_path):
    path = tmp_path / "park.yaml"
    path.write_text(HEAD.replace("3600", "0").replace("    maintenance:\n", ""))
    with pytest.raises(RegistryError) as info:
        load_registry(path)
    (problem,) = info.value.problems
    assert problem.line == 11
    assert "expected_interval_s" in problem.message
