"""SMS providers behind one interface: `console` for development, `twilio` for real phones."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from kit.errors import ServiceUnavailable
from kit.security import mask_phone
from kit.settings import Settings

log = logging.getLogger("app.sms")


class SmsProvider(Protocol):
    async def send(self, to: str, body: str) -> None: ...


class ConsoleSms:
    """Logs a masked line; with SMS_OUTBOX set, appends the full message as a JSON line
    (the local developer's phone)."""

    def __init__(self, outbox: Path | None) -> None:
        self.outbox = outbox

    async def send(self, to: str, body: str) -> None:
        log.info("SMS to %s (console provider, %d chars)", mask_phone(to), len(body))
        if self.outbox is None:
            return
        line = json.dumps({"to": to, "body": body, "sent_at": datetime.now(UTC).isoformat()})
        await asyncio.to_thread(self._append, line)

    def _append(self, line: str) -> None:
        assert self.outbox is not None  # send() checked
        self.outbox.parent.mkdir(parents=True, exist_ok=True)
        with self.outbox.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")


class TwilioSms:
    """Sends through the official Twilio SDK. `api_base` points the SDK's HTTP client at
    another host (a local fake of Twilio's API in tests); production leaves it empty."""

    def __init__(self, account_sid: str, auth_token: str, from_number: str, api_base: str = "") -> None:
        from twilio.rest import Client

        self.from_number = from_number
        self.client = Client(account_sid, auth_token, http_client=_http_client(api_base))

    async def send(self, to: str, body: str) -> None:
        from twilio.base.exceptions import TwilioException

        try:
            await asyncio.to_thread(self.client.messages.create, to=to, from_=self.from_number, body=body)
        except TwilioException as exc:
            log.warning("Twilio refused SMS to %s: %s", mask_phone(to), exc)
            raise ServiceUnavailable("Could not send the SMS; try again shortly", code="sms_failed") from exc


def _http_client(api_base: str):
    from twilio.http.http_client import TwilioHttpClient

    if not api_base:
        return TwilioHttpClient()

    class RedirectingHttpClient(TwilioHttpClient):
        def request(self, method, url, *args, **kwargs):
            for host in ("https://api.twilio.com",):
                if url.startswith(host):
                    url = api_base.rstrip("/") + url[len(host) :]
            return super().request(method, url, *args, **kwargs)

    return RedirectingHttpClient()


def make_sms_provider(settings: Settings) -> SmsProvider:
    if settings.sms_provider == "twilio":
        missing = [
            n for n in ("twilio_account_sid", "twilio_auth_token", "twilio_phone_number") if not getattr(settings, n)
        ]
        if missing:
            raise ValueError("SMS_PROVIDER=twilio needs " + ", ".join(m.upper() for m in missing))
        return TwilioSms(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_phone_number,
            settings.twilio_api_base,
        )
    return ConsoleSms(settings.sms_outbox)
