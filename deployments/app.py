"""The FastAPI app factory. It runs on every gateway replica, and unchanged under bare uvicorn
(tests, baselines): only the `Backends` differ (in-process objects vs. Ray handles).

Each domain registers itself once, in `deployments/<domain>/domain.py` (routers, start/stop
hooks); `DOMAINS` lists them in start order.
"""

from __future__ import annotations

import importlib
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from deployments import health
from deployments.backends import Backends, BackendsFactory, local_backends
from kit.addresses import ClientAddress
from kit.domain import Domain
from kit.errors import document_errors, install_error_handlers
from kit.http import BodySizeLimit, InflightPerAddress, RequestTimeout
from kit.logging import configure_logging
from kit.resources import Resources
from kit.security import TokenError, decode_token
from kit.settings import Settings, get_settings

log = logging.getLogger("app")

# Start order (and the order of their routes); shut-down runs backwards. Realtime first: the others
# publish through its bus, and chat registers its socket handlers with it.
DOMAINS = ("realtime", "auth", "profiles", "photos", "matching", "chat", "safety", "billing", "account", "push")


def domains() -> list[Domain]:
    return [importlib.import_module(f"deployments.{name}.domain").DOMAIN for name in DOMAINS]


def _lifespan(settings: Settings, backends: BackendsFactory, registered: list[Domain]):
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if not settings.database_url or not settings.redis_url:
            raise RuntimeError("DATABASE_URL and REDIS_URL must be set before the app starts (make run does this)")
        resources = app.state.resources = Resources.open(settings)
        resources.add(backends(settings))
        for domain in registered:
            if domain.on_startup is not None:
                await domain.on_startup(resources)
        try:
            yield
        finally:
            for domain in reversed(registered):
                if domain.on_shutdown is not None:
                    await domain.on_shutdown(resources)
            await resources.get(Backends).close()
            await resources.close()

    return lifespan


def create_app(settings: Settings | None = None, backends: BackendsFactory | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    registered = domains()
    app = FastAPI(
        title="Dating backend API",
        version="1.0.0",
        description="Phone OTP login, profiles, feed and swipes, realtime chat (websocket `/ws`), "
        "safety and billing. Authorize with the `token` from `/api/v1/auth/verify-otp`.",
        lifespan=_lifespan(settings, backends or local_backends, registered),
        generate_unique_id_function=operation_id,
    )
    install_error_handlers(app)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        upload_paths={"/api/v1/profile/photos": settings.media_max_bytes + 64 * 1024},
        upload_guard=lambda token: _access_token_valid(settings, token),
    )
    app.add_middleware(RequestTimeout, seconds=settings.request_timeout_s)
    # Outside the others so a refused request costs nothing; inside the proxy-headers middleware
    # (which must stay outermost) so it counts the true client address.
    app.add_middleware(InflightPerAddress, limit=settings.http_max_inflight_per_address)
    # Added last, so outermost: every layer and route sees the true client address.
    app.add_middleware(ClientAddress, trusted_proxies=settings.trusted_proxy_networks)
    app.include_router(health.router)
    for domain in registered:
        for router in domain.routers:
            app.include_router(router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]  # FastAPI's way to customise it
    return app


def _access_token_valid(settings: Settings, token: str) -> bool:
    try:
        decode_token(settings, token, "access")
    except TokenError:
        return False
    return True


def operation_id(route: APIRoute) -> str:
    """`<tag>_<function>` (auth_send_otp, profile_get_me): what client generators name their methods."""
    tag = str(route.tags[0]) if route.tags else ""
    return route.name if not tag or route.name.startswith(tag) else f"{tag}_{route.name}"


def _openapi(app: FastAPI) -> dict:
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        app.openapi_schema = document_errors(schema)
    return app.openapi_schema
