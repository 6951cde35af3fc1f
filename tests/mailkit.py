"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it accepted, and can fail."""

from __future__ import annotations

import contextlib
import email
import email.policy
import socket
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:  # Controller(port=0) does not work: pick a free port first
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Inbox:
    """What the server accepted; ``fail`` maps the n-th DATA (1-based) to a reply, once."""

    received: list = field(default_factory=list)
    fail: dict = field(default_factory=dict)
    refuse: set = field(default_factory=set)  # recipient addresses refused at RCPT
    attempts: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.attempts += 1
        reply = self.fail.pop(self.attempts, None)
        if reply:
            return reply
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append((list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        return [msg for rcpts, msg in self.received if address in rcpts]

    def recipients(self) -> list[str]:
        return sorted(r for rcpts, _ in self.received for r in rcpts)


@contextlib.contextmanager
def smtp_server():
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def smtp_env(port: int, **extra) -> dict:
    env = {"STORYWALL_SMTP_HOST": "127.0.0.1", "STORYWALL_SMTP_PORT": str(port),
           "STORYWALL_SMTP_TLS": "none",
           "STORYWALL_MAIL_FROM": "Test Trust <stories@example.org>"}
    env.update(extra)
    return env


def parts(msg) -> tuple[str, str]:
    """(plain text, HTML) of a multipart/alternative message."""
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    return text, html
