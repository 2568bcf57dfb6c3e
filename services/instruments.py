"""The green-instrument ledger: certificates, trading contracts and direct supply a park holds.

An instrument evidences green electricity (docs/accounting.md §3):

- ``gec`` — a batch of green electricity certificates (绿证, 1 GEC = 1,000 kWh,
  发改能源[2023]1044号): how many, their generation period (the vintage is its year), the serial
  range and/or the cancellation id of the retirement, and the consumption months they are
  retired against;
- ``contract`` — green-power trading (绿电交易): kWh per month over its delivery months and the
  counterparty;
- ``direct`` — green-power direct supply (绿电直连): kWh per month over its delivery months.

Each has a scope: the park as a whole (``tenant`` None) or one tenant. Periods are local calendar
months ``YYYY-MM``, both ends included; each lies in one calendar year (a multi-year contract is
entered once per year), so an instrument counts in one year only.

**Stored form.** Measurement :data:`INSTRUMENT`, one point per version of a record: tags ``park``
and ``device`` = ``<id>`` followed by ``?`` and the record's text attributes URL-encoded
(``tenant``, ``counterparty``, ``serial_first``, ``serial_last``, ``cancellation_id``,
``entered_by``; the store's fields are numbers only), numeric fields (kind code, month indices,
certificates, kWh per month), at the time of the write [ns]. The newest version of an id is the
record; deleting writes a version with ``deleted = 1``. So every process sees the same ledger,
a write never edits a stored point, and the history of a record stays in the store. The store
has no transactions: two processes entering overlapping serial ranges at the same instant could
both pass the checks.

**Rules checked on entry** (bad input changes nothing; every problem names its field):
count or kWh ≤ 0, malformed months or periods, a tenant the park does not have, a vintage
outside the window (:func:`analytics.instruments.instrument_problems`) →
:class:`InvalidInstrumentError` (HTTP 422); a serial range overlapping one already stored, or a
cancellation id already used — the same certificates retired twice →
:class:`InstrumentConflictError` (409). Writing an id again replaces that record.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import parse_qsl, quote, urlencode

from analytics.carbon import KWH_PER_GEC
from analytics.instruments import (
    GEC_VALIDITY_MONTHS,
    INSTRUMENT_KINDS,
    ConsumptionBucket,
    Instrument,
    InstrumentKind,
    MatchResult,
    instrument_problems,
    match,
    month_index,
    year_month,
)
from config.errors import ConflictError, InvalidRequestError, NotFoundError, UnavailableError
from config.registry import ParkRegistry
from store.base import Point, Store

__all__ = [
    "ID_PATTERN",
    "INSTRUMENT",
    "KIND_LABELS",
    "FieldProblem",
    "GreenUse",
    "InstrumentConflictError",
    "InstrumentNotFoundError",
    "InstrumentRecord",
    "InstrumentUse",
    "InvalidInstrumentError",
    "check_instruments",
    "delete_instrument",
    "get_instrument",
    "green_use",
    "instruments_for_year",
    "list_instruments",
    "match_year",
    "month_text",
    "put_instrument",
    "put_instruments",
]

log = logging.getLogger(__name__)

INSTRUMENT = "instrument"
"""Measurement of the instrument ledger (module docstring)."""

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
"""An instrument id: 1–64 letters, digits, ``.``, ``_``, ``-`` (no ``?`` or ``@``: the stored form
and :func:`instruments_for_year` use them as separators)."""

KIND_LABELS: dict[InstrumentKind, tuple[str, str]] = {
    "gec": ("绿证", "green electricity certificates (GEC)"),
    "contract": ("绿电交易", "green-power trading contract"),
    "direct": ("绿电直连", "green-power direct supply"),
}
"""(zh, en) names of the instrument kinds, for reports."""

_ID = re.compile(ID_PATTERN)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_SERIAL = re.compile(r"^([A-Za-z0-9-]{0,63}?)(\d{1,40})$")
_TEXT_MAX = {"counterparty": 200, "cancellation_id": 100, "entered_by": 100}
_YEARS = (2000, 2100)
_MAX_CERTIFICATES = 10**9  # 10^12 kWh: far above any park, low enough to stay exact in a float
_MAX_KWH_PER_MONTH = 1e12
_MONTH_SEP = "@"  # an analytics instrument id of one month of a contract: <id>@<YYYY-MM>
_ALL_NS = (0, 2**62)  # every version time [ns] a store may hold for this ledger
_MAX_VERSIONS = 100_000  # versions of all records of a park read at once

ProblemKind = Literal["invalid", "conflict"]


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """What is wrong with one field of a record: its name, a sentence, a stable code, and whether
    the record is malformed (``invalid``, 422) or clashes with another (``conflict``, 409)."""

    field: str
    message: str
    code: str
    kind: ProblemKind = "invalid"

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class _Problems(Exception):
    def __init__(self, problems: Sequence[FieldProblem], *, prefix: str = "") -> None:
        self.problems = tuple(problems)
        super().__init__(prefix + "; ".join(str(p) for p in self.problems))


class InvalidInstrumentError(_Problems, InvalidRequestError):
    """A record that breaks a rule of its own (``problems`` names each field)."""


class InstrumentConflictError(_Problems, ConflictError):
    """A record that claims what another stored record claims (``problems`` names each field)."""


class InstrumentNotFoundError(NotFoundError):
    """The park has no instrument of that id."""


@dataclass(frozen=True, slots=True)
class InstrumentRecord:
    """One instrument as entered. Months are ``YYYY-MM`` (local calendar, both ends included).

    ``certificates`` [GEC] for a ``gec``; ``kwh_per_month`` [kWh/month] for a ``contract`` or
    ``direct`` supply. ``retired_from``/``retired_to``: the consumption months it is retired
    against (required for a GEC; a contract or direct supply defaults to its delivery months,
    ``generation_from``/``generation_to``). ``vintage`` [year], when given, must be the year of
    the generation period. ``tenant`` None: the park as a whole. ``entered_by`` and
    ``updated_ns`` [ns since the epoch] are set by the ledger.
    """

    id: str
    kind: InstrumentKind
    generation_from: str
    generation_to: str
    retired_from: str | None = None
    retired_to: str | None = None
    tenant: str | None = None
    certificates: int | None = None
    vintage: int | None = None
    serial_first: str | None = None
    serial_last: str | None = None
    cancellation_id: str | None = None
    kwh_per_month: float | None = None
    counterparty: str | None = None
    entered_by: str | None = None
    updated_ns: int | None = None

    @property
    def generation_months(self) -> range:
        """Month indices (:func:`analytics.instruments.month_index`) of the generation period."""
        return range(_month(self.generation_from), _month(self.generation_to) + 1)

    @property
    def retired_months(self) -> range:
        """Month indices of the consumption period it is retired against."""
        first = self.retired_from or self.generation_from
        last = self.retired_to or self.generation_to
        return range(_month(first), _month(last) + 1)

    @property
    def vintage_year(self) -> int:
        """The generation year [year]."""
        return _month(self.generation_from) // 12

    @property
    def reporting_year(self) -> int:
        """The calendar year of the consumption it is retired against [year]."""
        return self.retired_months.start // 12

    @property
    def energy_kwh(self) -> float:
        """What it evidences [kWh]: certificates × 1,000 kWh (发改能源[2023]1044号), or kWh per
        month × the months it is retired against."""
        if self.kind == "gec":
            return float(self.certificates or 0) * KWH_PER_GEC
        return float(self.kwh_per_month or 0.0) * len(self.retired_months)


def month_text(index: int) -> str:
    """``YYYY-MM`` of a month index (:func:`analytics.instruments.month_index`)."""
    year, month = year_month(index)
    return f"{year:04d}-{month:02d}"


def _month(text: str) -> int:
    found = _MONTH.fullmatch(text)
    if found is None:
        raise ValueError(f"{text!r} is not a month YYYY-MM")
    return month_index(int(found[1]), int(found[2]))


# -- checking ------------------------------------------------------------------------------------


def _shape_problems(rec: InstrumentRecord, park: ParkRegistry) -> list[FieldProblem]:
    """Every problem of one record on its own (422)."""
    out: list[FieldProblem] = []
    if not _ID.fullmatch(rec.id):
        out.append(
            FieldProblem("id", f"{rec.id!r} is not 1-64 letters, digits, '.', '_' or '-'", "bad_id")
        )
    if rec.kind not in INSTRUMENT_KINDS:
        known = ", ".join(INSTRUMENT_KINDS)
        return [*out, FieldProblem("kind", f"{rec.kind!r} is not one of {known}", "bad_kind")]
    months = _month_problems(rec, out)
    out += _amount_problems(rec)
    if rec.vintage is not None and "generation_from" in months:
        year = months["generation_from"] // 12
        if rec.vintage != year:
            text = f"{rec.vintage} is not the year of the generation period ({rec.generation_from})"
            out.append(FieldProblem("vintage", text, "bad_vintage"))
    out += _serial_problems(rec)
    for name, limit in _TEXT_MAX.items():
        text = getattr(rec, name)
        if text is not None and (not text.strip() or len(text) > limit or not text.isprintable()):
            out.append(FieldProblem(name, f"must be 1-{limit} printable characters", "bad_text"))
    if rec.tenant is not None and all(t.id != rec.tenant for t in park.tenants):
        known = ", ".join(t.id for t in park.tenants) or "none"
        text = f"park {park.id!r} has no tenant {rec.tenant!r} (known: {known})"
        out.append(FieldProblem("tenant", text, "unknown_tenant"))
    if not any(p.field.startswith(("generation_", "retired_")) for p in out):
        out += _vintage_problems(rec)
    return out


def _month_problems(rec: InstrumentRecord, out: list[FieldProblem]) -> dict[str, int]:
    """Append the problems of the four months and two periods to ``out``; returns the month
    indices of the months that are well formed."""
    months: dict[str, int] = {}
    for name in ("generation_from", "generation_to", "retired_from", "retired_to"):
        text = getattr(rec, name)
        if text is None:
            continue
        found = _MONTH.fullmatch(text)
        if found is None or not 1 <= int(found[2]) <= 12:
            out.append(FieldProblem(name, f"{text!r} is not a month YYYY-MM", "bad_month"))
        elif not _YEARS[0] <= int(found[1]) <= _YEARS[1]:
            text = f"{text} is outside the years {_YEARS[0]}-{_YEARS[1]}"
            out.append(FieldProblem(name, text, "bad_month"))
        else:
            months[name] = month_index(int(found[1]), int(found[2]))
    if (rec.retired_from is None) != (rec.retired_to is None):
        name = "retired_to" if rec.retired_to is None else "retired_from"
        text = "give both ends of the consumption period or neither"
        out.append(FieldProblem(name, text, "required"))
    elif rec.kind == "gec" and rec.retired_from is None:
        text = "a GEC batch needs the consumption months it is retired against (retired_from, "
        out.append(FieldProblem("retired_from", text + "retired_to)", "required"))
    for what in ("generation", "retired"):
        first, last = months.get(f"{what}_from"), months.get(f"{what}_to")
        if first is None or last is None:
            continue
        if last < first:
            text = f"{month_text(last)} is before {what}_from {month_text(first)}"
            out.append(FieldProblem(f"{what}_to", text, "bad_period"))
        elif first // 12 != last // 12:
            text = (
                f"the {what} period {month_text(first)} to {month_text(last)} crosses a "
                "calendar year: enter one record per year"
            )
            out.append(FieldProblem(f"{what}_to", text, "bad_period"))
    return months


def _amount_problems(rec: InstrumentRecord) -> list[FieldProblem]:
    """Certificates of a GEC batch, kWh per month of a contract or direct supply."""
    out = []
    if rec.kind == "gec":
        if rec.certificates is None:
            text = "a GEC batch needs its number of certificates"
            out.append(FieldProblem("certificates", text, "required"))
        elif rec.certificates <= 0:
            text = f"must be > 0, got {rec.certificates}"
            out.append(FieldProblem("certificates", text, "not_positive"))
        elif rec.certificates > _MAX_CERTIFICATES:
            text = f"must be at most {_MAX_CERTIFICATES:,}"
            out.append(FieldProblem("certificates", text, "too_large"))
        if rec.kwh_per_month is not None:
            text = "a GEC batch is counted in certificates, not kWh per month"
            out.append(FieldProblem("kwh_per_month", text, "not_allowed"))
        if rec.serial_first is None and rec.serial_last is None and rec.cancellation_id is None:
            text = (
                "a GEC batch needs its serial range (serial_first, serial_last) or the "
                "cancellation id of its retirement"
            )
            out.append(FieldProblem("serial_first", text, "required"))
        return out
    kwh = rec.kwh_per_month
    if kwh is None:
        out.append(FieldProblem("kwh_per_month", f"a {rec.kind} needs its kWh", "required"))
    elif not (math.isfinite(kwh) and kwh > 0):
        out.append(FieldProblem("kwh_per_month", f"must be > 0, got {kwh!r}", "not_positive"))
    elif kwh > _MAX_KWH_PER_MONTH:
        text = f"must be at most {_MAX_KWH_PER_MONTH:,.0f}"
        out.append(FieldProblem("kwh_per_month", text, "too_large"))
    if rec.certificates is not None:
        text = f"a {rec.kind} is counted in kWh per month, not certificates"
        out.append(FieldProblem("certificates", text, "not_allowed"))
    if rec.kind == "contract" and not rec.counterparty:
        text = "a green-power trading contract needs its counterparty"
        out.append(FieldProblem("counterparty", text, "required"))
    return out


def _serial(text: str) -> tuple[str, int] | None:
    found = _SERIAL.fullmatch(text)
    return (found[1], int(found[2])) if found else None


def _serial_problems(rec: InstrumentRecord) -> list[FieldProblem]:
    if rec.serial_first is None and rec.serial_last is None:
        return []
    if rec.serial_first is None or rec.serial_last is None:
        name = "serial_first" if rec.serial_first is None else "serial_last"
        return [FieldProblem(name, "give both ends of the serial range", "required")]
    first, last = _serial(rec.serial_first), _serial(rec.serial_last)
    for name, text, parsed in (
        ("serial_first", rec.serial_first, first),
        ("serial_last", rec.serial_last, last),
    ):
        if parsed is None:
            return [
                FieldProblem(
                    name,
                    f"{text!r} is not a serial: a prefix of letters, digits "
                    "and '-' ending in 1-40 digits",
                    "bad_serial",
                )
            ]
    assert first is not None
    assert last is not None
    if first[0] != last[0]:
        return [
            FieldProblem(
                "serial_last",
                f"{rec.serial_last} has another prefix than serial_first {rec.serial_first}",
                "bad_serial",
            )
        ]
    count = last[1] - first[1] + 1
    if count <= 0:
        return [
            FieldProblem(
                "serial_last",
                f"{rec.serial_last} is before serial_first {rec.serial_first}",
                "bad_serial",
            )
        ]
    if rec.kind == "gec" and rec.certificates is not None and 0 < rec.certificates != count:
        return [
            FieldProblem(
                "serial_last",
                f"the range {rec.serial_first}..{rec.serial_last} "
                f"holds {count} serials, certificates says {rec.certificates}",
                "serial_count",
            )
        ]
    return []


_VINTAGE_FIELD = {
    "retired_before_generation": "vintage",
    "retired_after_validity": "vintage",
    "retired_outside_generation": "retired_from",
}


def _vintage_problems(rec: InstrumentRecord) -> list[FieldProblem]:
    """The matcher's vintage rules (GHG Protocol Scope 2 Quality Criterion 5), by field."""
    gen, ret = rec.generation_months, rec.retired_months
    # energy plays no part in these rules (and may be the invalid part of the record)
    inst = Instrument(rec.id or "-", rec.kind, 0.0, gen.start, gen.stop, ret.start, ret.stop)
    out = []
    for p in instrument_problems([inst]):
        consumed = month_text(ret.start)
        if len(ret) > 1:
            consumed += f" to {month_text(ret.stop - 1)}"
        if p.code == "retired_before_generation":
            text = (
                f"vintage {rec.vintage_year} generated from {rec.generation_from} cannot "
                f"cover consumption from {month_text(ret.start)}, before it was generated"
            )
        elif p.code == "retired_after_validity":
            until = month_text(gen.start + GEC_VALIDITY_MONTHS - 1)
            text = (
                f"a GEC of vintage {rec.vintage_year} is valid {GEC_VALIDITY_MONTHS} months "
                f"from {rec.generation_from}, until {until}; it cannot cover {consumed}"
            )
        else:
            text = (
                f"a {rec.kind} delivered {rec.generation_from} to {rec.generation_to} "
                f"cannot cover {consumed}"
            )
        out.append(FieldProblem(_VINTAGE_FIELD.get(p.code, p.field), text, p.code))
    return out


