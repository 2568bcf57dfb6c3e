"""``smartpark demo``: a whole park in one process, nothing to install but the package.

An embedded MQTT broker (amqtt), the simulator publishing the demo park, the collector writing to
the embedded store, and the API with the live page, all on one event loop (the collector's paho
client runs its own network and writer threads). Ctrl-C (SIGINT) or SIGTERM stops every part in
reverse order within a few seconds.

Before it goes live the demo simulates the last ``BACKFILL_DAYS`` days of 15-minute history
(:func:`simulate_history`, about 2 s), then goes live and stores that history in the background,
newest day first (:func:`store_history`), so every chart, quality strip, target tile and report
has content on first open: the last day within a second, the month within seconds. The history
goes through the collector's own decoder (the payloads a gateway would upload, decoded,
normalised and validated as the collector does), so what is stored is what a collector would
store; the stored ledger and daily roll-ups of each day are rebuilt as it lands. The live
simulator continues the same model, so no register steps where history ends and live data
begins. With a ``--data-dir`` kept from an earlier run, only the time since its last reading is
filled in, and registers continue from where the store says each meter stands.

The API asks for a key as it does in production: the demo makes an operator key of the demo park
at start (in memory only, gone when the demo stops) and logs the page's address with the token in
the URL fragment (``/#key=…``), which browsers never send to the server, so it stays out of any
access log; the page keeps it for the browser tab and sends it with every request.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path

import orjson
import uvicorn

from api.main import create_app
from config.auth import ApiKeys, KeyEntry, PrincipalRole, hash_token, new_token
from config.errors import ConfigError
from config.registry import ParkRegistry, Registry, load_registry
from config.settings import Settings
from ingest.collector import Collector
from ingest.decode import Decoder
from services.follow import LedgerFollower, touched_marks
from services.ledger import device_ledger, ledger_points
from services.rollup import write_day_rollups
from simulators.park import ParkModel
from simulators.publisher import simulate
from simulators.truth import TruthWriter
from smartpark.follow_child import free_port
from smartpark.progress import ProgressBar
from smartpark.registers import registers_at
from store import EmbeddedStore, Store

__all__ = [
    "BACKFILL_DAYS",
    "BACKFILL_INTERVAL_S",
    "BackfillResult",
    "backfill",
    "free_port",
    "run_demo",
]

BACKFILL_DAYS = 30
"""Days of history the demo writes before it goes live."""
BACKFILL_INTERVAL_S = 900
"""Seconds between the history's readings: the ledger's interval."""
_BATCH_TICKS = 96  # readings per device and upload: a day of 15-minute readings

log = logging.getLogger("smartpark.demo")


def _check_port(host: str, port: int) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port} ({exc.strerror}); choose another with --port"
            ) from exc


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the demo owns SIGINT/SIGTERM for every part."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def _start_broker(port: int) -> object:
    from amqtt.broker import Broker

    for name in ("amqtt", "transitions"):
        logging.getLogger(name).setLevel(logging.ERROR)  # amqtt logs benign PUBACK races
    broker = Broker(
        {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
    )
    await broker.start()
    return broker


@dataclass(frozen=True, slots=True)
class History:
    """Simulated readings not yet stored: per upload (a day of ticks, oldest first), each
    device's payloads as the simulator publishes them; the device times of the first and last
    tick [ns]."""

    uploads: list[dict[str, list[dict[str, float | int]]]]
    first_ns: int
    last_ns: int


@dataclass(frozen=True, slots=True)
class BackfillResult:
    """What :func:`store_history` wrote: readings stored and quarantined, uploads stored."""

    readings: int
    quarantined: int
    uploads: int
    ledger_uploads: int = 0  # uploads whose stored ledger and roll-ups were rebuilt


def simulate_history(
    park: ParkRegistry,
    model: ParkModel,
    *,
    start_ns: int,
    end_ns: int,
    interval_s: int = BACKFILL_INTERVAL_S,
    progress: Callable[[int, int], None] | None = None,
    truth: TruthWriter | None = None,
) -> History:
    """Advance ``model`` over ``(start_ns − interval_s, end_ns]`` [ns]: ticks every
    ``interval_s`` [s] on the epoch-aligned grid from ``start_ns`` (which must lie on it), then
    one shorter tick ending at ``end_ns`` if the grid stops short of it; nothing when
    ``end_ns < start_ns``. The readings are grouped in uploads of a day per device (what the
    simulator publishes with ``--batch 96``); ``truth`` receives each tick's ground truth."""
    step_ns = interval_s * 1_000_000_000
    if start_ns % step_ns:
        raise ValueError("start_ns must lie on the interval grid")
    times = [(t, float(interval_s)) for t in range(start_ns, end_ns + 1, step_ns)]
    if times and times[-1][0] < end_ns:
        times.append((end_ns, (end_ns - times[-1][0]) / 1e9))
    uploads: list[dict[str, list[dict[str, float | int]]]] = []
    for done, (t, dt) in enumerate(times):
        if done % _BATCH_TICKS == 0:
            uploads.append({d.id: [] for d in park.devices})
        upload = uploads[-1]
        tick = model.advance(t, dt)
        if truth is not None:
            truth.write_tick(tick)
        for reading in tick.readings():
            upload[reading.device].append(reading.payload())
        if progress is not None:
            progress(done + 1, len(times))
    return History(uploads, times[0][0] if times else start_ns, times[-1][0] if times else start_ns)


