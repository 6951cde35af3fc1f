"""The one schema: what a valid story, review, initiative and page is.

Every reader of content — the build, ``storywall check`` and the intake
server — goes through the ``parse_*`` functions here. They return a typed,
frozen object (or None) and a list of :class:`~storywall.errors.Problem`, each
naming the file, line and field, what is wrong and how to fix it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection

from . import frontmatter
from .errors import ERROR, WARNING, Problem

# Limits (characters unless stated).
TITLE_CHARS = (3, 120)
AUTHOR_CHARS = (1, 60)
QUOTE_MAX_CHARS = 200
ALT_CHARS = (1, 250)
CAPTION_MAX_CHARS = 300
BODY_CHARS = (1, 10_000)
TRANSCRIPT_CHARS = (1, 20_000)
REPLY_TEXT_CHARS = (1, 2_000)
MAX_PHOTOS = 6
MAX_TAGS = 10
TAG_CHARS = (1, 30)
RATING_RANGE = (1, 5)
SUMMARY_CHARS = (1, 300)
FIGURE_LABEL_CHARS = (1, 80)
UNIT_MAX_CHARS = 40
SOURCE_TEXT_CHARS = (1, 200)
FAQ_TEXT_CHARS = (1, 2_000)
MAX_FIGURES = 100
MAX_FAQ = 30

KINDS = ("story", "review")
SOURCES = ("form", "email", "import", "staff")
STATUSES = ("pending", "published", "withdrawn")
INITIATIVE_STATUSES = ("active", "completed")
PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".heic", ".heif")
VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v", ".webm")

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ID_RE = re.compile(r"^\d{4}-\d{2}-\d{2}-[a-z0-9]{6,12}$")
FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
RAW_HTML_RE = re.compile(r"<\s*/?\s*(?!(?:https?|mailto):)[A-Za-z][^>]*>")  # not <https://…>
SLUG_MAX_CHARS = 80


@dataclass(frozen=True)
class Photo:
    file: str
    alt: str
    caption: str = ""


@dataclass(frozen=True)
class Video:
    file: str
    transcript: str
    captions: str = ""
    caption: str = ""
    poster_time: float = 0.0


@dataclass(frozen=True)
class Consent:
    publish: bool
    photos: bool
    given_on: dt.date
    withdrawn_on: dt.date | None = None


@dataclass(frozen=True)
class Reply:
    author: str
    text: str
    date: dt.date


@dataclass(frozen=True)
class Story:
    """A story or review, as told by a supporter (``kind`` tells which)."""

    path: str
    slug: str
    title: str
    kind: str
    author: str
    initiative: str
    date: dt.date
    consent: Consent
    source: str
    status: str
    body: str
    rating: int | None = None
    quote: str = ""
    photos: tuple[Photo, ...] = ()
    video: Video | None = None
    id: str = ""
    tags: tuple[str, ...] = ()
    featured: bool = False
    reply: Reply | None = None

    @property
    def is_review(self) -> bool:
        return self.kind == "review"

    @property
    def is_published(self) -> bool:
        return is_published(self)


@dataclass(frozen=True)
class Figure:
    label: str
    value: float
    unit: str
    as_of: dt.date
    source: str


@dataclass(frozen=True)
class Goal:
    label: str
    value: float
    unit: str


@dataclass(frozen=True)
class Question:
    q: str
    a: str


@dataclass(frozen=True)
class Initiative:
    path: str
    slug: str
    title: str
    summary: str
    status: str
    body: str
    photo: str = ""
    alt: str = ""
    donate_url: str = ""
    goal: Goal | None = None
    figures: tuple[Figure, ...] = ()
    faq: tuple[Question, ...] = ()

    def current_figures(self) -> list[Figure]:
        """The newest figure per label, in the order labels first appear."""
        newest: dict[str, Figure] = {}
        for fig in self.figures:
            if fig.label not in newest or fig.as_of > newest[fig.label].as_of:
                newest[fig.label] = fig
        return list(newest.values())

    def history(self, label: str) -> list[Figure]:
        """Every figure reported under ``label``, oldest first."""
        return sorted((f for f in self.figures if f.label == label), key=lambda f: f.as_of)

    @property
    def headline(self) -> Figure | None:
        """The current figure that matches the goal's label, else the first current one."""
        current = self.current_figures()
        if self.goal:
            for fig in current:
                if fig.label == self.goal.label:
                    return fig
        return current[0] if current else None


