"""Every error the API answers, mapped once: one table from an error class to an HTTP status,
a stable code and, where a client should wait, ``Retry-After``.

A route raises the domain error (``NotFoundError``, ``InvalidRequestError`` …) and never turns
it into an ``HTTPException`` itself: :func:`install_error_handlers` registers one handler that
finds the error's class, or its nearest base, in :data:`ERRORS`. :class:`SmartParkError` itself
is deliberately absent, so an error class that sits under no kind is not silently a 500 with a
generic code (``tests/api/test_errors.py`` checks every class has an entry).

Every body is :class:`~api.schemas.ErrorOut`: ``{"code", "message", "message_zh"?, "errors"?}``
(``message_zh`` where the error's text comes from the message catalogue).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.schemas import ErrorOut
from config.errors import (
    BrokerError,
    ConfigError,
    ConflictError,
    IngestError,
    InvalidRequestError,
    NotFoundError,
    SmartParkError,
    StoreError,
    StoreQueryError,
    StoreUnavailableError,
    TooManyStreamsError,
    UnavailableError,
)
from config.factors import FactorNotFoundError
from config.targets import TargetNotFoundError
from store.routed import NamedStoreUnavailableError

__all__ = ["ERRORS", "ErrorMapping", "error_response", "install_error_handlers", "mapping_of"]

log = logging.getLogger("smartpark.api")

STORE_RETRY_AFTER_S = 5
"""Retry-After [s] of a store outage: it is usually a restart, so clients may come back soon."""


@dataclass(frozen=True, slots=True)
class ErrorMapping:
    """How one error class is answered: ``status``, ``code``, the ``message`` made of the
    error's text, and the ``retry_after_s`` [s] header (None: no header)."""

    status: int
    code: str
    message: Callable[[SmartParkError], str] = str
    retry_after_s: Callable[[SmartParkError], int] | None = None


_MISCONFIGURED = "the server's configuration is invalid; its log says where"


def _retry_after_of_streams(exc: SmartParkError) -> int:
    assert isinstance(exc, TooManyStreamsError)
    return exc.retry_after_s


ERRORS: dict[type[SmartParkError], ErrorMapping] = {
    # the four kinds a caller acts on
    InvalidRequestError: ErrorMapping(422, "invalid_request"),
    NotFoundError: ErrorMapping(404, "not_found"),
    ConflictError: ErrorMapping(409, "conflict"),
    UnavailableError: ErrorMapping(503, "unavailable"),
    # the store: an outage is worth retrying, a refusal is the upstream's failure (parameters are
    # validated before the store is asked), not the client's: 502, not 400
    StoreUnavailableError: ErrorMapping(
        503,
        "store_unavailable",
        lambda exc: f"the store is unavailable: {exc}",
        lambda _: STORE_RETRY_AFTER_S,
    ),
    # one of several named stores (store/routed.py): its own message names it
    NamedStoreUnavailableError: ErrorMapping(
        503, "store_unavailable", str, lambda _: STORE_RETRY_AFTER_S
    ),
    StoreError: ErrorMapping(502, "store_failed", lambda exc: f"the store failed: {exc}"),
    StoreQueryError: ErrorMapping(
        502, "store_query_failed", lambda exc: f"the store refused the query: {exc}"
    ),
    TooManyStreamsError: ErrorMapping(429, "too_many_streams", str, _retry_after_of_streams),
    # tables the server ships: a factor or target profile that does not exist for the request
    FactorNotFoundError: ErrorMapping(404, "not_found"),
    TargetNotFoundError: ErrorMapping(404, "not_found"),
    # the server's own configuration or plumbing failed: not the client's doing
    # (its text may name server paths: it goes to the log, not to the client)
    ConfigError: ErrorMapping(500, "server_misconfigured", lambda _: _MISCONFIGURED),
    BrokerError: ErrorMapping(503, "broker_unavailable"),
    IngestError: ErrorMapping(422, "invalid_request"),
}
"""Each error class the API may see and how it is answered; a class not listed is answered
as its nearest listed base (in method resolution order)."""

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "invalid_request",
    503: "unavailable",
}


def mapping_of(error: type[SmartParkError]) -> ErrorMapping | None:
    """The entry of :data:`ERRORS` for ``error``: its own, else its nearest listed base's; None
    when it has none (which ``tests/api/test_errors.py`` does not allow)."""
    for cls in error.__mro__:
        if cls in ERRORS:
            return ERRORS[cls]
    return None


def error_response(
    status: int,
    code: str,
    message: str,
    errors: list[dict[str, object]] | None = None,
    *,
    message_zh: str | None = None,
) -> JSONResponse:
    """A JSON error answer shaped as :class:`~api.schemas.ErrorOut`."""
    body = ErrorOut(code=code, message=message, message_zh=message_zh, errors=errors)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status)


def _field_errors(exc: SmartParkError) -> list[dict[str, object]] | None:
    """``errors[]`` of the answer: one entry per field problem an error carries in ``problems``
    (an object with ``field``, ``message`` and ``code``), so a client sees which field to fix."""
    out: list[dict[str, object]] = []
    for p in getattr(exc, "problems", ()) or ():
        field, message, code = (getattr(p, a, None) for a in ("field", "message", "code"))
        if isinstance(field, str) and isinstance(message, str):
            out.append({"loc": ["body", field], "msg": message, "type": code or "invalid"})
    return out or None


def _domain_response(exc: SmartParkError) -> JSONResponse:
    mapping = mapping_of(type(exc)) or ErrorMapping(500, "internal_error")
    if mapping.status >= 500 and mapping.status not in (502, 503):
        log.error("%s answered %d: %s", type(exc).__name__, mapping.status, exc)
    # an error whose text comes from the message catalogue carries its Chinese too
    zh = getattr(exc, "message_zh", None) if mapping.message is str else None
    response = error_response(
        mapping.status,
        mapping.code,
        mapping.message(exc),
        _field_errors(exc),
        message_zh=zh if isinstance(zh, str) and zh else None,
    )
    if mapping.retry_after_s is not None:
        response.headers["Retry-After"] = str(mapping.retry_after_s(exc))
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Answer every domain error by :data:`ERRORS`, every ``HTTPException`` (authentication,
    access, unknown routes) and every invalid parameter as :class:`~api.schemas.ErrorOut`."""

    @app.exception_handler(SmartParkError)
    async def domain_error(_: Request, exc: SmartParkError) -> JSONResponse:
        return _domain_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = getattr(exc, "code", None) or _HTTP_CODES.get(exc.status_code, "error")
        response = error_response(exc.status_code, code, str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors: list[dict[str, object]] = []
        sentences: list[str] = []
        for err in exc.errors():
            loc = [str(part) for part in err.get("loc", ())]
            msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            errors.append({"loc": loc, "msg": msg, "type": str(err.get("type", ""))})
            # ("query", "start") reads as "start"
            sentences.append(f"{'.'.join(loc[1:]) or 'request'}: {msg}")
        return error_response(
            422, "invalid_request", "; ".join(sentences) or "invalid request", errors
        )
