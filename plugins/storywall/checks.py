"""``storywall check``: validate submissions and content, for people and for CI.

The schema (``storywall.schema``) decides what a valid file is. On top of it,
this module adds the moderation rules a pull request needs:

=====================  ==========================  =========================================
rule                   where                       severity
=====================  ==========================  =========================================
schema, initiative     everywhere                  error (from the schema)
consent to publish     submissions/                error ``missing-consent``
alt text describes     everywhere                  warning ``alt-text``
photo limits           everywhere                  error (``PhotoError`` codes)
photo metadata         submissions/                error ``photo-metadata``
unlisted photo file    submissions/                warning ``unlisted-photo``
video limits           everywhere                  error (``video-<VideoError code>``)
video metadata         submissions/                error ``video-metadata``
captions are WebVTT    everywhere                  error ``captions-not-webvtt``
unlisted video file    submissions/                warning ``unlisted-video``
links only http(s)     everywhere (story bodies)   error ``bad-link``
personal data          submissions/                warning ``personal-data`` (a moderator confirms)
word list              submissions/                warning ``word-list``
duplicates             submissions/ vs published   error ``duplicate`` / warning ``near-duplicate``
duplicate in inbox     submissions/ vs each other  warning ``duplicate-submission``
already approved       submissions/                error ``already-approved``
folder is the id       submissions/                error ``id-mismatch``
slug collision         submissions/                notice ``slug-taken``
=====================  ==========================  =========================================

Published stories were confirmed by a moderator when they were approved, so the
judgement rules (personal data, word list, duplicates) only run on the inbox.
Photo metadata is only an error in the inbox: the intake strips it, and the
build re-encodes every published photo from its pixels anyway. The same holds
for videos (the intake remuxes them; the build re-encodes them). The video
limits are the site's settings (``max_video_seconds`` …).

The word list is ``moderation/words.txt`` in the site: one word or phrase a
line, ``#`` comments, a trailing ``*`` matches any ending (``scam*``).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from . import content, frontmatter, photos, schema, video
from .errors import WARNING, Problem
from .settings import Settings

SUBMISSIONS_DIR = "submissions"
WORDS_FILE = Path("moderation") / "words.txt"
NOTICE = "notice"

# Near-duplicates: word shingles of this many words, compared by Jaccard similarity.
SHINGLE_WORDS = 3
NEAR_DUPLICATE_JACCARD = 0.5  # half the shingles shared: the same story retold or pasted
NEAR_DUPLICATE_RATIO = 0.85  # difflib ratio, for short texts with too few shingles
MIN_DUPLICATE_WORDS = 8  # shorter texts ("Thank you!") are not compared

# --------------------------------------------------------------------------
# Personal data: patterns a rule can see. Each finding is a warning with a hint.

EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A run of digit groups, optionally starting with + or 00 and with ( ) . - or spaces between.
PHONE_RE = re.compile(r"(?<![\w+£$€.,/:-])(?:\+|\b00)?\(?\d[\d()\u00a0 .-]{6,}\d(?![\w/:])")
PHONE_DIGITS = (9, 15)  # E.164 numbers have at most 15 digits; national ones at least 9
STREET_WORDS = (
    "Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Close|Drive|Dr|Way|Court|Ct|Place|Pl|Crescent|"
    "Terrace|Gardens|Grove|Boulevard|Blvd|Square|Sq|Row|Mews|Walk|Parade|Hill|Rise|View|"
    "Strasse|Straße|Rue|Calle|Via"
)
STREET_RE = re.compile(
    r"\b\d{1,4}[A-Za-z]?,?\s+(?:[A-Z][\w'’-]*\s+){1,3}(?:" + STREET_WORDS + r")\b\.?")
POSTCODE_RE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2}\b")  # UK postcodes
RELATIONS = (
    "neighbou?r|friend|son|daughter|husband|wife|partner|mum|mom|mother|dad|father|brother|"
    "sister|uncle|aunt|auntie|cousin|grandson|granddaughter|grandmother|grandfather|grandma|"
    "grandpa|nan|nana|gran|grandad|boss|colleague|teacher|doctor|nurse|carer|landlord|landlady|"
    "niece|nephew|child|kid|boyfriend|girlfriend|flatmate|housemate|classmate|pupil|student"
)
NAME = r"[A-Z][a-z'’-]+(?:\s+[A-Z][a-z'’-]+)+"
RELATIVE_NAME_RE = re.compile(
    r"\b(?:[Mm]y|[Oo]ur|[Hh]is|[Hh]er|[Tt]heir)\s+(?:(?:late|old|best|little|eldest|"
    r"youngest|new)\s+)?(?:" + RELATIONS + r")s?,?\s+(" + NAME + r")")
TITLED_NAME_RE = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?\s+(" + NAME + r")")

GENERIC_ALT = {"photo", "image", "picture", "pic", "img", "untitled", "alt", "screenshot",
               "a photo", "an image", "a picture", "photo of", "my photo"}
FILENAME_ALT_RE = re.compile(r"^(?:img|dsc|pxl|photo|image)?[_-]?\d+(?:\.\w+)?$|\.\w{3,4}$",
                             re.IGNORECASE)

# Links in a Markdown body: [text](url), ![alt](url), [ref]: url and <scheme:…> autolinks.
INLINE_LINK_RE = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]*)")
REFERENCE_LINK_RE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
AUTOLINK_RE = re.compile(r"<((?:[A-Za-z][A-Za-z0-9+.-]{1,31}:|[^\s<>@]+@)[^\s<>]*)>")
ALLOWED_SCHEMES = ("http://", "https://")


@dataclass(frozen=True)
class Text:
    """One piece of public text and where it is: a front-matter field or a body line."""

    field: str
    line: int
    text: str


def public_texts(doc: frontmatter.Document) -> list[Text]:
    """Everything a visitor would read, with the line each piece starts on."""
    data, found = doc.data, []

    def add(keys: tuple, name: str) -> None:
        value = data
        for key in keys:
            if isinstance(value, dict):
                value = value.get(key)
            elif isinstance(value, list) and isinstance(key, int) and key < len(value):
                value = value[key]
            else:
                return
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            found.append(Text(name, doc.line_of(*keys), str(value)))

    for key in ("title", "author", "quote"):
        add((key,), key)
    for index in range(len(data.get("photos") or []) if isinstance(data.get("photos"), list) else 0):
        add(("photos", index, "alt"), f"photos[{index}].alt")
        add(("photos", index, "caption"), f"photos[{index}].caption")
    add(("video", "transcript"), "video.transcript")
    add(("video", "caption"), "video.caption")
    tags = data.get("tags")
    for index in range(len(tags) if isinstance(tags, list) else 0):
        add(("tags", index), f"tags[{index}]")
    add(("reply", "text"), "reply.text")
    for offset, line in enumerate(doc.body.split("\n")):
        if line.strip():
            found.append(Text("body", doc.body_line + offset, line))
    return found


def _phone_like(match: str) -> bool:
    digits = re.sub(r"\D", "", match)
    if not PHONE_DIGITS[0] <= len(digits) <= PHONE_DIGITS[1]:
        return False
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", match.strip()):  # 1,000,000: an amount
        return False
    if re.fullmatch(r"(?:19|20)\d\d[-./](?:0?[1-9]|1[0-2])[-./]\d\d?", match.strip()):
        return False  # an ISO date
    return True


def personal_data(text: str, author: str = "") -> list[tuple[str, str]]:
    """(what, the matched text) for each piece of personal data a rule can see."""
    found = [("an e-mail address", m.group(0)) for m in EMAIL_RE.finditer(text)]
    found += [("a phone number", m.group(0).strip()) for m in PHONE_RE.finditer(text)
              if _phone_like(m.group(0))]
    found += [("a street address", m.group(0)) for m in STREET_RE.finditer(text)]
    found += [("a postcode", m.group(0)) for m in POSTCODE_RE.finditer(text)]
    consented = author.lower()
    for pattern in (RELATIVE_NAME_RE, TITLED_NAME_RE):
        for m in pattern.finditer(text):
            name = m.group(1)
            if name.lower() not in consented:
                found.append(("the full name of someone else", name))
    return found


def load_words(site_dir: Path) -> list[str]:
    """The site's word list (``moderation/words.txt``); none when it is missing."""
    path = Path(site_dir) / WORDS_FILE
    if not path.is_file():
        return []
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            words.append(line)
    return words


