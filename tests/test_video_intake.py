"""A video on the share form: probed, remuxed without metadata, stored with its transcript."""

from __future__ import annotations

import io
import logging
import re

import av
import pytest
import yaml

import videomakers
from intakekit import (ORIGIN, ROOT, SECRET_EMAIL, all_text, assert_complete, config, fields,
                       make_site, multipart, raw_post, video_bytes, visible_folders,
                       waitress_server)
from storywall import video
from storywall.intake import create_app, limits

JSON = {"Origin": ORIGIN, "Accept": "application/json"}
TRANSCRIPT = "Hello, I am Ana.\n\nThe well is two minutes from our house now."


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path)


@pytest.fixture
def make_client(site):
    def make(**overrides):
        return create_app(config(site, **overrides)).test_client()
    return make


@pytest.fixture
def client(make_client):
    return make_client()


def video_fields(**overrides):
    return fields(**{"consent_photos": "yes", "transcript": TRANSCRIPT, **overrides})


def post(client, data, clip=None, filename="IMG_0042.MOV", headers=JSON):
    data = dict(data)
    if clip is not None:
        data["video"] = (io.BytesIO(clip), filename)
    return client.post("/submit", data=data, headers=headers, content_type="multipart/form-data")


def stored(site):
    (folder,) = visible_folders(site.root / "submissions")
    return folder


def assert_stored_video_is_clean_and_upright(path):
    assert video.inspect_video(path) == []
    tags = videomakers.all_tags(path)
    leaked = [k for k in tags if any(w in k.lower() for w in
                                     ("location", "make", "model", "author", "creation"))]
    assert leaked == [], tags
    data = path.read_bytes()
    for secret in videomakers.SECRET_STRINGS:
        assert secret not in data, secret
    facts = video.probe_video(path)
    assert (facts.width, facts.height) == (240, 320) and facts.rotation == 90  # still portrait
    img, rotation, _ = videomakers.first_frame(path)
    upright = img.rotate(rotation, expand=True)  # what a player shows
    colours = videomakers.quadrant_colours(upright)
    assert videomakers.close(colours["top-left"], videomakers.RED)
    assert videomakers.close(colours["bottom-right"], videomakers.WHITE)


# --- accepted ------------------------------------------------------------------------


def test_video_is_remuxed_without_metadata_and_stored_with_its_transcript(client, site, tmp_path):
    clip = video_bytes(tmp_path)
    assert b"SecretPhone" in clip and b"+27.5916" in clip  # the upload carries them
    r = post(client, video_fields(), clip)
    assert r.status_code == 201, r.get_json()
    folder = stored(site)
    data = assert_complete(folder)
    assert data["video"] == {"file": "video.mp4", "transcript": TRANSCRIPT}
    assert_stored_video_is_clean_and_upright(folder / "video.mp4")
    assert not (folder / ".uploads").exists()
    assert b"SecretPhone" not in all_text(folder)


def test_stored_video_is_a_remux_not_a_re_encode(client, site, tmp_path):
    source = videomakers.portrait_phone_video(tmp_path / "src.mp4")
    post(client, video_fields(), source.read_bytes())
    kept = stored(site) / "video.mp4"
    with av.open(str(source)) as a, av.open(str(kept)) as b:
        first = [bytes(p) for p in a.demux(a.streams.video[0]) if p.size]
        second = [bytes(p) for p in b.demux(b.streams.video[0]) if p.size]
    assert first == second  # the same H.264 packets, byte for byte


def test_form_post_with_video_through_a_real_server_gets_a_303(site, tmp_path):
    app = create_app(config(site))
    body, ctype = multipart(video_fields(), {"video": ("clip.mp4", video_bytes(tmp_path),
                                                       "video/mp4")})
    with waitress_server(app) as port:
        status, headers, _ = raw_post(port, body, ctype, headers={"Accept": "text/html"})
    assert status == 303 and "/thanks/?id=" in headers["Location"]
    folder = stored(site)
    assert_complete(folder)
    assert_stored_video_is_clean_and_upright(folder / "video.mp4")


def test_one_log_line_counts_the_video_and_holds_no_personal_data(client, caplog, tmp_path):
    caplog.set_level(logging.INFO, logger="storywall")
    post(client, video_fields(email=SECRET_EMAIL, consent_contact="yes"), video_bytes(tmp_path),
         filename="Ana Secret at home.mp4")
    lines = [r.getMessage() for r in caplog.records if "submission id=" in r.getMessage()]
    assert len(lines) == 1 and "outcome=accepted" in lines[0] and "videos=1" in lines[0]
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (SECRET_EMAIL, "Ana Secret", "two minutes", "SecretPhone"):
        assert secret not in text


# --- refused -------------------------------------------------------------------------


