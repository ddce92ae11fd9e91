"""A socket ends when its session ends (refresh reuse, logout, ban, maximum age), on whatever
replica it lives, and a revocation whose announcement was lost is still caught."""

from __future__ import annotations

import uuid

import jwt

from deployments.realtime.lifecycle import Realtime
from tests.chat.conftest import closed_with, connect, pair
from tests.factories import login, make_member

ENDED = "This session has ended; log in again"


def session_id(user) -> uuid.UUID:
    return uuid.UUID(jwt.decode(user.token, options={"verify_signature": False})["sid"])


async def refresh(http, refresh_token: str):
    return await http.post("/api/v1/auth/refresh-token", headers={"Authorization": f"Bearer {refresh_token}"})


async def two_sessions(live):
    """One user logged in on two devices."""
    user = await login(live.http, live.outbox)
    await live.app.state.resources.redis.flushdb()  # skip the resend cooldown
    return user, await login(live.http, live.outbox, user.phone)


async def assert_pong(sock) -> None:
    await sock.send("ping")
    assert (await sock.next())["event"] == "pong"


async def test_a_reused_refresh_token_ends_that_sessions_socket_and_no_other(live, sockets):
    user, other = await two_sessions(live)
    ending, staying = await connect(live, user), await connect(live, other)
    sockets.append(staying)
    assert (await refresh(live.http, user.refresh_token)).status_code == 200
    replay = await refresh(live.http, user.refresh_token)
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "refresh_token_reused"
    assert await ending.next() == {"event": "session_ended", "data": {"reason": "refresh_reuse", "message": ENDED}}
    assert await closed_with(ending) == 4401
    await assert_pong(staying)


async def test_refresh_reuse_reaches_the_socket_on_another_replica(replicas, sockets):
    r1, r2 = replicas
    user, other = await two_sessions(r1)
    ending, staying = await connect(r2, user), await connect(r2, other)
    sockets.append(staying)
    await refresh(r1.http, user.refresh_token)
    assert (await refresh(r1.http, user.refresh_token)).status_code == 401
    assert (await ending.next("session_ended"))["data"]["reason"] == "refresh_reuse"
    assert await closed_with(ending) == 4401
    await assert_pong(staying)


async def test_logout_ends_that_sessions_socket_on_another_replica(replicas, sockets):
    r1, r2 = replicas
    user, other = await two_sessions(r1)
    ending, staying = await connect(r2, user), await connect(r1, other)
    sockets.append(staying)
    assert (await r1.http.post("/api/v1/auth/logout", headers=user.headers)).status_code == 200
    assert (await ending.next("session_ended"))["data"]["reason"] == "logout"
    assert await closed_with(ending) == 4401
    await assert_pong(staying)


async def test_a_ban_ends_every_socket_of_the_user_with_reason_banned(live, settings, sockets):
    from deployments.safety.cli import grant_moderator

    mod = await make_member(live.http, live.outbox, first_name="Mod")
    await grant_moderator(settings.database_url, mod.phone)
    bob, bystander = await make_member(live.http, live.outbox), await make_member(live.http, live.outbox)
    first, second, other = await connect(live, bob), await connect(live, bob), await connect(live, bystander)
    sockets.append(other)
    banned = await live.http.post(
        f"/api/v1/moderation/users/{bob.id}/ban", headers=mod.headers, json={"reason": "scam"}
    )
    assert banned.status_code == 200
    for sock in (first, second):
        assert (await sock.next("session_ended"))["data"]["reason"] == "banned"
        assert await closed_with(sock) == 4401
    await assert_pong(other)


async def test_a_revocation_never_announced_is_caught_before_the_next_send(live_with, db):
    async with live_with(ws_session_cache_s=0, ws_session_recheck_s=60) as live:
        alice, bob, match_id = await pair(live, live.outbox, db)
        sock = await connect(live, alice)
        await db.execute(
            "UPDATE auth_sessions SET revoked_at = now(), revoke_reason = 'logout' WHERE id = $1", session_id(alice)
        )
        await sock.send("send_message", {"match_id": str(match_id), "content": "after logout"})
        assert (await sock.next())["event"] == "session_ended"
        assert await closed_with(sock) == 4401
        assert await db.fetchval("SELECT count(*) FROM messages") == 0


async def test_a_revocation_never_announced_is_caught_by_the_periodic_recheck(live_with, db):
    async with live_with(ws_session_recheck_s=0.2) as live:
        user, other = await two_sessions(live)
        idle, staying = await connect(live, user), await connect(live, other)
        await db.execute(
            "UPDATE auth_sessions SET revoked_at = now(), revoke_reason = 'refresh_reuse' WHERE id = $1",
            session_id(user),
        )
        assert (await idle.next("session_ended"))["data"]["reason"] == "refresh_reuse"
        assert await closed_with(idle) == 4401
        await assert_pong(staying)
        await staying.close()


async def test_a_socket_ends_when_its_session_reaches_its_maximum_age(live_with, db):
    async with live_with(session_max_age_s=3600) as live:
        user = await login(live.http, live.outbox)
        # Logged in 3599.5 s ago: the session ends half a second after the socket opens.
        await db.execute("UPDATE auth_sessions SET created_at = now() - interval '3599.5 seconds'")
        sock = await connect(live, user)
        assert (await sock.next("session_ended"))["data"]["reason"] == "expired"
        assert await closed_with(sock) == 4401


async def test_nothing_queued_for_a_session_is_delivered_after_it_ends(live, db, sockets):
    alice, bob, match_id = await pair(live, live.outbox, db)
    sock = await connect(live, bob)
    hub = live.app.state.resources.get(Realtime).hub
    conn = next(iter(hub.by_user[str(bob.id)]))
    conn.writer.cancel()  # a client that stopped reading: frames pile up in its outbox
    for n in range(3):
        conn.send("new_message", {"n": n})
    conn.end_session("logout")
    assert [conn.outbox.get_nowait() for _ in range(conn.outbox.qsize())][:2] == [
        '{"event":"session_ended","data":{"reason":"logout","message":"' + ENDED + '"}}',
        '{"event":"error","data":{"code":"session_ended","reason":"logout","message":"' + ENDED + '"}}',
    ]
    await sock.close()
