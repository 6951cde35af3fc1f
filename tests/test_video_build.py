"""Videos in the built site: a web MP4 with a poster and transcript — never the original."""

from __future__ import annotations

import hashlib
import os

import pytest
from lxml import html as lxml_html

import imagemakers
import videomakers
from storywall import build, checks, video
from storywall.errors import StoryWallError

CONSENT = {"publish": True, "photos": True, "given_on": "2026-09-01"}
TRANSCRIPT = "Hello, I am Ana.\n\nThe well is <b>two</b> minutes away."
VTT = "WEBVTT\n\n00:00.000 --> 00:01.500\nHello, I am Ana.\n"


def add_video_story(site, slug="clip", *, maker=videomakers.portrait_phone_video, captions=VTT,
                    photos=(), clip=None, **fields):
    block = {"file": "clip.mp4", "transcript": TRANSCRIPT, **(clip or {})}
    if captions is not None:
        block["captions"] = "clip.vtt"
    extra = {"photos": [{"file": n, "alt": f"Alt {n}"} for n in photos]} if photos else {}
    folder = site.add_story(slug, "Told on video.", consent=CONSENT, video=block, **extra,
                            **fields).parent
    maker(folder / "clip.mp4")
    if captions is not None:
        (folder / "clip.vtt").write_text(captions)
    for name in photos:
        imagemakers.jpeg_with_everything(folder / name, size=(600, 400))
    return folder


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def story_page(site, slug="clip"):
    return lxml_html.fromstring((site.output / "stories" / slug / "index.html").read_bytes())


def published(site, suffix):
    return sorted((site.output / "videos").glob(f"*{suffix}"))


def test_published_video_is_upright_h264_with_no_metadata(site):
    add_video_story(site)
    build.build(site.root)
    (mp4,) = published(site, ".mp4")
    assert video.inspect_video(mp4) == []
    data = mp4.read_bytes()
    for secret in videomakers.SECRET_STRINGS:
        assert secret not in data, secret
    assert videomakers.box_order(mp4).index("moov") < videomakers.box_order(mp4).index("mdat")
    img, rotation, size = videomakers.first_frame(mp4)
    assert rotation == 0 and size == (240, 320)  # the rotation is in the pixels now
    colours = videomakers.quadrant_colours(img)
    assert videomakers.close(colours["top-left"], videomakers.RED)
    assert videomakers.close(colours["top-right"], videomakers.GREEN)
    assert videomakers.close(colours["bottom-left"], videomakers.BLUE)


def test_no_output_file_is_a_copy_of_a_source_video_or_photo(site):
    folder = add_video_story(site, photos=("pump.jpg",))
    build.build(site.root)
    sources = {sha(p) for p in folder.iterdir() if p.suffix in (".mp4", ".jpg")}
    outputs = [p for p in site.output.rglob("*") if p.is_file()]
    assert not [p for p in outputs if sha(p) in sources]
    assert "clip.mp4" not in {p.name for p in outputs}


def test_output_check_refuses_a_copy_of_a_source_video(site, tmp_path):
    folder = add_video_story(site)
    from storywall import content

    out = tmp_path / "out"
    (out / "videos").mkdir(parents=True)
    (out / "videos" / "leak.bin").write_bytes((folder / "clip.mp4").read_bytes())
    problems = build.check_output(out, site.root, site.content, content.load_site(site.content))
    assert any("copy of the original video" in p and "clip.mp4" in p for p in problems)


def test_story_page_has_an_accessible_video_with_captions_and_transcript(site):
    add_video_story(site, clip={"caption": "At the new well"})
    build.build(site.root)
    tree = story_page(site)
    (player,) = tree.xpath("//article[@data-pagefind-body]//video")
    assert player.get("controls") is not None and player.get("playsinline") is not None
    assert player.get("preload") == "none"
    assert (player.get("width"), player.get("height")) == ("240", "320")
    (source,) = player.xpath(".//source")  # lxml nests the void elements
    assert source.get("type") == "video/mp4"
    (track,) = player.xpath(".//track")
    assert track.get("kind") == "captions" and track.get("srclang") == "en"
    assert track.get("default") is not None
    for url in (source.get("src"), track.get("src"), player.get("poster")):
        assert url.startswith("/videos/") and (site.output / url.lstrip("/")).is_file()
    assert (site.output / track.get("src").lstrip("/")).read_text() == VTT
    (details,) = tree.xpath("//details[contains(@class,'transcript')]")
    assert details.get("open") is not None
    paragraphs = details.xpath("./p/text()")
    assert paragraphs == ["Hello, I am Ana.", "The well is <b>two</b> minutes away."]  # as text
    assert not tree.xpath("//details//b")
    assert tree.xpath("//figure[@class='story-video']/figcaption/text()") == ["At the new well"]


