"""Time-series storage: one contract (:class:`Store`), two adapters.

- :class:`InfluxStore` speaks the HTTP API every InfluxDB shares (``/write``, ``/query``), selected
  by ``SMARTPARK_STORE_URL=influxdb://[user:pass@]host:port/database``;
- :class:`EmbeddedStore` keeps everything in one SQLite file: the default, no server needed.
"""

from __future__ import annotations

from pathlib import Path

from config.errors import ConfigError
from store.base import (
    AGGREGATES,
    LEDGER_DAY,
    LONG_TERM,
    REDUCTIONS,
    TELEMETRY,
    Aggregate,
    Columns,
    LatestReading,
    Point,
    QuarantineRecord,
    Reduction,
    SeriesQuery,
    SeriesRow,
    Store,
)
from store.embedded import EmbeddedStore
from store.influx import InfluxStore

__all__ = [
    "AGGREGATES",
    "LEDGER_DAY",
    "LONG_TERM",
    "REDUCTIONS",
    "TELEMETRY",
    "Aggregate",
    "Columns",
    "EmbeddedStore",
    "InfluxStore",
    "LatestReading",
    "Point",
    "QuarantineRecord",
    "Reduction",
    "SeriesQuery",
    "SeriesRow",
    "Store",
    "open_store",
]

EMBEDDED_FILE = "store.sqlite3"


def open_store(url: str, *, data_dir: Path) -> Store:
    """Open the store a URL names.

    ``""`` → the embedded store in ``data_dir``; ``sqlite:///path/file.sqlite3`` → the embedded
    store in that file; ``influxdb://`` / ``influxdbs://`` → InfluxDB over HTTP(S).
    """
    if not url:
        return EmbeddedStore(data_dir / EMBEDDED_FILE)
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://")
        if not path:
            raise ConfigError(
                "sqlite:// needs a path, e.g. sqlite:///var/lib/smartpark/store.sqlite3"
            )
        return EmbeddedStore(Path(path))
    if url.startswith(("influxdb://", "influxdbs://")):
        return InfluxStore(url)
    scheme = url.split("://", maxsplit=1)[0]
    raise ConfigError(
        f"store URL must start with influxdb://, influxdbs:// or sqlite://, not {scheme!r}"
    )
