"""Roles and isolation: every endpoint under /api/v1 as every kind of caller.

Two parks: the demo park (A, ``wuhan-demo``, tenants ``chipcore`` = X and ``lumina`` = Y among
others) and a small second park (B, ``riverside``) that also has a tenant called ``chipcore``, so
a tenant id alone never identifies a tenant. Callers: anonymous, a bad key, city, operator of A,
operator of B, tenant X, tenant Y, a gateway.

The route table is read from ``app.routes``: a new /api/v1 endpoint without an entry in
``CASES`` fails :func:`test_every_api_route_has_expectations`.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

import config.auth
from api.main import create_app
from config.auth import (
    ApiKeys,
    KeyEntry,
    KeyFile,
    KeysError,
    PrincipalRole,
    add_key,
    hash_token,
    load_api_keys,
    revoke_key,
)
from config.errors import ConfigError
from config.registry import Registry, demo_registry_path, load_registry
from config.settings import Settings
from store.base import TELEMETRY, Point, QuarantineRecord
from store.embedded import EmbeddedStore
from tests.support.waiting import wait_until

A, B = "wuhan-demo", "riverside"
X, Y = "chipcore", "lumina"  # tenants of A; B has a "chipcore" too

RIVERSIDE = """\
park:
  id: riverside
  name: Riverside test park
  latitude: 30.6
  longitude: 114.2
  grid_region: central_china
  province: hubei
tenants:
  - {id: chipcore, name: Another tenant with the same id}
  - {id: delta, name: Delta}
buildings:
  - id: rs-hall
    name: Hall
    floors:
      - {number: 1, tenant: chipcore, area_m2: 800}
      - {number: 2, tenant: delta, area_m2: 800}
devices:
  - {id: rs-grid, kind: electricity_meter, role: grid_connection}
  - {id: rs-chip-meter, kind: electricity_meter, role: load, parent: rs-grid, building: rs-hall,
     floor: 1, tenant: chipcore}
  - {id: rs-delta-meter, kind: electricity_meter, role: load, parent: rs-grid, building: rs-hall,
     floor: 2, tenant: delta}
