"""The public site in a real browser: wall, filters, search, sharing, origin, axe-core.

Fixtures (conftest.py): ``built_site`` builds the demo site once, ``site_url``
serves it on 127.0.0.1, ``new_page`` opens a page in a fresh context of the one
session browser (Debian chromium) and fails the test if any request left the origin.
"""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import quote, urlsplit

import pytest
from browserkit import (CHROMIUM_MISSING, DESKTOP, PHONE, SCREENSHOTS, STORY, cls,
                        have_chromium, require)

require(have_chromium(), CHROMIUM_MISSING, module=True)
pytestmark = pytest.mark.slow

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
NETWORKS = ("Facebook", "X", "LinkedIn", "WhatsApp", "Bluesky", "E-mail")
WORD = re.compile(r"[a-z]{7,}")


def visible_cards(page):
    return page.locator(".wall .card:visible")


def load_everything(page):
    """Scroll down a screen at a time so every lazy image loads, then back to the top."""
    page.evaluate("""async () => {
        for (let y = 0; y < document.body.scrollHeight; y += window.innerHeight) {
            window.scrollTo(0, y);
            await new Promise(r => requestAnimationFrame(() => setTimeout(r, 30)));
        }
        window.scrollTo(0, 0);
    }""")
    page.wait_for_load_state("networkidle")
    page.wait_for_function("[...document.images].every(i => i.complete)")


def story_path(slug):
    return f"/stories/{slug}/"


# --- the wall, and screenshots to look at -----------------------------------------

@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_wall_renders_cards_at_phone_and_desktop_width(new_page, site_url, built_site, viewport):
    page = new_page(viewport=viewport)
    page.goto(site_url + "/")
    cards = visible_cards(page)
    assert cards.count() >= 6
    first = cards.first.bounding_box()
    assert first["width"] <= viewport["width"], "a card is wider than the viewport"
    no_overflow = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert no_overflow, "the wall scrolls sideways"
    columns = {round(cards.nth(i).bounding_box()["x"]) for i in range(min(cards.count(), 6))}
    if viewport is PHONE:
        assert len(columns) == 1, "one column of cards on a phone"
    else:
        assert len(columns) >= 3, "several columns of cards on a desktop"
    expect_cta = page.get_by_role("link", name="Share your story")
    assert expect_cta.count() >= 1
    # Screenshots of the wall, a story and an initiative page, to look at.
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = viewport["width"]
    for name, path in (("wall", "/"), ("story", story_path(built_site.story_with_photos)),
                       ("review", story_path(built_site.review)),
                       ("initiative", f"/initiatives/{built_site.initiative}/")):
        page.goto(site_url + path)
        load_everything(page)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)


# --- filtering by initiative --------------------------------------------------------

def _filter_slug(page) -> str:
    """An initiative with cards on the first page, while other initiatives have some too."""
    counts = Counter(page.locator(".wall .card").evaluate_all(
        "cards => cards.map(c => c.dataset.initiative)"))
    assert len(counts) >= 2, f"the first page shows one initiative only: {counts}"
    return counts.most_common(1)[0][0]


def test_filter_chip_hides_cards_of_other_initiatives(new_page, site_url):
    page = new_page(viewport=DESKTOP)
    page.goto(site_url + "/")
    total = page.locator(".wall .card").count()
    slug = _filter_slug(page)
    chip = page.locator(f".filters a[data-filter='{slug}']")
    chip.click()
    shown = visible_cards(page).evaluate_all("cards => cards.map(c => c.dataset.initiative)")
    assert shown and set(shown) == {slug}
    assert page.url.rstrip("/") == site_url, "JS filtering should not navigate"
    assert chip.get_attribute("aria-current") == "page"
    assert page.locator("[data-filter-status]").inner_text().strip()
    page.locator(".filters a[data-filter='']").click()
    assert visible_cards(page).count() == total


