"""What the public sees: share links and cards, structured data, charts, calls to action."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

from lxml import html as lxml_html
from PIL import Image

from storywall import build


def page(site, path):
    return lxml_html.fromstring((site.output / path / "index.html").read_bytes())


def built(site):
    site.add_story("ana", "Water changes everything for us.", title="Ana's well & more",
                   quote="Water changes everything.")
    site.add_story("ben", "Muddy boots.", title="River day", kind="review", rating=4)
    site.add_story("cleo", "Third one.", title="Cleo's filter")
    build.build(site.root)
    return site


def test_story_share_links_carry_the_story_url_and_title(site):
    tree = page(built(site), "stories/ana")
    links = {a.get("data-network"): a.get("href") for a in tree.xpath("//a[@data-network]")}
    assert set(links) == {"Facebook", "X", "LinkedIn", "WhatsApp", "Bluesky", "E-mail"}
    story_url = "http://127.0.0.1:8000/stories/ana/"
    for network, href in links.items():
        query = parse_qs(urlparse(href).query)
        values = " ".join(v for vs in query.values() for v in vs)
        assert story_url in values, network
    assert "Ana's well & more" in parse_qs(urlparse(links["X"]).query)["text"][0]
    assert links["E-mail"].startswith("mailto:?subject=Ana%27s%20well%20%26%20more")
    assert tree.xpath("//button[@data-copy-link]")


def test_share_card_is_in_open_graph_and_twitter_tags(site):
    built(site)
    tree = page(site, "stories/ana")
    og = tree.xpath("//meta[@property='og:image']/@content")[0]
    assert og == tree.xpath("//meta[@name='twitter:image']/@content")[0]
    assert tree.xpath("//meta[@name='twitter:card']/@content") == ["summary_large_image"]
    card = site.output / "cards" / og.rsplit("/", 1)[1]
    with Image.open(card) as img:
        assert img.size == (1200, 630) and img.format == "JPEG"


def test_story_has_json_ld_article_without_review_stars(site):
    tree = page(built(site), "stories/ben")
    data = json.loads(tree.xpath("//script[@type='application/ld+json']/text()")[0])
    assert data["@type"] == "Article" and data["headline"] == "River day"
    assert data["author"]["name"] == "Ana P." and "review" not in json.dumps(data).lower()


def test_story_page_lists_related_stories_of_its_initiative_and_a_share_cta(site):
    tree = page(built(site), "stories/ana")
    related = tree.xpath("//section[@aria-labelledby='related-heading']//h3/a/text()")
    assert set(related) == {"River day", "Cleo's filter"}
    assert tree.xpath("//aside[@class='cta']//a/@href") == ["/share/?initiative=water"]


def test_canonical_urls_are_absolute(site):
    built(site)
    assert page(site, "stories/ana").xpath("//link[@rel='canonical']/@href") == [
        "http://127.0.0.1:8000/stories/ana/"]
    assert page(site, "").xpath("//link[@rel='canonical']/@href") == ["http://127.0.0.1:8000/"]
    missing = lxml_html.fromstring((site.output / "404.html").read_bytes())
    assert not missing.xpath("//link[@rel='canonical']")
    assert missing.xpath("//meta[@name='robots']/@content") == ["noindex"]


def test_initiative_page_draws_figure_history_as_accessible_svg(site):
    tree = page(built(site), "initiatives/water")
    svg = tree.xpath("//*[local-name()='svg']")[0]
    assert svg.get("role") == "img" and "210 children" in svg.get("aria-label")
    assert "450 children" in svg.get("aria-label")
    assert tree.xpath("//progress/@value") == ["45"]
    assert "4.0 out of 5 from 1 review" in tree.text_content()


def test_wall_cards_carry_their_initiative_for_instant_filtering(site):
    tree = page(built(site), "")
    assert {c.get("data-initiative") for c in tree.xpath("//article[contains(@class,'card')]")} == {"water"}
    chips = tree.xpath("//nav[@class='filters']//a")
    assert chips[1].get("href") == "/initiatives/water/" and chips[1].get("data-filter") == "water"


def test_search_index_covers_story_pages(site):
    out = built(site).output
    assert (out / "pagefind" / "pagefind.js").is_file()
    assert page(site, "stories/ana").xpath("//article[@data-pagefind-body]")
