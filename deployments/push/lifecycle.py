"""Push's part of a replica: which of its sockets have the app in the foreground (renewed in
Redis for the dispatcher), the `app_state` socket event, and (in-process runs only: tests, bare
uvicorn) the dispatcher loop. Under Ray Serve the dispatcher is its own deployment."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Annotated, Literal

from fastapi import Depends
from pydantic import BaseModel, ConfigDict

from deployments.backends import Backends
from deployments.push.dispatcher import PushDispatcher
from deployments.push.presence import LEASE_S, Presence
from deployments.push.providers import make_push_provider
from deployments.push.repository import OutboxRepository
from deployments.realtime.hub import Connection
from deployments.realtime.lifecycle import Realtime
from kit.db import LazyPool
from kit.deps import part
from kit.resources import Resources
from kit.settings import Settings

log = logging.getLogger("app.push")


class AppStateEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: Literal["foreground", "background"]


@dataclass
class Push:
    presence: Presence
    foreground: dict[Connection, str] = field(default_factory=dict)  # socket -> its member name in Redis
    dispatcher: PushDispatcher | None = None
    pool: LazyPool | None = None
    tasks: list[asyncio.Task] = field(default_factory=list)

    def spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.append(task)
        task.add_done_callback(lambda t: self.tasks.remove(t) if t in self.tasks else None)

    async def mark(self, conn: Connection, foreground: bool) -> None:
        user = str(conn.user_id)
        if foreground:
            key = self.foreground.setdefault(conn, f"{conn.session_key}:{id(conn):x}")
            await self.presence.foreground([(user, key)])
        elif conn in self.foreground:
            await self.presence.gone(user, self.foreground.pop(conn))


def build_dispatcher(settings: Settings, pool: LazyPool, presence: Presence) -> PushDispatcher:
    return PushDispatcher(settings, OutboxRepository(pool), presence, make_push_provider(settings))


async def _renew(push: Push) -> None:
    """Renew the leases of this replica's foreground sockets well before they lapse."""
    while True:
        await asyncio.sleep(LEASE_S / 3)
        try:
            await push.presence.foreground([(str(c.user_id), key) for c, key in list(push.foreground.items())])
        except Exception as exc:  # Redis away: leases lapse and pushes go out; better than none
            log.warning("could not renew socket presence: %s", exc)


async def on_startup(resources: Resources) -> None:
    settings = resources.settings
    push = resources.add(Push(Presence(resources.redis)))
    realtime = resources.get(Realtime)
    realtime.on_open.append(lambda conn, res: push.spawn(push.mark(conn, True)))
    realtime.on_close.append(lambda conn, res: push.spawn(push.mark(conn, False)))
    realtime.handlers["app_state"] = app_state
    push.tasks.append(asyncio.create_task(_renew(push), name="push-presence"))
    if resources.get(Backends).kind == "local":  # under Serve, ServedPushDispatcher runs it
        push.pool = LazyPool(settings.database_url, max_size=4)
        push.dispatcher = build_dispatcher(settings, push.pool, push.presence)
        if settings.push_dispatch_interval_s > 0:
            push.tasks.append(
                asyncio.create_task(
                    push.dispatcher.run_forever(settings.push_dispatch_interval_s), name="push-dispatcher"
                )
            )


async def app_state(conn: Connection, resources: Resources, data: dict) -> None:
    """The app moved to the background (pushes resume) or the foreground (they stop)."""
    state = AppStateEvent.model_validate(data).state
    await resources.get(Push).mark(conn, state == "foreground")


async def on_shutdown(resources: Resources) -> None:
    push = resources.get(Push)
    for task in list(push.tasks):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    if push.dispatcher is not None:
        await push.dispatcher.close()
    if push.pool is not None:
        await push.pool.close()


PushParts = Annotated[Push, Depends(part(Push))]