def _overlap(a: InstrumentRecord, b: InstrumentRecord) -> bool:
    if None in (a.serial_first, a.serial_last, b.serial_first, b.serial_last):
        return False
    a1, a2 = _serial(a.serial_first or ""), _serial(a.serial_last or "")
    b1, b2 = _serial(b.serial_first or ""), _serial(b.serial_last or "")
    if a1 is None or a2 is None or b1 is None or b2 is None or a1[0] != b1[0]:
        return False
    return a1[1] <= b2[1] and b1[1] <= a2[1]


def _conflicts(rec: InstrumentRecord, others: Iterable[InstrumentRecord]) -> list[FieldProblem]:
    out = []
    for other in others:
        if _overlap(rec, other):
            out.append(
                FieldProblem(
                    "serial_first",
                    f"serials {rec.serial_first}..{rec.serial_last} overlap instrument "
                    f"{other.id!r} ({other.serial_first}..{other.serial_last}): a certificate "
                    "is retired once",
                    "overlapping_serials",
                    "conflict",
                )
            )
        if rec.cancellation_id is not None and rec.cancellation_id == other.cancellation_id:
            out.append(
                FieldProblem(
                    "cancellation_id",
                    f"{rec.cancellation_id!r} is already the retirement of instrument "
                    f"{other.id!r}: an instrument is retired once",
                    "retired_twice",
                    "conflict",
                )
            )
    return out


