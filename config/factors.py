"""Effective-dated factor and tariff tables shipped as data in ``config/data/``.

Every constant a standard defines — emission factors, standard-coal coefficients, TOU schedules —
lives in a YAML table with its value, unit, source, data year, evidence grade and the dates it
applies to (``valid_from`` inclusive, ``valid_to`` exclusive, ``null`` = until superseded). This
module loads those tables into frozen objects and looks entries up by key, region and date; the
caller passes the values into the pure functions of ``analytics/``.

Published values are never edited: a new year's factor is a new entry, so historical reports stay
reproducible. Overlapping windows for one key and region are refused when the table loads.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from config.errors import ConfigError, Problem
from config.settings import get_settings
from config.yamlfile import YamlFileError, read_yaml

__all__ = [
    "MAX_TABLE_BYTES",
    "OVERRIDE_FILES",
    "TOU_PERIOD_ORDER",
    "Evidence",
    "Factor",
    "FactorError",
    "FactorNotFoundError",
    "FactorTable",
    "TouSchedule",
    "TouSeason",
    "TouTariffTable",
    "coal_equivalents",
    "emission_factors",
    "extend_factor_table",
    "extend_tou_tariffs",
    "load_factor_table",
    "load_tou_tariffs",
    "override_stamp",
    "read_table",
    "shipped_table_path",
    "tables_dir",
    "tou_tariffs",
]

Evidence = Literal["P", "S", "U"]
TouPeriodName = Literal["critical", "peak", "flat", "valley"]
# Column order of TOU tables; the same as ``analytics.tariff.TouPeriod`` (a test checks it).
TOU_PERIOD_ORDER: tuple[TouPeriodName, ...] = ("critical", "peak", "flat", "valley")


class FactorError(ConfigError):
    """A factor or tariff table is invalid; ``problems`` lists every problem with file and
    line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class FactorNotFoundError(ConfigError, LookupError):
    """No table entry applies to the key, region and date asked for."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_window(valid_from: date, valid_to: date | None, what: str) -> None:
    if valid_to is not None and valid_to <= valid_from:
        raise ValueError(f"{what}: valid_to {valid_to} is not after valid_from {valid_from}")


def _overlaps(a: tuple[date, date | None], b: tuple[date, date | None]) -> bool:
    a_end, b_end = a[1] or date.max, b[1] or date.max
    return a[0] < b_end and b[0] < a_end


def _applies(valid_from: date, valid_to: date | None, on: date) -> bool:
    return valid_from <= on and (valid_to is None or on < valid_to)


class Factor(_Frozen):
    """One value of a table: ``value`` in ``unit``, for ``region``, applying on
    ``[valid_from, valid_to)``; ``year`` is the data year it describes."""

    key: str
    region: str
    value: float
    unit: str
    year: int
    valid_from: date
    valid_to: date | None = None
    source: str = Field(min_length=1)
    evidence: Evidence

    @model_validator(mode="after")
    def _window(self) -> Factor:
        _check_window(self.valid_from, self.valid_to, f"{self.key}/{self.region}")
        return self


class FactorTable(_Frozen):
    """A table of effective-dated factors."""

    table: str
    entries: tuple[Factor, ...]

    @model_validator(mode="after")
    def _no_overlap(self) -> FactorTable:
        seen: dict[tuple[str, str], list[Factor]] = {}
        for f in self.entries:
            for g in seen.setdefault((f.key, f.region), []):
                if _overlaps((f.valid_from, f.valid_to), (g.valid_from, g.valid_to)):
                    raise ValueError(
                        f"{f.key}/{f.region}: windows of years {g.year} and {f.year} overlap"
                    )
            seen[(f.key, f.region)].append(f)
        return self

    def lookup(self, key: str, region: str, on: date) -> Factor:
        """The entry for ``key`` and ``region`` that applies on ``on``.

        Raises
        ------
        FactorNotFoundError
            If none applies.
        """
        for f in self.entries:
            if f.key == key and f.region == region and _applies(f.valid_from, f.valid_to, on):
                return f
        raise FactorNotFoundError(f"{self.table}: no {key!r} for region {region!r} on {on}")

    def for_year(self, key: str, region: str, year: int) -> Factor:
        """The entry for ``key`` and ``region`` describing data ``year``."""
        for f in self.entries:
            if f.key == key and f.region == region and f.year == year:
                return f
        raise FactorNotFoundError(f"{self.table}: no {key!r} for region {region!r} in {year}")

    def keys(self) -> frozenset[tuple[str, str]]:
        """The (key, region) pairs in the table."""
        return frozenset((f.key, f.region) for f in self.entries)


class TouSeason(_Frozen):
    """The months sharing one TOU period layout and one set of price ratios."""

    name: str
    months: tuple[int, ...]
    periods: dict[TouPeriodName, tuple[tuple[int, int], ...]]
    ratios: dict[TouPeriodName, float]

    @model_validator(mode="after")
    def _cover(self) -> TouSeason:
        if any(not 1 <= m <= 12 for m in self.months):
            raise ValueError(f"season {self.name}: months must be 1-12")
        hours = [0] * 24
        for name, spans in self.periods.items():
            for start, end in spans:
                if not 0 <= start < end <= 24:
                    raise ValueError(f"season {self.name}: bad {name} range [{start}, {end})")
                for h in range(start, end):
                    hours[h] += 1
        if hours != [1] * 24:
            raise ValueError(f"season {self.name}: periods must cover every hour exactly once")
        if set(self.ratios) != set(TOU_PERIOD_ORDER):
            raise ValueError(f"season {self.name}: ratios needed for {TOU_PERIOD_ORDER}")
        return self

    def hour_periods(self) -> tuple[int, ...]:
        """Index into :data:`TOU_PERIOD_ORDER` of the period of each hour 0-23."""
        out = [0] * 24
        for name, spans in self.periods.items():
            for start, end in spans:
                out[start:end] = [TOU_PERIOD_ORDER.index(name)] * (end - start)
        return tuple(out)


class TouSchedule(_Frozen):
    """A TOU schedule for a region, applying on ``[valid_from, valid_to)``."""

    name: str
    region: str
    valid_from: date
    valid_to: date | None = None
    year: int
    evidence: Evidence
    source: str = Field(min_length=1)
    seasons: tuple[TouSeason, ...]

    @model_validator(mode="after")
    def _months(self) -> TouSchedule:
        _check_window(self.valid_from, self.valid_to, self.name)
        months = sorted(m for s in self.seasons for m in s.months)
        if months != list(range(1, 13)):
            raise ValueError(f"{self.name}: every month must be in exactly one season")
        return self

    def _season(self, month: int) -> TouSeason:
        return next(s for s in self.seasons if month in s.months)

    def period_by_month_hour(self) -> tuple[tuple[int, ...], ...]:
        """12 × 24 table of period indices (rows = months 1-12), for ``analytics.tariff``."""
        return tuple(self._season(m).hour_periods() for m in range(1, 13))

    def ratio_by_month_period(self) -> tuple[tuple[float, ...], ...]:
        """12 × 4 table of price ratios to the flat price, columns in :data:`TOU_PERIOD_ORDER`."""
        return tuple(
            tuple(self._season(m).ratios[p] for p in TOU_PERIOD_ORDER) for m in range(1, 13)
        )


class TouTariffTable(_Frozen):
    """Effective-dated TOU schedules."""

    table: str
    schedules: tuple[TouSchedule, ...]

    @model_validator(mode="after")
    def _no_overlap(self) -> TouTariffTable:
        for i, a in enumerate(self.schedules):
            for b in self.schedules[i + 1 :]:
                if a.region == b.region and _overlaps(
                    (a.valid_from, a.valid_to), (b.valid_from, b.valid_to)
                ):
                    raise ValueError(f"schedules {a.name} and {b.name} overlap")
        return self

    def lookup(self, region: str, on: date) -> TouSchedule:
        """The schedule of ``region`` in force on ``on``."""
        for s in self.schedules:
            if s.region == region and _applies(s.valid_from, s.valid_to, on):
                return s
        raise FactorNotFoundError(f"{self.table}: no TOU schedule for {region!r} on {on}")


MAX_TABLE_BYTES = 4 * 1024 * 1024
"""Largest factor, tariff or target table read [bytes]; the shipped ones are under 20 kB."""

_TableT = TypeVar("_TableT", bound=BaseModel)


def shipped_table_path(name: str) -> Path:
    """Path of the table ``name`` shipped in ``config/data/``."""
    return Path(str(resources.files("config") / "data" / name))


def read_table(
    model: type[_TableT],
    path: Path | None,
    name: str,
    error: Callable[[list[Problem]], ConfigError],
) -> _TableT:
    """Load the table ``model`` from ``path``, or the shipped ``config/data/<name>``, through
    :func:`config.yamlfile.read_yaml`; every problem (with file and line) is raised as
    ``error(problems)``."""
    try:
        if path is None:
            doc = read_yaml(
                shipped_table_path(name), max_bytes=MAX_TABLE_BYTES, name=f"config/data/{name}"
            )
        else:
            doc = read_yaml(path, max_bytes=MAX_TABLE_BYTES)
    except YamlFileError as exc:
        raise error(exc.problems) from None
    if not isinstance(doc.data, dict):
        raise error([doc.problem((), "a table must be a mapping with a 'table' key")])
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise error(doc.problems(exc)) from None


def load_factor_table(
    path: Path | None = None, *, name: str = "emission_factors.yaml"
) -> FactorTable:
    """Load a factor table from ``path``, or the shipped ``config/data/<name>``.

    Raises
    ------
    FactorError
        If the file cannot be read or is invalid; each problem with file and line.
    """
    return read_table(FactorTable, path, name, FactorError)


def load_tou_tariffs(
    path: Path | None = None, *, name: str = "tariffs_hubei.yaml"
) -> TouTariffTable:
    """Load TOU schedules from ``path``, or the shipped ``config/data/<name>``.

    Raises
    ------
    FactorError
        If the file cannot be read or is invalid; each problem with file and line.
    """
    return read_table(TouTariffTable, path, name, FactorError)


# -- the park's own tables (SMARTPARK_TABLES_DIR) ----------------------------------------------

OVERRIDE_FILES = {
    "emission_factors": "emission_factors.yaml",
    "coal_equivalents": "coal_equivalents.yaml",
    "tou_tariffs": "tariffs.yaml",
}
"""The files of a tables folder (``SMARTPARK_TABLES_DIR``) that extend the shipped factor and
tariff tables, by the shipped table's name; any of them may be missing."""


