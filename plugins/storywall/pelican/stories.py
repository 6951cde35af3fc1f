"""Pelican plugin: stories and reviews read through the one schema.

- a reader for Markdown with YAML front matter (stories and staff pages);
- URL contracts and safe defaults forced onto Pelican's settings: Jinja
  autoescape on, HTML/reST readers off, no static copies of story folders,
  no category/tag/author/archive pages or Pelican feeds;
- unpublished stories become Pelican's ``skip`` status: they never reach output.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from pelican import signals
from pelican.paginator import PaginationRule
from pelican.readers import BaseReader

from .. import content, filters, markup, schema, views
from .. import settings as sw_settings
from ..errors import StoryWallError

logger = logging.getLogger(__name__)
PREFIX = "storywall.stories: "

# Pelican settings that the URL and safety contracts depend on: always forced.
FORCED = {
    "ARTICLE_PATHS": ["stories"],
    "ARTICLE_EXCLUDES": [],
    "PAGE_PATHS": ["pages"],
    "PAGE_EXCLUDES": [],
    "ARTICLE_URL": "stories/{slug}/",
    "ARTICLE_SAVE_AS": "stories/{slug}/index.html",
    "PAGE_URL": "{slug}/",
    "PAGE_SAVE_AS": "{slug}/index.html",
    "ARTICLE_LANG_SAVE_AS": "",
    "PAGE_LANG_SAVE_AS": "",
    "DRAFT_SAVE_AS": "",
    "DRAFT_LANG_SAVE_AS": "",
    "DRAFT_PAGE_SAVE_AS": "",
    "DRAFT_PAGE_LANG_SAVE_AS": "",
    "CATEGORY_SAVE_AS": "",
    "CATEGORIES_SAVE_AS": "",
    "TAG_SAVE_AS": "",
    "TAGS_SAVE_AS": "",
    "AUTHOR_SAVE_AS": "",
    "AUTHORS_SAVE_AS": "",
    "ARCHIVES_SAVE_AS": "",
    "YEAR_ARCHIVE_SAVE_AS": "",
    "MONTH_ARCHIVE_SAVE_AS": "",
    "DAY_ARCHIVE_SAVE_AS": "",
    "DIRECT_TEMPLATES": ["index", "404"],
    "PAGINATED_TEMPLATES": {"index": None},
    "INDEX_SAVE_AS": "index.html",
    "PAGINATION_PATTERNS": [
        PaginationRule(1, "{url}", "{save_as}"),
        PaginationRule(2, "{base_name}/page/{number}/", "{base_name}/page/{number}/index.html"),
    ],
    "STATIC_PATHS": [],
    "STATIC_EXCLUDES": ["stories", "initiatives", "pages"],
    "FEED_ALL_ATOM": None,
    "FEED_ALL_RSS": None,
    "FEED_ATOM": None,
    "FEED_RSS": None,
    "CATEGORY_FEED_ATOM": None,
    "CATEGORY_FEED_RSS": None,
    "AUTHOR_FEED_ATOM": None,
    "AUTHOR_FEED_RSS": None,
    "TAG_FEED_ATOM": None,
    "TAG_FEED_RSS": None,
    "TRANSLATION_FEED_ATOM": None,
    "TRANSLATION_FEED_RSS": None,
    "OUTPUT_SOURCES": False,
    "TYPOGRIFY": False,
    "SUMMARY_MAX_LENGTH": None,
    "READERS": {ext: None for ext in ("html", "htm", "rst", "markdown", "mkd", "mdown")},
    "SLUGIFY_SOURCE": "basename",
}


LOCAL_SITEURL = "http://127.0.0.1:8000"  # absolute links (feeds, canonical) in a preview build
FEEDS_OFF = {k: v for k, v in FORCED.items() if "FEED" in k}


def configure(pelican) -> None:
    """Validate STORYWALL once and force the contract settings."""
    settings = pelican.settings
    sw = sw_settings.load(settings.get("STORYWALL"))
    settings["STORYWALL_SETTINGS"] = sw
    settings.update({k: (v.copy() if isinstance(v, (dict, list)) else v)
                     for k, v in FORCED.items()})
    settings["DEFAULT_PAGINATION"] = sw.stories_per_page
    settings["STORYWALL_BASE_URL"] = (settings.get("SITEURL") or LOCAL_SITEURL).rstrip("/")
    settings["JINJA_GLOBALS"] = {**settings.get("JINJA_GLOBALS", {}),
                                 "share_links": views.share_links,
                                 "article_jsonld": views.article_jsonld,
                                 "related_stories": views.related}
    settings["ARTICLE_ORDER_BY"] = article_order
    jinja = dict(settings.get("JINJA_ENVIRONMENT") or {})
    jinja["autoescape"] = True
    settings["JINJA_ENVIRONMENT"] = jinja
    settings["JINJA_FILTERS"] = {**settings.get("JINJA_FILTERS", {}), **filters.FILTERS}


def article_order(article) -> tuple:
    return views.wall_order(article.story)


class StoryReader(BaseReader):
    """Markdown with YAML front matter, validated by ``storywall.schema``."""

    enabled = True
    file_extensions = ["md"]

    def read(self, filename):
        path = Path(filename)
        content_dir = Path(self.settings["PATH"])
        root = content_dir.parent
        label = content.label_for(path, root)
        kind = path.relative_to(content_dir).parts[0]
        if kind == content.STORIES_DIR:
            return self._read_story(path, content_dir, label)
        if kind == content.PAGES_DIR:
            return self._read_page(path, label)
        raise StoryWallError(f"{label}: not a story or a page — move it under stories/ or pages/")

    def _read_story(self, path, content_dir, label):
        trouble = content.story_folder_problem(path.parent, label)
        if trouble or path.name != content.STORY_FILE:
            raise StoryWallError(str(trouble or f"{label}: a story must be named index.md"))
        known = content.initiative_slugs(content_dir)
        story, problems = content.cached(schema.parse_story, path, (tuple(sorted(known)),),
                                         initiatives=known, label=label)
        if story is None:
            raise StoryWallError(str(next(p for p in problems if p.is_error)))
        html = content.cached_render(story.body)
        sw = self.settings.get("STORYWALL_SETTINGS") or sw_settings.Settings()
        metadata = {
            "title": story.title,
            "date": dt.datetime.combine(story.date, dt.time()),
            "slug": story.slug,
            "status": "published" if story.is_published else "skip",
            "template": "story",
            "story": story,
            "excerpt": markup.html_to_text(html, sw.excerpt_chars),
            "description": story.quote or markup.html_to_text(html, 160),
        }
        return html, metadata

    def _read_page(self, path, label):
        page, problems = content.cached(schema.parse_page, path, label=label)
        if page is None:
            raise StoryWallError(str(next(p for p in problems if p.is_error)))
        metadata = {"title": page.title, "slug": page.slug, "status": "published",
                    "template": page.template, "page_meta": page}
        return content.cached_render(page.body, trusted=True), metadata


def add_reader(readers) -> None:
    readers.reader_classes["md"] = StoryReader


def register() -> None:
    signals.initialized.connect(configure)
    signals.readers_init.connect(add_reader)
