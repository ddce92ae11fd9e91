"""The connection pool survives PostgreSQL dropping every connection (a restart or failover)."""

from __future__ import annotations

import asyncio

from tests.factories import login


async def test_requests_succeed_after_the_server_drops_every_pooled_connection(client, settings, db):
    user = await login(client, settings.sms_outbox)
    assert (await client.get("/api/v1/profile/me", headers=user.headers)).status_code == 200
    dropped = await db.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    assert dropped >= 1
    await asyncio.sleep(1.2)  # a restart takes longer than the pool's idle-ping threshold (1 s)
    # the idle check notices the dead connections and replaces them instead of failing the request
    for _ in range(3):
        assert (await client.get("/api/v1/profile/me", headers=user.headers)).status_code == 200
