"""A local fake of FCM HTTP v1 and Google's OAuth token endpoint.

`POST /token` takes a service-account JWT assertion (RS256, checked against the account's
public key; `iss`, `aud` = this token URI, the firebase.messaging scope, `iat`/`exp`) and hands
out an access token; `POST /v1/projects/<id>/messages:send` requires one of those tokens, the
right project, a message of at most 4 KB naming a token, and answers FCM's errors: 404
UNREGISTERED, 400 INVALID_ARGUMENT, and scripted 429/5xx.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

import jwt
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
MAX_MESSAGE = 4096


def _error(status: int, name: str, code: str | None = None) -> JSONResponse:
    error: dict = {"code": status, "message": name, "status": name}
    if code:
        error["details"] = [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}]
    return JSONResponse({"error": error}, status_code=status)


@dataclass
class FcmFake:
    public_key: str
    client_email: str
    project_id: str
    token_uri: str = ""
    unregistered: set[str] = field(default_factory=set)
    invalid: set[str] = field(default_factory=set)
    fail_next: list[int] = field(default_factory=list)
    received: list[dict] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    access_tokens: set[str] = field(default_factory=set)
    token_requests: int = 0

    def tokens(self) -> list[str]:
        return [m["message"]["token"] for m in self.received]

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/token")
        async def token(request: Request) -> JSONResponse:
            form = await request.form()
            self.token_requests += 1
            if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
                return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
            try:
                claims = jwt.decode(
                    str(form.get("assertion")),
                    self.public_key,
                    algorithms=["RS256"],
                    audience=self.token_uri,
                    options={"require": ["iss", "aud", "iat", "exp"]},
                )
            except jwt.PyJWTError as exc:
                return JSONResponse({"error": "invalid_grant", "error_description": str(exc)}, status_code=400)
            if claims["iss"] != self.client_email or SCOPE not in str(claims.get("scope", "")).split():
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            if claims["exp"] - claims["iat"] > 3600 or claims["iat"] > time.time() + 60:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            access = secrets.token_urlsafe(24)
            self.access_tokens.add(access)
            return JSONResponse({"access_token": access, "expires_in": 3599, "token_type": "Bearer"})

        @app.post("/v1/projects/{project}/messages:send")
        async def send(project: str, request: Request) -> JSONResponse:
            answer = await self._send(project, request)
            if answer.status_code != 200:
                self.refused.append((answer.status_code, bytes(answer.body).decode()))
            return answer

        return app

    async def _send(self, project: str, request: Request) -> JSONResponse:
        scheme, _, access = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or access not in self.access_tokens:
            return _error(401, "UNAUTHENTICATED")
        if project != self.project_id:
            return _error(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH")
        body = await request.body()
        if len(body) > MAX_MESSAGE:
            return _error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")
        try:
            message = (await request.json())["message"]
            token = message["token"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")
        if token in self.unregistered:
            return _error(404, "NOT_FOUND", "UNREGISTERED")
        if token in self.invalid:
            return _error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")
        if self.fail_next:
            status = self.fail_next.pop(0)
            return _error(status, "QUOTA_EXCEEDED" if status == 429 else "UNAVAILABLE")
        self.received.append({"message": message})
        return JSONResponse({"name": f"projects/{project}/messages/{secrets.token_hex(8)}"})
