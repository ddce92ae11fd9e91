"""Command-line side of moderation: the only way to grant (or take back) the moderator role."""

from __future__ import annotations

import uuid

from deployments.auth.service import normalize_phone
from deployments.safety.repository import SafetyRepository
from kit.db import make_engine, make_sessionmaker
from kit.errors import NotFound
from kit.security import mask_phone


async def set_moderator(database_url: str, phone: str, granted: bool) -> uuid.UUID:
    """Set `users.is_moderator` for the account behind `phone`; its id, or NotFound.

    The role takes effect on the user's next request: the flag is read per request, not from the token.
    """
    number = normalize_phone(phone)
    engine = make_engine(database_url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            user_id = await SafetyRepository(session).set_moderator(number, granted)
    finally:
        await engine.dispose()
    if user_id is None:
        raise NotFound(f"No account for {mask_phone(number)}; the user must log in once first", code="user_not_found")
    return user_id


async def grant_moderator(database_url: str, phone: str) -> uuid.UUID:
    """`make moderator PHONE=+1...`: make the account behind this number a moderator."""
    return await set_moderator(database_url, phone, True)


async def revoke_moderator(database_url: str, phone: str) -> uuid.UUID:
    return await set_moderator(database_url, phone, False)
