"""The private supporter store: people, their journey, and the outbox of messages.

Everything here lives in the private SQLite database (``private/intake.sqlite3``,
beside the intake server's contact and consent records) and never in
``submissions/``, ``content/``, Git, a log line or ``output/``.

- ``people``: one row per supporter, matched on a normalised e-mail address or
  phone number, with the token of their unsubscribe link.
- ``links``: which submission (story id) is whose, and whether they agreed to
  be contacted about it; ``gifts``: the gifts imported by ``storywall invite``.
- ``events``: the journey, one dated row per step (gave, invited, submitted,
  approved, rejected, told_live, told_impact, told_rejected, unsubscribed).
- ``outbox``: every message planned, with its state. A message is marked
  ``sent`` only after the mail server (or SMS gateway) accepted it, in its own
  transaction, so a crash or a retry never skips one and never plans one twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .errors import StoryWallError

logger = logging.getLogger(__name__)

DB_NAME = "intake.sqlite3"  # the one private store, shared with the intake server
SQLITE_TIMEOUT_SECONDS = 30
SEND_LOCK = "outbox.lock"  # held while a process sends, so that two never send one message
TOKEN_BYTES = 24  # unsubscribe and invitation tokens: 192 random bits, 32 URL-safe characters

EVENT_KINDS = ("gave", "invited", "submitted", "approved", "rejected", "told_live",
               "told_impact", "told_rejected", "unsubscribed")
CHANNELS = ("email", "sms")

SCHEMA = """
CREATE TABLE IF NOT EXISTS people (
    id INTEGER PRIMARY KEY,
    email TEXT UNIQUE,           -- normalised (lower case), or NULL
    phone TEXT UNIQUE,           -- E.164 (+447700900123), or NULL
    name TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL DEFAULT 'email',
    token TEXT NOT NULL UNIQUE,  -- the unsubscribe link's token
    unsubscribed_at TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS links (
    submission_id TEXT PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people (id),
    contact_ok INTEGER NOT NULL,
    at TEXT NOT NULL,
    initiative TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS gifts (
    gift_id TEXT PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people (id),
    initiative TEXT NOT NULL,
    given_on TEXT NOT NULL,
    contact_ok INTEGER NOT NULL,
    invite_token TEXT UNIQUE,
    imported_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id INTEGER NOT NULL REFERENCES people (id),
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    initiative TEXT NOT NULL DEFAULT '',
    ref TEXT NOT NULL DEFAULT '',      -- a gift id, submission id or figure date
    detail TEXT NOT NULL DEFAULT '',   -- a rejection's reason code
    UNIQUE (person_id, kind, ref)
);
CREATE INDEX IF NOT EXISTS events_kind ON events (kind, at);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,          -- live:<story id>, impact:<person>:<initiative>:<as_of> …
    person_id INTEGER NOT NULL REFERENCES people (id),
    kind TEXT NOT NULL,                -- live | impact | rejected | invite
    channel TEXT NOT NULL,             -- email | sms
    address TEXT NOT NULL,
    initiative TEXT NOT NULL DEFAULT '',
    ref TEXT NOT NULL DEFAULT '',
    payload BLOB NOT NULL,             -- the whole message (RFC 5322 bytes, or the SMS text)
    state TEXT NOT NULL DEFAULT 'queued',  -- queued | sending | sent | refused | skipped
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, id);
"""

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_JUNK = re.compile(r"[\s().\-/]")
PHONE_RE = re.compile(r"^\+[1-9]\d{6,14}$")  # E.164: at most 15 digits


class StoreError(StoryWallError):
    """The private store cannot be read or written."""


@contextlib.contextmanager
def transaction(path: Path, rollback: bool = False) -> Iterator[sqlite3.Connection]:
    """One write transaction on the private store (BEGIN IMMEDIATE, synchronous FULL).

    With ``rollback`` nothing is kept. Used here and by the intake server's store.
    """
    con = sqlite3.connect(path, timeout=SQLITE_TIMEOUT_SECONDS, isolation_level=None)
    try:
        con.execute("PRAGMA synchronous = FULL")
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("BEGIN IMMEDIATE")
        yield con
        con.execute("ROLLBACK" if rollback else "COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()


def utcnow() -> dt.datetime:
    """The one clock of the private store (intake, moderation, notify, invite use it)."""
    return dt.datetime.now(dt.timezone.utc)


def now_iso() -> str:
    return utcnow().replace(microsecond=0).isoformat()


def private_dir(site_dir: Path) -> Path:
    """``$STORYWALL_PRIVATE_DIR``, else ``private/`` in the site."""
    return Path(os.environ.get("STORYWALL_PRIVATE_DIR") or Path(site_dir) / "private")


def normalise_email(value: str) -> str:
    """'  Ana@Example.ORG ' → 'ana@example.org'; '' when empty; ValueError when malformed."""
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) > 254 or not EMAIL_RE.match(value):
        raise ValueError(f"'{value}' is not an e-mail address")
    return value.lower()


def normalise_phone(value: str, country_code: str = "") -> str:
    """'07700 900123' (+44) or '0044 7700-900123' → '+447700900123'; '' when empty."""
    raw = (value or "").strip()
    if not raw:
        return ""
    digits = PHONE_JUNK.sub("", raw)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.startswith("0") and country_code:
        digits = "+" + country_code.lstrip("+") + digits[1:]
    if not PHONE_RE.match(digits):
        raise ValueError(f"'{raw}' is not a phone number in international form (+44 7700 900123)")
    return digits


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    phone: str
    name: str
    channel: str
    token: str
    unsubscribed_at: str | None

    @property
    def unsubscribed(self) -> bool:
        return self.unsubscribed_at is not None

    def address(self, channel: str | None = None) -> str:
        channel = channel or self.channel
        return self.phone if channel == "sms" else self.email

    @property
    def reachable_channel(self) -> str | None:
        """The preferred channel if it has an address, else the other one, else None."""
        for channel in (self.channel, *CHANNELS):
            if self.address(channel):
                return channel
        return None


_PERSON_COLUMNS = "id, email, phone, name, channel, token, unsubscribed_at"


def _person(row) -> Person | None:
    if row is None:
        return None
    pid, email, phone, name, channel, token, unsub = row
    return Person(pid, email or "", phone or "", name, channel, token, unsub)


class Supporters:
    """The private store of one site (the folder holding ``intake.sqlite3``)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder / DB_NAME
        self._ready = False

    @contextlib.contextmanager
    def db(self, rollback: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT, synchronous FULL).

        With ``rollback`` nothing is kept (a dry run sees what would be written).
        """
        if not self._ready:
            self._create()
        with transaction(self.path, rollback=rollback) as con:
            yield con

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read-only snapshot (WAL readers never block the intake server's writes)."""
        if not self._ready:
            self._create()
        con = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True,
                              timeout=SQLITE_TIMEOUT_SECONDS, isolation_level=None)
        try:
            con.execute("BEGIN")
            yield con
        finally:
            con.close()

    def _create(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            con = sqlite3.connect(self.path, timeout=SQLITE_TIMEOUT_SECONDS)
            try:
                con.execute("PRAGMA journal_mode = WAL")
                con.executescript(SCHEMA)
            finally:
                con.close()
            with contextlib.suppress(OSError):
                os.chmod(self.path, 0o600)
        except (OSError, sqlite3.Error) as err:
            raise StoreError(f"{self.path}: cannot open the private store ({err}) — check "
                             "STORYWALL_PRIVATE_DIR and the folder's permissions") from err
        self._ready = True

    # -- people --------------------------------------------------------------

    @staticmethod
    def find(con, *, email: str = "", phone: str = "") -> Person | None:
        for column, value in (("email", email), ("phone", phone)):
            if value:
                row = con.execute(f"SELECT {_PERSON_COLUMNS} FROM people WHERE {column} = ?",
                                  (value,)).fetchone()
                if row:
                    return _person(row)
        return None

    @staticmethod
    def person_for(con, *, email: str = "", phone: str = "", name: str = "",
                   channel: str = "") -> Person:
        """The one person with this (normalised) e-mail or phone, created or completed."""
        if not email and not phone:
            raise StoreError("a supporter needs an e-mail address or a phone number")
        person = Supporters.find(con, email=email, phone=phone)
        if person is None:
            con.execute("INSERT INTO people (email, phone, name, channel, token, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (email or None, phone or None, name,
                         channel or ("email" if email else "sms"), new_token(), now_iso()))
            return Supporters.find(con, email=email, phone=phone)
        return Supporters.complete(con, person, email=email, phone=phone, name=name,
                                   channel=channel)

    @staticmethod
    def complete(con, person: Person, *, email: str = "", phone: str = "", name: str = "",
                 channel: str = "") -> Person:
        """Add what a person's record lacks; the newest channel choice wins."""
        updates = {}
        if email and not person.email and not Supporters.find(con, email=email):
            updates["email"] = email
        if phone and not person.phone and not Supporters.find(con, phone=phone):
            updates["phone"] = phone
        if name and not person.name:
            updates["name"] = name
        if channel and channel != person.channel:
            updates["channel"] = channel
        if updates:
            assignments = ", ".join(f"{k} = ?" for k in updates)
            con.execute(f"UPDATE people SET {assignments} WHERE id = ?",
                        (*updates.values(), person.id))
            person = Supporters.get(con, person.id)
        return person

    @staticmethod
    def get(con, person_id: int) -> Person | None:
        return _person(con.execute(f"SELECT {_PERSON_COLUMNS} FROM people WHERE id = ?",
                                   (person_id,)).fetchone())

    def by_token(self, token: str) -> Person | None:
        if not token or len(token) > 64:
            return None
        with self.db() as con:
            return _person(con.execute(f"SELECT {_PERSON_COLUMNS} FROM people WHERE token = ?",
                                       (token,)).fetchone())

    def unsubscribe(self, token: str) -> Person | None:
        """Record the unsubscription (once); the person, or None for an unknown token."""
        with self.db() as con:
            person = _person(con.execute(f"SELECT {_PERSON_COLUMNS} FROM people WHERE token = ?",
                                         (token,)).fetchone()) if token and len(token) <= 64 else None
            if person is None:
                return None
            if not person.unsubscribed:
                at = now_iso()
                con.execute("UPDATE people SET unsubscribed_at = ? WHERE id = ?", (at, person.id))
                event(con, person.id, "unsubscribed", at=at)
                con.execute("UPDATE outbox SET state = 'skipped', error = 'unsubscribed' "
                            "WHERE person_id = ? AND state IN ('queued', 'sending')", (person.id,))
        logger.info("storywall: a supporter unsubscribed")
        return person

    # -- submissions -----------------------------------------------------------

    @staticmethod
    def link_submission(con, submission_id: str, person: Person, *, contact_ok: bool,
                        at: str, initiative: str = "") -> None:
        con.execute("INSERT OR IGNORE INTO links VALUES (?, ?, ?, ?, ?)",
                    (submission_id, person.id, int(contact_ok), at, initiative))
        event(con, person.id, "submitted", at=at, initiative=initiative, ref=submission_id)

    def sync_intake_contacts(self) -> int:
        """Link the intake server's contact rows (by submission id) to people; the new count."""
        added = 0
        with self.db() as con:
            if not _has_table(con, "contacts"):
                return 0
            rows = con.execute(
                "SELECT c.submission_id, c.email, c.contact_ok, c.created_at FROM contacts c "
                "LEFT JOIN links l ON l.submission_id = c.submission_id "
                "WHERE l.submission_id IS NULL").fetchall()
            for sub_id, email, contact_ok, created_at in rows:
                try:
                    email = normalise_email(email)
                except ValueError:
                    continue  # the intake server checked it; an old row may not be
                if email:
                    person = self.person_for(con, email=email)
                    self.link_submission(con, sub_id, person, contact_ok=bool(contact_ok),
                                         at=created_at)
                    added += 1
        return added

    def author_of(self, con, submission_id: str) -> tuple[Person, bool] | None:
        """(person, contact_ok) for a submission, or None when nobody left an address."""
        row = con.execute("SELECT person_id, contact_ok FROM links WHERE submission_id = ?",
                          (submission_id,)).fetchone()
        if not row:
            return None
        return self.get(con, row[0]), bool(row[1])

    # -- the outbox -------------------------------------------------------------

    @staticmethod
    def planned(con, key: str) -> bool:
        return con.execute("SELECT 1 FROM outbox WHERE key = ?", (key,)).fetchone() is not None

    @staticmethod
    def enqueue(con, message: "Outgoing") -> bool:
        """Queue a message unless its key was ever planned; True when it was queued."""
        cur = con.execute(
            "INSERT OR IGNORE INTO outbox (key, person_id, kind, channel, address, initiative, "
            "ref, payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (message.key, message.person_id, message.kind, message.channel, message.address,
             message.initiative, message.ref, message.payload, now_iso()))
        return cur.rowcount == 1

    @contextlib.contextmanager
    def sending(self) -> Iterator[None]:
        """Only one process sends from the outbox at a time (an exclusive lock file)."""
        import fcntl

        if not self._ready:
            self._create()
        with open(self.folder / SEND_LOCK, "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                raise StoreError("another notify or invite is sending right now — run it "
                                 "again when that one has finished") from err
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def due(self, limit: int) -> list["Queued"]:
        """Queued messages (and any left 'sending' by a crash), oldest first."""
        with self.db() as con:
            rows = con.execute(
                "SELECT o.id, o.key, o.person_id, o.kind, o.channel, o.address, o.initiative, "
                "o.ref, o.payload, p.unsubscribed_at FROM outbox o JOIN people p "
                "ON p.id = o.person_id WHERE o.state IN ('queued', 'sending') ORDER BY o.id "
                "LIMIT ?", (limit,)).fetchall()
        return [Queued(*row[:9], unsubscribed=row[9] is not None) for row in rows]

    def count_due(self) -> int:
        with self.db() as con:
            return con.execute("SELECT COUNT(*) FROM outbox WHERE state IN ('queued', "
                               "'sending')").fetchone()[0]

    def mark(self, queued: "Queued", state: str, error: str = "") -> None:
        """Record what became of one message; 'sent' also writes the journey event."""
        with self.db() as con:
            if state == "sending":
                con.execute("UPDATE outbox SET state = 'sending', attempts = attempts + 1 "
                            "WHERE id = ?", (queued.id,))
                return
            at = now_iso()
            con.execute("UPDATE outbox SET state = ?, error = ?, sent_at = ? WHERE id = ?",
                        (state, error[:500], at if state == "sent" else None, queued.id))
            if state == "sent" and queued.kind in TOLD_EVENTS:
                event(con, queued.person_id, TOLD_EVENTS[queued.kind], at=at,
                      initiative=queued.initiative, ref=queued.ref)

    def requeue(self, queued: "Queued", error: str) -> None:
        with self.db() as con:
            con.execute("UPDATE outbox SET state = 'queued', error = ? WHERE id = ?",
                        (error[:500], queued.id))


