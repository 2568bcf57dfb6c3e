"""Prove a deployment: its ledger and energy against a simulator's ground truth.

The simulator's truth file (``docs/simulator.md``, "Ground truth") holds the exact increment of
every register of every device over every simulated interval. A deployment that collected the
same run holds the register readings and, when its ledger follower runs, the stored ledger. This
module sums both, per device, register and local day of the park, and compares:

- **ledger**: the interval ledger computed from the stored register readings (what the API's
  ``/ledger``, ``/energy`` and the reports compute, :func:`services.ledger.device_ledger`);
- **stored**: the stored ledger the follower or ``smartpark ledger rebuild`` wrote
  (:func:`services.ledger.stored_ledger`, what the daily roll-ups and the dashboard's quality
  strips rest on).

What can be compared: a register's energy is known between its first and last delivered
reading, so for each device only the ledger intervals inside the truth's simulated span
``(first tick, last tick]`` count (the truth row of the first tick covers energy before any
reading, which no deployment can know). A day passes when every compared figure is within
``tolerance`` (relative) of the truth, or within :data:`ABSOLUTE_FLOOR` of it.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from analytics.intervals import DEFAULT_INTERVAL_S, Quality
from config.errors import ConfigError
from config.messages import has, message
from config.registry import Device, DeviceKind, ParkRegistry
from config.units import stored_field_name
from services.ledger import FieldLedger, device_ledger, stored_ledger
from store.base import Store

__all__ = [
    "ABSOLUTE_FLOOR",
    "DEFAULT_TOLERANCE",
    "DayCheck",
    "LedgerSource",
    "Truth",
    "VerifyResult",
    "format_result",
    "read_truth",
    "verify",
]

DEFAULT_TOLERANCE = 0.001
"""Relative difference a device-day may show against the truth [-] (0.1 %)."""

ABSOLUTE_FLOOR = 1e-3
"""Absolute difference always accepted [kWh, m3 or units]: 1 Wh or 1 L. Readings carry 6
decimals in the device's unit, times its multiplier; a day's energy differs from the truth by
the rounding of its two end readings, far below this."""

LedgerSource = Literal["both", "computed", "stored"]

_NS_PER_MS = 1_000_000
_ELECTRIC = frozenset(
    {
        DeviceKind.ELECTRICITY_METER,
        DeviceKind.PV_INVERTER,
        DeviceKind.BATTERY,
        DeviceKind.EV_CHARGER,
    }
)
_CARRIER = {
    DeviceKind.GAS_METER: "gas",
    DeviceKind.HEAT_METER: "heat",
    DeviceKind.WATER_METER: "water",
    DeviceKind.PRODUCTION_COUNTER: "units",
}


def carrier_of(kind: DeviceKind) -> str:
    """The carrier a device's registers count: electricity, gas, heat, water or units."""
    return "electricity" if kind in _ELECTRIC else _CARRIER.get(kind, "none")


@dataclass
class _Series:
    """One register's truth: interval end [ms] → energy, and the interval length [s]."""

    interval_s: float
    energy: dict[int, float] = field(default_factory=dict)


@dataclass
class Truth:
    """The truth file of one park: per (device, register payload name) its intervals, and the
    times [ms] of the faults injected into each device."""

    path: Path
    series: dict[tuple[str, str], _Series]
    faults: dict[str, list[int]]


def read_truth(path: Path, park: ParkRegistry) -> Truth:
    """Read the device energy and fault rows of ``park``'s devices from a truth CSV;
    :class:`ConfigError` when the file cannot be read, is not a truth file, or holds no energy
    of this park's devices."""
    devices = {d.id: d for d in park.devices}
    series: dict[tuple[str, str], _Series] = {}
    faults: dict[str, list[int]] = defaultdict(list)
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = {"record", "time_ms", "interval_s", "scope", "id", "quantity", "value"} - set(
                reader.fieldnames or ()
            )
            if missing:
                raise ConfigError(
                    f"{path}: not a simulator truth file (no column {', '.join(sorted(missing))}; "
                    "see docs/simulator.md)"
                )
            for line, row in enumerate(reader, 2):
                if row["scope"] != "device" or row["id"] not in devices:
                    continue
                try:
                    if row["record"] == "energy":
                        spec = devices[row["id"]].fields.get(row["quantity"])
                        if spec is None or not spec.cumulative:
                            continue  # losses, or a register this registry does not declare
                        key = (row["id"], row["quantity"])
                        s = series.get(key)
                        if s is None:
                            s = series[key] = _Series(float(row["interval_s"]))
                        s.energy[int(row["time_ms"])] = float(row["value"])
                    elif row["record"] == "fault":
                        faults[row["id"]].append(int(row["time_ms"]))
                except ValueError as exc:
                    raise ConfigError(f"{path}:{line}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the truth file {path}: {exc.strerror}") from None
    if not series:
        raise ConfigError(
            f"{path}: no energy rows of park {park.id!r}'s devices (was it simulated from "
            "this registry?)"
        )
    return Truth(path, series, dict(faults))


