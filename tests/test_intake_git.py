"""Git mode against a local bare repository, and pull requests against a local stand-in."""

from __future__ import annotations

import http.server
import json
import logging
import subprocess
import threading
import time

import pytest

from intakekit import (SECRET_EMAIL, config, fields, json_of, make_site, multipart, photo_bytes,
                       raw_post, waitress_server)
from storywall.intake import create_app


def git(cwd, *args) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    """The site as a Git work tree on main, with a bare repository as its origin."""
    site = make_site(tmp_path)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(remote)], check=True)
    git(site.root, "init", "--quiet", "-b", "main")
    git(site.root, "-c", "user.name=T", "-c", "user.email=t@example.org", "add", ".")
    git(site.root, "-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "--quiet",
        "-m", "site")
    git(site.root, "remote", "add", "origin", str(remote))
    git(site.root, "push", "--quiet", "origin", "main")
    return site, remote


class _GitHub(http.server.BaseHTTPRequestHandler):
    calls: list = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls.append({"path": self.path, "auth": self.headers["Authorization"],
                                 "body": body})
        out = json.dumps({"html_url": f"https://github.example/pull/{len(self.calls)}"}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


@pytest.fixture
def github():
    _GitHub.calls = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _GitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _GitHub.calls
    server.shutdown()
    server.server_close()


def post_many(port, tmp_path, n):
    results = []

    def one(i):
        data = fields(title=f"Concurrent story {i}", consent_photos="yes", alt_1=f"Photo {i}",
                      email=SECRET_EMAIL, consent_contact="yes")
        body, ctype = multipart(data, {"photo_1": ("p.jpg", photo_bytes(tmp_path), "image/jpeg")})
        status, _, out = raw_post(port, body, ctype)
        results.append((status, json_of(out)))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(status == 201 for status, _ in results), results
    return [body["id"] for _, body in results]


def test_concurrent_submissions_give_one_branch_each_with_only_its_files(repo, tmp_path, github,
                                                                         caplog):
    caplog.set_level(logging.INFO, logger="storywall")
    site, remote = repo
    api, calls = github
    app = create_app(config(site, GIT=True, GITHUB_API_URL=api, GITHUB_TOKEN="t0ken",
                            GITHUB_REPOSITORY="trust/wall"))
    with waitress_server(app) as port:
        ids = post_many(port, tmp_path, 6)
        flow = app.extensions["storywall_intake"].git
        assert flow.drain() == (6, 0) and flow.pending() == 0
    branches = git(remote, "for-each-ref", "--format=%(refname:short)", "refs/heads/submission/")
    assert sorted(branches.split()) == sorted(f"submission/{i}" for i in ids)
    for sub_id in ids:
        changed = git(remote, "diff", "--name-only", "main", f"submission/{sub_id}").split()
        assert sorted(changed) == [f"submissions/{sub_id}/index.md",
                                   f"submissions/{sub_id}/photo-1.jpg"]
        assert git(remote, "rev-parse", f"submission/{sub_id}^") == git(remote, "rev-parse", "main")
    assert git(site.root, "status", "--porcelain", "--untracked-files=no") == ""
    assert git(site.root, "symbolic-ref", "--short", "HEAD") == "main"
    history = subprocess.run(["git", "-C", str(remote), "log", "-p", "--all"],
                             capture_output=True).stdout
    assert SECRET_EMAIL.encode() not in history and b"ana.secret" not in history
    # one pull request per submission: public fields and checks only
    assert len(calls) == 6 and {c["path"] for c in calls} == {"/repos/trust/wall/pulls"}
    assert all(c["auth"] == "Bearer t0ken" and c["body"]["base"] == "main" for c in calls)
    assert sorted(c["body"]["head"] for c in calls) == sorted(f"submission/{i}" for i in ids)
    for call in calls:
        text = json.dumps(call["body"])
        assert "Concurrent story" in call["body"]["title"] and "Checks:" in call["body"]["body"]
        for secret in (SECRET_EMAIL, "ana.secret", "127.0.0.1", "t0ken"):
            assert secret not in text
    logs = "\n".join(r.getMessage() for r in caplog.records)
    assert "pushed id=" in logs
    for secret in (SECRET_EMAIL, "t0ken", "Concurrent story"):
        assert secret not in logs


def test_failed_push_stays_queued_and_is_retried(repo, tmp_path):
    site, remote = repo
    git(site.root, "remote", "set-url", "origin", str(tmp_path / "nowhere.git"))
    app = create_app(config(site, GIT=True, GIT_RETRY_SECONDS=30))
    client = app.test_client()
    r = client.post("/submit", data=fields(), headers={"Origin": "https://stories.example.org",
                                                       "Accept": "application/json"})
    assert r.status_code == 201  # acknowledged: it is on disk whatever Git does
    sub_id = r.get_json()["id"]
    flow = app.extensions["storywall_intake"].git
    assert flow.drain() == (0, 1)
    assert flow.pending() == 1 and flow.due() == []  # waiting for its retry time
    assert (site.root / "submissions" / sub_id / "index.md").is_file()
    assert client.get("/healthz").get_json()["git_queue"] == 1
    git(site.root, "remote", "set-url", "origin", str(remote))
    assert flow.drain(now=time.time() + 31) == (1, 0)
    assert git(remote, "rev-parse", "--verify", f"submission/{sub_id}")
    assert flow.pending() == 0


def test_restart_requeues_submissions_without_a_branch(repo):
    site, remote = repo
    app = create_app(config(site))  # Git mode off: stored, not queued
    r = app.test_client().post("/submit", data=fields(), headers={
        "Origin": "https://stories.example.org", "Accept": "application/json"})
    sub_id = r.get_json()["id"]
    app = create_app(config(site, GIT=True))
    flow = app.extensions["storywall_intake"].git
    assert flow.pending() == 1 and flow.drain() == (1, 0)
    assert git(remote, "rev-parse", "--verify", f"submission/{sub_id}")


def test_background_worker_pushes_without_being_asked(repo):
    site, remote = repo
    app = create_app(config(site, GIT=True, GIT_WORKER=True))
    flow = app.extensions["storywall_intake"].git
    try:
        r = app.test_client().post("/submit", data=fields(), headers={
            "Origin": "https://stories.example.org", "Accept": "application/json"})
        sub_id = r.get_json()["id"]
        for _ in range(100):
            if flow.pending() == 0:
                break
            time.sleep(0.1)
        assert git(remote, "rev-parse", "--verify", f"submission/{sub_id}")
    finally:
        flow.stop()


def test_git_mode_outside_a_work_tree_is_a_clear_error(tmp_path):
    from storywall.errors import StoryWallError

    site = make_site(tmp_path)
    with pytest.raises(StoryWallError, match="not a Git work tree"):
        create_app(config(site, GIT=True))