def test_filter_chip_is_a_plain_link_without_javascript(new_page, site_url):
    page = new_page(viewport=PHONE, java_script_enabled=False)
    page.goto(site_url + "/")
    chips = page.locator(".filters a[data-filter]:not([data-filter=''])")
    assert chips.count() >= 2
    for i in range(chips.count()):
        slug = chips.nth(i).get_attribute("data-filter")
        assert chips.nth(i).get_attribute("href") == f"/initiatives/{slug}/"
    slug = _filter_slug(page)
    page.locator(f".filters a[data-filter='{slug}']").click()
    page.wait_for_url(f"{site_url}/initiatives/{slug}/")
    cards = page.locator(".wall .card").evaluate_all("cards => cards.map(c => c.dataset.initiative)")
    assert cards and set(cards) == {slug}
    assert page.locator("form[data-search]").is_hidden(), "search needs JS: hidden without it"


# --- search (Pagefind) ----------------------------------------------------------------

def _word_only_in_one_story(built_site) -> tuple[str, str]:
    """(word, slug): a word in one story's body and nowhere else in any story page."""
    seen: dict[str, set[str]] = {}
    bodies = {}
    for slug, doc in built_site.stories.items():
        article = doc.xpath(STORY)[0]
        for word in set(WORD.findall(article.text_content().lower())):
            seen.setdefault(word, set()).add(slug)
        bodies[slug] = " ".join(b.text_content() for b in doc.xpath(f"//*[{cls('story-body')}]")).lower()
    everything = " ".join(d.xpath(STORY)[0].text_content().lower()
                          for d in built_site.stories.values())
    candidates = sorted(
        ((word, next(iter(slugs))) for word, slugs in seen.items()
         if len(slugs) == 1 and word in WORD.findall(bodies[next(iter(slugs))])
         and everything.count(word[:6]) == 1),  # no other word shares its stem either
        key=lambda pair: (-len(pair[0]), pair))
    assert candidates, "no word appears in exactly one story's body"
    return candidates[0]


def test_search_finds_a_story_by_a_word_only_in_its_body(new_page, site_url, built_site):
    word, slug = _word_only_in_one_story(built_site)
    page = new_page(viewport=PHONE)
    page.goto(site_url + "/")
    form = page.locator("form[data-search]")
    assert form.is_visible(), "the search form is shown when JS runs"
    page.fill("#search-input", word)
    page.press("#search-input", "Enter")
    results = page.locator("[data-search-results] li a")
    results.first.wait_for()
    hrefs = [urlsplit(h).path for h in results.evaluate_all("links => links.map(a => a.href)")]
    assert story_path(slug) in hrefs, f"searching {word!r}: {hrefs}"
    assert hrefs[0] == story_path(slug)
    assert "found" in page.locator("#search-status").inner_text()


# --- sharing ------------------------------------------------------------------------

def test_share_links_carry_the_story_url_and_title(new_page, site_url, built_site):
    slug = built_site.story_with_photos
    page = new_page(viewport=PHONE)
    page.goto(site_url + story_path(slug))
    box = page.locator("[data-share-url]")
    url = box.get_attribute("data-share-url")
    title = box.get_attribute("data-share-title")
    assert re.fullmatch(r"https?://[^/]+/stories/" + re.escape(slug) + "/", url), url
    assert title == page.locator("article.story h1").inner_text().strip()
    assert page.locator("link[rel=canonical]").get_attribute("href") == url
    links = {a.get_attribute("data-network"): a.get_attribute("href")
             for a in box.locator("a[data-network]").all()}
    assert set(links) == set(NETWORKS)
    enc_url, enc_title = quote(url, safe=""), quote(title, safe="")
    hosts = {"Facebook": "www.facebook.com", "X": "x.com", "LinkedIn": "www.linkedin.com",
             "WhatsApp": "wa.me", "Bluesky": "bsky.app"}
    for network, href in links.items():
        assert enc_url in href, f"{network}: {href}"
        if network == "E-mail":
            assert href.startswith("mailto:?") and enc_title in href, href
        else:
            assert urlsplit(href).scheme == "https" and urlsplit(href).hostname == hosts[network]
            if network not in ("Facebook", "LinkedIn"):  # these two take the URL only
                assert enc_title in href, f"{network}: {href}"
    assert box.locator("iframe, script").count() == 0
    assert page.evaluate("document.cookie") == ""


