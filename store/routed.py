"""Several stores behind one: each park lives in a named store, and :class:`RoutedStore` sends
every call of the :class:`~store.base.Store` contract to the store of its park.

A city spreads its parks over several InfluxDB servers (``SMARTPARK_STORES``, and a park's
``store:`` in the registry; docs/stores.md). The collector, the ledger follower, the API and the
reports keep talking to one :class:`~store.base.Store`; this class routes:

- a query by its ``park`` argument (``SeriesQuery.park`` for :meth:`RoutedStore.series`);
- a write by each point's ``park`` tag, quarantine records by their ``park``; a write that spans
  stores writes each of them (at the same time, one thread each);
- the calls that span parks (``quarantined()`` of every park, ``ping()``) ask every store.

A park the routing table does not know (a park added since, an unknown topic's empty park) lives
in the default store; a key ``<work>:<park>`` (the lease of one park's work) lives with its park.
Errors name the store: :class:`NamedStoreUnavailableError` (503, retry later) and, for a write
that reached some stores but not all, :class:`PartialWriteError`, which carries exactly the points
that were not written, so the collector spools those and nothing else.

Thread-safe: the routing table never changes after construction, and each store adapter is
thread-safe itself (the city evaluation fans out over parks on one :class:`RoutedStore`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from config.errors import ConfigError, StoreQueryError, StoreUnavailableError
from config.registry import Registry
from config.settings import DEFAULT_STORE
from store.base import (
    TELEMETRY,
    Columns,
    LatestReading,
    Point,
    QuarantineRecord,
    Reduction,
    SeriesQuery,
    SeriesRow,
    Store,
)

__all__ = ["NamedStoreUnavailableError", "PartialWriteError", "RoutedStore", "park_routes"]

T = TypeVar("T")


class NamedStoreUnavailableError(StoreUnavailableError):
    """One of several named stores cannot be reached; ``store`` is its name (the others may
    answer). Answered 503 with the store named, like every :class:`StoreUnavailableError`."""

    def __init__(self, store: str, cause: StoreUnavailableError) -> None:
        self.store = store
        super().__init__(f"the store {store!r} is unavailable: {_inner(cause)}")


class PartialWriteError(NamedStoreUnavailableError):
    """A write did not reach every store it spans.

    ``unwritten`` holds exactly the points that were not written, in the order given (the same
    objects): those of the stores that could not be reached, and those of a store that refused
    its part at the same time. ``stores`` names the stores that could not be reached (``store``
    is the first). Everything else of the write is stored.
    """

    def __init__(
        self, stores: Sequence[str], cause: StoreUnavailableError, unwritten: Sequence[Point]
    ) -> None:
        self.stores = tuple(stores)
        self.unwritten = list(unwritten)
        super().__init__(self.stores[0], cause)
        if len(self.stores) > 1:
            self.args = (
                f"the stores {', '.join(map(repr, self.stores))} are unavailable: {_inner(cause)}",
            )


def _inner(cause: StoreUnavailableError) -> str:
    """The adapter's own message (not one already naming a store again)."""
    return str(cause.__cause__) if isinstance(cause, NamedStoreUnavailableError) else str(cause)


def park_routes(registry: Registry, known: Sequence[str]) -> dict[str, str]:
    """The store name of each park of ``registry`` (its ``store:``, default ``default``).

    Raises :class:`ConfigError` naming every park whose store is not one of ``known`` (the names
    of ``SMARTPARK_STORES`` and ``default``), with the file it comes from and the known names.
    """
    routes = {park_id: park.park.store for park_id, park in registry.parks.items()}
    unknown = [park_id for park_id, name in routes.items() if name not in known]
    if unknown:
        lines = [
            f"{registry.sources.get(p, '?')}: park {p!r} names the store {routes[p]!r}, "
            "which SMARTPARK_STORES does not define"
            for p in unknown
        ]
        lines.append(f"known stores: {', '.join(known)}")
        raise ConfigError("\n".join(lines))
    return routes


