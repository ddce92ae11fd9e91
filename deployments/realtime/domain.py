"""The realtime domain's registration (see kit.domain)."""

from deployments.realtime import lifecycle, socket
from kit.domain import Domain

DOMAIN = Domain(
    "realtime", routers=(socket.router,), on_startup=lifecycle.on_startup, on_shutdown=lifecycle.on_shutdown
)
