"""/api/v1/profile/photos: upload, list, reorder, choose the primary, delete; and /media for local files."""

from __future__ import annotations

import time
import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, UploadFile
from fastapi.responses import FileResponse

from deployments.auth.dependencies import CurrentUser
from deployments.backends import AppBackends
from deployments.photos.lifecycle import PhotoParts
from deployments.photos.repository import PhotoRepository
from deployments.photos.schemas import DeleteResponse, PhotoListResponse, PhotoOrder, PhotoResponse
from deployments.photos.service import PhotoService
from deployments.photos.storage import LocalStorage
from kit.db import Session
from kit.deps import AppSettings
from kit.errors import NotFound, PayloadTooLarge, error_responses

photos = APIRouter(prefix="/api/v1/profile", tags=["photos"])
media = APIRouter(tags=["photos"])
router = APIRouter()


async def _service(session: Session, photos: PhotoParts, backends: AppBackends, settings: AppSettings) -> PhotoService:
    return PhotoService(PhotoRepository(session), photos.storage, backends.media, photos.janitor, settings)


Service = Annotated[PhotoService, Depends(_service)]


async def _read_limited(upload: UploadFile, max_bytes: int) -> bytes:
    # The middleware already capped the whole body; this is the file's own limit (the part is spooled to disk).
    if upload.size is not None and upload.size > max_bytes:
        raise PayloadTooLarge(f"Photos are limited to {max_bytes} bytes")
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"Photos are limited to {max_bytes} bytes")
    return data


@photos.post(
    "/photos",
    response_model=PhotoResponse,
    responses=error_responses(
        (409, "too_many_photos", "the profile already holds MEDIA_MAX_PHOTOS photos"),
        (413, "payload_too_large", "the file is over MEDIA_MAX_BYTES"),
        (415, "unsupported_media_type", "not a JPEG, PNG or WebP image"),
        (422, "too_many_pixels", "over MEDIA_MAX_PIXELS"),
        (422, "invalid_image", "not a decodable image"),
        (503, "service_unavailable", "image processing or storage unavailable; retry"),
    ),
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "examples": {
                        "primary": {
                            "summary": "A photo that becomes the primary one",
                            "value": {"photo": "<JPEG, PNG or WebP bytes>", "is_primary": True},
                        }
                    }
                }
            }
        }
    },
)
async def upload_photo(
    caller: CurrentUser,
    service: Service,
    photos: PhotoParts,
    settings: AppSettings,
    background: BackgroundTasks,
    photo: Annotated[UploadFile, File(description="JPEG, PNG or WebP, at most MEDIA_MAX_BYTES")],
    is_primary: Annotated[bool, Form(description="Make this the primary photo")] = False,
) -> PhotoResponse:
    """Upload a photo: decoded, oriented, stripped of all metadata, stored as display and thumbnail."""
    data = await _read_limited(photo, settings.media_max_bytes)
    outcome = await service.upload(caller.id, data, is_primary)
    # Runs after the unit of work has committed the row: the upload's keys stop being deletion candidates.
    background.add_task(photos.janitor.release, outcome.guard_ids)
    return PhotoResponse(photo=outcome.photo)


@photos.get("/photos", response_model=PhotoListResponse)
async def list_photos(caller: CurrentUser, service: Service) -> PhotoListResponse:
    """The caller's photos in display order."""
    return PhotoListResponse(photos=await service.of_user(caller.id))


@photos.put(
    "/photos/order",
    response_model=PhotoListResponse,
    responses=error_responses(
        (404, "photo_not_found", "an id is not one of the caller's photos"),
        (422, "invalid_order", "an id of the caller's photos is missing or repeated"),
    ),
)
async def reorder_photos(body: PhotoOrder, caller: CurrentUser, service: Service) -> PhotoListResponse:
    """Reorder the caller's photos: every photo id, once each, in the new order."""
    return PhotoListResponse(photos=await service.reorder(caller.id, body.photo_ids))


@photos.put(
    "/photos/{photo_id:uuid}/primary",
    response_model=PhotoListResponse,
    responses=error_responses(
        (404, "photo_not_found", "not one of the caller's photos"),
    ),
)
async def set_primary_photo(photo_id: uuid.UUID, caller: CurrentUser, service: Service) -> PhotoListResponse:
    """Make one of the caller's photos the primary photo."""
    return PhotoListResponse(photos=await service.set_primary(caller.id, photo_id))


@photos.delete(
    "/photos/{photo_id:uuid}",
    response_model=DeleteResponse,
    responses=error_responses(
        (404, "photo_not_found", "not one of the caller's photos"),
        (503, "service_unavailable", "storage unavailable; retry"),
    ),
)
async def delete_photo(
    photo_id: uuid.UUID, caller: CurrentUser, service: Service, photos: PhotoParts, background: BackgroundTasks
) -> DeleteResponse:
    """Delete one of the caller's photos; the next photo becomes primary if this one was."""
    await service.delete(caller.id, photo_id)
    # After the commit: delete the queued objects now (and retry any earlier failures).
    background.add_task(photos.janitor.run_due)
    return DeleteResponse()


@media.api_route("/media/{key}", methods=["GET", "HEAD"], include_in_schema=False)
async def media_file(key: str, photos: PhotoParts, exp: str = "", sig: str = "") -> FileResponse:
    """A locally stored photo, behind a signed, expiring URL (anything else: 404)."""
    storage = photos.storage
    path = storage.verified_path(key, exp, sig) if isinstance(storage, LocalStorage) else None
    if path is None:
        raise NotFound("No such media", code="media_not_found")
    max_age = max(0, int(exp) - int(time.time()))
    return FileResponse(
        path,
        media_type="image/jpeg",
        headers={"Cache-Control": f"private, max-age={max_age}, immutable", "X-Content-Type-Options": "nosniff"},
    )


router.include_router(photos)
router.include_router(media)
