"""Ending a device's session from another device closes that session's sockets, and only those."""

from __future__ import annotations

from tests.chat.conftest import closed_with, connect
from tests.chat.test_session_end import assert_pong, session_id, two_sessions
from tests.factories import login


async def test_revoking_a_session_closes_its_socket_and_no_other(live, sockets):
    user, other = await two_sessions(live)
    ending, staying = await connect(live, other), await connect(live, user)
    sockets.append(staying)
    revoked = await live.http.delete(f"/api/v1/auth/sessions/{session_id(other)}", headers=user.headers)
    assert revoked.status_code == 200
    assert (await ending.next("session_ended"))["data"]["reason"] == "revoked"
    assert await closed_with(ending) == 4401
    await assert_pong(staying)


async def test_revoking_a_session_reaches_its_socket_on_another_replica(replicas, sockets):
    r1, r2 = replicas
    user, other = await two_sessions(r1)
    ending, staying = await connect(r2, other), await connect(r1, user)
    sockets.append(staying)
    assert (await r1.http.delete(f"/api/v1/auth/sessions/{session_id(other)}", headers=user.headers)).status_code == 200
    assert (await ending.next("session_ended"))["data"]["reason"] == "revoked"
    assert await closed_with(ending) == 4401
    await assert_pong(staying)


async def test_logout_all_closes_the_other_sessions_sockets_and_keeps_this_ones(live, sockets):
    user, other = await two_sessions(live)
    await live.app.state.resources.redis.flushdb()
    third = await login(live.http, live.outbox, user.phone)
    ending = [await connect(live, other), await connect(live, third)]
    staying = await connect(live, user)
    sockets.append(staying)
    assert (await live.http.post("/api/v1/auth/logout-all", headers=user.headers)).json()["revoked"] == 2
    for sock in ending:
        assert (await sock.next("session_ended"))["data"]["reason"] == "revoked"
        assert await closed_with(sock) == 4401
    await assert_pong(staying)


async def test_a_failed_revocation_closes_nothing(live, sockets):
    _, other = await two_sessions(live)
    stranger = await login(live.http, live.outbox)
    sock = await connect(live, other)
    sockets.append(sock)
    refused = await live.http.delete(f"/api/v1/auth/sessions/{session_id(other)}", headers=stranger.headers)
    assert refused.status_code == 404
    await assert_pong(sock)
    assert not [f for f in sock.seen if f["event"] == "session_ended"]
