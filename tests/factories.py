"""Small factories that build test data the way the mobile app would: through the API."""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx

_numbers = itertools.count(100)


def new_phone() -> str:
    """A fresh, valid, fictional US number (202-555-01xx style), unique per call."""
    n = next(_numbers)
    return f"+1202555{n:04d}"


@dataclass
class TestUser:
    id: uuid.UUID
    phone: str
    token: str
    refresh_token: str
    profile: dict = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def last_code(outbox: Path, phone: str) -> str:
    lines = [json.loads(line) for line in outbox.read_text().splitlines()]
    body = [m["body"] for m in lines if m["to"] == phone][-1]
    return next(word for word in body.replace(".", " ").split() if word.isdigit() and len(word) == 6)


async def login(client: httpx.AsyncClient, outbox: Path, phone: str | None = None) -> TestUser:
    phone = phone or new_phone()
    sent = await client.post("/api/v1/auth/send-otp", json={"phone_number": phone})
    assert sent.status_code == 200, sent.text
    verified = await client.post(
        "/api/v1/auth/verify-otp", json={"phone_number": phone, "otp": last_code(outbox, phone)}
    )
    assert verified.status_code == 200, verified.text
    body = verified.json()
    return TestUser(uuid.UUID(body["user"]["id"]), phone, body["token"], body["refresh_token"])


def profile_body(**overrides) -> dict:
    body = {
        "first_name": "Alex",
        "last_name": "Doe",
        "birth_date": "1995-05-15",
        "gender": "female",
        "bio": "Coffee and mountains",
        "location": {"latitude": 40.7128, "longitude": -74.0060},
        "preferences": {"max_distance": 50, "age_min": 18, "age_max": 99, "show_me": "everyone"},
        "interests": ["travel", "music"],
    }
    body.update(overrides)
    return body


async def make_member(client: httpx.AsyncClient, outbox: Path, **profile) -> TestUser:
    """A logged-in user with a complete profile (eligible for feeds)."""
    user = await login(client, outbox)
    response = await client.put("/api/v1/profile/me", json=profile_body(**profile), headers=user.headers)
    assert response.status_code == 200, response.text
    user.profile = response.json()["profile"]
    return user


def birth_date_for_age(age: int) -> str:
    today = date.today()
    return date(today.year - age, 1, 1).isoformat() if (today.month, today.day) >= (1, 1) else ""
