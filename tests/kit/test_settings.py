"""Typed settings: production refuses unsafe defaults with a message that says what to fix."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kit.settings import Settings

SAFE = {
    "app_env": "production",
    "jwt_secret": "s" * 40,
    "sms_provider": "twilio",
    "database_url": "postgresql://db/app",
    "redis_url": "redis://cache:6379/0",
    "stripe_secret_key": "sk_live_x",
    "stripe_webhook_secret": "whsec_x",
    "push_provider": "native",
    "apns_key_id": "ABC123DEFG",
    "apns_team_id": "DEF123GHIJ",
    "apns_key_path": "/etc/dating/AuthKey.p8",
    "apns_topic": "org.example.dating",
    "fcm_project_id": "dating-prod",
    "fcm_credentials_path": "/etc/dating/firebase.json",
}


def test_production_starts_with_real_secrets_and_providers():
    assert Settings(**SAFE).app_env == "production"


@pytest.mark.parametrize(
    "change, words",
    [
        ({"jwt_secret": ""}, "JWT_SECRET"),
        ({"jwt_secret": Settings.model_fields["jwt_secret"].default}, "JWT_SECRET"),
        ({"sms_provider": "console"}, "SMS_PROVIDER"),
        ({"stripe_webhook_secret": ""}, "STRIPE_WEBHOOK_SECRET"),
        ({"push_provider": "console"}, "PUSH_PROVIDER"),
        ({"apns_key_path": None}, "APNS_KEY_PATH"),
    ],
)
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


@pytest.fixture
def no_env_mode(monkeypatch):
    for name in ("APP_ENV", "ALLOW_INSECURE_DEV", "HOST"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "api.example.org"])
def test_development_refuses_a_reachable_host_and_names_both_ways_out(no_env_mode, host):
    no_env_mode.setenv("HOST", host)
    with pytest.raises(ValidationError) as info:
        Settings()
    assert "APP_ENV=production" in str(info.value) and "ALLOW_INSECURE_DEV=1" in str(info.value)


def test_test_mode_is_no_way_around_the_loopback_rule():
    with pytest.raises(ValidationError, match="ALLOW_INSECURE_DEV"):
        Settings(app_env="test", host="0.0.0.0")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.6.0.1", "::1", "localhost"])
def test_development_runs_on_loopback(no_env_mode, host):
    no_env_mode.setenv("HOST", host)
    assert Settings().app_env == "development"


def test_insecure_development_on_a_real_address_only_when_asked_for(no_env_mode):
    no_env_mode.setenv("HOST", "0.0.0.0")
    no_env_mode.setenv("ALLOW_INSECURE_DEV", "1")
    assert Settings().host == "0.0.0.0"


def test_production_may_bind_every_interface():
    assert Settings(**SAFE, host="0.0.0.0").host == "0.0.0.0"


def test_make_run_refuses_a_reachable_host_before_starting_anything(no_env_mode, capsys):
    from deployments import cli

    no_env_mode.setenv("HOST", "0.0.0.0")
    with pytest.raises(SystemExit) as info:
        cli.main(["run"])
    assert info.value.code == 2 and "ALLOW_INSECURE_DEV=1" in capsys.readouterr().err


def test_production_refuses_an_empty_sms_allow_list():
    with pytest.raises(ValidationError) as info:
        Settings(**{**SAFE, "sms_allowed_countries": ""})
    assert "SMS_ALLOWED_COUNTRIES" in str(info.value)


def test_the_sms_allow_list_is_a_comma_separated_list_of_region_codes(monkeypatch):
    monkeypatch.setenv("SMS_ALLOWED_COUNTRIES", " us, gb ")
    assert Settings().sms_countries == {"US", "GB"}


def test_an_unknown_region_code_in_the_sms_allow_list_is_named():
    with pytest.raises(ValidationError) as info:
        Settings(sms_allowed_countries="US,UK")
    assert "SMS_ALLOWED_COUNTRIES" in str(info.value) and "UK" in str(info.value)


@pytest.mark.parametrize(
    "env, url",
    [
        ({"PORT": "18731"}, "http://127.0.0.1:18731"),
        ({"HOST": "localhost", "PORT": "9000"}, "http://localhost:9000"),
        ({"HOST": "0.0.0.0", "ALLOW_INSECURE_DEV": "1"}, "http://127.0.0.1:8000"),
        ({"HOST": "::1", "PORT": "8080"}, "http://[::1]:8080"),
        ({"PORT": "18731", "PUBLIC_BASE_URL": "https://api.example.org/"}, "https://api.example.org"),
    ],
)
def test_public_base_url_follows_host_and_port_unless_set(monkeypatch, env, url):
    for name in ("HOST", "PORT", "PUBLIC_BASE_URL", "ALLOW_INSECURE_DEV"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert Settings(_env_file=None).public_base_url == url
