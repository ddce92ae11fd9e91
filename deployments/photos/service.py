"""Photo rules: at most N photos, exactly one primary whenever there are photos, dense order,
and no stored object without a row (nor a row without its objects)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from deployments.photos.janitor import MediaJanitor
from deployments.photos.repository import DeletionRepository, PhotoRepository
from deployments.photos.schemas import PhotoDetail
from deployments.photos.storage import MediaStorage, StorageError, new_key
from kit.errors import AppError, Conflict, NotFound, ServiceUnavailable, Unprocessable, UnsupportedMedia
from kit.settings import Settings
from models import ProfilePhoto

_MEDIA_ERRORS: dict[str, type[AppError]] = {
    "unsupported_media_type": UnsupportedMedia,
    "too_many_pixels": Unprocessable,
    "invalid_image": Unprocessable,
}


def photo_url_function(storage: MediaStorage, base_url: str) -> Callable[[ProfilePhoto], str]:
    """A photo row -> absolute URL of its display variant (`deployments.photos.lifecycle.PhotoUrl`)."""

    def photo_url(photo: ProfilePhoto) -> str:
        # getattr: feeds and match lists may pass a SQL row with these columns rather than the ORM object
        key = getattr(photo, "storage_key", None)
        if key:
            return storage.url(key)
        path = photo.photo_url or ""
        if path.startswith(("http://", "https://")):
            return path
        return base_url.rstrip("/") + "/" + path.lstrip("/")

    return photo_url


@dataclass
class UploadOutcome:
    photo: PhotoDetail
    guard_ids: list[uuid.UUID] = field(default_factory=list)


class PhotoService:
    def __init__(
        self, repo: PhotoRepository, storage: MediaStorage, media: Any, janitor: MediaJanitor, settings: Settings
    ) -> None:
        self.repo = repo
        self.storage = storage
        self.media = media
        self.janitor = janitor
        self.settings = settings
        self.photo_url = photo_url_function(storage, settings.public_base_url)

    def detail(self, photo: ProfilePhoto) -> PhotoDetail:
        thumb = self.storage.url(photo.thumbnail_key) if photo.thumbnail_key else self.photo_url(photo)
        return PhotoDetail(
            id=photo.id,
            url=self.photo_url(photo),
            is_primary=photo.is_primary,
            thumbnail_url=thumb,
            order_index=photo.order_index,
            width=photo.width,
            height=photo.height,
        )

    async def of_user(self, user_id: uuid.UUID) -> list[PhotoDetail]:
        return [self.detail(p) for p in await self.repo.of_user(user_id)]

    async def _check_room(self, user_id: uuid.UUID) -> int:
        count = await self.repo.count(user_id)
        if count >= self.settings.media_max_photos:
            raise Conflict(
                f"A profile holds at most {self.settings.media_max_photos} photos; delete one first",
                code="too_many_photos",
            )
        return count

    async def _process(self, data: bytes) -> dict[str, Any]:
        try:
            result = await self.media.process.remote(data, self.settings.media_max_pixels)
        except Exception as exc:  # the media deployment is down or overloaded: the client may retry
            raise ServiceUnavailable("Photo processing is unavailable; try again shortly") from exc
        if not result.get("ok"):
            raise _MEDIA_ERRORS.get(result.get("error"), Unprocessable)(
                result.get("message", "Invalid image"), code=result.get("error")
            )
        return result

    async def upload(self, user_id: uuid.UUID, data: bytes, make_primary: bool) -> UploadOutcome:
        await self._check_room(user_id)  # cheap refusal before any CPU work
        result = await self._process(data)
        keys = [new_key("d"), new_key("t")]
        guard_ids = await self.janitor.guard(keys)
        try:
            photo = await self._store_and_insert(user_id, keys, result, make_primary)
        except BaseException:
            # Shielded: a cancelled request (client gone) must still remove what it stored.
            await asyncio.shield(self.janitor.discard(keys, guard_ids))
            raise
        return UploadOutcome(self.detail(photo), guard_ids)

    async def _store_and_insert(
        self, user_id: uuid.UUID, keys: list[str], result: dict[str, Any], make_primary: bool
    ) -> ProfilePhoto:
        await self.repo.lock_user(user_id)
        count = await self._check_room(user_id)  # again, under the lock: concurrent uploads
        try:
            await self.storage.put(keys[0], result["display"], result["content_type"])
            await self.storage.put(keys[1], result["thumbnail"], result["content_type"])
        except StorageError as exc:
            raise ServiceUnavailable("Photo storage is unavailable; try again shortly") from exc
        primary = make_primary or count == 0
        if primary:
            await self.repo.clear_primary(user_id)
        return await self.repo.add(
            ProfilePhoto(
                id=uuid.uuid4(),
                user_id=user_id,
                photo_url=f"/media/{keys[0]}",
                is_primary=primary,
                order_index=count,
                storage_key=keys[0],
                thumbnail_key=keys[1],
                width=result["width"],
                height=result["height"],
            )
        )

    async def _owned(self, user_id: uuid.UUID, photo_id: uuid.UUID) -> ProfilePhoto:
        photo = await self.repo.get_owned(user_id, photo_id)
        if photo is None:
            raise NotFound("Photo not found", code="photo_not_found")
        return photo

    async def delete(self, user_id: uuid.UUID, photo_id: uuid.UUID) -> None:
        """Row and queued object deletions commit together; the janitor then deletes the objects."""
        await self.repo.lock_user(user_id)
        photo = await self._owned(user_id, photo_id)
        keys = [k for k in (photo.storage_key, photo.thumbnail_key) if k]
        await self.repo.delete(photo.id)
        await self.repo.compact_order(user_id)
        await self.repo.promote_first_if_no_primary(user_id)
        if keys:
            await DeletionRepository(self.repo.session).enqueue(keys)
        self.repo.session.expire_all()

    async def set_primary(self, user_id: uuid.UUID, photo_id: uuid.UUID) -> list[PhotoDetail]:
        await self.repo.lock_user(user_id)
        photo = await self._owned(user_id, photo_id)
        if not photo.is_primary:
            await self.repo.clear_primary(user_id)
            await self.repo.set_primary(photo.id)
        self.repo.session.expire_all()
        return await self.of_user(user_id)

    async def reorder(self, user_id: uuid.UUID, photo_ids: list[uuid.UUID]) -> list[PhotoDetail]:
        await self.repo.lock_user(user_id)
        current = {p.id for p in await self.repo.of_user(user_id)}
        unknown = [i for i in photo_ids if i not in current]
        if unknown:
            raise NotFound(f"Photo not found: {unknown[0]}", code="photo_not_found")
        if len(set(photo_ids)) != len(photo_ids) or set(photo_ids) != current:
            raise Unprocessable("photo_ids must list each of your photos exactly once", code="invalid_order")
        await self.repo.set_order(user_id, photo_ids)
        self.repo.session.expire_all()
        return await self.of_user(user_id)
