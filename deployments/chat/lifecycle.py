"""Start-up and shut-down of the chat domain's per-replica resources: the connection hub
(and its Redis subscription), the sockets' session re-check and cap leases, and the post-commit
announcer on `app.state.chat`."""

from __future__ import annotations

import uuid

from deployments.chat.guard import SessionGuard, SocketSlots
from deployments.chat.hub import Hub
from deployments.chat.repository import ChatRepository
from deployments.chat.service import ChatRealtime


async def on_startup(app) -> None:
    async def blocks_of(user_id: str) -> set[str]:
        async with app.state.sessionmaker() as session:
            return {str(u) for u in await ChatRepository(session).blocked_ids(uuid.UUID(user_id))}

    settings = app.state.settings
    app.state.chat = ChatRealtime(app.state.events, app.state.backends.match_shards)
    app.state.chat_hub = hub = Hub(settings.redis_url, blocks_loader=blocks_of,
                                   auth_timeout_s=settings.ws_auth_timeout_s)
    hub.guard = SessionGuard(hub, app.state.sessionmaker, settings.session_max_age_s, settings.ws_session_cache_s,
                             settings.ws_session_recheck_s)
    app.state.socket_slots = SocketSlots(app.state.redis)
    await hub.start()
    hub.guard.start()
    app.state.socket_slots.start()
    app.state.events.local = app.state.chat_hub  # events for this replica's sockets skip Redis


async def on_shutdown(app) -> None:
    hub = getattr(app.state, "chat_hub", None)
    app.state.events.local = None
    if hub is not None:
        if hub.guard is not None:
            await hub.guard.stop()
        await hub.stop()
    slots = getattr(app.state, "socket_slots", None)
    if slots is not None:
        await slots.stop()
    chat = getattr(app.state, "chat", None)
    if chat is not None:
        await chat.drain()