@dataclass(frozen=True, slots=True)
class DayCheck:
    """One register of one device over one local day: the truth, what the deployment has, and
    the verdict. Energies in ``unit``; ``computed``/``stored`` are None where not compared."""

    day: date
    device: str
    carrier: str
    register: str  # stored field name, e.g. energy_kwh
    unit: str
    truth: float
    computed: float | None
    stored: float | None
    intervals: int  # ledger intervals compared
    not_measured: int  # of them, intervals the ledger did not measure (gaps, resets, missing)
    faults: int  # faults the truth says were injected into this device that day
    ok: bool
    reason: str = ""  # why it failed, when it did

    @property
    def difference(self) -> float:
        """The larger deviation of the compared figures from the truth [unit] (NaN: none)."""
        diffs = [v - self.truth for v in (self.computed, self.stored) if v is not None]
        return max(diffs, key=abs) if diffs else math.nan

    @property
    def relative(self) -> float:
        """:attr:`difference` relative to the truth [-] (inf when the truth is 0)."""
        d = self.difference
        if self.truth == 0:
            return 0.0 if d == 0 else math.inf
        return d / abs(self.truth)


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Every device-day compared, and the tolerance they were held to."""

    park: str
    timezone: str
    tolerance: float
    checks: list[DayCheck]

    @property
    def failures(self) -> list[DayCheck]:
        """The device-days beyond the tolerance."""
        return [c for c in self.checks if not c.ok]

    @property
    def ok(self) -> bool:
        """True when something was compared and nothing failed."""
        return bool(self.checks) and not self.failures


LedgerFn = Callable[..., list[FieldLedger]]


def verify(
    store: Store,
    park: ParkRegistry,
    truth: Truth,
    *,
    start_ns: int,
    end_ns: int,
    tolerance: float = DEFAULT_TOLERANCE,
    interval_s: int = DEFAULT_INTERVAL_S,
    ledger: LedgerSource = "both",
) -> VerifyResult:
    """Compare the deployment's energy per device, register and local day over
    ``[start_ns, end_ns)`` [ns] with ``truth``; ``interval_s`` [s] is the ledger's interval,
    ``tolerance`` [-] the relative difference accepted."""
    if end_ns <= start_ns:
        raise ConfigError("--end must be after --start")
    if not 0 <= tolerance < 1:
        raise ConfigError(f"the tolerance is a fraction between 0 and 1, not {tolerance!r}")
    zone = ZoneInfo(park.park.timezone)
    step_ms = interval_s * 1000
    checks: list[DayCheck] = []
    for device in park.devices:
        for name, spec in device.fields.items():
            s = truth.series.get((device.id, name))
            if s is None or not spec.cumulative:
                continue
            times = sorted(s.energy)
            # ledger intervals wholly inside the span the readings cover, and inside the window
            lo_ms = max(-(-start_ns // _NS_PER_MS), times[0])
            lo_ms = -(-lo_ms // step_ms) * step_ms
            hi_ms = min(end_ns // _NS_PER_MS, times[-1])
            hi_ms = hi_ms - hi_ms % step_ms
            if hi_ms <= lo_ms:
                continue
            checks += _check_register(
                store,
                park,
                device,
                register=stored_field_name(name, spec.quantity),
                truth=s,
                fault_times=truth.faults.get(device.id, []),
                lo_ms=lo_ms,
                hi_ms=hi_ms,
                interval_s=interval_s,
                zone=zone,
                tolerance=tolerance,
                ledger=ledger,
            )
    checks.sort(key=lambda c: (c.day, c.device, c.register))
    return VerifyResult(park.id, park.park.timezone, tolerance, checks)


def _day(ms: int, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(ms / 1000, zone).date()


def _check_register(
    store: Store,
    park: ParkRegistry,
    device: Device,
    *,
    register: str,
    truth: _Series,
    fault_times: Iterable[int],
    lo_ms: int,
    hi_ms: int,
    interval_s: int,
    zone: ZoneInfo,
    tolerance: float,
    ledger: LedgerSource,
) -> list[DayCheck]:
    iv_ms = round(truth.interval_s * 1000)
    truth_day: dict[date, float] = defaultdict(float)
    for end_ms, energy in truth.energy.items():
        begin_ms = end_ms - iv_ms
        if lo_ms <= begin_ms and end_ms <= hi_ms:
            truth_day[_day(begin_ms, zone)] += energy
    faults: dict[date, int] = defaultdict(int)
    for t in fault_times:
        faults[_day(t, zone)] += 1
    sources: dict[str, LedgerFn] = {}
    if ledger in ("both", "computed"):
        sources["computed"] = device_ledger
    if ledger in ("both", "stored"):
        sources["stored"] = stored_ledger
    sums: dict[str, dict[date, float]] = {}
    counts: dict[date, int] = defaultdict(int)
    not_measured: dict[date, int] = defaultdict(int)
    unit = ""
    for source, fn in sources.items():
        found = {
            r.field: r
            for r in fn(
                store,
                park.id,
                device,
                start_ns=lo_ms * _NS_PER_MS,
                end_ns=hi_ms * _NS_PER_MS,
                interval_s=interval_s,
            )
        }
        result = found.get(register)
        if result is None:
            continue  # no readings (computed) or no stored ledger (stored) of this register
        unit = result.unit
        led = result.ledger
        days = [_day(t // _NS_PER_MS, zone) for t in led.start_ns.tolist()]
        per_day: dict[date, float] = defaultdict(float)
        for d, energy, quality in zip(days, led.energy.tolist(), led.quality.tolist(), strict=True):
            if not math.isnan(energy):
                per_day[d] += energy
            if source == "computed" or "computed" not in sources:
                counts[d] += 1
                if quality not in _MEASURED:
                    not_measured[d] += 1
        sums[source] = per_day
    out = []
    for d, exact in sorted(truth_day.items()):
        computed = sums["computed"].get(d, 0.0) if "computed" in sums else None
        stored = sums["stored"].get(d, 0.0) if "stored" in sums else None
        reasons = []
        for source in sources:
            if source not in sums:
                reasons.append(_MISSING[source])
        for label, value in (("computed", computed), ("stored", stored)):
            if value is not None and not _close(value, exact, tolerance):
                reasons.append(label)
        out.append(
            DayCheck(
                day=d,
                device=device.id,
                carrier=carrier_of(device.kind),
                register=register,
                unit=unit or _unit_of(register),
                truth=exact,
                computed=computed,
                stored=stored,
                intervals=counts.get(d, 0),
                not_measured=not_measured.get(d, 0),
                faults=faults.get(d, 0),
                ok=not reasons,
                reason=", ".join(reasons),
            )
        )
    return out


_MEASURED = frozenset({int(Quality.MEASURED), int(Quality.ROLLOVER_CORRECTED)})
_MISSING = {"computed": "no readings", "stored": "no stored ledger"}


def _unit_of(register: str) -> str:
    return register.rsplit("_", 1)[-1] if "_" in register else ""


def _close(value: float, exact: float, tolerance: float) -> bool:
    return abs(value - exact) <= max(tolerance * abs(exact), ABSOLUTE_FLOOR)


# -- the report a person reads -------------------------------------------------------------------

_HEAD = ("day", "device", "carrier", "register", "truth", "ledger", "stored", "difference")
_REASONS = {  # VerifyResult reasons → their catalogue keys (config/messages/cli.yaml)
    "computed": "verify.reason.computed",
    "stored": "verify.reason.stored",
    "no readings": "verify.reason.no_readings",
    "no stored ledger": "verify.reason.no_stored_ledger",
}


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:,.3f}"


def format_result(
    result: VerifyResult,
    truth: Truth,
    *,
    lang: Literal["en", "zh"] = "en",
    only_failures: bool = False,
) -> list[str]:
    """The lines ``smartpark verify`` prints: a title, a table of device-days (or only the
    failed ones), and a verdict line naming every failed device and day."""

    def say(key: str, *args: object, **kwargs: object) -> str:
        return message(key, lang, *args, **kwargs)

    def carrier(name: str) -> str:
        return say(f"verify.carrier.{name}") if has(f"verify.carrier.{name}") else name

    tol = f"{100 * result.tolerance:.3g} %"
    if not result.checks:
        return [say("verify.nothing")]
    lines = [
        say(
            "verify.title",
            park=result.park,
            truth=truth.path,
            first=result.checks[0].day,
            last=result.checks[-1].day,
            tz=result.timezone,
            tol=tol,
        )
    ]
    rows = [[say(f"verify.head.{h}") for h in (*_HEAD, "verdict")]]
    for c in result.checks:
        if only_failures and c.ok:
            continue
        rel = c.relative
        notes = [
            say(_REASONS[r.strip()]) if r.strip() in _REASONS else r
            for r in c.reason.split(",")
            if r
        ]
        if c.not_measured:
            notes.append(
                say("verify.not_measured", n=c.not_measured, m=c.intervals, count=c.intervals)
            )
        if c.faults:
            notes.append(say("verify.faults", n=c.faults, count=c.faults))
        verdict = say("verify.ok" if c.ok else "verify.fail")
        rows.append(
            [
                c.day.isoformat(),
                c.device,
                carrier(c.carrier),
                c.register,
                _fmt(c.truth),
                _fmt(c.computed),
                _fmt(c.stored),
                "—" if math.isnan(rel) else f"{100 * rel:+.3f} %",
                verdict + (f" ({'; '.join(notes)})" if notes else ""),
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        lines.append("  ".join([*(v.ljust(w) for v, w in zip(r, widths, strict=False)), r[-1]]))
    failures = result.failures
    if not failures:
        devices = len({c.device for c in result.checks})
        days = say("verify.n_device_days", n=len(result.checks), count=len(result.checks))
        lines.append(
            say(
                "verify.pass_line",
                days=days,
                devices=say("verify.n_devices", n=devices, count=devices),
                tol=tol,
            )
        )
    else:
        lines.append(say("verify.fail_line", n=len(failures), m=len(result.checks), tol=tol))
        lines += [
            f"  {c.device} {carrier(c.carrier)} {c.register} {c.day} "
            f"({'—' if math.isnan(c.relative) else f'{100 * c.relative:+.2f} %'})"
            for c in failures
        ]
    return lines
