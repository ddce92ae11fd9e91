"""Chat's part of a replica: the post-commit announcer (`ChatRealtime`), and chat's socket
handlers and block-set loader, registered with the realtime transport (which starts first)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deployments.backends import Backends
from deployments.chat import socket
from deployments.chat.repository import ChatRepository
from deployments.chat.service import ChatRealtime
from deployments.realtime.bus import EventBus
from deployments.realtime.lifecycle import Realtime
from kit.deps import part
from kit.resources import Resources


def _blocks_loader(sessionmaker: async_sessionmaker[AsyncSession]):
    async def blocks_of(user_id: str) -> set[str]:
        async with sessionmaker() as session:
            return {str(u) for u in await ChatRepository(session).blocked_ids(uuid.UUID(user_id))}

    return blocks_of


async def on_startup(resources: Resources) -> None:
    resources.add(ChatRealtime(resources.get(EventBus), resources.get(Backends).match_shards))
    realtime = resources.get(Realtime)
    realtime.handlers.update(socket.HANDLERS)
    realtime.on_close.append(socket.leave)
    realtime.hub.blocks_loader = _blocks_loader(resources.sessionmaker)


async def on_shutdown(resources: Resources) -> None:
    await resources.get(ChatRealtime).drain()


Chat = Annotated[ChatRealtime, Depends(part(ChatRealtime))]
