"""UserShard virtual actors: a cache of PostgreSQL that a restart cannot corrupt."""

from __future__ import annotations

import asyncio

import pytest

from actors.ring import ShardRing
from actors.user_shard import UserShard


async def test_a_fresh_shard_loads_counts_and_admirers_lazily_from_postgres(member, swipe, settings):
    alice, bob, carol = await member(), await member(), await member()
    await swipe(alice, bob, "like")
    await swipe(alice, carol, "pass")
    await swipe(carol, alice, "like")
    shard = UserShard(shard_index=0, database_url=settings.database_url)  # knows nothing yet
    state = await shard.snapshot(str(alice.id))
    assert state["likes_24h"] == 1 and state["loads"] == 1
    assert [(t, a) for t, a, _ in state["recent"]] == [(str(bob.id), "like"), (str(carol.id), "pass")]
    assert state["liked_by"] == []  # carol liked alice, but alice already swiped carol
    assert await shard.liked_by(str(bob.id)) == [str(alice.id)]


async def test_many_calls_at_once_load_a_user_once(member, settings):
    alice = await member()
    shard = UserShard(shard_index=0, database_url=settings.database_url)
    await asyncio.gather(*(shard.check_like(str(alice.id), 100) for _ in range(10)))
    assert shard.loads == 1


@pytest.mark.ray
async def test_a_killed_shard_restarts_and_reloads_the_counts_from_postgres(ray_cluster, member, swipe, settings, app):
    ray = ray_cluster
    alice = await member()
    targets = [await member() for _ in range(3)]
    for target in targets:
        assert (await swipe(alice, target, "like")).status_code == 200
    ring = ShardRing.ray(UserShard, 2, "test-user-shard", database_url=settings.database_url)
    try:
        handle = ring.for_key(alice.id)
        before = await handle.snapshot.remote(str(alice.id))
        assert before["likes_24h"] == 3
        await handle.record_swipe.remote(str(alice.id), "phantom", "like")  # cache-only: lost on kill
        first_life = (await handle.stats.remote())["started_at"]
        ray.kill(handle, no_restart=False)
        after = None
        for _ in range(150):  # ray.kill is asynchronous: wait for the new incarnation, same name and handle
            try:
                if (await handle.stats.remote())["started_at"] > first_life:
                    after = await handle.snapshot.remote(str(alice.id))
                    break
            except ray.exceptions.RayActorError:
                pass
            await asyncio.sleep(0.2)
        assert after is not None and after["likes_24h"] == 3 and after["loads"] == 1
        assert {t for t, _, _ in after["recent"]} == {str(t.id) for t in targets}
    finally:
        for shard in ring.handles:
            ray.kill(shard, no_restart=True)
