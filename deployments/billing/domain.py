"""The billing domain's registration (see kit.domain)."""

from deployments.billing import lifecycle, router
from kit.domain import Domain

DOMAIN = Domain("billing", routers=(router.router,), on_startup=lifecycle.on_startup)