def word_pattern(words: list[str]) -> re.Pattern | None:
    """One case-insensitive pattern matching whole words (``*`` at the end: any ending)."""
    parts = []
    for word in words:
        stem = word.rstrip("*")
        if not stem:
            continue
        tail = r"\w*" if word.endswith("*") else ""
        parts.append(r"\s+".join(re.escape(w) for w in stem.split()) + tail)
    if not parts:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


def bad_links(body: str) -> list[tuple[int, str]]:
    """(offset in body, target) for every link that is not a full http(s) address."""
    found = []
    for pattern in (INLINE_LINK_RE, REFERENCE_LINK_RE, AUTOLINK_RE):
        for m in pattern.finditer(body):
            target = m.group(1)
            if not target.lower().startswith(ALLOWED_SCHEMES):
                found.append((m.start(1), target))
    return sorted(found)


def normalise(text: str) -> list[str]:
    """Lower-case words without accents or punctuation, for comparing texts."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.findall(r"[a-z0-9]+", text.lower())


def _shingles(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}


def similarity(a: list[str], b: list[str]) -> float:
    """How alike two normalised texts are, 0–1: shingle Jaccard, or difflib for short ones."""
    if a == b:
        return 1.0
    sa, sb = _shingles(a), _shingles(b)
    jaccard = len(sa & sb) / len(sa | sb) if sa and sb else 0.0
    if min(len(a), len(b)) < 40:
        return max(jaccard, difflib.SequenceMatcher(None, a, b, autojunk=False).ratio())
    return jaccard


def slugify(title: str, limit: int = 60) -> str:
    """A readable URL slug from a title: ascii, lower case, hyphens, cut on a word."""
    text = unicodedata.normalize("NFKD", title)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    words = re.findall(r"[a-z0-9]+", text.lower().replace("'", "").replace("’", ""))
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > limit:
            break
        slug = candidate
    return slug or (words[0][:limit] if words else "story")


# --------------------------------------------------------------------------
# The rules.


@dataclass
class Published:
    """What a submission is compared with: the site's stories, loaded once."""

    stories: list[schema.Story]
    words: dict[str, list[str]]  # slug -> normalised body
    pending: dict[str, list[str]]  # submission folder name -> normalised body

    @classmethod
    def load(cls, content_dir: Path, root: Path) -> "Published":
        known = content.initiative_slugs(content_dir)
        stories, _ = content.load_stories(Path(content_dir) / content.STORIES_DIR, known, root)
        pending = {}
        for path in sorted((Path(root) / SUBMISSIONS_DIR).glob(f"*/{content.STORY_FILE}")):
            try:
                pending[path.parent.name] = normalise(frontmatter.read(path).body)
            except (frontmatter.FrontMatterError, OSError):
                continue
        return cls(stories, {s.slug: normalise(s.body) for s in stories if s.is_published},
                   pending)

    @staticmethod
    def closest(mine: list[str], others: dict[str, list[str]]) -> tuple[str, float]:
        best, score = "", 0.0
        for name, theirs in others.items():
            if len(theirs) < MIN_DUPLICATE_WORDS:
                continue
            value = similarity(mine, theirs)
            if value > score:
                best, score = name, value
        return best, score

    def by_id(self, story_id: str) -> schema.Story | None:
        return next((s for s in self.stories if story_id and s.id == story_id), None)

    def slug_taken(self, slug: str, content_dir: Path) -> bool:
        return (Path(content_dir) / content.STORIES_DIR / slug).exists()


