"""No orphan file without a row, no row without its files, no silently lost delete."""

from __future__ import annotations

import threading

import httpx
import pytest

import deployments.photos.processing as media_module
from deployments.photos.lifecycle import Photos
from deployments.photos.repository import PhotoRepository
from deployments.photos.storage import StorageError, new_key
from tests.photos.conftest import jpeg_bytes, upload


class FlakyStorage:
    """The real store, with switches that make puts or deletes fail like a store that is down."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.kind = inner.kind
        self.fail_put_after = None  # fail every put after this many succeeded
        self.fail_delete = False
        self.puts = 0

    async def put(self, key, data, content_type):
        if self.fail_put_after is not None and self.puts >= self.fail_put_after:
            raise StorageError("store unreachable")
        self.puts += 1
        await self.inner.put(key, data, content_type)

    async def delete(self, key):
        if self.fail_delete:
            raise StorageError("store unreachable")
        await self.inner.delete(key)

    def url(self, key):
        return self.inner.url(key)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
def flaky(app) -> FlakyStorage:
    storage = FlakyStorage(app.state.resources.get(Photos).storage)
    app.state.resources.get(Photos).storage = storage
    app.state.resources.get(Photos).janitor.storage = storage
    return storage


@pytest.fixture
async def lenient_client(app):
    """A client that gets the 500 response instead of the re-raised exception."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def stored_files(settings) -> list:
    return [p for p in settings.media_root.rglob("*") if p.is_file()]


async def test_a_failed_row_insert_leaves_no_file_and_no_row(lenient_client, member, db, settings, monkeypatch):
    async def broken_add(self, photo):
        raise ConnectionError("database went away")

    monkeypatch.setattr(PhotoRepository, "add", broken_add)
    response = await upload(lenient_client, member, jpeg_bytes())
    assert response.status_code == 500
    assert await db.fetchval("SELECT count(*) FROM profile_photos") == 0
    assert stored_files(settings) == []
    assert await db.fetchval("SELECT count(*) FROM media_deletions") == 0


async def test_a_store_failure_midway_is_503_and_removes_the_first_variant(client, member, db, settings, flaky):
    flaky.fail_put_after = 1  # the display variant is written, the thumbnail is not
    response = await upload(client, member, jpeg_bytes())
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    assert await db.fetchval("SELECT count(*) FROM profile_photos") == 0
    assert stored_files(settings) == []


async def test_a_successful_upload_leaves_no_pending_deletion(client, member, db):
    assert (await upload(client, member, jpeg_bytes())).status_code == 200
    assert await db.fetchval("SELECT count(*) FROM media_deletions") == 0


async def test_a_failed_storage_delete_is_queued_and_retried(client, app, member, db, settings, flaky):
    photo = (await upload(client, member, jpeg_bytes())).json()["photo"]
    flaky.fail_delete = True
    response = await client.delete(f"/api/v1/profile/photos/{photo['id']}", headers=member.headers)
    assert response.status_code == 200
    assert await db.fetchval("SELECT count(*) FROM profile_photos") == 0
    queued = await db.fetch("SELECT attempts, last_error FROM media_deletions")
    assert [(q["attempts"], "unreachable" in q["last_error"]) for q in queued] == [(1, True), (1, True)]
    assert len(stored_files(settings)) == 2  # still there, and still remembered

    flaky.fail_delete = False
    await db.execute("UPDATE media_deletions SET next_attempt_at = now()")  # back-off elapsed
    assert await app.state.resources.get(Photos).janitor.run_due() == 2
    assert await db.fetchval("SELECT count(*) FROM media_deletions") == 0
    assert stored_files(settings) == []


async def test_a_later_delete_retries_earlier_failures(client, member, db, settings, flaky):
    first, second = [(await upload(client, member, jpeg_bytes())).json()["photo"] for _ in range(2)]
    flaky.fail_delete = True
    await client.delete(f"/api/v1/profile/photos/{first['id']}", headers=member.headers)
    await db.execute("UPDATE media_deletions SET next_attempt_at = now()")
    flaky.fail_delete = False
    await client.delete(f"/api/v1/profile/photos/{second['id']}", headers=member.headers)
    assert await db.fetchval("SELECT count(*) FROM media_deletions") == 0
    assert stored_files(settings) == []


async def test_files_of_an_upload_that_died_before_its_row_are_collected(app, db, settings):
    janitor, storage = app.state.resources.get(Photos).janitor, app.state.resources.get(Photos).storage
    keys = [new_key("d"), new_key("t")]
    await janitor.guard(keys)
    for key in keys:
        await storage.put(key, b"\xff\xd8 half an upload", "image/jpeg")
    assert await janitor.run_due() == 0  # the guard is not due yet: the upload may still commit
    await db.execute("UPDATE media_deletions SET next_attempt_at = now()")
    assert await janitor.run_due() == 2
    assert stored_files(settings) == []


async def test_the_janitor_never_deletes_files_a_photo_still_uses(client, app, member, db, settings):
    photo = (await upload(client, member, jpeg_bytes())).json()["photo"]
    keys = list(await db.fetchrow("SELECT storage_key, thumbnail_key FROM profile_photos"))
    await app.state.resources.get(Photos).janitor.guard(keys)  # as if the guard release had been lost
    await db.execute("UPDATE media_deletions SET next_attempt_at = now()")
    assert await app.state.resources.get(Photos).janitor.run_due() == 2
    assert await db.fetchval("SELECT count(*) FROM media_deletions") == 0
    assert (await client.get(photo["url"])).status_code == 200


async def test_image_processing_runs_on_a_worker_thread_not_the_event_loop(client, member, monkeypatch):
    threads = []
    original = media_module.process_image

    def recording(data, max_pixels):
        threads.append(threading.current_thread())
        return original(data, max_pixels)

    monkeypatch.setattr(media_module, "process_image", recording)
    assert (await upload(client, member, jpeg_bytes())).status_code == 200
    assert len(threads) == 1
    assert threads[0] is not threading.main_thread()
    assert threads[0].name.startswith("media")
