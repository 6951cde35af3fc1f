"""Writing submissions: whole or not at all; contact details only in private/.

A submission is assembled in ``submissions/.incoming/<id>.<random>/`` (a
hidden folder that ``storywall check`` and the build skip), every file is
fsynced, then the folder is renamed to ``submissions/<id>/`` and the parent
folder is fsynced. A crash before the rename leaves only a hidden leftover,
removed at the next start; after it, the submission is complete.

The private store is SQLite in ``private/intake.sqlite3`` (WAL, synchronous
FULL): contact details, consent records, the duplicate-content index and the
Git queue. Nothing in it is ever copied into ``submissions/``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import secrets
import shutil
import sqlite3
import string
import threading
import time
from pathlib import Path

from .. import supporters
from ..errors import StoryWallError
from .limits import STAGING_MAX_AGE_SECONDS

logger = logging.getLogger(__name__)

INCOMING = ".incoming"
INDEX = "index.md"
DB_NAME = "intake.sqlite3"
ID_CHARS = string.ascii_lowercase + string.digits
ID_RANDOM_CHARS = 8  # 36^8 ≈ 2.8e12 ids per day
SQLITE_TIMEOUT_SECONDS = 30

SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    source TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    state TEXT NOT NULL          -- staged (folder being written, or written since the
                                 -- last start) | stored (checked at start-up)
);
CREATE INDEX IF NOT EXISTS submissions_hash ON submissions (content_hash, created_at);
CREATE TABLE IF NOT EXISTS contacts (
    submission_id TEXT PRIMARY KEY REFERENCES submissions (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    contact_ok INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS consents (
    submission_id TEXT PRIMARY KEY REFERENCES submissions (id) ON DELETE CASCADE,
    publish INTEGER NOT NULL,
    photos INTEGER NOT NULL,
    contact INTEGER NOT NULL,
    given_at TEXT NOT NULL,
    wording TEXT NOT NULL        -- the consent sentences as shown when it was given
);
CREATE TABLE IF NOT EXISTS git_queue (
    submission_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,         -- queued | done
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    commit_sha TEXT NOT NULL DEFAULT '',
    pr_url TEXT NOT NULL DEFAULT ''
);
"""


class StorageError(StoryWallError):
    """A write failed (disk full, read-only, I/O error): nothing was stored."""


