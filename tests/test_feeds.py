"""Feeds parse cleanly, carry full content and stable ids, and leave nothing out."""

from __future__ import annotations

import json

import feedparser

from storywall import build


def built(site):
    site.add_story("first", "First words, *emphasised*.", title="First story",
                   date="2026-08-01", tags=["water"])
    site.add_story("second", "Second words.", title="Second review", kind="review", rating=4,
                   date="2026-09-01", reply={"author": "Trust", "text": "Thanks",
                                             "date": "2026-09-03"})
    site.add_story("hidden", "Hidden words.", title="Pendingone", status="pending")
    site.add_initiative("meals", title="School meals")
    site.add_story("meal", "Meal words.", title="Meal story", initiative="meals")
    build.build(site.root)
    return site.output


def test_all_feeds_parse_without_errors_and_list_published_stories(site):
    out = built(site)
    for name, version in (("all.atom.xml", "atom10"), ("all.rss.xml", "rss20"),
                          ("water.atom.xml", "atom10"), ("water.rss.xml", "rss20"),
                          ("meals.atom.xml", "atom10")):
        feed = feedparser.parse((out / "feeds" / name).read_bytes())
        assert feed.bozo == 0, (name, feed.get("bozo_exception"))
        assert feed.version == version
        titles = {e.title for e in feed.entries}
        assert "Pendingone" not in titles
        for entry in feed.entries:
            assert entry.id.startswith("http") and entry.link == entry.id
    everything = feedparser.parse((out / "feeds" / "all.atom.xml").read_bytes())
    assert {e.title for e in everything.entries} == {"First story", "Second review", "Meal story"}
    water = feedparser.parse((out / "feeds" / "water.atom.xml").read_bytes())
    assert {e.title for e in water.entries} == {"First story", "Second review"}


def test_feed_entries_carry_full_sanitized_content_and_newest_first(site):
    out = built(site)
    feed = feedparser.parse((out / "feeds" / "all.atom.xml").read_bytes())
    dates = [e.published_parsed for e in feed.entries]
    assert dates == sorted(dates, reverse=True)
    first = next(e for e in feed.entries if e.title == "First story")
    assert "<em>emphasised</em>" in first.content[0].value
    assert [t.term for t in first.tags] == ["water"]


def test_rss_channel_link_is_the_site_not_the_feed(site):
    out = built(site)
    feed = feedparser.parse((out / "feeds" / "all.rss.xml").read_bytes())
    assert feed.feed.link.rstrip("/").endswith("127.0.0.1:8000")


def test_json_feed_has_the_spec_fields(site):
    out = built(site)
    data = json.loads((out / "stories.json").read_text())
    assert data["version"] == "https://jsonfeed.org/version/1.1"
    for key in ("title", "home_page_url", "feed_url", "items"):
        assert data[key]
    ids = [item["id"] for item in data["items"]]
    assert len(ids) == len(set(ids)) == 3
    for item in data["items"]:
        assert item["url"].startswith("http") and item["content_html"]
        assert item["date_published"][:4] == "2026" and item["authors"][0]["name"]


def test_feed_ids_stay_stable_across_builds(site):
    out = built(site)
    first = [e.id for e in feedparser.parse((out / "feeds" / "all.atom.xml").read_bytes()).entries]
    build.build(site.root)
    again = [e.id for e in feedparser.parse((out / "feeds" / "all.atom.xml").read_bytes()).entries]
    assert first == again


def test_every_page_links_its_feeds(site):
    out = built(site)
    assert 'href="/feeds/all.atom.xml"' in (out / "index.html").read_text()
    assert 'href="/feeds/water.atom.xml"' in (out / "initiatives" / "water" / "index.html").read_text()


def test_sitemap_and_robots_list_public_pages_only(site):
    out = built(site)
    sitemap = (out / "sitemap.xml").read_text()
    assert "/stories/first/" in sitemap and "/initiatives/meals/" in sitemap
    assert "/stories/hidden/" not in sitemap
    assert "Sitemap: http://127.0.0.1:8000/sitemap.xml" in (out / "robots.txt").read_text()