def check_instruments(
    store: Store, park: ParkRegistry, records: Sequence[InstrumentRecord]
) -> list[tuple[FieldProblem, ...]]:
    """The problems of each record, in order (empty tuples: all may be stored).

    Each record is checked on its own, then against the park's stored instruments (a record
    replaces the stored one of its id) and against the records before it in ``records``.
    """
    stored = {r.id: r for r in list_instruments(store, park)}
    replaced = {r.id for r in records}
    kept = [r for r in stored.values() if r.id not in replaced]
    seen: dict[str, int] = {}
    out: list[tuple[FieldProblem, ...]] = []
    for i, rec in enumerate(records):
        problems = _shape_problems(rec, park)
        if rec.id in seen:
            problems.append(
                FieldProblem(
                    "id",
                    f"{rec.id!r} is given twice (record {seen[rec.id] + 1} and {i + 1})",
                    "duplicate_id",
                )
            )
        seen.setdefault(rec.id, i)
        if not problems:
            earlier = [r for j, r in enumerate(records[:i]) if not out[j]]
            problems += _conflicts(rec, [*kept, *earlier])
        out.append(tuple(problems))
    return out


# -- the stored form -----------------------------------------------------------------------------

_TEXT = ("tenant", "counterparty", "serial_first", "serial_last", "cancellation_id", "entered_by")
_KIND_CODE = {k: float(i) for i, k in enumerate(INSTRUMENT_KINDS)}  # the order is the format


