"""Storage benchmark: bytes per reading on disk, and a city's disk per month.

    .venv/bin/python -m bench.storage [--quick] [--hours 24] [--meters 50000] [--every 15]

Simulates the demo park (``simulators.park.ParkModel``, 53 devices, each reading as its device
publishes it) every 15 s for ``--hours`` (readings stamped with up to ±250 ms of jitter, as polled
meters are), decodes every payload as the collector does (``ingest.decode.Decoder``: canonical
field names and units) and writes the points in 5,000-point batches to

1. a private influxd 1.x (a free port of 127.0.0.1, a temporary folder) tuned to snapshot its
   cache and compact fully after 1 s cold, so what is measured is the compacted TSM files and
   the index of the data folder, not the write-ahead log; then rebuilds the 15-minute ledger and
   the day roll-ups of the same span, each in its own retention policy folder;
2. the embedded store (SQLite, WAL checkpointed): its file size.

Prints bytes per reading (a reading is one device's message: 1-12 fields), bytes per 15-minute
ledger interval of one register, and :func:`disk_per_month` of a city (``--meters`` at one
reading per ``--every`` s). ``bench/city.py`` imports :func:`disk_per_month`. ``--quick``:
2 hours of data, about 20 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from bench._procs import InfluxService, exit_on_sigterm
from config.registry import demo_registry_path, load_registry
from config.settings import DEFAULT_TOPIC_TEMPLATE
from ingest.decode import Decoder
from services.ledger import rebuild_ledger
from services.rollup import write_day_rollups
from simulators.park import ParkModel
from store.base import Point
from store.embedded import EmbeddedStore
from store.influx import LEDGER_RP, LONG_TERM_RP, InfluxStore

__all__ = ["DAYS_PER_MONTH", "StorageFigures", "disk_per_month", "main", "measure"]

DAYS_PER_MONTH = 365.25 / 12
"""Days in an average month of the Gregorian calendar [d]."""

PARK = "wuhan-demo"
DATABASE = "storage"
_GIB = 1024**3


def disk_per_month(meters: int, *, every_s: float = 15.0, bytes_per_reading: float) -> float:
    """Bytes a city writes to disk per average month [bytes]: ``meters`` devices, one reading
    every ``every_s`` [s], ``bytes_per_reading`` [bytes] as measured on disk (compacted)."""
    if meters < 0 or every_s <= 0 or bytes_per_reading < 0:
        raise ValueError("meters and bytes per reading must be >= 0, the interval > 0 s")
    return meters * DAYS_PER_MONTH * 86_400 / every_s * bytes_per_reading


@dataclass(frozen=True)
class StorageFigures:
    """What :func:`measure` found: counts and bytes on disk."""

    readings: int
    values: int  # field values in those readings
    influx_raw_bytes: int  # TSM + index of the default policy (telemetry)
    influx_wal_bytes: int  # what was left in the write-ahead log when measured
    ledger_intervals: int  # 15-minute intervals of every register in the ledger
    influx_ledger_bytes: int
    rollup_points: int  # register-days
    influx_rollup_bytes: int
    embedded_bytes: int  # the SQLite file, checkpointed

    @property
    def influx_bytes_per_reading(self) -> float:
        return self.influx_raw_bytes / self.readings

    @property
    def embedded_bytes_per_reading(self) -> float:
        return self.embedded_bytes / self.readings

    @property
    def ledger_bytes_per_interval(self) -> float:
        return self.influx_ledger_bytes / max(1, self.ledger_intervals)


class _CompactingInflux(InfluxService):
    """influxd that snapshots its cache and compacts fully once a shard is 1 s cold."""

    def _write_config(self) -> None:
        super()._write_config()
        text = self.config_path.read_text(encoding="utf-8")
        text = text.replace(
            '  wal-fsync-delay = "0s"\n',
            '  wal-fsync-delay = "0s"\n'
            '  cache-snapshot-write-cold-duration = "1s"\n'
            '  compact-full-write-cold-duration = "1s"\n',
        )
        self.config_path.write_text(text, encoding="utf-8")


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def _settled_size(path: Path, wal: Path, *, timeout_s: float) -> tuple[int, int]:
    """The folder's size once compaction has emptied the WAL and the size stopped changing."""
    deadline = time.monotonic() + timeout_s
    last = -1
    stable = 0
    while time.monotonic() < deadline:
        size, wal_size = _size(path), _size(wal)
        stable = stable + 1 if size == last else 0
        if stable >= 3 and wal_size < 64 * 1024:
            break
        last = size
        time.sleep(1.0)
    return _size(path), _size(wal)


