"""Request and response bodies of /api/v1/auth, exactly the API design's shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# E.164: "+", a country code and the national number, digits only (at most 15).
E164 = r"^\+[1-9]\d{6,14}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _phone() -> Any:
    return Field(
        pattern=E164, description="E.164: `+`, country code and number, digits only", examples=["+14155550123"]
    )


class SendOtpRequest(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"phone_number": "+14155550123"}]})

    phone_number: str = _phone()


class SendOtpResponse(BaseModel):
    success: bool = True
    message: str = "OTP sent successfully"
    expires_in: int = Field(examples=[300])


class VerifyOtpRequest(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"phone_number": "+14155550123", "otp": "123456"}]}
    )

    phone_number: str = _phone()
    otp: str = Field(pattern=r"^\d{6}$", examples=["123456"])
    device_name: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        pattern=r"\S",
        examples=["Ana's iPhone"],
        description="Shown in the list of sessions; the User-Agent when omitted",
    )


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


class SessionOut(BaseModel):
    """A login (device). Never the full client address: `network` is its /24 (IPv4) or /48 (IPv6)."""

    id: uuid.UUID
    device_name: str | None = Field(description="Given at verify-otp, else the login's User-Agent")
    network: str | None = Field(description="The login address's /24 or /48", examples=["203.0.113.0/24"])
    created_at: datetime
    last_used_at: datetime = Field(description="Login or last token refresh (not updated per request)")
    current: bool = Field(description="The session of the token making this request")


class SessionsResponse(BaseModel):
    success: bool = True
    sessions: list[SessionOut]


class LogoutAllResponse(BaseModel):
    success: bool = True
    message: str = "Logged out of every other session"
    revoked: int = Field(description="How many other sessions ended", examples=[2])


class ChangePhoneSendRequest(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"phone_number": "+14155550199"}]})

    phone_number: str = _phone()


class ChangePhoneRequest(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"phone_number": "+14155550199", "otp": "123456"}]}
    )

    phone_number: str = _phone()
    otp: str = Field(pattern=r"^\d{6}$", examples=["123456"])


class ChangePhoneResponse(BaseModel):
    success: bool = True
    message: str = "Phone number changed"
    user: UserOut
