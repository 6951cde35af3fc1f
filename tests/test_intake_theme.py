"""The share form and thanks page: built by Pelican, then used in a real browser."""

from __future__ import annotations

import functools
import http.server
import re
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import html as lxml_html

from intakekit import ROOT, config, make_site, visible_folders, waitress_server
from storywall.build import build
from storywall.intake import create_app

CHROMIUM = Path("/usr/bin/chromium")
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    site = make_site(tmp_path_factory.mktemp("theme"))
    build(site.root)
    return site


def page(site, path) -> lxml_html.HtmlElement:
    return lxml_html.fromstring((site.output / path / "index.html").read_bytes())


def test_share_page_is_a_plain_accessible_form(built):
    doc = page(built, "share")
    form = doc.get_element_by_id("share-form")
    assert form.get("method") == "post" and form.get("action") == "/submit"
    assert form.get("enctype") == "multipart/form-data"
    labels = {label.get("for") for label in doc.iter("label")}
    for control in form.xpath(".//input[not(@type='radio') and not(@type='hidden')] | "
                              ".//select | .//textarea"):
        assert control.get("id") in labels, control.get("name")
        described = control.get("aria-describedby")
        if control.get("name") != "website":
            assert described and f"error-{control.get('name')}" in described.split()
    rating = doc.get_element_by_id("field-rating")
    assert rating.tag == "fieldset" and rating.find("legend") is not None
    assert [r.get("value") for r in rating.xpath(".//input[@type='radio']")] == list("12345")
    assert doc.xpath("//select[@name='initiative']/option/@value") == ["", "water", "parks"]  # by title
    assert doc.get_element_by_id("form-status").get("role") == "alert"
    assert len(form.xpath(".//input[@type='file'][starts-with(@name, 'photo_')]")) == 6
    (clip,) = form.xpath(".//input[@type='file'][@name='video']")
    assert clip.get("data-max-seconds") == "120" and clip.get("accept").startswith("video/")
    honeypot = doc.xpath("//input[@name='website']")[0]
    assert honeypot.get("tabindex") == "-1" and honeypot.getparent().get("aria-hidden") == "true"
    loaded = doc.xpath("//script/@src | //img/@src | //link[@rel='stylesheet']/@href | "
                       "//form/@action")
    assert loaded and not [u for u in loaded if re.match(r"(https?:)?//", u)]  # no third party


def test_thanks_page_has_next_steps_faq_and_feeds(built):
    doc = page(built, "thanks")
    text = doc.text_content()
    assert "What happens next" in text and "five working days" in text
    parks = doc.get_element_by_id("initiative-parks")
    assert "Who plants the trees?" in parks.text_content()
    assert parks.xpath(".//a/@href") == ["/initiatives/parks/", "/feeds/parks.atom.xml"]
    assert doc.xpath("//a[@href='/']") and doc.xpath("//a[@href='/feeds/all.atom.xml']")


def test_intake_url_setting_is_the_form_action(tmp_path):
    site = make_site(tmp_path)
    site.configure(ROOT / "theme", {"intake_url": "https://intake.example.org/submit"})
    build(site.root)
    assert page(site, "share").get_element_by_id("share-form").get("action") == \
        "https://intake.example.org/submit"


# --- in a browser -----------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file() or not AXE_JS.is_file():
        pytest.skip("needs Debian's chromium and node_modules/axe-core (npm ci)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM),
                              args=["--disable-gpu", "--no-first-run",
                                    "--disable-background-networking"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory, browser):
    """The built site on one port, the intake server on another (a cross-origin post)."""
    site = make_site(tmp_path_factory.mktemp("live"))
    static = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site.output)))
    origin = f"http://127.0.0.1:{static.server_address[1]}"
    app = create_app(config(site, SITE_URL=origin))
    with waitress_server(app) as port:
        site.configure(ROOT / "theme", {"intake_url": f"http://127.0.0.1:{port}/submit"})
        build(site.root)
        threading.Thread(target=static.serve_forever, daemon=True).start()
        try:
            yield site, origin, port
        finally:
            static.shutdown()
            static.server_close()


