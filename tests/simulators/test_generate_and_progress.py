"""Synthetic registries of N devices, and the backfill's progress output."""

from __future__ import annotations

import io

import pytest
import yaml

from config.registry import DeviceKind, load_registry
from simulators.generate import generate_park
from simulators.park import ParkModel
from simulators.publisher import Progress


@pytest.mark.parametrize("devices", [2, 23, 250])
def test_generated_park_is_a_valid_registry_of_exactly_n_devices(tmp_path, devices):
    path = tmp_path / "park.yaml"
    path.write_text(yaml.safe_dump(generate_park(devices)))
    park = load_registry(path).parks["generated"]
    assert len(park.devices) == devices
    ParkModel(park, seed=0).advance(1_780_000_000 * 10**9, 60)  # and it simulates


def test_a_larger_generated_park_has_every_kind():
    kinds = {d["kind"] for d in generate_park(250)["devices"]}
    assert kinds == {k.value for k in DeviceKind}


def test_generate_refuses_a_park_too_small():
    with pytest.raises(ValueError, match="at least 2"):
        generate_park(1)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_plain_lines_otherwise():
    tty = _Tty()
    bar = Progress(0, 100, stream=tty)
    bar.update(50, 10, final=True)
    assert tty.getvalue().startswith("\r[###############")
    assert " 50.0 %" in tty.getvalue()
    plain = io.StringIO()
    lines = Progress(0, 100, stream=plain, every_s=3600)
    lines.update(10, 5)  # the first update always prints
    lines.update(20, 6)  # within every_s: quiet
    lines.update(100, 7, final=True)
    out = plain.getvalue().splitlines()
    assert len(out) == 2
    assert out[0].startswith("simulate:  10.0 % of the range, 5 messages")
    assert "\r" not in plain.getvalue()
