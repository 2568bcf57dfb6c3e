"""The one error tree of smartpark.

Every layer raises subclasses of :class:`SmartParkError`, defined here on the ground floor so that
no two layers need to import each other to catch each other's errors::

    SmartParkError
    ├── ConfigError              settings or registry are invalid
    │   └── RegistryError        the park registry has problems (each with file:line)
    ├── StoreError               the time-series store failed
    │   ├── StoreUnavailableError    it cannot be reached (retry later)
    │   └── StoreQueryError          it refused a query or a write (do not retry as is)
    ├── IngestError              a payload could not be turned into readings
    ├── BrokerError              the MQTT broker cannot be reached or refused us
    └── TooManyStreamsError      no live stream slot is free (retry later)

Third-party errors are wrapped where they enter (``raise ... from exc``); caller misuse stays
``ValueError`` / ``TypeError``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BrokerError",
    "ConfigError",
    "IngestError",
    "Problem",
    "RegistryError",
    "SmartParkError",
    "StoreError",
    "StoreQueryError",
    "StoreUnavailableError",
    "TooManyStreamsError",
]


class SmartParkError(Exception):
    """Base of every error smartpark raises on purpose."""


class ConfigError(SmartParkError):
    """Settings or configuration files are invalid."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in a configuration file, located by file and line (1-based)."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class RegistryError(ConfigError):
    """The park registry has one or more problems; ``problems`` lists them all."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class StoreError(SmartParkError):
    """The time-series store failed."""


class StoreUnavailableError(StoreError):
    """The store cannot be reached or answered with a transient error; retrying may succeed."""


class StoreQueryError(StoreError):
    """The store refused a write or a query; retrying the same request will not help."""


class IngestError(SmartParkError):
    """A payload could not be turned into readings."""


class BrokerError(SmartParkError):
    """The MQTT broker cannot be reached or refused the connection."""


class TooManyStreamsError(SmartParkError):
    """No live stream may open now: its API key or the process has the most streams allowed
    open. ``retry_after_s`` [s] is how long a client should wait before trying again."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message)
