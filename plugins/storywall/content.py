"""Load a whole site's content through the one schema.

``load_site`` is what ``storywall check`` and ``storywall build`` call before
Pelican runs; the Pelican reader reuses the parsed objects through a small
cache keyed by (path, size, mtime), so each file is parsed once per build.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

from . import markup, schema
from .errors import Problem

STORIES_DIR = "stories"
INITIATIVES_DIR = "initiatives"
PAGES_DIR = "pages"
STORY_FILE = "index.md"


@dataclass
class SiteContent:
    stories: list[schema.Story] = field(default_factory=list)
    initiatives: dict[str, schema.Initiative] = field(default_factory=dict)
    pages: list[schema.Page] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    def published(self) -> list[schema.Story]:
        return [s for s in self.stories if s.is_published]


CACHE_FILE = "content.pickle"
_CODE_STAMP = hashlib.sha256(b"".join(
    Path(__file__).with_name(name).read_bytes()
    for name in ("schema.py", "frontmatter.py", "markup.py", "content.py"))).hexdigest()[:16]
_cache: dict[tuple, object] = {}
_used: set[tuple] = set()


def _key(path: Path, extra: tuple) -> tuple | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (str(path), st.st_size, st.st_mtime_ns, extra)


def _remember(key, make):
    if key is None:
        return make()
    _used.add(key)
    if key not in _cache:
        _cache[key] = make()
    return _cache[key]


def cached(parse, path: Path, extra: tuple = (), **kwargs):
    """Call ``parse(path, **kwargs)`` once per unchanged file (and code version)."""
    return _remember(_key(path, (parse.__name__, kwargs.get("label")) + extra),
                     lambda: parse(path, **kwargs))


def cached_render(text: str, trusted: bool = False) -> str:
    """``markup.render`` once per distinct text."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return _remember(("render", digest, trusted), lambda: markup.render(text, trusted=trusted))


def load_cache(folder: Path) -> None:
    """Warm the in-memory cache from ``folder`` (a missing or stale file is ignored)."""
    try:
        with open(Path(folder) / CACHE_FILE, "rb") as fh:
            stamp, entries = pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError):
        return
    if stamp == _CODE_STAMP:
        _cache.update(entries)


def save_cache(folder: Path, root: Path | None = None) -> None:
    """Write the entries used since the last save (of files under ``root``), atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    prefix = str(root) if root else ""
    entries = {k: _cache[k] for k in _used
               if k in _cache and (k[0] == "render" or str(k[0]).startswith(prefix))}
    tmp = folder / f".{CACHE_FILE}.{os.getpid()}"
    with open(tmp, "wb") as fh:
        pickle.dump((_CODE_STAMP, entries), fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, folder / CACHE_FILE)
    _used.clear()


def label_for(path: Path, root: Path | None) -> str:
    """The path shown to people: relative to the site when possible."""
    if root is not None:
        try:
            return os.path.relpath(path, root)
        except ValueError:
            pass
    return str(path)


def initiative_slugs(content_dir: Path) -> set[str]:
    folder = Path(content_dir) / INITIATIVES_DIR
    return {p.stem for p in folder.glob("*.md")} if folder.is_dir() else set()


def _load_folder(folder: Path, parse, root: Path | None):
    """Parse every ``*.md`` in ``folder``: (valid items, all problems)."""
    items, problems = [], []
    for path in sorted(folder.glob("*.md")) if folder.is_dir() else []:
        item, found = cached(parse, path, label=label_for(path, root))
        problems += found
        if item is not None:
            items.append(item)
    return items, problems


def load_initiatives(content_dir: Path, root: Path | None = None):
    items, problems = _load_folder(Path(content_dir) / INITIATIVES_DIR,
                                   schema.parse_initiative, root)
    return {item.slug: item for item in items}, problems


def story_folder_problem(folder: Path, label: str) -> Problem | None:
    """A story folder must be named as a slug and hold index.md."""
    if not schema.SLUG_RE.match(folder.name) or len(folder.name) > schema.SLUG_MAX_CHARS:
        return Problem(label, 1, "folder", f"'{folder.name}' is not a slug",
                       "rename the folder in lowercase-with-hyphens, e.g. amara-why-i-give")
    if not (folder / STORY_FILE).is_file():
        return Problem(label, 1, "folder", f"has no {STORY_FILE}",
                       "add the story as index.md or remove the folder")
    return None


def load_stories(folder: Path, initiatives: set[str], root: Path | None = None):
    """Every ``<folder>/<slug>/index.md``; loose files are reported."""
    stories: list[schema.Story] = []
    problems: list[Problem] = []
    if not Path(folder).is_dir():
        return stories, problems
    for entry in sorted(Path(folder).iterdir()):
        label = label_for(entry, root)
        if entry.name.startswith("."):
            continue
        if not entry.is_dir():
            problems.append(Problem(label, 1, "file", "stories must be folders",
                                    f"move it to {entry.stem}/{STORY_FILE}"))
            continue
        trouble = story_folder_problem(entry, label)
        if trouble:
            problems.append(trouble)
            continue
        path = entry / STORY_FILE
        story, found = cached(schema.parse_story, path, (tuple(sorted(initiatives)),),
                              initiatives=initiatives, label=label_for(path, root))
        problems += found
        if story is not None:
            stories.append(story)
    return stories, problems


def load_pages(content_dir: Path, root: Path | None = None):
    return _load_folder(Path(content_dir) / PAGES_DIR, schema.parse_page, root)


def load_site(content_dir: Path, root: Path | None = None) -> SiteContent:
    """Parse and validate all of ``content/``."""
    content_dir = Path(content_dir)
    site = SiteContent()
    site.initiatives, problems = load_initiatives(content_dir, root)
    site.problems += problems
    known = initiative_slugs(content_dir)
    site.stories, problems = load_stories(content_dir / STORIES_DIR, known, root)
    site.problems += problems
    site.pages, problems = load_pages(content_dir, root)
    site.problems += problems
    return site
