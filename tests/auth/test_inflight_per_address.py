"""One client address cannot hold more than HTTP_MAX_INFLIGHT_PER_ADDRESS requests in flight on
a replica (each holds one of Serve's max_ongoing_requests slots): the next answers 429 at once."""

from __future__ import annotations

import asyncio

from tests.auth.conftest import client_at


class TrickledBody:
    """A slow-loris request body: one byte, then nothing until released."""

    def __init__(self) -> None:
        self.started, self.release = asyncio.Event(), asyncio.Event()

    async def __aiter__(self):
        yield b"{"
        self.started.set()
        await self.release.wait()
        yield b"}"


async def test_a_request_past_the_per_address_cap_answers_429_while_others_go_through(app_with):
    async with app_with(http_max_inflight_per_address=1) as app:
        async with client_at(app, "198.51.100.7") as slow, client_at(app, "198.51.100.8") as other:
            body = TrickledBody()
            held = asyncio.create_task(
                slow.post("/api/v1/auth/send-otp", content=body, headers={"content-type": "application/json"})
            )
            await body.started.wait()
            refused = await slow.get("/health")
            assert refused.status_code == 429
            assert refused.json() == {
                "success": False,
                "error": {
                    "code": "too_many_concurrent_requests",
                    "message": "Too many requests in progress from this network; retry shortly",
                },
            }
            assert (await other.get("/health")).status_code != 429
            body.release.set()
            await held
            assert (await slow.get("/health")).status_code != 429
