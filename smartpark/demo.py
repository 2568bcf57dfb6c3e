"""``smartpark demo``: a whole park in one process, nothing to install but the package.

An embedded MQTT broker (amqtt), the simulator publishing the demo park, the collector writing to
the embedded store, and the API with the live page, all on one event loop (the collector's paho
client runs its own network and writer threads). Ctrl-C (SIGINT) or SIGTERM stops every part in
reverse order within a few seconds.

The API asks for a key as it does in production: the demo makes an operator key of the demo park
at start (in memory only, gone when the demo stops) and logs the page's address with the token in
the URL fragment (``/#key=…``), which browsers never send to the server, so it stays out of any
access log; the page keeps it for the browser tab and sends it with every request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import tempfile
from collections.abc import Generator
from pathlib import Path

import uvicorn

from api.main import create_app
from config.auth import ApiKeys, KeyEntry, PrincipalRole, hash_token, new_token
from config.errors import ConfigError
from config.registry import load_registry
from config.settings import Settings
from ingest.collector import Collector
from services.follow import LedgerFollower
from simulators.publisher import simulate
from store import EmbeddedStore

__all__ = ["free_port", "run_demo"]

log = logging.getLogger("smartpark.demo")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


async def run_demo(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    data_dir: Path | None = None,
    registry_path: Path | None = None,
    interval_s: float = 2.0,
    seed: int = 0,
) -> None:
    """Run the demo until SIGINT/SIGTERM; everything binds to ``host`` (loopback by default)."""
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
        broker = await _start_broker(broker_port)
        collector = Collector(settings=settings, registry=registry, store=store)
        await asyncio.to_thread(collector.start)
        follower = LedgerFollower(
            EmbeddedStore(data_dir / "store.sqlite3"),
            registry,
            interval_s=settings.ledger_interval_s,
            cursor_path=settings.ledger_cursor_path,
        )
        stack.callback(follower.store.close)
        follower.start(every_s=settings.ledger_poll_s)
        stack.callback(follower.stop)
        stop = asyncio.Event()
        token = new_token()
        keys = ApiKeys(
            [
                KeyEntry(
                    name="demo-operator",
                    role=PrincipalRole.OPERATOR,
                    park=park.id,
                    sha256=hash_token(token),
                )
            ]
        )
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
            )
        )
        web = asyncio.create_task(server.serve())
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
            for task in (sim, web):
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
