"""smartpark: energy and carbon monitoring for industrial parks (composition root: CLI, demo)."""

from config.version import __version__

__all__ = ["__version__"]
