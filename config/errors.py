"""The one error tree of smartpark.

Every layer raises subclasses of :class:`SmartParkError`, defined here on the ground floor so that
no two layers need to import each other to catch each other's errors::

    SmartParkError
    ├── InvalidRequestError      the caller asked for something malformed (HTTP 422)
    ├── NotFoundError            the caller named something that does not exist (HTTP 404)
    ├── ConflictError            the thing is in a state that forbids the action (HTTP 409)
    ├── UnavailableError         a dependency is missing or down; retry later (HTTP 503)
    ├── ConfigError              settings or registry are invalid
    │   └── RegistryError        the park registry has problems (each with file:line)
    ├── StoreError               the time-series store failed
    │   ├── StoreUnavailableError    it cannot be reached (retry later; also an UnavailableError)
    │   └── StoreQueryError          it refused a query or a write (do not retry as is)
    ├── IngestError              a payload could not be turned into readings
    ├── BrokerError              the MQTT broker cannot be reached or refused us
    └── TooManyStreamsError      no live stream slot is free (retry later)

The four *kinds* at the top are what a caller acts on: ``api/errors.py`` maps each kind to one
HTTP status and the CLI to one line, so a domain error needs only the right base class.

Third-party errors are wrapped where they enter (``raise ... from exc``); caller misuse stays
``ValueError`` / ``TypeError``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BrokerError",
    "ConfigError",
    "ConflictError",
    "IngestError",
    "InvalidRequestError",
    "NotFoundError",
    "Problem",
    "RegistryError",
    "SmartParkError",
    "StoreError",
    "StoreQueryError",
    "StoreUnavailableError",
    "TooManyStreamsError",
    "UnavailableError",
]


class SmartParkError(Exception):
    """Base of every error smartpark raises on purpose."""


class InvalidRequestError(SmartParkError):
    """The caller asked for something malformed: a bad period, scope, value or range."""


class NotFoundError(SmartParkError, LookupError):
    """The caller named a park, tenant, device, alarm or other thing that does not exist."""


class ConflictError(SmartParkError):
    """The thing exists but its state forbids the action (acknowledging a cleared alarm)."""


class UnavailableError(SmartParkError):
    """A dependency (the store, a font, a background engine) is missing or down; retry later."""


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


class StoreUnavailableError(StoreError, UnavailableError):
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
