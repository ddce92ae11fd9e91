"""Photo fixtures: images built in memory (with and without GPS EXIF), and an upload helper."""

from __future__ import annotations

import io
import struct
import zlib

import httpx
import pytest
from PIL import ExifTags, Image

from tests.factories import TestUser, make_member

GPS = {1: "N", 2: (40.0, 42.0, 46.0), 3: "W", 4: (74.0, 0.0, 21.0)}


def jpeg_bytes(
    size=(1600, 1200),
    color=(200, 40, 40),
    gps: bool = False,
    orientation: int | None = None,
    comment: bytes | None = None,
) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestPhone"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        exif[ExifTags.IFD.GPSInfo] = GPS
    out = io.BytesIO()
    extra = {"comment": comment} if comment else {}
    Image.new("RGB", size, color).save(out, "JPEG", exif=exif, quality=90, **extra)
    return out.getvalue()


def image_bytes(fmt: str, size=(800, 600), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (10, 120, 200, 128)[: len(mode)]).save(out, fmt)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels: a decompression bomb's calling card."""
    data = bytearray(image_bytes("PNG", (8, 8)))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(data)


async def upload(
    client: httpx.AsyncClient,
    user: TestUser,
    data: bytes,
    filename: str = "photo.jpg",
    content_type: str = "image/jpeg",
    **form,
) -> httpx.Response:
    fields = {k: ("true" if v is True else "false" if v is False else v) for k, v in form.items()}
    return await client.post(
        "/api/v1/profile/photos", headers=user.headers, data=fields, files={"photo": (filename, data, content_type)}
    )


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


@pytest.fixture
async def member(client, settings) -> TestUser:
    return await make_member(client, settings.sms_outbox)


@pytest.fixture
async def other(client, settings) -> TestUser:
    return await make_member(client, settings.sms_outbox)
