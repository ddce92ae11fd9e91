"""The `s3` media backend against a real S3 HTTP API on loopback (moto in server mode)."""

from __future__ import annotations

import socket

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from deployments.app import create_app
from tests.factories import make_member
from tests.photos.conftest import jpeg_bytes, opened, upload

BUCKET = "photos-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_env(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def s3(s3_endpoint, s3_env):
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    try:
        client.create_bucket(Bucket=BUCKET)
    except ClientError:
        pass
    yield client
    for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=obj["Key"])


async def s3_client(settings):
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


@pytest.fixture
async def s3_app_client(settings, s3, s3_endpoint):
    s3_settings = settings.model_copy(
        update={"media_backend": "s3", "s3_bucket": BUCKET, "s3_endpoint_url": s3_endpoint}
    )
    async for http in s3_client(s3_settings):
        yield http


def keys(s3) -> set[str]:
    return {obj["Key"] for obj in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


async def test_s3_upload_stores_both_variants_behind_presigned_urls(s3_app_client, s3, s3_endpoint, settings):
    member = await make_member(s3_app_client, settings.sms_outbox)
    response = await upload(s3_app_client, member, jpeg_bytes(gps=True))
    assert response.status_code == 200, response.text
    photo = response.json()["photo"]
    assert len(keys(s3)) == 2
    async with httpx.AsyncClient() as web:
        for url in (photo["url"], photo["thumbnail_url"]):
            assert url.startswith(s3_endpoint) and "X-Amz-Signature=" in url
            served = await web.get(url)
            assert served.status_code == 200
            image = opened(served.content)
            assert dict(image.getexif()) == {} and "exif" not in image.info
        unsigned = await web.get(photo["url"].split("?")[0])
        assert unsigned.status_code == 403
    me = (await s3_app_client.get("/api/v1/profile/me", headers=member.headers)).json()["profile"]
    assert me["photos"][0]["url"].startswith(s3_endpoint)


async def test_s3_delete_removes_both_objects(s3_app_client, s3, settings):
    member = await make_member(s3_app_client, settings.sms_outbox)
    photo = (await upload(s3_app_client, member, jpeg_bytes())).json()["photo"]
    response = await s3_app_client.delete(f"/api/v1/profile/photos/{photo['id']}", headers=member.headers)
    assert response.status_code == 200
    assert keys(s3) == set()


async def test_an_unreachable_store_is_503_and_leaves_no_row(settings, s3_env, db):
    dead = settings.model_copy(
        update={"media_backend": "s3", "s3_bucket": BUCKET, "s3_endpoint_url": f"http://127.0.0.1:{free_port()}"}
    )
    async for http in s3_client(dead):
        http_member = await make_member(http, settings.sms_outbox)
        response = await upload(http, http_member, jpeg_bytes())
        assert response.status_code == 503
    assert await db.fetchval("SELECT count(*) FROM profile_photos") == 0
    # The refused keys stay queued (the store could not confirm their absence), due for retry.
    assert await db.fetchval("SELECT count(*) FROM media_deletions WHERE next_attempt_at <= now()") == 2
