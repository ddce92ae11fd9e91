"""Nobody learns from a matching route that they were blocked: a swipe across a block answers exactly
like a swipe on a user who does not exist, and likes and rewinds behave as they do without a block."""

from __future__ import annotations

import uuid

import pytest

VOLATILE_HEADERS = {"date", "x-request-id", "x-process-time", "server"}


def same_answer(one, other) -> None:
    """Status, headers that do not change per request, and body, byte for byte."""
    assert one.status_code == other.status_code
    assert one.content == other.content
    strip = lambda r: {k: v for k, v in r.headers.items() if k.lower() not in VOLATILE_HEADERS}  # noqa: E731
    assert strip(one) == strip(other)


@pytest.mark.parametrize("action", ["like", "pass"])
@pytest.mark.parametrize("direction", ["blocked_by_target", "blocked_the_target"])
async def test_a_swipe_across_a_block_answers_exactly_like_a_swipe_on_an_unknown_user(
    member, swipe, block, db, action, direction
):
    me, target = await member(), await member()
    await (block(target, me) if direction == "blocked_by_target" else block(me, target))
    across_block = await swipe(me, target, action)
    unknown = await swipe(me, uuid.uuid4(), action)
    same_answer(across_block, unknown)
    assert across_block.status_code == 404 and across_block.json()["error"]["code"] == "user_not_found"
    assert await db.fetchval("SELECT count(*) FROM swipes") == 0


async def test_a_repeated_swipe_across_a_block_still_answers_like_an_unknown_user(member, swipe, block):
    """A like made before the block must not turn the answer into `already swiped` or a match."""
    me, target = await member(), await member()
    await swipe(me, target, "like")
    await block(target, me)
    same_answer(await swipe(me, target, "like"), await swipe(me, uuid.uuid4(), "like"))
    same_answer(await swipe(me, target, "pass"), await swipe(me, uuid.uuid4(), "pass"))


async def test_rewinding_a_swipe_on_someone_who_since_blocked_you_answers_like_any_rewind(
    member, swipe, block, client, make_premium
):
    me, blocker, other = await member(), await member(), await member()
    await make_premium(me)
    await swipe(me, other, "pass")
    plain = await client.post("/api/v1/matching/rewind", headers=me.headers)
    await swipe(me, blocker, "pass")
    await block(blocker, me)
    across_block = await client.post("/api/v1/matching/rewind", headers=me.headers)
    assert plain.status_code == across_block.status_code == 200
    assert across_block.content == plain.content.replace(str(other.id).encode(), str(blocker.id).encode())


async def test_a_like_withdrawn_by_a_block_looks_like_a_rewound_like_in_likes_you(
    member, swipe, block, client, make_premium
):
    blocked, blocker = await member(), await member()
    jilted, rewinder = await member(), await member()
    await make_premium(rewinder)
    await swipe(blocker, blocked, "like")
    await swipe(rewinder, jilted, "like")
    await block(blocker, blocked)
    assert (await client.post("/api/v1/matching/rewind", headers=rewinder.headers)).status_code == 200
    after_block = await client.get("/api/v1/matching/likes-you", headers=blocked.headers)
    after_rewind = await client.get("/api/v1/matching/likes-you", headers=jilted.headers)
    same_answer(after_block, after_rewind)
    assert after_block.json()["count"] == 0
