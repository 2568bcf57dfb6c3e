"""Target profiles shipped as data in ``config/data/targets.yaml``.

A profile (the zero-carbon park system of 发改环资[2025]910号, the MIIT green park, the
GB/T 36132-2025 green factory, microgrid targets) lists indicators; each says which smartpark
indicator it reads (or that the park declares it), its unit, direction (≤ or ≥), whether it is a
veto, and its thresholds — each with value, source, data year and evidence grade, optionally
banded by the park's annual energy — or, for a scored indicator, a baseline and a leading value
per sector. An indicator with neither is park-configurable, with no default.

This module loads the table into frozen objects; :mod:`services.targets` evaluates a profile
against an indicator report. Every problem in a file is reported with its file and line.
See docs/targets.md.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from config.errors import ConfigError, Problem
from config.factors import Evidence, FactorError, override_stamp, read_table, tables_dir

__all__ = [
    "DECLARED",
    "DECLARED_PREFIX",
    "Band",
    "Direction",
    "Ratio",
    "Role",
    "SectorScale",
    "SourcedValue",
    "TargetError",
    "TargetIndicator",
    "TargetNotFoundError",
    "TargetProfile",
    "TargetTable",
    "extend_targets",
    "load_targets",
    "targets",
]

Direction = Literal["le", "ge"]
Role = Literal["core", "guiding", "indicator", "scored", "target"]
# ``reads: declared``: the park declares the value (keyed by the indicator's key).
DECLARED = "declared"
# A ratio term ``declared:<name>``: a declared input, e.g. industrial value added.
DECLARED_PREFIX = "declared:"
_KEY = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
_TERM = r"^(declared:)?[a-z0-9][a-z0-9_.-]{0,63}$"


class TargetError(ConfigError):
    """The target table is invalid; ``problems`` lists every problem with file and line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class TargetNotFoundError(ConfigError, LookupError):
    """No profile with that id applies on the date asked for."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SourcedValue(_Frozen):
    """One number a standard (or an example) gives: ``value`` in the indicator's unit, ``year``
    the year of the document, ``evidence`` P/S/U, ``example`` True when it is not from any
    standard (a placeholder to replace)."""

    value: float = Field(allow_inf_nan=False)
    year: int
    source: str = Field(min_length=1)
    evidence: Evidence
    example: bool = False
    note: str | None = None


class Band(SourcedValue):
    """A threshold, applying to parks whose annual comprehensive energy consumption [tce/yr]
    is in ``[min_annual_tce, max_annual_tce)`` (``None`` = no upper bound)."""

    min_annual_tce: float = Field(default=0.0, ge=0.0)
    max_annual_tce: float | None = None

    @model_validator(mode="after")
    def _band(self) -> Band:
        if self.max_annual_tce is not None and self.max_annual_tce <= self.min_annual_tce:
            raise ValueError(
                f"max_annual_tce {self.max_annual_tce} is not above min_annual_tce "
                f"{self.min_annual_tce}"
            )
        return self

    @property
    def banded(self) -> bool:
        """Whether the threshold depends on the park's annual energy."""
        return self.min_annual_tce > 0.0 or self.max_annual_tce is not None

    def covers(self, annual_tce: float) -> bool:
        """Whether a park of ``annual_tce`` [tce/yr] is in this band."""
        top = math.inf if self.max_annual_tce is None else self.max_annual_tce
        return self.min_annual_tce <= annual_tce < top


class SectorScale(_Frozen):
    """Baseline (基准值, score 0) and leading value (引领值, score 100) of one sector."""

    sector: str = Field(pattern=_KEY)
    baseline: SourcedValue
    leading: SourcedValue


