"""Photos in the built site: responsive, stripped, cached — and never the original."""

from __future__ import annotations

import hashlib
import os

import pytest
from lxml import html as lxml_html
from PIL import Image

import imagemakers
from storywall import build
from storywall.errors import StoryWallError

PHOTO_CONSENT = {"publish": True, "photos": True, "given_on": "2026-09-01"}


def add_photo_story(site, slug, names, size=(1200, 800), **fields):
    folder = site.add_story(slug, "With photos.", consent=PHOTO_CONSENT,
                            photos=[{"file": n, "alt": f"Alt for {n}", "caption": f"Cap {n}"}
                                    for n in names], **fields).parent
    for name in names:
        imagemakers.jpeg_with_everything(folder / name, size=size)
    return folder


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def output_images(site):
    return sorted(p for p in (site.output / "photos").iterdir())


def test_original_photo_never_reaches_output_and_derivatives_do(site):
    folder = add_photo_story(site, "pump", ["pump.jpg", "well.jpg"])
    build.build(site.root)
    originals = {sha(p) for p in folder.iterdir() if p.suffix == ".jpg"}
    outputs = [p for p in site.output.rglob("*") if p.is_file()]
    assert not [p for p in outputs if sha(p) in originals]
    names = [p.name for p in output_images(site)]
    assert len(names) == 2 * 3 * 2  # 2 photos × 3 widths × WebP+JPEG
    assert "pump.jpg" not in names and all("-" in n for n in names)


def test_published_photos_carry_no_metadata_and_are_srgb(site):
    add_photo_story(site, "pump", ["pump.jpg"])
    build.build(site.root)
    for path in output_images(site):
        data = path.read_bytes()
        assert b"Exif\x00\x00" not in data and b"http://ns.adobe.com/xap" not in data
        assert b"Photoshop 3.0" not in data and b"ICC_PROFILE" not in data
        with Image.open(path) as img:
            assert img.mode == "RGB" and not img.getexif()
            assert "icc_profile" not in img.info and "exif" not in img.info


def test_story_page_uses_picture_with_srcset_sizes_dimensions_and_alt(site):
    add_photo_story(site, "pump", ["one.jpg", "two.jpg"], size=(1200, 800))
    build.build(site.root)
    tree = lxml_html.fromstring((site.output / "stories" / "pump" / "index.html").read_bytes())
    pictures = tree.xpath("//figure[@class='story-photo']//picture")
    assert len(pictures) == 2
    first, second = (p.xpath(".//img")[0] for p in pictures)
    source = pictures[0].xpath("./source")[0]
    assert source.get("type") == "image/webp" and "480w" in source.get("srcset")
    assert "960w" in first.get("srcset") and first.get("sizes")
    assert (first.get("width"), first.get("height")) == ("1200", "800")
    assert first.get("alt") == "Alt for one.jpg" and first.get("loading") is None
    assert second.get("loading") == "lazy"
    assert tree.xpath("//figcaption/text()") == ["Cap one.jpg", "Cap two.jpg"]
    for url in first.get("srcset").split(","):
        assert (site.output / url.split()[0].lstrip("/")).is_file()


def test_wall_card_shows_the_first_photo_and_only_the_first_card_loads_eagerly(site):
    add_photo_story(site, "newer", ["a.jpg"], date="2026-09-02")
    add_photo_story(site, "older", ["b.jpg"], date="2026-09-01")
    build.build(site.root)
    tree = lxml_html.fromstring((site.output / "index.html").read_bytes())
    imgs = tree.xpath("//article[contains(@class,'card')]//img")
    assert [i.get("alt") for i in imgs] == ["Alt for a.jpg", "Alt for b.jpg"]
    assert imgs[0].get("loading") is None and imgs[1].get("loading") == "lazy"