class _Rules:
    """The moderation rules for one story file (``where`` is 'submission' or 'story')."""

    def __init__(self, path: Path, label: str, where: str, site_dir: Path, content_dir: Path,
                 published: Published | None, words: re.Pattern | None,
                 settings: Settings | None = None):
        self.path, self.label, self.where = path, label, where
        self.site_dir, self.content_dir = site_dir, content_dir
        self.published, self.words = published, words
        self.settings = settings or Settings()
        self.problems: list[Problem] = []

    def add(self, line, field, message, hint, severity="error", code=""):
        self.problems.append(Problem(self.label, line, field, message, hint, severity, code))

    def run(self, story: schema.Story | None) -> list[Problem]:
        try:
            doc = frontmatter.read(self.path)
        except (frontmatter.FrontMatterError, OSError):
            return []  # the schema has reported it
        self.links(doc)
        if story is not None:
            self.photos(doc, story)
            if story.video is not None:
                self.video(doc, story.video)
        if self.where == "submission":
            self.consent(doc)
            self.private(doc)
            if story is not None:
                self.inbox(doc, story)
        return self.problems

    def links(self, doc) -> None:
        for offset, target in bad_links(doc.body):
            line = doc.body_line + doc.body[:offset].count("\n")
            shown = target if len(target) <= 60 else target[:57] + "…"
            self.add(line, "body", f"link '{shown}' is not a web address",
                     "link only to full http:// or https:// addresses, or remove the link",
                     code="bad-link")

    def consent(self, doc) -> None:
        consent = doc.data.get("consent")
        if isinstance(consent, dict) and consent.get("publish") is not True:
            self.add(doc.line_of("consent", "publish"), "consent.publish",
                     "the author has not agreed to publication",
                     "do not approve: ask the author, or reject with --reason missing-consent",
                     code="missing-consent")

    def photos(self, doc, story) -> None:
        folder = self.path.parent
        for index, photo in enumerate(story.photos):
            line = doc.line_of("photos", index, "file")
            alt = photo.alt.strip().lower().rstrip(".")
            if alt in GENERIC_ALT or alt == photo.file.lower() or FILENAME_ALT_RE.search(alt):
                self.add(doc.line_of("photos", index, "alt"), f"photos[{index}].alt",
                         f"'{photo.alt}' does not describe the photo",
                         "say what the photo shows, e.g. 'Two volunteers filling sandbags'",
                         WARNING, "alt-text")
            if not photo.file or not (folder / photo.file).is_file():
                continue
            try:
                found = photos.inspect_photo(folder / photo.file, label=photo.file)
            except photos.PhotoError as err:
                self.add(line, f"photos[{index}].file", f"'{photo.file}': {err.problem}",
                         err.hint, code=f"photo-{err.code}")
                continue
            if found and self.where == "submission":
                self.add(line, f"photos[{index}].file",
                         f"'{photo.file}' still carries {', '.join(found)}",
                         "strip it before committing (the intake does; or "
                         "`exiftool -all= FILE`): it can reveal where and when it was taken",
                         code="photo-metadata")
        if self.where == "submission":
            listed = {p.file for p in story.photos}
            if story.video:
                listed |= {story.video.file, story.video.captions}
            for extra in sorted(folder.iterdir()):
                if (extra.suffix.lower() in schema.PHOTO_EXTENSIONS
                        and extra.name not in listed):
                    self.add(1, "photos", f"'{extra.name}' is in the folder but not listed",
                             "add it under photos: with alt text, or delete the file",
                             WARNING, "unlisted-photo")
                elif (extra.suffix.lower() in schema.VIDEO_EXTENSIONS
                      and extra.name not in listed):
                    self.add(1, "video", f"'{extra.name}' is in the folder but not listed",
                             "add it as video: with a transcript, or delete the file",
                             WARNING, "unlisted-video")

    def video(self, doc, clip: schema.Video) -> None:
        """Limits and decodability, metadata left in the file, and WebVTT captions."""
        folder = self.path.parent
        line = doc.line_of("video", "file")
        if clip.file and (folder / clip.file).is_file():
            self.video_file(folder / clip.file, clip.file, line)
        if clip.captions and (folder / clip.captions).is_file():
            try:
                video.read_webvtt(folder / clip.captions, label=clip.captions)
            except video.VideoError as err:
                self.add(doc.line_of("video", "captions"), "video.captions",
                         f"'{clip.captions}' {err.problem}", err.hint, code="captions-not-webvtt")

    def video_file(self, path: Path, name: str, line: int) -> None:
        try:
            video.probe_video(path, label=name, **self.settings.video_limits())
            found = video.inspect_video(path, label=name)
        except video.VideoError as err:
            self.add(line, "video.file", f"'{name}': {err.problem}", err.hint,
                     code=f"video-{err.code}")
            return
        if found and self.where == "submission":
            self.add(line, "video.file", f"'{name}' still carries {', '.join(found)}",
                     "remux it without metadata before committing (the intake does: "
                     "storywall.video.strip_video); it can reveal where and when it was made",
                     code="video-metadata")

    def private(self, doc) -> None:
        author = doc.data.get("author") if isinstance(doc.data.get("author"), str) else ""
        pattern = self.words
        for piece in public_texts(doc):
            for what, match in personal_data(piece.text, author if piece.field != "author" else ""):
                self.add(piece.line, piece.field, f"may contain {what} ('{match}')",
                         "remove it or confirm it may be public (approve --confirm)",
                         WARNING, "personal-data")
            if pattern is not None:
                for m in pattern.finditer(piece.text):
                    self.add(piece.line, piece.field, f"contains '{m.group(0)}' from the word list",
                             "check the tone; edit or reject with --reason abusive",
                             WARNING, "word-list")

    def inbox(self, doc, story) -> None:
        folder = self.path.parent
        if story.id and folder.name != story.id:
            self.add(doc.line_of("id"), "id", f"'{story.id}' is not the folder's name",
                     f"name the folder submissions/{story.id}/ or fix the id",
                     code="id-mismatch")
        published = self.published
        if published is None:
            return
        twin = published.by_id(story.id)
        if twin is not None:
            self.add(doc.line_of("id"), "id", f"was already approved as stories/{twin.slug}",
                     "delete this copy: reject it with --reason duplicate", code="already-approved")
        mine = normalise(story.body)
        if len(mine) >= MIN_DUPLICATE_WORDS:
            best, score = published.closest(mine, published.words)
            if score >= 0.999:
                self.add(doc.body_line, "body", f"is the same text as stories/{best}",
                         "reject it with --reason duplicate", code="duplicate")
            elif _near(score, mine):
                self.add(doc.body_line, "body",
                         f"is {score:.0%} like stories/{best}",
                         "compare them: keep both, merge them, or reject with --reason duplicate",
                         WARNING, "near-duplicate")
            others = {k: v for k, v in published.pending.items() if k != folder.name}
            best, score = published.closest(mine, others)
            if _near(score, mine):
                self.add(doc.body_line, "body",
                         f"is {score:.0%} like submissions/{best}, also waiting",
                         "keep one: reject the other with --reason duplicate",
                         WARNING, "duplicate-submission")
        slug = slugify(story.title)
        if published.slug_taken(slug, self.content_dir):
            self.add(doc.line_of("title"), "title", f"its slug '{slug}' is taken by stories/{slug}",
                     "approve picks the next free one, or choose one with --slug",
                     NOTICE, "slug-taken")


