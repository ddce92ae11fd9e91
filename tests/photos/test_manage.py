"""Deleting, reordering and choosing the primary photo; signed media URLs."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

from deployments.photos.lifecycle import Photos
from tests.photos.conftest import jpeg_bytes, upload


async def three_photos(client, user) -> list[dict]:
    return [
        (await upload(client, user, jpeg_bytes(size=(400, 300), color=(i * 60, 10, 10)))).json()["photo"]
        for i in range(3)
    ]


async def rows(db, user) -> list[tuple]:
    return [
        tuple(r)
        for r in await db.fetch(
            "SELECT id::text, is_primary, order_index FROM profile_photos WHERE user_id = $1 ORDER BY order_index",
            user.id,
        )
    ]


def stored_files(settings) -> set[str]:
    return {p.name for p in settings.media_root.rglob("*.jpg")}


async def test_delete_removes_the_row_and_both_stored_files(client, member, db, settings):
    photos = await three_photos(client, member)
    before = stored_files(settings)
    response = await client.delete(f"/api/v1/profile/photos/{photos[1]['id']}", headers=member.headers)
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Photo deleted successfully"}
    assert [r[0] for r in await rows(db, member)] == [photos[0]["id"], photos[2]["id"]]
    assert len(before - stored_files(settings)) == 2
    assert (await client.get(photos[1]["url"])).status_code == 404
    assert await db.fetchval("SELECT count(*) FROM media_deletions") == 0


async def test_someone_elses_photo_cannot_be_deleted_and_is_a_404(client, member, other, db, settings):
    photo = (await upload(client, member, jpeg_bytes())).json()["photo"]
    response = await client.delete(f"/api/v1/profile/photos/{photo['id']}", headers=other.headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "photo_not_found"
    assert len(await rows(db, member)) == 1
    assert (await client.get(photo["url"])).status_code == 200


async def test_deleting_the_primary_promotes_the_next_and_keeps_order_dense(client, member, db):
    photos = await three_photos(client, member)
    assert (await client.delete(f"/api/v1/profile/photos/{photos[0]['id']}", headers=member.headers)).status_code == 200
    assert await rows(db, member) == [(photos[1]["id"], True, 0), (photos[2]["id"], False, 1)]


async def test_uploading_with_is_primary_moves_the_primary(client, member, db):
    first = (await upload(client, member, jpeg_bytes())).json()["photo"]
    second = (await upload(client, member, jpeg_bytes(), is_primary=True)).json()["photo"]
    third = (await upload(client, member, jpeg_bytes(), is_primary=False)).json()["photo"]
    assert (second["is_primary"], third["is_primary"]) == (True, False)
    assert await rows(db, member) == [(first["id"], False, 0), (second["id"], True, 1), (third["id"], False, 2)]


async def test_set_primary_keeps_exactly_one_primary(client, member, other, db):
    photos = await three_photos(client, member)
    response = await client.put(f"/api/v1/profile/photos/{photos[2]['id']}/primary", headers=member.headers)
    assert response.status_code == 200
    assert [p["is_primary"] for p in response.json()["photos"]] == [False, False, True]
    assert [r[1] for r in await rows(db, member)] == [False, False, True]
    foreign = await client.put(f"/api/v1/profile/photos/{photos[0]['id']}/primary", headers=other.headers)
    assert foreign.status_code == 404


async def test_reorder_sets_the_new_order(client, member, db):
    photos = await three_photos(client, member)
    wanted = [photos[2]["id"], photos[0]["id"], photos[1]["id"]]
    response = await client.put("/api/v1/profile/photos/order", json={"photo_ids": wanted}, headers=member.headers)
    assert response.status_code == 200, response.text
    assert [p["id"] for p in response.json()["photos"]] == wanted
    assert [(r[0], r[2]) for r in await rows(db, member)] == [(pid, i) for i, pid in enumerate(wanted)]
    me = (await client.get("/api/v1/profile/me", headers=member.headers)).json()["profile"]
    assert [p["id"] for p in me["photos"]] == wanted


async def test_reorder_must_list_every_photo_once(client, member):
    photos = await three_photos(client, member)
    ids = [p["id"] for p in photos]
    for body in ({"photo_ids": ids[:2]}, {"photo_ids": [ids[0], ids[0], ids[1], ids[2]]}):
        response = await client.put("/api/v1/profile/photos/order", json=body, headers=member.headers)
        assert response.status_code == 422, body
    unknown = await client.put(
        "/api/v1/profile/photos/order", json={"photo_ids": [*ids, "extra"]}, headers=member.headers
    )
    assert unknown.status_code == 422


async def test_reorder_with_someone_elses_photo_is_404(client, member, other):
    mine = await three_photos(client, member)
    theirs = (await upload(client, other, jpeg_bytes())).json()["photo"]
    body = {"photo_ids": [theirs["id"], *[p["id"] for p in mine[1:]]]}
    response = await client.put("/api/v1/profile/photos/order", json=body, headers=member.headers)
    assert response.status_code == 404


async def test_list_photos_shows_both_variants_in_order(client, member):
    photos = await three_photos(client, member)
    listed = (await client.get("/api/v1/profile/photos", headers=member.headers)).json()["photos"]
    assert [p["id"] for p in listed] == [p["id"] for p in photos]
    assert all(p["thumbnail_url"].startswith("http://test/media/") for p in listed)


def with_query(url: str, **changes) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return f"{parts.scheme}://{parts.netloc}{parts.path}?" + "&".join(f"{k}={v}" for k, v in query.items() if v)


async def test_media_urls_need_a_valid_unexpired_signature(client, member):
    url = (await upload(client, member, jpeg_bytes())).json()["photo"]["url"]
    assert (await client.get(url)).status_code == 200
    exp = int(parse_qs(urlsplit(url).query)["exp"][0])
    assert (await client.get(with_query(url, sig="0" * 32))).status_code == 404
    assert (await client.get(with_query(url, exp=str(exp + 1)))).status_code == 404
    assert (await client.get(with_query(url, sig=""))).status_code == 404
    assert (await client.get(url.split("?")[0])).status_code == 404


async def test_an_expired_signed_url_is_404(client, member, app):
    key = (await upload(client, member, jpeg_bytes())).json()["photo"]["url"].split("/media/")[1].split("?")[0]
    storage = app.state.resources.get(Photos).storage
    past = int(time.time()) - 10
    expired = f"http://test/media/{key}?exp={past}&sig={storage.signature(key, past)}"
    assert (await client.get(expired)).status_code == 404


async def test_media_keys_cannot_escape_the_media_directory(client):
    for path in ("/media/..%2F..%2Fetc%2Fpasswd", "/media/../sms.jsonl", "/media/%2e%2e"):
        assert (await client.get(path + "?exp=9999999999&sig=x")).status_code == 404
