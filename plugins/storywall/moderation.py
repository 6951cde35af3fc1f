"""Moderation as functions over a site folder: review, approve, reject, reply, withdraw.

The state of a story lives in its file, where Git can see it: ``submissions/<id>/``
is the inbox (``status: pending``), ``content/stories/<slug>/`` is the site.
Front matter is edited as text, one top-level field at a time, so the rest of
the file — and the whole body, byte for byte — stays as the author wrote it;
every edit is re-read through the schema before it is written (atomically).

Who decided what, and why, is recorded privately in
``<private dir>/moderation.sqlite`` (table ``decisions``): the story schema has no
field for it, and a rejection's reason must not be public. ``storywall notify``
reads it to tell authors.
"""

from __future__ import annotations

import codecs
import datetime as dt
import getpass
import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import checks, content, frontmatter, schema, supporters
from .errors import ProblemsFound, Problem, StoryWallError

DECISIONS_DB = "moderation.sqlite"
WITHDRAWN_TITLE = "Withdrawn story"
WITHDRAWN_AUTHOR = "Withdrawn"
MAX_SLUG_TRIES = 1000


class ModerationError(StoryWallError):
    """A moderation command that cannot go ahead; the message says what to do."""


class ApprovalRefused(ProblemsFound):
    """``approve`` found problems; carries every one so the CLI can list them."""

    def __init__(self, problems: list[Problem], message: str):
        super().__init__(problems)
        self.args = (message,)


@dataclass(frozen=True)
class Reason:
    title: str
    explanation: str  # written to the author: what happened and what they can do


REASONS: dict[str, Reason] = {
    "missing-consent": Reason(
        "No consent to publish",
        "We can only publish a story when you tell us we may. If you would like it on the "
        "wall, please send it again and tick the box that lets us publish it."),
    "personal-data": Reason(
        "Personal details in the story",
        "Your story included details that could identify you or someone else, such as a "
        "phone number, an e-mail or home address, or another person's full name. Please send "
        "it again without them: first names or initials are fine."),
    "photo-rights": Reason(
        "Photo we cannot use",
        "We can only show photos that you took or may share, and where everyone who can be "
        "recognised agreed to appear. Please send your story again with such a photo, or "
        "without photos."),
    "off-topic": Reason(
        "Not a story about our work",
        "The story wall is for stories about our initiatives and why people give. Yours does "
        "not fit there, but if you have a question or a comment, please contact us directly "
        "and we will answer."),
    "duplicate": Reason(
        "Already on the wall",
        "We already have this story (or one very like it), so we kept one copy. Thank you for "
        "telling it! If you meant to add something new, please send just the new part."),
    "abusive": Reason(
        "Against our community guidelines",
        "Your message contains language that attacks or demeans people, so we will not "
        "publish it. You are welcome to tell your story again in other words."),
    "spam": Reason(
        "Advertising or links",
        "The story wall does not carry advertising or links to promote other sites. If you "
        "have a story of your own to tell, please send it without them."),
    "incomplete": Reason(
        "Too short or unclear",
        "We could not tell what happened from your message. Please tell us a little more: "
        "what you took part in, what happened, and why it mattered to you."),
    "author-request": Reason(
        "Removed at your request",
        "You asked us not to publish your story, so we have deleted it. Thank you for "
        "thinking of us; you can tell us a story again at any time."),
}


# --------------------------------------------------------------------------
# Editing front matter as text.

_TOP_LEVEL_RE = re.compile(r"^(?![\s#-])(?:\"([^\"]+)\"|'([^']+)'|([^:\s][^:]*?))\s*:(?:\s|$)")