def _near(score: float, words: list[str]) -> bool:
    """Alike enough to show a moderator (difflib's ratio is only trusted on short texts)."""
    return score >= NEAR_DUPLICATE_JACCARD and (score >= NEAR_DUPLICATE_RATIO or len(words) >= 40)


# --------------------------------------------------------------------------
# Walking paths.


class Checker:
    """Checks files and folders of one site; shared state is loaded once."""

    def __init__(self, site_dir: Path, content_dir: Path, words: list[str] | None = None,
                 settings: Settings | None = None):
        self.site_dir = Path(site_dir)
        self.content_dir = Path(content_dir)
        self.settings = settings or Settings()
        self.known = content.initiative_slugs(self.content_dir)
        self.words = word_pattern(load_words(self.site_dir) if words is None else words)
        self._published: Published | None = None

    @property
    def published(self) -> Published:
        if self._published is None:
            self._published = Published.load(self.content_dir, self.site_dir)
        return self._published

    def where(self, path: Path) -> str:
        try:
            Path(path).resolve().relative_to((self.site_dir / SUBMISSIONS_DIR).resolve())
            return "submission"
        except ValueError:
            return "story"

    def story(self, path: Path) -> list[Problem]:
        """One story or submission file: the schema, then the moderation rules."""
        label = content.label_for(path, self.site_dir)
        where = self.where(path)
        if where == "submission":  # never cached: the build's cache file holds content/ only
            story, problems = schema.parse_story(path, initiatives=self.known, label=label)
        else:
            story, problems = content.cached(schema.parse_story, path,
                                             (tuple(sorted(self.known)),),
                                             initiatives=self.known, label=label)
        problems = list(problems)
        if where == "submission" and story is not None and story.status != "pending":
            problems.append(Problem(label, 1, "status", f"is '{story.status}' in the inbox",
                                    "submissions are 'pending' until approved", WARNING))
        rules = _Rules(path, label, where, self.site_dir, self.content_dir,
                       self.published if where == "submission" else None, self.words,
                       self.settings)
        return sorted(problems + rules.run(story), key=lambda p: p.line)

    def folder(self, folder: Path) -> list[Problem]:
        """Every ``<folder>/<name>/index.md`` (a stories or submissions folder)."""
        problems: list[Problem] = []
        for entry in sorted(Path(folder).iterdir()) if Path(folder).is_dir() else []:
            if entry.name.startswith("."):
                continue
            label = content.label_for(entry, self.site_dir)
            if not entry.is_dir():
                problems.append(Problem(label, 1, "file", "stories must be folders",
                                        f"move it to {entry.stem}/{content.STORY_FILE}"))
                continue
            trouble = content.story_folder_problem(entry, label)
            if trouble:
                problems.append(trouble)
                continue
            problems += self.story(entry / content.STORY_FILE)
        return problems

    def content(self) -> list[Problem]:
        """All of content/: initiatives and pages as the build reads them, then the stories."""
        site = content.load_site(self.content_dir, root=self.site_dir)
        stories_label = content.label_for(self.content_dir / content.STORIES_DIR, self.site_dir)
        problems = [p for p in site.problems if not p.path.startswith(stories_label + "/")
                    and p.path != stories_label]
        return problems + self.folder(self.content_dir / content.STORIES_DIR)

    def file(self, path: Path) -> list[Problem]:
        label = content.label_for(path, self.site_dir)
        parent = path.parent.parent.name if path.name == content.STORY_FILE else ""
        if path.parent.name == content.INITIATIVES_DIR:
            return schema.parse_initiative(path, label=label)[1]
        if path.parent.name == content.PAGES_DIR:
            return schema.parse_page(path, label=label)[1]
        if parent in (content.STORIES_DIR, SUBMISSIONS_DIR):
            return self.story(path)
        return [Problem(label, 1, "file", "is not a story, initiative or page",
                        "check a file under content/ or submissions/")]

    def path(self, path: Path) -> list[Problem]:
        path = Path(path)
        if path.is_file():
            return self.file(path)
        if path.resolve() == self.content_dir.resolve():
            return self.content()
        if path.name in (SUBMISSIONS_DIR, content.STORIES_DIR) and path.is_dir():
            return self.folder(path)
        if path.is_dir() and (path / content.STORY_FILE).is_file():
            return self.file(path / content.STORY_FILE)
        if not path.exists():
            return [Problem(str(path), 1, "path", "does not exist", "check the path")]
        problems: list[Problem] = []
        for md in sorted(path.rglob("*.md")):
            problems += self.file(md)
        return problems


