"""Uploading photos: what is accepted, what is refused, and what is served back."""

from __future__ import annotations

import httpx
from PIL import ExifTags

from tests.photos.conftest import image_bytes, jpeg_bytes, opened, png_claiming, upload


async def fetch(client: httpx.AsyncClient, url: str) -> httpx.Response:
    assert url.startswith("http://test/media/"), url
    return await client.get(url)


def assert_no_metadata(data: bytes) -> None:
    image = opened(data)
    assert dict(image.getexif()) == {}
    assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert not {"exif", "xmp", "icc_profile", "comment"} & set(image.info)
    assert b"Exif\x00\x00" not in data and b"TestPhone" not in data and b"secret" not in data


async def test_upload_returns_the_contract_shape_with_an_absolute_fetchable_url(client, member):
    response = await upload(client, member, jpeg_bytes())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    photo = body["photo"]
    assert {"id", "url", "is_primary"} <= set(photo)
    assert photo["is_primary"] is True  # the first photo is the primary one
    served = await fetch(client, photo["url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert max(opened(served.content).size) == 1080


async def test_served_variants_of_a_gps_tagged_jpeg_carry_no_metadata(client, member):
    original = jpeg_bytes(gps=True, comment=b"secret note")
    assert opened(original).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the input really is located
    photo = (await upload(client, member, original)).json()["photo"]
    for url in (photo["url"], photo["thumbnail_url"]):
        served = await fetch(client, url)
        assert served.status_code == 200
        assert_no_metadata(served.content)


async def test_exif_orientation_is_applied_before_the_metadata_is_dropped(client, member):
    photo = (await upload(client, member, jpeg_bytes(size=(1600, 1200), orientation=6))).json()["photo"]
    display = opened((await fetch(client, photo["url"])).content)
    thumb = opened((await fetch(client, photo["thumbnail_url"])).content)
    assert display.size == (810, 1080)  # rotated to portrait
    assert thumb.size == (240, 320)
    assert (photo["width"], photo["height"]) == (810, 1080)


async def test_png_with_alpha_and_webp_are_accepted(client, member):
    png = await upload(client, member, image_bytes("PNG", mode="RGBA"), "a.png", "image/png")
    webp = await upload(client, member, image_bytes("WEBP"), "b.webp", "image/webp")
    assert png.status_code == 200, png.text
    assert webp.status_code == 200, webp.text
    assert opened((await fetch(client, webp.json()["photo"]["url"])).content).format == "JPEG"


async def test_a_text_file_named_jpg_is_415_and_leaves_nothing(client, member, db, settings):
    response = await upload(client, member, b"not an image at all\n" * 50, "holiday.jpg", "image/jpeg")
    assert response.status_code == 415
    assert response.json()["success"] is False
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert await db.fetchval("SELECT count(*) FROM profile_photos") == 0
    assert not [p for p in settings.media_root.rglob("*") if p.is_file()]


async def test_a_gif_is_refused_even_though_pillow_reads_it(client, member):
    response = await upload(client, member, image_bytes("GIF"), "x.gif", "image/gif")
    assert response.status_code == 415


async def test_a_pixel_bomb_is_422_without_decoding_it(client, member, db):
    response = await upload(client, member, png_claiming(100_000, 100_000), "bomb.png", "image/png")
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "too_many_pixels"
    assert await db.fetchval("SELECT count(*) FROM profile_photos") == 0


async def test_an_image_over_the_configured_pixel_limit_is_422(client, member):
    # 8000 x 8000 = 64 MP: under Pillow's own bomb threshold, over MEDIA_MAX_PIXELS (50 MP)
    response = await upload(client, member, png_claiming(8000, 8000), "big.png", "image/png")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "too_many_pixels"


async def test_a_body_over_the_limit_is_413(client, member, settings):
    too_big = b"\xff" * (settings.media_max_bytes + 200 * 1024)
    response = await upload(client, member, too_big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_a_streamed_body_without_content_length_is_cut_off_at_the_limit(client, member, settings):
    sent = 0

    async def chunks():
        nonlocal sent
        boundary_head = (
            b'--b\r\nContent-Disposition: form-data; name="photo"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        )
        yield boundary_head
        for _ in range(40):  # 40 MB offered
            sent += 1
            yield b"\x00" * (1024 * 1024)
        yield b"\r\n--b--\r\n"

    response = await client.post(
        "/api/v1/profile/photos",
        content=chunks(),
        headers={**member.headers, "content-type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 413
    assert "content-length" not in response.request.headers
    assert sent < 40  # the server stopped reading long before the end


async def test_a_file_just_over_the_photo_limit_is_413_even_within_the_body_slack(client, member, settings):
    response = await upload(client, member, b"\xff" * (settings.media_max_bytes + 1))
    assert response.status_code == 413


async def test_the_seventh_photo_is_409(client, member, settings, db):
    for _ in range(settings.media_max_photos):
        assert (await upload(client, member, jpeg_bytes(size=(400, 300)))).status_code == 200
    response = await upload(client, member, jpeg_bytes(size=(400, 300)))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "too_many_photos"
    assert await db.fetchval("SELECT count(*) FROM profile_photos") == settings.media_max_photos


async def test_concurrent_uploads_never_exceed_the_limit(client, member, settings, db):
    import asyncio

    for _ in range(settings.media_max_photos - 1):
        await upload(client, member, jpeg_bytes(size=(400, 300)))
    results = await asyncio.gather(*(upload(client, member, jpeg_bytes(size=(400, 300))) for _ in range(3)))
    assert sorted(r.status_code for r in results) == [200, 409, 409]
    assert await db.fetchval("SELECT count(*) FROM profile_photos") == settings.media_max_photos
    files = [p for p in settings.media_root.rglob("*.jpg")]
    assert len(files) == 2 * settings.media_max_photos  # the refused uploads left no files


async def test_upload_without_a_token_is_401(client):
    response = await client.post("/api/v1/profile/photos", files={"photo": ("a.jpg", jpeg_bytes(), "image/jpeg")})
    assert response.status_code == 401 and response.json()["error"]["code"] == "missing_token"


async def test_upload_with_a_forged_token_is_401_in_the_error_envelope(client):
    response = await client.post(
        "/api/v1/profile/photos",
        headers={"Authorization": "Bearer not.a.jwt"},
        files={"photo": ("a.jpg", jpeg_bytes(), "image/jpeg")},
    )
    assert response.status_code == 401
    assert response.json() == {
        "success": False,
        "error": {"code": "invalid_token", "message": "Uploads need a valid access token"},
    }


async def test_profile_me_lists_the_display_url(client, member):
    photo = (await upload(client, member, jpeg_bytes())).json()["photo"]
    me = (await client.get("/api/v1/profile/me", headers=member.headers)).json()["profile"]
    assert me["photos"] == [{"id": photo["id"], "url": photo["url"], "is_primary": True}]
    served = await fetch(client, me["photos"][0]["url"])
    assert max(opened(served.content).size) == 1080
