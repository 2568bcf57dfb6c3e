"""City benchmark: a generated city of parks, backfilled (scaled down), measured through HTTP
against the targets of issue 14.

``python -m bench.city [--quick] [--parks N] [--scale F] [--stores K] [--json FILE]`` on this
machine:

1. generates a city of ``--parks`` parks (``smartpark simulate --generate-city``; park 1 has
   2,000 meters) and times loading its registry (target: 100 parks ≤ 10 s);
2. backfills a scaled-down copy straight into InfluxDB (never through MQTT, as
   bench/analytics.py does): park 1 at ``--big-meters`` with ``--big-years`` years, the others
   at ``--scale`` × their meters with a year; for every register the day roll-ups, for the
   meters a park's indicators read (:data:`FINE_ROLES`) also the 15-minute ledger, and each
   park's declared value added for the year. It prints the arithmetic of the full-size backfill
   through MQTT (readings, collectors needed for 30 minutes at a measured rate);
3. starts ``smartpark serve`` as a subprocess on a free port (registry and store from the
   environment, authentication off) and times through HTTP: ``/indicators?period=<year>`` of
   park 1 (p50/p95, target p95 ≤ 1 s) asked again, and computed again after one of its days is
   rolled up again (the kept report no longer standing), ``/targets`` (≤ 2 s), park 1's year
   report as PDF (≤ 30 s), ``/city/indicators?period=<year>`` (≤ 3 s for 100 parks over 2
   influxd) and the city report as PDF (≤ 60 s);
4. times the city evaluation in process on the day roll-ups (``TotalLedger``: one server-side
   sum per register and park), the path the routes take once they answer from roll-ups;
5. prints a city's disk per month for its raw readings, from the bytes per reading measured on
   InfluxDB by ``python -m bench.storage`` (:data:`BYTES_PER_READING`).

Each HTTP row says whether the answer carried figures (the park's comprehensive energy in
tce). ``--stores K`` spreads the parks over K influxd in turn (``store:`` in each park's
registry file, ``SMARTPARK_STORES`` for ``serve``; park 1 in the default store). ``--quick`` is
a smoke run (a few small parks, under a minute); the full run takes tens of minutes.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import yaml

from bench._procs import exit_on_sigterm, free_port
from bench._report import TARGET_BATCH
from bench.analytics import local_ns, registers, synthetic_ledger
from bench.storage import disk_per_month
from config.registry import ParkRegistry, Registry, Role, load_registry
from config.settings import DEFAULT_STORE
from services.city import OUTPUT_KEY, evaluate_city
from services.declared import write_declared
from services.energy import Scope
from services.indicators import IndicatorReport, local_period, park_indicators
from services.ledger import FieldLedger, ledger_points
from services.rollup import TotalLedger, day_points, write_day_rollups
from simulators.city import generate_city, write_city
from simulators.generate import generate_park
from store import RoutedStore, park_routes
from store.base import Point, Store
from store.influx import InfluxStore
from tests.support.servers import InfluxService

TZ = "Asia/Shanghai"
YEAR = 2025
ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

# the targets of issue 14 [s]
TARGET_INDICATORS_P95_S = 1.0
TARGET_TARGETS_S = 2.0
TARGET_PARK_PDF_S = 30.0
TARGET_CITY_S = 3.0
TARGET_CITY_REPORT_S = 60.0
TARGET_REGISTRY_S = 10.0  # 100 parks
TARGET_BACKFILL_S = 30 * 60.0  # a year of the city through MQTT

READINGS_PER_DAY = 96  # a reading per meter every 15 minutes in a backfill

# -- disk per month (issue 14, item 6: retention) -------------------------------------------------
BYTES_PER_READING = 29.7
"""Bytes on disk per stored raw reading [B]: InfluxDB 1.6, TSM + index after full compaction,
the demo park's mix (53 devices, 4.2 field values per reading, one reading per 15 s), measured by
``python -m bench.storage`` (24 h of data, 305,280 readings: 9,072,817 B) on this machine,
2026-12-06 (docs/benchmarks.md, "Storage")."""
LIVE_INTERVAL_S = 15.0  # a city's live reading interval per meter [s] (issue 14: one per 15 s)


def disk_per_month_gib(meters: int) -> float:
    """Raw readings of ``meters`` meters at one per :data:`LIVE_INTERVAL_S` for an average month
    (365.25 / 12 days), on disk [GiB], at :data:`BYTES_PER_READING`."""
    return (
        disk_per_month(meters, every_s=LIVE_INTERVAL_S, bytes_per_reading=BYTES_PER_READING) / 2**30
    )


# -------------------------------------------------------------------------------------------------


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass
class Config:
    quick: bool
    parks: int
    scale: float
    big_meters: int
    big_years: int
    stores: int
    repeats: int
    mqtt_rate: float
    seed: int = 1
    rows: list[dict[str, Any]] = field(default_factory=list)


def row(
    cfg: Config,
    case: str,
    value: float | None,
    unit: str,
    *,
    target: float | None = None,
    note: str = "",
) -> None:
    # the targets are for the sizes (100 parks, park 1 with 2,000 meters): a smaller
    # city is measured, not judged
    full_size = not cfg.quick and cfg.parks >= 100 and cfg.big_meters >= 2000
    met = None if target is None or value is None or not full_size else value <= target
    cfg.rows.append(
        {"case": case, "value": value, "unit": unit, "target": target, "met": met, "note": note}
    )
    shown = "–" if value is None else f"{value:,.2f}"
    say(f"  → {case}: {shown} {unit} {note}")


# -- 1. the city and its registry ------------------------------------------------------------------


def registry_load(cfg: Config, folder: Path) -> Registry:
    say(f"generating a city of {cfg.parks} parks …")
    if folder.exists():  # --reuse: the city is generated again, the same (seeded)
        shutil.rmtree(folder)
    t0 = time.perf_counter()
    write_city(folder, cfg.parks, seed=cfg.seed)
    made = time.perf_counter() - t0
    t0, cpu0 = time.perf_counter(), time.process_time()
    registry = load_registry(folder)
    secs, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    devices = sum(len(p.devices) for p in registry.parks.values())
    row(
        cfg,
        f"registry load: {cfg.parks} parks, {devices:,} devices",
        secs,
        "s",
        target=TARGET_REGISTRY_S if cfg.parks >= 100 else None,
        note=f"{cpu:.1f} s of CPU (the wall time counts the other processes of a busy "
        f"machine); generated in {made:.1f} s; target ≤ {TARGET_REGISTRY_S:g} s for 100 parks",
    )
    return registry


def store_names(stores: int) -> list[str]:
    """The names of ``stores`` stores: ``default`` (``SMARTPARK_STORE_URL``), then ``s1`` …"""
    return [DEFAULT_STORE, *(f"s{k}" for k in range(1, stores))]


def scaled_city(cfg: Config, full: Registry, folder: Path, stores: list[str]) -> Registry:
    """The city the bench backfills: park 1 at ``big_meters``, the others scaled; land scaled
    with the meters so the 亩均 figures stay of the same order. The parks, in id order, live in
    ``stores`` in turn (``store:`` in the registry; park 1 in the first)."""
    folder.mkdir(parents=True, exist_ok=True)
    docs = sorted(generate_city(cfg.parks, seed=cfg.seed), key=lambda d: str(d["park"]["id"]))
    for n, doc in enumerate(docs):
        full_meters = len(doc["devices"])
        meters = cfg.big_meters if n == 0 else max(10, round(full_meters * cfg.scale))
        scaled = generate_park(meters, park_id=doc["park"]["id"])
        park = dict(doc["park"])
        park["land_mu"] = round(max(park["land_mu"] * meters / full_meters, 1.0), 1)
        if stores[n % len(stores)] != DEFAULT_STORE:
            park["store"] = stores[n % len(stores)]
        scaled["park"] = park
        path = folder / f"{park['id']}.yaml"
        path.write_text(yaml.safe_dump(scaled, sort_keys=False, allow_unicode=True), "utf-8")
    registry = load_registry(folder)
    assert set(registry.parks) == set(full.parks)
    return registry


# -- 2. the backfill -------------------------------------------------------------------------------


FINE_ROLES = frozenset(
    {Role.GRID_CONNECTION, Role.PV, Role.STORAGE, Role.GAS, Role.HEAT, Role.PRODUCTION}
)
"""Roles whose 15-minute ledger the bench writes besides the day roll-ups: the meters a park's
indicators read (services/indicators/hybrid.py: the grid connection at 15 minutes; PV, storage,
gas, heat and production from the roll-up on clean days, at 15 minutes on the others). Feeders,
loads and EV chargers (inside the default profile's boundary) only get roll-ups: the park's
indicators never read them, and they are most of a park's meters."""


def backfill_park(store: Store, park: ParkRegistry, years: int, rng: np.random.Generator) -> int:
    """Day roll-ups of every register over ``years`` years to the end of :data:`YEAR`, the
    15-minute ledger of the meters of :data:`FINE_ROLES`, the value added declared for each
    year. Returns the points written."""
    start, end = local_ns(YEAR - years + 1), local_ns(YEAR + 1)
    grid = {d.id for d in park.devices if d.role in FINE_ROLES}
    pending: list[Point] = []
    written = 0
    for dev_id, f, unit in registers(park):
        result = FieldLedger(f, unit, synthetic_ledger(start, end, rng))
        pending.extend(day_points(park.id, dev_id, result, TZ))
        if dev_id in grid:
            pending.extend(ledger_points(park.id, dev_id, result))
        if len(pending) >= 20_000:
            store.write(pending)
            written += len(pending)
            pending = []
    store.write(pending)
    written += len(pending)
    land = park.park.land_mu or 1.0
    for year in range(YEAR - years + 1, YEAR + 1):
        value = round(land * float(rng.uniform(30.0, 300.0)), 1)  # 10k CNY/mu of value added
        write_declared(store, park, scope=Scope("park"), year=year, values={OUTPUT_KEY: value})
    return written


def backfill(cfg: Config, store: Store, city: Registry, full: Registry) -> None:
    rng = np.random.default_rng(cfg.seed)
    t0 = time.perf_counter()
    points = 0
    for n, pid in enumerate(sorted(city.parks)):
        years = cfg.big_years if n == 0 else 1
        points += backfill_park(store, city.parks[pid], years, rng)
        if n % max(len(city.parks) // 5, 1) == 0:
            say(f"    {n + 1}/{len(city.parks)} parks, {points:,} points, "
                f"{time.perf_counter() - t0:.0f} s")  # fmt: skip
    secs = time.perf_counter() - t0
    meters = sum(len(p.devices) for p in city.parks.values())
    row(
        cfg,
        f"backfill, scaled: {len(city.parks)} parks, {meters:,} devices, day roll-ups + 15-min "
        "ledger of the meters park indicators read, straight to the store",
        secs,
        "s",
        note=f"{points:,} points, {points / secs:,.0f} points/s",
    )
    full_meters = sum(len(p.devices) for p in full.parks.values())
    readings = full_meters * READINGS_PER_DAY * 365
    one = readings / cfg.mqtt_rate
    collectors = math.ceil(one / TARGET_BACKFILL_S)
    row(
        cfg,
        f"backfill through MQTT, full size (arithmetic): {full_meters:,} devices × 96 readings/day "
        f"× 365 days = {readings:,.0f} readings",
        one,
        "s",
        target=TARGET_BACKFILL_S,
        note=f"at {cfg.mqtt_rate:,.0f} readings/s per collector (100-reading batches, "
        f"docs/benchmarks.md); {collectors} collectors (and a store that takes "
        f"{readings / TARGET_BACKFILL_S:,.0f} readings/s) for 30 min",
    )


# -- 3. through HTTP -------------------------------------------------------------------------------


def start_serve(
    folder: Path,
    urls: dict[str, str],
    data: Path,
    log: Path,
    *,
    keep_after: float | None = None,
    warm: bool = False,
) -> tuple[subprocess.Popen[bytes], str]:
    """``smartpark serve`` on the city of ``folder``, its stores ``urls`` (name → URL; the
    first is the default store, the others ``SMARTPARK_STORES``); ``keep_after`` [s] sets
    :data:`services.rollup.KEEP_AFTER_S` in that process (the bench's knob, not a setting);
    ``warm``: ``SMARTPARK_CITY_WARM`` (off for the timed rows: the warm-up would share the
    cores with them)."""
    port = free_port()
    command = [PYTHON, "-m", "smartpark", "serve", "--port", str(port)]
    if keep_after is not None:
        command = [PYTHON, "-c", _KEEP_AFTER, str(keep_after), "serve", "--port", str(port)]
    default, *others = urls
    env = {
        **os.environ,
        "SMARTPARK_REGISTRY": str(folder),
        "SMARTPARK_STORE_URL": urls[default],
        "SMARTPARK_STORES": ",".join(f"{name}={urls[name]}" for name in others),
        "SMARTPARK_DATA_DIR": str(data),
        "SMARTPARK_AUTH": "off",
        "SMARTPARK_ALARMS": "false",
        "SMARTPARK_METRICS_PORT": "0",
        "SMARTPARK_CITY_WARM": "true" if warm else "false",
    }
    with log.open("w") as out:
        proc = subprocess.Popen(
            command,
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"serve stopped: {log.read_text()[-2000:]}")
        time.sleep(0.3)
    stop(proc)
    raise RuntimeError("serve did not answer within 120 s")


_KEEP_AFTER = (
    "import sys; import services.rollup as r; r.KEEP_AFTER_S = float(sys.argv[1]); "
    "from smartpark.cli import main; sys.exit(main(sys.argv[2:]))"
)


def roll_up_again(
    urls: dict[str, str], routes: dict[str, str], city: Registry, which: int = 1
) -> str:
    """Roll up one day of one meter of park ``which`` (in id order; default the second) again,
    as the follower does after a late reading; returns what it did."""
    park = city.parks[sorted(city.parks)[which]]
    meter = next(d.id for d in park.devices if any(f.cumulative for f in d.fields.values()))
    day = local_ns(YEAR, 6, 1)
    store = RoutedStore({n: InfluxStore(u, timeout_s=600.0) for n, u in urls.items()}, routes)
    try:
        write_day_rollups(store, park, start_ns=day, end_ns=day + 1, devices=[meter])
    finally:
        store.close()
    return f"a day of {park.id} rolled up again"


def forget_figures(servers: dict[str, InfluxService]) -> None:
    """Drop every figure the indicators kept (``~fig-`` devices: their day points and 15-minute
    ledger) from the city's databases, so a run on a reused backfill makes them again."""
    for name, server in servers.items():
        for measurement in ("ledger_day", "ledger"):
            statement = f'DROP SERIES FROM "{measurement}" WHERE "device" =~ /^~fig-/'
            got = httpx.post(
                f"{server.url}/query", params={"db": "city", "q": statement}, timeout=600.0
            )
            got.raise_for_status()
        say(f"influxd {name!r}: kept figures dropped")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def timed_get(client: httpx.Client, path: str) -> tuple[float, httpx.Response]:
    t0 = time.perf_counter()
    response = client.get(path)
    secs = time.perf_counter() - t0
    if response.status_code != 200:
        raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:500]}")
    return secs, response


