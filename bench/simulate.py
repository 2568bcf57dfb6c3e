"""Simulator benchmark: generation speed, backfill through Mosquitto, and real time at scale.

``python -m bench.simulate [--quick] [--realtime-s S]`` measures on this machine:

1. generation only: one year of 15-minute data for a generated park of 500 devices — the model,
   the payloads and their JSON in 96-reading batches, no broker;
2. the same year backfilled to a private Mosquitto (``tests.support.servers``) as 96-reading gateway
   batches at QoS 1, as ``smartpark simulate --start … --end … --speed 0 --batch 96`` does;
3. real time: 10,000 devices at one reading every 10 s from one process for ``--realtime-s``
   seconds — the busiest tick must stay well inside the 10 s budget and the last tick published
   must be the current one (it never falls behind).

``--quick`` runs a month instead of a year and 30 s of real time. The broker is private (free
port, temporary folder) and stopped on the way out.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import yaml

from bench._procs import exit_on_sigterm
from config.registry import ParkRegistry, load_registry
from simulators.generate import generate_park
from simulators.park import ParkModel
from simulators.publisher import simulate
from tests.support.servers import MosquittoService

START = datetime(2025, 1, 1, tzinfo=UTC)
QUARTER_S = 900


def park_of(devices: int, folder: Path) -> ParkRegistry:
    path = folder / f"park-{devices}.yaml"
    path.write_text(yaml.safe_dump(generate_park(devices)), encoding="utf-8")
    return load_registry(path).parks["generated"]


def generation_only(park: ParkRegistry, ticks: int, batch: int = 96) -> tuple[float, int, int]:
    """Seconds, readings and bytes to simulate ``ticks`` 15-minute ticks and encode the batches."""
    model = ParkModel(park, seed=1)
    t0 = time.perf_counter()
    start_ns = int(START.timestamp()) * 10**9
    pending: dict[str, list[dict[str, float | int]]] = {}
    readings = size = 0
    for i in range(ticks):
        for r in model.advance(start_ns + (i + 1) * QUARTER_S * 10**9, QUARTER_S).readings():
            buf = pending.setdefault(r.device, [])
            buf.append(r.payload())
            readings += 1
            if len(buf) == batch:
                size += len(orjson.dumps({"readings": buf}))
                pending[r.device] = []
    return time.perf_counter() - t0, readings, size


def backfill(park: ParkRegistry, ticks: int, url: str) -> tuple[float, int, int]:
    start_ns = int(START.timestamp()) * 10**9
    t0 = time.perf_counter()
    result = asyncio.run(
        simulate(
            park,
            url,
            interval_s=QUARTER_S,
            speed=0,
            start_ns=start_ns + QUARTER_S * 10**9,
            end_ns=start_ns + (ticks + 1) * QUARTER_S * 10**9,
            seed=1,
            batch=96,
        )
    )
    return time.perf_counter() - t0, result.readings, result.messages


def real_time(park: ParkRegistry, seconds: float, url: str) -> dict[str, float]:
    async def run() -> dict[str, float]:
        stop = asyncio.Event()
        task = asyncio.create_task(simulate(park, url, interval_s=10, speed=1, seed=1, stop=stop))
        await asyncio.sleep(seconds)
        stop.set()
        result = await asyncio.wait_for(task, timeout=60)
        return {
            "ticks": result.ticks,
            "readings": result.readings,
            "busy_per_tick_s": result.busy_s / max(result.ticks, 1),
            "max_tick_s": result.max_tick_s,
            "expected_ticks": seconds / 10,
        }

    return asyncio.run(run())


def main() -> None:
    exit_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a month, 30 s of real time")
    parser.add_argument("--realtime-s", type=float, default=None)
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--realtime-devices", type=int, default=10_000)
    args = parser.parse_args()
    ticks = (31 if args.quick else 365) * 96
    realtime_s = args.realtime_s or (30.0 if args.quick else 120.0)
    print(f"machine: {os.cpu_count()} CPUs; {args.devices} devices × {ticks} ticks of 15 min")
    with tempfile.TemporaryDirectory(prefix="bench-sim-") as tmp:
        folder = Path(tmp)
        park = park_of(args.devices, folder)
        secs, readings, size = generation_only(park, ticks)
        print(
            f"generation only: {secs:.1f} s for {readings:,} readings "
            f"({readings / secs:,.0f} readings/s, {size / 1e6:,.0f} MB of JSON batches)"
        )
        (folder / "mosquitto").mkdir()
        with MosquittoService(folder / "mosquitto") as broker:
            secs, readings, messages = backfill(park, ticks, broker.url)
            print(
                f"backfill to mosquitto: {secs:.1f} s for {readings:,} readings in "
                f"{messages:,} messages ({readings / secs:,.0f} readings/s)"
            )
            t0 = time.perf_counter()
            big = park_of(args.realtime_devices, folder)
            ParkModel(big, seed=1)
            print(
                f"{args.realtime_devices:,}-device registry loaded and model built in "
                f"{time.perf_counter() - t0:.1f} s"
            )
            rt = real_time(big, realtime_s, broker.url)
            print(
                f"real time, {args.realtime_devices:,} devices every 10 s for {realtime_s:.0f} s: "
                f"{rt['ticks']:.0f} ticks, {rt['busy_per_tick_s']:.2f} s busy per tick "
                f"(max {rt['max_tick_s']:.2f} s of the 10 s budget), "
                f"{rt['ticks']:.0f} of ~{rt['expected_ticks']:.0f} ticks due were published"
            )


if __name__ == "__main__":
    main()
