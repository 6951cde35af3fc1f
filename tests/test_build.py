"""Real Pelican builds of tiny sites: what reaches output/ and what never does."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil

import pytest
from lxml import html as lxml_html

from storywall import build
from storywall.errors import ProblemsFound, StoryWallError

PAYLOADS = [
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    "{{ 7*191 }}",
    "{% print(7*191) %}",
]


def html_files(output):
    return sorted(p for p in output.rglob("*.html"))


def test_minimal_fixture_site_builds_with_real_pelican(minimal_site):
    report = build.build(minimal_site)
    out = minimal_site / "output"
    assert report.stories == 2
    for page in ("index.html", "stories/ana-first-well/index.html",
                 "stories/ben-river-day/index.html", "initiatives/index.html",
                 "initiatives/water/index.html", "about/index.html", "404.html"):
        assert (out / page).is_file(), page
    wall = (out / "index.html").read_text()
    assert wall.index("A great river day") < wall.index("The first well")  # featured first
    initiative = (out / "initiatives" / "water" / "index.html").read_text()
    assert "450" in initiative and "31 October 2026" in initiative and "Field report 2026" in initiative
    assert "The first well" in initiative and "A great river day" in initiative
    story = (out / "stories" / "ben-river-day" / "index.html").read_text()
    assert "4 out of 5 stars" in story and "Thanks, Ben!" in story and "Clean water" in story


def hostile_story_fields(payload):
    return dict(
        title=f"Title {payload}", author=f"Au {payload}"[:60], quote=f"Q {payload}",
        tags=[payload[:30]],
        reply={"author": f"R {payload}"[:60], "text": f"Reply {payload}", "date": "2026-09-02"},
    )


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_text_in_every_field_produces_no_markup_in_output(site, payload):
    site.add_story("hostile", f"Body {payload}\n\n[link]({payload})", **hostile_story_fields(payload))
    site.add_story("hostile-review", f"{payload}", kind="review", rating=5,
                   **hostile_story_fields(payload))
    site.add_initiative("water", body=f"About {payload}", title=f"Water {payload}",
                        summary=f"S {payload}",
                        faq=[{"q": f"Q {payload}", "a": f"A {payload}"}])
    build.build(site.root)
    for path in html_files(site.output):
        tree = lxml_html.fromstring(path.read_bytes())
        for script in tree.xpath("//script"):  # only our own file, and inert JSON-LD data
            if script.get("type") == "application/ld+json":
                data = json.loads(script.text)
                assert "<" not in script.text and data["@type"] == "Article"
            elif script.get("src"):
                assert script.get("src") == "/theme/js/wall.js" and not (script.text or "").strip()
            else:  # the one line that marks the page as having JavaScript
                assert script.text.strip() == 'document.documentElement.classList.add("js")'
        for el in tree.iter():
            for name, value in el.attrib.items():
                assert not name.lower().startswith("on"), (path, name)
                assert not value.strip().lower().startswith("javascript:"), (path, value)
        text = path.read_text()
        assert "1337" not in text, path  # 7*191: no template was evaluated
    assert "Title" in (site.output / "stories" / "hostile" / "index.html").read_text()


def test_unpublished_and_no_consent_stories_never_reach_any_output_file(site):
    site.add_story("told", "Visible story words.", title="Visible one")
    site.add_story("waiting", "Zanzibarpending words.", title="Zanzibarpending",
                   status="pending")
    site.add_story("gone", "Quetzalwithdrawn words.", title="Quetzalwithdrawn", status="withdrawn",
                   consent={"publish": False, "photos": False, "given_on": "2026-09-01",
                            "withdrawn_on": "2026-10-01"})
    site.add_story("no-consent-yet", "Okapinoconsent words.", title="Okapinoconsent",
                   status="pending",
                   consent={"publish": False, "photos": False, "given_on": "2026-09-01"})
    build.build(site.root)
    everything = site.output_text()
    assert "Visible story words." in everything
    for word in ("Zanzibarpending", "Quetzalwithdrawn", "Okapinoconsent"):
        assert word not in everything
    for slug in ("waiting", "no-consent-yet"):
        assert not (site.output / "stories" / slug).exists()
    removed = (site.output / "stories" / "gone" / "index.html").read_text()
    assert "author" in removed and "noindex" in removed  # withdrawn: a short removed page


def test_plain_pelican_run_also_skips_a_story_without_consent(site):
    """Defence in depth: even without `storywall build`'s check, the reader skips it."""
    from pelican import Pelican
    from pelican.settings import read_settings

    site.add_story("ok", "Fine words.")
    site.add_story("bad", "Secretbadconsent words.", title="Secretbadconsent",
                   consent={"publish": False, "photos": False, "given_on": "2026-09-01"})
    settings = read_settings(str(site.root / "pelicanconf.py"))
    Pelican(settings).run()
    assert "Secretbadconsent" not in site.output_text()
    assert (site.output / "stories" / "ok" / "index.html").is_file()