def _to_point(park: str, rec: InstrumentRecord, time_ns: int) -> Point:
    text = {k: v for k in _TEXT if (v := getattr(rec, k)) is not None}
    device = rec.id + ("?" + urlencode(text, quote_via=quote) if text else "")
    gen, ret = rec.generation_months, rec.retired_months
    fields = {
        "kind": _KIND_CODE[rec.kind],
        "deleted": 0.0,
        "generation_start": float(gen.start),
        "generation_end": float(gen.stop),
        "retired_start": float(ret.start),
        "retired_end": float(ret.stop),
    }
    if rec.certificates is not None:
        fields["certificates"] = float(rec.certificates)
    if rec.kwh_per_month is not None:
        fields["kwh_per_month"] = rec.kwh_per_month
    return Point(INSTRUMENT, {"park": park, "device": device}, fields, time_ns)


def _from_row(device: str, fields: Mapping[str, float], time_ns: int) -> InstrumentRecord:
    rec_id, _, query = device.partition("?")
    text = dict(parse_qsl(query, keep_blank_values=True))
    kind = INSTRUMENT_KINDS[int(fields["kind"])]
    gen = (int(fields["generation_start"]), int(fields["generation_end"]) - 1)
    ret = (int(fields["retired_start"]), int(fields["retired_end"]) - 1)
    certificates = fields.get("certificates")
    return InstrumentRecord(
        id=rec_id,
        kind=kind,
        generation_from=month_text(gen[0]),
        generation_to=month_text(gen[1]),
        retired_from=month_text(ret[0]),
        retired_to=month_text(ret[1]),
        certificates=int(certificates) if certificates is not None else None,
        vintage=gen[0] // 12,
        kwh_per_month=fields.get("kwh_per_month"),
        updated_ns=time_ns,
        **{k: text.get(k) for k in _TEXT},
    )