@dataclass(frozen=True)
class Page:
    path: str
    slug: str
    title: str
    body: str
    summary: str = ""
    template: str = "page"


def is_published(story: Story) -> bool:
    """Published means: status published, consent to publish, not withdrawn."""
    consent = story.consent
    return (
        story.status == "published"
        and consent.publish is True
        and consent.withdrawn_on is None
    )


# --------------------------------------------------------------------------
# Field checking: a small cursor over one mapping that records problems.


class _Fields:
    """Reads typed fields out of one mapping, recording a Problem for each fault."""

    def __init__(self, doc: frontmatter.Document, path: str, problems: list, prefix=()):
        self.doc = doc
        self.path = path
        self.problems = problems
        self.prefix = tuple(prefix)

    def name(self, *keys) -> str:
        parts = ""
        for key in self.prefix + tuple(keys):
            parts += f"[{key}]" if isinstance(key, int) else (f".{key}" if parts else key)
        return parts

    def problem(self, keys, message, hint, severity=ERROR, code=""):
        keys = tuple(keys) if isinstance(keys, (tuple, list)) else (keys,)
        line = self.doc.line_of(*(self.prefix + keys))
        self.problems.append(
            Problem(self.path, line, self.name(*keys), message, hint, severity, code)
        )

    def child(self, *keys) -> "_Fields":
        return _Fields(self.doc, self.path, self.problems, self.prefix + keys)

    # -- structure ---------------------------------------------------------

    def unknown(self, data: dict, allowed: Collection[str]) -> None:
        for key in data:
            if key in allowed:
                continue
            close = difflib.get_close_matches(str(key), list(allowed), n=1)
            hint = f"did you mean '{close[0]}'?" if close else "remove it"
            self.problem(
                str(key), "unknown field", f"{hint} (allowed: {', '.join(allowed)})",
                code="unknown-field",
            )

    def mapping(self, data: dict, key: str, required: bool = True) -> dict | None:
        value = self.get(data, key, required, "a set of sub-fields")
        if value is None:
            return None
        if not isinstance(value, dict):
            self.problem(key, f"must be a set of sub-fields, not {_kind(value)}",
                         "indent 'name: value' lines under it")
            return None
        return value

    def missing(self, key: str, what: str) -> None:
        self.problem(key, "is missing", f"add '{key}:' with {what}", code="missing")

    def get(self, data: dict, key: str, required: bool, what: str):
        """The value at ``key``; None (and a 'missing' problem if required) when absent."""
        value = data.get(key)
        if value is None and required:
            self.missing(key, what)
        return value

    # -- scalars -----------------------------------------------------------

    def text(self, data, key, limits, required=True, default=""):
        value = self.get(data, key, required, f"text of {limits[0]}–{limits[1]} characters")
        if value is None:
            return default
        if not isinstance(value, str):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            else:
                self.problem(key, f"must be text, not {_kind(value)}", "write it as plain text")
                return default
        value = value.strip()
        low, high = limits
        if len(value) < low:
            self.problem(key, "is empty" if not value else f"is too short ({len(value)} characters)",
                         f"write at least {low} characters", code="too-short")
        elif len(value) > high:
            self.problem(key, f"is too long ({len(value)} characters, limit {high})",
                         f"shorten it to {high} characters or fewer", code="too-long")
        return value

    def choice(self, data, key, choices, required=True):
        value = self.get(data, key, required, "one of " + ", ".join(choices))
        if value is None:
            return None
        if value not in choices:
            self.problem(key, f"'{value}' is not allowed", "use one of " + ", ".join(choices))
            return None
        return value

    def date(self, data, key, required=True):
        value = self.get(data, key, required, "a date like 2026-10-31")
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.problem(key, f"'{value}' is not a date", "write it as YYYY-MM-DD, e.g. 2026-10-31",
                     code="bad-date")
        return None

    def boolean(self, data, key, required=True, default=False):
        value = self.get(data, key, required, "true or false")
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(key, f"must be true or false, not {_kind(value)}",
                         "write true or false without quotes")
            return default
        return value

    def number(self, data, key, required=True, minimum=0):
        value = self.get(data, key, required, "a number")
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.problem(key, f"must be a number, not {_kind(value)}", "write digits only, e.g. 450")
            return None
        if value != value or value in (float("inf"), float("-inf")) or value < minimum:
            self.problem(key, f"{value} is out of range", f"use a number of at least {minimum}")
            return None
        return value

    def items(self, data, key, limit, required=False):
        value = self.get(data, key, required, "a list")
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(key, f"must be a list, not {_kind(value)}", "write one '- ' item per line")
            return []
        if len(value) > limit:
            self.problem(key, f"has {len(value)} items, limit {limit}",
                         f"keep at most {limit}", code="too-many")
            value = value[:limit]
        return value

    def filename(self, data, key, extensions, folder: Path | None, required=True):
        value = self.text(data, key, (1, 100), required=required)
        if not value:
            return value
        if not FILE_RE.match(value) or ".." in value:
            self.problem(key, f"'{value}' is not a plain file name",
                         "give just the file's name, with no folders, e.g. photo1.jpg",
                         code="bad-filename")
            return ""
        if not value.lower().endswith(tuple(extensions)):
            self.problem(key, f"'{value}' has an unsupported type",
                         "use " + ", ".join(e.lstrip(".") for e in extensions),
                         code="bad-filetype")
            return ""
        if folder is not None and not (folder / value).is_file():
            self.problem(key, f"file '{value}' is not in the story's folder",
                         "add the file beside index.md or fix the name", code="missing-file")
        return value


