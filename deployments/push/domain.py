"""The push domain's registration (see kit.domain)."""

from deployments.push import lifecycle, router
from kit.domain import Domain

DOMAIN = Domain("push", routers=(router.router,), on_startup=lifecycle.on_startup, on_shutdown=lifecycle.on_shutdown)