TOLD_EVENTS = {"live": "told_live", "impact": "told_impact", "rejected": "told_rejected",
               "invite": "invited"}


@dataclass(frozen=True)
class Outgoing:
    """A message to plan: who, which kind, and its whole payload."""
    key: str
    person_id: int
    kind: str
    channel: str
    address: str
    payload: bytes
    initiative: str = ""
    ref: str = ""


@dataclass(frozen=True)
class Queued:
    id: int
    key: str
    person_id: int
    kind: str
    channel: str
    address: str
    initiative: str
    ref: str
    payload: bytes
    unsubscribed: bool = False


def event(con, person_id: int, kind: str, *, at: str, initiative: str = "", ref: str = "",
          detail: str = "") -> None:
    """Add one step to a supporter's journey (once per person, kind and ref)."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown journey event {kind!r}")
    con.execute("INSERT OR IGNORE INTO events (person_id, kind, at, initiative, ref, detail) "
                "VALUES (?, ?, ?, ?, ?, ?)", (person_id, kind, at, initiative, ref, detail))


def gift_by_token(con, token: str) -> tuple[str, int, str] | None:
    """(gift id, person id, initiative) of an invitation token."""
    if not token:
        return None
    return con.execute("SELECT gift_id, person_id, initiative FROM gifts WHERE invite_token = ?",
                       (token,)).fetchone()


def link_intake(con, sub_id: str, *, at: str, email: str = "", phone: str = "",
                channel: str = "", name: str = "", invite: str = "", initiative: str = "",
                contact_ok: bool = False) -> Person | None:
    """Tie a new submission to its supporter (the invitation's, else by e-mail or phone)."""
    gift = gift_by_token(con, invite)
    if gift is not None:
        person = Supporters.get(con, gift[1])
        person = Supporters.complete(con, person, email=email, phone=phone, channel=channel)
    elif email or phone:
        person = Supporters.person_for(con, email=email, phone=phone, channel=channel)
    else:
        return None
    con.execute("INSERT OR IGNORE INTO links VALUES (?, ?, ?, ?, ?)",
                (sub_id, person.id, int(contact_ok), at, initiative))
    event(con, person.id, "submitted", at=at, initiative=initiative, ref=sub_id)
    return person


def forget_submission(con, sub_id: str) -> None:
    """Undo link_intake for a submission that was not stored (and a person made for it)."""
    row = con.execute("SELECT person_id FROM links WHERE submission_id = ?", (sub_id,)).fetchone()
    if row is None:
        return
    con.execute("DELETE FROM links WHERE submission_id = ?", (sub_id,))
    con.execute("DELETE FROM events WHERE person_id = ? AND ref = ?", (row[0], sub_id))
    used = con.execute("SELECT (SELECT COUNT(*) FROM links WHERE person_id = ?) + "
                       "(SELECT COUNT(*) FROM gifts WHERE person_id = ?) + "
                       "(SELECT COUNT(*) FROM outbox WHERE person_id = ?)",
                       (row[0], row[0], row[0])).fetchone()[0]
    if not used:
        con.execute("DELETE FROM events WHERE person_id = ?", (row[0],))
        con.execute("DELETE FROM people WHERE id = ?", row)


def record_decision(folder: Path, sub_id: str, action: str, *, at: str,
                    reason_code: str = "") -> None:
    """approve/reject: add 'approved' or 'rejected' to the author's journey, if known."""
    kind = {"approve": "approved", "reject": "rejected"}.get(action)
    store = Supporters(folder)
    if kind is None or not (Path(folder) / DB_NAME).is_file():
        return
    store.sync_intake_contacts()
    with store.db() as con:
        row = con.execute("SELECT person_id, initiative FROM links WHERE submission_id = ?",
                          (sub_id,)).fetchone()
        if row:
            event(con, row[0], kind, at=at, initiative=row[1], ref=sub_id, detail=reason_code)


def _has_table(con, name: str) -> bool:
    return con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                       (name,)).fetchone() is not None
