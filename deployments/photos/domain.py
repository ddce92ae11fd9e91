"""The photos domain's registration (see kit.domain)."""

from deployments.photos import lifecycle, router
from kit.domain import Domain

DOMAIN = Domain("photos", routers=(router.router,), on_startup=lifecycle.on_startup, on_shutdown=lifecycle.on_shutdown)
