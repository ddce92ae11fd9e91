"""Start-up and shut-down of the chat domain's per-replica resources: the connection hub
(and its Redis subscription) and the post-commit announcer on `app.state.chat`."""

from __future__ import annotations

import uuid

from deployments.chat.hub import Hub
from deployments.chat.repository import ChatRepository
from deployments.chat.service import ChatRealtime


async def on_startup(app) -> None:
    async def blocks_of(user_id: str) -> set[str]:
        async with app.state.sessionmaker() as session:
            return {str(u) for u in await ChatRepository(session).blocked_ids(uuid.UUID(user_id))}

    app.state.chat = ChatRealtime(app.state.events, app.state.backends.match_shards)
    app.state.chat_hub = Hub(app.state.settings.redis_url, blocks_loader=blocks_of)
    await app.state.chat_hub.start()
    app.state.events.local = app.state.chat_hub  # events for this replica's sockets skip Redis


async def on_shutdown(app) -> None:
    hub = getattr(app.state, "chat_hub", None)
    app.state.events.local = None
    if hub is not None:
        await hub.stop()
    chat = getattr(app.state, "chat", None)
    if chat is not None:
        await chat.drain()
