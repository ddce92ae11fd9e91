"""SMS providers: the console outbox for developers, Twilio through its official SDK."""

from __future__ import annotations

import logging

import pytest

from tests.factories import new_phone
from tests.fakes.twilio_api import FakeTwilio


@pytest.fixture
def fake_twilio():
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


@pytest.fixture
async def twilio_client(client_with, fake_twilio):
    async with client_with(
        sms_provider="twilio",
        twilio_account_sid="AC" + "1" * 32,
        twilio_auth_token="secret-token",
        twilio_phone_number="+15005550006",
        twilio_api_base=fake_twilio.base_url,
        sms_outbox=None,
    ) as http:
        yield http


async def test_twilio_provider_sends_the_code_through_the_sdk(twilio_client, fake_twilio):
    phone = new_phone()
    response = await twilio_client.post("/api/v1/auth/send-otp", json={"phone_number": phone})
    assert response.status_code == 200
    [sent] = fake_twilio.requests
    assert sent["path"] == "/2010-04-01/Accounts/AC" + "1" * 32 + "/Messages.json"
    assert sent["user"] == "AC" + "1" * 32
    assert sent["form"]["To"] == phone and sent["form"]["From"] == "+15005550006"
    code = [w for w in sent["form"]["Body"].replace(".", " ").split() if w.isdigit() and len(w) == 6]
    assert len(code) == 1


async def test_a_twilio_refusal_is_a_503_and_no_code_is_left_behind(twilio_client, fake_twilio, db):
    fake_twilio.fail_with = (400, 21211, "The 'To' number is not a valid phone number.")
    phone = new_phone()
    response = await twilio_client.post("/api/v1/auth/send-otp", json={"phone_number": phone})
    assert response.status_code == 503 and response.json()["error"]["code"] == "sms_failed"
    assert await db.fetchval("SELECT count(*) FROM otp_challenges WHERE phone_number = $1", phone) == 0


async def test_the_console_provider_logs_only_a_masked_number(client, caplog):
    phone = "+12025550142"
    with caplog.at_level(logging.INFO):
        assert (await client.post("/api/v1/auth/send-otp", json={"phone_number": phone})).status_code == 200
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "+1******0142" in text and phone not in text and "2025550142" not in text


async def test_no_log_line_anywhere_carries_a_full_number_even_in_errors(client, caplog):
    phone = "+12025550143"
    with caplog.at_level(logging.DEBUG):
        await client.post("/api/v1/auth/send-otp", json={"phone_number": phone})
        await client.post("/api/v1/auth/verify-otp", json={"phone_number": phone, "otp": "000000"})
    assert all("2025550143" not in r.getMessage() for r in caplog.records)
