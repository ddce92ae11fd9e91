"""Request and response bodies of /api/v1/auth, exactly the API design's shapes."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SendOtpRequest(Strict):
    phone_number: str = Field(min_length=4, max_length=32, examples=["+14155550123"])


class SendOtpResponse(BaseModel):
    success: bool = True
    message: str = "OTP sent successfully"
    expires_in: int = Field(examples=[300])


class VerifyOtpRequest(Strict):
    phone_number: str = Field(min_length=4, max_length=32, examples=["+14155550123"])
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
