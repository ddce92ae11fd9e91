"""Push fixtures: signing keys, the local APNs (h2c) and FCM fakes, and a live server whose
dispatcher runs only when a test says so (`drain`)."""

from __future__ import annotations

import contextlib
import json
import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from deployments.push.lifecycle import Push
from tests.chat.conftest import serving_live, sockets, start_server, stop_server  # noqa: F401 (fixture)
from tests.factories import TestUser
from tests.fakes.apns import ApnsFake
from tests.fakes.fcm import FcmFake

TOPIC = "com.example.dating"
KEY_ID, TEAM_ID, PROJECT = "ABC123DEFG", "TEAM123456", "dating-test"
EMAIL = "push@dating-test.iam.gserviceaccount.com"


def _pem_private(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _pem_public(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="session")
def signing_keys():
    return ec.generate_private_key(ec.SECP256R1()), rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
async def apns(signing_keys):
    fake = await ApnsFake(_pem_public(signing_keys[0]), KEY_ID, TEAM_ID, TOPIC).start()
    yield fake
    await fake.stop()


@pytest.fixture
async def fcm(signing_keys):
    fake = FcmFake(_pem_public(signing_keys[1]), EMAIL, PROJECT)
    server, task, port = await start_server(fake.app())
    fake.token_uri = f"http://127.0.0.1:{port}/token"
    fake.base = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    yield fake
    await stop_server(server, task)


@pytest.fixture
def native_settings(settings, tmp_path, signing_keys, apns, fcm):
    """Settings for PUSH_PROVIDER=native against the fakes; the dispatcher waits for `drain`."""
    key_path = tmp_path / "AuthKey.p8"
    key_path.write_text(_pem_private(signing_keys[0]))
    credentials = tmp_path / "service-account.json"
    credentials.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": PROJECT,
                "client_email": EMAIL,
                "private_key": _pem_private(signing_keys[1]),
                "token_uri": fcm.token_uri,
            }
        )
    )
    return settings.model_copy(
        update={
            "push_provider": "native",
            "apns_key_id": KEY_ID,
            "apns_team_id": TEAM_ID,
            "apns_key_path": key_path,
            "apns_topic": TOPIC,
            "apns_api_base": apns.url,
            "fcm_project_id": PROJECT,
            "fcm_credentials_path": credentials,
            "fcm_api_base": fcm.base,
            "push_dispatch_interval_s": 0,
            "push_collapse_window_s": 0,
            "push_retry_base_s": 0.01,
        }
    )


@pytest.fixture
async def live(native_settings):
    async with serving_live(native_settings) as served:
        yield served


@contextlib.asynccontextmanager
async def live_with(native_settings, **changes):
    async with serving_live(native_settings.model_copy(update=changes)) as served:
        yield served


async def drain(live) -> int:
    """Run the dispatcher until nothing is due; how many rows it handled."""
    dispatcher = live.app.state.resources.get(Push).dispatcher
    total = 0
    while handled := await dispatcher.run_once():
        total += handled
    return total


async def register(live, user: TestUser, platform: str = "ios", token: str | None = None) -> dict:
    token = token or (uuid.uuid4().hex + uuid.uuid4().hex if platform == "ios" else f"fcm:{uuid.uuid4().hex}")
    response = await live.http.post(
        "/api/v1/devices",
        headers=user.headers,
        json={"platform": platform, "token": token, "app_version": "1.0", "locale": "en-US"},
    )
    assert response.status_code == 200, response.text
    return {**response.json(), "token": token}


async def name(live, user: TestUser, first_name: str) -> None:
    response = await live.http.put("/api/v1/profile/me", headers=user.headers, json={"first_name": first_name})
    assert response.status_code == 200, response.text
