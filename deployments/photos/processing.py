"""MediaProcessor: decodes and re-encodes uploaded images off the gateway.

In production it is its own Ray Serve deployment (`MediaProcessor`, scaled separately); in
tests and bare uvicorn it runs in-process behind a `LocalHandle`. Either way the CPU work runs
on a small thread pool, never on an event loop, so the replica keeps answering while it decodes.

Results are plain dicts (never custom exceptions), so they cross a Ray boundary unchanged:
`{"ok": True, "display": bytes, "thumbnail": bytes, "width", "height", ...}` or
`{"ok": False, "error": "unsupported_media_type" | "too_many_pixels" | "invalid_image", "message"}`.
"""

from __future__ import annotations

import asyncio
import io
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}
DISPLAY_SIZE = 1080
THUMBNAIL_SIZE = 320
JPEG_QUALITY = 85
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _failure(error: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": error, "message": message}


def _open(data: bytes, max_pixels: int) -> Image.Image | dict[str, Any]:
    """Identify the image by its bytes (not its name or content type); refuse bombs before decoding."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=sorted(ACCEPTED_FORMATS))
    except Image.DecompressionBombError:
        return _failure("too_many_pixels", f"Image has more than {max_pixels} pixels")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return _failure("unsupported_media_type", "Only JPEG, PNG and WebP images are accepted")
    width, height = image.size
    if width * height > max_pixels:
        return _failure("too_many_pixels", f"Image has {width * height} pixels; the limit is {max_pixels}")
    if width < 1 or height < 1:
        return _failure("invalid_image", "Image has no pixels")
    return image


def _to_srgb(image: Image.Image) -> Image.Image:
    """Bring pixels to plain sRGB: colour profile applied (then dropped), alpha flattened on white."""
    icc = image.info.get("icc_profile")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, (255, 255, 255))
        image.paste(rgba, mask=rgba.getchannel("A"))
    elif image.mode != "RGB":
        image = image.convert("RGB")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            image = ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB") or image
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile is dropped; the pixels are still usable as sRGB
    return image


def _encode(image: Image.Image, longest_side: int) -> tuple[bytes, int, int]:
    variant = image.copy()
    variant.thumbnail((longest_side, longest_side), Image.Resampling.LANCZOS)
    # A fresh encode with an empty info dict and no exif/icc/comment arguments writes pixels only.
    variant.info = {}
    out = io.BytesIO()
    variant.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return out.getvalue(), variant.width, variant.height


def process_image(data: bytes, max_pixels: int) -> dict[str, Any]:
    """Decode, orient, strip every piece of metadata and produce the display and thumbnail JPEGs."""
    opened = _open(data, max_pixels)
    if isinstance(opened, dict):
        return opened
    source_format = opened.format
    try:
        if source_format == "JPEG":
            # DCT scaling: decode a 12 MP JPEG at 1/2..1/8 size when that still covers the display size.
            opened.draft("RGB", (DISPLAY_SIZE, DISPLAY_SIZE))
        opened.seek(0)  # animated WebP/APNG: the first frame
        opened.load()
        oriented = ImageOps.exif_transpose(opened)
        clean = _to_srgb(oriented)
        display, width, height = _encode(clean, DISPLAY_SIZE)
        thumbnail, _, _ = _encode(clean, THUMBNAIL_SIZE)
    except Image.DecompressionBombError:
        return _failure("too_many_pixels", f"Image has more than {max_pixels} pixels")
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        return _failure("invalid_image", f"Image could not be decoded: {type(exc).__name__}")
    return {
        "ok": True,
        "display": display,
        "thumbnail": thumbnail,
        "width": width,
        "height": height,
        "content_type": "image/jpeg",
        "source_format": source_format,
    }


class MediaProcessor:
    """CPU-bound image work. `workers` bounds how many images decode at once on this replica,
    so a burst of uploads cannot take every core from the requests served next to it."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or max(1, (os.cpu_count() or 2) // 2)
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="media")

    async def process(self, data: bytes, max_pixels: int) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, process_image, bytes(data), max_pixels)
