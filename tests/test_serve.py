"""The whole app through Ray Serve over real HTTP: gateway, FeedRanker and MediaProcessor
deployments and the shard actors, exactly as `serve_config.yaml` wires them; and what a
client sees when the gateway replica is killed mid-conversation."""

from __future__ import annotations

import asyncio
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
        # Shards are Ray actors and the ranker a Serve deployment here: /readyz reaches both.
        assert (await http.get("/readyz")).json() == {"success": True, "status": "ready"}
        assert (await http.post("/api/v1/auth/send-otp", json={"phone_number": phone})).status_code == 200
        verified = await http.post("/api/v1/auth/verify-otp", json={"phone_number": phone, "otp": _code(outbox, phone)})
        assert verified.status_code == 200
        headers = {"Authorization": f"Bearer {verified.json()['token']}"}
        put = await http.put(
            "/api/v1/profile/me",
            headers=headers,
            json={
                "first_name": "Ray",
                "birth_date": "1990-02-02",
                "gender": "male",
                "location": {"latitude": 48.85, "longitude": 2.35},
            },
        )
        assert put.status_code == 200
        me = await http.get("/api/v1/profile/me", headers=headers)
        assert me.json()["profile"]["first_name"] == "Ray" and me.json()["profile"]["is_complete"] is True
        feed = await http.get("/api/v1/matching/feed", headers=headers)
        assert feed.status_code == 200 and feed.json()["success"] is True
        missing = await http.get("/api/v1/nothing-here")
        assert missing.status_code == 404 and missing.json()["success"] is False