def check_paths(site_dir: Path, content_dir: Path, paths: list[Path] | None = None, *,
                words: list[str] | None = None, settings: Settings | None = None) -> list[Problem]:
    """Problems in ``paths`` (default: all of content/ and submissions/).

    ``words`` overrides the site's word list (``moderation/words.txt``);
    ``settings`` (the site's STORYWALL settings) gives the video limits.
    """
    site_dir = Path(site_dir)
    checker = Checker(site_dir, content_dir, words, settings)
    if not paths:
        paths = [Path(content_dir), site_dir / SUBMISSIONS_DIR]
    problems: list[Problem] = []
    for path in paths:
        if Path(path).name == SUBMISSIONS_DIR and not Path(path).exists():
            continue
        problems += checker.path(Path(path))
    return problems


def check_submission(site_dir: Path, content_dir: Path, folder: Path,
                     settings: Settings | None = None) -> list[Problem]:
    """Every problem with one ``submissions/<id>/`` folder (what ``approve`` refuses on)."""
    checker = Checker(site_dir, content_dir, settings=settings)
    label = content.label_for(folder, site_dir)
    trouble = content.story_folder_problem(Path(folder), label)
    return [trouble] if trouble else checker.story(Path(folder) / content.STORY_FILE)


def _escape_property(value: str) -> str:
    return (value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
            .replace(":", "%3A").replace(",", "%2C"))


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_annotation(problem: Problem) -> str:
    """A GitHub Actions workflow command: ``::error file=…,line=…,title=…::message``."""
    level = {"error": "error", NOTICE: "notice"}.get(problem.severity, "warning")
    props = (f"file={_escape_property(problem.path)},line={problem.line},"
             f"title={_escape_property(problem.field)}")
    text = problem.message + (f" — {problem.hint}" if problem.hint else "")
    return f"::{level} {props}::{_escape_data(text)}"
