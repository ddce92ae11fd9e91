"""One error hierarchy, rendered by one set of handlers into one envelope.

Every failure the API reports looks like
`{"success": false, "error": {"code": "...", "message": "..."}}`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

log = logging.getLogger("app.errors")


class AppError(Exception):
    status = 400
    code = "bad_request"
    # An error that is also an outcome to remember (a wrong OTP guess) sets this,
    # so the request's unit of work commits before the error is returned.
    commit = False

    def __init__(
        self, message: str, *, code: str | None = None, status: int | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.headers = headers or {}


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
            return Unprocessable("A value cannot be stored (invalid characters or out of range)", code="invalid_value")
        if sqlstate.startswith("23"):
            return Conflict("The change conflicts with data stored meanwhile; reload and retry", code="conflict")
    return None


def envelope(code: str, message: str, status: int, headers: dict | None = None, **extra) -> JSONResponse:
    error = {"code": code, "message": message, **extra}
    return JSONResponse({"success": False, "error": error}, status_code=status, headers=headers)


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")  # a few errors add fields, e.g. /readyz's `unreachable`

    code: str = Field(
        description="Stable, machine-readable code (the API docs list each route's)", examples=["not_found"]
    )
    message: str = Field(description="Explanation for people; its wording may change", examples=["No such route"])
    retry_after: int | None = Field(None, description="429 only: seconds to wait, as in the Retry-After header")


class ErrorEnvelope(BaseModel):
    """The body of every error: `{"success": false, "error": {"code", "message"}}`."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"success": False, "error": {"code": "not_found", "message": "No such route"}}]}
    )

    success: Literal[False]
    error: ErrorDetail


def error_responses(*errors: tuple[int, str, str]) -> dict[int | str, dict[str, Any]]:
    """A route's documented errors for FastAPI's `responses=`: `(status, code, when)` each, one
    response per status naming its codes, with an example body per code."""
    by_status: dict[int, list[tuple[str, str]]] = {}
    for status, code, when in errors:
        by_status.setdefault(status, []).append((code, when))
    return {status: _documented(codes) for status, codes in sorted(by_status.items())}


def _documented(codes: list[tuple[str, str]]) -> dict[str, Any]:
    examples = {
        code: {"summary": when, "value": {"success": False, "error": {"code": code, "message": when}}}
        for code, when in codes
    }
    return {
        "model": ErrorEnvelope,
        "description": "; ".join(f"`{code}`: {when}" for code, when in codes),
        "content": {"application/json": {"examples": examples}},
    }


# Errors every route may answer, and those of routes with a body or a bearer token (docs/api.md).
ANY_ROUTE_ERRORS = [
    (405, "method_not_allowed", "the path exists, the method does not (`Allow` names those it takes)"),
    (429, "too_many_concurrent_requests", "too many requests of this client address in progress"),
    (500, "internal_error", "a bug on our side (logged); nothing is half-written"),
    (504, "request_timeout", "the request ran longer than REQUEST_TIMEOUT_S and was rolled back"),
]
INPUT_ERRORS = [
    (422, "validation_error", "a field is missing, of the wrong type, out of range or unknown"),
    (422, "invalid_value", "a value the database cannot store"),
    (409, "conflict", "a concurrent request changed the same data first; reload and retry"),
]
BODY_ERRORS = [
    (400, "malformed_json", "the body is not valid JSON"),
    (413, "payload_too_large", "the body is over its size limit"),
]
AUTH_ERRORS = [
    (401, "missing_token", "no `Authorization: Bearer` header"),
    (401, "invalid_token", "malformed, badly signed or expired token"),
    (401, "session_revoked", "the session was logged out or ended"),
    (401, "account_inactive", "the account is banned or deleted"),
    (401, "session_expired", "the session is older than SESSION_MAX_AGE_S"),
    (429, "rate_limited", "over RATE_API_PER_HOUR authenticated requests this hour"),
]


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Make every operation of an OpenAPI document describe its errors with ErrorEnvelope: the
    errors any route, a body or a bearer token brings, merged with the route's own (`responses=`),
    FastAPI's default 422 (a shape this API never sends) replaced, and `4XX` for the rest."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    envelope_schema = ErrorEnvelope.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(envelope_schema.pop("$defs", {}))
    components["ErrorEnvelope"] = envelope_schema
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "responses" in operation:
                _document_operation(operation)
    return schema


def _document_operation(operation: dict[str, Any]) -> None:
    errors = list(ANY_ROUTE_ERRORS)
    if operation.get("parameters") or operation.get("requestBody"):
        errors += INPUT_ERRORS
    if operation.get("requestBody"):
        errors += BODY_ERRORS
    if operation.get("security"):
        errors += AUTH_ERRORS
    responses = operation["responses"]
    if "HTTPValidationError" in str(responses.get("422", "")):
        del responses["422"]  # FastAPI's default, a shape this API never sends
    for status, response in error_responses(*errors).items():
        _merge_response(responses, str(status), response)
    for response in responses.values():  # the route's own error responses carry the model as a $ref
        _reference_envelope(response)
    responses["4XX"] = {
        "description": "Any other client error, in the error envelope",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
    }
    operation["responses"] = dict(sorted(responses.items(), key=lambda item: item[0].replace("XX", "99")))


def _merge_response(responses: dict[str, Any], status: str, common: dict[str, Any]) -> None:
    if status not in responses:
        responses[status] = _openapi_response(common)
        return
    own = responses[status]
    own_examples = own.setdefault("content", {}).setdefault("application/json", {}).setdefault("examples", {})
    for code, example in common["content"]["application/json"]["examples"].items():
        if code not in own_examples:
            own_examples[code] = example
            own["description"] = f"{own.get('description', '')}; `{code}`: {example['summary']}".lstrip("; ")


def _openapi_response(documented: dict[str, Any]) -> dict[str, Any]:
    content = documented["content"]["application/json"]
    return {
        "description": documented["description"],
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/ErrorEnvelope"},
                "examples": content["examples"],
            }
        },
    }


def _reference_envelope(response: dict[str, Any]) -> None:
    content = response.get("content", {}).get("application/json")
    if content is not None and "examples" in content and "schema" not in content:
        content["schema"] = {"$ref": "#/components/schemas/ErrorEnvelope"}


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
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


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(app: FastAPI, scope: Mapping[str, Any]) -> list[str]:
    """Every method some route answers on this path. The router's own 405 names only the first
    route it matched, though several routes may share a path (GET and POST /photos)."""
    allowed = []
    for method in _METHODS:
        probe = {
            "type": "http",
            "method": method,
            "path": scope["path"],
            "root_path": scope.get("root_path", ""),
            "headers": [],
            "query_string": b"",
        }
        if any(route.matches(probe)[0] == Match.FULL for route in app.router.routes):
            allowed.append(method)
    return allowed


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
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 404 and message == "Not Found":
            message = "No such route"
        if exc.status_code == 405:
            allowed = allowed_methods(app, request.scope) or headers.get("Allow", "").split(", ")
            headers["Allow"] = ", ".join(allowed)
            message = f"{request.method} is not allowed here; allowed: {headers['Allow']}"
            return envelope(code, message, 405, headers, allowed=allowed)
        return envelope(code, message, exc.status_code, headers or None)

    @app.exception_handler(asyncpg.PostgresError)
    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        mapped = as_input_error(exc)
        if mapped is not None:
            return envelope(mapped.code, mapped.message, mapped.status)
        log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
        return envelope("internal_error", "Something went wrong on our side", 500)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return envelope("internal_error", "Something went wrong on our side", 500)
