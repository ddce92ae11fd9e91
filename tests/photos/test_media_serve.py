"""MediaProcessor as its own Ray Serve deployment, called through a handle as the gateway does."""

from __future__ import annotations

import pytest

from deployments.photos.processing import MediaProcessor
from tests.photos.conftest import jpeg_bytes, opened

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def media_handle(ray_cluster):
    from ray import serve

    # No HTTP proxy: handles only, and no fight over port 8000 with a Serve that is already running.
    serve.start(proxy_location="Disabled")
    handle = serve.run(
        serve.deployment(MediaProcessor, name="MediaProcessor").bind(), name="media-test", route_prefix=None
    )
    yield handle
    serve.delete("media-test")


async def test_the_deployment_returns_stripped_variants_through_a_handle(media_handle):
    result = await media_handle.process.remote(jpeg_bytes(size=(2400, 1800), gps=True, orientation=6), 50_000_000)
    assert result["ok"] is True
    display = opened(result["display"])
    assert display.size == (810, 1080)
    assert dict(display.getexif()) == {}


async def test_the_deployment_reports_refusals_as_plain_results(media_handle):
    result = await media_handle.process.remote(b"%PDF-1.4 not an image", 50_000_000)
    assert result == {
        "ok": False,
        "error": "unsupported_media_type",
        "message": "Only JPEG, PNG and WebP images are accepted",
    }