def _versions(store: Store, park: ParkRegistry) -> dict[str, tuple[int, InstrumentRecord | None]]:
    """Newest version of every id: (time [ns], the record, or None once deleted)."""
    newest: dict[str, tuple[int, InstrumentRecord | None]] = {}
    rows = store.scan(
        park.id, measurement=INSTRUMENT, start_ns=_ALL_NS[0], end_ns=_ALL_NS[1], limit=_MAX_VERSIONS
    )
    if len(rows) >= _MAX_VERSIONS:  # oldest first: the newest versions would be the ones cut
        raise UnavailableError(
            f"park {park.id!r} holds {_MAX_VERSIONS:,} or more instrument versions; the ledger "
            "cannot be read whole (docs/accounting.md §8)"
        )
    for row in rows:
        rec_id = row.device.partition("?")[0]
        if rec_id in newest and newest[rec_id][0] > row.time_ns:
            continue
        if row.fields.get("deleted", 0.0) >= 1.0:
            newest[rec_id] = (row.time_ns, None)
            continue
        try:
            newest[rec_id] = (row.time_ns, _from_row(row.device, row.fields, row.time_ns))
        except (KeyError, IndexError, ValueError) as exc:
            log.warning(
                "park %s: skipped a malformed instrument point %r (%s)", park.id, row.device, exc
            )
    return newest


