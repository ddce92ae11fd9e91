"""Typed settings: production refuses unsafe defaults with a message that says what to fix."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kit.settings import Settings

SAFE = {"app_env": "production", "jwt_secret": "s" * 40, "sms_provider": "twilio",
        "database_url": "postgresql://db/app", "redis_url": "redis://cache:6379/0", "stripe_secret_key": "sk_live_x"}


def test_production_starts_with_real_secrets_and_providers():
    assert Settings(**SAFE).app_env == "production"


@pytest.mark.parametrize("change, words", [
    ({"jwt_secret": ""}, "JWT_SECRET"),
    ({"jwt_secret": Settings.model_fields["jwt_secret"].default}, "JWT_SECRET"),
    ({"sms_provider": "console"}, "SMS_PROVIDER"),
])
def test_production_refuses_unsafe_settings(change, words):
    with pytest.raises(ValidationError) as info:
        Settings(**{**SAFE, **change})
    assert words in str(info.value)


def test_settings_come_from_environment_variables(monkeypatch):
    monkeypatch.setenv("RATE_OTP_PER_HOUR", "7")
    monkeypatch.setenv("PORT", "9000")
    settings = Settings()
    assert settings.rate_otp_per_hour == 7 and settings.port == 9000


def test_a_bad_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("PORT", "not-a-port")
    with pytest.raises(ValidationError) as info:
        Settings()
    assert "port" in str(info.value).lower()
