"""A local HTTP server standing in for a Twilio-compatible SMS gateway (the one fake allowed)."""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qs

ACCOUNT, TOKEN, SENDER = "AC0123456789", "secret-token", "+447700900000"


@dataclass
class Gateway:
    sent: list = field(default_factory=list)  # (to, body) accepted
    fail: dict = field(default_factory=dict)  # n-th request (1-based) -> HTTP status, once
    refuse: set = field(default_factory=set)  # numbers answered with 400 (invalid number)
    requests: int = 0

    def bodies(self, to: str) -> list[str]:
        return [body for number, body in self.sent if number == to]


def _handler(gateway: Gateway):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _answer(self, status: int, data: dict) -> None:
            payload = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self):
            gateway.requests += 1
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            expected = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
            if self.path != f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json":
                return self._answer(404, {"message": "not found"})
            if self.headers.get("Authorization") != expected:
                return self._answer(401, {"message": "authenticate"})
            status = gateway.fail.pop(gateway.requests, None)
            if status:
                return self._answer(status, {"message": "try later"})
            if form.get("To") in gateway.refuse:
                return self._answer(400, {"code": 21211, "message": "invalid 'To' number"})
            if form.get("From") != SENDER:
                return self._answer(400, {"message": "bad From"})
            gateway.sent.append((form["To"], form["Body"]))
            return self._answer(201, {"sid": f"SM{gateway.requests:032d}", "status": "queued"})
    return Handler


@contextlib.contextmanager
def sms_gateway():
    gateway = Gateway()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(gateway))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def sms_env(url: str) -> dict:
    return {"STORYWALL_SMS_URL": url, "STORYWALL_SMS_ACCOUNT": ACCOUNT,
            "STORYWALL_SMS_TOKEN": TOKEN, "STORYWALL_SMS_FROM": SENDER}
