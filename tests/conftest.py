"""Shared fixtures: real servers for integration tests (logic in ``tests/services.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from store import EmbeddedStore, InfluxStore
from tests.services import InfluxService, MosquittoService


@pytest.fixture(scope="session")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxService]:
    """A private influxd for the whole session (skipped, or failed in CI, when not installed)."""
    service = InfluxService(tmp_path_factory.mktemp("influxd"))
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoService]:
    """A private mosquitto broker for the whole session."""
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
