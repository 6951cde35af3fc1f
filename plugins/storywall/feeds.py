"""Atom, RSS (feedgen) and JSON Feed 1.1 for the wall and each initiative.

Pure functions: :class:`FeedEntry` values in, feed documents out. Entry ids are
the story's absolute URL, which stays stable as long as SITEURL does.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from feedgen.feed import FeedGenerator

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
FEED_LIMIT = 50  # newest entries per feed


@dataclass(frozen=True)
class Enclosure:
    url: str
    length: int
    mime_type: str


@dataclass(frozen=True)
class FeedEntry:
    id: str
    url: str
    title: str
    author: str
    published: dt.datetime
    updated: dt.datetime
    content_html: str
    summary: str
    tags: tuple[str, ...] = ()
    image: Enclosure | None = None


@dataclass(frozen=True)
class FeedInfo:
    title: str
    subtitle: str
    home_url: str
    atom_url: str
    rss_url: str
    json_url: str = ""
    language: str = "en"
    author: str = ""


def newest(entries: list[FeedEntry], limit: int = FEED_LIMIT) -> list[FeedEntry]:
    return sorted(entries, key=lambda e: (e.published, e.id), reverse=True)[:limit]


def _generator(info: FeedInfo, entries: list[FeedEntry]) -> FeedGenerator:
    fg = FeedGenerator()
    fg.id(info.home_url)
    fg.title(info.title)
    fg.subtitle(info.subtitle or info.title)
    fg.language(info.language)
    if info.author:
        fg.author({"name": info.author})
    fg.link(href=info.atom_url, rel="self", type="application/atom+xml")
    fg.link(href=info.home_url, rel="alternate", type="text/html")  # last: RSS <link>
    entries = newest(entries)
    stamp = max((e.updated for e in entries), default=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    fg.updated(stamp)
    fg.lastBuildDate(stamp)
    for entry in reversed(entries):  # add_entry prepends: add oldest first
        _add_entry(fg, entry)
    return fg


def _add_entry(fg: FeedGenerator, entry: FeedEntry) -> None:
    fe = fg.add_entry()
    fe.id(entry.id)
    fe.guid(entry.id, permalink=True)
    fe.title(entry.title)
    fe.link(href=entry.url, rel="alternate", type="text/html")
    fe.author({"name": entry.author})
    fe.published(entry.published)
    fe.updated(entry.updated)
    fe.summary(entry.summary)
    fe.content(entry.content_html, type="html")
    for tag in entry.tags:
        fe.category(term=tag)
    if entry.image:
        fe.enclosure(entry.image.url, str(entry.image.length), entry.image.mime_type)


def atom(info: FeedInfo, entries: list[FeedEntry]) -> bytes:
    return _generator(info, entries).atom_str(pretty=True)


def rss(info: FeedInfo, entries: list[FeedEntry]) -> bytes:
    fg = _generator(info, entries)
    fg.link(href=info.rss_url, rel="self", type="application/rss+xml")
    fg.link(href=info.home_url, rel="alternate", type="text/html")
    return fg.rss_str(pretty=True)


def json_feed(info: FeedInfo, entries: list[FeedEntry]) -> bytes:
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1)."""
    items = []
    for e in newest(entries):
        item = {"id": e.id, "url": e.url, "title": e.title, "content_html": e.content_html,
                "summary": e.summary, "date_published": e.published.isoformat(),
                "date_modified": e.updated.isoformat(), "authors": [{"name": e.author}]}
        if e.tags:
            item["tags"] = list(e.tags)
        if e.image:
            item["image"] = e.image.url
            item["attachments"] = [{"url": e.image.url, "mime_type": e.image.mime_type,
                                    "size_in_bytes": e.image.length}]
        items.append(item)
    document = {"version": JSON_FEED_VERSION, "title": info.title, "home_page_url": info.home_url,
                "feed_url": info.json_url, "description": info.subtitle,
                "language": info.language, "items": items}
    if info.author:
        document["authors"] = [{"name": info.author}]
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
