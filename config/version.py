"""The version of smartpark: one helper for the CLI, the API's health answer and reports."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["UNKNOWN_VERSION", "__version__", "smartpark_version"]

UNKNOWN_VERSION = "0+unknown"
"""The version a source tree reports when smartpark is not installed (a PEP 440 local version)."""


def smartpark_version() -> str:
    """The installed smartpark distribution's version, or :data:`UNKNOWN_VERSION`."""
    try:
        return version("smartpark")
    except PackageNotFoundError:
        return UNKNOWN_VERSION


__version__ = smartpark_version()