def readings(hours: float, *, seed: int = 0, jitter_ms: int = 250) -> list[Point]:
    """The demo park's points over ``hours`` [h] at 15 s, as the collector would store them."""
    registry = load_registry(demo_registry_path())
    park = registry.parks[PARK]
    model = ParkModel(park, seed=seed)
    decoder = Decoder(registry, topic_template=DEFAULT_TOPIC_TEMPLATE, max_skew_s=1e12)
    rng = np.random.default_rng(seed)
    start_ns = (int(time.time()) // 86_400 - 2) * 86_400 * 10**9  # two days ago, midnight UTC
    points: list[Point] = []
    for tick in range(int(hours * 240)):
        t_ns = start_ns + tick * 15 * 10**9
        for reading in model.step(t_ns, 15.0):
            jitter = int(rng.integers(-jitter_ms, jitter_ms + 1))
            payload = {**reading.payload(), "ts": reading.time_ms + jitter}
            topic = DEFAULT_TOPIC_TEMPLATE.format(park=PARK, device=reading.device)
            points.extend(decoder.decode(topic, orjson.dumps(payload), t_ns).points)
    return points


def measure(hours: float, root: Path) -> StorageFigures:
    """Write ``hours`` of the demo park to a fresh influxd and embedded store under ``root``."""
    points = readings(hours)
    park = load_registry(demo_registry_path()).parks[PARK]
    start_ns = min(p.time_ns for p in points)
    end_ns = max(p.time_ns for p in points) + 1
    influxd = _CompactingInflux(root / "influxd")
    influxd.start()
    try:
        store = InfluxStore(influxd.store_url(DATABASE), timeout_s=60.0)
        for i in range(0, len(points), 5_000):
            store.write(points[i : i + 5_000])
        ledger = rebuild_ledger(store, park, start_ns=start_ns, end_ns=end_ns)
        rollups = write_day_rollups(store, park, start_ns=start_ns, end_ns=end_ns)
        store.close()
        data = root / "influxd" / "data" / DATABASE
        _settled_size(data, root / "influxd" / "wal", timeout_s=120.0)
        raw_bytes = _size(data / "autogen")
        wal_bytes = _size(root / "influxd" / "wal" / DATABASE)
        ledger_bytes = _size(data / LEDGER_RP)
        rollup_bytes = _size(data / LONG_TERM_RP)
    finally:
        influxd.stop()
    embedded_path = root / "embedded.sqlite3"
    embedded = EmbeddedStore(embedded_path)
    for i in range(0, len(points), 5_000):
        embedded.write(points[i : i + 5_000])
    embedded.close()
    with sqlite3.connect(embedded_path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return StorageFigures(
        readings=len(points),
        values=sum(len(p.fields) for p in points),
        influx_raw_bytes=raw_bytes,
        influx_wal_bytes=wal_bytes,
        ledger_intervals=ledger.intervals,
        influx_ledger_bytes=ledger_bytes,
        rollup_points=rollups.days,
        influx_rollup_bytes=rollup_bytes,
        embedded_bytes=embedded_path.stat().st_size,
    )


def table(fig: StorageFigures, *, hours: float, meters: int, every_s: float) -> str:
    """The figures and the city's arithmetic as a Markdown table."""
    per_month = disk_per_month(
        meters, every_s=every_s, bytes_per_reading=fig.influx_bytes_per_reading
    )
    embedded_month = disk_per_month(
        meters, every_s=every_s, bytes_per_reading=fig.embedded_bytes_per_reading
    )
    registers_month = meters * DAYS_PER_MONTH * 96  # one register per meter, 96 intervals a day
    ledger_month = registers_month * fig.ledger_bytes_per_interval
    rows = [
        ("demo park, 53 devices, every 15 s", f"{hours:g} h: {fig.readings:,} readings, "
         f"{fig.values:,} values ({fig.values / fig.readings:.1f} per reading)"),
        ("InfluxDB raw (TSM + index, compacted)", f"{fig.influx_raw_bytes:,} B = "
         f"**{fig.influx_bytes_per_reading:.1f} B/reading**, "
         f"{fig.influx_raw_bytes / fig.values:.2f} B/value; WAL left {fig.influx_wal_bytes:,} B"),
        ("InfluxDB 15-min ledger", f"{fig.ledger_intervals:,} intervals, "
         f"{fig.influx_ledger_bytes:,} B = {fig.ledger_bytes_per_interval:.1f} B/interval"),
        ("InfluxDB day roll-ups", f"{fig.rollup_points:,} register-days, "
         f"{fig.influx_rollup_bytes:,} B (a sample this small is mostly headers)"),
        ("embedded store (SQLite)", f"{fig.embedded_bytes:,} B = "
         f"{fig.embedded_bytes_per_reading:.0f} B/reading"),
        (f"city: {meters:,} meters, 1 reading / {every_s:g} s",
         f"{meters * 86_400 / every_s / 1e6:,.0f} M readings/day; raw on InfluxDB "
         f"**{per_month / _GIB:,.1f} GiB/month** ({per_month * 12 / _GIB / 1024:,.2f} TiB/year); "
         f"on SQLite it would be {embedded_month / _GIB:,.0f} GiB/month"),
        (f"city ledger, {meters:,} registers", f"{ledger_month / _GIB:,.2f} GiB/month"),
    ]  # fmt: skip
    lines = ["| what | measured |", "|---|---|"]
    lines += [f"| {a} | {b} |" for a, b in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    exit_on_sigterm()
    p = argparse.ArgumentParser(prog="python -m bench.storage", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="2 hours of data (about 20 s)")
    p.add_argument("--hours", type=float, help="hours of the demo park to write (24)")
    p.add_argument("--meters", type=int, default=50_000, help="meters of the city (50,000)")
    p.add_argument("--every", type=float, default=15.0, help="seconds between readings (15)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = p.parse_args(argv)
    hours = args.hours or (2.0 if args.quick else 24.0)
    started = time.time()
    root = Path(tempfile.mkdtemp(prefix="smartpark-bench-storage-"))
    try:
        fig = measure(hours, root)
    finally:
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(
        f"smartpark storage benchmark — {os.cpu_count()} CPUs, InfluxDB 1.x, "
        f"{time.time() - started:.0f} s\n"
    )
    print(table(fig, hours=hours, meters=args.meters, every_s=args.every))
    return 0


if __name__ == "__main__":
    sys.exit(main())
