"""Alembic environment: runs migrations over asyncpg, with the URL from the caller or DATABASE_URL."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.ext.asyncio import create_async_engine

import models
from kit.db import async_url, mask_phones_in_errors
from models.profile import Point

config = context.config
target_metadata = models.Base.metadata
# Reflection (autogenerate, `alembic check`) reads user_profiles.location as the model's POINT.
ischema_names.setdefault("point", Point)


def _url() -> str:
    url = config.attributes.get("database_url") or os.environ.get("DATABASE_URL", "")
    if not url:
        raise SystemExit("DATABASE_URL is not set: tell Alembic which database to migrate")
    return async_url(url)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url(), hide_parameters=True)  # data migrations bind user data too
    mask_phones_in_errors(engine)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
