"""Auth's part of a replica: the SMS provider that texts login codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from deployments.auth.repository import AuthRepository
from deployments.auth.service import OtpService
from deployments.auth.sms import SmsProvider, make_sms_provider
from kit.db import Session
from kit.deps import AppSettings, Limiter, part
from kit.resources import Resources


@dataclass
class AuthParts:
    sms: SmsProvider


async def on_startup(resources: Resources) -> None:
    resources.add(AuthParts(make_sms_provider(resources.settings)))


async def _sms(parts: Annotated[AuthParts, Depends(part(AuthParts))]) -> SmsProvider:
    return parts.sms


Sms = Annotated[SmsProvider, Depends(_sms)]


async def _otp(session: Session, settings: AppSettings, limiter: Limiter, sms: Sms) -> OtpService:
    return OtpService(AuthRepository(session), limiter, sms, settings)


# Texting and checking codes in the request's unit of work (login and phone change alike).
Otp = Annotated[OtpService, Depends(_otp)]
