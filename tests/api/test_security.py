"""HTTP hardening (api/security.py): security headers everywhere, CORS closed unless configured,
and a rate limit on failed authentications per client address."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.security import CSP, AuthFailureLimiter, docs_csp
from config.auth import ApiKeys, KeyEntry, PrincipalRole, hash_token
from config.registry import load_registry
from config.settings import Settings
from store import EmbeddedStore

PARK = "wuhan-demo"
GOOD = "good-token-of-the-operator-0123456789abcdef"
BAD = "a-token-nobody-was-given-0123456789abcdef"
EVIL = "https://evil.example"
OPS = "https://ops.example.com"
KEYS = ApiKeys(
    [KeyEntry(name="ops", role=PrincipalRole.OPERATOR, park=PARK, sha256=hash_token(GOOD))]
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_client(tmp_path: Path, **settings: object) -> Iterator[TestClient]:
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    app = create_app(
        settings=Settings(_env_file=None, data_dir=tmp_path, alarms=False, **settings),  # type: ignore[arg-type]
        store=store,
        registry=load_registry(),
        auth=KEYS,
    )
    try:
        with TestClient(app) as client:
            yield client
    finally:
        store.close()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    yield from make_client(tmp_path)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_hardened(response: object, path: str) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["x-content-type-options"] == "nosniff", path
    assert headers["referrer-policy"] == "no-referrer", path
    assert headers["x-frame-options"] == "DENY", path
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp, path
    assert "default-src 'self'" in csp, path
    script_src = re.search(r"script-src ([^;]*)", csp)
    assert script_src is not None, path
    assert "'unsafe-inline'" not in script_src[1], path
    assert "'unsafe-eval'" not in script_src[1], path


# -- headers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),
        ("/static/app.js", 200),
        ("/static/style.css", 200),
        ("/healthz", 200),
        ("/openapi.json", 200),
        ("/docs", 200),
        ("/redoc", 200),
        ("/docs/oauth2-redirect", 200),
        ("/api/v1/parks", 401),
        ("/api/v1/nothing-here", 404),
        ("/no-such-page", 404),
    ],
)
def test_every_response_carries_the_security_headers(
    client: TestClient, path: str, status: int
) -> None:
    response = client.get(path)
    assert response.status_code == status, path
    assert_hardened(response, path)


def test_api_responses_with_a_key_carry_them_too(client: TestClient) -> None:
    for path in ("/api/v1/parks", f"/api/v1/parks/{PARK}", f"/api/v1/parks/{PARK}/latest"):
        response = client.get(path, headers=auth(GOOD))
        assert response.status_code == 200, path
        assert_hardened(response, path)


def test_the_dashboard_allows_only_its_own_files(client: TestClient) -> None:
    csp = client.get("/").headers["content-security-policy"]
    assert csp == CSP
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    html = client.get("/").text
    assert "<style" not in html
    assert " style=" not in html
    assert re.findall(r"<script[^>]*>", html) == ['<script src="static/app.js" defer>']


@pytest.mark.parametrize("path", ["/docs", "/docs/oauth2-redirect"])
def test_docs_allow_exactly_their_inline_script_by_hash(client: TestClient, path: str) -> None:
    response = client.get(path)
    scripts = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    assert scripts, "the docs page has an inline script"
    csp = response.headers["content-security-policy"]
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    assert csp == docs_csp(response.content)


def test_a_docs_page_with_no_inline_script_gets_no_hash() -> None:
    assert "sha256" not in docs_csp(b"<script src='/x.js'></script>")


# -- CORS -----------------------------------------------------------------------------------------


def test_cors_is_closed_by_default(client: TestClient) -> None:
    response = client.get("/api/v1/parks", headers={**auth(GOOD), "Origin": EVIL})
    assert response.status_code == 200
    assert not [h for h in response.headers if h.startswith("access-control-")]
    preflight = client.options(
        "/api/v1/parks",
        headers={
            "Origin": EVIL,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert not [h for h in preflight.headers if h.startswith("access-control-")]


def test_cors_answers_only_the_configured_origins(tmp_path: Path) -> None:
    for client in make_client(tmp_path, cors_origins=f" {OPS}/ , https://b.example"):
        ok = client.get("/api/v1/parks", headers={**auth(GOOD), "Origin": OPS})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == OPS
        assert "access-control-allow-credentials" not in ok.headers
        preflight = client.options(
            "/api/v1/parks",
            headers={
                "Origin": OPS,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == OPS
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        assert_hardened(preflight, "preflight")
        other = client.get("/api/v1/parks", headers={**auth(GOOD), "Origin": EVIL})
        assert "access-control-allow-origin" not in other.headers
        refused = client.options(
            "/api/v1/parks",
            headers={"Origin": EVIL, "Access-Control-Request-Method": "GET"},
        )
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers


# -- failed authentications -----------------------------------------------------------------------


def test_too_many_bad_keys_get_429_then_good_keys_work_again(tmp_path: Path) -> None:
    for client in make_client(tmp_path, auth_failures_per_min=5):
        limiter = client.app.state.auth_limiter  # type: ignore[attr-defined]
        clock = FakeClock()
        limiter.clock = clock
        for i in range(5):
            bad = client.get("/api/v1/parks", headers=auth(f"{BAD}{i}"))
            assert bad.status_code == 401, i
        for headers in (auth(BAD), auth(GOOD), {"X-API-Key": GOOD}):
            blocked = client.get(f"/api/v1/parks/{PARK}/latest", headers=headers)
            assert blocked.status_code == 429
            assert blocked.headers["retry-after"] == "12"  # 5 per minute: one back every 12 s
            assert blocked.json()["code"] == "too_many_requests"
            assert GOOD not in blocked.text
            assert BAD not in blocked.text
            assert_hardened(blocked, "429")
        # the page, the docs and the health check stay open
        for path in ("/", "/docs", "/healthz"):
            assert client.get(path).status_code == 200, path
        clock.now += 6
        assert client.get("/api/v1/parks", headers=auth(GOOD)).headers["retry-after"] == "6"
        clock.now += 6  # one failure's worth of tokens is back
        assert client.get("/api/v1/parks", headers=auth(GOOD)).status_code == 200
        assert client.get("/api/v1/parks", headers=auth(GOOD)).status_code == 200
        assert client.get("/api/v1/parks", headers=auth(BAD)).status_code == 401  # spends it
        assert client.get("/api/v1/parks", headers=auth(GOOD)).status_code == 429
        clock.now += 60  # a full minute later the bucket is full again
        assert client.get("/api/v1/parks", headers=auth(GOOD)).status_code == 200
        assert len(limiter) == 0


def test_requests_without_a_key_are_not_counted(tmp_path: Path) -> None:
    for client in make_client(tmp_path, auth_failures_per_min=3):
        for _ in range(10):
            assert client.get("/api/v1/parks").status_code == 401
        assert client.get("/api/v1/parks", headers=auth(GOOD)).status_code == 200


def test_good_keys_are_never_counted(tmp_path: Path) -> None:
    for client in make_client(tmp_path, auth_failures_per_min=2):
        for _ in range(10):
            assert client.get("/api/v1/parks", headers=auth(GOOD)).status_code == 200
        # a known key outside its scope is a 403, not a failed authentication
        for _ in range(5):
            assert client.get("/api/v1/parks/elsewhere", headers=auth(GOOD)).status_code == 403
        assert client.get("/api/v1/parks", headers=auth(GOOD)).status_code == 200


def test_the_limit_can_be_turned_off(tmp_path: Path) -> None:
    for client in make_client(tmp_path, auth_failures_per_min=0):
        for _ in range(30):
            assert client.get("/api/v1/parks", headers=auth(BAD)).status_code == 401


def test_buckets_are_per_address_and_bounded() -> None:
    clock = FakeClock()
    limiter = AuthFailureLimiter(2, clock=clock, max_clients=3)
    limiter.failed("10.0.0.1")
    limiter.failed("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == pytest.approx(30.0)
    assert limiter.retry_after("10.0.0.2") == 0.0  # another address is not affected
    for i in range(2, 10):
        limiter.failed(f"10.0.0.{i}")
    assert len(limiter) <= 3  # an attacker with many addresses cannot fill the memory
    clock.now += 60
    assert limiter.retry_after("10.0.0.9") == 0.0
    with pytest.raises(ValueError, match="at least 1"):
        AuthFailureLimiter(0)
