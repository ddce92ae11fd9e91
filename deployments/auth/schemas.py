"""Request and response bodies of /api/v1/auth, exactly the API design's shapes."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


# E.164: "+", a country code and the national number, digits only (at most 15).
E164 = r"^\+[1-9]\d{6,14}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _phone() -> Any:
    return Field(pattern=E164, description="E.164: `+`, country code and number, digits only",
                 examples=["+14155550123"])


class SendOtpRequest(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"phone_number": "+14155550123"}]})

    phone_number: str = _phone()


class SendOtpResponse(BaseModel):
    success: bool = True
    message: str = "OTP sent successfully"
    expires_in: int = Field(examples=[300])


class VerifyOtpRequest(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"phone_number": "+14155550123", "otp": "123456"}]})

    phone_number: str = _phone()
    otp: str = Field(pattern=r"^\d{6}$", examples=["123456"])


class UserOut(BaseModel):
    id: uuid.UUID
    phone_number: str
    is_verified: bool


class VerifyOtpResponse(BaseModel):
    success: bool = True
    token: str
    refresh_token: str
    expires_in: int = Field(description="Seconds until the access token expires", examples=[86400])
    user: UserOut


class RefreshResponse(BaseModel):
    success: bool = True
    token: str
    refresh_token: str
    expires_in: int


class MessageResponse(BaseModel):
    success: bool = True
    message: str