@dataclass
class Source:
    """A story file split so it can be written back with the body untouched."""

    bom: bytes
    newline: str
    opening: str
    head: list[str]  # the front-matter lines, each with its line end
    closing: str
    body: str

    @classmethod
    def read(cls, path: Path) -> "Source":
        raw = Path(path).read_bytes()
        bom = codecs.BOM_UTF8 if raw.startswith(codecs.BOM_UTF8) else b""
        text = raw[len(bom):].decode("utf-8")
        lines = re.split(r"(?<=\n)", text)
        if not lines or lines[0].rstrip("\r\n").rstrip() != frontmatter.FENCE:
            raise ModerationError(f"{path}: does not start with '---' front matter")
        for index in range(1, len(lines)):
            if lines[index].rstrip("\r\n").rstrip() in (frontmatter.FENCE, "..."):
                newline = "\r\n" if lines[0].endswith("\r\n") else "\n"
                return cls(bom, newline, lines[0], lines[1:index], lines[index],
                           "".join(lines[index + 1:]))
        raise ModerationError(f"{path}: front matter block is not closed")

    def to_bytes(self) -> bytes:
        return self.bom + (self.opening + "".join(self.head) + self.closing
                           + self.body).encode("utf-8")

    def text(self) -> str:
        return self.to_bytes()[len(self.bom):].decode("utf-8")

    def _block(self, key: str) -> tuple[int, int] | None:
        start = None
        for index, line in enumerate(self.head):
            match = _TOP_LEVEL_RE.match(line)
            name = next((g for g in match.groups() if g), None) if match else None
            if start is None and name == key:
                start = index
            elif start is not None and match:
                return start, index
        return (start, len(self.head)) if start is not None else None

    def _dump(self, key: str, value: Any) -> list[str]:
        text = yaml.dump({key: value}, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                         default_flow_style=False, width=10_000)
        return [line + self.newline for line in text.rstrip("\n").split("\n")]

    def set(self, key: str, value: Any) -> None:
        """Replace the top-level field ``key`` (or add it at the end)."""
        block = self._block(key)
        lines = self._dump(key, value)
        if block is None:
            if self.head and not self.head[-1].endswith(("\n", "\r")):
                self.head[-1] += self.newline
            self.head += lines
        else:
            start, end = block
            tail = [l for l in self.head[start:end] if l.strip() == ""]  # keep blank spacing
            self.head[start:end] = lines + tail

    def drop(self, key: str) -> None:
        block = self._block(key)
        if block is not None:
            del self.head[block[0]:block[1]]


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def _edit(path: Path, changes: dict[str, Any], *, body: str | None = None,
          slug: str, initiatives: set[str]) -> tuple[bytes, schema.Story]:
    """The file with ``changes`` applied (None drops a field), re-read through the schema."""
    source = Source.read(path)
    before = frontmatter.read(path).data
    expected = dict(before)
    for key, value in changes.items():
        if value is None:
            source.drop(key)
            expected.pop(key, None)
        else:
            source.set(key, value)
            expected[key] = value
    if body is not None:
        source.body = body.replace("\n", source.newline)
    text = frontmatter.decode(source.to_bytes())
    try:
        after = frontmatter.parse(text).data
    except frontmatter.FrontMatterError as err:
        raise ModerationError(f"{path}: the edited front matter does not read back "
                              f"({err.message}) — edit the file by hand") from None
    if _plain(after) != _plain(expected):
        raise ModerationError(f"{path}: the front matter could not be edited safely "
                              "— edit the file by hand")
    story, problems = schema.parse_story(path, slug=slug, text=text, initiatives=initiatives,
                                         label=str(path))
    if story is None:
        raise ProblemsFound([p for p in problems if p.is_error])
    return source.to_bytes(), story


def _plain(data: Any) -> Any:
    """Dates and datetimes compared as dates; everything else as it is."""
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    if isinstance(data, dt.datetime):
        return data.date()
    return data


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


# --------------------------------------------------------------------------
# The private record of decisions.


private_dir = supporters.private_dir  # the one private store of the site


@dataclass(frozen=True)
class Decision:
    id: str
    action: str  # approve | reject | reply | withdraw
    moderator: str
    at: str  # UTC, ISO 8601
    slug: str = ""
    reason_code: str = ""
    note: str = ""


