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
from starlette.types import Message, Receive, Scope, Send

from api.main import create_app
from api.security import CSP, AuthFailureLimiter, SecurityMiddleware, docs_csp
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
        ("/static/js/main.js", 200),
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
    assert re.findall(r"<script[^>]*>", html) == ['<script type="module" src="static/js/main.js">']


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


# -- request bodies -------------------------------------------------------------------------------

MIB = 1_048_576
DECLARE = b'{"scope": "park", "values": {"water_reuse": 0.7}}'
JSON = {**auth(GOOD), "Content-Type": "application/json"}


def declared_url() -> str:
    return f"/api/v1/parks/{PARK}/declared/2025"


def padded(total_bytes: int) -> bytes:
    """A valid declaration of exactly ``total_bytes`` [bytes] (leading blanks are valid JSON)."""
    return b" " * (total_bytes - len(DECLARE)) + DECLARE


def chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    """``body`` as a generator, so the client sends it chunked, without Content-Length."""
    for i in range(0, len(body), size):
        yield body[i : i + size]


def assert_too_large(response: object) -> None:
    assert response.status_code == 413  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["code"] == "payload_too_large"
    assert f"at most {MIB:,} bytes" in body["message"]
    assert_hardened(response, "413")


def test_a_body_of_the_limit_is_accepted_with_or_without_content_length(
    client: TestClient,
) -> None:
    assert Settings(_env_file=None).max_body_bytes == MIB
    declared = client.put(declared_url(), headers=JSON, content=padded(MIB))
    assert declared.status_code == 200, declared.text
    assert declared.json()["values"] == {"water_reuse": 0.7}
    streamed = client.put(declared_url(), headers=JSON, content=chunks(padded(MIB)))
    assert streamed.status_code == 200, streamed.text


def test_a_content_length_over_the_limit_is_413_before_the_body_is_read(
    client: TestClient,
) -> None:
    response = client.put(declared_url(), headers=JSON, content=padded(MIB + 1))
    assert_too_large(response)
    assert f"it is {MIB + 1:,} bytes" in response.json()["message"]
    assert response.headers["connection"] == "close"
    # nothing was stored
    stored = client.get(declared_url(), headers=auth(GOOD)).json()
    assert stored["values"] == {}


def test_a_chunked_body_over_the_limit_is_413_while_it_streams(client: TestClient) -> None:
    response = client.put(declared_url(), headers=JSON, content=chunks(padded(MIB + 1)))
    assert_too_large(response)
    assert "more than that" in response.json()["message"]
    assert client.get(declared_url(), headers=auth(GOOD)).json()["values"] == {}
    # the limit holds before authentication too: no key, no 1 MiB of anything
    anonymous = client.put(
        declared_url(),
        headers={"Content-Type": "application/json"},
        content=chunks(padded(MIB + 1)),
    )
    assert_too_large(anonymous)


def test_the_body_limit_is_a_setting(tmp_path: Path) -> None:
    for client in make_client(tmp_path, max_body_bytes=len(DECLARE)):
        assert client.put(declared_url(), headers=JSON, content=DECLARE).status_code == 200
        over = client.put(declared_url(), headers=JSON, content=b" " + DECLARE)
        assert over.status_code == 413
        assert over.json()["message"] == (
            f"the request body may be at most {len(DECLARE)} bytes; it is {len(DECLARE) + 1} bytes"
        )
    with pytest.raises(ValueError, match="max_body_bytes"):
        Settings(_env_file=None, max_body_bytes=0)


async def test_no_more_than_the_limit_ever_reaches_the_app() -> None:
    """An endless chunked body: the app is handed at most the limit, then a disconnect; the
    client gets 413; what the app answers after that is dropped."""
    pulled = 0

    async def endless_body() -> Message:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * 1000, "more_body": True}

    seen: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            seen.append(message)
            if message["type"] == "http.disconnect":
                break
        await send({"type": "http.response.start", "status": 400, "headers": []})
        await send({"type": "http.response.body", "body": b"the app's own answer"})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "path": "/api/v1/x", "headers": [], "client": ("1.2.3.4", 1)}
    await SecurityMiddleware(app, max_body_bytes=2500)(scope, endless_body, send)
    assert sum(len(m.get("body", b"")) for m in seen) == 2000  # two chunks; the third crosses
    assert seen[-1] == {"type": "http.disconnect"}
    assert pulled == 3
    assert [m.get("status") for m in sent if m["type"] == "http.response.start"] == [413]
    assert b"the app's own answer" not in b"".join(m.get("body", b"") for m in sent)
