"""The auth domain's registration (see kit.domain)."""

from deployments.auth import lifecycle, router
from kit.domain import Domain

DOMAIN = Domain("auth", routers=(router.router,), on_startup=lifecycle.on_startup)