_SCHEMA = """CREATE TABLE IF NOT EXISTS decisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL, slug TEXT NOT NULL DEFAULT '', action TEXT NOT NULL,
    reason_code TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '',
    moderator TEXT NOT NULL, at TEXT NOT NULL)"""


def _connect(folder: Path) -> sqlite3.Connection:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    db = sqlite3.connect(folder / DECISIONS_DB, timeout=10)
    db.execute(_SCHEMA)
    return db


def record(folder: Path, decision: Decision) -> None:
    """Append one decision to ``<folder>/moderation.sqlite``."""
    db = _connect(Path(folder))
    try:
        with db:
            db.execute("INSERT INTO decisions (id, slug, action, reason_code, note, moderator, at)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (decision.id, decision.slug, decision.action, decision.reason_code,
                        decision.note, decision.moderator, decision.at))
    finally:
        db.close()


def decisions(folder: Path) -> list[Decision]:
    """Every recorded decision, oldest first (none when nothing was recorded yet)."""
    if not (Path(folder) / DECISIONS_DB).is_file():
        return []
    db = _connect(Path(folder))
    try:
        rows = db.execute("SELECT id, action, moderator, at, slug, reason_code, note "
                          "FROM decisions ORDER BY seq").fetchall()
    finally:
        db.close()
    return [Decision(*row) for row in rows]


def _now() -> str:
    return supporters.now_iso()


def default_moderator(site_dir: Path) -> str:
    """``$STORYWALL_MODERATOR``, else Git's user.name, else the login name."""
    name = os.environ.get("STORYWALL_MODERATOR", "").strip()
    if name:
        return name
    try:
        result = subprocess.run(["git", "-C", str(site_dir), "config", "user.name"],
                                capture_output=True, text=True, timeout=10, check=False)
        if result.returncode == 0 and result.stdout.strip():
            return result.stdout.strip()
    except OSError:
        pass
    return getpass.getuser()


# --------------------------------------------------------------------------
# Review.


@dataclass(frozen=True)
class ReviewRow:
    id: str
    date: str
    kind: str
    initiative: str
    title: str
    flags: tuple[str, ...]
    errors: int
    warnings: int


def _flags(problems: list[Problem]) -> tuple[str, ...]:
    counts: dict[str, int] = {}
    for problem in problems:
        name = problem.code or problem.field
        if problem.is_error:
            name = f"!{name}"
        counts[name] = counts.get(name, 0) + 1
    return tuple(name if n == 1 else f"{name}×{n}" for name, n in counts.items())


def review(site_dir: Path, content_dir: Path) -> list[ReviewRow]:
    """The pending submissions, oldest first, with the check's flags (``!``: an error)."""
    site_dir = Path(site_dir)
    inbox = site_dir / checks.SUBMISSIONS_DIR
    checker = checks.Checker(site_dir, content_dir)
    rows = []
    for folder in sorted(inbox.iterdir()) if inbox.is_dir() else []:
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        path = folder / content.STORY_FILE
        problems = checker.story(path) if path.is_file() else [
            Problem(content.label_for(folder, site_dir), 1, "folder", "has no index.md", "")]
        try:
            data = frontmatter.read(path).data
        except (frontmatter.FrontMatterError, OSError):
            data = {}
        date = data.get("date")
        rows.append(ReviewRow(
            id=folder.name, date=str(date) if date is not None else "",
            kind=str(data.get("kind") or ""), initiative=str(data.get("initiative") or ""),
            title=str(data.get("title") or ""), flags=_flags(problems),
            errors=sum(p.is_error for p in problems),
            warnings=sum(p.severity == "warning" for p in problems)))
    return sorted(rows, key=lambda r: (r.date, r.id))


# --------------------------------------------------------------------------
# Approve.