def test_output_names_are_content_hashed(site):
    add_video_story(site)
    build.build(site.root)
    names = [p.name for p in (site.output / "videos").iterdir()]
    assert len(names) == 4  # mp4, poster webp + jpeg, captions
    assert all(len(n.rsplit("-", 1)[-1].split(".")[0]) == 10 for n in names), names


def test_story_without_captions_has_no_track(site):
    add_video_story(site, captions=None)
    build.build(site.root)
    assert story_page(site).xpath("//video/track") == []


def test_poster_is_the_share_card_background_and_the_feed_image_without_photos(site):
    import feedparser
    from PIL import Image

    add_video_story(site)
    build.build(site.root)
    tree = story_page(site)
    og = tree.xpath("//meta[@property='og:image']/@content")[0]
    card = site.output / "cards" / og.rsplit("/", 1)[1]
    with Image.open(card) as img:
        assert img.size == (1200, 630)
        # the photo half of the card: the poster's red top-left quadrant shows through
        reds = sum(1 for x in range(0, 500, 25) for y in range(0, 300, 25)
                   if videomakers.close(img.getpixel((x, y)), videomakers.RED))
        assert reds > 10
    entry = feedparser.parse((site.output / "feeds" / "all.rss.xml").read_bytes()).entries[0]
    assert entry.enclosures[0].type == "image/jpeg" and "-poster-" in entry.enclosures[0].href


def test_wall_card_shows_the_poster(site):
    add_video_story(site)
    build.build(site.root)
    tree = lxml_html.fromstring((site.output / "index.html").read_bytes())
    (img,) = tree.xpath("//div[contains(@class,'card-video')]//img")
    assert "-poster-" in img.get("src") and img.get("alt") == ""


def test_search_index_covers_the_transcript(site):
    add_video_story(site)
    build.build(site.root)
    body = story_page(site).xpath("//*[@data-pagefind-body]")[0].text_content()
    assert "The well is <b>two</b> minutes away." in body
    assert (site.output / "pagefind").is_dir()


def cache_files(site):
    return {p.name: p.stat().st_mtime_ns
            for p in (site.root / ".cache" / "videos" / "files").iterdir()}


def test_warm_build_re_encodes_nothing(site, monkeypatch):
    add_video_story(site)
    build.build(site.root)
    before = cache_files(site)
    calls = []
    monkeypatch.setattr(video, "_transcode", lambda *a, **k: calls.append(a))
    build.build(site.root)
    assert cache_files(site) == before and calls == []


def test_changed_video_is_remade_and_the_stale_files_pruned(site):
    folder = add_video_story(site)
    build.build(site.root)
    old = set(cache_files(site))
    videomakers.make_video(folder / "clip.mp4", size=(160, 120), seconds=1.0)
    os.utime(folder / "clip.mp4", ns=(1, 2))
    build.build(site.root)
    new = set(cache_files(site))
    assert old.isdisjoint(new) and len(new) == 3
    assert {p.name for p in (site.output / "videos").iterdir() if p.suffix != ".vtt"} == new


def test_video_height_setting_sets_the_web_size(site):
    from conftest import ROOT

    add_video_story(site, maker=lambda p: videomakers.make_video(p, size=(320, 240)))
    site.configure(ROOT / "theme", {"video_height": 144})
    build.build(site.root)
    (mp4,) = published(site, ".mp4")
    _, _, size = videomakers.first_frame(mp4)
    assert size == (192, 144)