@pytest.fixture
def new_page(browser):
    """Pages in contexts that are closed after the test (no lingering keep-alives)."""
    contexts = []

    def make(**options):
        context = browser.new_context(**options)
        contexts.append(context)
        return context.new_page()
    yield make
    for context in contexts:
        context.close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def axe(pg) -> list[str]:
    pg.add_script_tag(path=str(AXE_JS))
    results = pg.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, "
                          "resultTypes: ['violations']})", AXE_TAGS)
    return [f"{v['id']}: {v['help']} — " + "; ".join(" ".join(n["target"]) for n in v["nodes"])
            for v in results["violations"]]


def big_jpeg(path: Path) -> Path:
    from PIL import Image

    Image.effect_noise((2400, 1600), 50).convert("RGB").save(path, "JPEG", quality=92)
    return path


def fill(pg, title="River day", alt="Volunteers at the river"):
    pg.check("#field-kind-review")
    pg.click("label[for=field-rating-4]")
    pg.fill("#field-title", title)
    pg.fill("#field-story", "We pulled forty bags of litter out of the river.")
    pg.fill("#field-author", "Sam T.")
    pg.fill("#field-alt_1", alt)
    pg.check("#field-consent_publish")
    pg.check("#field-consent_photos")


def test_with_javascript_photo_is_downscaled_uploaded_and_thanked(live, new_page, tmp_path):
    site, origin, _ = live
    pg = new_page(viewport={"width": 390, "height": 844})
    requests = []
    pg.on("request", lambda r: requests.append(r.url))
    pg.goto(origin + "/share/?initiative=parks")
    assert pg.input_value("#field-initiative") == "parks"
    assert axe(pg) == []
    assert pg.is_hidden("#field-rating")
    fill(pg)
    assert pg.text_content("#count-title") == "9 of 120 characters"
    photo = big_jpeg(tmp_path / "big.jpg")
    pg.set_input_files("#field-photo_1", str(photo))
    pg.wait_for_selector("#preview-1 img")
    before = set(visible_folders(site.root / "submissions"))
    with pg.expect_navigation(url=re.compile(r"/thanks/\?id=")):
        pg.click("button[type=submit]")
    assert pg.is_visible("#thanks-reference")
    assert pg.is_visible("#initiative-parks") and pg.is_hidden("#initiative-water")
    assert axe(pg) == []
    (folder,) = set(visible_folders(site.root / "submissions")) - before
    from PIL import Image

    with Image.open(folder / "photo-1.jpg") as img:
        assert max(img.size) <= 2048  # downscaled in the browser before upload
    assert [u for u in requests if u.startswith(("http:", "https:"))
            and not u.startswith("http://127.0.0.1:")] == []


def test_with_javascript_server_errors_show_beside_fields(live, new_page):
    site, origin, _ = live
    before = visible_folders(site.root / "submissions")
    pg = new_page()
    pg.goto(origin + "/share/")
    fill(pg)
    pg.select_option("#field-initiative", "water")
    pg.fill("#field-email", "ana@example.net")  # but no consent to contact
    pg.fill("#field-alt_1", "")
    pg.click("button[type=submit]")
    pg.wait_for_selector("#error-consent_contact:not([hidden])")
    assert "Tick this box" in pg.text_content("#error-consent_contact")
    assert pg.get_attribute("#field-consent_contact", "aria-invalid") == "true"
    assert pg.evaluate("document.activeElement.id") == "form-status"
    assert pg.input_value("#field-story").startswith("We pulled")
    assert visible_folders(site.root / "submissions") == before


