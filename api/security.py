"""HTTP hardening: security headers on every response, CORS only when configured, a rate limit
on failed authentications per client address, and a bound on request bodies.

:func:`install_security` adds it all to an app (``create_app`` calls it). Pure ASGI middleware,
not ``BaseHTTPMiddleware``: the live stream is a never-ending response and must pass straight
through.

- **Headers.** ``Content-Security-Policy`` (the dashboard needs nothing but its own files: no
  inline script or style, no eval), ``X-Content-Type-Options: nosniff``, ``Referrer-Policy:
  no-referrer``, ``X-Frame-Options: DENY`` (and ``frame-ancestors 'none'``). The API docs
  (``/docs``, ``/redoc``) carry one inline script each, allowed by its SHA-256 hash computed from
  the page actually sent, and Swagger UI and ReDoc style their elements inline, so only those
  pages allow inline styles.
- **CORS** is closed: no CORS middleware at all unless ``SMARTPARK_CORS_ORIGINS`` lists origins;
  then only those origins, only ``GET``/``PUT``/``POST`` and the auth headers, no cookies.
- **Failed authentications** (a 401 to a request that presented a key; a request with no key
  guesses nothing and is not counted) draw from a token bucket per client address:
  ``SMARTPARK_AUTH_FAILURES_PER_MIN`` (default 20) failures in a burst, refilled at that many per
  minute. An empty bucket answers every ``/api/`` request of that address with 429 and
  ``Retry-After`` (seconds until a token is back) without looking at the key, so guessing costs
  time whether the guesses are right or wrong. Good keys never draw from the bucket. The buckets
  live in this process's memory: each worker process counts on its own, and a restart forgets.
  The address is the ASGI client address (behind a reverse proxy, run uvicorn with
  ``--proxy-headers --forwarded-allow-ips=<proxy>`` or every client shares the proxy's bucket).
- **Request bodies** of more than ``SMARTPARK_MAX_BODY_BYTES`` (default 1 MiB) get 413
  ``payload_too_large``. A ``Content-Length`` over the limit is refused before the app runs; a
  body without one (chunked) is counted as it arrives, and the chunk that crosses the limit is
  never passed on: the client gets the 413 and the app a disconnect, so no more than the limit
  is ever held.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config.settings import Settings

__all__ = [
    "CSP",
    "DOCS_PATHS",
    "AuthFailureLimiter",
    "BodyLimit",
    "SecurityMiddleware",
    "docs_csp",
    "install_security",
]

log = logging.getLogger("smartpark.api.security")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
"""The policy of the dashboard and of every other response but the API docs."""

DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})

STATIC_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)

_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\ssrc=)[^>]*>(.*?)</script>", re.DOTALL | re.I)
_MAX_CLIENTS = 10_000  # addresses with a bucket at once (memory bound)


def docs_csp(html: bytes) -> str:
    """The policy of an API docs page: its own inline scripts by hash, inline styles allowed."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'"
        for body in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'self'; script-src 'self'{' ' + hashes if hashes else ''}; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:; "
        "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float  # monotonic time of ``tokens`` [s]
    blocked: bool = False  # a 429 went out since the bucket was last non-empty (log once)


class AuthFailureLimiter:
    """Token buckets of failed authentications, one per client address (this process only)."""

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = _MAX_CLIENTS,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def _refilled(self, client: str, now: float) -> _Bucket | None:
        bucket = self._buckets.get(client)
        if bucket is None:
            return None
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= self.capacity:
            del self._buckets[client]  # full again: the same as never seen
            return None
        return bucket

    def retry_after(self, client: str) -> float:
        """Seconds until ``client`` may try again [s]; 0 when it may now."""
        bucket = self._refilled(client, self.clock())
        if bucket is None or bucket.tokens >= 1.0:
            if bucket is not None:
                bucket.blocked = False
            return 0.0
        if not bucket.blocked:
            bucket.blocked = True
            log.warning(
                "more than %d failed authentications from %s: 429 for its API requests",
                int(self.capacity),
                client,
            )
        return (1.0 - bucket.tokens) / self.rate

    def failed(self, client: str) -> None:
        """Record one failed authentication of ``client``."""
        now = self.clock()
        bucket = self._refilled(client, now)
        if bucket is None:
            if len(self._buckets) >= self.max_clients:
                self._evict(now)
            bucket = self._buckets[client] = _Bucket(self.capacity, now)
        bucket.tokens = max(0.0, bucket.tokens - 1.0)

    def _evict(self, now: float) -> None:
        for client in list(self._buckets):
            self._refilled(client, now)  # drops the buckets that are full again
        while len(self._buckets) >= self.max_clients:
            del self._buckets[next(iter(self._buckets))]  # the oldest


