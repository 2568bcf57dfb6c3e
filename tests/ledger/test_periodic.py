"""The background worker of the follower and the alarm engine: failures never end it."""

from __future__ import annotations

import logging
import threading

from config.errors import StoreUnavailableError
from services.periodic import ParkOutages, Periodic
from store.routed import NamedStoreUnavailableError


class Flaky(Periodic):
    name = "flaky"

    def __init__(self) -> None:
        super().__init__(logging.getLogger("test.periodic"))
        self.passes = 0
        self.done = threading.Event()

    def run_pass(self) -> bool:
        self.passes += 1
        if self.passes == 1:
            raise StoreUnavailableError("down")
        if self.passes == 2:
            raise ValueError("a bug in one pass")
        if self.passes < 5:
            return True  # more waiting: the next pass at once
        self.done.set()
        return False


def test_failed_passes_are_retried_and_waiting_work_runs_at_once(caplog):
    worker = Flaky()
    worker.start(every_s=0.01)
    try:
        assert worker.done.wait(5)
    finally:
        worker.stop()

    assert worker.passes >= 5
    assert "flaky: the store is unavailable (down); retrying" in caplog.text
    assert "flaky: a pass failed; retrying" in caplog.text


def test_a_park_whose_store_is_down_is_retried_with_back_off_and_named(caplog):
    now = [100.0]
    outages = ParkOutages(
        logging.getLogger("test.outages"), "worker", first_s=2.0, clock=lambda: now[0]
    )
    down = NamedStoreUnavailableError("south", StoreUnavailableError("refused"))
    caplog.set_level(logging.INFO, logger="test.outages")
    assert outages.due("b")
    outages.failed("b", down)
    assert "b" in outages
    assert outages.parks == ("b",)
    assert outages.due("a")  # the other parks are untouched
    assert not outages.due("b")
    now[0] = 102.0
    assert outages.due("b")
    outages.failed("b", down)  # the retry failed too: twice as long
    now[0] = 105.9
    assert not outages.due("b")
    now[0] = 106.0
    assert outages.due("b")
    for _ in range(10):
        outages.failed("b", down)
    now[0] += 60.0  # never more than a minute
    assert outages.due("b")
    outages.answered("b")
    outages.answered("b")  # said once
    assert outages.parks == ()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == (
        "worker: park b skipped: the store 'south' is unavailable: refused; retrying in 2 s"
    )
    assert lines[1].endswith("retrying in 4 s")
    assert lines[-2].endswith("retrying in 60 s")
    assert lines[-1] == "worker: park b: the store 'south' answers again; catching up"
    assert all(r.exc_info is None for r in caplog.records)