def _kind(value: Any) -> str:
    names = {bool: "true/false", int: "a number", float: "a number", str: "text",
             list: "a list", dict: "a set of fields", dt.date: "a date"}
    return names.get(type(value), type(value).__name__)


def _read(path: Path, label: str, text: str | None, problems: list):
    """Decode and split a file; a structural error becomes one Problem."""
    try:
        if text is None:
            text = frontmatter.decode(Path(path).read_bytes())
        return frontmatter.parse(text)
    except frontmatter.FrontMatterError as err:
        problems.append(Problem(label, err.line, "front matter", err.message, err.hint))
    except OSError as err:
        problems.append(Problem(label, 1, "file", f"cannot be read ({err.strerror})",
                                "check the path and permissions"))
    return None


# --------------------------------------------------------------------------
# Stories and reviews.

STORY_FIELDS = ("title", "kind", "author", "initiative", "date", "rating", "quote",
                "photos", "video", "consent", "source", "id", "status", "tags",
                "featured", "reply")


def parse_story(path: Path | str, *, slug: str | None = None, text: str | None = None,
                initiatives: Collection[str] | None = None, check_files: bool = True,
                label: str | None = None) -> tuple[Story | None, list[Problem]]:
    """Parse and validate one story file.

    ``initiatives`` is the set of known initiative slugs (None: not checked).
    ``label`` is the path shown in problems (default: ``path``).
    """
    path = Path(path)
    label = label or str(path)
    problems: list[Problem] = []
    doc = _read(path, label, text, problems)
    if doc is None:
        return None, problems
    story = _story_from(doc, path, label, slug or path.parent.name, initiatives,
                        path.parent if check_files else None, problems)
    problems.sort(key=lambda p: p.line)
    if any(p.is_error for p in problems):
        return None, problems
    return story, problems


