"""The names every indicator report carries, for the tests that check each has a label in
Chinese and English (the reports' catalogue, ``reports/i18n.py``, and the dashboard's,
``api/static/js/i18n.js``)."""

from __future__ import annotations

from pathlib import Path

from config.registry import load_registry
from services.indicators import park_indicators
from store.embedded import EmbeddedStore

__all__ = ["indicator_names"]


def indicator_names(folder: Path) -> list[str]:
    """Every indicator name of every registered park's year report. A report names each
    indicator whether or not it can be computed (an empty store gives each a reason), so an
    empty store in ``folder`` lists them all."""
    store = EmbeddedStore(folder / "names.sqlite3")
    try:
        names = {
            i.name
            for park in load_registry().parks.values()
            for i in park_indicators(store, park, "2025").indicators
        }
    finally:
        store.close()
    return sorted(names)
