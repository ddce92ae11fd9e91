"""Photos' part of a replica: the media store, the photo URL function that profiles, feeds and
match lists use (`PhotoUrl`), and the janitor that retries failed media deletions."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends

from deployments.photos.janitor import MediaJanitor
from deployments.photos.service import photo_url_function
from deployments.photos.storage import MediaStorage, make_storage
from kit.deps import part
from kit.resources import Resources

JANITOR_INTERVAL_S = 60.0


@dataclass
class Photos:
    storage: MediaStorage
    janitor: MediaJanitor
    photo_url: Callable[[Any], str]  # a photo row -> absolute URL of its display variant
    janitor_task: asyncio.Task | None = None


async def _janitor_loop(janitor: MediaJanitor) -> None:
    await asyncio.sleep(JANITOR_INTERVAL_S)  # start-up is busy enough; the first round can wait
    await janitor.run_forever(JANITOR_INTERVAL_S)


async def on_startup(resources: Resources) -> None:
    storage = make_storage(resources.settings)
    janitor = MediaJanitor(resources.sessionmaker, storage)
    photos = resources.add(Photos(storage, janitor, photo_url_function(storage, resources.settings.public_base_url)))
    photos.janitor_task = asyncio.create_task(_janitor_loop(janitor), name="media-janitor")


async def on_shutdown(resources: Resources) -> None:
    photos = resources.get(Photos)
    if photos.janitor_task is not None:
        photos.janitor_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await photos.janitor_task
    await photos.storage.close()


PhotoParts = Annotated[Photos, Depends(part(Photos))]


async def _photo_url(photos: PhotoParts) -> Callable[[Any], str]:
    return photos.photo_url


PhotoUrl = Annotated[Callable[[Any], str], Depends(_photo_url)]