def extend_factor_table(shipped: FactorTable, override: FactorTable) -> FactorTable:
    """``shipped`` with every (key, region) that ``override`` names replaced by the override's
    entries, and the override's other entries added."""
    replaced = override.keys()
    kept = tuple(f for f in shipped.entries if (f.key, f.region) not in replaced)
    return FactorTable(table=shipped.table, entries=(*kept, *override.entries))


def extend_tou_tariffs(shipped: TouTariffTable, override: TouTariffTable) -> TouTariffTable:
    """``shipped`` with the schedules of every region ``override`` names replaced by the
    override's, and the override's other regions added."""
    regions = {s.region for s in override.schedules}
    kept = tuple(s for s in shipped.schedules if s.region not in regions)
    return TouTariffTable(table=shipped.table, schedules=(*kept, *override.schedules))


_Stamp = tuple[Path, int, int] | None  # an override file, its mtime [ns] and size [bytes]


def override_stamp(tables_dir: Path | None, file_name: str) -> _Stamp:
    """The override ``file_name`` in ``tables_dir`` with its modification time and size (the
    cache key of the tables: an edited or new file is loaded again), or None if there is none."""
    if tables_dir is None:
        return None
    path = tables_dir / file_name
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FactorError([Problem(str(path), 0, f"cannot read: {exc.strerror}")]) from None
    return (path, stat.st_mtime_ns, stat.st_size)