def answered(body: dict[str, Any]) -> str:
    """What the park's answer carried: its comprehensive energy, or why it has none."""
    tce = next(
        (i for i in body.get("indicators", []) if i["name"] == "comprehensive_energy_tce"), None
    )
    if tce is None or tce["value"] is None:
        why = "no such indicator" if tce is None else tce.get("reason")
        return f"figures null ({why})"
    return f"comprehensive energy {tce['value']:,.0f} tce, {tce['completeness_pct']:.1f} % complete"


def http_rows(
    cfg: Config,
    url: str,
    big: ParkRegistry,
    city: Registry,
    touch: Callable[[int], str] | None = None,
) -> None:
    meters = len(big.devices)
    with httpx.Client(base_url=url, timeout=900.0) as client:
        path = f"/api/v1/parks/{big.id}/indicators?period={YEAR}"
        first, last = timed_get(client, path)
        times = [first]
        for _ in range(cfg.repeats):
            secs, last = timed_get(client, path)
            times.append(secs)
        warm = times[1:] or times
        p95 = float(np.percentile(warm, 95))
        row(
            cfg,
            f"/indicators?period={YEAR}: park of {meters:,} meters, {cfg.big_years} years stored, "
            "p95",
            p95,
            "s",
            target=TARGET_INDICATORS_P95_S,
            note=f"p50 {float(np.median(warm)):.2f} s, first {times[0]:.2f} s (makes and keeps "
            f"the park's figures and its report), {len(warm)} repeats answered from the report "
            f"kept in the process; {answered(last.json())}",
        )
        first_row = len(cfg.rows) - 1
        if touch is not None:
            # the report kept by the first ask no longer stands after a roll-up of one of its
            # days: each ask computes it again (its figures' days, unchanged, still kept)
            again, which = [], ""
            for _ in range(cfg.repeats):
                which = touch(0)
                secs, last = timed_get(client, path)
                again.append(secs)
            row(
                cfg,
                f"/indicators?period={YEAR}: same park, computed again, p95",
                float(np.percentile(again, 95)),
                "s",
                target=TARGET_INDICATORS_P95_S,
                note=f"p50 {float(np.median(again)):.2f} s, {len(again)} asks, each after "
                f"{which} (the kept report no longer stands); {answered(last.json())}",
            )
        raw = answered(last.json()).startswith("figures null")
        secs, _ = timed_get(client, f"/api/v1/parks/{big.id}/targets?period={YEAR}")
        again = [timed_get(client, f"/api/v1/parks/{big.id}/targets?period={YEAR}")[0]
                 for _ in range(max(cfg.repeats // 2, 1))]  # fmt: skip
        row(cfg, f"/targets?period={YEAR}: same park", max(again), "s", target=TARGET_TARGETS_S,
            note=f"first {secs:.2f} s, worst of {len(again)} more")  # fmt: skip
        secs, pdf = timed_get(client, f"/api/v1/parks/{big.id}/reports/{YEAR}?format=pdf&lang=zh")
        row(cfg, "park year report, PDF (zh): same park", secs, "s", target=TARGET_PARK_PDF_S,
            note=f"{len(pdf.content):,} bytes; asked after /indicators kept the park's figures, "
                 "its months and tenants made on the way")  # fmt: skip
        devices = sum(len(p.devices) for p in city.parks.values())
        path = f"/api/v1/city/indicators?period={YEAR}"
        times = [timed_get(client, path)[0] for _ in range(max(cfg.repeats // 2, 1) + 1)]
        _, body = timed_get(client, path)
        parks = body.json()["parks"]
        ranked = sum(1 for p in parks if p["rank"] is not None)
        row(
            cfg,
            f"/city/indicators?period={YEAR}: {len(city.parks)} parks, {devices:,} devices, "
            f"{cfg.stores} influxd",
            max(times[1:] or times),
            "s",
            target=TARGET_CITY_S,
            note=f"first {times[0]:.2f} s (computes every park, keeps its report in the "
            f"process); the rest from the kept reports; {ranked} parks ranked; trend on (the "
            "previous year is evaluated too)",
        )
        if touch is not None:
            which = touch(1)
            secs, _ = timed_get(client, path)
            row(cfg, f"/city/indicators?period={YEAR} after {which}", secs, "s",
                note="that park's report made again, the others' kept")  # fmt: skip
        secs, pdf = timed_get(client, f"/api/v1/city/reports/{YEAR}?format=pdf&lang=zh")
        row(cfg, "city report, PDF (zh)", secs, "s", target=TARGET_CITY_REPORT_S,
            note=f"{len(pdf.content):,} bytes")  # fmt: skip
    if raw:  # an answer without figures is not the target's case: no "met" either way
        for r in cfg.rows[first_row:]:
            r["met"] = None
            r["note"] += "" if "figures null" in r["note"] else "; the park answered no figures"


def warm_rows(cfg: Config, url: str, log: Path, city: Registry) -> None:
    """The city view after a restart of ``serve`` with ``SMARTPARK_CITY_WARM``: how long the
    warm-up took (its log line), then the first ``/city/indicators`` of the year."""
    started = time.monotonic()
    deadline = started + 1_800
    line = ""
    while time.monotonic() < deadline:
        found = [x for x in log.read_text(encoding="utf-8").splitlines() if "kept for the" in x]
        if found:
            line = found[-1]
            break
        time.sleep(0.5)
    took = re.search(r"in ([\d.]+) s, kept", line)
    with httpx.Client(base_url=url, timeout=900.0) as client:
        secs, body = timed_get(client, f"/api/v1/city/indicators?period={YEAR}")
    stale = sum(1 for p in body.json()["parks"] if p["stale"])
    row(
        cfg,
        f"/city/indicators?period={YEAR}: first ask after a restart, the city warmed up at start",
        secs,
        "s",
        target=TARGET_CITY_S,
        note=f"SMARTPARK_CITY_WARM: {len(city.parks)} parks evaluated in the background in "
        f"{took[1] if took else '?'} s (today, this month, this year, {YEAR}, each with its "
        f"trend), the parks' figures kept in the store from before; {stale} parks stale",
    )


# -- 4. in process, on the roll-ups ----------------------------------------------------------------


def rollup_indicators(
    store: Store, park: ParkRegistry, period: str, *, profile: Any = None
) -> IndicatorReport:
    """``park_indicators`` on one slot of day roll-ups (``TotalLedger``)."""
    when = local_period(period, park.park.timezone)
    span_s = (when.end_ns - when.start_ns) // 1_000_000_000
    return park_indicators(
        store, park, period, profile=profile, interval_s=span_s, ledger=TotalLedger()
    )


def rollup_city(cfg: Config, store: Store, city: Registry) -> None:
    parks = [city.parks[p] for p in sorted(city.parks)]
    run: Callable[[], Any] = lambda: evaluate_city(  # noqa: E731
        store, parks, str(YEAR), indicators=rollup_indicators
    )
    first_t0 = time.perf_counter()
    result = run()
    first = time.perf_counter() - first_t0
    t0 = time.perf_counter()
    run()
    warm = time.perf_counter() - t0
    with_tce = sum(
        1 for r in result.parks if r.figures.figures.get("comprehensive_energy_tce") is not None
    )
    row(
        cfg,
        f"city evaluation in process on the day roll-ups (TotalLedger), {len(parks)} parks",
        warm,
        "s",
        target=TARGET_CITY_S,
        note=f"first {first:.2f} s; {with_tce} parks with energy figures; trend on",
    )


# -- the table -------------------------------------------------------------------------------------


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| Case | Measured | Target | Met | Note |", "|---|---|---|---|---|"]
    # Met: "–" where there is no target, the city is smaller than the targets' (100 parks, park 1
    # with 2,000 meters; --quick included) or the answer carried no figures
    for r in rows:
        value = "–" if r["value"] is None else f"{r['value']:,.2f} {r['unit']}"
        target = "–" if r["target"] is None else f"≤ {r['target']:,.0f} {r['unit']}"
        met = "–" if r["met"] is None else ("yes" if r["met"] else "NO")
        lines.append(f"| {r['case']} | {value} | {target} | {met} | {r['note']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    exit_on_sigterm()
    p = argparse.ArgumentParser(prog="python -m bench.city", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="a smoke run: a few small parks, < 60 s")
    p.add_argument("--parks", type=int, help="parks in the city (100)")
    p.add_argument("--scale", type=float, help="meters of the backfilled parks per meter (0.1)")
    p.add_argument("--big-meters", type=int, help="meters of park 1 (2,000)")
    p.add_argument("--big-years", type=int, help="years stored for park 1 (2)")
    p.add_argument("--stores", type=int, default=1, help="influxd the parks are spread over (1)")
    p.add_argument("--repeats", type=int, help="timed repeats after the first request (10)")
    p.add_argument(
        "--mqtt-rate",
        type=float,
        default=float(TARGET_BATCH),
        help="readings/s of one collector for the backfill arithmetic",
    )
    p.add_argument("--json", type=Path, help="write the rows here")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    p.add_argument(
        "--reuse",
        type=Path,
        help="work in this folder and keep it; backfill only the first time (then drop the "
        "figures the last run kept), so settings can be compared on one backfill",
    )
    p.add_argument(
        "--keep-after",
        type=float,
        help="services.rollup.KEEP_AFTER_S [s] for serve (default: the shipped value)",
    )
    args = p.parse_args(argv)
    if not 1 <= args.stores <= 8:
        p.error("--stores: 1 to 8 influxd")
    quick = args.quick
    cfg = Config(
        quick=quick,
        parks=args.parks or (4 if quick else 100),
        scale=args.scale or (0.02 if quick else 0.1),
        big_meters=args.big_meters or (40 if quick else 2000),
        big_years=args.big_years or 2,
        stores=args.stores,
        repeats=args.repeats if args.repeats is not None else (2 if quick else 10),
        mqtt_rate=args.mqtt_rate,
    )
    started = time.time()
    load0 = os.getloadavg()[0]
    if args.reuse is not None:
        args.reuse.mkdir(parents=True, exist_ok=True)
        root = args.reuse.resolve()
    else:
        root = Path(tempfile.mkdtemp(prefix="smartpark-bench-city-"))
    filled = root / "backfilled"  # with --reuse: the backfill is there
    reused = filled.exists()
    names = store_names(cfg.stores)
    servers: dict[str, InfluxService] = {}
    for name in names:
        (root / f"influxd-{name}").mkdir(exist_ok=True)
        servers[name] = InfluxService(root / f"influxd-{name}")
    proc = None
    try:
        full = registry_load(cfg, root / "city-full")
        city = scaled_city(cfg, full, root / "city", names)
        for name, server in servers.items():
            server.start()
            say(f"influxd {name!r} pid {server.pid} on {server.url}")
        urls = {name: server.store_url("city") for name, server in servers.items()}
        routes = park_routes(city, names)
        store = RoutedStore(
            {name: InfluxStore(url, timeout_s=600.0) for name, url in urls.items()}, routes
        )
        try:
            if filled.exists():
                say(f"reusing the backfill of {root}")
                forget_figures(servers)
            else:
                backfill(cfg, store, city, full)
                if args.reuse is not None:
                    filled.write_text(time.ctime(), encoding="utf-8")
            rollup_city(cfg, store, city)
        finally:
            store.close()
        proc, api = start_serve(
            root / "city", urls, root / "data", root / "serve.log", keep_after=args.keep_after
        )
        say(f"serve on {api}")
        http_rows(
            cfg, api, city.parks["city-001"], city, lambda k: roll_up_again(urls, routes, city, k)
        )
        stop(proc)
        proc = None
        proc, api = start_serve(
            root / "city", urls, root / "data", root / "serve-warm.log", warm=True
        )
        warm_rows(cfg, api, root / "serve-warm.log", city)
        meters = sum(len(p.devices) for p in full.parks.values())
        row(
            cfg,
            f"disk per month, raw readings of {meters:,} devices at one per {LIVE_INTERVAL_S:g} s",
            disk_per_month_gib(meters),
            "GiB",
            note=f"at BYTES_PER_READING = {BYTES_PER_READING:g} B on InfluxDB (bench.storage)",
        )
    finally:
        if proc is not None:
            stop(proc)
        for server in servers.values():
            server.stop()
        if args.keep or args.reuse is not None:
            say(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    wall = time.time() - started
    head = (
        f"smartpark city benchmark — {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; "
        f"load average {load0:.2f} → {os.getloadavg()[0]:.2f}; {wall:.0f} s"
        + (" (--quick)" if quick else "")
        + ("" if args.keep_after is None else f"; KEEP_AFTER_S = {args.keep_after:g} s")
        + (f"; backfill reused from {root}" if args.reuse is not None and reused else "")
    )
    print(head + "\n")
    print(table(cfg.rows))
    if args.json:
        args.json.write_bytes(orjson.dumps({"head": head, "rows": cfg.rows},
                                           option=orjson.OPT_INDENT_2))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
