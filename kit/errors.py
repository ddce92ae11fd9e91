"""One error hierarchy, rendered by one set of handlers into one envelope.

Every failure the API reports looks like
`{"success": false, "error": {"code": "...", "message": "..."}}`.
"""

from __future__ import annotations

import logging

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("app.errors")


class AppError(Exception):
    status = 400
    code = "bad_request"
    # An error that is also an outcome to remember (a wrong OTP guess) sets this,
    # so the request's unit of work commits before the error is returned.
    commit = False

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.headers = headers or {}


class BadRequest(AppError):
    status, code = 400, "bad_request"


class Unauthorized(AppError):
    status, code = 401, "unauthorized"

    def __init__(self, message: str = "Authentication required", **kw) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kw)


class Forbidden(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class Conflict(AppError):
    status, code = 409, "conflict"


class PayloadTooLarge(AppError):
    status, code = 413, "payload_too_large"


class UnsupportedMedia(AppError):
    status, code = 415, "unsupported_media_type"


class Unprocessable(AppError):
    status, code = 422, "validation_error"


class RateLimited(AppError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, retry_after: int, **kw) -> None:
        retry_after = max(1, int(retry_after))
        kw.setdefault("headers", {"Retry-After": str(retry_after)})
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServiceUnavailable(AppError):
    status, code = 503, "service_unavailable"


def as_input_error(exc: BaseException) -> AppError | None:
    """Database refusals that are the client's doing, not ours: a "data exception" (SQLSTATE
    class 22: a NUL byte in text, a number out of range) is a 422; an integrity violation
    (class 23: a race two requests lost to a constraint, a row deleted meanwhile) is a 409.
    Either way the unit of work has rolled back, so nothing is half-written."""
    if isinstance(exc, (DBAPIError, asyncpg.PostgresError)):  # the hot paths use asyncpg directly
        orig = exc.orig if isinstance(exc, DBAPIError) else exc
        sqlstate = str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")
        if sqlstate.startswith("22"):
            return Unprocessable("A value cannot be stored (invalid characters or out of range)",
                                 code="invalid_value")
        if sqlstate.startswith("23"):
            return Conflict("The change conflicts with data stored meanwhile; reload and retry",
                            code="conflict")
    return None


def envelope(code: str, message: str, status: int, headers: dict | None = None, **extra) -> JSONResponse:
    error = {"code": code, "message": message, **extra}
    return JSONResponse({"success": False, "error": error}, status_code=status, headers=headers)


_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "validation_error", 429: "rate_limited",
}


def _describe_validation(exc: RequestValidationError) -> tuple[str, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return "malformed_json", "Request body is not valid JSON"
    parts = []
    for err in errors[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        msg = err.get("msg", "invalid")
        if err.get("type") == "extra_forbidden":
            msg = "unknown field, not accepted"
        parts.append(f"{loc or 'body'}: {msg}")
    return "validation_error", "; ".join(parts) or "Invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        extra = {"retry_after": exc.retry_after} if isinstance(exc, RateLimited) else {}
        return envelope(exc.code, exc.message, exc.status, exc.headers, **extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        code, message = _describe_validation(exc)
        return envelope(code, message, 400 if code == "malformed_json" else 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 404 and message == "Not Found":
            message = "No such route"
        return envelope(code, message, exc.status_code, getattr(exc, "headers", None))

    @app.exception_handler(asyncpg.PostgresError)
    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        mapped = as_input_error(exc)
        if mapped is not None:
            return envelope(mapped.code, mapped.message, mapped.status)
        log.exception("database error on %s %s", request.method, request.url.path)
        return envelope("internal_error", "Something went wrong on our side", 500)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return envelope("internal_error", "Something went wrong on our side", 500)
