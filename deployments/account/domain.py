"""The account domain's registration (see kit.domain): delete, export, and the purge loop."""

from deployments.account import lifecycle, router
from kit.domain import Domain

DOMAIN = Domain("account", routers=(router.router,), on_startup=lifecycle.on_startup, on_shutdown=lifecycle.on_shutdown)