# -- the ledger ----------------------------------------------------------------------------------


def list_instruments(
    store: Store, park: ParkRegistry, *, year: int | None = None, tenant: str | None = None
) -> list[InstrumentRecord]:
    """The park's instruments, ordered by id; ``year`` keeps those retired against consumption
    of that calendar year [year], ``tenant`` those scoped to that tenant."""
    out = [rec for _, rec in _versions(store, park).values() if rec is not None]
    if year is not None:
        out = [r for r in out if r.reporting_year == year]
    if tenant is not None:
        out = [r for r in out if r.tenant == tenant]
    return sorted(out, key=lambda r: r.id)


def get_instrument(store: Store, park: ParkRegistry, instrument_id: str) -> InstrumentRecord:
    """One instrument. Raises :class:`InstrumentNotFoundError`."""
    found = _versions(store, park).get(instrument_id)
    if found is None or found[1] is None:
        raise InstrumentNotFoundError(f"park {park.id!r} has no instrument {instrument_id!r}")
    return found[1]


def put_instruments(
    store: Store,
    park: ParkRegistry,
    records: Sequence[InstrumentRecord],
    *,
    entered_by: str | None = None,
    now_ns: int | None = None,
) -> list[InstrumentRecord]:
    """Store ``records`` (each replaces a stored one of its id) in one write, all or none.

    Raises :class:`InvalidInstrumentError` when any record breaks a rule of its own, else
    :class:`InstrumentConflictError` when one claims what another claims (messages name the
    record and field); then nothing is written. Returns the records as stored.
    """
    problems = check_instruments(store, park, records)
    for kind, error in (("invalid", InvalidInstrumentError), ("conflict", InstrumentConflictError)):
        found = [
            (rec, p)
            for rec, ps in zip(records, problems, strict=True)
            for p in ps
            if p.kind == kind
        ]
        if found:
            if len(records) == 1:
                raise error([p for _, p in found])
            raise error(
                [replace(p, message=f"instrument {rec.id!r}: {p.message}") for rec, p in found]
            )
    versions = _versions(store, park)
    at = max([now_ns or time.time_ns(), *(t + 1 for t, _ in versions.values())])
    stored = [
        replace(r, entered_by=entered_by, updated_ns=at, vintage=r.vintage_year) for r in records
    ]
    if stored:
        store.write([_to_point(park.id, r, at) for r in stored])
    return stored


