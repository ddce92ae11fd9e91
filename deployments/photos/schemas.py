"""Bodies of /api/v1/profile/photos."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field


class PhotoDetail(BaseModel):
    id: uuid.UUID
    url: str = Field(description="Absolute, expiring URL of the display variant (longest side 1080 px)")
    is_primary: bool
    thumbnail_url: str = Field(description="Absolute, expiring URL of the 320 px thumbnail")
    order_index: int
    width: int | None = None
    height: int | None = None


class PhotoResponse(BaseModel):
    success: bool = True
    photo: PhotoDetail


class PhotoListResponse(BaseModel):
    success: bool = True
    photos: list[PhotoDetail]


class DeleteResponse(BaseModel):
    success: bool = True
    message: str = "Photo deleted successfully"


class PhotoOrder(BaseModel):
    """Every one of the caller's photo ids, once each, in the new order."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"photo_ids": ["6f1c2f0e-2b7a-4d0e-9d8e-2f8a0c7b9a11", "0b3e8f4a-5c1d-4e2f-8a9b-7c6d5e4f3a21"]}
            ]
        },
    )

    photo_ids: list[uuid.UUID] = Field(min_length=1, max_length=100)
