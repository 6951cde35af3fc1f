"""No story lost, nothing half-written: load, SIGKILL mid-write, a full disk."""

from __future__ import annotations

import errno
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from intakekit import (ROOT, assert_complete, config, fields, free_port, json_of, make_site,
                       multipart, photo_bytes, raw_post, visible_folders, waitress_server)
from storywall.intake import create_app

TESTS = Path(__file__).parent


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path)


def private_rows(site, table="submissions") -> int:
    con = sqlite3.connect(site.root / "private" / "intake.sqlite3")
    try:
        return con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


def incoming(site) -> list:
    return list((site.root / "submissions" / ".incoming").iterdir())


def load(port: int, seconds: float, clients: int, photo: bytes) -> tuple[list, list]:
    """``clients`` threads posting distinct submissions with a photo for ``seconds``."""
    accepted, failures = [], []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(n: int):
        i = 0
        while time.monotonic() < deadline:
            i += 1
            data = fields(title=f"Client {n} story {i}", consent_photos="yes",
                          alt_1=f"Photo from client {n}")
            body, ctype = multipart(data, {"photo_1": ("p.jpg", photo, "image/jpeg")})
            try:
                status, _, out = raw_post(port, body, ctype, timeout=60)
            except OSError as err:
                with lock:
                    failures.append(repr(err))
                continue
            with lock:
                if status == 201:
                    accepted.append(json_of(out)["id"])
                else:
                    failures.append((status, out[:200]))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 120)
    return accepted, failures


def check_load(site, tmp_path, seconds: float):
    app = create_app(config(site))
    with waitress_server(app, threads=8) as port:
        accepted, failures = load(port, seconds, 20, photo_bytes(tmp_path, size=(320, 240)))
    assert failures == []
    assert len(accepted) == len(set(accepted)) > 20
    folders = visible_folders(site.root / "submissions")
    assert sorted(p.name for p in folders) == sorted(accepted)
    for folder in folders:
        assert_complete(folder)
    assert incoming(site) == []
    assert private_rows(site) == len(accepted)


def test_20_concurrent_clients_for_5_seconds(site, tmp_path):
    check_load(site, tmp_path, 5)


@pytest.mark.slow
def test_20_concurrent_clients_for_30_seconds(site, tmp_path, request):
    if "slow" not in (request.config.getoption("markexpr") or "") \
            and not os.environ.get("STORYWALL_SLOW"):
        pytest.skip("30 s soak: run with -m slow or STORYWALL_SLOW=1")
    check_load(site, tmp_path, 30)


# --- SIGKILL ------------------------------------------------------------------------


def start_process(site, tmp_path, env_extra=None):
    port = free_port()
    conf = {k: str(v) if isinstance(v, Path) else v for k, v in config(site).items()}
    env = {**os.environ, **(env_extra or {}),
           "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(TESTS)])}
    proc = subprocess.Popen([sys.executable, str(TESTS / "intake_proc.py"), json.dumps(conf),
                             str(port)], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc, port
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read().decode())
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("the intake process did not start")


def post_in_background(port, photo, title="Killed mid-write"):
    result = {}

    def go():
        body, ctype = multipart(fields(title=title, consent_photos="yes", alt_1="x"),
                                {"photo_1": ("p.jpg", photo, "image/jpeg")})
        try:
            result["status"] = raw_post(port, body, ctype, timeout=30)[0]
        except OSError as err:
            result["error"] = err

    thread = threading.Thread(target=go)
    thread.start()
    return thread, result


def test_sigkill_just_before_the_rename_leaves_nothing_visible(site, tmp_path):
    marker = tmp_path / "paused"
    proc, port = start_process(site, tmp_path, {"INTAKE_PAUSE_FILE": str(marker)})
    try:
        thread, result = post_in_background(port, photo_bytes(tmp_path))
        for _ in range(200):
            if marker.exists():
                break
            time.sleep(0.05)
        assert marker.exists(), "the submission never reached the rename"
        staged = Path(marker.read_text())
        assert (staged / "index.md").is_file() and (staged / "photo-1.jpg").is_file()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    thread.join(timeout=30)
    assert "status" not in result  # never acknowledged
    assert visible_folders(site.root / "submissions") == []
    # the next start clears the leftover and the private rows of what was never stored
    create_app(config(site))
    assert incoming(site) == [] and private_rows(site) == 0 and private_rows(site, "contacts") == 0


def test_sigkill_under_load_leaves_only_complete_submissions(site, tmp_path):
    proc, port = start_process(site, tmp_path)
    photo = photo_bytes(tmp_path, size=(800, 600))
    acknowledged = []
    threads = []
    try:
        for n in range(12):
            thread, result = post_in_background(port, photo, title=f"Under load {n}")
            threads.append(result)
        time.sleep(0.8)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    time.sleep(0.5)
    acknowledged = [r for r in threads if r.get("status") == 201]
    folders = visible_folders(site.root / "submissions")
    assert len(folders) >= len(acknowledged)
    for folder in folders:
        assert_complete(folder)
    create_app(config(site))
    assert incoming(site) == []
    assert private_rows(site) == len(folders)


# --- full disk and write errors -----------------------------------------------------------


@pytest.fixture
def tiny_disk(tmp_path):
    """A 2 MB tmpfs (needs root); skipped where mounting is not allowed."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: " + done.stderr.decode().strip())
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_full_disk_gives_503_and_writes_nothing(site, tmp_path, tiny_disk):
    client = create_app(config(site, SUBMISSIONS_DIR=tiny_disk / "submissions")).test_client()
    filler = tiny_disk / "filler"
    free = os.statvfs(tiny_disk).f_bavail * os.statvfs(tiny_disk).f_frsize
    filler.write_bytes(b"\0" * (free - 40 * 1024))
    photo = photo_bytes(tmp_path, size=(1600, 1200))
    data = fields(consent_photos="yes", alt_1="A well")

    def send():
        from io import BytesIO

        return client.post("/submit", data={**data, "photo_1": (BytesIO(photo), "p.jpg")},
                           headers={"Origin": "https://stories.example.org",
                                    "Accept": "application/json"})

    r = send()
    assert r.status_code == 503 and r.headers["Retry-After"]
    assert "try again" in r.get_json()["error"]["message"]
    subs = tiny_disk / "submissions"
    assert visible_folders(subs) == [] and list((subs / ".incoming").iterdir()) == []
    assert private_rows(site) == 0
    filler.unlink()
    r = send()
    assert r.status_code == 201
    assert_complete(subs / r.get_json()["id"])


@pytest.mark.parametrize("target", ["index", "rename", "sqlite", "photo"])
def test_injected_write_error_gives_503_and_writes_nothing(site, tmp_path, monkeypatch, target):
    from storywall import photos
    from storywall.intake import pipeline, storage

    def enospc(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    def disk_full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    client = create_app(config(site)).test_client()
    patch = {"index": (pipeline, "write_file", enospc),
             "rename": (storage.os, "rename", enospc),
             "sqlite": (storage.Store, "reserve", disk_full),
             "photo": (photos, "_atomic_write", enospc)}[target]
    monkeypatch.setattr(*patch)
    from io import BytesIO

    r = client.post("/submit", data={**fields(consent_photos="yes", alt_1="x"),
                                     "photo_1": (BytesIO(photo_bytes(tmp_path)), "p.jpg")},
                    headers={"Origin": "https://stories.example.org",
                             "Accept": "application/json"})
    assert r.status_code == 503
    monkeypatch.undo()
    assert visible_folders(site.root / "submissions") == [] and incoming(site) == []
    assert private_rows(site) == 0
