"""Bodies of /api/v1/profile."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator

Gender = Literal["male", "female", "non_binary", "other"]
ShowMe = Literal["men", "women", "everyone"]
MAX_INTERESTS = 20
NOT_BLANK = r"\S"  # at least one character that is not whitespace
Interest = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=NOT_BLANK)]


def _json_integer(value: Any) -> Any:
    """What JSON Schema calls an integer: 3 and 3.0, never true or "3" (pydantic's lax int takes
    those, its strict int refuses 3.0)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer")
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _iso_date(value: Any) -> Any:
    """A `YYYY-MM-DD` string, as the schema says (pydantic would also take a number of seconds)."""
    if value is not None and not isinstance(value, str | date):
        raise ValueError("must be a date string YYYY-MM-DD")
    return value


JSON_INTEGER = BeforeValidator(_json_integer)  # after the bounds in Annotated[...], so the schema shows them
IsoDate = Annotated[date, BeforeValidator(_iso_date)]


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid")
    latitude: float = Field(ge=-90, le=90, strict=True, examples=[40.7128])
    longitude: float = Field(ge=-180, le=180, strict=True, examples=[-74.006])


class Preferences(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_distance: Annotated[int, Field(ge=1, le=500), JSON_INTEGER] | None = Field(
        None, description="km", examples=[50]
    )
    age_min: Annotated[int, Field(ge=18, le=100), JSON_INTEGER] | None = Field(None, examples=[25])
    age_max: Annotated[int, Field(ge=18, le=100), JSON_INTEGER] | None = Field(None, examples=[35])
    show_me: ShowMe | None = Field(None, examples=["women"])


class ProfileUpdate(BaseModel):
    """Partial update: omitted fields keep their value. Unknown fields are refused."""

    # Python's regular expressions: `\S` means what str.strip() keeps, the rule the validators apply.
    model_config = ConfigDict(
        extra="forbid",
        regex_engine="python-re",
        json_schema_extra={
            "examples": [
                {
                    "first_name": "John",
                    "last_name": "Doe",
                    "birth_date": "1995-05-15",
                    "gender": "male",
                    "bio": "Software developer",
                    "location": {"latitude": 40.7128, "longitude": -74.006},
                    "preferences": {"max_distance": 50, "age_min": 25, "age_max": 35, "show_me": "women"},
                    "interests": ["technology", "travel", "music"],
                },
                {"discoverable": False},
            ]
        },
    )

    first_name: str | None = Field(None, min_length=1, max_length=50, pattern=NOT_BLANK)
    last_name: str | None = Field(None, min_length=1, max_length=50, pattern=NOT_BLANK)
    birth_date: IsoDate | None = Field(
        None, description="At least 18 years ago, at most 120 (422 `invalid_birth_date`)"
    )
    gender: Gender | None = None
    bio: str | None = Field(None, max_length=500, pattern=NOT_BLANK)
    location: Location | None = None
    location_name: str | None = Field(None, max_length=255, pattern=NOT_BLANK)
    preferences: Preferences | None = Field(
        None,
        description="age_min above age_max, the stored one counting for an omitted one, is a 422 `invalid_age_range`",
    )
    interests: list[Interest] | None = Field(None, max_length=MAX_INTERESTS)
    discoverable: bool | None = Field(
        None,
        strict=True,
        description="false pauses the profile: out of feeds and likes-you, matches and chats stay; true: back",
    )

    @field_validator("first_name", "last_name", "bio", "location_name")
    @classmethod
    def _trim(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value

    @field_validator("interests")
    @classmethod
    def _interests(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        cleaned: list[str] = []
        for item in value:
            name = " ".join(item.split()).lower()  # never longer than the item, never empty (NOT_BLANK)
            if name not in cleaned:
                cleaned.append(name)
        return cleaned


class PhotoOut(BaseModel):
    id: uuid.UUID
    url: str
    is_primary: bool


class PreferencesOut(BaseModel):
    max_distance: int
    age_min: int
    age_max: int
    show_me: ShowMe


class ProfileOut(BaseModel):
    id: uuid.UUID
    first_name: str | None = None
    last_name: str | None = None
    birth_date: date | None = None
    age: int | None = None
    gender: Gender | None = None
    bio: str | None = None
    location: Location | None = None
    location_name: str | None = None
    preferences: PreferencesOut
    photos: list[PhotoOut] = []
    interests: list[str] = []
    is_complete: bool = Field(description="Has name, birth date, gender and location: required to appear in feeds")
    discoverable: bool = Field(True, description="false while paused: out of feeds and likes-you")


class ProfileResponse(BaseModel):
    success: bool = True
    profile: ProfileOut


class UpdateResponse(BaseModel):
    success: bool = True
    message: str = "Profile updated successfully"
    profile: ProfileOut
