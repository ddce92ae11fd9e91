"""The matching domain's registration (see kit.domain)."""

from deployments.matching import lifecycle, router
from kit.domain import Domain

DOMAIN = Domain("matching", routers=(router.router, router.people), on_startup=lifecycle.on_startup)
