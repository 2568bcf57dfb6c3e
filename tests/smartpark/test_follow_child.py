"""The collector's ledger follower child (smartpark/follow_child.py): a child that dies at once
is started again after pauses that double, never in a busy loop, and its supervisor's figures
say so."""

from __future__ import annotations

import os
import time

import pytest

from smartpark.follow_child import ChildMetrics, FollowerChild


def test_a_child_that_keeps_dying_is_started_again_after_doubling_pauses(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTPARK_")}
    env["SMARTPARK_REGISTRY"] = str(tmp_path / "no-such-registry.yaml")  # `follow` exits at once
    env["SMARTPARK_DATA_DIR"] = str(tmp_path / "data")
    child = FollowerChild(holder="test", metrics=False, env=env)
    starts: list[float] = []
    began = time.monotonic()
    child.start()
    starts.append(0.0)
    while len(starts) < 3 and time.monotonic() - began < 30:
        before = child.restarts
        child.check()
        if child.restarts != before:
            starts.append(time.monotonic() - began)
        time.sleep(0.05)
    try:
        assert child.restarts == 2, starts
        # the first pause is 1 s, the second 2 s, each after the child's exit was seen
        assert starts[1] >= 1.0, starts
        assert starts[2] - starts[1] >= 2.0, starts
        figures = {
            s.name: s.value for family in ChildMetrics(child).collect() for s in family.samples
        }
        assert figures["smartpark_collector_follower_restarts_total"] == 2
        assert "smartpark_follower_passes_total" not in figures  # no metrics port, none read
    finally:
        code = child.stop(timeout_s=10)
    assert code not in {None, 0}  # it failed on the missing registry (or was stopped)
    assert not child.alive()
    child.check()  # stopped: no restart
    assert child.restarts == 2


def test_an_unstarted_child_is_down_with_no_restarts() -> None:
    figures = {
        s.name: s.value
        for family in ChildMetrics(FollowerChild(holder="x")).collect()
        for s in family.samples
    }
    assert figures == {
        "smartpark_collector_follower_up": 0.0,
        "smartpark_collector_follower_restarts_total": 0.0,
    }


@pytest.mark.parametrize(("given", "read"), [("true", "process"), ("false", "off")])
def test_the_old_boolean_setting_reads_as_a_mode(given: str, read: str, monkeypatch) -> None:
    from config.settings import Settings

    monkeypatch.setenv("SMARTPARK_LEDGER_FOLLOW", given)
    assert Settings().ledger_follow == read