@dataclass(frozen=True)
class Approval:
    id: str
    slug: str
    path: Path
    title: str
    moderator: str
    on: dt.date
    warnings: tuple[Problem, ...] = ()
    changed: tuple[Path, ...] = ()

    @property
    def commit_message(self) -> str:
        return (f"Approve {self.id} as stories/{self.slug}\n\n{self.title}\n\n"
                f"Approved-by: {self.moderator}\nApproved-on: {self.on.isoformat()}\n")


def submission_folder(site_dir: Path, sub_id: str) -> Path:
    if not sub_id or "/" in sub_id or "\\" in sub_id or sub_id.startswith("."):
        raise ModerationError(f"'{sub_id}' is not a submission id — run `storywall review`")
    folder = Path(site_dir) / checks.SUBMISSIONS_DIR / sub_id
    if not (folder / content.STORY_FILE).is_file():
        raise ModerationError(f"submissions/{sub_id}: no such submission "
                              "— run `storywall review` to list them")
    return folder


def unique_slug(title: str, stories_dir: Path) -> str:
    """A readable slug from the title, with -2, -3… when it is taken."""
    base = checks.slugify(title)
    for n in range(1, MAX_SLUG_TRIES):
        slug = base if n == 1 else f"{base[:schema.SLUG_MAX_CHARS - 5]}-{n}"
        if not (Path(stories_dir) / slug).exists():
            return slug
    raise ModerationError(f"no free slug for '{title}' — pass --slug")


def _check_slug(slug: str, stories_dir: Path) -> str:
    if not schema.SLUG_RE.match(slug) or len(slug) > schema.SLUG_MAX_CHARS:
        raise ModerationError(f"--slug '{slug}' is not a slug — use lowercase-with-hyphens, "
                              f"at most {schema.SLUG_MAX_CHARS} characters")
    if (Path(stories_dir) / slug).exists():
        raise ModerationError(f"content/stories/{slug} already exists — choose another --slug")
    return slug


def approve(site_dir: Path, content_dir: Path, sub_id: str, *, slug: str | None = None,
            moderator: str, confirm: bool = False, today: dt.date | None = None,
            private: Path | None = None, settings=None) -> Approval:
    """Publish ``submissions/<sub_id>/`` as ``content/stories/<slug>/``.

    Refuses (:class:`ApprovalRefused`) when the check finds an error, or a
    warning that the moderator has not confirmed (``confirm``). ``settings`` (the
    site's STORYWALL settings) gives the check its limits.
    """
    site_dir, content_dir = Path(site_dir), Path(content_dir)
    today = today or dt.date.today()
    folder = submission_folder(site_dir, sub_id)
    problems = checks.check_submission(site_dir, content_dir, folder, settings)
    errors = [p for p in problems if p.is_error]
    warnings = [p for p in problems if p.severity == "warning"]
    if errors:
        raise ApprovalRefused(problems, f"submissions/{sub_id}: not approved — {len(errors)} "
                              "error(s) above; fix them in the pull request, or reject it")
    if warnings and not confirm:
        raise ApprovalRefused(warnings, f"submissions/{sub_id}: not approved — {len(warnings)} "
                              "warning(s) above need a moderator's eye: edit the story, or "
                              "approve again with --confirm once you have checked them")
    stories_dir = content_dir / content.STORIES_DIR
    data = frontmatter.read(folder / content.STORY_FILE).data
    slug = _check_slug(slug, stories_dir) if slug else unique_slug(str(data["title"]), stories_dir)
    known = content.initiative_slugs(content_dir)
    new, story = _edit(folder / content.STORY_FILE, {"status": "published"}, slug=slug,
                       initiatives=known)
    if not story.is_published:
        raise ModerationError(f"submissions/{sub_id}: would not be published "
                              "(check consent.publish and consent.withdrawn_on)")
    target = stories_dir / slug
    stories_dir.mkdir(parents=True, exist_ok=True)
    os.rename(folder, target)  # atomic: until index.md is rewritten it is still 'pending'
    _write_atomic(target / content.STORY_FILE, new)
    at = _now()
    store_dir = private or private_dir(site_dir)
    record(store_dir, Decision(id=story.id or sub_id, slug=slug, action="approve",
                               moderator=moderator, at=at))
    supporters.record_decision(store_dir, story.id or sub_id, "approve", at=at)
    return Approval(id=sub_id, slug=slug, path=target, title=story.title, moderator=moderator,
                    on=today, warnings=tuple(warnings), changed=(folder, target))


