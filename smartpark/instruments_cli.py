"""``smartpark instruments import FILE.csv`` and ``smartpark instruments list``: the
green-instrument ledger from the command line (settings from ``SMARTPARK_*``).

The CSV columns are those of the API's body plus ``id`` (docs/accounting.md, "Green
instruments: entering them"; examples/instruments.csv). Every line is checked — on its own, against
the stored instruments and against the lines above it — before anything is stored: a problem
is reported as ``FILE:LINE: field: message`` and then nothing is imported.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from config.errors import ConfigError
from config.messages import message

if TYPE_CHECKING:
    from config.registry import ParkRegistry, Registry
    from services.instruments import FieldProblem, InstrumentRecord
    from store.base import Store

__all__ = ["COLUMNS", "REQUIRED", "add_parser", "read_csv", "run"]

COLUMNS = (
    "id",
    "kind",
    "tenant",
    "certificates",
    "vintage",
    "generation_from",
    "generation_to",
    "retired_from",
    "retired_to",
    "serial_first",
    "serial_last",
    "cancellation_id",
    "kwh_per_month",
    "counterparty",
)
"""The columns a CSV file may have, in any order (header line, UTF-8, a BOM allowed)."""

REQUIRED = ("id", "kind", "generation_from", "generation_to")
"""Columns every file must have; the others may be left out or empty."""

_INTS = ("certificates", "vintage")
_FLOATS = ("kwh_per_month",)
_MAX_BYTES = 10 * 2**20  # a park holds hundreds of instruments, not a hundred thousand


def _n(what: str, n: int) -> str:
    """``1 instrument`` / ``2 instruments``: a count from the catalogue (``cli.n_<what>``)."""
    return message(f"cli.n_{what}", "en", n=n, count=n)


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``instruments import`` and ``instruments list`` to the ``smartpark`` parser."""
    parser = sub.add_parser(
        "instruments",
        help="green instruments: certificates, trading contracts, direct supply",
        description="The park's green-instrument ledger in the store (settings from SMARTPARK_*).",
    )
    actions = parser.add_subparsers(dest="instruments_command", required=True, metavar="ACTION")
    imp = actions.add_parser(
        "import",
        help="check every line of a CSV file, then store them all (or nothing)",
        description="Columns: " + ", ".join(COLUMNS) + " (see docs/accounting.md). A line "
        "whose id is stored already replaces that instrument.",
    )
    imp.add_argument("file", type=Path, metavar="FILE.csv")
    imp.add_argument("--park", help="park id (default: the registry's only park)")
    imp.add_argument("--dry-run", action="store_true", help="check only, store nothing")
    show = actions.add_parser("list", help="the stored instruments, one per line")
    show.add_argument("--park", help="park id (default: the registry's only park)")
    show.add_argument("--year", type=int, help="only those retired against this year")
    show.add_argument("--tenant", help="only this tenant's")


@dataclass(frozen=True, slots=True)
class CsvLine:
    """One data line of the file: its line number (1-based, the header is line 1) and either a
    record or the problems that kept it from being one."""

    line: int
    record: InstrumentRecord | None
    problems: tuple[FieldProblem, ...] = ()


def read_csv(path: Path) -> list[CsvLine]:
    """Every data line of ``path`` as a record, or its problems (numbers that are not numbers,
    unknown kinds). Raises :class:`~config.errors.ConfigError` when the file cannot be read or
    its header is wrong."""
    from services.instruments import FieldProblem, InstrumentRecord

    try:
        if path.stat().st_size > _MAX_BYTES:
            raise ConfigError(f"{path}: larger than {_MAX_BYTES:,} bytes")
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it as UTF-8 text ({exc})") from None
    reader = csv.DictReader(text.splitlines(keepends=True), strict=True)
    try:
        header = [h.strip() for h in reader.fieldnames or []]
    except csv.Error as exc:
        raise ConfigError(f"{path}:1: {exc}") from None
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in REQUIRED if c not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise ConfigError(
            f"{path}:1: the header must name columns of: {', '.join(COLUMNS)}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            + (f"; missing: {', '.join(missing)}" if missing else "")
        )
    reader.fieldnames = header
    out: list[CsvLine] = []
    try:
        for row in reader:
            if None in row:
                problem = FieldProblem("line", "more cells than the header has columns", "cells")
                out.append(CsvLine(reader.line_num, None, (problem,)))
                continue
            values = {k: v.strip() for k, v in row.items() if v is not None and v.strip()}
            if not values:
                continue  # a blank line
            problems: list[FieldProblem] = []
            fields = {name: _convert(name, value, problems) for name, value in values.items()}
            kind = fields.get("kind")
            if kind is not None and kind not in ("gec", "contract", "direct"):
                text = f"{kind!r} is not gec, contract or direct"
                problems.append(FieldProblem("kind", text, "bad_kind"))
            for name in REQUIRED:
                if name not in fields:
                    problems.append(FieldProblem(name, "is empty", "required"))
            # a cell that is not a number is left out, so the rest of the line is still checked
            usable: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
            complete = not any(p.field in REQUIRED for p in problems)
            record = InstrumentRecord(**usable) if complete else None
            out.append(CsvLine(reader.line_num, record, tuple(problems)))
    except csv.Error as exc:
        raise ConfigError(f"{path}:{reader.line_num}: {exc}") from None
    return out


