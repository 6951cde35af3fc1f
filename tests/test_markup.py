"""Supporter Markdown becomes safe HTML: raw HTML is text, links only http(s)."""

from __future__ import annotations

import pytest
from lxml import html as lxml_html

from storywall import markup

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD4=)",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<svg onload=alert(1)>",
    "<iframe src=//evil.example></iframe>",
    "![x](https://evil.example/track.gif)",
    "[leak]({attach}../../private/store.sqlite)",
    "[leak]({static}/../pelicanconf.py)",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
]


def elements(html: str):
    return lxml_html.fragment_fromstring(html, create_parent="div").iter()


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_markdown_renders_without_active_content(payload):
    html = markup.render(f"Before {payload} after\n\n{payload}")
    for el in elements(html):
        assert el.tag not in ("script", "img", "iframe", "svg", "style", "object", "embed")
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), html
            assert name != "style"
            if name == "href":
                assert value.startswith(("http://", "https://")), html


def test_raw_html_is_shown_as_text():
    html = markup.render("I like <b>bold</b> things")
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>" not in html


def test_markdown_formatting_and_https_links_survive():
    html = markup.render("*so* **much**\n\n- one\n- two\n\n[our site](https://example.org/x)")
    assert "<em>so</em>" in html and "<strong>much</strong>" in html and "<li>two</li>" in html
    assert 'href="https://example.org/x"' in html and 'rel="nofollow ugc noopener"' in html


def test_supporter_headings_never_compete_with_the_page_title():
    html = markup.render("# My heading\n\ntext")
    assert "<h1" not in html and "<h2>My heading</h2>" in html


def test_plain_text_excerpt_cuts_on_a_word_and_unescapes():
    text = markup.plain_text("Fish &amp; chips **every** Friday with the whole family", 30)
    assert text == "Fish & chips every Friday with…"


def test_staff_pages_may_link_within_the_site_but_not_to_scripts():
    html = markup.render("[about](/about/) [x](javascript:alert(1))", trusted=True)
    assert 'href="/about/"' in html and "javascript" not in html
