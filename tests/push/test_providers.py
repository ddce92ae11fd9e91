"""The providers against the local APNs and FCM fakes: dead tokens are deleted at once and never
retried, 429/5xx are retried with backoff, and the fakes refuse what the real servers refuse."""

from __future__ import annotations

import asyncio
import json

from deployments.push.providers import (
    ApnsProvider,
    ConsolePush,
    FcmProvider,
    Notification,
    Outcome,
)
from tests.chat.conftest import make_match
from tests.factories import login
from tests.push.conftest import KEY_ID, PROJECT, TEAM_ID, drain, register
from tests.push.test_delivery import send

NOTE = Notification("new_message", "New message", "Alex sent you a message", "message:m", "match:m", 1)


async def _one_message_to(live, db, platform: str, token: str):
    alex, casey = await login(live.http, live.outbox), await login(live.http, live.outbox)
    match_id = await make_match(db, alex, casey)
    await register(live, casey, platform, token)
    return alex, casey, match_id


async def test_apns_dead_tokens_are_deleted_and_never_retried(live, db, apns):
    apns.unregistered.add("e" * 64)
    apns.bad_tokens.add("f" * 64)
    alex, casey, match_id = await _one_message_to(live, db, "ios", "e" * 64)
    await register(live, casey, "ios", "f" * 64)
    await send(live, alex, match_id)
    await drain(live)
    await send(live, alex, match_id)
    await drain(live)
    assert sorted(apns.refused) == [(400, "BadDeviceToken"), (410, "Unregistered")]  # once each, no retry
    assert await db.fetchval("SELECT count(*) FROM push_devices") == 0
    assert await db.fetchval("SELECT count(*) FROM push_outbox") == 0


async def test_fcm_dead_tokens_are_deleted_and_never_retried(live, db, fcm):
    fcm.unregistered.add("fcm:gone-token")
    fcm.invalid.add("fcm:garbled-token")
    alex, casey, match_id = await _one_message_to(live, db, "android", "fcm:gone-token")
    await register(live, casey, "android", "fcm:garbled-token")
    await send(live, alex, match_id)
    await drain(live)
    await send(live, alex, match_id)
    await drain(live)
    assert sorted(status for status, _ in fcm.refused) == [400, 404]
    assert "UNREGISTERED" in str(fcm.refused) and "INVALID_ARGUMENT" in str(fcm.refused)
    assert await db.fetchval("SELECT count(*) FROM push_devices") == 0


async def test_429_and_5xx_are_retried_until_delivered(live, db, apns, fcm):
    apns.fail_next.extend([(429, "TooManyRequests"), (503, "ServiceUnavailable")])
    fcm.fail_next.append(500)
    alex, casey, match_id = await _one_message_to(live, db, "ios", "1" * 64)
    await register(live, casey, "android", "fcm:ok-token")
    await send(live, alex, match_id)
    for _ in range(20):  # each retry waits PUSH_RETRY_BASE_S (0.01 s here), doubling
        await drain(live)
        if apns.received and fcm.received:
            break
        await asyncio.sleep(0.05)
    assert apns.tokens() == ["1" * 64] and fcm.tokens() == ["fcm:ok-token"]  # each device exactly once
    assert [s for s, _ in apns.refused] == [429, 503] and [s for s, _ in fcm.refused] == [500]
    assert await db.fetchval("SELECT count(*) FROM push_outbox") == 0


async def test_the_apns_fake_checks_the_provider_token_and_the_topic(native_settings, apns, signing_keys, tmp_path):
    wrong_team = ApnsProvider(
        KEY_ID, "OTHERTEAM1", native_settings.apns_key_path, native_settings.apns_topic, api_base=apns.url
    )
    wrong_topic = ApnsProvider(KEY_ID, TEAM_ID, native_settings.apns_key_path, "com.example.other", api_base=apns.url)
    right = ApnsProvider(KEY_ID, TEAM_ID, native_settings.apns_key_path, native_settings.apns_topic, api_base=apns.url)
    try:
        assert (await wrong_team.send("ios", "2" * 64, NOTE)).reason == "InvalidProviderToken"
        assert (await wrong_topic.send("ios", "2" * 64, NOTE)).reason == "TopicDisallowed"
        assert (await right.send("ios", "2" * 64, NOTE)).outcome is Outcome.SENT
        huge = Notification("new_message", "t", "x" * 5000, "c", "t")
        assert (await right.send("ios", "2" * 64, huge)).outcome is Outcome.FAILED  # never sent over 4 KB
        assert apns.tokens() == ["2" * 64]  # the fake speaks HTTP/2 only
    finally:
        for provider in (wrong_team, wrong_topic, right):
            await provider.close()
    assert apns.received[0]["headers"][":method"] == "POST"


async def test_the_fcm_fake_checks_the_service_account_assertion(native_settings, fcm, tmp_path):
    account = json.loads(native_settings.fcm_credentials_path.read_text())
    forged = tmp_path / "forged.json"
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other_key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    forged.write_text(json.dumps({**account, "private_key": other_key}))
    impostor = FcmProvider(PROJECT, forged, fcm.base)
    genuine = FcmProvider(PROJECT, native_settings.fcm_credentials_path, fcm.base)
    try:
        assert (await impostor.send("android", "fcm:x", NOTE)).outcome is Outcome.RETRY  # no access token
        assert (await genuine.send("android", "fcm:x", NOTE)).outcome is Outcome.SENT
        assert (await genuine.send("android", "fcm:y", NOTE)).outcome is Outcome.SENT
    finally:
        await impostor.close()
        await genuine.close()
    assert fcm.tokens() == ["fcm:x", "fcm:y"] and fcm.token_requests == 2  # the token is reused


async def test_the_console_provider_appends_what_would_be_sent(tmp_path):
    outbox = tmp_path / "push.jsonl"
    console = ConsolePush(outbox, "com.example.dating")
    await console.send("ios", "3" * 64, NOTE)
    await console.send("android", "fcm:z", NOTE)
    ios, android = (json.loads(line) for line in outbox.read_text().splitlines())
    assert ios["platform"] == "ios" and ios["token"] == "3" * 64
    assert ios["payload"]["aps"]["alert"]["body"] == "Alex sent you a message"
    assert ios["headers"]["apns-collapse-id"] == "message:m"
    assert android["payload"]["message"]["android"]["collapse_key"] == "message:m"
