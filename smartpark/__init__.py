"""smartpark: energy and carbon monitoring for industrial parks (composition root: CLI, demo)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("smartpark")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