def store_history(
    store: Store,
    registry: Registry,
    park: ParkRegistry,
    history: History,
    *,
    settings: Settings,
    newest_first: bool = True,
    ledger: bool = False,
    stop: threading.Event | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BackfillResult:
    """Store ``history`` as the collector would store it, upload by upload (newest first by
    default, so the last day is complete first); stops early when ``stop`` is set.

    Each upload goes as ``{"readings": [...]}`` bytes through the collector's :class:`Decoder`
    (topic, validation, units, the same settings); rejected readings go to the quarantine, as the
    collector's do. The readings are written with the collector's touched marks, for the ledger
    follower, or with ``ledger`` without them: once every upload's readings are stored (the page
    computes from readings, so it has the whole month first), the stored ledger and the daily
    roll-ups of each upload's span (and one interval either side) are rebuilt, upload by upload
    in the same order, as ``smartpark ledger rebuild`` would. A follower would work through a
    month of marks in one pass that no stop can cut short; this way the work comes in pieces of
    a day.
    """
    decoder = Decoder(
        registry,
        topic_template=settings.topic_template,
        max_skew_s=settings.max_clock_skew_s,
        max_payload_bytes=settings.max_payload_bytes,
        max_topic_bytes=settings.max_topic_bytes,
    )
    topics = {d.id: decoder.template.topic(park.id, d.id) for d in park.devices}
    ledgered = {d.id for d in park.devices if any(f.cumulative for f in d.fields.values())}
    step_ns = settings.ledger_interval_s * 1_000_000_000
    readings = quarantined = done = 0
    spans: list[tuple[int, int]] = []  # device times of each upload stored [ns]
    order = reversed(history.uploads) if newest_first else iter(history.uploads)
    for upload in order:
        if stop is not None and stop.is_set():
            break
        now_ns = time.time_ns()
        points = []
        rejected = []
        for device_id, batch in upload.items():
            if batch:
                decoded = decoder.decode(
                    topics[device_id], orjson.dumps({"readings": batch}), now_ns
                )
                points.extend(decoded.points)
                rejected.extend(decoded.rejected)
        marks = (
            []
            if ledger
            else touched_marks(
                points,
                now_ns=now_ns,
                source=settings.client_id,
                devices=lambda _park, device: device in ledgered,
            )
        )
        if points:
            store.write(points + marks)
            spans.append((min(p.time_ns for p in points), max(p.time_ns for p in points)))
        if rejected:
            store.write_quarantine(rejected)
        readings += len(points)
        quarantined += len(rejected)
        done += 1
        if progress is not None:
            progress(done, len(history.uploads) * (2 if ledger else 1))
    ledgered_uploads = 0
    for first, last in spans if ledger else ():
        if stop is not None and stop.is_set():
            break
        _write_ledger(store, park, first - step_ns, last + step_ns, settings.ledger_interval_s)
        ledgered_uploads += 1
        if progress is not None:
            progress(done + ledgered_uploads, 2 * len(history.uploads))
    return BackfillResult(readings, quarantined, done, ledgered_uploads)


def _write_ledger(store: Store, park: ParkRegistry, lo: int, hi: int, interval_s: int) -> None:
    """The stored ledger of every register over ``[lo, hi)`` [ns], in one write, with the
    readings of two intervals either side as context (the neighbours that bound it), then the
    daily roll-ups of the local days it touches."""
    points = []
    for device in park.devices:
        if any(spec.cumulative for spec in device.fields.values()):
            for result in device_ledger(
                store,
                park.id,
                device,
                start_ns=lo,
                end_ns=hi,
                interval_s=interval_s,
                lookback_s=2 * interval_s,
            ):
                points += ledger_points(park.id, device.id, result)
    if points:
        store.write(points)
        write_day_rollups(store, park, start_ns=lo, end_ns=hi, interval_s=interval_s)


def backfill(
    store: Store,
    registry: Registry,
    park: ParkRegistry,
    model: ParkModel,
    *,
    start_ns: int,
    end_ns: int,
    settings: Settings,
    interval_s: int = BACKFILL_INTERVAL_S,
) -> BackfillResult:
    """:func:`simulate_history` then :func:`store_history`, oldest upload first."""
    history = simulate_history(park, model, start_ns=start_ns, end_ns=end_ns, interval_s=interval_s)
    return store_history(store, registry, park, history, settings=settings, newest_first=False)


def _history_window(newest_ns: int | None, now_ns: int, live_ns: int) -> tuple[int, int]:
    """The backfill's first tick and its last [ns]: the last ``BACKFILL_DAYS`` days, or only
    what follows ``newest_ns``, the newest reading already stored (none to write when the first
    comes after the last); the last lies on the live interval's grid."""
    step_ns = BACKFILL_INTERVAL_S * 1_000_000_000
    end_ns = now_ns - now_ns % live_ns
    start_ns = end_ns - end_ns % step_ns - BACKFILL_DAYS * 86_400 * 1_000_000_000
    if newest_ns is not None and newest_ns >= start_ns:
        start_ns = newest_ns - newest_ns % step_ns + step_ns
    return start_ns, end_ns


async def run_demo(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    data_dir: Path | None = None,
    registry_path: Path | None = None,
    interval_s: float = 2.0,
    seed: int = 0,
    history: bool = True,
) -> None:
    """Run the demo until SIGINT/SIGTERM; everything binds to ``host`` (loopback by default).

    ``history``: simulate the last ``BACKFILL_DAYS`` days first, then go live while that
    history is stored, newest day first (:func:`simulate_history`, :func:`store_history`)."""
    _check_port(host, port)
    registry = load_registry(registry_path)
    park = next(iter(registry.parks.values()))
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="smartpark-")))
        store = EmbeddedStore(data_dir / "store.sqlite3")
        stack.callback(store.close)
        broker_port = free_port()
        settings = Settings(
            mqtt_url=f"mqtt://127.0.0.1:{broker_port}",
            mqtt_password_file=None,  # the embedded broker is anonymous, whatever the env says
            data_dir=data_dir,
            client_id="smartpark-demo-collector",
            batch_interval_s=0.25,
            metrics_port=0,
        )
        follower = _follower(data_dir, registry, settings)
        stack.callback(follower.store.close)
        model = ParkModel(park, seed=seed)
        past, live_start_ns = (
            await asyncio.to_thread(_simulate_history, store, park, model, interval_s)
            if history
            else (None, None)
        )
        history_stop = threading.Event()
        broker = await _start_broker(broker_port)
        collector = Collector(settings=settings, registry=registry, store=store)
        await asyncio.to_thread(collector.start)
        follower.start(every_s=settings.ledger_poll_s)
        stack.callback(follower.stop)
        stop = asyncio.Event()
        token = new_token()
        keys = _operator_key(park.id, token)
        server = _Server(
            uvicorn.Config(
                create_app(settings=settings, store=store, registry=registry, auth=keys),
                host=host,
                port=port,
                log_level="warning",
                timeout_graceful_shutdown=2,  # open live streams would hold the stop forever
            )
        )
        loop = asyncio.get_running_loop()

        def request_stop() -> None:
            stop.set()
            history_stop.set()
            server.should_exit = True

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, request_stop)
        sim = asyncio.create_task(
            simulate(
                park,
                settings.mqtt_url,
                interval_s=interval_s,
                seed=seed,
                stop=stop,
                client_id="smartpark-demo-simulator",
                settings=settings,
                start_ns=live_start_ns,
                speed=0,  # catch up with the wall clock after the history, then real time
                model=model,
            )
        )
        web = asyncio.create_task(server.serve())
        storing = (
            asyncio.create_task(
                asyncio.to_thread(
                    functools.partial(
                        _store_history,
                        store,
                        registry,
                        park=park,
                        history=past,
                        settings=settings,
                        stop=history_stop,
                    )
                )
            )
            if past is not None and past.uploads
            else None
        )
        log.info(
            "demo running: park %s (%d devices); open http://%s:%d/#key=%s  (API docs at "
            "/docs; the API wants 'Authorization: Bearer <the key>', an operator key of this "
            "park made for this run); Ctrl-C stops it",
            park.id,
            len(park.devices),
            host,
            port,
            token,
        )
        try:
            done, _ = await asyncio.wait(
                {sim, web, asyncio.create_task(stop.wait())}, return_when=asyncio.FIRST_COMPLETED
            )
            for task in done & {sim, web}:
                if task.exception() is not None:
                    log.error("demo part failed: %s", task.exception())
        finally:
            log.info("stopping")
            request_stop()
            for task in (sim, web) if storing is None else (sim, web, storing):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, timeout=3.0)
            await asyncio.to_thread(collector.stop, timeout_s=2.0)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(broker.shutdown(), timeout=2.0)  # type: ignore[attr-defined]
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            log.info(
                "stopped: %d readings stored, %d quarantined",
                collector.stats.readings_stored,
                collector.stats.readings_quarantined,
            )


