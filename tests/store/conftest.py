"""A private influxd with authentication enabled, for the store contract tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from store.influx import InfluxStore
from tests.support.servers import InfluxService

ADMIN = ("smartpark", "s3cret p@ss:/?")
"""User and password of the authenticating influxd (characters a URL must escape included)."""


@pytest.fixture(scope="session")
def influxd_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxService]:
    """An influxd that requires a user and password, for the whole session."""
    service = InfluxService(tmp_path_factory.mktemp("influxd-auth"), auth=ADMIN)
    service.start()
    yield service
    service.stop()


@pytest.fixture
def influx_auth_store(influxd_auth: InfluxService) -> Iterator[InfluxStore]:
    """An InfluxStore that logs in with user and password, on a fresh database."""
    influxd_auth.start()
    database = f"test_{uuid.uuid4().hex[:12]}"
    store = InfluxStore(influxd_auth.store_url(database), timeout_s=5.0)
    yield store
    store.close()
    influxd_auth.drop_database(database)
