"""Per-replica resources of the photos domain: the media store, the photo URL function used by
profiles, feeds and match lists, and the janitor that retries failed media deletions."""

from __future__ import annotations

import asyncio
import contextlib

from deployments.profiles.photos_janitor import MediaJanitor
from deployments.profiles.photos_service import photo_url_function
from deployments.profiles.storage import make_storage

JANITOR_INTERVAL_S = 60.0


async def _janitor_loop(janitor: MediaJanitor) -> None:
    await asyncio.sleep(JANITOR_INTERVAL_S)  # start-up is busy enough; the first round can wait
    await janitor.run_forever(JANITOR_INTERVAL_S)


async def on_startup(app) -> None:
    settings = app.state.settings
    storage = make_storage(settings)
    app.state.media_storage = storage
    app.state.media_janitor = MediaJanitor(app.state.sessionmaker, storage)
    app.state.photo_url = photo_url_function(storage, settings.public_base_url)
    app.state.media_janitor_task = asyncio.create_task(_janitor_loop(app.state.media_janitor),
                                                       name="media-janitor")


async def on_shutdown(app) -> None:
    task = getattr(app.state, "media_janitor_task", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    storage = getattr(app.state, "media_storage", None)
    if storage is not None:
        await storage.close()