def _story_from(doc, path, label, slug, initiatives, folder, problems):
    data = doc.data
    f = _Fields(doc, label, problems)
    f.unknown(data, STORY_FIELDS)
    kind = f.choice(data, "kind", KINDS)
    initiative = _initiative_ref(f, data, initiatives)
    consent = _consent(f, data)
    status = f.choice(data, "status", STATUSES)
    photos = _photos(f, data, folder)
    _check_rating(f, data, kind)
    video = _video(f, data, folder)
    _check_consent_matches(f, consent, status, photos, video)
    body = _body(f, doc, label, problems)
    return Story(
        path=str(path), slug=slug, title=f.text(data, "title", TITLE_CHARS), kind=kind,
        author=f.text(data, "author", AUTHOR_CHARS), initiative=initiative,
        date=f.date(data, "date"), consent=consent, source=f.choice(data, "source", SOURCES),
        status=status, body=body,
        rating=data.get("rating") if kind == "review" else None,
        quote=f.text(data, "quote", (1, QUOTE_MAX_CHARS), required=False),
        photos=photos, video=video, id=_story_id(f, data),
        tags=_tags(f, data), featured=f.boolean(data, "featured", required=False),
        reply=_reply(f, data),
    )


def _initiative_ref(f, data, initiatives):
    value = f.text(data, "initiative", (1, SLUG_MAX_CHARS))
    if not value:
        return value
    if not SLUG_RE.match(value):
        f.problem("initiative", f"'{value}' is not a slug",
                  "use the initiative's file name, e.g. clean-water")
    elif initiatives is not None and value not in initiatives:
        close = difflib.get_close_matches(value, list(initiatives), n=1)
        hint = f"did you mean '{close[0]}'?" if close else (
            "use one of: " + ", ".join(sorted(initiatives)) if initiatives
            else "add content/initiatives/" + value + ".md")
        f.problem("initiative", f"'{value}' does not exist", hint, code="unknown-initiative")
    return value


def _check_rating(f, data, kind):
    rating = data.get("rating")
    if kind == "story" and rating is not None:
        f.problem("rating", "a story has no rating", "remove it, or set kind: review")
    if kind != "review":
        return
    if rating is None:
        f.missing("rating", "a whole number of stars from 1 to 5")
    elif isinstance(rating, bool) or not isinstance(rating, int):
        f.problem("rating", f"must be a whole number, not {_kind(rating)}", "use 1, 2, 3, 4 or 5")
    elif not RATING_RANGE[0] <= rating <= RATING_RANGE[1]:
        f.problem("rating", f"{rating} is out of range", "use 1, 2, 3, 4 or 5")


def _consent(f, data):
    consent = f.mapping(data, "consent")
    if consent is None:
        return Consent(publish=False, photos=False, given_on=dt.date.min)
    c = f.child("consent")
    c.unknown(consent, ("publish", "photos", "given_on", "withdrawn_on"))
    return Consent(
        publish=c.boolean(consent, "publish"),
        photos=c.boolean(consent, "photos"),
        given_on=c.date(consent, "given_on") or dt.date.min,
        withdrawn_on=c.date(consent, "withdrawn_on", required=False),
    )


def _check_consent_matches(f, consent, status, photos, video=None):
    if status == "published" and consent.publish is not True:
        f.problem(("consent", "publish"), "is not true, but status is published",
                  "only publish with the author's consent: set status: pending",
                  code="no-consent")
    if status == "published" and consent.withdrawn_on is not None:
        f.problem(("consent", "withdrawn_on"), "consent was withdrawn, but status is published",
                  "set status: withdrawn (storywall withdraw SLUG)", code="withdrawn")
    if (photos or video) and status != "withdrawn" and consent.photos is not True:
        what = "photos" if photos else "a video"  # consent.photos covers photos and video
        f.problem(("consent", "photos"), f"is not true, but the story has {what}",
                  f"remove the {'photos' if photos else 'video'} or ask the author for consent",
                  code="no-photo-consent")


