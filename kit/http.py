"""ASGI middleware shared by every replica."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit.addresses import address_key

BODY_METHODS = {"POST", "PUT", "PATCH"}


def _error_body(code: str, message: str) -> bytes:
    return json.dumps({"success": False, "error": {"code": code, "message": message}}).encode()


class BodySizeLimit:
    """Refuse bodies over a limit with 413, counting streamed bytes too (a client can lie in
    Content-Length or send chunked), without buffering the body. Upload routes, listed by
    exact path, get their own larger limit (their JSON siblings keep the small one).

    Upload routes also need a bearer token that `upload_guard` accepts before any of the body
    is read: FastAPI parses (and spools) a multipart form before the route's auth dependency
    runs, so without this anyone could make a replica spool megabytes to disk before a 401.
    The route still does the full check (session revoked, account banned)."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        upload_paths: dict[str, int] | None = None,
        upload_guard: Callable[[str], bool] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_paths = upload_paths or {}
        self.upload_guard = upload_guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "").rstrip("/")
        limit = self.upload_paths.get(path, self.max_bytes)
        headers = dict(scope.get("headers") or [])
        if path in self.upload_paths and scope.get("method") in BODY_METHODS and self.upload_guard is not None:
            refusal = self._token_refusal(headers)
            if refusal is not None:
                await _send_error(send, 401, *refusal)
                return
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(send, limit)
            return
        received = 0
        rejected = False

        async def limited_receive() -> Message:
            nonlocal received, rejected
            message = await receive()
            if message["type"] == "http.request" and not rejected:
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer now and tell the app the client went away, so it stops reading.
                    rejected = True
                    await self._reject(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not rejected:
                await send(message)

        await self.app(scope, limited_receive, guarded_send)

    def _token_refusal(self, headers: dict[bytes, bytes]) -> tuple[str, str] | None:
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "missing_token", "Missing bearer token"
        if self.upload_guard is not None and not self.upload_guard(token.strip()):
            return "invalid_token", "Uploads need a valid access token"
        return None

    @staticmethod
    async def _reject(send: Send, limit: int) -> None:
        await _send_error(send, 413, "payload_too_large", f"Request body exceeds {limit} bytes")


class RequestTimeout:
    """Answer an HTTP request that runs longer than `seconds` with 504 and cancel its work
    (its unit of work rolls back). Websockets are exempt: a chat socket lives for hours.

    The app enforces this itself rather than Ray Serve's `http_options.request_timeout_s`,
    because Serve's direct ingress applies that timeout to websocket connections as well and
    would cut every chat socket at the deadline."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        deadline = asyncio.timeout(self.seconds)
        try:
            async with deadline:
                await self.app(scope, receive, tracking_send)
        except TimeoutError:
            if not deadline.expired():  # the app's own TimeoutError, not this deadline
                raise
            if not started:
                await _send_error(
                    send, 504, "request_timeout", f"The request took longer than {self.seconds:g} s and was cancelled"
                )


class InflightPerAddress:
    """At most `limit` HTTP requests of one client address in flight on this replica at once;
    the next answers 429 `too_many_concurrent_requests` at once, without reading its body.

    Serve counts every in-flight request against the replica's `max_ongoing_requests` and
    queues everything past it, so without this one client holding thousands of slow requests
    (slow-loris: headers sent, body trickled) would stall everyone on the replica. Addresses are
    grouped as the rate limits group them (`kit.addresses.address_key`: IPv6 by /64), read from
    the ASGI scope, which the proxy-headers middleware has already set to the true client.
    Websockets are capped separately (`WS_MAX_SOCKETS_PER_ADDRESS`, across replicas)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.inflight: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        key = address_key(client[0]) if client else "unknown"
        count = self.inflight.get(key, 0)
        if count >= self.limit:
            await _send_error(
                send,
                429,
                "too_many_concurrent_requests",
                "Too many requests in progress from this network; retry shortly",
                [(b"retry-after", b"1")],
            )
            return
        self.inflight[key] = count + 1
        try:
            await self.app(scope, receive, send)
        finally:
            left = self.inflight[key] - 1
            if left:
                self.inflight[key] = left
            else:
                del self.inflight[key]  # the table holds only addresses with requests in flight


async def _send_error(
    send: Send, status: int, code: str, message: str, extra_headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = _error_body(code, message)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    headers.extend(extra_headers or [])
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