def _same_table(path: Path, found: str, expected: str) -> None:
    if found != expected:
        doc = read_yaml(path, max_bytes=MAX_TABLE_BYTES)
        message = f"table: {found!r} in this file, but {path.name} holds the {expected!r} table"
        raise FactorError([doc.problem(("table",), message)])


@functools.cache
def _factors(name: str, stamp: _Stamp) -> FactorTable:
    table = load_factor_table(name=f"{name}.yaml")
    if stamp is None:
        return table
    own = load_factor_table(stamp[0])
    _same_table(stamp[0], own.table, table.table)
    return extend_factor_table(table, own)


@functools.cache
def _tou(stamp: _Stamp) -> TouTariffTable:
    table = load_tou_tariffs(name="tariffs_hubei.yaml")
    if stamp is None:
        return table
    own = load_tou_tariffs(stamp[0])
    _same_table(stamp[0], own.table, table.table)
    return extend_tou_tariffs(table, own)


def tables_dir() -> Path | None:
    """The folder of the park's own tables (``SMARTPARK_TABLES_DIR``), or None."""
    return get_settings().tables_dir


def emission_factors() -> FactorTable:
    """The emission-factor table: the shipped one, extended by ``emission_factors.yaml`` of
    ``SMARTPARK_TABLES_DIR`` (loaded again when the file changes)."""
    return _factors("emission_factors", override_stamp(tables_dir(), "emission_factors.yaml"))


def coal_equivalents() -> FactorTable:
    """The standard-coal coefficient table: the shipped one, extended by
    ``coal_equivalents.yaml`` of ``SMARTPARK_TABLES_DIR`` (loaded again when the file changes)."""
    return _factors("coal_equivalents", override_stamp(tables_dir(), "coal_equivalents.yaml"))


def tou_tariffs() -> TouTariffTable:
    """The TOU schedules: the shipped (Hubei) ones, extended by ``tariffs.yaml`` of
    ``SMARTPARK_TABLES_DIR`` (loaded again when the file changes)."""
    return _tou(override_stamp(tables_dir(), OVERRIDE_FILES["tou_tariffs"]))
