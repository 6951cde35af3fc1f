"""storywall.video: probing, the metadata-free intake remux and the web version.

Every video is made at test time by tests/videomakers.py with PyAV.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import json
import os
import pickle
import threading
import time
from pathlib import Path

import av
import pytest

import videomakers as make
from storywall import video
from storywall.errors import SettingsError, StoryWallError
from storywall.video import VideoCache, VideoError, VideoJob, VideoResult, VideoSettings

PRIVATE_KEYS = ("location", "iso6709", "make", "model", "software", "creation", "date", "author", "artist",
                "title", "comment", "encoder", "chapter")


def assert_clean(path: Path) -> None:
    """No identifying tag in the container, any stream or any chapter, and no secret in the bytes."""
    for key, value in make.all_tags(path).items():
        assert not any(word in key.lower() for word in PRIVATE_KEYS), f"{key}={value!r} survived in {path.name}"
        if key.endswith("handler_name"):
            assert value in ("VideoHandler", "SoundHandler"), f"{key}={value!r} survived"
    data = Path(path).read_bytes()
    for secret in make.SECRET_STRINGS:
        assert secret not in data, f"{secret!r} survived in {path.name}"
    with av.open(str(path)) as c:
        assert [s.type for s in c.streams] in (["video"], ["video", "audio"]), "extra streams survived"
        assert not any(s.disposition & s.disposition.attached_pic for s in c.streams)


def sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def vids(tmp_path_factory) -> dict[str, Path]:
    """The source videos most tests share (made once: a few seconds each)."""
    d = tmp_path_factory.mktemp("sources")
    return {
        "portrait": make.portrait_phone_video(d / "portrait.mov", chapters=True),
        "landscape": make.make_video(d / "landscape.mp4"),
        "cover": make.make_video(d / "cover.mp4", cover=True),
        "silent": make.make_video(d / "silent.mp4", audio=False, seconds=1.0),
        "mono": make.make_video(d / "mono.mp4", audio_channels=1, seconds=1.0),
        "webm": make.make_video(d / "clip.webm", codec="libvpx-vp9", audio=False, seconds=1.0, tags={}),
    }


@pytest.fixture(scope="module")
def web(vids, tmp_path_factory) -> tuple[Path, dict[str, VideoResult]]:
    out = tmp_path_factory.mktemp("web")
    return out, {k: video.make_web_version(vids[k], out) for k in ("portrait", "landscape", "silent", "mono", "webm")}


# --- probing ---------------------------------------------------------------------


def test_probe_reports_displayed_size_rotation_and_streams(vids):
    facts = video.probe_video(vids["portrait"])
    assert (facts.coded_width, facts.coded_height) == (320, 240)
    assert (facts.width, facts.height, facts.rotation) == (240, 320, 90)
    assert facts.fps == 25 and facts.duration == pytest.approx(2.0, abs=0.1)
    assert facts.video_codec == "h264" and facts.audio_codec == "aac" and facts.has_audio
    assert facts.format == "mp4" and facts.bytes == vids["portrait"].stat().st_size
    assert video.VideoFacts.from_dict(json.loads(json.dumps(facts.to_dict()))) == facts


def test_probe_reads_webm_and_matroska(vids, tmp_path):
    assert video.probe_video(vids["webm"]).video_codec == "vp9"
    mkv = make.portrait_phone_video(tmp_path / "phone.mkv", seconds=1.0)
    facts = video.probe_video(mkv)
    assert (facts.format, facts.width, facts.height) == ("matroska", 240, 320)


BAD_FILES = [
    ("truncated", lambda d: make.truncated(d / "cut.mp4"), "cut off"),
    ("truncated", lambda d: make.truncated(d / "cutfast.mp4", faststart=True, keep=0.8), "cut off"),
    ("truncated", lambda d: _cut(make.make_video(d / "whole.mkv", seconds=2.0), d / "cut.mkv"), "cut off"),
    ("not-a-video", make.text_named_mp4, "text"),
    ("not-a-video", make.image_named_mp4, "JPEG"),
    ("not-a-video", make.png_named_mp4, "PNG"),
    ("not-a-video", make.playlist_named_mp4, "playlist"),
    ("no-video-stream", make.audio_only, "sound only"),
    ("empty", lambda d: _touch(d / "empty.mp4"), "empty"),
    ("missing", lambda d: d / "nowhere.mp4", "not found"),
]


def _touch(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _cut(src: Path, dest: Path) -> Path:
    data = src.read_bytes()
    dest.write_bytes(data[: len(data) // 2])
    return dest


@pytest.mark.parametrize(("code", "maker", "words"), BAD_FILES, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(BAD_FILES)])
def test_bad_files_are_refused_with_a_code_and_a_fix(tmp_path, code, maker, words):
    path = maker(tmp_path / "upload.mp4") if maker.__module__ == "videomakers" else maker(tmp_path)
    for call in (
        lambda: video.probe_video(path, label="video.mp4"),
        lambda: video.strip_video(path, tmp_path / "intake", label="video.mp4"),
        lambda: video.make_web_version(path, tmp_path / "web", label="video.mp4"),
    ):
        with pytest.raises(VideoError) as info:
            call()
        err = info.value
        assert err.code == code, str(err)
        assert isinstance(err, StoryWallError)
        text = str(err)
        assert text.startswith("video.mp4: ") and " — " in text and "\n" not in text
        assert words.lower() in text.lower()
    assert not (tmp_path / "intake").exists() or not any((tmp_path / "intake").iterdir())
    assert not (tmp_path / "web").exists() or not any((tmp_path / "web").iterdir())


@pytest.mark.parametrize(
    ("limit", "code"),
    [
        ({"max_seconds": 1.5}, "too-long"),
        ({"max_bytes": 10_000}, "too-large"),
        ({"max_pixels": 320 * 200}, "too-many-pixels"),
        ({"max_fps": 20}, "too-fast"),
    ],
)
def test_limits_are_keywords_and_name_the_limit(vids, tmp_path, limit, code):
    with pytest.raises(VideoError) as info:
        video.probe_video(vids["landscape"], **limit)
    assert info.value.code == code
    with pytest.raises(VideoError):
        video.strip_video(vids["landscape"], tmp_path, **limit)
    assert not list(tmp_path.iterdir())
    video.probe_video(vids["landscape"])  # the defaults accept it


def test_duration_limit_counts_the_whole_file(tmp_path):
    three = make.make_video(tmp_path / "three.mp4", seconds=3.0, audio=False)
    assert video.probe_video(three, max_seconds=3.5).duration == pytest.approx(3.0, abs=0.1)
    with pytest.raises(VideoError, match="over the 2.5 s limit") as info:
        video.probe_video(three, max_seconds=2.5)
    assert info.value.code == "too-long"


def test_video_error_survives_pickling():
    err = VideoError("a.mp4", "truncated", "cut off", "upload again")
    back = pickle.loads(pickle.dumps(err))
    assert (back.code, str(back)) == ("truncated", str(err))


# --- intake: the remux --------------------------------------------------------------


@pytest.mark.parametrize("source", ["portrait", "landscape", "cover"])
def test_intake_copy_has_no_metadata_chapters_or_cover(vids, tmp_path, source):
    assert video.inspect_video(vids[source])  # the source does carry metadata
    facts = video.strip_video(vids[source], tmp_path)
    out = Path(facts.path)
    assert out.parent == tmp_path and out.suffix == ".mp4"
    assert_clean(out)
    assert video.inspect_video(out) == []
    assert facts.sha256 == sha(out) and facts.bytes == out.stat().st_size
    assert sha(out) != sha(vids[source])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temp file left behind"


def test_intake_copy_is_a_remux_that_keeps_the_rotation(vids, tmp_path):
    facts = video.strip_video(vids["portrait"], tmp_path, name="story-video.mov")
    assert Path(facts.path).name == "story-video.mp4"
    _, rotation, coded = make.first_frame(facts.path)
    assert rotation == 90 and coded == (320, 240)  # same pixels, same display matrix: still plays upright
    assert (facts.width, facts.height, facts.rotation) == (240, 320, 90)
    with av.open(str(vids["portrait"])) as a, av.open(facts.path) as b:
        src = [bytes(p) for p in a.demux(a.streams.video[0]) if p.size]
        dst = [bytes(p) for p in b.demux(b.streams.video[0]) if p.size]
    assert src == dst  # packet for packet: no re-encode


def test_intake_name_must_be_plain(vids, tmp_path):
    for bad in ("../x.mp4", ".hidden.mp4", "a/b.mp4"):
        with pytest.raises(ValueError):
            video.strip_video(vids["landscape"], tmp_path, name=bad)


def test_codec_mp4_cannot_hold_is_remuxed_into_mov(tmp_path):
    src = make.make_video(tmp_path / "pro.mov", codec="prores_ks", size=(64, 48), seconds=0.4, audio=False)
    facts = video.strip_video(src, tmp_path / "intake", name="story.mp4")
    assert Path(facts.path).name == "story.mov" and facts.format == "mov" and facts.video_codec == "prores"
    assert_clean(Path(facts.path))
    web = video.make_web_version(facts.path, tmp_path / "web")  # and the build can still read it
    with av.open(str(tmp_path / "web" / web.mp4)) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"


def test_webm_intake_is_remuxed_into_mp4(vids, tmp_path):
    facts = video.strip_video(vids["webm"], tmp_path)
    assert Path(facts.path).suffix == ".mp4" and facts.video_codec == "vp9"
    with av.open(facts.path) as c:
        assert c.format.name.startswith("mov,mp4")


# --- build: the web version -------------------------------------------------------


def test_web_version_has_no_metadata(vids, web):
    out, results = web
    for result in results.values():
        assert_clean(out / result.mp4)
        assert video.inspect_video(out / result.mp4) == []


def test_portrait_phone_video_comes_out_upright(web):
    out, results = web
    r = results["portrait"]
    assert (r.width, r.height) == (240, 320) and r.width < r.height
    img, rotation, coded = make.first_frame(out / r.mp4)
    assert rotation == 0 and coded == (240, 320)  # rotation applied to the pixels, no matrix left
    colours = make.quadrant_colours(img)
    assert make.close(colours["top-left"], make.RED) and make.close(colours["bottom-right"], make.WHITE)
    assert make.close(colours["top-right"], make.GREEN) and make.close(colours["bottom-left"], make.BLUE)


@pytest.mark.parametrize("rotation", [180, 270])
def test_every_rotation_comes_out_upright(tmp_path, rotation):
    src = make.make_video(tmp_path / "rot.mp4", size=(96, 64), rotation=rotation, seconds=0.5, audio=False)
    result = video.make_web_version(src, tmp_path / "web")
    img, rot, coded = make.first_frame(tmp_path / "web" / result.mp4)
    assert rot == 0 and coded == (96, 64)
    colours = make.quadrant_colours(img)
    for corner, colour in zip(make.QUADRANT_POINTS, (make.RED, make.GREEN, make.BLUE, make.WHITE)):
        assert make.close(colours[corner], colour), (corner, colours)


def test_mirrored_front_camera_video_is_mirrored_back(tmp_path):
    src = make.make_video(tmp_path / "selfie.mp4", size=(96, 64), mirrored=True, seconds=0.4, audio=False)
    facts = video.probe_video(src)
    assert facts.mirrored and (facts.width, facts.height) == (96, 64)  # a left-right mirror reads as 180° + mirror
    result = video.make_web_version(src, tmp_path / "web")
    colours = make.quadrant_colours(make.first_frame(tmp_path / "web" / result.mp4)[0])
    assert make.close(colours["top-left"], make.RED) and make.close(colours["top-right"], make.GREEN)
    assert make.close(colours["bottom-left"], make.BLUE)


def test_web_version_is_h264_yuv420p_aac_and_faststart(web):
    out, results = web
    for name, result in results.items():
        path = out / result.mp4
        with av.open(str(path)) as c:
            v = c.streams.video[0]
            assert v.codec_context.name == "h264" and v.codec_context.pix_fmt == "yuv420p"
            assert min(v.codec_context.width, v.codec_context.height) <= 720
            audio = [s.codec_context.name for s in c.streams.audio]
        assert audio == ([] if name in ("silent", "webm") else ["aac"]), name
        assert result.has_audio == bool(audio)
        boxes = make.box_order(path)
        assert boxes.index("moov") < boxes.index("mdat"), boxes  # plays while loading
    with av.open(str(out / results["mono"].mp4)) as c:
        assert c.streams.audio[0].codec_context.layout.nb_channels == 1


def test_web_version_is_at_most_720p_and_never_upscaled(tmp_path, web):
    _, results = web
    assert (results["landscape"].width, results["landscape"].height) == (320, 240)  # not upscaled
    big = make.make_video(tmp_path / "big.mp4", size=(1280, 960), seconds=0.4, fps=10, audio=False, tags={})
    result = video.make_web_version(big, tmp_path / "web")
    assert (result.width, result.height) == (960, 720)
    small = video.make_web_version(big, tmp_path / "web", max_height=120)
    assert (small.width, small.height) == (160, 120) and small.mp4 != result.mp4
    assert video.web_size(1080, 1920, 720) == (720, 1280)  # portrait: the short edge is 720
    assert video.web_size(2560, 1080, 720) == (1280, 540)  # ultra-wide: the long edge is capped too


def test_web_version_keeps_frames_and_duration(vids, web):
    out, results = web
    with av.open(str(vids["portrait"])) as a, av.open(str(out / results["portrait"].mp4)) as b:
        assert sum(1 for _ in a.decode(video=0)) == sum(1 for _ in b.decode(video=0)) == 50
    assert results["portrait"].duration == pytest.approx(2.0, abs=0.1)


def test_poster_is_webp_and_jpeg_of_the_upright_frame(web):
    from PIL import Image

    out, results = web
    r = results["portrait"]
    assert r.poster_time == pytest.approx(0.2, abs=0.01)  # 10 % into a 2 s video
    for name, fmt in ((r.poster_webp, "WEBP"), (r.poster_jpeg, "JPEG")):
        with Image.open(out / name) as img:
            assert img.format == fmt and img.size == (r.poster_width, r.poster_height) == (240, 320)
            assert not img.info.get("exif") and not img.getexif()
            assert make.close(make.quadrant_colours(img)["top-left"], make.RED)


def test_file_names_are_content_hashed(web):
    out, results = web
    r = results["portrait"]
    assert r.mp4 == f"portrait-{r.key}.mp4" and len(r.key) == 10
    assert r.poster_webp == f"portrait-poster-{r.poster_key}.webp"
    assert r.poster_jpeg == f"portrait-poster-{r.poster_key}.jpg"
    assert r.mp4_bytes == (out / r.mp4).stat().st_size
    assert VideoResult.from_dict(json.loads(json.dumps(r.to_dict()))) == r


def test_no_output_is_byte_identical_to_a_source(vids, web, tmp_path):
    out, _ = web
    sources = {sha(p) for p in vids.values()}
    intake = [Path(video.strip_video(p, tmp_path / k).path) for k, p in vids.items()]
    outputs = [*out.iterdir(), *intake]
    assert outputs and not sources & {sha(p) for p in outputs}


# --- cache -------------------------------------------------------------------------


@pytest.fixture
def counted(monkeypatch):
    calls = []
    real = video._transcode

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(video, "_transcode", counting)
    return calls


def test_warm_cache_re_encodes_nothing(vids, tmp_path, counted):
    cache = VideoCache(tmp_path / "cache")
    cold = cache.get_or_make(vids["landscape"])
    assert len(counted) == 1
    mtimes = {p: p.stat().st_mtime_ns for p in cache.files_dir.iterdir()}
    started = time.perf_counter()
    warm = cache.get_or_make(vids["landscape"])
    elapsed = time.perf_counter() - started
    assert warm == cold and len(counted) == 1
    assert {p: p.stat().st_mtime_ns for p in cache.files_dir.iterdir()} == mtimes
    assert elapsed < 0.05, f"warm lookup took {elapsed * 1e3:.1f} ms"
    assert cache.lookup(vids["landscape"]) == cold
    placed = cache.copy_to_output(cold, tmp_path / "output")
    assert sorted(p.name for p in placed) == sorted(cold.files())


def test_changed_poster_time_makes_new_poster_names_but_no_new_encode(vids, tmp_path, counted):
    cache = VideoCache(tmp_path / "cache")
    a = cache.get_or_make(vids["landscape"])
    b = cache.get_or_make(vids["landscape"], poster_time=1.5)
    assert len(counted) == 1  # same MP4, only a new poster
    assert b.mp4 == a.mp4 and b.poster_webp != a.poster_webp and b.poster_jpeg != a.poster_jpeg
    assert b.poster_time == 1.5
    assert cache.get_or_make(vids["landscape"], poster_time=99).poster_time < 2.0  # clamped into the video


def test_changed_settings_make_new_names(vids, tmp_path, counted):
    cache = VideoCache(tmp_path / "cache")
    a = cache.get_or_make(vids["silent"])
    b = cache.get_or_make(vids["silent"], settings=VideoSettings(crf=30))
    c = cache.get_or_make(vids["silent"], max_height=120)
    assert len(counted) == 3 and len({a.mp4, b.mp4, c.mp4}) == 3 and len({a.poster_webp, b.poster_webp}) == 2
    assert (c.width, c.height) == (160, 120)


def test_changed_source_is_made_again(tmp_path, counted):
    src = make.make_video(tmp_path / "clip.mp4", seconds=0.5, audio=False)
    cache = VideoCache(tmp_path / "cache")
    first = cache.get_or_make(src)
    make.make_video(src, seconds=0.5, audio=False, size=(160, 120))
    os.utime(src, ns=(time.time_ns(), time.time_ns() + 10**9))
    second = cache.get_or_make(src)
    assert second.key != first.key and (second.width, second.height) == (160, 120) and len(counted) == 2
    assert cache.prune([second]) and sorted(p.name for p in cache.files_dir.iterdir()) == sorted(second.files())


def test_make_web_version_reuses_an_existing_mp4_of_the_same_name(vids, tmp_path, counted):
    a = video.make_web_version(vids["silent"], tmp_path)
    b = video.make_web_version(vids["silent"], tmp_path)
    assert a == b and len(counted) == 1


def test_run_job_returns_errors_naming_the_video(vids, tmp_path):
    bad = make.text_named_mp4(tmp_path / "bad.mp4")
    jobs = [VideoJob(str(bad), str(tmp_path / "cache"), label="story: bad.mp4"),
            VideoJob(str(vids["silent"]), str(tmp_path / "cache"))]
    results = video.process_many(jobs, workers=1, progress=False)
    assert isinstance(results[0], VideoError) and results[0].code == "not-a-video"
    assert str(results[0]).startswith("story: bad.mp4: ")
    assert isinstance(results[1], VideoResult)
    assert video.run_job(jobs[1]) == results[1]  # warm


def test_settings_are_validated():
    for bad in ({"crf": 60}, {"preset": "ludicrous"}, {"max_height": 0}, {"audio_bitrate": 10}):
        with pytest.raises(SettingsError):
            VideoSettings(**bad)


# --- inspection ---------------------------------------------------------------------


def test_inspect_names_each_kind_of_metadata(vids):
    found = video.inspect_video(vids["portrait"])
    for name in ("location", "make", "model", "creation_time", "author", "software", "title", "chapters"):
        assert name in found, found
    assert "attached picture" in video.inspect_video(vids["cover"])


def test_inspect_refuses_what_is_not_a_video(tmp_path):
    with pytest.raises(VideoError) as info:
        video.inspect_video(make.text_named_mp4(tmp_path / "t.mp4"))
    assert info.value.code == "not-a-video"


# --- playback in a real browser ----------------------------------------------------------

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


@contextlib.contextmanager
def _serve(folder: Path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_web_version_plays_in_headless_chromium(web):
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        if _in_ci():
            pytest.fail(f"{CHROMIUM} not found (CI=true, so this fails instead of skipping)")
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium to run the playback test")
    sync_api = pytest.importorskip("playwright.sync_api")
    out, results = web
    r = results["portrait"]
    (out / "play.html").write_text(
        f'<!doctype html><video id="v" src="{r.mp4}" poster="{r.poster_jpeg}" muted playsinline '
        'preload="auto"></video>'
    )
    with _serve(out) as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(f"{base}/play.html")
            page.wait_for_function(
                "() => { const v = document.getElementById('v'); return v.readyState >= 2 || v.error; }",
                timeout=20_000,
            )
            state = page.evaluate(
                "() => { const v = document.getElementById('v');"
                " return {ready: v.readyState, w: v.videoWidth, h: v.videoHeight,"
                " error: v.error && v.error.message, duration: v.duration}; }"
            )
        finally:
            browser.close()
    assert state["error"] is None and state["ready"] >= 2, state
    assert (state["w"], state["h"]) == (240, 320), state
    assert state["duration"] == pytest.approx(2.0, abs=0.2)
