"""Sending: SMTP and an HTTP SMS gateway from the environment, or ``.eml`` files for a dry run.

A sender's ``send(queued)`` returns when the server accepted the message and
raises :class:`Refused` when the server refused this one recipient for good
(the next message can still go) or :class:`SendFailed` when nothing more can
be sent now (connection lost, a temporary error): the caller stops and the
rest stays queued for the next run.
"""

from __future__ import annotations

import base64
import email.utils
import json
import os
import smtplib
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Mapping

from .errors import StoryWallError

SMTP_TIMEOUT_SECONDS = 30
SMS_TIMEOUT_SECONDS = 30
DEFAULT_SMTP_PORT = 587
TLS_MODES = ("starttls", "ssl", "none")


class MailConfigError(StoryWallError):
    """A setting in the environment is missing or wrong."""


class SendFailed(StoryWallError):
    """Nothing more can be sent now; what is left stays queued."""


class Refused(StoryWallError):
    """The server refused this recipient for good (no retry)."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = DEFAULT_SMTP_PORT
    tls: str = "starttls"
    user: str = ""
    password: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "SmtpConfig":
        env = os.environ if env is None else env
        host = env.get("STORYWALL_SMTP_HOST", "").strip()
        if not host:
            raise MailConfigError("STORYWALL_SMTP_HOST is not set — set the mail server's "
                                  "address (and STORYWALL_SMTP_PORT, _TLS, _USER, _PASSWORD), "
                                  "or use --dry-run DIR to write the messages to files")
        tls = env.get("STORYWALL_SMTP_TLS", "starttls").strip().lower() or "starttls"
        if tls not in TLS_MODES:
            raise MailConfigError(f"STORYWALL_SMTP_TLS: '{tls}' — use one of "
                                  + ", ".join(TLS_MODES))
        port_text = env.get("STORYWALL_SMTP_PORT", "").strip() or (
            "465" if tls == "ssl" else str(DEFAULT_SMTP_PORT))
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise MailConfigError(f"STORYWALL_SMTP_PORT: '{port_text}' is not a port number "
                                  "(1–65535)")
        return cls(host, int(port_text), tls, env.get("STORYWALL_SMTP_USER", ""),
                   env.get("STORYWALL_SMTP_PASSWORD", ""))


def mail_from(env: Mapping[str, str] | None = None, default: str = "") -> str:
    env = os.environ if env is None else env
    sender = env.get("STORYWALL_MAIL_FROM", "").strip() or default
    if not sender:
        raise MailConfigError("STORYWALL_MAIL_FROM is not set — set the sender, e.g. "
                              "\"Riverside Trust <stories@example.org>\"")
    if "@" not in sender or "\n" in sender or "\r" in sender:
        raise MailConfigError(f"STORYWALL_MAIL_FROM: '{sender}' is not a sender address — "
                              "use \"Name <address@example.org>\"")
    return sender


class SmtpSender:
    """One connection for a whole run (re-opened once if the server drops it between messages)."""

    channel = "email"

    def __init__(self, config: SmtpConfig):
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        try:
            if cfg.tls == "ssl":
                smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=SMTP_TIMEOUT_SECONDS,
                                        context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=SMTP_TIMEOUT_SECONDS)
                if cfg.tls == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            if cfg.user:
                smtp.login(cfg.user, cfg.password)
        except (OSError, smtplib.SMTPException, ssl.SSLError) as err:
            raise SendFailed(f"cannot connect to the mail server {cfg.host}:{cfg.port} "
                             f"({_reason(err)}) — check STORYWALL_SMTP_HOST, _PORT, _TLS, "
                             "_USER and _PASSWORD") from err
        return smtp

    def send(self, payload: bytes, address: str) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        sender = _envelope_sender(payload)
        try:
            refused = self._smtp.sendmail(sender, [address], payload)
        except smtplib.SMTPRecipientsRefused as err:
            raise Refused(_reason(err)) from err
        except smtplib.SMTPDataError as err:
            if 500 <= err.smtp_code < 600:  # this message refused for good (e.g. policy)
                raise Refused(_reason(err)) from err
            self.close()
            raise SendFailed(f"the mail server refused a message for now ({_reason(err)})") \
                from err
        except smtplib.SMTPResponseException as err:  # sender refused, auth, shutting down…
            self.close()
            raise SendFailed(f"the mail server refused to send ({_reason(err)})") from err
        except (OSError, smtplib.SMTPException) as err:
            self.close()
            raise SendFailed(f"the mail server connection failed ({_reason(err)})") from err
        if refused:
            raise Refused(_reason(refused))

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None


@dataclass(frozen=True)
class SmsConfig:
    url: str
    account: str
    token: str
    sender: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "SmsConfig":
        env = os.environ if env is None else env
        values = {k: env.get(f"STORYWALL_SMS_{k.upper()}", "").strip()
                  for k in ("url", "account", "token", "from")}
        missing = [f"STORYWALL_SMS_{k.upper()}" for k, v in values.items() if not v]
        if missing:
            raise MailConfigError(", ".join(missing) + " not set — text messages need the "
                                  "gateway's URL, account, token and sender number")
        if urllib.parse.urlsplit(values["url"]).scheme not in ("https", "http"):
            raise MailConfigError(f"STORYWALL_SMS_URL: '{values['url']}' is not an http(s) URL")
        return cls(values["url"].rstrip("/"), values["account"], values["token"], values["from"])


class SmsSender:
    """A Twilio-compatible REST gateway: POST …/Accounts/<sid>/Messages.json (To, From, Body)."""

    channel = "sms"

    def __init__(self, config: SmsConfig):
        self.config = config

    def send(self, payload: bytes, address: str) -> None:
        cfg = self.config
        url = (f"{cfg.url}/2010-04-01/Accounts/{urllib.parse.quote(cfg.account, safe='')}"
               "/Messages.json")
        body = urllib.parse.urlencode({"To": address, "From": cfg.sender,
                                       "Body": payload.decode("utf-8")}).encode()
        auth = base64.b64encode(f"{cfg.account}:{cfg.token}".encode()).decode()
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Authorization": f"Basic {auth}",
            "Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=SMS_TIMEOUT_SECONDS) as response:
                response.read()
        except urllib.error.HTTPError as err:
            detail = _gateway_message(err)
            if 400 <= err.code < 500 and err.code not in (401, 403, 408, 429):
                raise Refused(f"the SMS gateway refused the number ({err.code} {detail})") from err
            raise SendFailed(f"the SMS gateway answered {err.code} {detail}".strip()) from err
        except (OSError, socket.timeout) as err:
            raise SendFailed(f"cannot reach the SMS gateway ({_reason(err)}) — check "
                             "STORYWALL_SMS_URL") from err

    def close(self) -> None:
        pass


class DryRunSender:
    """Writes each message to ``DIR/NNNN-<kind>.eml`` (or ``.txt`` for a text message)."""

    def __init__(self, folder: Path, channel: str = "email"):
        self.folder = Path(folder)
        self.channel = channel
        self.count = 0

    def write(self, name: str, payload: bytes, address: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count += 1
        path = self.folder / f"{self.count:04d}-{name}"
        if path.suffix == ".txt":
            payload = f"To: {address}\n\n".encode() + payload
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(payload)
        os.replace(tmp, path)
        return path


def _envelope_sender(payload: bytes) -> str:
    """The From address of a message we made (headers only are parsed)."""
    headers = BytesHeaderParser().parsebytes(payload)
    return email.utils.parseaddr(str(headers.get("From", "")))[1]


def _reason(err) -> str:
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        err = next(iter(err.recipients.values()), err)
    if isinstance(err, dict):
        err = next(iter(err.values()), "")
    if isinstance(err, tuple) and len(err) == 2:
        code, text = err
        return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
    if isinstance(err, smtplib.SMTPResponseException):
        text = err.smtp_error
        return f"{err.smtp_code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
    return str(err) or type(err).__name__


def _gateway_message(err: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(err.read(4096) or b"{}")
        return str(data.get("message", ""))[:200]
    except (ValueError, OSError, AttributeError):
        return ""
