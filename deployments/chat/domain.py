"""The chat domain's registration (see kit.domain)."""

from deployments.chat import lifecycle, router
from kit.domain import Domain

DOMAIN = Domain("chat", routers=(router.router,), on_startup=lifecycle.on_startup, on_shutdown=lifecycle.on_shutdown)
