"""Follower benchmark: the ledger follower at steady state, its window kept between passes or not.

    .venv/bin/python -m bench.follow [--quick] [--meters 1000] [--hours 2] [--passes 4]
                                     [--rounds 2] [--store influx|embedded] [--today-ledger]

A park of ``--meters`` electricity meters (``bench.ingest``'s registry: a grid connection and
loads under it) reads every 15 s for ``--hours`` (each reading written with its touched mark, as
the collector writes them), and a follower catches up. Then ``--rounds`` rounds, each of two
followers one after the other, one keeping each park's window of readings between passes
(``keep_bytes`` = :data:`services.follow.KEEP_BYTES`, the default) and one keeping none
(``keep_bytes=0``), alternated so both see the same machine. Each follower makes one pass
unmeasured (a new follower has nothing kept and its first pass re-reads the marks of the last
30 s), then ``--passes`` passes, each over 30 s of new readings (two per meter, marks
included). Printed: the follower's CPU and wall time per pass, and CPU per meter touched.

``--today-ledger`` first writes the stored 15-minute ledger of every meter from the park's
local midnight to the start of the history, as a follower running since midnight would have:
the roll-up of a touched day reads the day's intervals back, so this shows what a pass costs
later in the day. The store is a private influxd (a free port of 127.0.0.1, a temporary folder)
or the embedded SQLite store. ``--quick``: 100 meters, an hour, 2 passes, one round (about a
minute on InfluxDB).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench._procs import InfluxService, exit_on_sigterm
from bench.ingest import PARK, registry_dir
from config.registry import Registry, load_registry
from services.follow import KEEP_BYTES, LedgerFollower
from services.ledger import LEDGER
from services.rollup import local_days
from store import TELEMETRY, Point, Store
from store.embedded import EmbeddedStore
from store.influx import InfluxStore
from store.touched import LIVE_S, touched_marks

EVERY_S = 15
"""Seconds between a meter's readings."""
PASS_S = 30
"""Seconds of new readings before each pass (two per meter)."""
_NS = 1_000_000_000


class _Clock:
    """The follower's clock [ns], moved by the bench."""

    def __init__(self, t_ns: int) -> None:
        self.t_ns = t_ns

    def __call__(self) -> int:
        return self.t_ns


class _Park:
    """The meters' energy registers [kWh] and the writes of their readings."""

    def __init__(self, store: Store, registry: Registry, meters: int, clock: _Clock) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock
        self.energy = {f"m-{i:04d}": 1_000.0 for i in range(meters)}

    def write_readings(self, t_ns: int) -> None:
        """One reading of every meter at ``t_ns`` [ns] (1 ms apart), with its touched marks,
        written a second later as a collector writes a batch."""
        points = []
        for i, device in enumerate(self.energy):
            self.energy[device] += 0.05  # 0.2 kW for 15 s
            tags = {"park": PARK, "device": device}
            fields = {"energy_kwh": self.energy[device]}
            points.append(Point(TELEMETRY, tags, fields, t_ns + i * 1_000_000))
        self.clock.t_ns = t_ns + _NS
        marks = touched_marks(
            points, now_ns=self.clock(), source="bench", devices=lambda p, d: True, live_s=LIVE_S
        )
        self.store.write(points + marks)


@dataclass
class Pass:
    """One measured pass: CPU and wall time [s], meters touched, intervals written."""

    keep: bool
    cpu_s: float
    wall_s: float
    devices: int
    intervals: int
    kept: bool
    """True when the pass took its readings before the marks from the window kept."""


def _today_ledger(store: Store, registry: Registry, meters: int, start_ns: int) -> int:
    """Write every meter's 15-minute ledger from the park's local midnight to ``start_ns``
    [ns]; returns the intervals per meter."""
    tz = registry.parks[PARK].park.timezone
    midnight = int(local_days(start_ns, start_ns + 1, tz)[0])
    slots = range(midnight, start_ns - 900 * _NS, 900 * _NS)
    points: list[Point] = []
    for i in range(meters):
        for t in slots:
            tags = {"park": PARK, "device": f"m-{i:04d}"}
            points.append(Point(LEDGER, tags, {"energy_kwh": 0.2, "energy_kwh_quality": 0.0}, t))
        if len(points) >= 50_000:
            store.write(points)
            points = []
    store.write(points)
    return len(slots)