# --------------------------------------------------------------------------
# Reject.


@dataclass(frozen=True)
class Rejection:
    id: str
    code: str
    reason: Reason
    changed: tuple[Path, ...] = ()

    @property
    def commit_message(self) -> str:
        return f"Reject {self.id}: {self.reason.title.lower()}\n"  # the note stays private


def reason_for(code: str) -> Reason:
    if code not in REASONS:
        raise ModerationError(f"'{code}' is not a reason code — use one of: "
                              + ", ".join(REASONS))
    return REASONS[code]


def reject(site_dir: Path, sub_id: str, code: str, *, moderator: str, note: str = "",
           private: Path | None = None) -> Rejection:
    """Delete ``submissions/<sub_id>/`` and record why, privately."""
    site_dir = Path(site_dir)
    reason = reason_for(code)
    folder = submission_folder(site_dir, sub_id)
    try:
        story_id = frontmatter.read(folder / content.STORY_FILE).data.get("id") or sub_id
    except (frontmatter.FrontMatterError, OSError):
        story_id = sub_id
    trash = folder.with_name(f".rejected-{sub_id}-{os.getpid()}")
    os.rename(folder, trash)  # gone from the inbox at once, even if deleting is slow
    shutil.rmtree(trash)
    at = _now()
    store_dir = private or private_dir(site_dir)
    record(store_dir, Decision(id=str(story_id), action="reject", reason_code=code,
                               note=note.strip(), moderator=moderator, at=at))
    supporters.record_decision(store_dir, str(story_id), "reject", at=at, reason_code=code)
    return Rejection(id=sub_id, code=code, reason=reason, changed=(folder,))


# --------------------------------------------------------------------------
# Reply and withdraw.


def story_file(site_dir: Path, content_dir: Path, slug: str) -> Path:
    """``content/stories/<slug>/index.md``, else ``submissions/<slug>/index.md``."""
    if not slug or "/" in slug or "\\" in slug or slug.startswith("."):
        raise ModerationError(f"'{slug}' is not a story's slug")
    for path in (Path(content_dir) / content.STORIES_DIR / slug / content.STORY_FILE,
                 Path(site_dir) / checks.SUBMISSIONS_DIR / slug / content.STORY_FILE):
        if path.is_file():
            return path
    raise ModerationError(f"no story '{slug}' in content/stories/ or submissions/ "
                          "— check the slug (its folder's name)")


@dataclass(frozen=True)
class Change:
    slug: str
    path: Path
    message: str
    changed: tuple[Path, ...] = ()

    @property
    def commit_message(self) -> str:
        return self.message


def reply(site_dir: Path, content_dir: Path, slug: str, text: str | None, *, author: str,
          moderator: str, today: dt.date | None = None, private: Path | None = None) -> Change:
    """Add or replace the organisation's public reply (``text=None`` removes it)."""
    today = today or dt.date.today()
    path = story_file(site_dir, content_dir, slug)
    value = None
    if text is not None:
        text = text.strip()
        low, high = schema.REPLY_TEXT_CHARS
        if not low <= len(text) <= high:
            raise ModerationError(f"--text must be {low}–{high} characters (it is {len(text)})")
        value = {"author": author.strip(), "text": text, "date": today}
    known = content.initiative_slugs(content_dir)
    new, story = _edit(path, {"reply": value}, slug=slug, initiatives=known)
    _write_atomic(path, new)
    record(private or private_dir(site_dir), Decision(
        id=story.id or slug, slug=slug, action="reply" if value else "unreply",
        moderator=moderator, at=_now()))
    verb = "Reply to" if value else "Remove the reply to"
    return Change(slug, path, f"{verb} stories/{slug}\n\nReplied-by: {moderator}\n",
                  (path,))