def new_id(today: dt.date) -> str:
    """``YYYY-MM-DD-`` + 8 random lowercase letters/digits (the schema's id format)."""
    return today.isoformat() + "-" + "".join(secrets.choice(ID_CHARS)
                                             for _ in range(ID_RANDOM_CHARS))


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path: Path, data: bytes) -> None:
    """Write and fsync one file (inside a staging folder, so no temp name is needed)."""
    with open(path, "xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def copy_hashed(save, dest: Path) -> str:
    """Let ``save(dest)`` write an upload, then return its SHA-256."""
    save(dest)
    digest = hashlib.sha256()
    with open(dest, "rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


class Staging:
    """One submission being assembled; ``commit()`` makes it visible, else it vanishes."""

    def __init__(self, store: "Store", sub_id: str):
        self.store, self.id = store, sub_id
        self.path = store.incoming / f"{sub_id}.{secrets.token_hex(4)}"
        self.path.mkdir(parents=True)
        self.uploads = self.path / ".uploads"  # raw bytes as received, deleted before commit
        self.uploads.mkdir()
        self.committed = False

    @property
    def final(self) -> Path:
        return self.store.submissions / self.id

    def commit(self) -> Path:
        shutil.rmtree(self.uploads, ignore_errors=True)
        for child in self.path.iterdir():
            if child.name.startswith("."):
                raise StorageError(f"unexpected file {child.name} in a staged submission")
        fsync_dir(self.path)
        if self.final.exists():
            raise StorageError(f"submission {self.id} already exists")
        os.rename(self.path, self.final)
        fsync_dir(self.store.submissions)
        self.committed = True
        return self.final

    def discard(self) -> None:
        if not self.committed:
            shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.discard()


class Store:
    """The submissions folder and the private SQLite database."""

    def __init__(self, submissions: Path, private: Path):
        self.submissions = Path(submissions)
        self.private = Path(private)
        self.incoming = self.submissions / INCOMING
        self.db_path = self.private / DB_NAME
        self._lock = threading.Lock()
        self._ready = False

    # -- set-up ----------------------------------------------------------

    def open(self) -> "Store":
        """Create the folders and tables; clear leftovers of interrupted writes."""
        self.submissions.mkdir(parents=True, exist_ok=True)
        self.incoming.mkdir(exist_ok=True)
        self.private.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.chmod(self.private, 0o700)
        con = sqlite3.connect(self.db_path, timeout=SQLITE_TIMEOUT_SECONDS)
        try:
            con.execute("PRAGMA journal_mode = WAL")
            con.executescript(SCHEMA)
            con.executescript(supporters.SCHEMA)
        finally:
            con.close()
        with contextlib.suppress(OSError):
            os.chmod(self.db_path, 0o600)
        self._ready = True
        self.sweep(max_age=0)  # one intake process per site: nothing else is staging now
        return self

    def sweep(self, max_age: float = STAGING_MAX_AGE_SECONDS) -> int:
        """Remove staging leftovers and the private rows of submissions never stored."""
        removed = 0
        cutoff = time.time() - max_age
        for child in self.incoming.iterdir() if self.incoming.is_dir() else []:
            with contextlib.suppress(OSError):
                if child.stat().st_mtime <= cutoff:
                    shutil.rmtree(child, ignore_errors=True)
                    removed += 1
        with self.db() as con:
            for (sub_id,) in con.execute("SELECT id FROM submissions WHERE state = 'staged'"):
                if not (self.submissions / sub_id).is_dir():
                    con.execute("DELETE FROM submissions WHERE id = ?", (sub_id,))
                else:
                    con.execute("UPDATE submissions SET state = 'stored' WHERE id = ?", (sub_id,))
        return removed

    @contextlib.contextmanager
    def db(self):
        """One transaction (BEGIN IMMEDIATE … COMMIT, synchronous FULL).

        Access is serialised in-process by a lock: waiting on a lock is far
        cheaper than SQLite's busy-retry sleeps when many threads write.
        """
        with self._lock, supporters.transaction(self.db_path) as con:
            yield con

    # -- submissions -----------------------------------------------------

    def stage(self, sub_id: str) -> Staging:
        return Staging(self, sub_id)

    def unused_id(self, today: dt.date) -> str:
        for _ in range(10):
            sub_id = new_id(today)
            if not (self.submissions / sub_id).exists():
                return sub_id
        raise StorageError("could not find a free submission id")

    def reserve(self, sub_id: str, source: str, content_hash: str, *, email: str,
                contact_ok: bool, consent: dict, wording: str,
                duplicate_window: float = 0, supporter: dict | None = None) -> str | None:
        """Record the private parts before the folder becomes visible (state 'staged').

        In the same transaction: when a complete submission with the same
        content hash was made within ``duplicate_window`` seconds, nothing is
        recorded and its id is returned instead.
        """
        now = supporters.utcnow()
        since = (now - dt.timedelta(seconds=duplicate_window)).isoformat()
        with self.db() as con:
            if duplicate_window > 0:
                for (first,) in con.execute(
                        "SELECT id FROM submissions WHERE content_hash = ? AND created_at >= ? "
                        "ORDER BY created_at", (content_hash, since)):
                    if (self.submissions / first).is_dir():
                        return first
            con.execute("INSERT INTO submissions VALUES (?, ?, ?, ?, 'staged')",
                        (sub_id, now.isoformat(), source, content_hash))
            con.execute("INSERT INTO consents VALUES (?, ?, ?, ?, ?, ?)",
                        (sub_id, int(consent["publish"]), int(consent["photos"]),
                         int(consent["contact"]), now.isoformat(), wording))
            if email:
                con.execute("INSERT INTO contacts VALUES (?, ?, ?, ?)",
                            (sub_id, email, int(contact_ok), now.isoformat()))
            if supporter:
                supporters.link_intake(con, sub_id, at=now.replace(microsecond=0).isoformat(),
                                       **supporter)
        return None

    def forget(self, sub_id: str) -> None:
        """Drop the private rows of a submission that was not stored."""
        with contextlib.suppress(sqlite3.Error, OSError):
            with self.db() as con:
                con.execute("DELETE FROM submissions WHERE id = ?", (sub_id,))
                supporters.forget_submission(con, sub_id)

    def contact(self, sub_id: str) -> dict | None:
        with self.db() as con:
            row = con.execute("SELECT email, contact_ok FROM contacts WHERE submission_id = ?",
                              (sub_id,)).fetchone()
        return {"email": row[0], "contact_ok": bool(row[1])} if row else None

    def stored_ids(self) -> list[str]:
        """Ids whose folder is complete (a row stays 'staged' until the next sweep)."""
        with self.db() as con:
            ids = [r[0] for r in con.execute("SELECT id FROM submissions ORDER BY id")]
        return [i for i in ids if (self.submissions / i).is_dir()]