def test_invalid_story_fails_the_build_and_keeps_the_previous_output(site):
    site.add_story("good", "Good words.")
    build.build(site.root)
    before = (site.output / "index.html").read_bytes()
    site.add_story("broken", "x", date="yesterday")
    with pytest.raises(ProblemsFound) as err:
        build.build(site.root)
    assert any(p.field == "date" and "broken" in p.path for p in err.value.problems)
    assert (site.output / "index.html").read_bytes() == before
    assert not list(site.root.glob(".output.tmp-*"))


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_original_photo_never_reaches_output(site):
    from PIL import Image

    folder = site.add_story("with-photo", "Look.", photos=[{"file": "pump.jpg", "alt": "A pump"}],
                            consent={"publish": True, "photos": True,
                                     "given_on": "2026-09-01"}).parent
    Image.new("RGB", (64, 48), "teal").save(folder / "pump.jpg")
    Image.new("RGB", (64, 48), "navy").save(folder / "unlisted.png")
    build.build(site.root)
    sources = {sha(p) for p in folder.iterdir() if p.suffix != ".md"}
    outputs = [p for p in site.output.rglob("*") if p.is_file()]
    assert outputs and not [p for p in outputs if sha(p) in sources]


def test_output_check_catches_a_copied_original(site, tmp_path):
    from PIL import Image

    folder = site.add_story("with-photo", "Look.").parent
    Image.new("RGB", (8, 8), "red").save(folder / "orig.jpg")
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(folder / "orig.jpg", out / "copy.jpg")
    site_content = build.check_content(site.root, site.content)
    problems = build.check_output(out, site.root, site.content, site_content)
    assert any("copy of the original photo" in p for p in problems)


def test_html_files_in_story_folders_are_never_read_or_copied(site):
    site.add_story("ok", "Fine.")
    (site.content / "stories" / "ok" / "evil.html").write_text(
        "<html><head><title>Evil</title></head><body><script>alert(1)</script></body></html>")
    build.build(site.root)
    assert "alert(1)" not in site.output_text()


def test_wall_is_paginated_at_page_n(site):
    site.configure(site.root.parent.parent / "theme", {"stories_per_page": 2})
    from conftest import ROOT

    site.configure(ROOT / "theme", {"stories_per_page": 2})
    for n in range(5):
        site.add_story(f"story-{n}", f"Story number {n}.", title=f"Story {n}",
                       date=dt.date(2026, 1, 1 + n))
    build.build(site.root)
    assert (site.output / "page" / "2" / "index.html").is_file()
    assert (site.output / "page" / "3" / "index.html").is_file()
    assert not (site.output / "page" / "4").exists()
    first = (site.output / "index.html").read_text()
    assert "Story 4" in first and "Story 0" not in first  # newest first
    assert 'href="/page/2/"' in first


def test_stale_figure_is_a_warning_that_fails_strict_builds(site):
    old = dt.date.today() - dt.timedelta(days=400)
    site.add_initiative("water", figures=[{"label": "Wells", "value": 3, "unit": "wells",
                                           "as_of": old, "source": "Old report"}],
                        goal={"label": "Wells", "value": 10, "unit": "wells"})
    site.add_story("ok", "Fine.")
    report = build.build(site.root)
    assert any("last reported" in w for w in report.warnings)
    assert "Last reported" in (site.output / "initiatives" / "water" / "index.html").read_text()
    with pytest.raises(StoryWallError, match="--strict"):
        build.build(site.root, strict=True)


def test_unknown_setting_fails_before_anything_is_built(site):
    from conftest import ROOT

    site.configure(ROOT / "theme", {"colour": "red"})
    site.add_story("ok", "Fine.")
    with pytest.raises(StoryWallError, match="unknown key 'colour'"):
        build.build(site.root)
    assert not site.output.exists()
