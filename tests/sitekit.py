"""Write tiny sites for tests: stories and initiatives from Python dicts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import yaml

CONF = """\
SITENAME = "Test Wall"
SITEURL = ""
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
PATH = "content"
OUTPUT_PATH = "output"
THEME = {theme!r}
PLUGINS = ["storywall.pelican.stories", "storywall.pelican.initiatives", "storywall.pelican.photos", "storywall.pelican.videos", "storywall.pelican.sharecards", "storywall.pelican.feeds", "storywall.pelican.withdrawn"]
CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False
STORYWALL = {storywall!r}
"""


def story_fields(**overrides) -> dict:
    """A valid published story's front matter, with ``overrides`` applied (None removes)."""
    today = dt.date(2026, 9, 1)
    fields = {
        "title": "Why I give",
        "kind": "story",
        "author": "Ana P.",
        "initiative": "water",
        "date": today,
        "consent": {"publish": True, "photos": False, "given_on": today},
        "source": "form",
        "status": "published",
    }
    for key, value in overrides.items():
        if value is None:
            fields.pop(key, None)
        else:
            fields[key] = value
    return fields


def initiative_fields(**overrides) -> dict:
    recent = dt.date.today() - dt.timedelta(days=30)
    fields = {
        "title": "Clean water",
        "summary": "Wells and filters for villages.",
        "status": "active",
        "donate_url": "https://example.org/donate/water",
        "goal": {"label": "Children with safe water", "value": 1000, "unit": "children"},
        "figures": [
            {"label": "Children with safe water", "value": 210, "unit": "children",
             "as_of": recent - dt.timedelta(days=365), "source": "Field report, last year"},
            {"label": "Children with safe water", "value": 450, "unit": "children",
             "as_of": recent, "source": "Field report, this year"},
        ],
        "faq": [{"q": "Where does my money go?", "a": "To wells and filters."}],
    }
    fields.update(overrides)
    return fields


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):  # real people write values out, never *aliases
        return True


def document(fields: dict, body: str) -> str:
    text = yaml.dump(fields, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
    return "---\n" + text + "---\n" + body


@dataclass
class Site:
    root: Path

    @classmethod
    def create(cls, root: Path, theme: Path, storywall: dict | None = None) -> "Site":
        root.mkdir(parents=True)
        (root / "content" / "stories").mkdir(parents=True)
        (root / "content" / "initiatives").mkdir()
        site = cls(root)
        site.configure(theme, storywall or {"organisation": "Test Trust"})
        site.add_initiative("water", body="We repair wells.")
        return site

    def configure(self, theme: Path, storywall: dict) -> None:
        (self.root / "pelicanconf.py").write_text(CONF.format(theme=str(theme),
                                                               storywall=storywall))

    @property
    def content(self) -> Path:
        return self.root / "content"

    @property
    def output(self) -> Path:
        return self.root / "output"

    def add_story(self, slug: str, body: str = "I gave because water matters.", *,
                  raw: str | bytes | None = None, folder: str = "stories", **fields) -> Path:
        path = self.root / ("content" if folder == "stories" else "") / folder / slug / "index.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        if raw is None:
            raw = document(story_fields(**fields), body)
        path.write_bytes(raw if isinstance(raw, bytes) else raw.encode("utf-8"))
        return path

    def add_initiative(self, slug: str, body: str = "About it.", raw: str | None = None,
                       **fields) -> Path:
        path = self.content / "initiatives" / f"{slug}.md"
        path.write_text(raw if raw is not None else document(initiative_fields(**fields), body))
        return path

    def output_text(self) -> str:
        """Every text file in output/, concatenated (for leak checks)."""
        parts = []
        for path in sorted(self.output.rglob("*")):
            if path.is_file() and path.suffix in (".html", ".xml", ".json", ".txt", ".css", ".js"):
                parts.append(path.read_text(encoding="utf-8"))
        return "\n".join(parts)