def withdraw(site_dir: Path, content_dir: Path, slug: str, *, moderator: str,
             note: str = "", keep_text: bool = False, today: dt.date | None = None,
             private: Path | None = None) -> Change:
    """Take a published story down: ``status: withdrawn``, consent withdrawn, files deleted.

    The photos, video and every other file beside ``index.md`` are deleted; unless
    ``keep_text``, the title, author, quote, tags, reply and body are replaced by
    a short note, so the working tree no longer holds the author's words.
    """
    today = today or dt.date.today()
    path = Path(content_dir) / content.STORIES_DIR / slug / content.STORY_FILE
    if not path.is_file():
        if (Path(site_dir) / checks.SUBMISSIONS_DIR / slug).is_dir():
            raise ModerationError(f"submissions/{slug} is not published — delete it with "
                                  f"`storywall reject {slug} --reason author-request`")
        raise ModerationError(f"no story content/stories/{slug} — check the slug")
    data = frontmatter.read(path).data
    consent = data.get("consent") if isinstance(data.get("consent"), dict) else {}
    if data.get("status") == "withdrawn":
        raise ModerationError(f"stories/{slug} was already withdrawn on "
                              f"{consent.get('withdrawn_on', 'an earlier day')}")
    consent = {"publish": False, "photos": False,
               "given_on": consent.get("given_on") or today, "withdrawn_on": today}
    changes: dict[str, Any] = {"status": "withdrawn", "consent": consent,
                               "photos": None, "video": None, "featured": None}
    body = None
    if not keep_text:
        changes.update({"title": WITHDRAWN_TITLE, "author": WITHDRAWN_AUTHOR, "quote": None,
                        "tags": None, "reply": None})
        body = f"Removed at the author's request on {today.isoformat()}.\n"
    # Photos, video, captions and anything else beside index.md.
    folder_files = [p for p in sorted(path.parent.iterdir()) if p.name != content.STORY_FILE]
    known = content.initiative_slugs(content_dir) | {str(data.get("initiative", ""))}
    new, story = _edit(path, changes, body=body, slug=slug, initiatives=known)
    for extra in folder_files:
        if extra.is_dir():
            shutil.rmtree(extra)
        else:
            extra.unlink()
    _write_atomic(path, new)
    record(private or private_dir(site_dir), Decision(
        id=story.id or slug, slug=slug, action="withdraw", note=note.strip(),
        moderator=moderator, at=_now()))
    return Change(slug, path, f"Withdraw stories/{slug} at the author's request\n\n"
                  f"Withdrawn-by: {moderator}\nWithdrawn-on: {today.isoformat()}\n",
                  (path.parent,))


# --------------------------------------------------------------------------
# Git.


def git_commit(site_dir: Path, paths: list[Path], message: str) -> str:
    """Stage ``paths`` (new, changed or deleted) and commit only them; return the commit id."""
    site_dir = Path(site_dir)

    def git(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run(["git", "-C", str(site_dir), *args], capture_output=True,
                                text=True, timeout=60, check=False)
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()[:1] or ["failed"]
            raise ModerationError(f"git {args[0]}: {detail[0]}")
        return result

    relative = [os.path.relpath(p, site_dir) for p in paths]
    keep = [r for r in relative if (site_dir / r).exists() or git("ls-files", "--", r).stdout]
    if not keep:
        raise ModerationError("git commit: nothing to commit")
    git("add", "-A", "--", *keep)
    git("commit", "-q", "-m", message, "--", *keep)
    return git("rev-parse", "HEAD").stdout.strip()