def _convert(name: str, value: str, problems: list[FieldProblem]) -> object:
    from services.instruments import FieldProblem

    convert: Callable[[str], object] | None = (
        int if name in _INTS else float if name in _FLOATS else None
    )
    if convert is None:
        return value
    try:
        return convert(value)
    except ValueError:
        what = "a whole number" if convert is int else "a number (no thousands separators)"
        problems.append(FieldProblem(name, f"{value!r} is not {what}", "not_a_number"))
        return None


def _park(registry: Registry, park_id: str | None) -> ParkRegistry:
    if park_id is None:
        if len(registry.parks) != 1:
            raise ConfigError(f"give --park: the registry has {', '.join(registry.parks)}")
        return next(iter(registry.parks.values()))
    park = registry.park(park_id)
    if park is None:
        raise ConfigError(
            f"no park {park_id!r} in the registry; known: {', '.join(registry.parks)}"
        )
    return park


def run(args: argparse.Namespace) -> int:
    """``smartpark instruments …``: the exit code (0 done, 1 problems in the file)."""
    from config.registry import load_registry
    from config.settings import get_settings
    from store import open_stores

    settings = get_settings()
    registry = load_registry(settings.registry)
    park = _park(registry, args.park)
    if args.instruments_command == "import":
        lines = read_csv(args.file)
    store = open_stores(settings, registry)
    try:
        if args.instruments_command == "import":
            return _import(store, park, args.file, lines, dry_run=args.dry_run)
        return _list(store, park, year=args.year, tenant=args.tenant)
    finally:
        store.close()


def _import(
    store: Store, park: ParkRegistry, path: Path, lines: list[CsvLine], *, dry_run: bool
) -> int:
    from services.instruments import check_instruments, put_instruments

    parsed = [ln for ln in lines if ln.record is not None]
    checked = check_instruments(store, park, [ln.record for ln in parsed if ln.record])
    problems = {ln.line: list(ln.problems) for ln in lines if ln.problems}
    for ln, found in zip(parsed, checked, strict=True):
        flagged = {p.field for p in ln.problems}
        more = [p for p in found if p.field not in flagged]
        if more:
            problems.setdefault(ln.line, []).extend(more)
    if problems:
        for line in sorted(problems):
            for p in problems[line]:
                _err(f"{path}:{line}: {p}")
        count = sum(len(p) for p in problems.values())
        _err(f"{_n('problems', count)} on {_n('lines', len(problems))} of {path}: nothing imported")
        return 1
    records = [ln.record for ln in parsed if ln.record is not None]
    if not records:
        _err(f"{path}: no instruments in the file; nothing imported")
        return 1
    if dry_run:
        _say(f"{path}: {_n('instruments', len(records))} checked, none stored (--dry-run)")
        return 0
    stored = put_instruments(store, park, records, entered_by="cli")
    kwh = sum(r.energy_kwh for r in stored)
    _say(f"imported {_n('instruments', len(stored))} into park {park.id!r} ({kwh:,.0f} kWh)")
    return 0


def _list(store: Store, park: ParkRegistry, *, year: int | None, tenant: str | None) -> int:
    from services.instruments import KIND_LABELS, list_instruments

    found = list_instruments(store, park, year=year, tenant=tenant)
    for r in found:
        zh, en = KIND_LABELS[r.kind]
        amount = f"{r.certificates} GEC" if r.kind == "gec" else f"{r.kwh_per_month:,.0f} kWh/month"
        ref = " ".join(
            f"{k}={v}"
            for k, v in (
                ("serials", f"{r.serial_first}..{r.serial_last}" if r.serial_first else None),
                ("cancellation", r.cancellation_id),
                ("counterparty", r.counterparty),
            )
            if v
        )
        _say(
            f"{r.id}\t{zh} {en}\t{r.tenant or 'park'}\t{amount}\t{r.energy_kwh:,.0f} kWh"
            f"\tgenerated {r.generation_from}..{r.generation_to}"
            f"\tretired against {r.retired_from}..{r.retired_to}\t{ref}".rstrip()
        )
    _err(f"{_n('instruments', len(found))}, {sum(r.energy_kwh for r in found):,.0f} kWh")
    return 0
