"""Time-series storage: one contract (:class:`Store`), two adapters.

- :class:`InfluxStore` speaks the HTTP API every InfluxDB shares (``/write``, ``/query``), selected
  by ``SMARTPARK_STORE_URL=influxdb://[user:pass@]host:port/database``;
- :class:`EmbeddedStore` keeps everything in one SQLite file: the default, no server needed;
- :class:`RoutedStore` puts each park in the named store it lives in (``SMARTPARK_STORES``, a
  park's ``store:``), opened by :func:`open_stores` when a park names a store of its own.
"""

from __future__ import annotations

from pathlib import Path

from config.errors import ConfigError
from config.registry import Registry
from config.settings import DEFAULT_STORE, Settings
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
from store.routed import NamedStoreUnavailableError, PartialWriteError, RoutedStore, park_routes

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
    "NamedStoreUnavailableError",
    "PartialWriteError",
    "Point",
    "QuarantineRecord",
    "Reduction",
    "RoutedStore",
    "SeriesQuery",
    "SeriesRow",
    "Store",
    "open_store",
    "open_stores",
    "park_routes",
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


def open_stores(settings: Settings, registry: Registry) -> Store:
    """The store of every park of ``registry``, as one :class:`Store`.

    When no park names a store (``store:`` in its registry file), the one store of
    ``SMARTPARK_STORE_URL`` (:func:`open_store`); else a :class:`RoutedStore` over the default
    store and each named store (``SMARTPARK_STORES``) a park lives in. Raises
    :class:`ConfigError` for a park naming a store ``SMARTPARK_STORES`` does not define, naming
    the park and the known stores.
    """
    urls = settings.named_stores()
    routes = park_routes(registry, list(urls))
    used = [DEFAULT_STORE, *sorted(set(routes.values()) - {DEFAULT_STORE})]
    if used == [DEFAULT_STORE]:
        return open_store(settings.store_url, data_dir=settings.data_dir)
    opened: dict[str, Store] = {}
    try:
        for name in used:
            opened[name] = open_store(urls[name], data_dir=settings.data_dir)
    except BaseException:
        for store in opened.values():
            store.close()
        raise
    return RoutedStore(opened, routes)
