"""Where photo bytes live, behind one interface: `local` files or any S3-compatible store.

Keys are random (`secrets.token_urlsafe`), so a key never reveals its owner. Every URL handed to a
client expires: local URLs carry an HMAC signature checked by `GET /media/{key}`, S3 URLs are
presigned GETs. Blocking I/O (files, boto3) runs in threads so the event loop stays free.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import secrets
import time
from pathlib import Path
from typing import Protocol

from kit.settings import Settings

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,80}\.(jpg)$")


class StorageError(Exception):
    """The store did not confirm a write or a delete."""


def new_key(suffix: str) -> str:
    return f"{secrets.token_urlsafe(24)}{suffix}.jpg"


class MediaStorage(Protocol):
    kind: str

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def delete(self, key: str) -> None:
        """Remove the object; removing a missing object succeeds (deletes are retried)."""

    async def keys_older_than(self, age_s: float) -> list[str]:
        """Every stored key written more than `age_s` ago (the purge's orphan sweep)."""
        ...

    def url(self, key: str) -> str:
        """An absolute URL a client can GET until it expires."""

    async def close(self) -> None: ...


def _expiry_bucket(ttl_s: int, now: float | None = None) -> int:
    """An expiry rounded up to a fixed grid, so the same photo keeps the same URL for a while
    (client and CDN caches hit) while every URL still lives between ttl and ttl + step."""
    step = max(60, ttl_s // 8)
    now = time.time() if now is None else now
    return int((now + ttl_s) // step + 1) * step


class LocalStorage:
    """Files under `settings.media_root`, served by the app at `/media/{key}?exp=..&sig=..`."""

    kind = "local"

    def __init__(self, root: Path, base_url: str, secret: bytes, ttl_s: int) -> None:
        self.root = root
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.ttl_s = ttl_s
        root.mkdir(parents=True, exist_ok=True)

    def path_for(self, key: str) -> Path:
        if not KEY_PATTERN.match(key):
            raise StorageError(f"invalid key {key!r}")
        return self.root / key[:2] / key

    def _write(self, key: str, data: bytes) -> None:
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # readers never see half a file

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            await asyncio.to_thread(self._write, key, data)
        except OSError as exc:
            raise StorageError(f"could not write {key}: {exc}") from exc

    async def delete(self, key: str) -> None:
        try:
            await asyncio.to_thread(self.path_for(key).unlink, missing_ok=True)
        except OSError as exc:
            raise StorageError(f"could not delete {key}: {exc}") from exc

    def _keys_older_than(self, age_s: float) -> list[str]:
        cutoff = time.time() - age_s
        return [
            path.name
            for path in self.root.glob("*/*")
            if path.is_file() and KEY_PATTERN.match(path.name) and path.stat().st_mtime < cutoff
        ]

    async def keys_older_than(self, age_s: float) -> list[str]:
        try:
            return await asyncio.to_thread(self._keys_older_than, age_s)
        except OSError as exc:
            raise StorageError(f"could not list media: {exc}") from exc

    def signature(self, key: str, exp: int) -> str:
        return hmac.new(self.secret, f"{key}:{exp}".encode(), hashlib.sha256).hexdigest()[:32]

    def url(self, key: str) -> str:
        exp = _expiry_bucket(self.ttl_s)
        return f"{self.base_url}/media/{key}?exp={exp}&sig={self.signature(key, exp)}"

    def verified_path(self, key: str, exp: str, sig: str) -> Path | None:
        """The file behind a signed URL, or None when the URL is forged, expired or dangling."""
        if not KEY_PATTERN.match(key) or not exp.isdigit() or int(exp) < time.time():
            return None
        if not hmac.compare_digest(self.signature(key, int(exp)), sig):
            return None
        path = self.path_for(key)
        return path if path.is_file() else None

    async def close(self) -> None:
        return None


class S3Storage:
    """Any S3-compatible store (AWS, MinIO, R2). Credentials come from boto3's usual chain."""

    kind = "s3"

    def __init__(self, bucket: str, endpoint_url: str, region: str, ttl_s: int) -> None:
        import boto3
        from botocore.config import Config

        if not bucket:
            raise ValueError("MEDIA_BACKEND=s3 needs S3_BUCKET")
        self.bucket = bucket
        # SigV4 presigned URLs live at most 7 days.
        self.ttl_s = min(ttl_s, 7 * 24 * 3600)
        config = Config(
            signature_version="s3v4",
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
            max_pool_connections=20,
        )
        self.client = boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region, config=config)
        self._urls: dict[str, tuple[float, str]] = {}

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            await asyncio.to_thread(
                self.client.put_object,
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                CacheControl="private, max-age=86400",
            )
        except Exception as exc:  # botocore raises many unrelated types for network and HTTP errors
            raise StorageError(f"could not store {key}: {exc}") from exc

    async def delete(self, key: str) -> None:
        try:
            await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise StorageError(f"could not delete {key}: {exc}") from exc

    def _keys_older_than(self, age_s: float) -> list[str]:
        cutoff = time.time() - age_s
        keys = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            keys += [
                obj["Key"]
                for obj in page.get("Contents", ())
                if obj["LastModified"].timestamp() < cutoff and KEY_PATTERN.match(obj["Key"])
            ]
        return keys

    async def keys_older_than(self, age_s: float) -> list[str]:
        try:
            return await asyncio.to_thread(self._keys_older_than, age_s)
        except Exception as exc:  # botocore raises many unrelated types for network and HTTP errors
            raise StorageError(f"could not list media: {exc}") from exc

    def url(self, key: str) -> str:
        # Presigning is local (no request), but reusing a URL for half its life keeps it cacheable.
        now = time.time()
        cached = self._urls.get(key)
        if cached and cached[0] > now:
            return cached[1]
        url = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=self.ttl_s
        )
        if len(self._urls) > 50_000:
            self._urls.clear()
        self._urls[key] = (now + self.ttl_s / 2, url)
        return url

    async def close(self) -> None:
        await asyncio.to_thread(self.client.close)


def media_secret(settings: Settings) -> bytes:
    return hashlib.sha256(b"media-url:" + settings.jwt_secret.encode()).digest()


def make_storage(settings: Settings) -> MediaStorage:
    if settings.media_backend == "s3":
        return S3Storage(settings.s3_bucket, settings.s3_endpoint_url, settings.s3_region, settings.media_url_ttl_s)
    return LocalStorage(settings.media_root, settings.public_base_url, media_secret(settings), settings.media_url_ttl_s)
