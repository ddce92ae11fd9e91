"""The whole app through Ray Serve over real HTTP: gateway, FeedRanker and MediaProcessor
deployments and the shard actors, exactly as `serve_config.yaml` wires them."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.ray


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(ray_cluster, infra):
    from ray import serve

    from deployments.serve_app import build_app

    port = _free_port()
    serve.shutdown()  # another module may have started Serve without an HTTP proxy
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(build_app({"user_shards": 2, "match_shards": 2}), name="dating", route_prefix="/")
    yield f"http://127.0.0.1:{port}", infra[1] / "serve-sms.jsonl"
    serve.shutdown()


def _code(outbox: Path, phone: str) -> str:
    body = [json.loads(x)["body"] for x in outbox.read_text().splitlines() if json.loads(x)["to"] == phone][-1]
    return next(w for w in body.replace(".", " ").split() if w.isdigit() and len(w) == 6)


async def test_a_phone_login_and_profile_round_trip_through_ray_serve(served):
    base, outbox = served
    phone = "+12025550999"
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        assert (await http.get("/health")).json()["services"]["backends"] == "ray"
        assert (await http.post("/api/v1/auth/send-otp", json={"phone_number": phone})).status_code == 200
        verified = await http.post("/api/v1/auth/verify-otp", json={"phone_number": phone, "otp": _code(outbox, phone)})
        assert verified.status_code == 200
        headers = {"Authorization": f"Bearer {verified.json()['token']}"}
        put = await http.put("/api/v1/profile/me", headers=headers, json={
            "first_name": "Ray", "birth_date": "1990-02-02", "gender": "male",
            "location": {"latitude": 48.85, "longitude": 2.35}})
        assert put.status_code == 200
        me = await http.get("/api/v1/profile/me", headers=headers)
        assert me.json()["profile"]["first_name"] == "Ray" and me.json()["profile"]["is_complete"] is True
        feed = await http.get("/api/v1/matching/feed", headers=headers)
        assert feed.status_code == 200 and feed.json()["success"] is True
        missing = await http.get("/api/v1/nothing-here")
        assert missing.status_code == 404 and missing.json()["success"] is False