def _photos(f, data, folder):
    photos = []
    for index, item in enumerate(f.items(data, "photos", MAX_PHOTOS)):
        p = f.child("photos", index)
        if not isinstance(item, dict):
            f.problem(("photos", index), "must have 'file' and 'alt'",
                      "write '- file: name.jpg' and an 'alt:' line")
            continue
        p.unknown(item, ("file", "alt", "caption"))
        photos.append(Photo(
            file=p.filename(item, "file", PHOTO_EXTENSIONS, folder),
            alt=p.text(item, "alt", ALT_CHARS),
            caption=p.text(item, "caption", (1, CAPTION_MAX_CHARS), required=False),
        ))
    return tuple(photos)


def _video(f, data, folder):
    video = f.mapping(data, "video", required=False)
    if video is None:
        return None
    v = f.child("video")
    v.unknown(video, ("file", "transcript", "captions", "caption", "poster_time"))
    captions = ""
    if video.get("captions") is not None:
        captions = v.filename(video, "captions", (".vtt",), folder)
    return Video(
        file=v.filename(video, "file", VIDEO_EXTENSIONS, folder),
        transcript=v.text(video, "transcript", TRANSCRIPT_CHARS),
        captions=captions,
        caption=v.text(video, "caption", (1, CAPTION_MAX_CHARS), required=False),
        poster_time=v.number(video, "poster_time", required=False) or 0.0,
    )


def _story_id(f, data):
    value = data.get("id")
    if value is None:
        return ""
    if not isinstance(value, str) or not ID_RE.match(value):
        f.problem("id", f"'{value}' is not a submission id",
                  "use YYYY-MM-DD- and 6–12 lowercase letters or digits, e.g. 2026-10-31-k3j9x2")
        return ""
    return value


def _tags(f, data):
    tags = []
    for index, item in enumerate(f.items(data, "tags", MAX_TAGS)):
        t = f.child("tags")
        tag = t.text({index: item}, index, TAG_CHARS)
        if tag:
            tags.append(tag)
    return tuple(tags)


def _reply(f, data):
    reply = f.mapping(data, "reply", required=False)
    if reply is None:
        return None
    r = f.child("reply")
    r.unknown(reply, ("author", "text", "date"))
    return Reply(author=r.text(reply, "author", AUTHOR_CHARS),
                 text=r.text(reply, "text", REPLY_TEXT_CHARS), date=r.date(reply, "date"))


def _body(f, doc, label, problems, limits=BODY_CHARS):
    body = doc.body.strip("\n")
    text = body.strip()
    if len(text) < limits[0]:
        problems.append(Problem(label, doc.body_line, "body", "is empty",
                                "write the story below the closing '---'", code="empty-body"))
    elif len(text) > limits[1]:
        problems.append(Problem(label, doc.body_line, "body",
                                f"is too long ({len(text)} characters, limit {limits[1]})",
                                "shorten the story", code="too-long"))
    match = RAW_HTML_RE.search(body)
    if match:
        line = doc.body_line + body[: match.start()].count("\n")
        problems.append(Problem(label, line, "body", "contains HTML markup",
                                "it is shown as plain text; use Markdown instead",
                                WARNING, "raw-html"))
    return body


# --------------------------------------------------------------------------
# Initiatives and pages.

INITIATIVE_FIELDS = ("title", "summary", "status", "photo", "alt", "donate_url", "goal",
                     "figures", "faq")


def parse_initiative(path: Path | str, *, text: str | None = None,
                     label: str | None = None) -> tuple[Initiative | None, list[Problem]]:
    """Parse and validate ``content/initiatives/<slug>.md``."""
    path = Path(path)
    label = label or str(path)
    problems: list[Problem] = []
    if not SLUG_RE.match(path.stem) or len(path.stem) > SLUG_MAX_CHARS:
        problems.append(Problem(label, 1, "file name", f"'{path.stem}' is not a slug",
                                "name the file in lowercase-with-hyphens, e.g. clean-water.md"))
    doc = _read(path, label, text, problems)
    if doc is None:
        return None, problems
    data = doc.data
    f = _Fields(doc, label, problems)
    f.unknown(data, INITIATIVE_FIELDS)
    photo = f.filename(data, "photo", PHOTO_EXTENSIONS, path.parent, required=False)
    initiative = Initiative(
        path=str(path), slug=path.stem, title=f.text(data, "title", TITLE_CHARS),
        summary=f.text(data, "summary", SUMMARY_CHARS),
        status=f.choice(data, "status", INITIATIVE_STATUSES),
        body=_body(f, doc, label, problems, (0, 50_000)),
        photo=photo, alt=f.text(data, "alt", ALT_CHARS, required=bool(photo)),
        donate_url=_https_url(f, data, "donate_url"), goal=_goal(f, data),
        figures=_figures(f, data), faq=_faq(f, data),
    )
    if any(p.is_error for p in problems):
        return None, problems
    return initiative, problems