"""

TOKENS = {
    "city": "city-token-0123456789abcdef0123456789abcdef",
    "op_a": "operator-a-token-0123456789abcdef0123456789",
    "op_b": "operator-b-token-0123456789abcdef0123456789",
    "tenant_x": "tenant-x-token-0123456789abcdef0123456789a",
    "tenant_y": "tenant-y-token-0123456789abcdef0123456789a",
    "gateway": "gateway-token-0123456789abcdef0123456789ab",
}
BAD_TOKEN = "not-a-key-0123456789abcdef0123456789abcdef"
CALLERS = ["anonymous", "bad", *TOKENS]
YEAR = 2025


def _entries() -> list[KeyEntry]:
    def entry(
        name: str, role: PrincipalRole, park: str | None = None, tenant: str | None = None
    ) -> KeyEntry:
        return KeyEntry(
            name=name, role=role, park=park, tenant=tenant, sha256=hash_token(TOKENS[name])
        )

    return [
        entry("city", PrincipalRole.CITY),
        entry("op_a", PrincipalRole.OPERATOR, A),
        entry("op_b", PrincipalRole.OPERATOR, B),
        entry("tenant_x", PrincipalRole.TENANT, A, X),
        entry("tenant_y", PrincipalRole.TENANT, A, Y),
        entry("gateway", PrincipalRole.GATEWAY, A),
    ]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    folder = tmp_path_factory.mktemp("registry")
    (folder / "a-demo.yaml").write_text(demo_registry_path().read_text(encoding="utf-8"))
    (folder / "b-riverside.yaml").write_text(RIVERSIDE)
    loaded = load_registry(folder)
    assert sorted(loaded.parks) == [B, A]
    return loaded


@pytest.fixture(scope="module")
def client(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data = tmp_path_factory.mktemp("auth-store")
    store = EmbeddedStore(data / "store.sqlite3")
    now_ns = time.time_ns()
    points = []
    for park in registry.parks.values():
        for dev in park.devices:
            fields = {"power_kw": 1.0} if dev.kind.value == "electricity_meter" else {}
            if dev.kind.value == "gas_meter":
                fields = {"volume_m3": 10.0}
            if fields:
                tags = {"park": park.id, "device": dev.id}
                points.append(Point(TELEMETRY, tags, fields, now_ns - 5 * 10**9))
    store.write(points)
    store.write_quarantine(
        [
            QuarantineRecord(
                received_ns=now_ns - i * 10**9,
                reason="bad_value",
                detail=f"record {i}",
                topic=f"parks/{park}/devices/{dev}/telemetry",
                excerpt='{"power": "x"}',
                park=park,
                device=dev,
            )
            for i, (park, dev) in enumerate([(A, "plant-2-main"), (B, "rs-delta-meter")])
        ]
    )
    app = create_app(
        settings=Settings(_env_file=None, data_dir=data, auth_failures_per_min=0),
        store=store,
        registry=registry,
        auth=ApiKeys(_entries()),
    )
    with TestClient(app) as c:
        yield c
    store.close()


def headers(caller: str) -> dict[str, str]:
    if caller == "anonymous":
        return {}
    token = BAD_TOKEN if caller == "bad" else TOKENS[caller]
    return {"Authorization": f"Bearer {token}"}


# -- the matrix --------------------------------------------------------------------------------

ALL = frozenset({"city", "op_a", "op_b", "tenant_x", "tenant_y"})
PARK_A = frozenset({"city", "op_a", "tenant_x", "tenant_y"})
PARK_B = frozenset({"city", "op_b"})
STAFF_A = frozenset({"city", "op_a"})  # city and A's operator: whole-park data of A
OWNER_X = frozenset({"city", "op_a", "tenant_x"})  # X's own data
OWNER_Y = frozenset({"city", "op_a", "tenant_y"})


@dataclass(frozen=True)
class Case:
    """One request; ``ok`` are the callers that get ``ok_status``, the other keys get 403,
    anonymous and bad keys 401."""

    method: str
    url: str
    ok: frozenset[str]
    body: dict[str, object] | None = None
    ok_status: int = 200
    others: int = 403
    params: dict[str, str] = field(default_factory=dict)


DAY = "2025-06-01"
INSTRUMENT: dict[str, object] = {
    "kind": "direct",
    "kwh_per_month": 1000.0,
    "generation_from": "2025-01",
    "generation_to": "2025-12",
}
BASELINE: dict[str, object] = {
    "scope": "tenant:nobody",
    "baseline_start": "2025-01-01",
    "baseline_end": "2025-01-22",
    "reporting_start": "2025-01-22",
    "reporting_end": "2025-01-29",
}
CASES: dict[tuple[str, str], list[Case]] = {
    ("GET", "/api/v1/parks"): [Case("GET", "/api/v1/parks", ALL)],
    ("GET", "/api/v1/parks/{park}"): [
        Case("GET", f"/api/v1/parks/{A}", PARK_A),
        Case("GET", f"/api/v1/parks/{B}", PARK_B),
        # an unknown park is 404 only for those who may see every park: nobody else learns
        # which parks exist
        Case("GET", "/api/v1/parks/nowhere", frozenset({"city"}), ok_status=404),
    ],
    ("GET", "/api/v1/parks/{park}/devices"): [
        Case("GET", f"/api/v1/parks/{A}/devices", PARK_A),
        Case("GET", f"/api/v1/parks/{B}/devices", PARK_B),
    ],
    ("GET", "/api/v1/parks/{park}/devices/{device}"): [
        Case("GET", f"/api/v1/parks/{A}/devices/gas-boiler", OWNER_X),
        Case("GET", f"/api/v1/parks/{A}/devices/plant-2-main", OWNER_Y),
        Case("GET", f"/api/v1/parks/{A}/devices/grid-main", STAFF_A),
        Case("GET", f"/api/v1/parks/{B}/devices/rs-grid", PARK_B),
        Case("GET", f"/api/v1/parks/{A}/devices/nothing", STAFF_A, ok_status=404),
    ],
    # provisioning: staff only; approving an entry the registry already holds changes nothing
    ("GET", "/api/v1/parks/{park}/devices/pending"): [
        Case("GET", f"/api/v1/parks/{A}/devices/pending", STAFF_A),
        Case("GET", f"/api/v1/parks/{B}/devices/pending", PARK_B),
    ],
    # retiring an unknown device: the roles are checked first, then 404; nothing is written
    ("POST", "/api/v1/parks/{park}/devices/{device}/retire"): [
        Case("POST", f"/api/v1/parks/{A}/devices/nothing/retire", STAFF_A, ok_status=404),
        Case("POST", f"/api/v1/parks/{B}/devices/nothing/retire", PARK_B, ok_status=404),
    ],
    ("POST", "/api/v1/parks/{park}/devices"): [
        Case(
            "POST",
            f"/api/v1/parks/{A}/devices",
            STAFF_A,
            body={
                "id": "tower-a-f01",
                "kind": "electricity_meter",
                "role": "load",
                "parent": "tower-a-main",
                "building": "tower-a",
                "floor": 1,
                "tenant": "t01",
            },
        ),
        Case(
            "POST",
            f"/api/v1/parks/{B}/devices",
            PARK_B,
            body={"id": "rs-grid", "kind": "electricity_meter", "role": "grid_connection"},
        ),
    ],
    ("GET", "/api/v1/parks/{park}/latest"): [
        Case("GET", f"/api/v1/parks/{A}/latest", PARK_A),
        Case("GET", f"/api/v1/parks/{B}/latest", PARK_B),
    ],
    ("GET", "/api/v1/parks/{park}/series"): [
        Case("GET", f"/api/v1/parks/{A}/series?device=plant-1-main&field=power_kw", OWNER_X),
        Case("GET", f"/api/v1/parks/{A}/series?device=plant-2-main&field=power_kw", OWNER_Y),
        Case("GET", f"/api/v1/parks/{A}/series?device=grid-main&field=power_kw", STAFF_A),
        Case("GET", f"/api/v1/parks/{B}/series?device=rs-grid&field=power_kw", PARK_B),
        Case(
            "GET", f"/api/v1/parks/{A}/series?device=nothing&field=power_kw", STAFF_A, ok_status=404
        ),
    ],
    ("GET", "/api/v1/parks/{park}/ledger"): [
        Case("GET", f"/api/v1/parks/{A}/ledger?device=gas-boiler", OWNER_X),
        Case("GET", f"/api/v1/parks/{A}/ledger?device=prod-lumina", OWNER_Y),
        Case("GET", f"/api/v1/parks/{A}/ledger?device=grid-main", STAFF_A),
        Case("GET", f"/api/v1/parks/{B}/ledger?device=rs-chip-meter", PARK_B),
    ],
    ("GET", "/api/v1/parks/{park}/energy"): [
        # no scope: the park, or for a tenant key its own tenant
        Case("GET", f"/api/v1/parks/{A}/energy", PARK_A),
        Case("GET", f"/api/v1/parks/{A}/energy?scope=park", STAFF_A),
        Case("GET", f"/api/v1/parks/{A}/energy?scope=tenant:{X}", OWNER_X),
        Case("GET", f"/api/v1/parks/{A}/energy?scope=tenant:{Y}", OWNER_Y),
        Case("GET", f"/api/v1/parks/{A}/energy?scope=device:gas-boiler", STAFF_A),
        Case("GET", f"/api/v1/parks/{A}/energy?scope=building:plant-1", STAFF_A),
        Case("GET", f"/api/v1/parks/{B}/energy?scope=tenant:{X}", PARK_B),
    ],
    ("GET", "/api/v1/parks/{park}/indicators"): [
        Case("GET", f"/api/v1/parks/{A}/indicators?period={DAY}", PARK_A),
        Case("GET", f"/api/v1/parks/{A}/indicators?period={DAY}&scope=park", STAFF_A),
        Case("GET", f"/api/v1/parks/{A}/indicators?period={DAY}&scope=tenant:{X}", OWNER_X),
        Case("GET", f"/api/v1/parks/{A}/indicators?period={DAY}&scope=tenant:{Y}", OWNER_Y),
        Case("GET", f"/api/v1/parks/{B}/indicators?period={DAY}", PARK_B),
    ],
    ("GET", "/api/v1/parks/{park}/targets"): [
        # no scope: the park's profiles, or for a tenant key its own green-factory profile
        Case("GET", f"/api/v1/parks/{A}/targets?period={DAY}", PARK_A),
        Case("GET", f"/api/v1/parks/{A}/targets?period={DAY}&scope=park", STAFF_A),
        Case("GET", f"/api/v1/parks/{A}/targets?period={DAY}&scope=tenant:{X}", OWNER_X),
        Case("GET", f"/api/v1/parks/{A}/targets?period={DAY}&scope=tenant:{Y}", OWNER_Y),
        Case(
            "GET",
            f"/api/v1/parks/{A}/targets?period={DAY}&scope=tenant:{X}&profile=green_factory",
            OWNER_X,
        ),
        Case("GET", f"/api/v1/parks/{B}/targets?period={DAY}&scope=tenant:{X}", PARK_B),
        Case(
            "GET",
            f"/api/v1/parks/{A}/targets?period={DAY}&scope=tenant:nobody",
            STAFF_A,
            ok_status=404,
        ),
    ],
    ("GET", "/api/v1/parks/{park}/tenants"): [
        Case("GET", f"/api/v1/parks/{A}/tenants", PARK_A),
        Case("GET", f"/api/v1/parks/{B}/tenants", PARK_B),
    ],
    ("GET", "/api/v1/parks/{park}/buildings"): [
        Case("GET", f"/api/v1/parks/{A}/buildings", PARK_A),
        Case("GET", f"/api/v1/parks/{B}/buildings", PARK_B),
    ],
    ("GET", "/api/v1/me"): [Case("GET", "/api/v1/me", ALL)],
    ("GET", "/api/v1/ui-config"): [Case("GET", "/api/v1/ui-config", ALL)],
    # every park the key sees (operators: their own); tenants are refused
    ("GET", "/api/v1/city/indicators"): [
        Case("GET", f"/api/v1/city/indicators?period={DAY}", frozenset({"city", "op_a", "op_b"}))
    ],
    ("GET", "/api/v1/city/reports/{period}"): [
        Case("GET", f"/api/v1/city/reports/{DAY}", frozenset({"city", "op_a", "op_b"}))
    ],
    ("GET", "/api/v1/quarantine"): [
        Case("GET", "/api/v1/quarantine", frozenset({"city", "op_a", "op_b"})),
        Case("GET", f"/api/v1/quarantine?park={A}", STAFF_A),
        Case("GET", f"/api/v1/quarantine?park={B}", PARK_B),
        Case("GET", "/api/v1/quarantine?park=ghost", frozenset({"city"})),
    ],
    ("GET", "/api/v1/parks/{park}/reports/{year}"): [
        Case("GET", f"/api/v1/parks/{A}/reports/{YEAR}?format=json", STAFF_A),
        Case("GET", f"/api/v1/parks/{B}/reports/{YEAR}?format=json", PARK_B),
    ],
    ("GET", "/api/v1/parks/{park}/tenants/{tenant}/reports/{year}"): [
        Case("GET", f"/api/v1/parks/{A}/tenants/{X}/reports/{YEAR}?format=json", OWNER_X),
        Case("GET", f"/api/v1/parks/{B}/tenants/{X}/reports/{YEAR}?format=json", PARK_B),
    ],
    # deprecated: redirects to the park's path (the client follows). chipcore, in both parks, is
    # test_same_tenant_id_in_two_parks_gives_each_operator_its_own and a 409 for a city key
    ("GET", "/api/v1/tenants/{tenant}/reports/{year}"): [
        Case("GET", f"/api/v1/tenants/{Y}/reports/{YEAR}?format=json", OWNER_Y),
        Case("GET", f"/api/v1/tenants/delta/reports/{YEAR}?format=json", PARK_B),
        Case("GET", f"/api/v1/tenants/nobody/reports/{YEAR}", frozenset({"city"}), ok_status=404),
    ],
    ("GET", "/api/v1/parks/{park}/declared/{year}"): [
        Case("GET", f"/api/v1/parks/{A}/declared/{YEAR}", PARK_A),
        Case("GET", f"/api/v1/parks/{A}/declared/{YEAR}?scope=park", STAFF_A),
        Case("GET", f"/api/v1/parks/{A}/declared/{YEAR}?scope=tenant:{X}", OWNER_X),
        Case("GET", f"/api/v1/parks/{A}/declared/{YEAR}?scope=tenant:{Y}", OWNER_Y),
        Case("GET", f"/api/v1/parks/{B}/declared/{YEAR}", PARK_B),
    ],
    # a tenant reads its park's accounting (it applies to its own figures), never writes it
    ("GET", "/api/v1/parks/{park}/accounting/{year}"): [
        Case("GET", f"/api/v1/parks/{A}/accounting/{YEAR}", PARK_A),
        Case("GET", f"/api/v1/parks/{B}/accounting/{YEAR}", PARK_B),
    ],
    ("PUT", "/api/v1/parks/{park}/accounting/{year}"): [
        Case(
            "PUT",
            f"/api/v1/parks/{A}/accounting/{YEAR}",
            STAFF_A,
            body={"electricity_method": "calorific_value"},
        ),
        Case("PUT", f"/api/v1/parks/{B}/accounting/{YEAR}", PARK_B, body={}),
    ],
    ("DELETE", "/api/v1/parks/{park}/accounting/{year}"): [
        Case("DELETE", f"/api/v1/parks/{A}/accounting/{YEAR}", STAFF_A),
        Case("DELETE", f"/api/v1/parks/{B}/accounting/{YEAR}", PARK_B),
    ],
    ("GET", "/api/v1/parks/{park}/alarms"): [
        Case("GET", f"/api/v1/parks/{A}/alarms", PARK_A),
        Case("GET", f"/api/v1/parks/{A}/alarms?state=all", PARK_A),
        Case("GET", f"/api/v1/parks/{B}/alarms", PARK_B),
    ],
    # tenants may read their own devices' alarms, never acknowledge or clear: 403 even for an
    # alarm that does not exist; staff get 404 for it
    ("POST", "/api/v1/parks/{park}/alarms/{alarm_id}/ack"): [
        Case("POST", f"/api/v1/parks/{A}/alarms/offline~gas-boiler~1/ack", STAFF_A, ok_status=404),
        Case("POST", f"/api/v1/parks/{B}/alarms/offline~rs-grid~1/ack", PARK_B, ok_status=404),
    ],
    ("POST", "/api/v1/parks/{park}/alarms/{alarm_id}/clear"): [
        Case(
            "POST", f"/api/v1/parks/{A}/alarms/offline~gas-boiler~1/clear", STAFF_A, ok_status=404
        ),
        Case("POST", f"/api/v1/parks/{B}/alarms/offline~rs-grid~1/clear", PARK_B, ok_status=404),
    ],
    # once=true: the snapshot, then the stream ends (a tenant's holds only its own devices)
    ("GET", "/api/v1/parks/{park}/stream"): [
        Case("GET", f"/api/v1/parks/{A}/stream?once=true", PARK_A),
        Case("GET", f"/api/v1/parks/{B}/stream?once=true", PARK_B),
    ],
    ("GET", "/api/v1/parks/{park}/devices/{device}/maintenance"): [
        Case("GET", f"/api/v1/parks/{A}/devices/gas-boiler/maintenance", OWNER_X),
        Case("GET", f"/api/v1/parks/{A}/devices/grid-main/maintenance", STAFF_A),
        Case("GET", f"/api/v1/parks/{B}/devices/rs-grid/maintenance", PARK_B),
    ],
    # an unknown device: 404 after the role check, nothing stored
    ("POST", "/api/v1/parks/{park}/devices/{device}/maintenance"): [
        Case(
            "POST",
            f"/api/v1/parks/{A}/devices/nothing/maintenance",
            STAFF_A,
            body={"kind": "replacement", "at": f"{DAY}T00:00:00+08:00", "new_initial": 0},
            ok_status=404,
        ),
    ],
    ("PUT", "/api/v1/parks/{park}/declared/{year}"): [
        Case(
            "PUT",
            f"/api/v1/parks/{A}/declared/{YEAR}",
            STAFF_A,
            body={"scope": "park", "values": {"water_reuse": 0.8}},
        ),
        Case(
            "PUT",
            f"/api/v1/parks/{A}/declared/{YEAR}",
            STAFF_A,
            body={"scope": f"tenant:{X}", "values": {"water_reuse": 0.7}},
        ),
        Case(
            "PUT",
            f"/api/v1/parks/{B}/declared/{YEAR}",
            PARK_B,
            body={"scope": "park", "values": {"water_reuse": 0.6}},
        ),
    ],
    # baselines: park staff only (a baseline may cover the whole park); the auth store holds no
    # history to fit, so the key is let through to a scope the park does not have (404)
    ("POST", "/api/v1/parks/{park}/baselines"): [
        Case("POST", f"/api/v1/parks/{A}/baselines", STAFF_A, body=BASELINE, ok_status=404),
        Case("POST", f"/api/v1/parks/{B}/baselines", PARK_B, body=BASELINE, ok_status=404),
    ],
    ("GET", "/api/v1/parks/{park}/baselines"): [
        Case("GET", f"/api/v1/parks/{A}/baselines", STAFF_A),
        Case("GET", f"/api/v1/parks/{B}/baselines", PARK_B),
    ],
    ("GET", "/api/v1/parks/{park}/baselines/{baseline_id}"): [
        Case("GET", f"/api/v1/parks/{A}/baselines/nothing", STAFF_A, ok_status=404),
    ],
    ("GET", "/api/v1/parks/{park}/baselines/{baseline_id}/series"): [
        Case("GET", f"/api/v1/parks/{A}/baselines/nothing/series", STAFF_A, ok_status=404),
    ],
    # official tables: the park's for park staff; a tenant's for its owner and park staff
    ("GET", "/api/v1/parks/{park}/tables/205-1/{year}"): [
        Case("GET", f"/api/v1/parks/{A}/tables/205-1/{YEAR}", STAFF_A),
        Case("GET", f"/api/v1/parks/{B}/tables/205-1/{YEAR}", PARK_B),
    ],
    ("GET", "/api/v1/parks/{park}/tenants/{tenant}/tables/{table}/{year}"): [
        Case("GET", f"/api/v1/parks/{A}/tenants/{X}/tables/205-1/{YEAR}", OWNER_X),
        Case("GET", f"/api/v1/parks/{A}/tenants/{Y}/tables/205-1/{YEAR}", OWNER_Y),
    ],
    # product footprints: a tenant's own, and park staff
    ("GET", "/api/v1/parks/{park}/tenants/{tenant}/footprints"): [
        Case("GET", f"/api/v1/parks/{A}/tenants/{X}/footprints?period={YEAR}", OWNER_X),
        Case("GET", f"/api/v1/parks/{A}/tenants/{Y}/footprints?period={YEAR}", OWNER_Y),
    ],
    ("GET", "/api/v1/parks/{park}/tenants/{tenant}/footprints/{counter}/sheet"): [
        Case(
            "GET",
            f"/api/v1/parks/{A}/tenants/{X}/footprints/prod-chipcore/sheet?period={YEAR}",
            OWNER_X,
        ),
    ],
    # instruments: staff write; a tenant reads its own tenant's only (403 for any other id)
    ("GET", "/api/v1/parks/{park}/instruments"): [
        Case("GET", f"/api/v1/parks/{A}/instruments", PARK_A),
        Case("GET", f"/api/v1/parks/{A}/instruments?tenant={X}&year={YEAR}", OWNER_X),
        Case("GET", f"/api/v1/parks/{A}/instruments?tenant={Y}", OWNER_Y),
        Case("GET", f"/api/v1/parks/{B}/instruments", PARK_B),
    ],
    ("PUT", "/api/v1/parks/{park}/instruments/{instrument_id}"): [
        Case(
            "PUT", f"/api/v1/parks/{A}/instruments/auth-x", STAFF_A, body=INSTRUMENT | {"tenant": X}
        ),
        Case("PUT", f"/api/v1/parks/{B}/instruments/auth-b", PARK_B, body=INSTRUMENT),
    ],
    ("GET", "/api/v1/parks/{park}/instruments/{instrument_id}"): [
        Case("GET", f"/api/v1/parks/{A}/instruments/nothing", STAFF_A, ok_status=404),
    ],
    ("DELETE", "/api/v1/parks/{park}/instruments/{instrument_id}"): [
        Case("DELETE", f"/api/v1/parks/{A}/instruments/nothing", STAFF_A, ok_status=404),
    ],
}


def _walk(routes: Iterable[BaseRoute]) -> Iterator[tuple[str, set[str]]]:
    """(path, methods) of every route, into included routers too (FastAPI ≥ 0.165 keeps an
    included router as one lazy entry of ``app.routes``)."""
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            for context in contexts():
                original = context.original_route
                if isinstance(original, APIRoute):
                    yield context.path, set(original.methods)
        elif isinstance(route, APIRoute):
            yield route.path, set(route.methods)


def api_routes(client: TestClient) -> set[tuple[str, str]]:
    app = client.app
    assert isinstance(app, FastAPI)
    found = {(m, path) for path, methods in _walk(app.routes) for m in methods}
    found = {(m, path) for m, path in found if path.startswith("/api/v1")}
    # the schema lists every documented operation: the walk must not have missed one
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if path.startswith("/api/v1")
    }
    assert documented <= found, documented - found
    return found


def test_every_api_route_has_expectations(client: TestClient) -> None:
    routes = api_routes(client)
    assert routes, "no /api/v1 routes found"
    missing = routes - CASES.keys()
    assert not missing, f"add the new endpoints to CASES in {__file__}: {sorted(missing)}"
    assert not CASES.keys() - routes, "CASES lists endpoints the app no longer has"


def _ids(registry: Registry, park: str, *, tenant: str | None, shared: bool) -> set[str]:
    devices = registry.parks[park].devices
    return {
        d.id for d in devices if (d.tenant is None and shared) or (tenant and d.tenant == tenant)
    }


def forbidden_ids(registry: Registry, caller: str) -> set[str]:
    """Device ids that may never appear (as JSON strings) in what ``caller`` receives."""
    a_all = {d.id for d in registry.parks[A].devices}
    b_all = {d.id for d in registry.parks[B].devices}
    match caller:
        case "op_a":
            return b_all
        case "op_b":
            return a_all
        case "tenant_x" | "tenant_y":
            own = X if caller == "tenant_x" else Y
            others = {d.id for d in registry.parks[A].devices if d.tenant not in (None, own)}
            return others | b_all
    return set()


def forbidden_parks(caller: str) -> set[str]:
    return {"op_a": {B}, "op_b": {A}, "tenant_x": {B}, "tenant_y": {B}}.get(caller, set())


@pytest.mark.parametrize("caller", CALLERS)
def test_every_endpoint_as_every_caller(
    client: TestClient, registry: Registry, caller: str
) -> None:
    failures = []
    bad_ids = forbidden_ids(registry, caller)
    bad_parks = forbidden_parks(caller)
    for cases in CASES.values():
        for case in cases:
            response = client.request(
                case.method, case.url, headers=headers(caller), json=case.body
            )
            if caller in ("anonymous", "bad"):
                expected = 401
            elif caller in case.ok:
                expected = case.ok_status
            else:
                expected = case.others
            what = f"{case.method} {case.url} as {caller}"
            if response.status_code != expected:
                failures.append(
                    f"{what}: {response.status_code}, expected {expected}: {response.text[:200]}"
                )
                continue
            text = response.text
            if expected == 401:
                assert response.headers.get("www-authenticate") == "Bearer", what
                assert BAD_TOKEN not in text
            if expected >= 400:
                assert response.json()["code"] in ("unauthorized", "forbidden", "not_found"), what
            leaked = sorted(i for i in bad_ids if f'"{i}"' in text)
            if leaked:
                failures.append(f"{what}: leaked device ids {leaked}")
            leaked_parks = sorted(p for p in bad_parks if f'"{p}"' in text or f"{p}-" in text)
            if leaked_parks:
                failures.append(f"{what}: leaked parks {leaked_parks}")
    assert not failures, "\n".join(failures)


# -- what each caller sees ------------------------------------------------------------------------


def get(client: TestClient, caller: str, url: str) -> object:
    response = client.get(url, headers=headers(caller))
    assert response.status_code == 200, response.text
    return response.json()


def test_park_lists_show_only_visible_parks(client: TestClient) -> None:
    def ids(caller: str) -> list[str]:
        parks = get(client, caller, "/api/v1/parks")
        assert isinstance(parks, list)
        return [p["id"] for p in parks]

    assert ids("city") == [B, A]
    assert ids("op_a") == [A]
    assert ids("op_b") == [B]
    assert ids("tenant_x") == [A]


def test_tenant_sees_its_own_devices_readings_and_tenant_entry(
    client: TestClient, registry: Registry
) -> None:
    own = {d.id for d in registry.parks[A].devices if d.tenant == X}
    devices = get(client, "tenant_x", f"/api/v1/parks/{A}/devices")
    assert isinstance(devices, list)
    assert {d["id"] for d in devices} == own
    latest = get(client, "tenant_x", f"/api/v1/parks/{A}/latest")
    assert isinstance(latest, dict)
    assert {r["device"] for r in latest["readings"]} == {"plant-1-main", "gas-boiler"}
    detail = get(client, "tenant_x", f"/api/v1/parks/{A}")
    assert isinstance(detail, dict)
    assert [t["id"] for t in detail["tenants"]] == [X]
    assert {f["tenant"] for b in detail["buildings"] for f in b["floors"]} == {X}
    assert detail["park"]["devices"] == len(own)
    # the operator sees everything
    all_devices = get(client, "op_a", f"/api/v1/parks/{A}/devices")
    assert isinstance(all_devices, list)
    assert len(all_devices) == len(registry.parks[A].devices)


def test_tenant_scope_defaults_to_its_own(client: TestClient) -> None:
    energy = get(client, "tenant_y", f"/api/v1/parks/{A}/energy")
    assert isinstance(energy, dict)
    assert energy["scope"] == f"tenant:{Y}"
    park = get(client, "op_a", f"/api/v1/parks/{A}/energy")
    assert isinstance(park, dict)
    assert park["scope"] == "park"
    declared = get(client, "tenant_x", f"/api/v1/parks/{A}/declared/{YEAR}")
    assert isinstance(declared, dict)
    assert declared["scope"] == f"tenant:{X}"


def test_operator_quarantine_is_its_own_parks(client: TestClient) -> None:
    body = get(client, "op_b", "/api/v1/quarantine")
    assert isinstance(body, dict)
    assert body["park"] == B
    assert {r["park"] for r in body["records"]} == {B}
    everything = get(client, "city", "/api/v1/quarantine")
    assert isinstance(everything, dict)
    assert {r["park"] for r in everything["records"]} == {A, B}


def test_same_tenant_id_in_two_parks_gives_each_operator_its_own(client: TestClient) -> None:
    a = get(client, "op_a", f"/api/v1/tenants/{X}/reports/{YEAR}?format=json")
    b = get(client, "op_b", f"/api/v1/tenants/{X}/reports/{YEAR}?format=json")
    x = get(client, "tenant_x", f"/api/v1/tenants/{X}/reports/{YEAR}?format=json")
    assert isinstance(a, dict)
    assert isinstance(b, dict)
    assert isinstance(x, dict)
    assert (a["park_id"], b["park_id"], x["park_id"]) == (A, B, A)
    both = client.get(f"/api/v1/tenants/{X}/reports/{YEAR}", headers=headers("city"))
    assert (both.status_code, both.json()["code"]) == (409, "conflict")


# -- authentication -------------------------------------------------------------------------------


def test_x_api_key_header_works_and_other_schemes_are_refused(client: TestClient) -> None:
    ok = client.get("/api/v1/parks", headers={"X-API-Key": TOKENS["op_a"]})
    assert ok.status_code == 200
    assert [p["id"] for p in ok.json()] == [A]
    for value in (f"Basic {TOKENS['city']}", f"Token {TOKENS['city']}", "Bearer", "Bearer "):
        refused = client.get("/api/v1/parks", headers={"Authorization": value})
        assert refused.status_code == 401, value
        assert refused.headers["www-authenticate"] == "Bearer"
        assert TOKENS["city"] not in refused.text


def test_open_paths_need_no_key(client: TestClient) -> None:
    for path in ("/healthz", "/", "/static/js/main.js", "/docs", "/openapi.json"):
        assert client.get(path).status_code == 200, path
    schema = client.get("/openapi.json").json()
    assert {"bearer", "apiKey"} <= schema["components"]["securitySchemes"].keys()


def test_authentication_compares_digests_in_constant_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def counting(a: str, b: str) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(config.auth.hmac, "compare_digest", counting)
    keys = ApiKeys(_entries())
    assert keys.authenticate(TOKENS["tenant_x"]) is not None
    assert keys.authenticate(BAD_TOKEN) is None
    assert keys.authenticate("") is None
    # once per attempt, hit or miss, and on digests: never on the tokens themselves
    assert len(calls) == 3
    for a, b in calls:
        assert len(a) == len(b) == 64
        assert all(token not in (a, b) for token in [*TOKENS.values(), BAD_TOKEN])


def test_tokens_never_reach_the_logs(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client.get("/api/v1/parks", headers=headers("bad"))
    client.get("/api/v1/parks", headers=headers("city"))
    client.get("/api/v1/parks", headers={"X-API-Key": BAD_TOKEN})
    client.get("/api/v1/parks", headers=headers("gateway"))
    assert any("unknown API key" in r.getMessage() for r in caplog.records)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for token in [*TOKENS.values(), BAD_TOKEN]:
        assert token not in logged
        assert hash_token(token) not in logged


def test_auth_off_acts_as_city(registry: Registry, tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "s.sqlite3")
    app = create_app(
        settings=Settings(_env_file=None, data_dir=tmp_path), store=store, registry=registry
    )
    with TestClient(app) as c:
        assert [p["id"] for p in c.get("/api/v1/parks").json()] == [B, A]
        assert c.get(f"/api/v1/parks/{B}/latest").status_code == 200
    store.close()


# -- the key file ---------------------------------------------------------------------------------

GOOD = "a" * 64


def write_keys(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "keys.yaml"
    path.write_text(text)
    return path


def problems(path: Path, registry: Registry) -> list[str]:
    with pytest.raises(KeysError) as caught:
        load_api_keys(path, registry)
    return [str(p) for p in caught.value.problems]


def test_key_file_loads_and_authenticates(tmp_path: Path, registry: Registry) -> None:
    path = write_keys(
        tmp_path,
        f"# keys\n- name: ops\n  role: operator\n  park: {A}\n  sha256: {hash_token('t0k3n')}\n"
        f"- {{name: x, role: tenant, park: {A}, tenant: {X}, sha256: {GOOD}}}\n",
    )
    keys = load_api_keys(path, registry)
    assert len(keys) == 2
    principal = keys.authenticate("t0k3n")
    assert principal is not None
    assert (principal.name, principal.role, principal.park) == ("ops", "operator", A)
    assert len(load_api_keys(write_keys(tmp_path, ""), registry)) == 0


def test_key_file_problems_carry_file_and_line(tmp_path: Path, registry: Registry) -> None:
    path = write_keys(
        tmp_path,
        f"""\
