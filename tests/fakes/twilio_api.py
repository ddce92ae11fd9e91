"""A local stand-in for Twilio's Messages API (`POST /2010-04-01/Accounts/{sid}/Messages.json`).

The official SDK really sends its request here (TWILIO_API_BASE); the fake records each one
(path, Basic-auth user, form fields) and answers with a message resource shaped like Twilio's.
`fail_with` makes the next request fail the way Twilio does (e.g. 400 code 21211).
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


@dataclass
class FakeTwilio:
    requests: list[dict] = field(default_factory=list)
    fail_with: tuple[int, int, str] | None = None
    server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                auth = base64.b64decode(self.headers.get("Authorization", "Basic ").split()[-1] or b"").decode()
                fake.requests.append({"path": self.path, "user": auth.split(":")[0], "form": form})
                if fake.fail_with:
                    status, code, message = fake.fail_with
                    self._answer(status, {"code": code, "message": message, "status": status})
                    return
                sid = "SM" + uuid.uuid4().hex
                self._answer(
                    201,
                    {
                        "sid": sid,
                        "status": "queued",
                        "to": form.get("To"),
                        "from": form.get("From"),
                        "body": form.get("Body"),
                        "account_sid": self.path.split("/")[3],
                        "num_segments": "1",
                        "direction": "outbound-api",
                        "error_code": None,
                    },
                )

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
