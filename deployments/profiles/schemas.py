"""Bodies of /api/v1/profile."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Gender = Literal["male", "female", "non_binary", "other"]
ShowMe = Literal["men", "women", "everyone"]
MAX_INTERESTS = 20


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid")
    latitude: float = Field(ge=-90, le=90, examples=[40.7128])
    longitude: float = Field(ge=-180, le=180, examples=[-74.006])


class Preferences(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_distance: int | None = Field(None, ge=1, le=500, description="km", examples=[50])
    age_min: int | None = Field(None, ge=18, le=100, examples=[25])
    age_max: int | None = Field(None, ge=18, le=100, examples=[35])
    show_me: ShowMe | None = Field(None, examples=["women"])

    @model_validator(mode="after")
    def _range(self) -> "Preferences":
        if self.age_min is not None and self.age_max is not None and self.age_min > self.age_max:
            raise ValueError("age_min must not exceed age_max")
        return self


class ProfileUpdate(BaseModel):
    """Partial update: omitted fields keep their value. Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "first_name": "John", "last_name": "Doe", "birth_date": "1995-05-15", "gender": "male",
        "bio": "Software developer", "location": {"latitude": 40.7128, "longitude": -74.006},
        "preferences": {"max_distance": 50, "age_min": 25, "age_max": 35, "show_me": "women"},
        "interests": ["technology", "travel", "music"],
    }]})

    first_name: str | None = Field(None, min_length=1, max_length=50)
    last_name: str | None = Field(None, min_length=1, max_length=50)
    birth_date: date | None = None
    gender: Gender | None = None
    bio: str | None = Field(None, max_length=500)
    location: Location | None = None
    location_name: str | None = Field(None, max_length=255)
    preferences: Preferences | None = None
    interests: list[str] | None = Field(None, max_length=MAX_INTERESTS)

    @field_validator("first_name", "last_name", "bio", "location_name")
    @classmethod
    def _trim(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value

    @field_validator("birth_date")
    @classmethod
    def _adult(cls, value: date | None) -> date | None:
        if value is None:
            return None
        age = age_on(value, date.today())
        if age < 18:
            raise ValueError("you must be at least 18 years old")
        if age > 120:
            raise ValueError("birth_date is not plausible")
        return value

    @field_validator("interests")
    @classmethod
    def _interests(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        cleaned: list[str] = []
        for item in value:
            name = " ".join(item.split()).lower()
            if not 1 <= len(name) <= 50:
                raise ValueError("each interest must be 1 to 50 characters")
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


class ProfileResponse(BaseModel):
    success: bool = True
    profile: ProfileOut


class UpdateResponse(BaseModel):
    success: bool = True
    message: str = "Profile updated successfully"
    profile: ProfileOut
