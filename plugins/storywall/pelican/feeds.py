"""Pelican plugin: Atom/RSS/JSON feeds, sitemap.xml and robots.txt.

Writes ``/feeds/all.atom.xml``, ``/feeds/all.rss.xml``, ``/stories.json`` and
``/feeds/<initiative>.atom.xml`` / ``.rss.xml``. List it after
``storywall.pelican.initiatives`` (it reads ``article.initiative``).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from xml.sax.saxutils import escape

from pelican import signals
from pelican.generators import Generator

from .. import feeds
from .stories import LOCAL_SITEURL

logger = logging.getLogger(__name__)
def site_url(settings) -> str:
    """The absolute site address (SITEURL, or the local preview address)."""
    return settings.get("STORYWALL_BASE_URL") or (settings.get("SITEURL") or LOCAL_SITEURL).rstrip("/")


def entry_for(article, base: str) -> feeds.FeedEntry:
    story = article.story
    url = f"{base}/{getattr(article, 'sw_url', None) or article.url}"
    published = article.date
    updated = published
    if story.reply and story.reply.date:
        replied = dt.datetime.combine(story.reply.date, dt.time(), tzinfo=published.tzinfo)
        updated = max(published, replied)
    return feeds.FeedEntry(
        id=url, url=url, title=story.title, author=story.author, published=published,
        updated=updated, content_html=article.content, summary=article.description,
        tags=story.tags, image=getattr(article, "feed_image", None),
    )


class FeedsGenerator(Generator):
    def generate_context(self):
        pass

    def _write(self, relative: str, data: bytes) -> None:
        path = Path(self.output_path) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def generate_output(self, writer):
        base = site_url(self.settings)
        articles = self.context.get("articles", [])
        name = self.settings.get("SITENAME", "Stories")
        sw = self.settings["STORYWALL_SETTINGS"]
        info = feeds.FeedInfo(
            title=name, subtitle=sw.tagline or name, home_url=f"{base}/",
            atom_url=f"{base}/feeds/all.atom.xml", rss_url=f"{base}/feeds/all.rss.xml",
            json_url=f"{base}/stories.json", language=self.settings.get("DEFAULT_LANG", "en"),
            author=sw.organisation or name)
        entries = [entry_for(a, base) for a in articles]
        self._write("feeds/all.atom.xml", feeds.atom(info, entries))
        self._write("feeds/all.rss.xml", feeds.rss(info, entries))
        self._write("stories.json", feeds.json_feed(info, entries))
        for view in self.context.get("initiatives", []):
            own = feeds.FeedInfo(
                title=f"{view.initiative.title} — {name}", subtitle=view.initiative.summary,
                home_url=f"{base}/{view.url}", atom_url=f"{base}/feeds/{view.slug}.atom.xml",
                rss_url=f"{base}/feeds/{view.slug}.rss.xml", language=info.language,
                author=info.author)
            mine = [entry_for(a, base) for a in view.stories]
            self._write(f"feeds/{view.slug}.atom.xml", feeds.atom(own, mine))
            self._write(f"feeds/{view.slug}.rss.xml", feeds.rss(own, mine))
        self._write("sitemap.xml", sitemap(base, self.context))
        self._write("robots.txt", f"User-agent: *\nAllow: /\nSitemap: {base}/sitemap.xml\n".encode())


def sitemap(base: str, context) -> bytes:
    """Every public HTML page: the wall, stories, initiatives and staff pages."""
    urls = [(f"{base}/", None), (f"{base}/initiatives/", None)]
    urls += [(f"{base}/{a.url}", a.date.date()) for a in context.get("articles", [])]
    urls += [(f"{base}/{v.url}", None) for v in context.get("initiatives", [])]
    urls += [(f"{base}/{p.url}", None) for p in context.get("pages", [])]
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    for loc, lastmod in urls:
        mod = f"<lastmod>{lastmod.isoformat()}</lastmod>" if lastmod else ""
        lines.append(f"<url><loc>{escape(loc)}</loc>{mod}</url>")
    lines.append("</urlset>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def get_generators(pelican):
    return FeedsGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)