def _https_url(f, data, key):
    value = f.text(data, key, (1, 500), required=False)
    if value and not re.match(r"^https://[^\s/$.?#][^\s]*$", value):
        f.problem(key, f"'{value}' is not an https:// address", "use a full https:// link")
        return ""
    return value


def _goal(f, data):
    goal = f.mapping(data, "goal", required=False)
    if goal is None:
        return None
    g = f.child("goal")
    g.unknown(goal, ("label", "value", "unit"))
    value = g.number(goal, "value", minimum=0)
    return Goal(label=g.text(goal, "label", FIGURE_LABEL_CHARS), value=value or 0,
                unit=g.text(goal, "unit", (0, UNIT_MAX_CHARS), required=False))


def _figures(f, data):
    figures = []
    for index, item in enumerate(f.items(data, "figures", MAX_FIGURES)):
        g = f.child("figures", index)
        if not isinstance(item, dict):
            f.problem(("figures", index), "must have label, value, unit, as_of and source",
                      "write each figure as a set of fields")
            continue
        g.unknown(item, ("label", "value", "unit", "as_of", "source"))
        figures.append(Figure(
            label=g.text(item, "label", FIGURE_LABEL_CHARS), value=g.number(item, "value") or 0,
            unit=g.text(item, "unit", (0, UNIT_MAX_CHARS), required=False),
            as_of=g.date(item, "as_of") or dt.date.min,
            source=g.text(item, "source", SOURCE_TEXT_CHARS),
        ))
    return tuple(figures)


def _faq(f, data):
    entries = []
    for index, item in enumerate(f.items(data, "faq", MAX_FAQ)):
        q = f.child("faq", index)
        if not isinstance(item, dict):
            f.problem(("faq", index), "must have 'q' and 'a'", "write '- q: …' and '  a: …'")
            continue
        q.unknown(item, ("q", "a"))
        entries.append(Question(q=q.text(item, "q", FAQ_TEXT_CHARS),
                                a=q.text(item, "a", FAQ_TEXT_CHARS)))
    return tuple(entries)


PAGE_FIELDS = ("title", "summary", "template", "slug")
PAGE_TEMPLATES = ("page", "share", "thanks")


def parse_page(path: Path | str, *, text: str | None = None,
               label: str | None = None) -> tuple[Page | None, list[Problem]]:
    """Parse a staff page (``content/pages/*.md``)."""
    path = Path(path)
    label = label or str(path)
    problems: list[Problem] = []
    doc = _read(path, label, text, problems)
    if doc is None:
        return None, problems
    data = doc.data
    f = _Fields(doc, label, problems)
    f.unknown(data, PAGE_FIELDS)
    slug = f.text(data, "slug", (1, SLUG_MAX_CHARS), required=False) or path.stem
    if not SLUG_RE.match(slug):
        f.problem("slug", f"'{slug}' is not a slug", "use lowercase-with-hyphens")
    page = Page(path=str(path), slug=slug, title=f.text(data, "title", TITLE_CHARS),
                summary=f.text(data, "summary", SUMMARY_CHARS, required=False),
                template=f.choice(data, "template", PAGE_TEMPLATES, required=False) or "page",
                body=_body(f, doc, label, problems, (0, 50_000)))
    if any(p.is_error for p in problems):
        return None, problems
    return page, problems
