"""A local fake of APNs: HTTP/2 over cleartext (h2c, prior knowledge), `POST /3/device/<token>`.

It checks what APNs checks: the provider token (ES256 signature with the team's key, `kid`,
`iss`, an `iat` less than an hour old), the `apns-topic`, the 4 KB payload limit and a JSON body
with `aps`; it answers with APNs' status codes and reasons, including each dead-token answer
(410 Unregistered, 400 BadDeviceToken) and scripted 429/5xx answers. Real APNs speaks h2 over TLS
only; the provider reaches this fake through APNS_API_BASE=http://127.0.0.1:<port>.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

import jwt
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import ConnectionTerminated, DataReceived, RequestReceived, StreamEnded

MAX_PAYLOAD = 4096


@dataclass
class ApnsFake:
    public_key: str
    key_id: str
    team_id: str
    topic: str
    unregistered: set[str] = field(default_factory=set)
    bad_tokens: set[str] = field(default_factory=set)
    fail_next: list[tuple[int, str]] = field(default_factory=list)  # (status, reason), one per request
    received: list[dict] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    port: int = 0
    _server: asyncio.AbstractServer | None = None

    async def start(self) -> ApnsFake:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def tokens(self) -> list[str]:
        return [r["token"] for r in self.received]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = H2Connection(H2Configuration(client_side=False, header_encoding="utf-8"))
        conn.initiate_connection()
        writer.write(conn.data_to_send())
        streams: dict[int, tuple[dict, bytearray]] = {}
        try:
            while data := await reader.read(65536):
                for event in conn.receive_data(data):
                    if isinstance(event, RequestReceived):
                        streams[event.stream_id] = (dict(event.headers), bytearray())
                    elif isinstance(event, DataReceived):
                        streams[event.stream_id][1].extend(event.data)
                        conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    elif isinstance(event, StreamEnded):
                        headers, body = streams.pop(event.stream_id)
                        status, answer = self._answer(headers, bytes(body))
                        self._respond(conn, event.stream_id, status, answer)
                    elif isinstance(event, ConnectionTerminated):
                        return
                writer.write(conn.data_to_send())
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    @staticmethod
    def _respond(conn: H2Connection, stream_id: int, status: int, answer: dict | None) -> None:
        body = json.dumps(answer).encode() if answer is not None else b""
        headers = [(":status", str(status)), ("apns-id", "00000000-0000-0000-0000-000000000000")]
        if body:
            headers.append(("content-type", "application/json"))
        conn.send_headers(stream_id, headers, end_stream=not body)
        if body:
            conn.send_data(stream_id, body, end_stream=True)

    def _answer(self, headers: dict, body: bytes) -> tuple[int, dict | None]:
        status, reason = self._check(headers, body)
        if status != 200:
            self.refused.append((status, reason))
            answer: dict = {"reason": reason}
            if status == 410:
                answer["timestamp"] = int(time.time() * 1000)
            return status, answer
        return 200, None

    def _check(self, headers: dict, body: bytes) -> tuple[int, str]:
        path = headers.get(":path", "")
        if headers.get(":method") != "POST" or not path.startswith("/3/device/"):
            return 404, "BadPath"
        token = path.removeprefix("/3/device/")
        problem = self._provider_token(headers.get("authorization", ""))
        if problem:
            return 403, problem
        if not headers.get("apns-topic"):
            return 400, "MissingTopic"
        if headers["apns-topic"] != self.topic:
            return 400, "TopicDisallowed"
        if len(body) > MAX_PAYLOAD:
            return 413, "PayloadTooLarge"
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, "PayloadEmpty" if not body else "BadPayload"
        if not isinstance(payload, dict) or "aps" not in payload:
            return 400, "BadPayload"
        if token in self.unregistered:
            return 410, "Unregistered"
        if token in self.bad_tokens or not token:
            return 400, "BadDeviceToken"
        if self.fail_next:
            return self.fail_next.pop(0)
        self.received.append({"token": token, "headers": headers, "payload": payload})
        return 200, ""

    def _provider_token(self, authorization: str) -> str:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return "MissingProviderToken"
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, self.public_key, algorithms=["ES256"], options={"verify_iat": True})
        except jwt.PyJWTError:
            return "InvalidProviderToken"
        if header.get("kid") != self.key_id or claims.get("iss") != self.team_id:
            return "InvalidProviderToken"
        iat = claims.get("iat")
        if not isinstance(iat, int) or iat > time.time() + 60:
            return "InvalidProviderToken"
        if iat < time.time() - 3600:
            return "ExpiredProviderToken"
        return ""
