"""The reference the per-request cost is measured against: a minimal FastAPI app on bare uvicorn
whose routes do only the essential work of the app's routes, with the same token library and
settings (pyjwt, HS256, the same claims, audience and issuer) and raw asyncpg on the same database.

Run as `uvicorn bench.reference:create_app --factory` with the app's environment (DATABASE_URL,
JWT_*). Routes, on the app's paths so a scenario sends the same requests to both:
- GET  /api/v1/profile/me: decode the token, read the caller's profile row by primary key.
- GET  /api/v1/matching/matches: decode, the app's matches-list statement.
- POST /api/v1/matching/swipe: decode, then in one transaction: the pair lock, the rolling
  24-hour like count, the insert, the reverse like and the match upsert.
- GET  /api/v1/messages/conversations/{match_id}: decode, check the match is the caller's, a
  page of messages.
"""

from __future__ import annotations

import uuid
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import jwt
from fastapi import FastAPI, Header, HTTPException, Request

from kit.db import sync_url
from kit.security import ALGORITHM
from kit.settings import get_settings

_MATCHES = """
SELECT m.id, m.matched_at, o.other_id, p.first_name,
       lm.id AS lm_id, lm.content, lm.message_type, lm.sender_id, lm.sent_at,
       (SELECT count(*) FROM messages x
         WHERE x.match_id = m.id AND x.sender_id <> $1 AND NOT x.is_read) AS unread
  FROM matches m
  CROSS JOIN LATERAL (SELECT CASE WHEN m.user1_id = $1 THEN m.user2_id ELSE m.user1_id END AS other_id) o
  JOIN users u ON u.id = o.other_id AND u.banned_at IS NULL AND u.deleted_at IS NULL
  LEFT JOIN user_profiles p ON p.user_id = o.other_id
  LEFT JOIN LATERAL (SELECT id, content, message_type, sender_id, sent_at FROM messages
                      WHERE match_id = m.id ORDER BY seq DESC LIMIT 1) lm ON true
 WHERE (m.user1_id = $1 OR m.user2_id = $1) AND m.is_active
 ORDER BY coalesce(m.last_message_at, m.matched_at) DESC, m.id DESC
 LIMIT 20
"""
_MATCH = """
INSERT INTO matches (user1_id, user2_id) VALUES (least($1::uuid, $2::uuid), greatest($1::uuid, $2::uuid))
ON CONFLICT (user1_id, user2_id) DO UPDATE SET is_active = matches.is_active RETURNING id, is_active
"""
_PAGE = """
SELECT id, sender_id, content, message_type, is_read, sent_at, seq FROM messages
 WHERE match_id = $1 ORDER BY seq DESC LIMIT 50
"""


def create_app() -> FastAPI:
    settings = get_settings()
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state["pool"] = await asyncpg.create_pool(
            sync_url(settings.database_url), min_size=1, max_size=settings.db_pool_size
        )
        yield
        await state["pool"].close()

    app = FastAPI(lifespan=lifespan)

    def caller(authorization: str | None) -> uuid.UUID:
        try:
            claims = jwt.decode(
                (authorization or "").removeprefix("Bearer "),
                settings.jwt_secret,
                algorithms=[ALGORITHM],
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
                options={"require": ["sub", "sid", "jti", "type", "exp", "iat", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise HTTPException(401) from exc
        return uuid.UUID(claims["sub"])

    @app.get("/api/v1/profile/me")
    async def profile_me(authorization: str | None = Header(None)) -> dict:
        row = await state["pool"].fetchrow("SELECT * FROM user_profiles WHERE user_id = $1", caller(authorization))
        return {"success": True, "profile": {k: v for k, v in row.items() if k != "location"} if row else None}

    @app.get("/api/v1/matching/matches")
    async def matches(authorization: str | None = Header(None)) -> dict:
        rows = await state["pool"].fetch(_MATCHES, caller(authorization))
        return {"success": True, "matches": [dict(r) for r in rows]}

    @app.post("/api/v1/matching/swipe")
    async def swipe(request: Request, authorization: str | None = Header(None)) -> dict:
        me = caller(authorization)
        body = await request.json()
        target, action = uuid.UUID(body["target_user_id"]), body["action"]
        async with state["pool"].acquire() as conn, conn.transaction():
            key = ":".join(sorted((str(me), str(target))))
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 1))", key)
            await conn.fetchval(
                "SELECT count(*) FROM swipes WHERE swiper_id = $1 AND action = 'like'"
                " AND created_at > now() - interval '24 hours'",
                me,
            )
            await conn.execute(
                "INSERT INTO swipes (swiper_id, swiped_id, action) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                me,
                target,
                action,
            )
            if action == "like" and await conn.fetchval(
                "SELECT 1 FROM swipes WHERE swiper_id = $1 AND swiped_id = $2 AND action = 'like'", target, me
            ):
                match = await conn.fetchrow(_MATCH, me, target)
                return {"success": True, "is_match": True, "match_id": str(match["id"])}
        return {"success": True, "is_match": False}

    @app.get("/api/v1/messages/conversations/{match_id}")
    async def conversation(match_id: uuid.UUID, authorization: str | None = Header(None)) -> dict:
        me = caller(authorization)
        async with state["pool"].acquire() as conn:
            if not await conn.fetchval(
                "SELECT 1 FROM matches WHERE id = $1 AND (user1_id = $2 OR user2_id = $2)", match_id, me
            ):
                raise HTTPException(404)
            rows = await conn.fetch(_PAGE, match_id)
        return {"success": True, "messages": [dict(r) for r in rows]}

    return app
