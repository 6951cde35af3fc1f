"""Git mode: each submission on its own branch ``submission/<id>``, pushed, with a PR.

The commit is made with Git's plumbing and a temporary index, starting from
the base branch, so it holds exactly ``submissions/<id>/`` and nothing else,
and the work tree and the checked-out branch are never touched. All Git work
runs under one lock. The queue lives in the private SQLite database: a push
that fails stays queued and is retried later (with a growing wait); the
folder stays on disk either way, so nothing is lost.

With a token (``GITHUB_TOKEN``) and a repository (``GITHUB_REPOSITORY``), a
pull request is opened through the GitHub REST API. Its title and body hold
only public fields and the check results — never an e-mail or an IP address.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from email.utils import parseaddr
from pathlib import Path

from .. import schema
from ..errors import StoryWallError
from . import limits
from .storage import INDEX, Store

logger = logging.getLogger("storywall.intake.git")
PREFIX = "storywall.intake.git: "
BRANCH_PREFIX = "submission/"


class GitError(StoryWallError):
    """A git command failed (its first line of stderr is the message)."""


class GitFlow:
    def __init__(self, store: Store, repo_dir: Path, *, remote: str = "origin", base: str = "",
                 author: str = "Story Wall intake <intake@localhost>",
                 retry_seconds: float = limits.GIT_RETRY_SECONDS,
                 github_api_url: str = "https://api.github.com", github_token: str = "",
                 github_repository: str = ""):
        self.store = store
        self.repo = Path(repo_dir).resolve()
        self.remote, self.retry_seconds = remote, retry_seconds
        name, email = parseaddr(author)
        self.author = (name or "Story Wall intake", email or "intake@localhost")
        self.api_url = github_api_url.rstrip("/")
        self._token, self.repository = github_token, github_repository
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            self.git("rev-parse", "--git-dir")
        except GitError:
            raise GitError(f"Git mode: {self.repo} is not a Git work tree — clone the site's "
                           "repository there, or run without --git") from None
        self.base = base or self._current_branch()

    # -- git ---------------------------------------------------------------

    def git(self, *args: str, env: dict | None = None) -> str:
        full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C",
                    "GIT_AUTHOR_NAME": self.author[0], "GIT_AUTHOR_EMAIL": self.author[1],
                    "GIT_COMMITTER_NAME": self.author[0], "GIT_COMMITTER_EMAIL": self.author[1],
                    **(env or {})}
        try:
            done = subprocess.run(["git", "-C", str(self.repo), *args], env=full_env,
                                  capture_output=True, text=True,
                                  timeout=limits.GIT_TIMEOUT_SECONDS)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise GitError(f"git {args[0]}: {err}") from None
        if done.returncode != 0:
            first = (done.stderr.strip().splitlines() or ["failed"])[0]
            raise GitError(f"git {args[0]}: {first}")
        return done.stdout.strip()

    def _current_branch(self) -> str:
        try:
            return self.git("symbolic-ref", "--short", "HEAD")
        except GitError:
            return "main"

    def _relative(self, sub_id: str) -> str:
        folder = (self.store.submissions / sub_id).resolve()
        try:
            return folder.relative_to(self.repo).as_posix()
        except ValueError:
            raise GitError(f"{folder} is outside the Git work tree {self.repo}") from None

    def commit(self, sub_id: str) -> str:
        """Create (or find) ``submission/<id>``: the base commit plus this folder only."""
        branch = BRANCH_PREFIX + sub_id
        try:
            return self.git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}")
        except GitError:
            pass
        base = self.git("rev-parse", "--verify", f"{self.base}^{{commit}}")
        rel = self._relative(sub_id)
        with tempfile.TemporaryDirectory(prefix="storywall-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self.git("read-tree", base, env=env)
            self.git("add", "--force", "--", rel, env=env)
            tree = self.git("write-tree", env=env)
        title = self._public(sub_id).get("title", "")
        message = f"Submission {sub_id}: {title}".strip().rstrip(":")
        sha = self.git("commit-tree", tree, "-p", base, "-m", message)
        self.git("update-ref", f"refs/heads/{branch}", sha, "")
        return sha

    def push(self, sub_id: str) -> None:
        branch = BRANCH_PREFIX + sub_id
        self.git("push", "--quiet", self.remote, f"refs/heads/{branch}:refs/heads/{branch}")

    # -- pull requests -----------------------------------------------------

    def _public(self, sub_id: str) -> dict:
        path = self.store.submissions / sub_id / INDEX
        story, problems = schema.parse_story(path, label=f"submissions/{sub_id}/{INDEX}")
        if story is None:
            return {"problems": [str(p) for p in problems]}
        return {"title": story.title, "kind": story.kind, "rating": story.rating,
                "author": story.author, "initiative": story.initiative,
                "date": story.date.isoformat(), "photos": [p.alt for p in story.photos],
                "consent_publish": story.consent.publish, "consent_photos": story.consent.photos,
                "problems": [str(p) for p in problems]}

    def pr_text(self, sub_id: str) -> tuple[str, str]:
        """Title and body of the pull request: public fields and check results only."""
        info = self._public(sub_id)
        kind = info.get("kind", "submission")
        title = f"{kind.capitalize()}: {info.get('title', sub_id)}"[:200]
        rows = [("Submission", f"`{sub_id}`"), ("Kind", kind),
                ("Initiative", info.get("initiative", "")),
                ("Shown as", info.get("author", "")), ("Told on", info.get("date", ""))]
        if info.get("rating"):
            rows.append(("Rating", f"{info['rating']} of 5"))
        rows.append(("Consent", f"publish: {info.get('consent_publish')}, "
                                f"photos: {info.get('consent_photos')}"))
        lines = ["| | |", "|---|---|"] + [f"| {k} | {_cell(v)} |" for k, v in rows]
        if info.get("photos"):
            lines += ["", "**Photos** (metadata stripped at intake):"]
            lines += [f"- {_cell(alt)}" for alt in info["photos"]]
        lines += ["", "**Checks:** " + ("schema ✔, no warnings" if not info["problems"]
                                        else "; ".join(info["problems"]))]
        lines += ["", "Approve with `storywall approve " + sub_id + "`, or reject with a reason."]
        return title, "\n".join(lines)

    def open_pr(self, sub_id: str) -> str:
        if not (self._token and self.repository):
            return ""
        title, body = self.pr_text(sub_id)
        payload = json.dumps({"title": title, "body": body, "head": BRANCH_PREFIX + sub_id,
                              "base": self.base}).encode("utf-8")
        req = urllib.request.Request(
            f"{self.api_url}/repos/{self.repository}/pulls", data=payload, method="POST",
            headers={"Authorization": f"Bearer {self._token}",
                     "Accept": "application/vnd.github+json",
                     "X-GitHub-Api-Version": "2022-11-28", "Content-Type": "application/json",
                     "User-Agent": "storywall-intake"})
        try:
            with urllib.request.urlopen(req, timeout=limits.GITHUB_TIMEOUT_SECONDS) as resp:
                return json.load(resp).get("html_url", "") or "opened"
        except urllib.error.HTTPError as err:
            detail = err.read(2000).decode("utf-8", "replace")
            if err.code == 422 and "already exists" in detail:
                return "exists"
            raise GitError(f"GitHub API: HTTP {err.code} opening the pull request") from None
        except (urllib.error.URLError, OSError, ValueError) as err:
            raise GitError(f"GitHub API: {type(err).__name__}") from None

    # -- the queue ---------------------------------------------------------

    def enqueue(self, sub_id: str) -> None:
        with self.store.db() as con:
            con.execute("INSERT OR IGNORE INTO git_queue (submission_id, state) "
                        "VALUES (?, 'queued')", (sub_id,))
        self._wake.set()

    def pending(self) -> int:
        with self.store.db() as con:
            return con.execute("SELECT COUNT(*) FROM git_queue WHERE state != 'done'"
                               ).fetchone()[0]

    def recover(self) -> int:
        """Queue every stored submission that has no branch yet (after a crash)."""
        added = 0
        for sub_id in self.store.stored_ids():
            if not (self.store.submissions / sub_id).is_dir():
                continue
            with self.store.db() as con:
                known = con.execute("SELECT 1 FROM git_queue WHERE submission_id = ?",
                                    (sub_id,)).fetchone()
                if not known:
                    con.execute("INSERT INTO git_queue (submission_id, state) "
                                "VALUES (?, 'queued')", (sub_id,))
                    added += 1
        return added

    def process(self, sub_id: str) -> bool:
        """Commit, push and open the PR for one queued submission; True when done."""
        with self._lock:
            try:
                sha = self.commit(sub_id)
                self.push(sub_id)
                pr = self.open_pr(sub_id)
            except GitError as err:
                self._failed(sub_id, str(err))
                return False
            with self.store.db() as con:
                con.execute("UPDATE git_queue SET state = 'done', commit_sha = ?, pr_url = ?, "
                            "last_error = '' WHERE submission_id = ?", (sha, pr, sub_id))
            logger.info("%spushed id=%s branch=%s%s pr=%s", PREFIX, sub_id, BRANCH_PREFIX,
                        sub_id, "yes" if pr else "no")
            return True

    def _failed(self, sub_id: str, error: str) -> None:
        with self.store.db() as con:
            row = con.execute("SELECT attempts FROM git_queue WHERE submission_id = ?",
                              (sub_id,)).fetchone()
            attempts = (row[0] if row else 0) + 1
            wait = min(self.retry_seconds * 2 ** (attempts - 1), limits.GIT_RETRY_MAX_SECONDS)
            con.execute("UPDATE git_queue SET attempts = ?, next_try = ?, last_error = ? "
                        "WHERE submission_id = ?", (attempts, time.time() + wait, error, sub_id))
        logger.warning("%sid=%s stays queued (attempt %d, retry in %ds): %s", PREFIX, sub_id,
                       attempts, wait, error)

    def due(self, now: float | None = None) -> list[str]:
        now = time.time() if now is None else now
        with self.store.db() as con:
            return [r[0] for r in con.execute(
                "SELECT submission_id FROM git_queue WHERE state != 'done' AND next_try <= ? "
                "ORDER BY submission_id", (now,))]

    def drain(self, now: float | None = None) -> tuple[int, int]:
        """Process every due entry now; (done, still queued)."""
        done = failed = 0
        for sub_id in self.due(now):
            if self.process(sub_id):
                done += 1
            else:
                failed += 1
        return done, failed

    # -- background worker -------------------------------------------------

    def start(self, poll_seconds: float = 5.0) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, args=(poll_seconds,),
                                        name="storywall-git", daemon=True)
        self._thread.start()

    def _run(self, poll_seconds: float) -> None:
        while not self._stop.is_set():
            try:
                self.drain()
            except Exception:  # noqa: BLE001 - the worker must survive anything
                logger.exception("%sthe Git queue failed; retrying later", PREFIX)
            self._wake.wait(poll_seconds)
            self._wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None


def _cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")
