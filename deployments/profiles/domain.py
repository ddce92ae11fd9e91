"""The profiles domain's registration (see kit.domain)."""

from deployments.profiles import router
from kit.domain import Domain

DOMAIN = Domain("profiles", routers=(router.router,))
