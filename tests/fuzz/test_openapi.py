"""schemathesis against the app's own OpenAPI document, as every role (ASGI, no network).

Every operation under the document (but the endless live stream) is called with generated
parameters and bodies as a city, operator, tenant and gateway key and without a key: no answer is
a 5xx, and every answer has a documented status code and content type and matches the declared
schema. Two parks with a little data (two days of the demo park, the newest readings of both) keep
the handlers on their real paths.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis  # a [test] dependency: missing, the run fails instead of skipping
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from api.main import create_app
from config.auth import ApiKeys, KeyEntry, PrincipalRole, hash_token
from config.registry import Registry
from config.settings import Settings
from store.base import TELEMETRY, Point, QuarantineRecord
from store.embedded import EmbeddedStore
from tests.fuzz.support import budget
from tests.support.simulated import fill_store

A = "wuhan-demo"
TOKENS = {
    "city": "city-token-0123456789abcdef0123456789abcdef",
    "operator": "operator-token-0123456789abcdef0123456789a",
    "tenant": "tenant-token-0123456789abcdef0123456789abc",
    "gateway": "gateway-token-0123456789abcdef0123456789ab",
}
ROLES = [*TOKENS, "none"]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
DAY_NS = 86_400 * 10**9
_AUTH_HEADERS = {"authorization", "x-api-key"}


def _keys() -> ApiKeys:
    return ApiKeys(
        [
            KeyEntry(name="city", role=PrincipalRole.CITY, sha256=hash_token(TOKENS["city"])),
            KeyEntry(
                name="operator",
                role=PrincipalRole.OPERATOR,
                park=A,
                sha256=hash_token(TOKENS["operator"]),
            ),
            KeyEntry(
                name="tenant",
                role=PrincipalRole.TENANT,
                park=A,
                tenant="chipcore",
                sha256=hash_token(TOKENS["tenant"]),
            ),
            KeyEntry(
                name="gateway",
                role=PrincipalRole.GATEWAY,
                park=A,
                sha256=hash_token(TOKENS["gateway"]),
            ),
        ]
    )


@pytest.fixture(scope="module")
def app(two_park_registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    data: Path = tmp_path_factory.mktemp("openapi-store")
    store = EmbeddedStore(data / "store.sqlite3")
    now_ns = time.time_ns()
    end_ns = now_ns - now_ns % (900 * 10**9)
    fill_store(store, two_park_registry, A, start_ns=end_ns - 2 * DAY_NS, end_ns=end_ns)
    latest = [
        Point(TELEMETRY, {"park": "riverside", "device": d}, {"power_kw": 1.0}, now_ns - 10**9)
        for d in ("rs-grid",)
    ]
    store.write(latest)
    store.write_quarantine(
        [
            QuarantineRecord(
                received_ns=now_ns,
                reason="bad_value",
                detail="a record",
                topic=f"parks/{A}/devices/grid-main/telemetry",
                excerpt='{"power": "x"}',
                park=A,
                device="grid-main",
            )
        ]
    )
    application = create_app(
        settings=Settings(_env_file=None, data_dir=data, alarms=False, auth_failures_per_min=0),
        store=store,
        registry=two_park_registry,
        auth=_keys(),
    )
    yield application
    store.close()


@pytest.fixture(scope="module")
def operations(app: FastAPI) -> list[Any]:
    """Every operation of the app's OpenAPI document but the live stream, which never ends (it
    has tests of its own, tests/api/test_stream.py)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) >= 20, found
    return [op for op in found if not op.path.endswith("/stream")]


def _headers(role: str) -> dict[str, str]:
    return {} if role == "none" else {"Authorization": f"Bearer {TOKENS[role]}"}


def _strategy(operation: Any) -> Any:
    """Valid and invalid requests of one operation (invalid where the operation has inputs)."""
    positive = operation.as_strategy(GenerationMode.POSITIVE)
    try:
        return st.one_of(positive, operation.as_strategy(GenerationMode.NEGATIVE))
    except Exception:  # an operation without parameters has no invalid requests
        return positive


@pytest.mark.parametrize("role", ROLES)
def test_no_5xx_and_every_answer_matches_the_schema(operations: list[Any], role: str) -> None:
    """Every operation as ``role``; all failures of all operations are reported together."""
    failures: list[str] = []
    for operation in operations:

        @settings(budget(10), suppress_health_check=list(HealthCheck), database=None)
        @given(case=_strategy(operation))
        def run(case: Any) -> None:
            if case.headers:  # the role's credentials only, never generated ones
                for name in [h for h in case.headers if h.lower() in _AUTH_HEADERS]:
                    del case.headers[name]
            case.call_and_validate(headers=_headers(role), checks=CHECKS)

        try:
            run()
        except Exception as exc:  # collected, all reported below
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
