"""Photos: uploads/s of a 12-megapixel JPEG, and the p99 of GET /api/v1/profile/me while uploads
are being processed compared with its p99 without them (goal: within 2x).

Same app, same data, one run: first /me alone, then /me with uploaders running next to it.
Usage:
  make bench BENCH_ARGS="photos [--stack uvicorn|serve|both] [--duration 15] [--uploaders 2] [--connections 8]"
"""

from __future__ import annotations

import argparse
import io
import threading
import time

import numpy as np
from PIL import ExifTags, Image

import bench.common as common
from bench.common import Table, http_json, infra, login, serve_app, uvicorn_app
from bench.loadgen import run_load

# Its own data directory: `infra()` starts from an empty BENCH_DIR, which must not be another
# scenario's (or another person's) running database.
common.BENCH_DIR = common.ROOT / "var" / "bench-photos"

PROFILE = {
    "first_name": "Bench",
    "birth_date": "1990-01-01",
    "gender": "female",
    "location": {"latitude": 52.52, "longitude": 13.405},
    "interests": ["photos"],
}
# Uploaders upload far more than 6 photos each; the per-user limit is not what is measured here.
EXTRA_ENV = {"MEDIA_MAX_PHOTOS": "1000000"}


def twelve_megapixel_jpeg() -> bytes:
    """4000 x 3000, a smooth picture with sensor-like noise and GPS EXIF (a few MB, like a phone photo)."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:3000, 0:4000].astype(np.float32)
    base = np.stack([x / 4000 * 255, y / 3000 * 255, (x + y) / 7000 * 255], axis=-1)
    pixels = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 18.0)}
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def _users(base: str, env, count: int, offset: int) -> list[str]:
    tokens = []
    for i in range(count):
        token = login(base, env, f"+1202556{offset + i:04d}")["token"]
        http_json("PUT", f"{base}/api/v1/profile/me", PROFILE, token)
        tokens.append(token)
    return tokens


def multipart_body(photo: bytes, boundary: str = "benchphotoboundary") -> tuple[bytes, str]:
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="big.jpg"\r\n'
        f"Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    return head + photo + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class Uploads:
    """Closed-loop uploads (one connection per uploader) from the pre-built-request load generator,
    in its own process (so the client costs little CPU), run from a thread while /me is measured."""

    def __init__(self, base: str, tokens: list[str], photo: bytes, duration: float) -> None:
        body, content_type = multipart_body(photo)
        self.kwargs = {
            "duration": duration,
            "connections": len(tokens),
            "method": "POST",
            "body": body,
            "headers_list": [{"Authorization": f"Bearer {t}", "Content-Type": content_type} for t in tokens],
        }
        self.url = f"{base}/api/v1/profile/photos"
        self.result = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.result = run_load(self.url, **self.kwargs)

    def __enter__(self) -> Uploads:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._thread.join(timeout=self.kwargs["duration"] + 180)

    @property
    def per_second(self) -> float:
        r = self.result
        return (r.requests - r.errors) / r.seconds if r and r.seconds else 0.0


def _measure(base: str, env, args, photo: bytes, offset: int) -> dict:
    readers = [{"Authorization": f"Bearer {t}"} for t in _users(base, env, 10, offset)]
    uploader_tokens = _users(base, env, args.uploaders, offset + 100)
    me = f"{base}/api/v1/profile/me"
    with Uploads(base, uploader_tokens[:1], photo, duration=3):  # warm-up: imports, pools, first decode
        run_load(me, duration=3, connections=args.connections, headers_list=readers)
    alone = run_load(me, duration=args.duration, connections=args.connections, headers_list=readers)
    with Uploads(base, uploader_tokens, photo, duration=args.duration + 4) as uploads:
        time.sleep(2)  # let the upload load reach its steady state first
        loaded = run_load(me, duration=args.duration, connections=args.connections, headers_list=readers)
    return {"alone": alone, "loaded": loaded, "uploads": uploads}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench photos")
    parser.add_argument("--stack", choices=["uvicorn", "serve", "both"], default="uvicorn")
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--uploaders", type=int, default=2, help="concurrent upload connections")
    parser.add_argument("--connections", type=int, default=8, help="concurrent GET /profile/me connections")
    args = parser.parse_args(argv)
    photo = twelve_megapixel_jpeg()
    print(f"    12 MP JPEG: {len(photo) / 1e6:.1f} MB", flush=True)
    table = Table(
        f"Photos: {args.uploaders} uploaders of a 12 MP JPEG, /profile/me on {args.connections} "
        f"connections, {args.duration:.0f} s per phase",
        [
            "stack",
            "uploads/s",
            "upload p50 ms",
            "me req/s alone",
            "me p99 alone ms",
            "me req/s w/ uploads",
            "me p99 w/ uploads ms",
            "p99 ratio (goal <= 2)",
            "errors",
        ],
    )
    stacks = ["uvicorn", "serve"] if args.stack == "both" else [args.stack]
    status = 0
    with infra() as env:
        for i, stack in enumerate(stacks):
            app = uvicorn_app(env, extra_env=EXTRA_ENV) if stack == "uvicorn" else serve_app(env, extra_env=EXTRA_ENV)
            with app as base:
                r = _measure(base, env, args, photo, offset=i * 1000)
            alone, loaded, uploads = r["alone"], r["loaded"], r["uploads"]
            ratio = loaded.pct(99) / alone.pct(99)
            status |= int(uploads.per_second == 0)
            label = (
                "bare uvicorn (MediaProcessor in-process, thread pool)"
                if stack == "uvicorn"
                else "Ray Serve (MediaProcessor deployment)"
            )
            upload_p50 = uploads.result.pct(50)
            table.add(
                label,
                uploads.per_second,
                upload_p50,
                alone.rps,
                alone.pct(99),
                loaded.rps,
                loaded.pct(99),
                f"{ratio:.2f}",
                f"me {alone.errors + loaded.errors}, uploads {uploads.result.errors}",
            )
    table.print()
    return status
