"""The background worker of the follower and the alarm engine: failures never end it."""

from __future__ import annotations

import logging
import threading

from config.errors import StoreUnavailableError
from services.periodic import Periodic


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