class Ratio(_Frozen):
    """``scale × Σ numerator / Σ denominator``; each term a smartpark indicator name or
    ``declared:<name>``."""

    numerator: tuple[str, ...] = Field(min_length=1)
    denominator: tuple[str, ...] = Field(min_length=1)
    scale: float = Field(default=1.0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _terms(self) -> Ratio:
        for term in (*self.numerator, *self.denominator):
            if not re.match(_TERM, term):
                raise ValueError(f"{term!r} is not an indicator name or declared:<name>")
        return self


class TargetIndicator(_Frozen):
    """One indicator of a profile. Exactly one of ``reads`` (an indicator name or ``declared``)
    and ``ratio``; at most one of ``thresholds`` and ``sectors`` (neither = park-configurable,
    no default)."""

    key: str = Field(pattern=_KEY)
    title: str = Field(min_length=1)
    role: Role
    veto: bool = False
    reads: str | None = Field(default=None, pattern=_KEY)
    ratio: Ratio | None = None
    direction: Direction
    unit: str = Field(min_length=1)
    thresholds: tuple[Band, ...] = ()
    sectors: tuple[SectorScale, ...] = ()
    note: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> TargetIndicator:
        if (self.reads is None) == (self.ratio is None):
            raise ValueError(f"{self.key}: give exactly one of 'reads' and 'ratio'")
        if self.thresholds and self.sectors:
            raise ValueError(f"{self.key}: give 'thresholds' or 'sectors', not both")
        bands = self.thresholds
        for i, a in enumerate(bands):
            for b in bands[i + 1 :]:
                a_top = math.inf if a.max_annual_tce is None else a.max_annual_tce
                b_top = math.inf if b.max_annual_tce is None else b.max_annual_tce
                if a.min_annual_tce < b_top and b.min_annual_tce < a_top:
                    raise ValueError(
                        f"{self.key}: the annual-energy bands of thresholds {a.value} and "
                        f"{b.value} overlap"
                    )
        seen: set[str] = set()
        for s in self.sectors:
            if s.sector in seen:
                raise ValueError(f"{self.key}: sector {s.sector!r} given twice")
            seen.add(s.sector)
            better = (
                s.leading.value < s.baseline.value
                if self.direction == "le"
                else s.leading.value > s.baseline.value
            )
            if not better:
                raise ValueError(
                    f"{self.key}, sector {s.sector}: the leading value {s.leading.value} must be "
                    f"better than the baseline {s.baseline.value} for direction {self.direction}"
                )
        return self

    @property
    def declared(self) -> bool:
        """Whether the park declares the value (the telemetry cannot measure it)."""
        return self.reads == DECLARED

    @property
    def scored(self) -> bool:
        """Whether the indicator is scored between a baseline and a leading value."""
        return bool(self.sectors)

    @property
    def configurable(self) -> bool:
        """Park-configurable with no default: neither thresholds nor sectors."""
        return not self.thresholds and not self.sectors

    def sector(self, name: str) -> SectorScale | None:
        """The baseline and leading value of sector ``name``, if the table has it."""
        return next((s for s in self.sectors if s.sector == name), None)


class TargetProfile(_Frozen):
    """A target profile, applying on ``[valid_from, valid_to)``."""

    id: str = Field(pattern=_KEY)
    title: str = Field(min_length=1)
    document: str = Field(min_length=1)
    year: int
    valid_from: date
    valid_to: date | None = None
    evidence: Evidence
    source: str = Field(min_length=1)
    note: str | None = None
    indicators: tuple[TargetIndicator, ...]

    @model_validator(mode="after")
    def _keys(self) -> TargetProfile:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError(f"{self.id}: valid_to {self.valid_to} is not after {self.valid_from}")
        if not self.indicators:
            raise ValueError(f"{self.id}: a profile needs at least one indicator")
        keys = [i.key for i in self.indicators]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise ValueError(f"{self.id}: indicator key(s) given twice: {', '.join(twice)}")
        return self

    def applies(self, on: date) -> bool:
        """Whether the profile is in force on ``on``."""
        return self.valid_from <= on and (self.valid_to is None or on < self.valid_to)

    def indicator(self, key: str) -> TargetIndicator:
        """The indicator ``key`` (KeyError if the profile has none)."""
        for i in self.indicators:
            if i.key == key:
                return i
        raise KeyError(f"profile {self.id} has no indicator {key!r}")


class TargetTable(_Frozen):
    """Effective-dated target profiles; one id may have several versions whose windows do not
    overlap."""

    table: Literal["targets"]
    profiles: tuple[TargetProfile, ...]

    @model_validator(mode="after")
    def _no_overlap(self) -> TargetTable:
        for i, a in enumerate(self.profiles):
            for b in self.profiles[i + 1 :]:
                a_end, b_end = a.valid_to or date.max, b.valid_to or date.max
                if a.id == b.id and a.valid_from < b_end and b.valid_from < a_end:
                    raise ValueError(f"the windows of two versions of profile {a.id!r} overlap")
        return self

    def ids(self) -> tuple[str, ...]:
        """The profile ids, in file order, each once."""
        return tuple(dict.fromkeys(p.id for p in self.profiles))

    def profile(self, id: str, on: date | None = None) -> TargetProfile:
        """The version of profile ``id`` in force on ``on`` (default: the latest version).

        Raises
        ------
        TargetNotFoundError
            If there is none.
        """
        versions = [p for p in self.profiles if p.id == id]
        if on is not None:
            versions = [p for p in versions if p.applies(on)]
        if not versions:
            when = f" on {on}" if on is not None else ""
            raise TargetNotFoundError(f"no target profile {id!r}{when}; known: {self.ids()}")
        return max(versions, key=lambda p: p.valid_from)


# -- loading (config/yamlfile.py) ---------------------------------------------------------------


def load_targets(path: Path | None = None, *, name: str = "targets.yaml") -> TargetTable:
    """Load a target table from ``path``, or the shipped ``config/data/<name>``.

    Raises
    ------
    TargetError
        If the file cannot be read or is invalid; each problem with file and line.
    """
    return read_table(TargetTable, path, name, TargetError)


OVERRIDE_FILE = "targets.yaml"
"""The file of a tables folder (``SMARTPARK_TABLES_DIR``) that extends the shipped targets."""


def extend_targets(shipped: TargetTable, override: TargetTable) -> TargetTable:
    """``shipped`` with every profile id ``override`` names replaced by the override's versions
    of it, and the override's other profiles added."""
    ids = set(override.ids())
    kept = tuple(p for p in shipped.profiles if p.id not in ids)
    return TargetTable(table="targets", profiles=(*kept, *override.profiles))


@functools.cache
def _targets(stamp: tuple[Path, int, int] | None) -> TargetTable:
    table = load_targets()
    if stamp is None:
        return table
    return extend_targets(table, load_targets(stamp[0]))


def targets() -> TargetTable:
    """The target table: the shipped one, extended by ``targets.yaml`` of
    ``SMARTPARK_TABLES_DIR`` (loaded again when the file changes)."""
    try:
        return _targets(override_stamp(tables_dir(), OVERRIDE_FILE))
    except FactorError as exc:  # the override cannot be read
        raise TargetError(exc.problems) from None
