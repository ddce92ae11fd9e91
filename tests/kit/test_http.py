"""BodySizeLimit: uploads are refused before their body is read unless the caller has a token.
RequestTimeout: slow HTTP requests get a 504 envelope; websockets are never timed out."""

from __future__ import annotations

import asyncio
import json

import pytest

from kit.http import BodySizeLimit, RequestTimeout

UPLOAD = "/api/v1/profile/photos"


def middleware(app_calls: list, guard=lambda token: token == "good") -> BodySizeLimit:
    async def app(scope, receive, send):
        app_calls.append(scope["path"])
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return BodySizeLimit(app, max_bytes=1024, upload_paths={UPLOAD: 10_000}, upload_guard=guard)


async def call(mw: BodySizeLimit, path: str, method: str = "POST", token: str | None = None):
    reads, sent = [], []
    headers = [(b"content-length", b"5000")] + ([(b"authorization", f"Bearer {token}".encode())] if token else [])

    async def receive():
        reads.append(1)
        return {"type": "http.request", "body": b"x" * 5000, "more_body": False}

    async def send(message):
        sent.append(message)

    await mw({"type": "http", "path": path, "method": method, "headers": headers}, receive, send)
    return sent[0]["status"], reads, sent


async def test_an_upload_without_a_token_is_refused_before_its_body_is_read():
    calls: list = []
    status, reads, sent = await call(middleware(calls), UPLOAD)
    assert status == 401 and reads == [] and calls == []
    assert b'"missing_token"' in sent[1]["body"]


async def test_an_upload_with_a_token_the_guard_refuses_is_a_401_unread():
    calls: list = []
    status, reads, sent = await call(middleware(calls), UPLOAD, token="forged")
    assert status == 401 and reads == [] and calls == []
    assert b'"invalid_token"' in sent[1]["body"]


async def test_an_upload_with_a_valid_token_reaches_the_app_with_the_upload_limit():
    calls: list = []
    status, reads, _ = await call(middleware(calls), UPLOAD, token="good")
    assert status == 200 and calls == [UPLOAD] and reads == [1]


async def test_other_routes_and_reads_of_the_upload_path_are_not_guarded():
    calls: list = []
    mw = middleware(calls)
    assert (await call(mw, UPLOAD, method="GET"))[0] == 200
    assert (await call(mw, "/api/v1/profile/me", method="PUT"))[0] == 413  # the small limit still applies
    assert calls == [UPLOAD]


def slow_app(seconds: float, events: list, start_first: bool = False):
    async def app(scope, receive, send):
        try:
            if start_first:
                await send({"type": "http.response.start", "status": 200, "headers": []})
            await asyncio.sleep(seconds)
            events.append("finished")
        except asyncio.CancelledError:
            events.append("cancelled")
            raise

    return app


async def run_timed(app, scope_type: str, timeout: float = 0.05) -> list:
    sent: list = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await RequestTimeout(app, timeout)({"type": scope_type, "path": "/x", "headers": []}, receive, send)
    return sent


async def test_an_http_request_over_the_timeout_is_cancelled_and_answered_504():
    events: list = []
    sent = await run_timed(slow_app(1.0, events), "http")
    assert events == ["cancelled"]
    assert sent[0]["status"] == 504
    assert json.loads(sent[1]["body"]) == {
        "success": False,
        "error": {"code": "request_timeout", "message": "The request took longer than 0.05 s and was cancelled"},
    }


async def test_a_websocket_outlives_the_http_request_timeout():
    events: list = []
    sent = await run_timed(slow_app(0.2, events), "websocket")
    assert events == ["finished"] and sent == []


async def test_a_response_already_started_is_cut_without_a_second_start():
    events: list = []
    sent = await run_timed(slow_app(1.0, events, start_first=True), "http")
    assert events == ["cancelled"]
    assert [m["type"] for m in sent] == ["http.response.start"] and sent[0]["status"] == 200


async def test_a_timeout_error_raised_by_the_app_itself_is_not_reported_as_the_deadline():
    async def app(scope, receive, send):
        raise TimeoutError("redis did not answer")

    with pytest.raises(TimeoutError, match="redis did not answer"):
        await run_timed(app, "http", timeout=5)
