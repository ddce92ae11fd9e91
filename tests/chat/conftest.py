"""Chat fixtures: the app under a real uvicorn server (websockets need one), matches made
directly in the database, and a small websocket client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
import websockets

from models import canonical_pair
from tests.factories import TestUser, login

WAIT_S = 10.0  # only a guard against hanging; no assertion is about time


@dataclass
class Live:
    app: object
    http: httpx.AsyncClient
    ws_url: str
    outbox: object


async def start_server(app) -> tuple[uvicorn.Server, asyncio.Task, int]:
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=0, lifespan="on", log_level="warning", ws_ping_interval=5, ws_ping_timeout=5
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    return server, task, server.servers[0].sockets[0].getsockname()[1]


async def stop_server(server: uvicorn.Server, task: asyncio.Task) -> None:
    server.should_exit = True
    await asyncio.wait_for(task, 30)


@contextlib.asynccontextmanager
async def serving_live(settings):
    """The app built from `settings` under a real uvicorn server."""
    from deployments.app import create_app

    app = create_app(settings)
    server, task, port = await start_server(app)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=WAIT_S) as http:
            yield Live(app, http, f"ws://127.0.0.1:{port}/ws", settings.sms_outbox)
    finally:
        await stop_server(server, task)


@pytest.fixture
async def live(settings):
    async with serving_live(settings) as served:
        yield served


@pytest.fixture
def live_with(settings):
    """`async with live_with(ws_session_cache_s=0) as live:` — a live server for changed settings."""
    return lambda **changes: serving_live(settings.model_copy(update=changes))


@pytest.fixture
async def replicas(settings):
    """Two gateway replicas (two app instances) on one PostgreSQL and Redis."""
    async with serving_live(settings) as first, serving_live(settings) as second:
        yield [first, second]


async def make_match(db, a: TestUser, b: TestUser, active: bool = True) -> uuid.UUID:
    user1, user2 = canonical_pair(a.id, b.id)
    return await db.fetchval(
        "INSERT INTO matches (user1_id, user2_id, is_active) VALUES ($1, $2, $3) RETURNING id", user1, user2, active
    )


async def pair(live_or_client, outbox, db) -> tuple[TestUser, TestUser, uuid.UUID]:
    http = getattr(live_or_client, "http", live_or_client)
    a, b = await login(http, outbox), await login(http, outbox)
    return a, b, await make_match(db, a, b)


class Socket:
    """A websocket client that keeps every frame it receives, to look for events by name."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.seen: list[dict] = []

    async def send(self, event: str, data: dict | None = None) -> None:
        await self.ws.send(json.dumps({"event": event, "data": data or {}}))

    async def next(self, event: str | None = None) -> dict:
        """The next frame (named `event`, skipping others), as {"event", "data"}."""
        async with asyncio.timeout(WAIT_S):
            while True:
                frame = json.loads(await self.ws.recv())
                self.seen.append(frame)
                if event is None or frame["event"] == event:
                    return frame

    async def quiet(self, seconds: float = 0.5) -> list[dict]:
        """Frames that arrive within a short while (to show something was NOT delivered)."""
        frames = []
        try:
            async with asyncio.timeout(seconds):
                while True:
                    frames.append(json.loads(await self.ws.recv()))
        except TimeoutError:
            return frames

    async def close(self) -> None:
        await self.ws.close()


async def connect(live: Live, user: TestUser | None = None) -> Socket:
    ws = await websockets.connect(live.ws_url, open_timeout=WAIT_S)
    sock = Socket(ws)
    if user is not None:
        await sock.send("authenticate", {"token": user.token})
        frame = await sock.next()
        assert frame == {"event": "authenticated", "data": {"user_id": str(user.id)}}, frame
    return sock


@pytest.fixture
async def sockets():
    opened: list[Socket] = []
    yield opened
    for sock in opened:
        await sock.close()


async def closed_with(sock: Socket) -> int:
    """Read until the server closes the socket; the close code it sent."""
    try:
        async with asyncio.timeout(10):
            while True:
                await sock.ws.recv()
    except websockets.ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else exc.code
