"""The intake app behind a real waitress server on 127.0.0.1: bytes on the wire."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

import imagemakers
from intakekit import (ORIGIN, SECRET_EMAIL, all_text, assert_complete, config, fields,
                       free_port, json_of, make_site, multipart, photo_bytes, raw_post,
                       visible_folders, waitress_server)
from storywall.intake import create_app


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path)


@pytest.fixture
def server(site):
    app = create_app(config(site, MAX_REQUEST_BYTES=2 * 1024 * 1024))
    with waitress_server(app) as port:
        yield port


def nothing_written(site):
    subs = site.root / "submissions"
    return visible_folders(subs) == [] and list((subs / ".incoming").iterdir()) == []


def test_valid_multipart_with_photos_lands_complete_and_clean(server, site, tmp_path):
    data = fields(consent_photos="yes", alt_1="Volunteers at the well", alt_2="The new tap",
                  email=SECRET_EMAIL, consent_contact="yes")
    files = {"photo_1": ("IMG_2231.jpg", photo_bytes(tmp_path), "image/jpeg"),
             "photo_2": ("tap.heic", imagemakers.heic(tmp_path / "t.heic").read_bytes(),
                         "image/heic")}
    body, ctype = multipart(data, files)
    status, headers, out = raw_post(server, body, ctype)
    assert status == 201, out
    sub_id = json_of(out)["id"]
    folder = site.root / "submissions" / sub_id
    meta = assert_complete(folder)
    assert [p["file"] for p in meta["photos"]] == ["photo-1.jpg", "photo-2.jpg"]
    blob = all_text(folder)
    for secret in (SECRET_EMAIL.encode(), b"IMG_2231", b"secret comment", b"secret-place",
                   b"http://ns.adobe.com/xap/1.0/"):
        assert secret not in blob
    assert headers["Access-Control-Allow-Origin"] == ORIGIN


def test_form_post_gets_a_303_to_thanks(server):
    body, ctype = multipart(fields())
    status, headers, _ = raw_post(server, body, ctype, {"Accept": "text/html,*/*;q=0.8"})
    assert status == 303 and headers["Location"].startswith(ORIGIN + "/thanks/?id=")


def test_healthz_over_http(server):
    with urllib.request.urlopen(f"http://127.0.0.1:{server}/healthz", timeout=10) as resp:
        assert resp.status == 200 and json.load(resp) == {"status": "ok"}


BAD_REQUESTS = {
    "malformed multipart": lambda tmp: (
        b"--XB\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nHel",
        "multipart/form-data; boundary=XB", {}, 400, "malformed"),
    "header without name": lambda tmp: (
        b"--XB\r\nContent-Type: text/plain\r\n\r\nx\r\n--XB--\r\n",
        "multipart/form-data; boundary=XB", {}, 400, "malformed"),
    "too many files": lambda tmp: (*multipart(
        fields(consent_photos="yes"),
        {f"photo_{n}": (f"{n}.jpg", photo_bytes(tmp), "image/jpeg") for n in range(1, 8)}),
        {}, 413, "too-many-files"),
    "path traversal": lambda tmp: (*multipart(
        fields(consent_photos="yes", alt_1="x"),
        {"photo_1": ("../../../etc/cron.d/x.jpg", photo_bytes(tmp), "image/jpeg")}),
        {}, 400, "bad-filename"),
    "not an image": lambda tmp: (*multipart(
        fields(consent_photos="yes", alt_1="x"),
        {"photo_1": ("a.jpg", imagemakers.text_as_jpg(tmp / "t.jpg").read_bytes(),
                     "image/jpeg")}), {}, 422, "not-an-image"),
    "svg": lambda tmp: (*multipart(
        fields(consent_photos="yes", alt_1="x"),
        {"photo_1": ("a.png", imagemakers.svg_as_png(tmp / "s.png").read_bytes(),
                     "image/png")}), {}, 422, "not-an-image"),
    "honeypot": lambda tmp: (*multipart(fields(website="buy now")), {}, 400, "honeypot"),
    "wrong origin": lambda tmp: (*multipart(fields()), {"Origin": "https://evil.example"},
                                 403, "bad-origin"),
    "oversize body": lambda tmp: (*multipart(
        fields(consent_photos="yes", alt_1="x"),
        {"photo_1": ("a.jpg", os.urandom(3 * 1024 * 1024), "image/jpeg")}), {}, 413,
        "too-large"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_requests_get_a_clear_4xx_and_write_nothing(server, site, tmp_path, case):
    body, ctype, headers, want_status, want_code = BAD_REQUESTS[case](tmp_path)
    status, _, out = raw_post(server, body, ctype, headers)
    assert status == want_status, out
    error = json_of(out)["error"]
    assert error["code"] == want_code and len(error["message"]) > 15
    assert nothing_written(site)


def test_declared_huge_body_is_refused_before_it_is_read(server, site):
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    conn.putrequest("POST", "/submit")
    for key, value in {"Content-Type": "multipart/form-data; boundary=XB", "Origin": ORIGIN,
                       "Accept": "application/json",
                       "Content-Length": str(5 * 1024 ** 3)}.items():
        conn.putheader(key, value)
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == 413
    conn.close()
    assert nothing_written(site)


def test_storywall_intake_command_serves(site, tmp_path):
    """``storywall intake`` (the click command) runs waitress and takes a submission."""
    port = free_port()
    code = ("import sys; from storywall.cli import cli; "
            "from storywall.intake.cli import intake_command; cli.add_command(intake_command); "
            "cli(sys.argv[1:], prog_name='storywall')")
    env = {**os.environ, "STORYWALL_SITEURL": ORIGIN}
    proc = subprocess.Popen([sys.executable, "-c", code, "--site", str(site.root), "intake",
                             "--port", str(port)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        body, ctype = multipart(fields())
        status, _, out = raw_post(port, body, ctype)
        assert status == 201, out
        assert (site.root / "submissions" / json_of(out)["id"] / "index.md").is_file()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    log = err.decode()
    assert "outcome=accepted" in log and "Ana" not in log
