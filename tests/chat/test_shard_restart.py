"""Killing a MatchShard mid-conversation loses no acknowledged message (it holds only typing state)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from actors.match_shard import MatchShard
from actors.ring import ShardRing
from deployments.chat.service import ChatRealtime
from tests.chat.conftest import Live, connect, pair, start_server, stop_server


@pytest.fixture
async def ray_live(ray_cluster, settings):
    """The app under uvicorn with real Ray MatchShard actors (the rest in-process)."""
    from deployments.app import create_app
    from deployments.backends import local_backends

    ring = ShardRing.ray(MatchShard, 2, "test-match-shard")

    def backends(s):
        built = local_backends(s)
        built.match_shards = ring
        return built

    app = create_app(settings, backends=backends)
    server, task, port = await start_server(app)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        yield Live(app, http, f"ws://127.0.0.1:{port}/ws", settings.sms_outbox), ring
    await stop_server(server, task)
    for handle in ring.handles:
        ray_cluster.kill(handle, no_restart=True)


async def send(live, user, match_id, content):
    response = await live.http.post(
        "/api/v1/messages/send", headers=user.headers, json={"match_id": str(match_id), "content": content}
    )
    assert response.status_code == 200, response.text
    return response.json()["message"]


@pytest.mark.ray
async def test_killing_the_match_shard_loses_no_acknowledged_message(ray_live, db, ray_cluster):
    live, ring = ray_live
    a, b, match_id = await pair(live, live.outbox, db)
    shard = ring.for_key(match_id)
    sb = await connect(live, b)
    acked = [await send(live, a if i % 2 else b, match_id, f"m{i}") for i in range(6)]
    seen = [(await sb.next("new_message"))["data"]["message"] for _ in range(3)]  # b's only sees a's
    await live.app.state.resources.get(
        ChatRealtime
    ).drain()  # shard updates are coalesced per window: let this one land
    before = await shard.stats.remote()
    await sb.close()  # b drops off (say, its gateway went away) ...

    ray_cluster.kill(shard, no_restart=False)  # ... and the match's shard dies mid-conversation
    during = await asyncio.gather(*[send(live, a, match_id, f"k{i}") for i in range(4)])
    acked += sorted(during, key=lambda m: m["seq"])
    acked += [await send(live, a if i % 2 else b, match_id, f"n{i}") for i in range(6)]

    rows = await db.fetch("SELECT id, seq FROM messages WHERE match_id = $1 ORDER BY seq", match_id)
    assert [r["seq"] for r in rows] == list(range(1, 17))
    assert [str(r["id"]) for r in rows] == [m["id"] for m in acked]  # every acknowledged message, in order

    caught = await live.http.get(
        f"/api/v1/messages/conversations/{match_id}", params={"after": seen[-1]["id"]}, headers=b.headers
    )
    missed = [m for m in acked if m["seq"] > seen[-1]["seq"]]
    assert [m["id"] for m in caught.json()["messages"]] == [m["id"] for m in missed]

    await live.app.state.resources.get(ChatRealtime).drain()
    after = await shard.stats.remote()
    assert after["started_at"] > before["started_at"]  # a new incarnation
    sb = await connect(live, b)
    await send(live, a, match_id, "back to normal")
    assert (await sb.next("new_message"))["data"]["message"]["seq"] == 17
    await sb.close()


@pytest.mark.ray
async def test_typing_keeps_working_while_a_shard_restarts(ray_live, db, ray_cluster):
    live, ring = ray_live
    a, b, match_id = await pair(live, live.outbox, db)
    sa, sb = await connect(live, a), await connect(live, b)
    ray_cluster.kill(ring.for_key(match_id), no_restart=False)
    await sa.send("typing_start", {"match_id": str(match_id)})
    assert (await sb.next("user_typing"))["data"] == {
        "match_id": str(match_id),
        "user_id": str(a.id),
        "is_typing": True,
    }
    await sa.close()
    await sb.close()
