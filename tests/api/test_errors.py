"""Every error class has one answer (api/errors.py), and each kind gives its status through a real
route: a class added under no kind, or a route that swallows a bug as a 4xx, fails here."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.errors import ERRORS, mapping_of
from api.main import create_app
from config.errors import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    SmartParkError,
    StoreUnavailableError,
    TooManyStreamsError,
    UnavailableError,
)
from config.registry import Registry, load_registry
from config.settings import Settings
from store.embedded import EmbeddedStore

PARK = "wuhan-demo"
PACKAGES = (
    "config",
    "store",
    "ingest",
    "analytics",
    "services",
    "reports",
    "api",
    "simulators",
    "edge",
)


def _every_error_class() -> set[type[SmartParkError]]:
    """Every subclass of SmartParkError in the packages, once each module is imported."""
    for name in PACKAGES:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            importlib.import_module(info.name)
    importlib.import_module("smartpark.cli")
    found: set[type[SmartParkError]] = set()
    todo = [SmartParkError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def test_every_error_class_has_a_mapping() -> None:
    classes = _every_error_class()
    names = {c.__name__ for c in classes}
    # the walk did reach every layer (else the check below would pass on too few classes)
    assert {
        "ScopeError",
        "UnknownScopeError",
        "PeriodError",
        "DeclaredValueError",
        "AlarmConflictError",
        "MissingCJKFontError",
        "UnknownUnitError",
        "SpoolFullError",
        "FactorNotFoundError",
        "TargetNotFoundError",
        "KeysError",
    } <= names
    unmapped = sorted(c.__qualname__ for c in classes if mapping_of(c) is None)
    assert not unmapped, f"no entry in api.errors.ERRORS for {unmapped}"
    assert SmartParkError not in ERRORS  # else every class would "have" one, by default
    assert mapping_of(SmartParkError) is None


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("ScopeError", 422, "invalid_request"),
        ("PeriodError", 422, "invalid_request"),
        ("DeclaredValueError", 422, "invalid_request"),
        ("UnknownScopeError", 404, "not_found"),
        ("FactorNotFoundError", 404, "not_found"),
        ("TargetNotFoundError", 404, "not_found"),
        ("AlarmConflictError", 409, "conflict"),
        ("MissingCJKFontError", 503, "unavailable"),
        ("StoreUnavailableError", 503, "store_unavailable"),
        ("StoreQueryError", 502, "store_query_failed"),
        ("StoreError", 502, "store_failed"),
        ("TooManyStreamsError", 429, "too_many_streams"),
        ("RegistryError", 500, "server_misconfigured"),
        ("UnknownUnitError", 500, "server_misconfigured"),
    ],
)
def test_each_domain_error_maps_to_its_kind(name: str, status: int, code: str) -> None:
    (cls,) = [c for c in _every_error_class() if c.__name__ == name]
    mapping = mapping_of(cls)
    assert mapping is not None
    assert (mapping.status, mapping.code) == (status, code)


def test_a_configuration_error_is_a_500_that_keeps_its_detail_in_the_log(
    tmp_path: Path, registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    from config.errors import Problem, RegistryError

    class BrokenStore(EmbeddedStore):
        def quarantined(self, *, park: str | None = None, limit: int = 1000) -> list[Any]:
            raise RegistryError([Problem("/etc/smartpark/secret-park.yaml", 3, "bad timezone")])

    store = BrokenStore(tmp_path / "broken.sqlite3")
    settings = Settings(_env_file=None, data_dir=tmp_path, alarms=False)
    with _client(create_app(settings=settings, store=store, registry=registry)) as c:
        r = c.get("/api/v1/quarantine")
    store.close()

    _error(r, 500, "server_misconfigured", "configuration is invalid")
    assert "secret-park" not in r.text
    assert "/etc/smartpark/secret-park.yaml:3: bad timezone" in caplog.text


def test_retry_after_comes_from_the_error() -> None:
    streams = mapping_of(TooManyStreamsError)
    store = mapping_of(StoreUnavailableError)
    assert streams is not None
    assert streams.retry_after_s is not None
    assert store is not None
    assert store.retry_after_s is not None
    assert streams.retry_after_s(TooManyStreamsError("full", retry_after_s=7)) == 7
    assert store.retry_after_s(StoreUnavailableError("down")) == 5
    assert mapping_of(UnavailableError) == ERRORS[UnavailableError]
    assert ERRORS[UnavailableError].retry_after_s is None


# -- through real routes -------------------------------------------------------------------------


@pytest.fixture
def registry() -> Registry:
    return load_registry()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    s = EmbeddedStore(tmp_path / "errors.sqlite3")
    yield s
    s.close()


def _client(app: FastAPI) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


@pytest.fixture
def client(tmp_path: Path, store: EmbeddedStore, registry: Registry) -> Iterator[TestClient]:
    settings = Settings(_env_file=None, data_dir=tmp_path, alarms=False)
    with _client(create_app(settings=settings, store=store, registry=registry)) as c:
        yield c


def _error(response: httpx.Response, status: int, code: str, *words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) <= {"code", "message", "errors"}
    assert body["code"] == code
    for word in words:
        assert word in body["message"], body


def test_invalid_request_is_422(client: TestClient) -> None:
    assert issubclass(importlib.import_module("services.energy").ScopeError, InvalidRequestError)
    r = client.get(f"/api/v1/parks/{PARK}/energy", params={"scope": "galaxy:far"})
    _error(r, 422, "invalid_request", "unknown scope kind 'galaxy'")
    r = client.get(f"/api/v1/parks/{PARK}/targets", params={"period": "2025-13"})
    _error(r, 422, "invalid_request", "bad period '2025-13'")
    r = client.get(f"/api/v1/parks/{PARK}/targets", params={"period": "2025", "scope": "device:x"})
    _error(r, 422, "invalid_request", "targets apply to the park or a tenant")


def test_not_found_is_404(client: TestClient) -> None:
    assert issubclass(importlib.import_module("services.energy").UnknownScopeError, NotFoundError)
    r = client.get(f"/api/v1/parks/{PARK}/energy", params={"scope": "tenant:nobody"})
    _error(r, 404, "not_found", "unknown tenant 'nobody'")
    r = client.get(f"/api/v1/parks/{PARK}/targets", params={"period": "2025", "scope": "tenant:x"})
    _error(r, 404, "not_found", "unknown tenant 'x'")
    r = client.get(f"/api/v1/parks/{PARK}/devices/nothing-here")
    _error(r, 404, "not_found", f"park '{PARK}' has no device 'nothing-here'")
    _error(client.get("/api/v1/parks/atlantis"), 404, "not_found", "unknown park 'atlantis'")


def test_conflict_is_409(tmp_path: Path, store: EmbeddedStore, registry: Registry) -> None:
    park = registry.parks[PARK]
    twin = park.model_copy(update={"park": park.park.model_copy(update={"id": "twin"})})
    two = dataclasses.replace(registry, parks={**registry.parks, "twin": twin})
    tenant = park.tenants[0].id
    settings = Settings(_env_file=None, data_dir=tmp_path, alarms=False)
    with _client(create_app(settings=settings, store=store, registry=two)) as c:
        r = c.get(f"/api/v1/tenants/{tenant}/reports/2025")
    assert issubclass(ConflictError, SmartParkError)
    _error(r, 409, "conflict", f"tenant {tenant!r} is in several parks (twin, {PARK})")


def test_unavailable_is_503(client: TestClient) -> None:
    r = client.get(f"/api/v1/parks/{PARK}/alarms")
    _error(r, 503, "unavailable", "alarms are off")
    assert "retry-after" not in r.headers


def test_a_bug_under_the_targets_route_is_a_500_not_a_4xx(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The targets route once turned any KeyError into a 404 and any ValueError into a 422, which
    hid bugs from the schemathesis run (whose check is "no 5xx")."""
    import api.routes.targets

    for bug in (KeyError("tco2_per_tce"), ValueError("baseline and leading value must differ")):

        def broken(*_: object, error: Exception = bug, **__: object) -> object:
            raise error

        monkeypatch.setattr(api.routes.targets, "evaluate_targets", broken)
        r = client.get(f"/api/v1/parks/{PARK}/targets", params={"period": "2025"})
        assert r.status_code == 500, (bug, r.text)
