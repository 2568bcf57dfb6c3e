"""A progress bar for long commands: redrawn in place on a terminal, a plain line every few
seconds otherwise (CI logs, journald)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["ProgressBar"]


class ProgressBar:
    """Counts ``done`` of ``total`` items of work labelled ``label``."""

    def __init__(
        self, total: int, label: str, *, stream: TextIO | None = None, every_s: float = 5.0
    ) -> None:
        self.total = max(total, 1)
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every_s = 0.2 if self.tty else every_s
        self.t0 = time.monotonic()
        self._last = -1e9

    def __call__(self, done: int, total: int | None = None) -> None:
        """Report that ``done`` items are finished (``total`` may correct the total)."""
        if total is not None:
            self.total = max(total, 1)
        now = time.monotonic()
        final = done >= self.total
        if not final and now - self._last < self.every_s:
            return
        self._last = now
        share = min(done / self.total, 1.0)
        elapsed = now - self.t0
        eta = elapsed * (1 - share) / share if share > 0 else float("nan")
        if self.tty:
            bar = "#" * int(30 * share)
            self.stream.write(
                f"\r{self.label} [{bar:<30}] {done}/{self.total} {100 * share:5.1f} % "
                f"ETA {eta:5.0f} s" + ("\n" if final else "")
            )
        else:
            self.stream.write(
                f"{self.label}: {done}/{self.total} ({100 * share:.1f} %), {elapsed:.0f} s\n"
            )
        self.stream.flush()