def test_feed_entries_enclose_the_story_photo(site):
    import feedparser

    add_photo_story(site, "pump", ["pump.jpg"])
    build.build(site.root)
    entry = feedparser.parse((site.output / "feeds" / "all.rss.xml").read_bytes()).entries[0]
    enclosure = entry.enclosures[0]
    assert enclosure.type == "image/jpeg" and "/photos/" in enclosure.href
    assert int(enclosure.length) == (site.output / "photos" / enclosure.href.rsplit("/", 1)[1]).stat().st_size


def cache_files(site):
    return {p.name: p.stat().st_mtime_ns for p in (site.root / ".cache" / "photos" / "files").iterdir()}


def test_warm_build_reencodes_nothing(site):
    add_photo_story(site, "pump", ["pump.jpg", "well.jpg"])
    build.build(site.root)
    before = cache_files(site)
    build.build(site.root)
    assert cache_files(site) == before


def test_changed_photo_remakes_only_it_and_leaves_no_stale_file(site):
    folder = add_photo_story(site, "pump", ["pump.jpg", "well.jpg"])
    build.build(site.root)
    before = {p.name for p in output_images(site)}
    Image.new("RGB", (1200, 800), "orange").save(folder / "well.jpg")
    os.utime(folder / "well.jpg", ns=(1, 2))
    build.build(site.root)
    after = {p.name for p in output_images(site)}
    kept = {n for n in before if n.startswith("pump")}
    assert kept <= after  # unchanged photo: same files
    assert {n for n in before if n.startswith("well")}.isdisjoint(after)  # old ones gone
    assert len(after) == len(before)
    assert {n for n in cache_files(site) if n.startswith("well")} == {n for n in after
                                                                     if n.startswith("well")}


def test_changed_widths_setting_remakes_derivatives(site):
    from conftest import ROOT

    add_photo_story(site, "pump", ["pump.jpg"])
    build.build(site.root)
    site.configure(ROOT / "theme", {"photo_widths": [300, 600]})
    build.build(site.root)
    widths = sorted({int(p.name.split("-")[-2]) for p in output_images(site)})
    assert widths == [300, 600]


def test_smaller_webp_effort_setting_reaches_the_smaller_webp_files(site):
    from conftest import ROOT

    def webp_bytes(width: int) -> bytes:
        (path,) = [p for p in output_images(site)
                   if f"-{width}-" in p.name and p.suffix == ".webp"]
        return path.read_bytes()

    add_photo_story(site, "pump", ["pump.jpg"], size=(2000, 1500))
    build.build(site.root)
    before = {w: webp_bytes(w) for w in (1600, 960, 480)}
    site.configure(ROOT / "theme", {"photo_webp_method_small": 4})
    build.build(site.root)
    after = {w: webp_bytes(w) for w in (1600, 960, 480)}
    assert after[1600] == before[1600]  # the largest keeps its method
    assert after[960] != before[960] and after[480] != before[480]


def test_small_photo_is_never_upscaled(site):
    add_photo_story(site, "tiny", ["tiny.jpg"], size=(400, 300))
    build.build(site.root)
    for path in output_images(site):
        with Image.open(path) as img:
            assert img.size == (400, 300)


@pytest.mark.parametrize("maker,words", [
    (imagemakers.text_as_jpg, "not an image"),
    (imagemakers.truncated_jpeg, "truncated"),
])
def test_broken_photo_fails_the_build_naming_story_and_file(site, maker, words):
    folder = site.add_story("broken", "x", consent=PHOTO_CONSENT,
                            photos=[{"file": "bad.jpg", "alt": "A photo"}]).parent
    if maker is imagemakers.truncated_jpeg:
        imagemakers.jpeg(folder / "bad.jpg", Image.new("RGB", (300, 200), "red"))
    maker(folder / "bad.jpg")
    with pytest.raises(StoryWallError) as err:
        build.build(site.root)
    assert "content/stories/broken/bad.jpg" in str(err.value) and words in str(err.value)
    assert "Traceback" not in str(err.value)
