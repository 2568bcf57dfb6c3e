"""The follower benchmark: its table, and a small run on a real influxd and on SQLite."""

from __future__ import annotations

import re

import pytest

from bench import follow
from bench.follow import Pass


def test_the_table_gives_medians_per_meter_costs_and_the_kept_over_not_kept_ratio():
    passes = [
        Pass(True, 0.5, 0.6, 1_000, 2_000, True),
        Pass(True, 0.7, 0.9, 1_000, 2_000, True),
        Pass(True, 0.6, 0.8, 1_000, 2_000, False),
        Pass(False, 1.2, 2.4, 1_000, 2_000, False),
        Pass(False, 1.0, 2.2, 1_000, 2_000, False),
    ]
    out = follow.table(passes)
    assert "| on | 3 | 0.60 (0.50–0.70) | 0.80 (0.60–0.90) | 0.600 (0.500–0.700) |" in out
    assert "| off | 2 | 1.10 (1.00–1.20) | 2.30 (2.20–2.40) | 1.100 (1.000–1.200) |" in out
    assert "| 2 of 3 |" in out
    assert "| 0 of 2 |" in out
    assert "kept / not kept (medians): **0.55**" in out  # 0.60 / 1.10


@pytest.mark.parametrize("store", [pytest.param("influx", marks=pytest.mark.influxdb), "embedded"])
def test_a_small_follow_bench_runs_both_followers_and_only_the_keeping_one_takes_its_window(
    store, capsys
):
    args = ["--store", store, "--meters", "12", "--hours", "0.25", "--passes", "2"]
    assert follow.main([*args, "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert f"{12:,} meters every 15 s, 0.25 h stored" in out
    on = re.search(r"^\| on \| 2 \| .* \| (\d+) of 2 \|$", out, re.M)
    off = re.search(r"^\| off \| 2 \| .* \| (\d+) of 2 \|$", out, re.M)
    assert on is not None, out
    assert off is not None, out
    assert on[1] == "2"  # every measured pass of the keeping follower took its kept window
    assert off[1] == "0"
    # every pass touched the 12 meters (two new readings each) and wrote their intervals
    assert re.search(r"^\| on \| 2 \| [^|]+\| [^|]+\| [^|]+\| 12 \(12–12\) \|", out, re.M), out
