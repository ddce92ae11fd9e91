"""The FastAPI app factory. It runs on every gateway replica, and unchanged under bare
uvicorn (tests, baselines): only `Backends` differ (in-process objects vs. Ray handles)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from actors.pg import LazyPool
from actors.ring import LocalHandle, ShardRing
from deployments.auth.sms import make_sms_provider
from deployments.events import EventBus
from deployments.matching.service import FeedAreas
from kit.addresses import ClientAddress
from kit.db import make_engine, make_sessionmaker
from kit.errors import install_error_handlers
from kit.http import BodySizeLimit, InflightPerAddress, RequestTimeout
from kit.logging import configure_logging
from kit.redis import RateLimiter, make_redis
from kit.security import TokenError, decode_token
from kit.settings import Settings, get_settings

log = logging.getLogger("app")


@dataclass
class Backends:
    """The app's stateful collaborators: in-process (`local`) or Ray actors and deployments (`ray`)."""

    kind: str
    user_shards: ShardRing
    match_shards: ShardRing
    ranker: Any
    media: Any

    async def close(self) -> None:
        """Close in-process collaborators (their database pools); Ray actors outlive the app."""
        for handle in [*self.user_shards.handles, *self.match_shards.handles, self.ranker]:
            close = getattr(handle.target, "close", None) if isinstance(handle, LocalHandle) else None
            if close is not None:
                await close()


BackendsFactory = Callable[[Settings], Backends]


def local_backends(settings: Settings) -> Backends:
    from actors.match_shard import MatchShard
    from actors.user_shard import UserShard
    from deployments.matching.ranker import FeedRanker
    from deployments.media import MediaProcessor

    return Backends(
        kind="local",
        user_shards=ShardRing.local(UserShard, settings.user_shards, "user-shard", database_url=settings.database_url),
        match_shards=ShardRing.local(MatchShard, settings.match_shards, "match-shard",
                                     database_url=settings.database_url),
        ranker=LocalHandle(FeedRanker(database_url=settings.database_url)),
        media=LocalHandle(MediaProcessor()),
    )


def _domain_lifecycles() -> list[Any]:
    """Modules with `async on_startup(app)` / `async on_shutdown(app)` hooks, in start order."""
    from deployments.chat import lifecycle as chat_lifecycle
    from deployments.profiles import photos_lifecycle

    return [photos_lifecycle, chat_lifecycle]


@asynccontextmanager
async def _lifespan(app: FastAPI):
    settings: Settings = app.state.settings
    if not settings.database_url or not settings.redis_url:
        raise RuntimeError("DATABASE_URL and REDIS_URL must be set before the app starts (make run does this)")
    app.state.engine = make_engine(settings.database_url, settings.db_pool_size)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    # Raw asyncpg for the few statements that skip SQLAlchemy (the websocket's message send).
    app.state.pg = LazyPool(settings.database_url, max_size=settings.db_pool_size)
    app.state.redis = make_redis(settings.redis_url)
    app.state.limiter = RateLimiter(app.state.redis)
    app.state.sms = make_sms_provider(settings)
    app.state.events = EventBus(app.state.redis)
    app.state.backends = app.state.backends_factory(settings)
    app.state.photo_url = lambda photo: photo.photo_url
    app.state.feed_areas = FeedAreas()
    lifecycles = _domain_lifecycles()
    for module in lifecycles:
        await module.on_startup(app)
    try:
        yield
    finally:
        for module in reversed(lifecycles):
            await module.on_shutdown(app)
        await app.state.backends.close()
        await app.state.redis.aclose()
        await app.state.pg.close()
        await app.state.engine.dispose()


def create_app(settings: Settings | None = None, backends: BackendsFactory | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title="Dating backend API",
        version="1.0.0",
        description="Phone OTP login, profiles, feed and swipes, realtime chat (websocket `/ws`), "
                    "safety and billing. Authorize with the `token` from `/api/v1/auth/verify-otp`.",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.backends_factory = backends or local_backends
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes,
                       upload_paths={"/api/v1/profile/photos": settings.media_max_bytes + 64 * 1024},
                       upload_guard=lambda token: _access_token_valid(settings, token))
    app.add_middleware(RequestTimeout, seconds=settings.request_timeout_s)
    # Outside the others so a refused request costs nothing; inside the proxy-headers middleware
    # (which must stay outermost) so it counts the true client address.
    app.add_middleware(InflightPerAddress, limit=settings.http_max_inflight_per_address)
    # Added last, so outermost: every layer and route sees the true client address.
    app.add_middleware(ClientAddress, trusted_proxies=settings.trusted_proxy_networks)
    for router in _routers():
        app.include_router(router)
    app.openapi = lambda: _openapi(app)
    return app


def _access_token_valid(settings: Settings, token: str) -> bool:
    try:
        decode_token(settings, token, "access")
    except TokenError:
        return False
    return True


def _routers() -> list[Any]:
    from deployments import health
    from deployments.auth.router import router as auth
    from deployments.billing.router import router as billing
    from deployments.chat.router import router as chat
    from deployments.chat.websocket import router as websocket
    from deployments.matching.router import router as matching
    from deployments.profiles.photos_router import router as photos
    from deployments.profiles.router import router as profiles
    from deployments.safety.moderation_router import router as moderation
    from deployments.safety.router import router as safety

    return [health.router, auth, profiles, photos, matching, chat, websocket, safety, moderation, billing]


def _openapi(app: FastAPI) -> dict:
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for path in schema.get("paths", {}).values():
            for op in path.values():
                op.setdefault("responses", {}).setdefault(
                    "4XX", {"description": 'Error envelope: `{"success": false, "error": {"code", "message"}}`'})
        app.openapi_schema = schema
    return app.openapi_schema
