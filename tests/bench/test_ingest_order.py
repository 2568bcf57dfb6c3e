"""bench.ingest runs the compared single-reading cases in another order each run, so a load that
drifts during a run does not always fall on the same case."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.ingest import _rotated

Case = tuple[str, Callable[[int], dict[str, Any]]]


def _case(key: str) -> Case:
    return key, lambda run: {"case": key, "run": run}


def _keys(cases: list[Case], compared: list[str], by: int) -> list[str]:
    return [k for k, _ in _rotated(cases, compared, by)]


def test_each_compared_case_leads_once_in_as_many_runs_and_the_others_stay() -> None:
    cases = [_case(k) for k in ("paho", "single1", "single1nf", "single1th", "batch1")]
    compared = ["single1", "single1nf", "single1th"]
    orders = [_keys(cases, compared, run) for run in range(3)]
    assert [o[1] for o in orders] == ["single1", "single1nf", "single1th"]
    for order in orders:
        assert order[0] == "paho"
        assert order[-1] == "batch1"
        assert sorted(order[1:4]) == sorted(compared)
    assert _keys(cases, compared, 3) == orders[0]


def test_nothing_to_rotate_keeps_the_order() -> None:
    cases = [_case(k) for k in ("paho", "batch1")]
    assert _keys(cases, ["single1"], 2) == ["paho", "batch1"]
