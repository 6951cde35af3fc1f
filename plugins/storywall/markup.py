"""Markdown to safe HTML.

Supporter text is untrusted. Raw HTML in Markdown is not passed through (it is
escaped and shows as text), and the rendered HTML is sanitized with nh3 to a
small allow-list: no images, no scripts, no event handlers, links only to
http(s) addresses (which also keeps Pelican's ``{static}``/``{attach}`` link
expansion from ever seeing a supporter-written path).
"""

from __future__ import annotations

import html as htmllib
import threading

import markdown
import nh3
from markdown.treeprocessors import Treeprocessor

STORY_TAGS = {
    "p", "br", "em", "strong", "a", "ul", "ol", "li", "blockquote",
    "code", "pre", "h2", "h3", "h4", "hr",
}
STAFF_TAGS = STORY_TAGS | {"h5", "table", "thead", "tbody", "tr", "th", "td", "abbr"}
LINK_REL = "nofollow ugc noopener"

_local = threading.local()
_SHIFT = {"h1": "h2", "h5": "h4", "h6": "h4"}  # the page owns <h1>; keep the rest in order


class _HeadingShift(Treeprocessor):
    """A supporter's "# Heading" becomes <h2>: the page owns <h1>."""

    def run(self, root):
        for el in root.iter():
            if el.tag in _SHIFT:
                el.tag = _SHIFT[el.tag]


def _markdown() -> markdown.Markdown:
    """A per-thread Markdown converter with raw HTML switched off."""
    md = getattr(_local, "md", None)
    if md is None:
        md = markdown.Markdown(extensions=["sane_lists"], output_format="html")
        md.treeprocessors.register(_HeadingShift(md), "storywall_headings", 5)
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        _local.md = md
    return md


def _story_links(tag: str, attr: str, value: str) -> str | None:
    if tag == "a" and attr == "href":
        return value if value.lower().startswith(("https://", "http://")) else None
    return value


def _staff_links(tag: str, attr: str, value: str) -> str | None:
    if tag == "a" and attr == "href":
        if value.lower().startswith(("https://", "http://", "mailto:", "/", "#")):
            return value if "{" not in value else None
        return None
    return value


def render(text: str, *, trusted: bool = False) -> str:
    """Render Markdown ``text`` to sanitized HTML.

    ``trusted`` is for staff pages and initiatives: a few more tags and
    site-relative links. Supporter stories always use the default.
    """
    md = _markdown()
    try:
        html = md.convert(text)
    finally:
        md.reset()
    return nh3.clean(
        html,
        tags=STAFF_TAGS if trusted else STORY_TAGS,
        attributes={"a": {"href"}, "abbr": {"title"}, "th": {"scope"}},
        url_schemes={"http", "https", "mailto"} if trusted else {"http", "https"},
        link_rel=LINK_REL if not trusted else "noopener",
        attribute_filter=_staff_links if trusted else _story_links,
        strip_comments=True,
    )


def plain_text(text: str, limit: int | None = None) -> str:
    """The story's words without markup, for cards and descriptions."""
    return html_to_text(render(text), limit)


def html_to_text(html: str, limit: int | None = None) -> str:
    """Words of already-rendered HTML, cut on a word boundary at ``limit``."""
    words = htmllib.unescape(nh3.clean(html, tags=set())).split()
    result = " ".join(words)
    if limit and len(result) > limit:
        cut = result[: limit + 1].rsplit(" ", 1)[0]
        result = cut.rstrip(",.;:—- ") + "…"
    return result
