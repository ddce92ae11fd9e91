"""Auth-only fixtures: one app reached from several client addresses."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import started


@pytest.fixture
def app_with(settings):
    """`async with app_with(rate_otp_global_per_hour=2) as app:` — a started app for changed settings."""
    return lambda **changes: started(settings.model_copy(update=changes))


def client_at(application, address: str) -> httpx.AsyncClient:
    """A client whose requests reach `application` from `address` (the ASGI peer address)."""
    transport = httpx.ASGITransport(app=application, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")
