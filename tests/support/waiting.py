"""Wait for a condition instead of sleeping a fixed time: bounded, with a clear failure message."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["async_wait_until", "wait_until"]

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T | None],
    *,
    timeout_s: float = 10.0,
    interval_s: float = 0.05,
    what: str = "the condition",
) -> T:
    """Poll ``condition`` every ``interval_s`` [s] until it returns a truthy value and return it;
    after ``timeout_s`` [s] fail the test with ``what`` and the last value seen."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(_timed_out(timeout_s, what, value))
        time.sleep(interval_s)


async def async_wait_until(
    condition: Callable[[], Awaitable[T | None]],
    *,
    timeout_s: float = 10.0,
    interval_s: float = 0.05,
    what: str = "the condition",
) -> T:
    """:func:`wait_until` inside an event loop, for a coroutine function ``condition``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(_timed_out(timeout_s, what, value))
        await asyncio.sleep(interval_s)


def _timed_out(timeout_s: float, what: str, last: object) -> str:
    return f"timed out after {timeout_s:g} s waiting for {what} (last: {last!r})"
