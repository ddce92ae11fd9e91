"""Typed settings, read from environment variables (and an optional `.env`).

Every field is listed with its default and meaning in `.env.example`, which `python -m kit.env_example`
writes from the descriptions below. `APP_ENV=production` refuses unsafe defaults.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

import phonenumbers
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kit.addresses import IPNetwork, parse_networks

DEV_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    # Each description is one line of `.env.example` (python -m kit.env_example writes it).
    app_env: Literal["development", "test", "production"] = Field(
        "development", description="development, test or production (production refuses unsafe defaults)"
    )
    host: str = Field("127.0.0.1", description="Address to bind; anything but loopback needs APP_ENV=production")
    # Development mode (dev JWT secret, console SMS, fakes) on a real address only when asked for.
    allow_insecure_dev: bool = Field(
        False, description="true: development/test mode may bind a reachable HOST (never on a public address)"
    )
    port: int = Field(8000, ge=1, le=65535, description="Port to bind")
    data_dir: Path = Field(Path("var"), description="Embedded PostgreSQL/Redis, local media and the SMS outbox")
    log_level: str = Field("INFO", description="Python logging level")

    # Empty means "start the embedded server under data_dir" (make run) or fail (serve deploy).
    database_url: str = Field("", description="PostgreSQL (postgresql://user:pass@host:5432/db); empty: embedded")
    redis_url: str = Field("", description="Redis (redis://host:6379/0); empty: embedded")
    db_pool_size: int = Field(10, ge=1, le=200, description="Database connections per replica (overflow as many again)")
    request_timeout_s: float = Field(
        60.0, gt=0, description="HTTP requests only (websockets are exempt); 504 request_timeout past it"
    )

    jwt_secret: str = Field(DEV_JWT_SECRET, description="HS256 key for tokens: 32+ random characters in production")
    jwt_issuer: str = Field("dating-backend", description="Tokens' iss claim")
    jwt_audience: str = Field("dating-app", description="Tokens' aud claim")
    access_token_ttl_s: int = Field(24 * 3600, ge=60, description="Access token lifetime")
    refresh_token_ttl_s: int = Field(30 * 24 * 3600, ge=300, description="Refresh token lifetime")
    session_max_age_s: int = Field(
        90 * 24 * 3600,
        ge=60,
        description="Hard lifetime of a login whatever the rotations (401 session_expired past it)",
    )
    # Realtime sockets (docs/websocket.md): authenticate within ws_auth_timeout_s; every socket's
    # session is re-read from PostgreSQL at least every ws_session_recheck_s, and an acting frame
    # trusts a replica's last reading of it for at most ws_session_cache_s.
    ws_auth_timeout_s: float = Field(3.0, gt=0, description="A socket must authenticate within this (else 4401)")
    ws_session_recheck_s: float = Field(
        30.0, gt=0, le=60, description="A socket's session is re-read from PostgreSQL at least this often"
    )
    ws_session_cache_s: float = Field(
        5.0, ge=0, le=60, description="An acting frame trusts a replica's last reading of the session this long"
    )
    ws_max_sockets_per_user: int = Field(
        5, ge=1, description="Open sockets per account across replicas; the next one is refused (4429)"
    )
    ws_max_sockets_per_address: int = Field(
        200, ge=1, description="Open sockets per client address across replicas, unauthenticated ones included"
    )
    # Serve counts each in-flight request against the replica's max_ongoing_requests, which one
    # slow client must not fill.
    http_max_inflight_per_address: int = Field(
        64, ge=1, description="HTTP requests of one client address in flight on one replica (429 past it)"
    )
    otp_secret: str = Field("", description="HMAC key for stored OTP codes; empty: derived from JWT_SECRET")
    otp_ttl_s: int = Field(300, ge=30, description="Lifetime of a login code")
    otp_max_attempts: int = Field(5, ge=1, description="Wrong guesses per number and hour")

    sms_provider: Literal["console", "twilio"] = Field(
        "console", description="console (codes appended to SMS_OUTBOX) or twilio"
    )
    sms_outbox: Path | None = Field(
        None, description="Where the console provider appends codes; unset: DATA_DIR/sms_outbox.jsonl in development"
    )
    twilio_account_sid: str = Field("", description="Twilio account SID")
    twilio_auth_token: str = Field("", description="Twilio auth token")
    twilio_phone_number: str = Field("", description="Twilio sender number (E.164)")
    twilio_api_base: str = Field("", description="Tests only: a local fake of Twilio's HTTP API")

    stripe_secret_key: str = Field("", description="Stripe secret key; empty: a dev provider that activates at once")
    stripe_api_base: str = Field("", description="Tests only: a local fake of Stripe's HTTP API")
    stripe_webhook_secret: str = Field("", description="whsec_...: enables POST /api/v1/billing/webhook")

    rate_otp_per_hour: int = Field(3, ge=1, description="Codes texted per number and hour")
    otp_resend_cooldown_s: int = Field(60, ge=0, description="Seconds before the same number may get another code")
    rate_login_failures_per_hour: int = Field(
        5, ge=1, description="Failed verifications per client address and hour (IPv6: per /64)"
    )
    # SMS pumping: codes go only to mobile numbers of these regions (empty: every country, refused
    # in production), within hourly budgets.
    sms_allowed_countries: str = Field(
        "US,CA", description="Regions (comma-separated ISO codes) whose mobile numbers get codes; empty: every one"
    )
    rate_otp_per_ip_per_hour: int = Field(
        10, ge=1, description="Codes texted per client address and hour (IPv6: per /64)"
    )
    rate_otp_per_prefix_per_hour: int = Field(50, ge=1, description="Codes texted per block of 10,000 numbers and hour")
    rate_otp_global_per_hour: int = Field(1000, ge=1, description="Codes texted per hour by the whole service")
    rate_api_per_hour: int = Field(1000, ge=1, description="Authenticated requests per user and hour")
    rate_messages_per_minute: int = Field(60, ge=1, description="Chat messages per user and minute")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest JSON body in bytes (uploads: MEDIA_MAX_BYTES)")
    # The client is the rightmost hop that is not one of them (kit/addresses.py). Serve's replicas
    # get exactly their HAProxy (127.0.0.1) from serve_config.yaml.
    trusted_proxies: str = Field(
        "", description="Addresses/CIDRs (comma-separated) whose X-Forwarded-For is believed; empty: the TCP peer"
    )
    trust_forwarded_for: str | None = Field(None, exclude=True, repr=False)  # removed: refused below

    # Empty: http://HOST:PORT (127.0.0.1 for a wildcard HOST), so `PORT=18731 make run` hands out
    # URLs on the port it serves.
    public_base_url: str = Field("", description="Absolute photo URLs start with it; empty: http://HOST:PORT")
    media_backend: Literal["local", "s3"] = Field(
        "local", description="local (files under MEDIA_DIR, signed URLs) or s3"
    )
    media_dir: Path | None = Field(None, description="Local media root; unset: DATA_DIR/media")
    media_max_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="Largest photo upload in bytes")
    media_max_pixels: int = Field(50_000_000, ge=10_000, description="Largest decoded photo in pixels")
    media_max_photos: int = Field(6, ge=1, description="Photos per profile")
    media_url_ttl_s: int = Field(7 * 24 * 3600, ge=60, description="Lifetime of signed photo URLs")
    s3_bucket: str = Field("", description="S3 bucket (MEDIA_BACKEND=s3)")
    s3_endpoint_url: str = Field("", description="S3-compatible endpoint (MinIO, R2); empty: AWS")
    s3_region: str = Field("us-east-1", description="S3 region")

    free_daily_likes: int = Field(100, ge=0, description="Likes per rolling 24 h without a subscription")
    feed_grid_km: float = Field(1.0, gt=0, description="Locations snap to this grid before any distance (privacy)")
    feed_partitions: int = Field(
        2, ge=1, le=64, description="Ranker calls a large area is split into, spread over FeedRanker replicas"
    )
    feed_split_min_candidates: int = Field(
        50_000, ge=0, description="Areas with fewer profiles are scored in one call (0: always split)"
    )
    user_shards: int = Field(4, ge=1, description="UserShard count for in-process runs (Serve: serve_config.yaml)")
    match_shards: int = Field(4, ge=1, description="MatchShard count for in-process runs (Serve: serve_config.yaml)")
    message_max_chars: int = Field(2000, ge=1, description="Longest text message in characters")
    report_auto_hide_threshold: int = Field(
        3, ge=1, description="Distinct reporters who could have met someone within 24 h that hide the profile"
    )
    # Push notifications (deployments/push; README "Push notifications").
    push_provider: Literal["console", "native"] = Field(
        "console", description="console (pushes appended to PUSH_OUTBOX) or native (APNs for iOS, FCM for Android)"
    )
    push_outbox: Path | None = Field(
        None, description="Where the console provider appends pushes; unset: DATA_DIR/push_outbox.jsonl in development"
    )
    push_dispatch_interval_s: float = Field(
        1.0, ge=0, description="How often the push dispatcher looks for due notifications (0: no loop on this process)"
    )
    push_collapse_window_s: float = Field(
        2.0, ge=0, description="A notification waits this long for more events of its conversation to collapse into it"
    )
    push_concurrency: int = Field(32, ge=1, description="Pushes in flight per dispatcher")
    push_batch_size: int = Field(200, ge=1, description="Outbox rows a dispatcher claims per round")
    push_max_attempts: int = Field(5, ge=1, description="Sends of one notification before it is dropped (429/5xx)")
    push_retry_base_s: float = Field(2.0, gt=0, description="First retry delay; doubles with each attempt")
    apns_key_id: str = Field("", description="APNs auth key id (the .p8 key's 10-character id)")
    apns_team_id: str = Field("", description="Apple developer team id (the provider token's iss)")
    apns_key_path: Path | None = Field(None, description="The APNs .p8 signing key (ES256)")
    apns_topic: str = Field("", description="The iOS app's bundle id (apns-topic)")
    apns_use_sandbox: bool = Field(False, description="true: api.sandbox.push.apple.com (development builds)")
    apns_api_base: str = Field("", description="Tests only: a local fake of APNs (h2c)")
    fcm_project_id: str = Field("", description="Firebase project id (FCM HTTP v1)")
    fcm_credentials_path: Path | None = Field(
        None, description="Firebase service-account JSON key (its token_uri is where OAuth tokens come from)"
    )
    fcm_api_base: str = Field("", description="Tests only: a local fake of the FCM HTTP v1 API")
    # Per user and hour: feed pages served, so a few accounts cannot page through the user base;
    # location changes to another grid cell, so nobody can walk a grid of positions around someone
    # to pin their cell.
    rate_feed_pages_per_hour: int = Field(60, ge=1, description="Feed pages per user and hour")
    rate_location_updates_per_hour: int = Field(
        10, ge=1, description="Location changes to another grid cell per user and hour"
    )
    # Account lifecycle (deployments/account): deletion, erasure and the purge job.
    account_delete_login_max_age_s: int = Field(
        900, ge=60, description="DELETE /account needs a login (OTP) at most this old (403 recent_login_required)"
    )
    account_purge_delay_s: int = Field(
        86400, ge=0, description="A deleted account is erased this long after deletion (logging in before restores it)"
    )
    report_retention_days: int = Field(
        365, ge=1, description="Reports naming an erased account (ids, evidence, phone HMAC) are kept this long"
    )
    inactivity_purge_days: int = Field(730, ge=1, description="Accounts inactive this long are erased")
    inactivity_warning_days: int = Field(
        30, ge=1, description="The SMS warning goes out this long before an inactive account is erased"
    )
    ended_match_retention_days: int | None = Field(
        None, ge=1, description="Messages of matches ended this long ago are erased; unset: kept"
    )
    purge_interval_s: float = Field(
        3600.0, ge=0, description="How often the app's purge loop runs (0: never; run `deployments.cli purge`)"
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        parse_networks(value)  # a typo must stop the start, not silently trust nothing
        return value

    @field_validator("trust_forwarded_for")
    @classmethod
    def _no_trust_forwarded_for(cls, value: str | None) -> None:
        # extra="ignore" would drop it silently, and the operator would think a proxy is trusted.
        if value is not None:
            raise ValueError(
                "TRUST_FORWARDED_FOR was removed: list your proxies' addresses in "
                "TRUSTED_PROXIES (CIDRs) instead; X-Forwarded-For is only believed from them"
            )
        return None

    @field_validator("public_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("sms_allowed_countries")
    @classmethod
    def _known_regions(cls, value: str) -> str:
        regions = [r.strip().upper() for r in value.split(",") if r.strip()]
        unknown = [r for r in regions if r not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:  # a typo such as UK (for GB) would silently refuse a whole country
            raise ValueError(
                f"SMS_ALLOWED_COUNTRIES has unknown region codes {', '.join(unknown)} "
                "(use ISO 3166 codes, e.g. US,CA,GB)"
            )
        return ",".join(regions)

    @model_validator(mode="after")
    def _production_is_safe(self) -> Settings:
        if self.app_env != "production":
            return self
        problems = []
        if not self.jwt_secret or self.jwt_secret == DEV_JWT_SECRET or len(self.jwt_secret) < 32:
            problems.append("JWT_SECRET must be set to a random value of 32+ characters")
        if self.sms_provider == "console":
            problems.append("SMS_PROVIDER=console would not deliver codes; use twilio")
        if not self.database_url or not self.redis_url:
            problems.append("DATABASE_URL and REDIS_URL are required")
        if not self.stripe_secret_key:
            problems.append("STRIPE_SECRET_KEY is required (the fake billing provider grants premium for free)")
        if not self.stripe_webhook_secret:
            problems.append("STRIPE_WEBHOOK_SECRET is required (without it renewals and cancellations are never seen)")
        if self.push_provider == "console":
            problems.append("PUSH_PROVIDER=console would not notify anyone; use native with the APNS_* and FCM_* keys")
        elif self.push_missing:
            problems.append("PUSH_PROVIDER=native needs " + ", ".join(self.push_missing))
        if not self.sms_allowed_countries:
            problems.append(
                "SMS_ALLOWED_COUNTRIES must name the countries codes are texted to (e.g. US,CA); "
                "empty would text any country's numbers, the way SMS-pumping fraud bills you"
            )
        if problems:
            raise ValueError("APP_ENV=production refuses to start: " + "; ".join(problems))
        return self

    @model_validator(mode="after")
    def _dev_stays_on_loopback(self) -> Settings:
        if self.app_env != "production" and not self.allow_insecure_dev and not is_loopback(self.host):
            raise ValueError(insecure_bind_message(self.host, self.app_env))
        return self

    @model_validator(mode="after")
    def _public_base_url_follows_bind(self) -> Settings:
        if not self.public_base_url:
            self.public_base_url = f"http://{url_host(self.host)}:{self.port}"
        return self

    @model_validator(mode="after")
    def _dev_outbox(self) -> Settings:
        # With the console provider a developer reads codes from this file instead of a phone.
        if self.sms_outbox is None and self.app_env == "development" and self.sms_provider == "console":
            self.sms_outbox = self.data_dir / "sms_outbox.jsonl"
        return self

    @model_validator(mode="after")
    def _dev_push_outbox(self) -> Settings:
        if self.push_outbox is None and self.app_env == "development" and self.push_provider == "console":
            self.push_outbox = self.data_dir / "push_outbox.jsonl"
        return self

    @property
    def push_missing(self) -> list[str]:
        """The settings PUSH_PROVIDER=native lacks."""
        needed = (
            "apns_key_id",
            "apns_team_id",
            "apns_key_path",
            "apns_topic",
            "fcm_project_id",
            "fcm_credentials_path",
        )
        return [name.upper() for name in needed if not getattr(self, name)]

    @property
    def sms_countries(self) -> frozenset[str]:
        """Regions whose numbers may be texted a code; empty means every country."""
        return frozenset(filter(None, self.sms_allowed_countries.split(",")))

    @property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.trusted_proxies)

    @property
    def otp_key(self) -> bytes:
        return (self.otp_secret or ("otp:" + self.jwt_secret)).encode()

    @property
    def media_root(self) -> Path:
        return self.media_dir or (self.data_dir / "media")


def is_loopback(host: str) -> bool:
    """True only for addresses no other machine can reach (0.0.0.0 and hostnames are not)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def url_host(host: str) -> str:
    """HOST as it goes into a URL: a wildcard bind address is reached on loopback, IPv6 in brackets."""
    host = host.strip().strip("[]")
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def insecure_bind_message(host: str, app_env: str) -> str:
    return (
        f"HOST={host} is reachable from other machines but APP_ENV={app_env} runs with development "
        "defaults; set APP_ENV=production (with its required secrets) or ALLOW_INSECURE_DEV=1 to accept the risk"
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