def _operator_key(park_id: str, token: str) -> ApiKeys:
    """The demo's one key: an operator of its park, in memory only."""
    entry = KeyEntry(
        name="demo-operator", role=PrincipalRole.OPERATOR, park=park_id, sha256=hash_token(token)
    )
    return ApiKeys([entry])


def _follower(data_dir: Path, registry: Registry, settings: Settings) -> LedgerFollower:
    """The ledger follower, on a store connection of its own."""
    return LedgerFollower(
        EmbeddedStore(data_dir / "store.sqlite3"),
        registry,
        interval_s=settings.ledger_interval_s,
        cursor_path=settings.ledger_cursor_path,
        keep_bytes=settings.ledger_keep_mib * 1024 * 1024,
    )


def _simulate_history(
    store: Store, park: ParkRegistry, model: ParkModel, live_s: float
) -> tuple[History, int]:
    """The history to store (see :func:`_history_window`) and the live run's first tick [ns];
    ``model`` continues from where the store says each meter stands (seeded when empty)."""
    live_ns = max(int(live_s * 1e9), 1)
    newest_ns = max((r.time_ns for r in store.latest(park.id)), default=None)
    start_ns, end_ns = _history_window(newest_ns, time.time_ns(), live_ns)
    live_start_ns = max(end_ns, newest_ns or 0) + live_ns
    model.set_registers(registers_at(store, park, min(start_ns, live_start_ns)))
    days = max(end_ns - start_ns, 0) / 86_400e9
    began = time.monotonic()
    history = simulate_history(
        park,
        model,
        start_ns=start_ns,
        end_ns=end_ns,
        progress=ProgressBar(1, f"demo history: simulating {days:.1f} days", every_s=1.0),
    )
    if history.uploads:
        log.info("history: %.1f days simulated in %.1f s", days, time.monotonic() - began)
    else:
        log.info("history: the store is up to date; registers continue where it left them")
    return history, live_start_ns


def _store_history(
    store: Store,
    registry: Registry,
    *,
    park: ParkRegistry,
    history: History,
    settings: Settings,
    stop: threading.Event,
) -> None:
    """Store the history newest day first while the demo is live, with its stored ledger."""
    began = time.monotonic()
    result = store_history(
        store,
        registry,
        park,
        history,
        settings=settings,
        ledger=True,
        stop=stop,
        progress=ProgressBar(1, "demo history: storing days, then their ledger", every_s=1.0),
    )
    log.info(
        "history: %d readings of %d days stored in %.1f s (%d quarantined), ledger of %d days%s",
        result.readings,
        result.uploads,
        time.monotonic() - began,
        result.quarantined,
        result.ledger_uploads,
        "" if result.ledger_uploads == len(history.uploads) else "; stopped early",
    )
