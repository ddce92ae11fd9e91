"""Auth's part of a replica: the SMS provider that texts login codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from deployments.auth.sms import SmsProvider, make_sms_provider
from kit.deps import part
from kit.resources import Resources


@dataclass
class AuthParts:
    sms: SmsProvider


async def on_startup(resources: Resources) -> None:
    resources.add(AuthParts(make_sms_provider(resources.settings)))


async def _sms(parts: Annotated[AuthParts, Depends(part(AuthParts))]) -> SmsProvider:
    return parts.sms


Sms = Annotated[SmsProvider, Depends(_sms)]
