"""A block holds in chat: HTTP sends both ways, and every websocket event between the pair.

These go through the real safety routes (not rows written by hand), on a real server for the sockets."""

from __future__ import annotations

import asyncio

from deployments.realtime.bus import EventBus
from deployments.realtime.lifecycle import Realtime
from tests.chat.conftest import WAIT_S, closed_with, connect, live, sockets  # noqa: F401 (fixtures)
from tests.factories import make_member
from tests.safety.conftest import make_match


async def send(http, user, match_id, content="hi"):
    return await http.post(
        "/api/v1/messages/send", headers=user.headers, json={"match_id": str(match_id), "content": content}
    )


async def block(http, who, whom):
    response = await http.post("/api/v1/safety/block", json={"user_id": str(whom.id)}, headers=who.headers)
    assert response.status_code == 200, response.text


async def test_after_a_block_the_blocker_cannot_message_the_blocked(client, alice, bob, db):
    match_id = await make_match(db, alice, bob)
    assert (await send(client, alice, match_id)).status_code == 200
    await block(client, alice, bob)
    response = await send(client, alice, match_id, "still there?")
    assert response.status_code == 403
    assert await db.fetchval("SELECT count(*) FROM messages") == 1


async def test_after_a_block_the_blocked_cannot_message_the_blocker(client, alice, bob, db):
    match_id = await make_match(db, alice, bob)
    await block(client, alice, bob)
    response = await send(client, bob, match_id, "why?")
    assert response.status_code == 403
    conversation = await client.get(f"/api/v1/messages/conversations/{match_id}", headers=bob.headers)
    assert conversation.status_code == 403
    assert await db.fetchval("SELECT count(*) FROM messages") == 0


async def test_after_unblocking_the_old_match_stays_closed(client, alice, bob, db):
    match_id = await make_match(db, alice, bob)
    await block(client, alice, bob)
    await client.delete(f"/api/v1/safety/block/{bob.id}", headers=alice.headers)
    assert (await send(client, alice, match_id)).status_code == 403
    assert (await send(client, bob, match_id)).status_code == 403


async def test_a_block_tells_both_sockets_match_removed_and_then_nothing_passes(live, db, sockets):
    alice = await make_member(live.http, live.outbox, first_name="Alice")
    bob = await make_member(live.http, live.outbox, first_name="Bob")
    match_id = await make_match(db, alice, bob)
    sa, sb = await connect(live, alice), await connect(live, bob)
    sockets.extend([sa, sb])
    await sb.send("typing_start", {"match_id": str(match_id)})
    assert (await sa.next("user_typing"))["data"]["user_id"] == str(bob.id)

    await block(live.http, alice, bob)
    assert await sa.next("match_removed") == {"event": "match_removed", "data": {"match_id": str(match_id)}}
    assert await sb.next("match_removed") == {"event": "match_removed", "data": {"match_id": str(match_id)}}

    # Bob's socket can no longer reach Alice...
    await sb.send("typing_start", {"match_id": str(match_id)})
    assert (await sb.next("error"))["data"]["code"] == "match_inactive"
    await sb.send("send_message", {"match_id": str(match_id), "content": "hello?", "client_message_id": "b-1"})
    assert (await sb.next("error"))["data"]["code"] == "match_inactive"
    # ...and events about Bob that were already on their way are dropped: the sentinel after them
    # is the very next frame Alice gets (one Redis channel keeps publish order).
    events = live.app.state.resources.get(EventBus)
    await events.to_users(
        [alice.id], "user_typing", {"match_id": str(match_id), "user_id": str(bob.id), "is_typing": True}
    )
    await events.to_users([alice.id], "new_message", {"message": {"sender_id": str(bob.id), "content": "x"}})
    await events.to_users([alice.id], "match_removed", {"match_id": "sentinel"})
    assert await sa.next() == {"event": "match_removed", "data": {"match_id": "sentinel"}}
    assert await db.fetchval("SELECT count(*) FROM messages") == 0


async def _propagated(hub, one, other) -> None:
    """The block is announced after the response (once committed): wait until both sides' sockets have it."""
    async with asyncio.timeout(WAIT_S):
        while not (
            all(str(other.id) in c.blocked for c in hub.by_user.get(str(one.id), ()))
            and all(str(one.id) in c.blocked for c in hub.by_user.get(str(other.id), ()))
        ):
            await asyncio.sleep(0.02)


async def test_a_block_without_a_match_still_stops_events_about_the_other(live, db, sockets):
    alice = await make_member(live.http, live.outbox, first_name="Alice")
    bob = await make_member(live.http, live.outbox, first_name="Bob")
    sa, sb = await connect(live, alice), await connect(live, bob)
    sockets.extend([sa, sb])
    await block(live.http, bob, alice)
    await _propagated(live.app.state.resources.get(Realtime).hub, bob, alice)
    events = live.app.state.resources.get(EventBus)
    # Each side: an event about the other is dropped, the sentinel after it arrives first.
    for sock, me, other in ((sa, alice, bob), (sb, bob, alice)):
        await events.to_users([me.id], "new_match", {"match_id": "m", "user": {"id": str(other.id)}})
        await events.to_users([me.id], "match_removed", {"match_id": "sentinel"})
        assert await sock.next() == {"event": "match_removed", "data": {"match_id": "sentinel"}}


async def test_a_ban_closes_the_users_live_sockets_and_ends_http_access(live, settings, sockets):
    from deployments.safety.cli import grant_moderator

    mod = await make_member(live.http, live.outbox, first_name="Mod")
    await grant_moderator(settings.database_url, mod.phone)
    bob = await make_member(live.http, live.outbox, first_name="Bob")
    first, second = await connect(live, bob), await connect(live, bob)
    response = await live.http.post(
        f"/api/v1/moderation/users/{bob.id}/ban", headers=mod.headers, json={"reason": "scam"}
    )
    assert response.status_code == 200
    assert (await first.next("error"))["data"]["code"] == "session_ended"
    assert await closed_with(first) == 4401 and await closed_with(second) == 4401
    assert (await live.http.get("/api/v1/profile/me", headers=bob.headers)).status_code == 401
    again = await connect(live)
    await again.send("authenticate", {"token": bob.token})
    assert (await again.next("error"))["data"]["code"] in {"session_revoked", "account_inactive"}
    assert await closed_with(again) == 4401
