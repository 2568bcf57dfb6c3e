"""The edge agent's errors, each a branch of smartpark's one tree (``config.errors``)."""

from __future__ import annotations

from config.errors import ConfigError, Problem, UnavailableError

__all__ = ["EdgeConfigError", "EdgeError", "FrameError", "MeterError", "MeterUnavailableError"]


class EdgeError(UnavailableError):
    """Something went wrong at the edge: a field bus, a meter or the local buffer. To a caller
    it is an unavailable dependency (the meter or bus): retry later."""


class EdgeConfigError(ConfigError):
    """``edge.yaml`` or a register map has problems; ``problems`` lists them with file:line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class FrameError(EdgeError, ValueError):
    """Bytes that are not a valid frame of the protocol (bad checksum, length, markers, BCD)."""


class MeterError(EdgeError):
    """A meter answered, but with an error (a Modbus exception, a DL/T 645 abnormal reply)."""


class MeterUnavailableError(EdgeError):
    """A meter did not answer within the bus's timeout and retries."""