async def _member(http: httpx.AsyncClient, outbox: Path, phone: str, name: str) -> tuple[str, dict]:
    await http.post("/api/v1/auth/send-otp", json={"phone_number": phone})
    token = (
        await http.post("/api/v1/auth/verify-otp", json={"phone_number": phone, "otp": _code(outbox, phone)})
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    await http.put(
        "/api/v1/profile/me",
        headers=headers,
        json={
            "first_name": name,
            "birth_date": "1992-03-03",
            "gender": "female",
            "location": {"latitude": 52.52, "longitude": 13.40},
        },
    )
    return token, headers


async def _like_each_other(http: httpx.AsyncClient, a: dict, b: dict) -> str:
    """Both members like each other; the match id."""
    me_a = (await http.get("/api/v1/profile/me", headers=a)).json()["profile"]["id"]
    me_b = (await http.get("/api/v1/profile/me", headers=b)).json()["profile"]["id"]
    await http.post("/api/v1/matching/swipe", headers=a, json={"target_user_id": me_b, "action": "like"})
    liked = await http.post("/api/v1/matching/swipe", headers=b, json={"target_user_id": me_a, "action": "like"})
    return liked.json()["match_id"]


async def test_a_match_and_a_message_over_the_serve_websocket(served):
    import websockets

    base, outbox = served
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        token_a, a = await _member(http, outbox, "+12025550901", "Ada")
        _, b = await _member(http, outbox, "+12025550902", "Bea")
        async with websockets.connect(base.replace("http", "ws") + "/ws", open_timeout=30) as ws:
            assert ws.response.headers.get("Sec-WebSocket-Extensions") is None  # tiny frames: no deflate
            await ws.send(json.dumps({"event": "authenticate", "data": {"token": token_a}}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 30))["event"] == "authenticated"
            match_id = await _like_each_other(http, a, b)
            matched = json.loads(await asyncio.wait_for(ws.recv(), 30))
            assert matched["event"] == "new_match" and matched["data"]["match_id"] == match_id
            sent = await http.post("/api/v1/messages/send", headers=b, json={"match_id": match_id, "content": "hallo"})
            assert sent.status_code == 200
            frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
            assert frame["event"] == "new_message" and frame["data"]["message"]["content"] == "hallo"


async def test_open_sockets_beyond_serves_default_request_slots_leave_http_answering(served):
    # Serve counts each open websocket as an ongoing request; with its default limit (5 per
    # replica) the sixth socket and every later HTTP request would queue until one closed.
    import websockets

    base, outbox = served
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        # Three users with four sockets each: within WS_MAX_SOCKETS_PER_USER (5) per account.
        tokens = [
            (await _member(http, outbox, f"+1202555090{i}", name))[0]
            for i, name in ((3, "Cleo"), (6, "Fay"), (7, "Gia"))
        ]
        sockets = []
        try:
            for token in tokens * 4:  # more than twice Serve's default on the fixture's one Gateway replica
                ws = await websockets.connect(base.replace("http", "ws") + "/ws", open_timeout=15)
                sockets.append(ws)
                await ws.send(json.dumps({"event": "authenticate", "data": {"token": token}}))
                assert json.loads(await asyncio.wait_for(ws.recv(), 15))["event"] == "authenticated"
            health = await asyncio.wait_for(http.get("/health"), 15)
            assert health.status_code == 200
        finally:
            for ws in sockets:
                await ws.close()


async def _send_until_acknowledged(http: httpx.AsyncClient, headers: dict, body: dict, within_s: float = 90) -> dict:
    """What a client does while the gateway restarts: retry the same client_message_id until a 200."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        try:
            answer = await http.post("/api/v1/messages/send", headers=headers, json=body)
            if answer.status_code == 200:
                return answer.json()["message"]
        except httpx.HTTPError:
            pass
        assert asyncio.get_running_loop().time() < deadline, "the gateway did not come back"
        await asyncio.sleep(0.5)


async def _connect_when_back(base: str, token: str, within_s: float = 90):
    import websockets

    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        try:
            ws = await websockets.connect(base.replace("http", "ws") + "/ws", open_timeout=10)
            await ws.send(json.dumps({"event": "authenticate", "data": {"token": token}}))
            if json.loads(await asyncio.wait_for(ws.recv(), 10))["event"] == "authenticated":
                return ws
            await ws.close()
        except Exception:
            pass
        assert asyncio.get_running_loop().time() < deadline, "the gateway did not come back"
        await asyncio.sleep(0.5)


async def test_killing_the_gateway_replica_loses_no_acknowledged_message(served):
    import ray
    import websockets

    base, outbox = served
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        token_a, a = await _member(http, outbox, "+12025550904", "Dora")
        _, b = await _member(http, outbox, "+12025550905", "Edda")
        match_id = await _like_each_other(http, a, b)
        ws = await _connect_when_back(base, token_a)
        first = await _send_until_acknowledged(
            http, b, {"match_id": match_id, "content": "one", "client_message_id": "m1"}
        )
        while json.loads(await asyncio.wait_for(ws.recv(), 30))["event"] != "new_message":
            pass

        [gateway] = [actor for actor in ray.util.list_named_actors(all_namespaces=True) if "Gateway" in actor["name"]]
        ray.kill(ray.get_actor(gateway["name"], namespace=gateway["namespace"]), no_restart=True)
        with pytest.raises(websockets.ConnectionClosed):
            async with asyncio.timeout(30):
                while True:
                    await ws.recv()

        # While Serve brings up a new replica, the sender retries with the same client_message_id.
        second = await _send_until_acknowledged(
            http, b, {"match_id": match_id, "content": "two", "client_message_id": "m2"}
        )
        again = await _send_until_acknowledged(
            http, b, {"match_id": match_id, "content": "two", "client_message_id": "m2"}
        )
        assert again["id"] == second["id"]
        ws = await _connect_when_back(base, token_a)
        await ws.close()
        caught_up = await http.get(
            f"/api/v1/messages/conversations/{match_id}", headers=a, params={"after": first["id"]}
        )
        assert [m["content"] for m in caught_up.json()["messages"]] == ["two"]
        whole = await http.get(f"/api/v1/messages/conversations/{match_id}", headers=a)
        assert [m["content"] for m in whole.json()["messages"]] == ["one", "two"]