class BodyLimit:
    """The receive and send of one request, counting its body [bytes] as it arrives.

    The message that takes the body over ``max_bytes`` is not passed on: the client gets 413
    (unless the app has already begun its answer) and the app ``http.disconnect``, as if the
    client had gone, so nothing past the limit is ever buffered. Whatever the app sends after
    that 413 is dropped.
    """

    def __init__(self, receive: Receive, send: Send, max_bytes: int) -> None:
        self._receive = receive
        self._send = send
        self.max_bytes = max_bytes
        self.received = 0  # body bytes passed to the app [bytes]
        self.refused = False  # the body went over the limit
        self._started = False  # a response has begun (the app's or the 413)
        self._answered = False  # the 413 went out: the app's answer is dropped

    async def receive(self) -> Message:
        """The next message of the request for the app (a disconnect once over the limit)."""
        if self.refused:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] != "http.request":
            return message
        size = self.received + len(message.get("body", b""))
        if size <= self.max_bytes:
            self.received = size
            return message
        self.refused = True
        log.info("refused a request body of more than %d bytes (chunked)", self.max_bytes)
        if not self._started:
            self._started = self._answered = True
            await _too_large(self._send, self.max_bytes, None)
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        """Pass the app's message on, unless the 413 went out instead."""
        if self._answered:
            return
        if message["type"] == "http.response.start":
            self._started = True
        await self._send(message)


class SecurityMiddleware:
    """Security headers on every HTTP response; 429 for addresses over the failure limit; 413
    for request bodies over ``max_body_bytes`` [bytes] (None: no limit)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: AuthFailureLimiter | None = None,
        api_prefix: str = "/api/",
        max_body_bytes: int | None = None,
    ) -> None:
        if max_body_bytes is not None and max_body_bytes < 0:
            raise ValueError("max_body_bytes must be at least 0")
        self.app = app
        self.limiter = limiter
        self.api_prefix = api_prefix
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        client = scope["client"][0] if scope.get("client") else "unknown"
        limiter = self.limiter
        if limiter is not None and path.startswith(self.api_prefix):
            wait_s = limiter.retry_after(client)
            if wait_s > 0:
                await _too_many(send, wait_s)
                return
        if self.max_body_bytes is not None:
            declared = _content_length(scope)
            if declared is not None and declared > self.max_body_bytes:
                log.info("refused a request body of %d bytes (Content-Length)", declared)
                await _too_large(send, self.max_body_bytes, declared)
                return
            body = BodyLimit(receive, send, self.max_body_bytes)
            receive, send = body.receive, body.send
        if path in DOCS_PATHS:
            await self._docs(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                if limiter is not None and message["status"] == 401 and _presents_key(scope):
                    limiter.failed(client)
                message["headers"] = _with_headers(message.get("headers", []), CSP)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Hold the (small, HTML) docs page until its inline scripts can be hashed."""
        start: Message | None = None
        body = bytearray()

        async def buffer(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body", False):
                return
            assert start is not None
            start["headers"] = _with_headers(start.get("headers", []), docs_csp(bytes(body)))
            await send(start)
            await send({"type": "http.response.body", "body": bytes(body)})

        await self.app(scope, receive, buffer)


def _presents_key(scope: Scope) -> bool:
    """Whether the request carries a key (a 401 without one is no guess: it is not counted)."""
    return any(name in (b"authorization", b"x-api-key") for name, _ in scope.get("headers", ()))


def _content_length(scope: Scope) -> int | None:
    """The request's ``Content-Length`` [bytes] (the largest, if sent twice), or None when it
    has none or none that is a number (the server refuses those)."""
    lengths = [
        int(value)
        for name, value in scope.get("headers", ())
        if name.lower() == b"content-length" and value.strip().isdigit()
    ]
    return max(lengths) if lengths else None


def _with_headers(headers: list[tuple[bytes, bytes]], csp: str) -> list[tuple[bytes, bytes]]:
    ours = {name for name, _ in STATIC_HEADERS} | {b"content-security-policy"}
    kept = [(k, v) for k, v in headers if k.lower() not in ours]
    return [*kept, *STATIC_HEADERS, (b"content-security-policy", csp.encode())]


async def _refuse(
    send: Send, status: int, code: str, message: str, headers: list[tuple[bytes, bytes]]
) -> None:
    """Answer with an error shaped as the API's ``ErrorOut``, before the app has run."""
    body = orjson.dumps({"code": code, "message": message})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": _with_headers(
                [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *headers,
                ],
                CSP,
            ),
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _too_many(send: Send, wait_s: float) -> None:
    retry = max(1, math.ceil(wait_s))
    message = f"too many failed authentications from this address; retry in {retry} s"
    await _refuse(send, 429, "too_many_requests", message, [(b"retry-after", str(retry).encode())])


async def _too_large(send: Send, max_bytes: int, declared: int | None) -> None:
    """413 for a body of ``declared`` bytes (None: chunked, known only to be over the limit)."""
    size = f"{declared:,} bytes" if declared is not None else "more than that"
    message = f"the request body may be at most {max_bytes:,} bytes; it is {size}"
    # the rest of the body is never read: the connection cannot carry another request
    await _refuse(send, 413, "payload_too_large", message, [(b"connection", b"close")])


def install_security(app: FastAPI, settings: Settings) -> None:
    """Add CORS (only for ``SMARTPARK_CORS_ORIGINS``) and :class:`SecurityMiddleware` to ``app``
    (with the failure limit and the body limit [bytes] of ``settings``); the security middleware
    is outermost, so even CORS preflights carry its headers."""
    origins = settings.cors_origin_list
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "PUT", "POST"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
            allow_credentials=False,
            max_age=600,
        )
    per_min = settings.auth_failures_per_min
    limiter = AuthFailureLimiter(per_min) if per_min > 0 else None
    app.state.auth_limiter = limiter
    app.add_middleware(SecurityMiddleware, limiter=limiter, max_body_bytes=settings.max_body_bytes)