def test_without_javascript_a_rejection_comes_back_as_the_form(live, new_page, tmp_path):
    site, origin, port = live
    pg = new_page(java_script_enabled=False)
    pg.goto(origin + "/share/")
    fill(pg, alt="")
    pg.select_option("#field-initiative", "water")
    from PIL import Image

    Image.new("RGB", (40, 30), "red").save(tmp_path / "small.jpg")
    pg.set_input_files("#field-photo_1", str(tmp_path / "small.jpg"))
    with pg.expect_navigation():
        pg.click("button[type=submit]")
    assert pg.url == f"http://127.0.0.1:{port}/submit"
    assert "describe the photo" in pg.text_content("#error-alt_1")
    assert pg.input_value("#field-title") == "River day"
    assert pg.is_checked("#field-rating-4")
    pg = new_page()  # axe needs scripts: the intake's re-rendered form, scripts on
    pg.set_content(_rerendered(port, site))
    assert axe(pg) == []


def _rerendered(port, site) -> str:
    import urllib.request

    from intakekit import fields, multipart

    body, ctype = multipart(fields(title="Hi"))
    req = urllib.request.Request(f"http://127.0.0.1:{port}/submit", data=body, method="POST",
                                 headers={"Content-Type": ctype, "Accept": "text/html",
                                          "Origin": f"http://127.0.0.1:{port}"})
    try:
        urllib.request.urlopen(req, timeout=10)
    except urllib.error.HTTPError as err:
        assert err.code == 422
        return err.read().decode()
    raise AssertionError("expected a 422")


def test_with_javascript_a_too_long_video_is_refused_before_sending(live, new_page, tmp_path):
    import videomakers

    site, origin, _ = live
    clip = videomakers.make_video(tmp_path / "long.mp4", seconds=125, size=(64, 48), fps=2,
                                  audio=False, tags={}, stream_tags={})
    pg = new_page()
    posts = []
    pg.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    pg.goto(origin + "/share/")
    fill(pg)
    pg.select_option("#field-initiative", "water")
    pg.set_input_files("#field-video", str(clip))
    assert pg.evaluate("document.getElementById('field-transcript').required")
    pg.wait_for_selector("#error-video:not([hidden])")
    assert "over the 120-second limit" in pg.text_content("#error-video")
    pg.fill("#field-transcript", "Words of the video.")
    pg.click("button[type=submit]")
    pg.wait_for_selector("#form-status .error-summary")
    assert posts == []  # nothing was sent


def test_a_story_sent_through_an_invitation_link_is_tied_to_the_giver(live, new_page):
    """The invitation's personal link → the real form page → the real intake server."""
    import sqlite3

    from storywall.supporters import Supporters, now_iso

    site, origin, _ = live
    store = Supporters(site.root / "private")
    token = "invitation-token-0123456789"
    with store.db() as con:  # what `storywall invite` records for a gift
        giver = store.person_for(con, email="gil@example.net", name="Gil")
        con.execute("INSERT INTO gifts VALUES (?, ?, ?, ?, ?, ?, ?)",
                    ("G-browser", giver.id, "parks", "2026-10-01", 1, token, now_iso()))
    pg = new_page(viewport={"width": 390, "height": 844})
    pg.goto(f"{origin}/share/?initiative=parks&invite={token}")
    assert pg.input_value("#field-initiative") == "parks"
    assert pg.input_value("#field-invite") == token
    pg.fill("#field-title", "Why I planted a tree")
    pg.fill("#field-story", "My grandmother planted the oak by the school.")
    pg.fill("#field-author", "Gil")
    pg.check("#field-consent_publish")
    with pg.expect_navigation(url=re.compile(r"/thanks/\?id=")):
        pg.click("button[type=submit]")
    sub_id = parse_qs(urlsplit(pg.url).query)["id"][0]
    con = sqlite3.connect(site.root / "private" / "intake.sqlite3")
    assert con.execute("SELECT person_id FROM links WHERE submission_id = ?",
                       (sub_id,)).fetchone() == (giver.id,)
    assert b"gil@example.net" not in b"".join(
        p.read_bytes() for p in (site.root / "submissions" / sub_id).rglob("*") if p.is_file())