@pytest.mark.parametrize("maker,words", [
    (videomakers.text_named_mp4, "not a video"),
    (videomakers.truncated, "cut off"),
    (videomakers.audio_only, "no video"),
])
def test_broken_video_fails_the_build_naming_story_and_file(site, maker, words):
    add_video_story(site, maker=maker)
    with pytest.raises(StoryWallError) as err:
        build.build(site.root)
    assert "content/stories/clip/clip.mp4" in str(err.value) and words in str(err.value)
    assert "Traceback" not in str(err.value)
    assert not site.output.exists()


def test_video_over_the_length_setting_fails_the_build(site):
    from conftest import ROOT

    add_video_story(site)
    site.configure(ROOT / "theme", {"max_video_seconds": 1})
    with pytest.raises(StoryWallError, match=r"clip\.mp4: 2\.0 s is over the 1 s limit"):
        build.build(site.root)


def test_captions_that_are_not_webvtt_fail_the_build(site):
    add_video_story(site, captions="1\n00:00:00,000 --> 00:00:01,000\nAn SRT file\n")
    with pytest.raises(StoryWallError, match=r"clip\.vtt: is not a WebVTT file"):
        build.build(site.root)


# --- storywall check -------------------------------------------------------------------


def submit(site, maker=videomakers.portrait_phone_video, captions=VTT):
    folder = add_video_story(site, "2026-09-01-abcdefgh", maker=maker, captions=captions,
                             status="pending", id="2026-09-01-abcdefgh")
    target = site.root / "submissions" / folder.name
    target.parent.mkdir(exist_ok=True)
    folder.rename(target)
    return target


def codes(problems):
    return {p.code for p in problems}


def test_check_flags_metadata_left_in_a_submitted_video(site):
    folder = submit(site)
    problems = checks.check_paths(site.root, site.content, [folder])
    (found,) = [p for p in problems if p.code == "video-metadata"]
    assert found.is_error and found.field == "video.file"
    assert "location" in found.message and "make" in found.message


def test_check_passes_a_stripped_video(site, tmp_path):
    folder = submit(site)
    clean = video.strip_video(folder / "clip.mp4", tmp_path, name="clip.mp4")
    os.replace(clean.path, folder / "clip.mp4")
    problems = checks.check_paths(site.root, site.content, [folder])
    assert not codes(problems) & {"video-metadata", "video-too-long"}


def test_check_flags_a_video_over_the_limits_from_the_settings(site):
    from storywall.settings import load

    folder = submit(site)
    problems = checks.check_paths(site.root, site.content, [folder],
                                  settings=load({"max_video_seconds": 1}))
    (found,) = [p for p in problems if p.code == "video-too-long"]
    assert found.is_error and "over the 1 s limit" in found.message


def test_check_flags_captions_that_are_not_webvtt_and_unlisted_videos(site):
    folder = submit(site, captions="not captions")
    videomakers.make_video(folder / "other.mp4", seconds=0.5, size=(64, 48))
    found = codes(checks.check_paths(site.root, site.content, [folder]))
    assert {"captions-not-webvtt", "unlisted-video"} <= found


def test_check_flags_a_broken_video(site):
    folder = submit(site, maker=videomakers.text_named_mp4)
    assert "video-not-a-video" in codes(checks.check_paths(site.root, site.content, [folder]))


def test_check_command_uses_the_site_video_limits(site):
    from click.testing import CliRunner

    from conftest import ROOT
    from storywall.cli import cli

    submit(site)
    site.configure(ROOT / "theme", {"max_video_seconds": 1})
    result = CliRunner().invoke(cli, ["--site", str(site.root), "check"])
    assert result.exit_code == 1 and "over the 1 s limit" in result.output
    assert "Traceback" not in result.output


def test_approve_refuses_a_video_over_the_site_limits(site):
    from click.testing import CliRunner

    from conftest import ROOT
    from storywall.cli import cli

    folder = submit(site)
    site.configure(ROOT / "theme", {"max_video_seconds": 1})
    result = CliRunner().invoke(cli, ["--site", str(site.root), "approve", folder.name,
                                      "--confirm", "--moderator", "Mo"])
    assert result.exit_code == 1 and "over the 1 s limit" in result.output
    assert folder.is_dir()  # still in the inbox
