"""The realtime transport on one replica: the event bus, the socket hub (and its Redis
subscription), the sockets' session re-check and cap leases, and the socket handlers that
domains register. Realtime starts first and stops last: every other domain publishes through
the bus, and registers its socket handlers (`Realtime.handlers`) in its own start-up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends

from deployments.realtime.bus import EventBus
from deployments.realtime.guard import SessionGuard, SocketSlots
from deployments.realtime.hub import Connection, Hub
from kit.deps import part
from kit.resources import Resources

# A client event's handler: (the socket, the replica's resources, the event's data). It answers
# on `conn.send`; an exception becomes the socket's `error` frame.
SocketHandler = Callable[[Connection, Resources, dict], Awaitable[None]]
CloseHook = Callable[[Connection, Resources], None]


@dataclass
class Realtime:
    bus: EventBus
    hub: Hub
    slots: SocketSlots
    handlers: dict[str, SocketHandler] = field(default_factory=dict)  # client event -> its domain's handler
    on_close: list[CloseHook] = field(default_factory=list)  # told when an authenticated socket ends
    on_open: list[CloseHook] = field(default_factory=list)  # told when a socket has authenticated


async def on_startup(resources: Resources) -> None:
    settings = resources.settings
    bus = resources.add(EventBus(resources.redis))
    hub = Hub(settings.redis_url, auth_timeout_s=settings.ws_auth_timeout_s)
    hub.guard = SessionGuard(
        hub,
        resources.sessionmaker,
        settings.session_max_age_s,
        settings.ws_session_cache_s,
        settings.ws_session_recheck_s,
    )
    realtime = resources.add(Realtime(bus, hub, SocketSlots(resources.redis)))
    await hub.start()
    hub.guard.start()
    realtime.slots.start()
    bus.local = hub  # events for this replica's sockets skip Redis


async def on_shutdown(resources: Resources) -> None:
    realtime = resources.get(Realtime)
    realtime.bus.local = None
    await realtime.hub.guard.stop()
    await realtime.hub.stop()
    await realtime.slots.stop()


RealtimeParts = Annotated[Realtime, Depends(part(Realtime))]
