"""The bundled demo wall: real-feeling content that builds cleanly and strictly."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from storywall import build, checks, content

ROOT = Path(__file__).parent.parent


def _photo_script():
    spec = importlib.util.spec_from_file_location("make_demo_photos",
                                                  ROOT / "scripts" / "make_demo_photos.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory) -> Path:
    """A copy of the repository's demo site, with its photos made."""
    target = tmp_path_factory.mktemp("demo") / "site"
    target.mkdir()
    for name in ("pelicanconf.py", "publishconf.py"):
        shutil.copy(ROOT / name, target / name)
    shutil.copytree(ROOT / "content", target / "content",
                    ignore=shutil.ignore_patterns("demo-*"))
    shutil.copytree(ROOT / "theme", target / "theme")
    _photo_script().make_photos(target)
    return target


@pytest.fixture(scope="session")
def demo_built(demo_site) -> Path:
    build.build(demo_site, strict=True)
    return demo_site


def test_demo_has_at_least_30_stories_across_4_initiatives(demo_site):
    site = content.load_site(demo_site / "content", demo_site)
    assert site.errors == []
    published = site.published()
    assert len(published) >= 30
    assert len({s.initiative for s in published}) >= 4
    assert any(s.is_review for s in published) and any(not s.is_review for s in published)


def test_every_demo_initiative_has_figure_history_faq_and_goal(demo_site):
    site = content.load_site(demo_site / "content", demo_site)
    assert len(site.initiatives) >= 4
    for initiative in site.initiatives.values():
        assert initiative.faq and initiative.goal, initiative.slug
        label = initiative.current_figures()[0].label
        assert len(initiative.history(label)) >= 2, initiative.slug


def test_demo_photos_carry_gps_and_orientation_to_exercise_stripping(demo_site):
    from PIL import ExifTags, Image

    photos = sorted((demo_site / "content" / "stories").glob("*/demo-*.jpg"))
    assert len(photos) >= 10
    with Image.open(photos[0]) as img:
        exif = img.getexif()
    assert exif.get_ifd(ExifTags.IFD.GPSInfo), photos[0]
    orientations = set()
    for path in photos:
        with Image.open(path) as img:
            orientations.add(img.getexif().get(ExifTags.Base.Orientation, 1))
    assert orientations - {1}, "some demo photos should be stored rotated"


def test_demo_site_builds_strictly_with_a_page_per_published_story(demo_built):
    site = content.load_site(demo_built / "content", demo_built)
    out = demo_built / "output"
    for story in site.stories:
        page = out / "stories" / story.slug / "index.html"
        expected = story.is_published or story.status == "withdrawn"  # removed-page tombstone
        assert page.is_file() == expected, story.slug
        if story.status == "withdrawn":
            assert story.title not in page.read_text(), story.slug
    for slug in site.initiatives:
        assert (out / "initiatives" / slug / "index.html").is_file()
    assert (out / "page" / "2" / "index.html").is_file()


def test_demo_check_is_quiet(demo_site):
    problems = checks.check_paths(demo_site, demo_site / "content")
    assert problems == [], [str(p) for p in problems]


def test_demo_content_commits_no_contact_details():
    import re

    pattern = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z]{2,}")
    for path in (ROOT / "content").rglob("*.md"):
        assert not pattern.search(path.read_text(encoding="utf-8")), path


def test_demo_front_matter_is_plain_yaml(demo_site):
    for path in (demo_site / "content" / "stories").glob("*/index.md"):
        head = path.read_text(encoding="utf-8").split("---\n")[1]
        assert isinstance(yaml.safe_load(head), dict)
