"""Shared fixtures: a clean environment for every test, and real servers for integration tests
(logic in ``tests/support/servers.py``)."""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from config.settings import Settings, get_settings
from store import EmbeddedStore, InfluxStore
from tests.support.servers import InfluxService, MosquittoService, kill_leftovers

# deeper fuzzing on demand: pytest --hypothesis-profile=long (docs/fuzzing.md)
hypothesis_settings.register_profile("long", max_examples=2000, deadline=None)

SETTINGS_PREFIX = "SMARTPARK_"
LEFTOVER_THREADS_GRACE_S = 10.0  # how long pytest waits at exit for threads tests left running
_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS.append(int(exitstatus))


def pytest_unconfigure(config: pytest.Config) -> None:
    """Exit even when a test left a non-daemon thread running (a client that a failed assertion
    kept from being stopped retries its broker for ever): Python would wait for it at exit and a
    CI run would hang until its time limit. The threads are named on stderr; the exit status is
    pytest's own."""

    def leftovers() -> list[threading.Thread]:
        return [
            t
            for t in threading.enumerate()
            if t is not threading.main_thread() and not t.daemon and t.is_alive()
        ]

    deadline = time.monotonic() + LEFTOVER_THREADS_GRACE_S
    while leftovers() and time.monotonic() < deadline:
        time.sleep(0.1)
    left = leftovers()
    if not left:
        return
    names = ", ".join(sorted(t.name for t in left))
    sys.stderr.write(
        f"pytest: {len(left)} thread(s) left running by the tests ({names}); "
        "exiting without waiting for them\n"
    )
    sys.stdout.flush()
    sys.stderr.flush()
    kill_leftovers()  # atexit handlers do not run after os._exit
    os._exit(_EXIT_STATUS[-1] if _EXIT_STATUS else 1)


@pytest.fixture(autouse=True)
def clean_settings_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts from the defaults: the developer's ``SMARTPARK_*`` variables and their
    ``./.env`` are not read (a test that wants one sets it with ``monkeypatch.setenv``), and
    the city warm-up of ``serve`` is off."""
    for name in list(os.environ):
        if name.upper().startswith(SETTINGS_PREFIX):
            monkeypatch.delenv(name)
    # a serve of several parks evaluates the city at start: a test that wants it says so
    # (tests/city/test_api.py); the servers the e2e tests start inherit this
    monkeypatch.setenv("SMARTPARK_CITY_WARM", "false")
    monkeypatch.setitem(Settings.model_config, "env_file", None)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxService]:
    """A private influxd for the whole session (skipped, or failed in CI, when not installed)."""
    service = InfluxService(tmp_path_factory.mktemp("influxd"))
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoService]:
    """A private mosquitto broker for the whole session (a test that counts every message it
    receives takes a broker of its own: this one keeps retained messages of earlier tests)."""
    service = MosquittoService(tmp_path_factory.mktemp("mosquitto"))
    service.start()
    yield service
    service.stop()


@pytest.fixture
def influx_store(influxd: InfluxService) -> Iterator[InfluxStore]:
    """An InfluxStore on a fresh database of the session influxd, dropped afterwards."""
    influxd.start()  # a previous test may have killed it
    database = f"test_{uuid.uuid4().hex[:12]}"
    store = InfluxStore(influxd.store_url(database), timeout_s=5.0)
    yield store
    store.close()
    influxd.drop_database(database)


@pytest.fixture
def embedded_store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    """An EmbeddedStore in a file of the test's own temporary folder."""
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    yield store
    store.close()


JANUARY_2025_NS = (1_735_660_800 * 10**9, 1_738_339_200 * 10**9)
"""2025-01-01T00:00+08:00 to 2025-02-01T00:00+08:00 [ns]."""


@pytest.fixture(scope="session")
def january_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder whose embedded store holds the demo park's January 2025 (15-min readings,
    simulated, decoded as the collector decodes them). Read it; do not write to it."""
    from config.registry import load_registry
    from tests.support.simulated import fill_store

    data_dir = tmp_path_factory.mktemp("january")
    store = EmbeddedStore(data_dir / "store.sqlite3")
    try:
        start, end = JANUARY_2025_NS
        fill_store(store, load_registry(), "wuhan-demo", start_ns=start, end_ns=end)
    finally:
        store.close()
    return data_dir
