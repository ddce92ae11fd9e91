"""Which numbers the app texts a code to: valid, able to receive SMS, in an allowed country.

SMS pumping (toll fraud) earns money for whoever owns the number texted, so a public OTP endpoint
must not text numbers that pay out: these rules come before any budget, database or provider call,
and depend on the number alone (never on whether it has an account).
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType

from kit.errors import Unprocessable

# Numbers a person carries. Everything else is refused: landlines cannot read an SMS; premium-rate,
# shared-cost, toll-free, UAN and personal ("follow-me") numbers are where pumping revenue lands;
# VoIP numbers are disposable (account farms) and pagers/voicemail cannot answer.
TEXTABLE = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
BLOCK_DIGITS = 4  # a prefix leaves the last 4 digits free: one block of 10,000 numbers


@dataclass(frozen=True)
class Phone:
    e164: str
    prefix: str  # country code + national number without its last BLOCK_DIGITS digits


def parse_phone(raw: str) -> phonenumbers.PhoneNumber:
    """A valid number in international format, or a 422. Numbers without a country code are not guessed at."""
    try:
        number = phonenumbers.parse(raw.strip(), None)
    except phonenumbers.NumberParseException as exc:
        raise Unprocessable(
            "phone_number must be a valid number in international format, e.g. +14155550123",
            code="invalid_phone_number",
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise Unprocessable("phone_number is not a valid phone number", code="invalid_phone_number")
    return number


def normalize_phone(raw: str) -> str:
    """E.164 or a 422 (any valid number: operator tools name existing accounts)."""
    return phonenumbers.format_number(parse_phone(raw), phonenumbers.PhoneNumberFormat.E164)


class PhonePolicy:
    """The numbers login codes go to. `countries` empty means every country."""

    def __init__(self, countries: frozenset[str]) -> None:
        self.countries = countries

    def check(self, raw: str) -> Phone:
        number = parse_phone(raw)
        if phonenumbers.number_type(number) not in TEXTABLE:
            raise Unprocessable(
                "Login codes are sent only to mobile numbers; this number cannot receive one",
                code="phone_number_not_supported",
            )
        if self.countries and phonenumbers.region_code_for_number(number) not in self.countries:
            raise Unprocessable(
                "Login codes are not sent to numbers of this country", code="phone_country_not_supported"
            )
        national = str(number.national_number)
        block = national[: max(1, len(national) - BLOCK_DIGITS)]
        return Phone(
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), f"+{number.country_code}{block}"
        )