def put_instrument(
    store: Store,
    park: ParkRegistry,
    record: InstrumentRecord,
    *,
    entered_by: str | None = None,
    now_ns: int | None = None,
) -> InstrumentRecord:
    """Store one record (replacing the stored one of its id); see :func:`put_instruments`."""
    return put_instruments(store, park, [record], entered_by=entered_by, now_ns=now_ns)[0]


def delete_instrument(
    store: Store, park: ParkRegistry, instrument_id: str, *, now_ns: int | None = None
) -> InstrumentRecord:
    """Delete one instrument; returns what it was. Raises :class:`InstrumentNotFoundError`."""
    versions = _versions(store, park)
    found = versions.get(instrument_id)
    if found is None or found[1] is None:
        raise InstrumentNotFoundError(f"park {park.id!r} has no instrument {instrument_id!r}")
    at = max(now_ns or time.time_ns(), found[0] + 1)
    tags = {"park": park.id, "device": instrument_id}
    store.write([Point(INSTRUMENT, tags, {"deleted": 1.0}, at)])
    return found[1]


# -- matching ------------------------------------------------------------------------------------


def _instruments(records: Iterable[InstrumentRecord]) -> list[Instrument]:
    out = []
    for rec in records:
        gen, ret = rec.generation_months, rec.retired_months
        if rec.kind == "gec":
            out.append(
                Instrument(
                    rec.id,
                    "gec",
                    rec.energy_kwh,
                    gen.start,
                    gen.stop,
                    ret.start,
                    ret.stop,
                    rec.tenant,
                )
            )
            continue
        # delivered kWh per month cover that month only: one instrument per month
        for m in ret:
            out.append(
                Instrument(
                    f"{rec.id}{_MONTH_SEP}{month_text(m)}",
                    rec.kind,
                    float(rec.kwh_per_month or 0.0),
                    m,
                    m + 1,
                    m,
                    m + 1,
                    rec.tenant,
                )
            )
    return out


def instruments_for_year(store: Store, park: ParkRegistry, year: int) -> list[Instrument]:
    """The park's instruments retired against consumption of ``year`` [year], as the matcher's
    :class:`~analytics.instruments.Instrument`.

    A GEC batch is one instrument (id = the record's id). A contract or direct supply is one
    instrument per month it covers, id ``<record id>@YYYY-MM``, holding that month's kWh: power
    delivered in one month is never claimed for another.
    """
    return _instruments(list_instruments(store, park, year=year))