@pytest.mark.parametrize("maker,code,words", [
    (videomakers.text_named_mp4, "video-not-a-video", "not a video"),
    (videomakers.image_named_mp4, "video-not-a-video", "JPEG photo"),
    (videomakers.truncated, "video-truncated", "cut off"),
    (videomakers.audio_only, "video-no-video-stream", "no video"),
])
def test_a_file_that_is_not_a_usable_video_is_refused_naming_the_field(client, site, tmp_path,
                                                                       maker, code, words):
    bad = maker(tmp_path / "upload.mp4").read_bytes()
    r = post(client, video_fields(), bad, filename="upload.mp4")
    assert r.status_code == 422
    error = r.get_json()["error"]
    assert error["code"] == code
    assert error["fields"]["video"].startswith("Video: ") and words in error["fields"]["video"]
    assert visible_folders(site.root / "submissions") == []
    assert list((site.root / "submissions" / ".incoming").iterdir()) == []


def test_video_over_the_length_setting_is_refused(make_client, site, tmp_path):
    client = make_client(MAX_VIDEO_SECONDS=1)
    r = post(client, video_fields(), video_bytes(tmp_path))
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "video-too-long"
    assert "over the 1 s limit" in r.get_json()["error"]["fields"]["video"]
    assert visible_folders(site.root / "submissions") == []


def test_video_over_the_size_setting_is_refused(make_client, site, tmp_path):
    client = make_client(MAX_VIDEO_BYTES=10_000)
    r = post(client, video_fields(), video_bytes(tmp_path))
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "video-too-large"
    assert visible_folders(site.root / "submissions") == []


def test_request_body_limit_follows_the_video_limit(site):
    app = create_app(config(site, MAX_VIDEO_BYTES=5_000_000))
    assert app.config["MAX_CONTENT_LENGTH"] == limits.PHOTOS_REQUEST_BYTES + 5_000_000
    default = create_app(config(site))
    assert default.config["MAX_CONTENT_LENGTH"] == limits.PHOTOS_REQUEST_BYTES + \
        video.MAX_VIDEO_BYTES
    fixed = create_app(config(site, MAX_REQUEST_BYTES=1_000_000, MAX_VIDEO_BYTES=5_000_000))
    assert fixed.config["MAX_CONTENT_LENGTH"] == 1_000_000


def test_site_settings_set_the_intake_video_limits(site):
    from storywall.intake.cli import site_config

    site.configure(ROOT / "theme", {"max_video_seconds": 30, "max_video_bytes": 50_000_000})
    conf = site_config(site.root)
    assert conf["MAX_VIDEO_SECONDS"] == 30 and conf["MAX_VIDEO_BYTES"] == 50_000_000
    app = create_app({**config(site), **{k: v for k, v in conf.items() if k.startswith("MAX_")}})
    assert app.config["MAX_CONTENT_LENGTH"] == limits.PHOTOS_REQUEST_BYTES + 50_000_000


def test_video_without_transcript_is_refused_at_the_transcript_box(client, site, tmp_path):
    r = post(client, video_fields(transcript=None), video_bytes(tmp_path))
    assert r.status_code == 422
    assert "what is said in the video" in r.get_json()["error"]["fields"]["transcript"]
    assert visible_folders(site.root / "submissions") == []


def test_transcript_without_a_video_is_refused(client, site):
    r = post(client, video_fields())
    assert r.status_code == 422
    assert "Add the video" in r.get_json()["error"]["fields"]["video"]


def test_video_needs_permission_to_publish_it(client, site, tmp_path):
    r = post(client, video_fields(consent_photos=None), video_bytes(tmp_path))
    assert r.status_code == 422
    assert "video" in r.get_json()["error"]["fields"]["consent_photos"]


def test_two_videos_are_refused(client, site, tmp_path):
    clip = video_bytes(tmp_path)
    data = {**video_fields(), "video": [(io.BytesIO(clip), "a.mp4"), (io.BytesIO(clip), "b.mp4")]}
    r = client.post("/submit", data=data, headers=JSON, content_type="multipart/form-data")
    assert r.status_code == 413 and "one video" in r.get_json()["error"]["message"]


def test_rejected_form_post_keeps_the_transcript_and_says_the_video_was_not_kept(client, tmp_path):
    r = post(client, video_fields(title="x"), video_bytes(tmp_path), headers={"Origin": ORIGIN})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "Your video was not kept" in page
    assert re.search(r'<textarea id="field-transcript"[^>]*>Hello, I am Ana\.', page)


def test_stored_submission_passes_check_and_builds(client, site, tmp_path):
    from storywall import checks

    post(client, video_fields(), video_bytes(tmp_path))
    folder = stored(site)
    problems = checks.check_paths(site.root, site.content, [folder])
    assert [p for p in problems if p.is_error] == [], [str(p) for p in problems]
    front = yaml.safe_load((folder / "index.md").read_text().split("---")[1])
    assert front["consent"]["photos"] is True
