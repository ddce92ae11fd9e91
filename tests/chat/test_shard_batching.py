"""Match shard updates are coalesced per shard: one actor call per window, not per message."""

from __future__ import annotations

from actors.match_shard import MatchShard
from deployments.backends import Backends
from deployments.chat.service import ChatRealtime
from tests.chat.conftest import pair


async def test_a_burst_of_messages_reaches_the_shard_in_few_calls_and_in_order(app, client, settings, db, monkeypatch):
    monkeypatch.setattr("deployments.chat.service.SHARD_BATCH_S", 2.0)  # the whole burst is one window
    a, b, match_id = await pair(client, settings.sms_outbox, db)
    shard = app.state.resources.get(Backends).match_shards.for_key(match_id).target
    calls = []
    original = shard.apply

    async def counting_apply(ops):
        calls.append(len(ops))
        return await original(ops)

    shard.apply = counting_apply
    for i in range(8):
        r = await client.post(
            "/api/v1/messages/send",
            headers=(a if i % 2 else b).headers,
            json={"match_id": str(match_id), "content": f"m{i}"},
        )
        assert r.status_code == 200
    await app.state.resources.get(ChatRealtime).drain()
    assert calls == [8]


async def test_a_batch_applies_only_the_fire_and_forget_updates():
    shard = MatchShard(shard_index=0)
    applied = await shard.apply([("typing", ("m", "u", True)), ("stats", ()), ("ping", ())])
    assert applied == 0 and shard._typing == {}


async def test_a_sent_message_ends_its_senders_typing_so_the_next_start_is_news():
    shard = MatchShard(shard_index=0)
    assert await shard.typing("m", "u", True)
    assert not await shard.typing("m", "u", True)  # a repeat within the TTL tells nobody
    assert await shard.apply([("message_sent", ("m", "u"))]) == 1
    assert await shard.typing("m", "u", True)
