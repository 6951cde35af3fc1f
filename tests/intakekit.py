"""Helpers for the intake tests: a site, valid form fields, raw multipart bodies, servers."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import shutil
import socket
import threading
import uuid
from pathlib import Path

import yaml

import imagemakers
from sitekit import Site

ROOT = Path(__file__).resolve().parent.parent
ORIGIN = "https://stories.example.org"
SECRET_EMAIL = "ana.secret@example.net"


def make_site(tmp_path: Path) -> Site:
    """A site with two initiatives (one with an FAQ), the share/thanks pages and the theme."""
    site = Site.create(tmp_path / "site", theme=ROOT / "theme")
    site.add_initiative("parks", title="Green parks", summary="Trees for the town.", faq=[
        {"q": "Who plants the trees?", "a": "Volunteers, on Saturdays."}])
    shutil.copytree(ROOT / "content" / "pages", site.content / "pages", dirs_exist_ok=True)
    return site


def config(site: Site, **overrides) -> dict:
    conf = {"SITE_DIR": site.root, "SITE_URL": ORIGIN, "THEME_DIR": ROOT / "theme",
            "TESTING": True, "RATE_LIMIT": None, "GIT_WORKER": False}
    conf.update(overrides)
    return conf


def fields(**overrides) -> dict:
    """A valid story as the form sends it (strings; checkboxes 'yes')."""
    data = {"kind": "story", "initiative": "water", "title": "Why I give",
            "story": "Because clean water changes everything.", "author": "Ana P.",
            "consent_publish": "yes"}
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def photo_bytes(tmp_path: Path, name: str = "p.jpg", size=(64, 48)) -> bytes:
    path = imagemakers.jpeg_with_everything(tmp_path / f"{uuid.uuid4().hex}-{name}", size)
    return path.read_bytes()


def video_bytes(tmp_path: Path, maker=None, **kwargs) -> bytes:
    """A small real video (default: a portrait phone video with location, make, model,
    owner and creation-time tags and a 90° display matrix), as bytes."""
    import videomakers

    path = tmp_path / f"{uuid.uuid4().hex}.mp4"
    (maker or videomakers.portrait_phone_video)(path, **kwargs)
    return path.read_bytes()


def big_photo(tmp_path: Path, megabytes: float = 3.0) -> bytes:
    """A JPEG of about ``megabytes`` (noise compresses badly, so it is big for its pixels)."""
    from PIL import Image

    side = 600
    while True:
        img = Image.effect_noise((side, side), 64).convert("RGB")
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=95, exif=imagemakers.exif_bytes())
        if buf.tell() >= megabytes * 1024 * 1024:
            return buf.getvalue()
        side = int(side * 1.25)


def multipart(data: dict, files: dict | None = None, boundary: str = "XBOUNDARYx1") -> tuple[bytes, str]:
    """A multipart/form-data body; ``files``: name -> (filename, bytes, content type)."""
    out = io.BytesIO()
    for name, value in data.items():
        out.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                  .encode())
        out.write(str(value).encode("utf-8") + b"\r\n")
    for name, (filename, content, ctype) in (files or {}).items():
        out.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                  f"filename=\"{filename}\"\r\nContent-Type: {ctype}\r\n\r\n".encode())
        out.write(content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def waitress_server(app, threads: int = 8):
    """A real waitress server for ``app`` on 127.0.0.1 (a free port), in a thread."""
    from waitress.server import create_server

    from storywall.intake.cli import waitress_options

    server = create_server(app, host="127.0.0.1", port=0, **waitress_options(app, threads))

    def run():
        try:
            server.run()
        except (OSError, ValueError):  # the socket map closed under select(): stopped
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield server.effective_port
    finally:
        server.task_dispatcher.shutdown(timeout=5)
        server.close()
        thread.join(timeout=10)


def raw_post(port: int, body: bytes, content_type: str, headers: dict | None = None,
             path: str = "/submit", timeout: float = 30) -> tuple[int, dict, bytes]:
    """POST with http.client (exact bytes); returns (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        hdrs = {"Content-Type": content_type, "Origin": ORIGIN, "Accept": "application/json"}
        hdrs.update(headers or {})
        conn.request("POST", path, body=body, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def json_of(body: bytes) -> dict:
    return json.loads(body.decode("utf-8"))


def visible_folders(submissions: Path) -> list[Path]:
    return sorted(p for p in submissions.iterdir() if not p.name.startswith(".")) \
        if submissions.is_dir() else []


def assert_complete(folder: Path) -> dict:
    """A submission folder is whole: index.md parses, every photo and video it names is
    there, clean."""
    from storywall import photos, schema, video

    story, problems = schema.parse_story(folder / "index.md")
    assert story is not None, [str(p) for p in problems]
    assert story.status == "pending" and story.id == folder.name
    names = {p.name for p in folder.iterdir()}
    clips = {story.video.file} if story.video else set()
    assert names == {"index.md"} | {p.file for p in story.photos} | clips, names
    for p in story.photos:
        assert photos.inspect_photo(folder / p.file) == [], p.file
    for name in clips:
        assert video.inspect_video(folder / name) == [], name
    return yaml.safe_load((folder / "index.md").read_text().split("---")[1])


def all_text(folder: Path) -> bytes:
    """Every byte under ``folder`` (to look for leaks)."""
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())
