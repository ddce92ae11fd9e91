"""The safety domain's registration (see kit.domain): reports and blocks, and moderation."""

from deployments.safety import moderation_router, router
from kit.domain import Domain

DOMAIN = Domain("safety", routers=(router.router, moderation_router.router))