class RoutedStore:
    """The :class:`~store.base.Store` of several named stores, routing each call by its park.

    ``stores`` maps a name to an open store (it must hold ``default``); ``parks`` maps a park id
    to the name of its store. Closing this store closes every store it holds.
    """

    def __init__(
        self, stores: Mapping[str, Store], parks: Mapping[str, str], *, default: str = DEFAULT_STORE
    ) -> None:
        if default not in stores:
            raise ValueError(f"no default store {default!r} among {', '.join(stores)}")
        missing = sorted({name for name in parks.values() if name not in stores})
        if missing:
            raise ValueError(f"parks are routed to stores not given: {', '.join(missing)}")
        self.stores: Mapping[str, Store] = dict(stores)
        self.default = default
        self._parks = dict(parks)
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, len(self.stores)), thread_name_prefix="routed-store"
        )

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={store!r}" for name, store in self.stores.items())
        return f"RoutedStore({inner})"

    def store_of(self, park: str) -> str:
        """The name of the store ``park`` lives in (the default for a park not routed).

        A key ``<work>:<park>`` (a park id has no colon) lives with its park: the lease of one
        park's work (``follow:<park>``, :mod:`services.follow`) is kept in that park's store, so
        it is taken and renewed exactly while the park's data can be reached, whichever other
        store is down."""
        name = self._parks.get(park)
        if name is not None:
            return name
        work, colon, owner = park.partition(":")
        return self._parks.get(owner, self.default) if colon and work else self.default

    def _on(self, park: str, call: Callable[[Store], T]) -> T:
        """``call`` on the store of ``park``, its errors naming the store."""
        name = self.store_of(park)
        return self._named(name, call)

    def _named(self, name: str, call: Callable[[Store], T]) -> T:
        try:
            return call(self.stores[name])
        except NamedStoreUnavailableError:
            raise
        except StoreUnavailableError as exc:
            raise NamedStoreUnavailableError(name, exc) from exc
        except StoreQueryError as exc:
            raise StoreQueryError(f"the store {name!r}: {exc}") from exc

    def _each(self, names: Sequence[str], call: Callable[[str], T]) -> list[T | BaseException]:
        """``call(name)`` for each name, concurrently when there are several; each outcome is its
        result or the error it raised, in the order of ``names``."""
        if len(names) == 1:
            try:
                return [call(names[0])]
            except Exception as exc:  # handed back to the caller, in order
                return [exc]
        futures = [self._pool.submit(call, name) for name in names]
        outcomes: list[T | BaseException] = []
        for future in futures:
            error = future.exception()
            outcomes.append(error if error is not None else future.result())
        return outcomes

    # -- writes ----------------------------------------------------------------------------------

    def write(self, points: Sequence[Point]) -> None:
        """Write each point to the store of its ``park`` tag, the stores at the same time.

        Raises :class:`PartialWriteError` when a store cannot be reached (its ``unwritten``: the
        points of every store that failed); :class:`~config.errors.StoreQueryError` naming the
        store when stores only refused points (nothing was unavailable).
        """
        groups: dict[str, list[Point]] = {}
        for point in points:
            groups.setdefault(self.store_of(point.tags["park"]), []).append(point)
        names = list(groups)
        outcomes = self._each(names, lambda name: self.stores[name].write(groups[name]))
        down = [
            (name, outcome)
            for name, outcome in zip(names, outcomes, strict=True)
            if isinstance(outcome, BaseException)
        ]
        if not down:
            return
        for _, error in down:
            if not isinstance(error, StoreUnavailableError | StoreQueryError):
                raise error  # a bug or a point no store can carry: the caller's ValueError
        unavailable = [(n, e) for n, e in down if isinstance(e, StoreUnavailableError)]
        if not unavailable:
            name, error = down[0]
            raise StoreQueryError(f"the store {name!r}: {error}") from error
        failed = {name for name, _ in down}
        unwritten = [p for p in points if self.store_of(p.tags["park"]) in failed]
        first = unavailable[0][1]
        assert isinstance(first, StoreUnavailableError)
        raise PartialWriteError([n for n, _ in unavailable], first, unwritten) from first

    def write_quarantine(self, records: Sequence[QuarantineRecord]) -> None:
        """Keep each record in the store of its ``park`` (the default store without one)."""
        groups: dict[str, list[QuarantineRecord]] = {}
        for record in records:
            groups.setdefault(self.store_of(record.park), []).append(record)
        for name, group in groups.items():
            self._quarantine_to(name, group)

    def _quarantine_to(self, name: str, records: Sequence[QuarantineRecord]) -> None:
        self._named(name, lambda s: s.write_quarantine(records))

    # -- reads of one park -------------------------------------------------------------------------

    def latest(self, park: str, *, measurement: str = TELEMETRY) -> list[LatestReading]:
        """:meth:`Store.latest` on the store of ``park``."""
        return self._on(park, lambda s: s.latest(park, measurement=measurement))

    def series(self, query: SeriesQuery) -> list[SeriesRow]:
        """:meth:`Store.series` on the store of ``query.park``."""
        return self._on(query.park, lambda s: s.series(query))

    def scan(
        self, park: str, *, measurement: str, start_ns: int, end_ns: int, limit: int = 100_000
    ) -> list[LatestReading]:
        """:meth:`Store.scan` on the store of ``park``; times [ns]."""
        return self._on(
            park,
            lambda s: s.scan(
                park, measurement=measurement, start_ns=start_ns, end_ns=end_ns, limit=limit
            ),
        )

    def columns(
        self,
        park: str,
        *,
        measurement: str,
        fields: Sequence[str],
        start_ns: int,
        end_ns: int,
        devices: Sequence[str] | None = None,
    ) -> dict[str, Columns]:
        """:meth:`Store.columns` on the store of ``park``; times [ns]."""
        return self._on(
            park,
            lambda s: s.columns(
                park,
                measurement=measurement,
                fields=fields,
                start_ns=start_ns,
                end_ns=end_ns,
                devices=devices,
            ),
        )

    def aggregate(
        self,
        park: str,
        *,
        measurement: str,
        fields: Mapping[str, tuple[Reduction, str]],
        start_ns: int,
        end_ns: int,
    ) -> dict[str, dict[str, float]]:
        """:meth:`Store.aggregate` on the store of ``park``; times [ns]."""
        return self._on(
            park,
            lambda s: s.aggregate(
                park, measurement=measurement, fields=fields, start_ns=start_ns, end_ns=end_ns
            ),
        )

    def count(self, park: str, *, device: str | None = None, measurement: str = TELEMETRY) -> int:
        """:meth:`Store.count` on the store of ``park``."""
        return self._on(park, lambda s: s.count(park, device=device, measurement=measurement))

    # -- calls that span parks -----------------------------------------------------------------

    def quarantined(self, *, park: str | None = None, limit: int = 1000) -> list[QuarantineRecord]:
        """The newest quarantined records of ``park`` (its store), or of every park: each store
        asked, the answers merged newest first, at most ``limit``."""
        if park is not None:
            return self._on(park, lambda s: s.quarantined(park=park, limit=limit))
        names = list(self.stores)
        outcomes = self._each(
            names, lambda name: self._named(name, lambda s: s.quarantined(limit=limit))
        )
        merged: list[QuarantineRecord] = []
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
            merged.extend(outcome)
        merged.sort(key=lambda r: r.received_ns, reverse=True)
        return merged[:limit]

    def health(self) -> dict[str, bool]:
        """Whether each store answers, by name (asked at the same time)."""
        names = list(self.stores)
        outcomes = self._each(names, lambda name: self.stores[name].ping())
        return {name: o is True for name, o in zip(names, outcomes, strict=True)}

    def ping(self) -> bool:
        """True when every store answers."""
        return all(self.health().values())

    def close(self) -> None:
        """Close every store and the threads that reach them."""
        self._pool.shutdown(wait=True)
        for store in self.stores.values():
            store.close()
