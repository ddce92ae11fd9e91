"""Match shard updates are coalesced per shard: one actor call per window, not per message."""

from __future__ import annotations

from actors.match_shard import MatchShard
from tests.chat.conftest import pair


async def test_a_burst_of_messages_reaches_the_shard_in_few_calls_and_in_order(app, client, settings, db,
                                                                             monkeypatch):
    monkeypatch.setattr("deployments.chat.service.SHARD_BATCH_S", 2.0)  # the whole burst is one window
    a, b, match_id = await pair(client, settings.sms_outbox, db)
    shard = app.state.backends.match_shards.for_key(match_id).target
    calls = []
    original = shard.apply

    async def counting_apply(ops):
        calls.append(len(ops))
        return await original(ops)

    shard.apply = counting_apply
    for i in range(8):
        r = await client.post("/api/v1/messages/send", headers=(a if i % 2 else b).headers,
                              json={"match_id": str(match_id), "content": f"m{i}"})
        assert r.status_code == 200
    await app.state.chat.drain()
    assert calls == [8]
    assert (await shard.snapshot(str(match_id)))["last_seq"] == 8


async def test_a_batch_applies_only_the_fire_and_forget_updates(settings):
    shard = MatchShard(shard_index=0, database_url=settings.database_url)
    applied = await shard.apply([("typing", ("m", "u", True)), ("forget", ("m",)), ("close", ())])
    assert applied == 0 and shard._typing == {}
