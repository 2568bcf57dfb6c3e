"""Analytics benchmark: ledger throughput and a year of park indicators from the stored ledger.

``python -m bench.analytics [--quick] [--json FILE]`` measures on this machine:

1. ``analytics.intervals.intervals_from_register`` on a year of 15-minute register readings
   with faults (dropouts, a 6-hour gap, a reset, a spike), in memory: intervals/s;
2. ``services.ledger.rebuild_ledger`` end to end against InfluxDB (read the raw readings,
   compute, write the ledger) for a few meters: intervals/s; and ``write_day_rollups`` over the
   same ledger (read it back, roll it up by local day, write the roll-up);
3. the straightforward path: ``park_indicators(period "2025", ledger=stored_ledger)`` reading
   every 15-minute interval of the stored ledger, for a generated park of ``--direct-meters``
   meters (the largest size the time box allows; larger parks are extrapolated, linearly in
   meters, and said so);
4. the roll-up path for generated parks of 250, 500, 1,000 and 2,000 meters over 1 and 2 years:
   ``energy_balance`` of the park per local day from ``ledger_day`` (``DayLedger``), the same
   through ``park_indicators`` (its TOU, demand and peak figures are None on day slots), and
   the server-side per-device totals (``device_totals``); and **the default path**,
   ``park_indicators(store, park, year)`` with no ledger (the roll-up path of
   :mod:`services.indicators.hybrid`: every indicator, the grid meter at 15 minutes), for the
   first year (1 y) and the second (2 y stored). For it the parks also store the 15-minute ledger
   of the meters that path may read (:data:`ROLLUP_PATH_ROLES`); ``--hole-share`` of the other
   meters (default 10 %) and the grid meter have gaps, the grid meter exports around noon one day
   in ten;
5. a day of the demo park on the embedded store: ``park_indicators`` for one local day from
   minute readings of every cumulative register (about 45 devices x 2 x 1,440 readings; the day
   before anchors the first interval). Target: under 1.5 s (it was an assertion in
   tests/api/test_energy.py, a benchmark inside the suite, until issue 16).

The ledgers of the generated parks are synthetic ``IntervalLedger`` s written straight to the
store (``ledger_points`` / ``day_points``), never through MQTT. A private influxd runs on a free
port of 127.0.0.1 in a temporary folder and is stopped by PID on the way out. ``--quick`` runs
smaller parks and a month of raw data (about 2 minutes on a quiet machine); the full run takes
longer than the 7 minutes it took before the default path was measured (it loads the 15-minute
ledger of the roll-up path's meters: about 190 registers × 2 years for 2,000 meters).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import yaml

from analytics.intervals import DEFAULT_INTERVAL_S, IntervalLedger, Quality, intervals_from_register
from bench._procs import cpu_seconds, exit_on_sigterm
from config.registry import ParkRegistry, load_registry
from config.units import CANONICAL_UNIT, stored_field_name
from services.energy import Scope, energy_balance
from services.indicators import park_indicators
from services.ledger import FieldLedger, ledger_points, rebuild_ledger, stored_ledger
from services.rollup import (
    DAY_S,
    DayLedger,
    TotalLedger,
    day_points,
    device_totals,
    write_day_rollups,
)
from simulators.generate import generate_park
from store.base import TELEMETRY, Point
from store.embedded import EmbeddedStore
from store.influx import InfluxStore
from tests.support.servers import InfluxService

TZ = "Asia/Shanghai"
ZONE = ZoneInfo(TZ)
TARGET_S = 5.0  # a year of indicators for 2,000 meters
DEFAULT_TARGET_S = 1.0  # /indicators p95 for 2,000 meters, 2 years stored (issue 14)
DEMO_DAY_TARGET_S = 1.5  # a day of the demo park's indicators, embedded store
STEP_NS = DEFAULT_INTERVAL_S * 1_000_000_000
T = TypeVar("T")
ROLLUP_PATH_ROLES = frozenset({"grid_connection", "pv", "storage", "gas", "heat", "production"})
"""Roles of the meters whose 15-minute ledger the roll-up path may read (services.indicators
.hybrid): the generated parks store it for them, not for loads, feeders or EV chargers."""


def local_ns(year: int, month: int = 1, day: int = 1) -> int:
    return int(datetime(year, month, day, tzinfo=ZONE).timestamp()) * 1_000_000_000


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def timed(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[float, T]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


# -- synthetic data ------------------------------------------------------------------------------


def register_readings(
    start_ns: int, end_ns: int, rng: np.random.Generator, *, faults: bool = True
) -> tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.float64]]]:
    """15-minute register readings over ``[start_ns, end_ns]`` with jitter and, optionally,
    1 % dropouts, a 6-hour gap, a reset to zero and a spike."""
    t = np.arange(start_ns, end_ns + 1, STEP_NS, dtype=np.int64)
    t = t + rng.integers(0, 5_000_000_000, t.size)  # stamped up to 5 s late
    v = 1_000.0 + np.cumsum(rng.gamma(2.0, 5.0, t.size))
    if faults and t.size > 2_000:
        keep = rng.random(t.size) > 0.01
        keep[1000:1024] = False  # a 6-hour gap
        v[1500] = v[1500] * 10  # a spike
        v[1800:] -= v[1800] - 3.0  # a reset: the register restarts near zero
        t, v = t[keep], v[keep]
    return t, v


def synthetic_ledger(
    start_ns: int,
    end_ns: int,
    rng: np.random.Generator,
    *,
    holes: bool = True,
    export: bool = False,
) -> IntervalLedger:
    """An interval ledger on the 15-minute grid of ``[start_ns, end_ns)``: mostly measured, with
    a few missing and estimated intervals (``holes``, about 17 and 11 a year). ``export``: a
    grid export register, 0 except around noon of one day in ten."""
    grid = np.arange(start_ns, end_ns, STEP_NS, dtype=np.int64)
    energy = rng.gamma(2.0, 5.0, grid.size).round(3)
    if export:
        local_s = (grid // 1_000_000_000 + 8 * 3600) % (10 * 86_400)
        energy = np.where((local_s >= 11 * 3600) & (local_s < 14 * 3600), energy, 0.0)
    quality = np.zeros(grid.size, dtype=np.int8)
    if not holes:
        return IntervalLedger(grid, energy, quality, DEFAULT_INTERVAL_S, ())
    holes_at = rng.integers(0, grid.size, max(grid.size // 2000, 1))
    quality[holes_at] = int(Quality.MISSING)
    energy[holes_at] = np.nan
    quality[rng.integers(0, grid.size, max(grid.size // 3000, 1))] = int(Quality.ESTIMATED)
    quality[np.isnan(energy)] = int(Quality.MISSING)
    return IntervalLedger(grid, energy, quality, DEFAULT_INTERVAL_S, ())


def registers(park: ParkRegistry) -> Iterator[tuple[str, str, str]]:
    """(device, stored field, unit) of every register the generated park reports. Import-only:
    only the grid connection has an export register."""
    for dev in park.devices:
        for name, spec in dev.fields.items():
            if not spec.cumulative:
                continue
            f = stored_field_name(name, spec.quantity)
            if f == "export_energy_kwh" and dev.role.value != "grid_connection":
                continue
            yield dev.id, f, CANONICAL_UNIT[spec.quantity]


def park_of(devices: int, park_id: str, folder: Path) -> ParkRegistry:
    path = folder / f"{park_id}.yaml"
    path.write_text(yaml.safe_dump(generate_park(devices, park_id=park_id)), encoding="utf-8")
    return load_registry(path).parks[park_id]


# -- the cases -----------------------------------------------------------------------------------


@dataclass
class Config:
    quick: bool
    sizes: list[int]
    years: list[int]
    direct_meters: int
    direct_months: int  # months of 15-minute ledger for the straightforward path (12 = a year)
    register_count: int  # registers for intervals_from_register
    rebuild_meters: int
    rebuild_days: int
    repeats: int
    hole_share: float = 0.1  # share of meters whose synthetic ledger has gaps (the grid: always)
    results: dict[str, Any] = field(default_factory=dict)


class Bench:
    def __init__(self, cfg: Config, influxd: InfluxService) -> None:
        self.cfg = cfg
        self.influxd = influxd
        self.folder = influxd.root.parent
        self.rows: list[dict[str, Any]] = []

    def store(self, db: str) -> InfluxStore:
        return InfluxStore(self.influxd.store_url(db), timeout_s=600.0)

    def row(self, case: str, figure: float, unit: str, note: str = "", **extra: Any) -> None:
        r = {"case": case, "value": figure, "unit": unit, "note": note, **extra}
        self.rows.append(r)
        say(f"  → {case}: {figure:,.2f} {unit} {note}")

    # 1. intervals_from_register in memory
    def intervals(self) -> None:
        say("intervals_from_register: a year of 15-minute readings with faults …")
        rng = np.random.default_rng(1)
        start, end = local_ns(2025), local_ns(2026)
        data = [register_readings(start, end, rng) for _ in range(self.cfg.register_count)]
        n = 0
        t0 = time.perf_counter()
        for t, v in data:
            led = intervals_from_register(t, v, start_ns=start, end_ns=end, max_rate_per_h=500.0)
            n += led.start_ns.size
        secs = time.perf_counter() - t0
        self.row(
            "intervals_from_register, 1 year of 15-min readings (faults)",
            n / secs,
            "intervals/s",
            f"{self.cfg.register_count} registers, {n:,} intervals in {secs:.2f} s",
        )

    # 2. rebuild_ledger end to end + the roll-up of what it wrote
    def rebuild(self) -> None:
        cfg = self.cfg
        park = park_of(cfg.rebuild_meters, "rebuild", self.folder)
        store = self.store("bench_rebuild")
        rng = np.random.default_rng(2)
        start = local_ns(2025)
        end = start + cfg.rebuild_days * DAY_S * 1_000_000_000
        say(f"rebuild_ledger: writing raw readings of {cfg.rebuild_meters} meters …")
        raw = 0
        for dev_id, f, _ in registers(park):
            t, v = register_readings(start - DAY_S * 10**9, end + DAY_S * 10**9, rng)
            pts = [
                Point(TELEMETRY, {"park": park.id, "device": dev_id}, {f: val}, ts)
                for ts, val in zip(t.tolist(), v.tolist(), strict=True)
            ]
            store.write(pts)
            raw += len(pts)
        say(f"  {raw:,} raw readings written; rebuilding …")
        secs, res = timed(lambda: rebuild_ledger(store, park, start_ns=start, end_ns=end))
        self.row(
            "rebuild_ledger end to end (InfluxDB read raw → compute → write ledger)",
            res.intervals / secs,
            "intervals/s",
            f"{res.registers} registers × {cfg.rebuild_days} days, {res.intervals:,} intervals "
            f"in {secs:.1f} s",
        )
        secs, rr = timed(lambda: write_day_rollups(store, park, start_ns=start, end_ns=end))
        self.row(
            "write_day_rollups over that ledger (read stored ledger → roll up → write)",
            res.intervals / secs,
            "intervals/s",
            f"{rr.days:,} register-days in {secs:.1f} s",
        )
        store.close()

    # 3. and 4. generated parks
    def load_park(
        self, park: ParkRegistry, store: InfluxStore, start: int, end: int, direct_end: int | None
    ) -> tuple[int, int, float]:
        """Synthetic ledgers of every register: day roll-ups over ``[start, end)``, and the
        15-minute ledger itself over ``[start, direct_end)`` when given. Returns
        (day points, interval points, seconds)."""
        rng = np.random.default_rng(3)
        t0 = time.perf_counter()
        days = intervals = 0
        pending: list[Point] = []
        regs = list(registers(park))
        roles = {d.id: d.role.value for d in park.devices}
        for i, (dev_id, f, unit) in enumerate(regs, 1):
            grid = roles[dev_id] == "grid_connection"
            led = synthetic_ledger(
                start,
                end,
                rng,
                holes=grid or direct_end is not None or rng.random() < self.cfg.hole_share,
                export=grid and f == "export_energy_kwh",
            )
            result = FieldLedger(f, unit, led)
            pending.extend(day_points(park.id, dev_id, result, TZ))
            keep = None
            if direct_end is not None:
                keep = led.start_ns < direct_end
            elif roles[dev_id] in ROLLUP_PATH_ROLES:
                keep = np.ones(led.start_ns.size, dtype=bool)  # what the roll-up path reads
            if keep is not None:
                pts = ledger_points(park.id, dev_id, result, only=keep)
                for k in range(0, len(pts), 50_000):
                    store.write(pts[k : k + 50_000])
                intervals += len(pts)
            if len(pending) >= 20_000:
                store.write(pending)
                days += len(pending)
                pending = []
            if i % max(len(regs) // 5, 1) == 0:
                say(
                    f"    {park.id}: {i}/{len(regs)} registers loaded, "
                    f"{time.perf_counter() - t0:.0f} s"
                )
        store.write(pending)
        days += len(pending)
        return days, intervals, time.perf_counter() - t0

    def parks(self) -> None:
        cfg = self.cfg
        start = local_ns(2025)
        end = local_ns(2025 + max(cfg.years))
        sizes = sorted(set(cfg.sizes) | {cfg.direct_meters})
        for size in sizes:
            park = park_of(size, f"gen{size}", self.folder)
            store = self.store(f"bench_park_{size}")
            direct = size == cfg.direct_meters
            direct_end = local_ns(2025, cfg.direct_months + 1) if cfg.direct_months < 12 else None
            if direct and direct_end is None:
                direct_end = local_ns(2026)
            say(
                f"park of {size} meters: loading {max(cfg.years)} year(s) of day roll-ups"
                + (" and the 15-minute ledger" if direct else "")
                + " …"
            )
            days, intervals, secs = self.load_park(
                park, store, start, end, direct_end if direct else None
            )
            say(f"  loaded {days:,} day points, {intervals:,} interval points in {secs:.0f} s")
            if direct:
                self.direct(park, store, intervals)
            if size in cfg.sizes:
                self.rollup_path(park, store, size, days)
            store.close()

    def direct(self, park: ParkRegistry, store: InfluxStore, intervals: int) -> None:
        cfg = self.cfg
        meters = len(park.devices)
        if cfg.direct_months >= 12:
            secs, _ = timed(park_indicators, store, park, "2025", ledger=stored_ledger)
            span = "1 year"
            year_s = secs
        else:
            end = local_ns(2025, cfg.direct_months + 1)
            secs, _ = timed(
                lambda: energy_balance(
                    store, park, Scope("park"), start_ns=local_ns(2025), end_ns=end,
                    ledger=stored_ledger,
                )
            )  # fmt: skip
            span = f"{cfg.direct_months} month(s)"
            year_s = secs * 12 / cfg.direct_months
        self.row(
            f"straightforward: {meters} meters, {span} of the 15-minute stored ledger",
            secs,
            "s",
            f"{intervals:,} intervals read, {intervals / secs:,.0f} intervals/s",
            meters=meters,
            path="direct",
        )
        for target in (meters, *cfg.sizes):
            if target == meters and cfg.direct_months >= 12:
                continue
            est = year_s * target / meters
            self.row(
                f"straightforward, extrapolated: {target} meters, 1 year",
                est,
                "s",
                f"linear in meters from the measured {meters}-meter run; target ≤ {TARGET_S:g} s "
                + ("met" if est <= TARGET_S else "NOT met"),
                meters=target,
                path="direct-extrapolated",
            )

    def settle(self, limit_s: float = 90.0) -> float:
        """Wait until influxd has finished compacting what was just written (below 10 % of a
        core over a second), at most ``limit_s``. Returns the seconds waited."""
        t0 = time.monotonic()
        last = cpu_seconds(self.influxd.pid) or 0.0
        while time.monotonic() - t0 < limit_s:
            time.sleep(1.0)
            now = cpu_seconds(self.influxd.pid) or 0.0
            if now - last < 0.1:
                break
            last = now
        return time.monotonic() - t0

    def repeat(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[float, float, T]:
        """First call and the median of ``--repeats`` more (seconds), and the first result."""
        first, out = timed(fn, *args, **kwargs)
        again = [timed(fn, *args, **kwargs)[0] for _ in range(self.cfg.repeats)]
        return first, float(np.median(again)) if again else first, out

    def rollup_row(
        self,
        case: str,
        first: float,
        warm: float,
        note: str,
        *,
        check: bool,
        target_s: float = TARGET_S,
        **extra: Any,
    ) -> None:
        verdict = ""
        if check:
            ok = max(first, warm) <= target_s
            verdict = f"; target ≤ {target_s:g} s {'met' if ok else 'NOT met'}"
        self.row(case, warm, "s", f"first call {first:.2f} s; {note}{verdict}", **extra)

    def rollup_path(self, park: ParkRegistry, store: InfluxStore, size: int, days: int) -> None:
        cfg = self.cfg
        waited = self.settle()
        say(f"  influxd settled after {waited:.0f} s")
        fields = sorted({f for _, f, _ in registers(park)})
        for years in cfg.years:
            start, end = local_ns(2025), local_ns(2025 + years)
            target = size >= 2000 and years == 1
            ledgers: list[DayLedger] = []

            def day_balance(s: int = start, e: int = end, made: list[DayLedger] = ledgers) -> Any:
                ledger = DayLedger(TZ)
                made.append(ledger)
                return energy_balance(
                    store, park, Scope("park"), start_ns=s, end_ns=e, interval_s=DAY_S,
                    ledger=ledger,
                )  # fmt: skip

            first, warm, bal = self.repeat(day_balance)
            imp = bal.figure("grid_import_kwh")
            note = (
                f"{ledgers[0].queries} queries; {bal.start_ns.size} day slots; grid import "
                f"{imp.total():,.0f} kWh, {imp.completeness_pct():.1f} % of days fully measured"
                if imp
                else ""
            )
            self.rollup_row(
                f"roll-up: energy_balance(park) per day (DayLedger), {size} meters, {years} y",
                first, warm, note, check=target, meters=size, years=years, path="rollup-days",
            )  # fmt: skip

            def total_balance(s: int = start, e: int = end) -> Any:
                return energy_balance(
                    store, park, Scope("park"), start_ns=s, end_ns=e,
                    interval_s=(e - s) // 1_000_000_000, ledger=TotalLedger(),
                )  # fmt: skip

            first, warm, bal = self.repeat(total_balance)
            imp = bal.figure("grid_import_kwh")
            self.rollup_row(
                f"roll-up: energy_balance(park) one slot (TotalLedger), {size} meters, {years} y",
                first, warm,
                f"{len(fields)} server-side Σ queries; grid import "
                f"{imp.total() if imp else float('nan'):,.0f} kWh",
                check=target, meters=size, years=years, path="rollup-total",
            )  # fmt: skip

            def default_path(period: str = f"{2025 + years - 1}") -> Any:
                return park_indicators(store, park, period)  # the default: the roll-up path

            first, warm, rep = self.repeat(default_path)
            got = {i.name: i.value for i in rep.indicators}
            self.rollup_row(
                f"roll-up path (default): park_indicators('{2025 + years - 1}'), {size} meters, "
                f"{years} y stored",
                first, warm,
                "every indicator; peak demand "
                f"{got.get('peak_demand_kw') or float('nan'):,.1f} kW, TOU cost "
                f"{got.get('tou_energy_cost_cny') or float('nan'):,.0f} CNY; grid meter at 15 "
                f"min, {self.cfg.hole_share:.0%} of other meters with gaps",
                check=size >= 2000, meters=size, years=years, path="rollup-default",
                target_s=DEFAULT_TARGET_S,
            )  # fmt: skip
            if years == 1:

                def indicators() -> Any:
                    return park_indicators(
                        store, park, "2025", interval_s=DAY_S, ledger=DayLedger(TZ)
                    )  # a fresh reader: nothing cached between calls

                first, warm, _ = self.repeat(indicators)
                self.rollup_row(
                    f"roll-up: park_indicators('2025') per day (DayLedger), {size} meters",
                    first, warm,
                    "energy, carbon and share indicators; TOU cost, demand charge, peak demand "
                    "and load factor are None (need 15-minute slots)",
                    check=target, meters=size, years=years, path="rollup-indicators",
                )  # fmt: skip
            if years == 1:

                def indicators_total(s: int = start, e: int = end) -> Any:
                    return park_indicators(
                        store, park, "2025", interval_s=(e - s) // 1_000_000_000,
                        ledger=TotalLedger(),
                    )  # fmt: skip

                first, warm, _ = self.repeat(indicators_total)
                self.rollup_row(
                    f"roll-up: park_indicators('2025') one slot (TotalLedger), {size} meters",
                    first, warm,
                    "energy, carbon and share indicators; TOU cost, demand charge, peak demand "
                    "and load factor are None (need 15-minute slots)",
                    check=target, meters=size, years=years, path="rollup-indicators-total",
                )  # fmt: skip
            first, warm, totals = self.repeat(
                device_totals, store, park.id, fields, start_ns=start, end_ns=end
            )
            self.rollup_row(
                f"roll-up: device_totals (server-side Σ by device), {size} meters, {years} y",
                first, warm, f"{len(totals):,} device-registers, {len(fields)} queries",
                check=False, meters=size, years=years, path="rollup-device-totals",
            )  # fmt: skip

    # 5. a day of the demo park, embedded store
    def demo_day(self) -> None:
        say("park_indicators: a day of the demo park from minute readings, embedded store …")
        park = load_registry().parks["wuhan-demo"]
        day_start_ns = local_ns(2026, 3, 14)
        minute_ns = 60 * 10**9
        registers = [
            (d.id, stored_field_name(name, spec.quantity))
            for d in park.devices
            for name, spec in d.fields.items()
            if spec.cumulative
        ]
        points = [
            Point(
                TELEMETRY,
                {"park": park.id, "device": device},
                {name: 0.5 * i},
                day_start_ns + (i - 1440) * minute_ns,
            )
            for device, name in registers
            for i in range(2 * 1440 + 1)
        ]
        folder = Path(tempfile.mkdtemp(prefix="smartpark-bench-day-"))
        store = EmbeddedStore(folder / "store.sqlite3")
        try:
            store.write(points)
            first, warm, report = self.repeat(park_indicators, store, park, "2026-03-14")
        finally:
            store.close()
            shutil.rmtree(folder, ignore_errors=True)
        verdict = "met" if warm < DEMO_DAY_TARGET_S else "MISSED"
        self.row(
            "demo park, one day of indicators (embedded store, minute readings)",
            warm,
            "s",
            f"first call {first:.2f} s; {len(points):,} readings, {len(report.indicators)} "
            f"indicators; target < {DEMO_DAY_TARGET_S} s {verdict}",
        )

    def run(self) -> list[dict[str, Any]]:
        self.demo_day()
        self.intervals()
        self.rebuild()
        self.parks()
        return self.rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| Case | Figure (roll-up: median of repeats) | Note |", "|---|---|---|"]
    for r in rows:
        digits = 2 if r["unit"] == "s" else 0
        lines.append(f"| {r['case']} | {r['value']:,.{digits}f} {r['unit']} | {r['note']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    exit_on_sigterm()
    p = argparse.ArgumentParser(
        prog="python -m bench.analytics", description=__doc__.split("\n", 1)[0]
    )
    p.add_argument("--quick", action="store_true", help="small parks, a month: under 2 minutes")
    p.add_argument("--sizes", help="comma list of meters per park (250,500,1000,2000)")
    p.add_argument("--direct-meters", type=int, help="park size of the straightforward path")
    p.add_argument("--direct-months", type=int, help="months of 15-minute ledger to read (12)")
    p.add_argument("--repeats", type=int, help="timed repeats after the first call (3)")
    p.add_argument(
        "--hole-share",
        type=float,
        default=0.1,
        help="share of the generated meters whose ledger has gaps (0.1; the grid meter always)",
    )
    p.add_argument("--json", type=Path, help="write the figures here")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = p.parse_args(argv)
    quick = args.quick
    cfg = Config(
        quick=quick,
        sizes=[int(s) for s in args.sizes.split(",")]
        if args.sizes
        else ([100, 250] if quick else [250, 500, 1000, 2000]),
        years=[1, 2],
        direct_meters=args.direct_meters or (50 if quick else 250),
        direct_months=args.direct_months or (1 if quick else 12),
        register_count=5 if quick else 20,
        rebuild_meters=4 if quick else 12,
        rebuild_days=31 if quick else 365,
        repeats=args.repeats if args.repeats is not None else (1 if quick else 3),
        hole_share=args.hole_share,
    )
    started = time.time()
    load0 = os.getloadavg()[0]
    root = Path(tempfile.mkdtemp(prefix="smartpark-bench-analytics-"))
    (root / "influxd").mkdir()
    influxd = InfluxService(root / "influxd")
    rows: list[dict[str, Any]] = []
    try:
        influxd.start()
        say(f"influxd pid {influxd.pid} on {influxd.url}")
        rows = Bench(cfg, influxd).run()
    finally:
        influxd.stop()
        if args.keep:
            say(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    wall = time.time() - started
    head = (
        f"smartpark analytics benchmark — {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; "
        f"load average {load0:.2f} → {os.getloadavg()[0]:.2f}; {wall:.0f} s"
    )
    print(head + "\n")
    print(table(rows))
    if args.json:
        args.json.write_bytes(
            orjson.dumps(
                {"head": head, "config": {k: v for k, v in cfg.__dict__.items() if k != "results"},
                 "rows": rows},
                option=orjson.OPT_INDENT_2,
            )
        )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