def measure(
    store: Store,
    root: Path,
    *,
    meters: int,
    hours: float,
    passes: int,
    rounds: int,
    today_ledger: bool,
    progress: bool = True,
) -> tuple[list[Pass], int]:
    """Run the steady state on ``store``; returns the measured passes and the ledger intervals
    per meter written before the history (``today_ledger``)."""
    registry = load_registry(registry_dir(root, meters))
    now = time.time_ns() // _NS * _NS
    t = now - int(hours * 3_600) * _NS
    clock = _Clock(t)
    park = _Park(store, registry, meters, clock)
    prefilled = _today_ledger(store, registry, meters, t) if today_ledger else 0
    steps = int((now - t) // (EVERY_S * _NS))
    for k in range(steps):
        park.write_readings(t)
        t += EVERY_S * _NS
        if progress and (k % max(1, steps // 10) == 0 or k == steps - 1):
            print(f"\rhistory: {k + 1}/{steps} readings per meter", end="", file=sys.stderr)
    if progress:
        print(file=sys.stderr)
    cursor = root / "cursor.json"
    clock.t_ns = t + 2 * _NS
    LedgerFollower(store, registry, clock_ns=clock, cursor_path=cursor).catch_up()
    measured: list[Pass] = []
    for r in range(rounds):
        for keep in (True, False):
            follower = LedgerFollower(
                store,
                registry,
                clock_ns=clock,
                cursor_path=cursor,
                keep_bytes=KEEP_BYTES if keep else 0,
            )
            for k in range(passes + 1):
                for _ in range(PASS_S // EVERY_S):
                    park.write_readings(t)
                    t += EVERY_S * _NS
                clock.t_ns = t + 5 * _NS
                reads = follower.kept_reads
                c0, w0 = time.process_time(), time.perf_counter()
                step = follower.step()
                cpu, wall = time.process_time() - c0, time.perf_counter() - w0
                if k > 0:  # the first pass of a new follower has nothing kept
                    kept = follower.kept_reads > reads
                    measured.append(Pass(keep, cpu, wall, step.devices, step.intervals, kept))
            if progress:
                done = [p for p in measured if p.keep == keep][-passes:]
                print(
                    f"round {r + 1}/{rounds}, keep {'on' if keep else 'off'}: CPU per pass "
                    + " ".join(f"{p.cpu_s:.2f}" for p in done)
                    + " s",
                    file=sys.stderr,
                )
    return measured, prefilled


def _span(values: list[float], digits: int = 2) -> str:
    return (
        f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}–"
        f"{max(values):.{digits}f})"
    )


def table(measured: list[Pass]) -> str:
    """The passes as a Markdown table: per keep setting, CPU and wall per pass [s] (median, min
    to max), CPU per meter touched [ms] and the on/off ratio of the medians."""
    rows = [
        "| window kept | passes | CPU per pass [s] | wall per pass [s] | CPU per meter [ms] "
        "| meters touched | intervals written | passes that took the kept window |",
        "|---|---|---|---|---|---|---|---|",
    ]
    med: dict[bool, float] = {}
    for keep in (True, False):
        ps = [p for p in measured if p.keep == keep]
        if not ps:
            continue
        med[keep] = statistics.median(p.cpu_s for p in ps)
        per_meter = [1_000 * p.cpu_s / p.devices for p in ps if p.devices]
        rows.append(
            f"| {'on' if keep else 'off'} | {len(ps)} | {_span([p.cpu_s for p in ps])} "
            f"| {_span([p.wall_s for p in ps])} | {_span(per_meter, 3) if per_meter else '–'} "
            f"| {_span([float(p.devices) for p in ps], 0)} "
            f"| {_span([float(p.intervals) for p in ps], 0)} "
            f"| {sum(p.kept for p in ps)} of {len(ps)} |"
        )
    if len(med) == 2 and med[False] > 0:
        rows.append(f"\nCPU per pass, kept / not kept (medians): **{med[True] / med[False]:.2f}**")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    exit_on_sigterm()
    p = argparse.ArgumentParser(prog="python -m bench.follow", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="100 meters, 1 h, 2 passes, 1 round")
    p.add_argument("--meters", type=int, help="meters of the park (1,000)")
    p.add_argument("--hours", type=float, help="hours of readings before the passes (2)")
    p.add_argument("--passes", type=int, help="measured passes per follower (4)")
    p.add_argument("--rounds", type=int, help="rounds of keep on, keep off (2)")
    p.add_argument("--store", choices=("influx", "embedded"), default="influx")
    p.add_argument("--today-ledger", action="store_true", help="the day's ledger stored first")
    args = p.parse_args(argv)
    meters = args.meters or (100 if args.quick else 1_000)
    hours = args.hours or (1.0 if args.quick else 2.0)
    passes = args.passes or (2 if args.quick else 4)
    rounds = args.rounds or (1 if args.quick else 2)
    if meters < 2 or hours <= 0 or passes < 1 or rounds < 1:
        p.error("--meters ≥ 2, --hours > 0, --passes ≥ 1 and --rounds ≥ 1")
    started = time.time()
    root = Path(tempfile.mkdtemp(prefix="smartpark-bench-follow-"))
    influx: InfluxService | None = None
    store: Store | None = None
    try:
        if args.store == "influx":
            influx = InfluxService(root / "influx")
            influx.start()
            store = InfluxStore(influx.store_url("follow"), timeout_s=120.0)
        else:
            store = EmbeddedStore(root / "store.db")
        measured, prefilled = measure(
            store,
            root,
            meters=meters,
            hours=hours,
            passes=passes,
            rounds=rounds,
            today_ledger=args.today_ledger,
        )
    finally:
        if store is not None:
            store.close()
        if influx is not None:
            influx.stop()
        shutil.rmtree(root, ignore_errors=True)
    store_name = "InfluxDB 1.x" if args.store == "influx" else "embedded (SQLite)"
    print(
        f"smartpark follower benchmark — {os.cpu_count()} CPUs, {store_name}, {meters:,} meters "
        f"every {EVERY_S} s, {hours:g} h stored"
        + (f" after {prefilled} ledger intervals of today per meter" if args.today_ledger else "")
        + f", passes over {PASS_S} s of readings, {time.time() - started:.0f} s\n"
    )
    print(table(measured))
    return 0


if __name__ == "__main__":
    sys.exit(main())