def test_copy_link_button_puts_the_url_on_the_clipboard(new_page, site_url, built_site):
    slug = built_site.story_with_photos
    page = new_page(viewport=PHONE)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site_url)
    page.goto(site_url + story_path(slug))
    url = page.locator("[data-share-url]").get_attribute("data-share-url")
    page.locator("[data-copy-link]").click()
    status = page.locator("[data-share-status]")
    page.wait_for_function("el => el.textContent.trim() !== ''", arg=status.element_handle())
    assert status.inner_text().strip() == "Link copied."
    assert page.evaluate("navigator.clipboard.readText()") == url


# --- no third party -----------------------------------------------------------------

def test_no_request_leaves_the_sites_origin(new_page, site_url, built_site):
    """Every tested page, with lazy images loaded and search used (new_page checks)."""
    page = new_page(viewport=DESKTOP)
    for path in ("/", "/page/2/", story_path(built_site.story_with_photos),
                 story_path(built_site.review), "/initiatives/",
                 f"/initiatives/{built_site.initiative}/", "/share/", "/404.html"):
        page.goto(site_url + path)
        load_everything(page)
    page.goto(site_url + "/")
    page.fill("#search-input", "water")
    page.locator("[data-search-results] li a").first.wait_for()
    urls = page.recorder.urls
    assert any("/pagefind/" in u for u in urls), "search loaded Pagefind from the site"
    assert any(re.search(r"\.(webp|jpe?g)$", u) for u in urls), "photos were loaded"
    assert page.recorder.foreign() == []


# --- accessibility (axe-core) -----------------------------------------------------

AXE_PAGES = {
    "wall": lambda site: "/",
    "story": lambda site: story_path(site.story_with_photos),
    "review": lambda site: story_path(site.review),
    "video story": lambda site: story_path(site.story_with_video),
    "initiative": lambda site: f"/initiatives/{site.initiative}/",
    "share": lambda site: "/share/",
}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", list(AXE_PAGES))
def test_axe_finds_no_violations(new_page, site_url, built_site, axe_source, name, scheme):
    page = new_page(viewport=PHONE, color_scheme=scheme)
    response = page.goto(site_url + AXE_PAGES[name](built_site))
    assert response.status == 200, f"{page.url}: HTTP {response.status}"
    page.add_script_tag(path=str(axe_source))
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS)
    violations = [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(" ".join(n["target"]) + ": " + (n.get("failureSummary") or "").replace("\n", " ")
                    for n in v["nodes"][:5])
        for v in results["violations"]]
    assert violations == [], "\n".join(violations)


# --- video ------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_story_video_plays_upright_with_captions_and_fits_the_screen(new_page, site_url,
                                                                     built_site, viewport):
    page = new_page(viewport=viewport)
    page.goto(site_url + story_path(built_site.story_with_video))
    player = page.locator("article.story video")
    assert player.get_attribute("preload") == "none"
    assert page.evaluate("document.querySelector('article.story video').readyState") == 0
    box = player.bounding_box()
    assert box["width"] <= viewport["width"] and box["height"] <= viewport["height"] * 0.8 + 1
    assert box["height"] > box["width"]  # the demo video is portrait, before it loads too
    page.evaluate("document.querySelector('article.story video').load()")
    page.wait_for_function("document.querySelector('article.story video').readyState >= 2")
    facts = page.evaluate("""() => { const v = document.querySelector('article.story video');
        return {w: v.videoWidth, h: v.videoHeight, error: v.error && v.error.code,
                duration: v.duration, tracks: v.textTracks.length,
                mode: v.textTracks[0] && v.textTracks[0].mode}; }""")
    assert (facts["w"], facts["h"]) == (480, 854) and facts["error"] is None
    assert 5 < facts["duration"] < 7
    assert facts["tracks"] == 1 and facts["mode"] == "showing"
    assert page.locator("details.transcript[open] p").first.is_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"video-story-{viewport['width']}.png"), full_page=True)