def match_year(
    store: Store,
    park: ParkRegistry,
    year: int,
    consumption_kwh: Mapping[tuple[int, str | None], float],
) -> MatchResult:
    """Match the park's instruments of ``year`` to its electricity consumption.

    ``consumption_kwh`` maps ``(month, tenant)`` to the electricity consumed [kWh] in that local
    month by that scope: ``month`` is :func:`analytics.instruments.month_index` (``year × 12 +
    month − 1``, the park's local calendar), ``tenant`` a tenant id, or None for the park as a
    whole (its total, tenants included). Give the park total for every month that has a tenant
    entry: it caps what all tenants together receive. A month absent, or whose park total is
    NaN (unknown), receives nothing, nor do its tenants; a NaN tenant entry receives nothing.
    Entries of other years are allowed and receive nothing (instruments of ``year`` only cover
    ``year``).

    Returns the :class:`~analytics.instruments.MatchResult`: allocations per (month, tenant)
    [kWh] (``green_kwh(month, tenant)`` a tenant's certified green kWh; ``green_kwh(month)`` the
    park-scoped ones; ``park_green_kwh(month)`` all of a month) and each instrument's unused kWh.
    Contract months appear as ``<id>@YYYY-MM``; :func:`green_use` sums them back per record.

    Raises
    ------
    ValueError
        If a consumption is negative or infinite.
    """
    parks_known = {m for (m, t), v in consumption_kwh.items() if t is None and not math.isnan(v)}
    buckets = [
        ConsumptionBucket(m, float(v), t)
        for (m, t), v in sorted(consumption_kwh.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
        if not math.isnan(v) and m in parks_known
    ]
    return match(instruments_for_year(store, park, year), buckets)


@dataclass(frozen=True, slots=True)
class InstrumentUse:
    """One record as matched: kWh used and unused [kWh], and the months it covered."""

    record: InstrumentRecord
    used_kwh: float
    unused_kwh: float
    months: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class GreenUse:
    """A match result as reports show it.

    ``green_kwh[(month, tenant)][kind]`` [kWh]: certified green kWh of each kind claimed for the
    bucket (``tenant`` None: park-scoped instruments only); ``instruments``: every record of the
    year, ordered by id, with what it covered.
    """

    green_kwh: Mapping[tuple[int, str | None], Mapping[InstrumentKind, float]]
    instruments: tuple[InstrumentUse, ...] = field(default=())

    def total_kwh(self, month: int, tenant: str | None = None) -> float:
        """All certified green kWh [kWh] of one bucket, every kind."""
        return sum(self.green_kwh.get((month, tenant), {}).values())

    def park_total_kwh(self, month: int) -> float:
        """All certified green kWh [kWh] claimed in a month: park-scoped plus every tenant's."""
        return sum(sum(k.values()) for (m, _), k in self.green_kwh.items() if m == month)


def green_use(result: MatchResult, records: Iterable[InstrumentRecord]) -> GreenUse:
    """Per (month, tenant) green kWh by kind [kWh] and the instruments used, from a
    :func:`match_year` result and the records of that year (:func:`list_instruments`)."""
    by_id = {r.id: r for r in records}
    green: dict[tuple[int, str | None], dict[InstrumentKind, float]] = defaultdict(dict)
    used: dict[str, float] = defaultdict(float)
    months: dict[str, set[int]] = defaultdict(set)
    for a in result.allocations:
        rec = by_id.get(a.instrument_id.partition(_MONTH_SEP)[0])
        if rec is None:
            continue
        bucket = green[(a.month, a.tenant)]
        bucket[rec.kind] = bucket.get(rec.kind, 0.0) + a.energy_kwh
        used[rec.id] += a.energy_kwh
        months[rec.id].add(a.month)
    unused: dict[str, float] = defaultdict(float)
    for inst_id, kwh in result.unused_kwh.items():
        unused[inst_id.partition(_MONTH_SEP)[0]] += kwh
    uses = tuple(
        InstrumentUse(
            rec,
            used[rec.id],
            unused.get(rec.id, rec.energy_kwh - used[rec.id]),
            tuple(sorted(months[rec.id])),
        )
        for rec in sorted(by_id.values(), key=lambda r: r.id)
    )
    return GreenUse({k: dict(v) for k, v in green.items()}, uses)