- name: ok
  role: city
  sha256: {GOOD}
- name: bad-role
  role: admin
  sha256: {"b" * 64}
- name: unknown-park
  role: operator
  park: atlantis
  sha256: {"c" * 64}
- name: no-hash
  role: operator
  park: {A}
- name: unknown-tenant
  role: tenant
  park: {B}
  tenant: {Y}
  sha256: {"d" * 64}
- name: ok
  role: city
  sha256: {"e" * 64}
- name: tenant-without-tenant
  role: tenant
  park: {A}
  sha256: {"f" * 64}
- name: short-hash
  role: city
  sha256: abc
""",
    )
    found = problems(path, registry)
    where = str(path)
    assert found[0].startswith(f"{where}:5: role: ")
    assert "city" in found[0]
    assert found[1].startswith(f"{where}:9: unknown park 'atlantis'")
    assert found[2].startswith(f"{where}:11: sha256: ")
    assert "required" in found[2].lower()
    assert found[3].startswith(f"{where}:17: park 'riverside' has no tenant 'lumina'")
    assert found[4] == f"{where}:19: name 'ok' already used on line 1"
    assert found[5].startswith(f"{where}:22: ")
    assert "needs a tenant" in found[5]
    assert found[6].startswith(f"{where}:28: sha256: ")
    assert "64" in found[6]
    assert len(found) == 7
    # nothing of a token or hash is echoed beyond what the file holds
    assert problems(write_keys(tmp_path, "keys: [\n"), registry)[0].startswith(f"{where}:")
    assert "expected a list" in problems(write_keys(tmp_path, "name: x\n"), registry)[0]
    with pytest.raises(KeysError, match="cannot read"):
        load_api_keys(tmp_path / "missing.yaml", registry)


def test_a_key_file_over_the_size_bound_is_refused_before_it_is_read(
    tmp_path: Path, registry: Registry
) -> None:
    assert config.auth.MAX_KEY_FILE_BYTES == 1_048_576
    big = tmp_path / "big.yaml"
    big.write_bytes(b"\xff" * 1_048_577)  # not even UTF-8: reading it would fail differently
    expected = f"{big}:0: file is 1,048,577 bytes, more than the 1,048,576 read"
    assert problems(big, registry) == [expected]
    with pytest.raises(KeysError, match="more than the 1,048,576 read"):
        add_key(big, registry, name="c", role=PrincipalRole.CITY)
    small = write_keys(tmp_path, f"- {{name: c, role: city, sha256: {GOOD}}}\n")
    size = small.stat().st_size
    assert len(load_api_keys(small, registry, max_file_bytes=size)) == 1
    with pytest.raises(KeysError, match=f"file is {size} bytes, more than the {size - 1} read"):
        load_api_keys(small, registry, max_file_bytes=size - 1)


def test_a_key_file_of_too_many_entries_is_refused_before_they_are_checked(
    tmp_path: Path, registry: Registry
) -> None:
    assert config.auth.MAX_KEYS == 100_000
    junk = write_keys(tmp_path, "[" + "0, " * 100_000 + "0]\n")  # 100,001 entries, 300 kB
    # one problem, not 100,001 "each key must be a mapping"
    assert problems(junk, registry) == [f"{junk}:1: the file holds 100,001 keys, more than 100,000"]
    three = write_keys(
        tmp_path,
        "".join(f"- {{name: k{c}, role: city, sha256: {c * 64}}}\n" for c in "abc"),
    )
    assert len(load_api_keys(three, registry, max_keys=3)) == 3
    with pytest.raises(KeysError, match=r":1: the file holds 3 keys, more than 2$"):
        load_api_keys(three, registry, max_keys=2)


def test_add_key_appends_a_hash_and_returns_the_token(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "etc" / "keys.yaml"
    first = add_key(path, registry, name="ops", role=PrincipalRole.OPERATOR, park=A)
    path.write_text("# managed by smartpark keys add\n" + path.read_text())
    second = add_key(path, registry, name="x", role=PrincipalRole.TENANT, park=A, tenant=X)
    text = path.read_text()
    assert text.startswith("# managed by smartpark keys add\n")  # appended, not rewritten
    assert first not in text
    assert second not in text
    assert hash_token(first) in text
    assert hash_token(second) in text
    assert path.stat().st_mode & 0o077 == 0
    keys = load_api_keys(path, registry)
    principal = keys.authenticate(second)
    assert principal is not None
    assert (principal.park, principal.tenant) == (A, X)
    with pytest.raises(ConfigError, match="already exists"):
        add_key(path, registry, name="ops", role=PrincipalRole.CITY)
    with pytest.raises(ConfigError, match="unknown park 'atlantis'"):
        add_key(path, registry, name="n", role=PrincipalRole.OPERATOR, park="atlantis")
    with pytest.raises(ConfigError, match="has no tenant 'delta'"):
        add_key(path, registry, name="n", role=PrincipalRole.TENANT, park=A, tenant="delta")
    with pytest.raises(ConfigError, match="needs a park"):
        add_key(path, registry, name="n", role=PrincipalRole.OPERATOR)
    assert len(load_api_keys(path, registry)) == 2
    # a flow-style list is rewritten as a block list
    flow = write_keys(tmp_path, "[]\n")
    add_key(flow, registry, name="c", role=PrincipalRole.CITY)
    assert len(load_api_keys(flow, registry)) == 1


def test_json_is_json(client: TestClient) -> None:
    # error bodies of refused requests stay the API's ErrorOut shape
    body = client.get("/api/v1/parks", headers=headers("gateway")).json()
    assert body == {
        "code": "forbidden",
        "message": "a gateway key may only publish over MQTT; it cannot use the API",
    }
    assert json.loads(client.get("/api/v1/parks").text)["code"] == "unauthorized"


# -- expiry and a key file followed while serving ------------------------------------------------


def test_an_expired_key_is_refused_with_key_expired(tmp_path: Path, registry: Registry) -> None:
    today = datetime.now(UTC).date()
    path = write_keys(
        tmp_path,
        f"- {{name: old, role: city, sha256: {hash_token('old-token')}, expires: "
        f"{today - timedelta(days=1)}}}\n"
        f"- {{name: last-day, role: city, sha256: {hash_token('last-day-token')}, expires: "
        f"{today}}}\n",
    )
    store = EmbeddedStore(tmp_path / "s.sqlite3")
    app = create_app(
        settings=Settings(_env_file=None, data_dir=tmp_path, auth_failures_per_min=0, alarms=False),
        store=store,
        registry=registry,
        auth=load_api_keys(path, registry),
    )
    with TestClient(app) as c:
        refused = c.get("/api/v1/parks", headers={"Authorization": "Bearer old-token"})
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"] == "Bearer"
        assert refused.json() == {
            "code": "key_expired",
            "message": (
                f"this API key expired after {today - timedelta(days=1)} (UTC); ask for a new one"
            ),
        }
        # valid through the whole of its last day
        ok = c.get("/api/v1/parks", headers={"Authorization": "Bearer last-day-token"})
        assert ok.status_code == 200
        unknown = c.get("/api/v1/parks", headers={"Authorization": f"Bearer {BAD_TOKEN}"})
        assert unknown.json()["code"] == "unauthorized"
    store.close()


def test_expiry_ends_at_midnight_utc_after_the_last_day(tmp_path: Path, registry: Registry) -> None:
    path = write_keys(
        tmp_path,
        f"- {{name: k, role: city, sha256: {hash_token('k-token')}, expires: 2026-12-31}}\n",
    )
    keys = load_api_keys(path, registry)
    last_second = datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert keys.authenticate("k-token", now=last_second) is not None
    assert keys.authenticate("k-token", now=last_second + timedelta(seconds=1)) is None
    # 08:00 in Wuhan on 1 January is still 31 December in UTC
    wuhan = timezone(timedelta(hours=8))
    assert keys.authenticate("k-token", now=datetime(2027, 1, 1, 7, 59, tzinfo=wuhan)) is not None


def test_a_running_app_follows_the_key_file_without_a_restart(
    tmp_path: Path, registry: Registry
) -> None:
    path = tmp_path / "keys.yaml"
    ops = add_key(path, registry, name="ops", role=PrincipalRole.OPERATOR, park=A)
    settings = Settings(
        _env_file=None, data_dir=tmp_path, api_keys=path, auth_failures_per_min=0, alarms=False
    )
    assert settings.api_keys is not None
    store = EmbeddedStore(tmp_path / "s.sqlite3")
    # as `smartpark serve` builds it: the file is looked at again at most once a second
    keys = KeyFile(settings.api_keys, registry)
    assert keys.check_every_s == 1.0
    app = create_app(settings=settings, store=store, registry=registry, auth=keys)

    with TestClient(app) as c:

        def status(token: str) -> int:
            return c.get("/api/v1/parks", headers={"Authorization": f"Bearer {token}"}).status_code

        assert status(ops) == 200
        revoke_key(path, registry, "ops")
        wait_until(lambda: status(ops) == 401, timeout_s=5, what="the revoked key to be refused")
        # a key added while serving is taken up the same way
        city = add_key(path, registry, name="city", role=PrincipalRole.CITY)
        wait_until(lambda: status(city) == 200, timeout_s=5, what="the new key to be accepted")
        # a hand edit that breaks the file keeps the keys read before (and logs why)
        path.write_text("- name: [\n")
        time.sleep(keys.check_every_s * 1.5)
        assert status(city) == 200
        assert status(ops) == 401
    store.close()
