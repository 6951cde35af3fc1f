"""The storywall command: one-line errors, exit codes, no tracebacks."""

from __future__ import annotations

from click.testing import CliRunner

from storywall.cli import cli


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_version():
    result = run("--version")
    assert result.exit_code == 0 and "storywall" in result.output


def test_build_writes_the_site_and_says_so(site):
    site.add_story("ok", "Fine.")
    result = run("--site", str(site.root), "build")
    assert result.exit_code == 0, result.output
    assert "Built 1 stories" in result.output and (site.output / "index.html").is_file()


def test_build_to_another_output_folder(site, tmp_path):
    site.add_story("ok", "Fine.")
    result = run("--site", str(site.root), "build", "--output", str(tmp_path / "elsewhere"))
    assert result.exit_code == 0 and (tmp_path / "elsewhere" / "stories" / "ok").is_dir()


def test_build_with_bad_story_prints_located_lines_and_exits_1(site):
    site.add_story("broken", "x", kind="review", rating=9)
    result = run("--site", str(site.root), "build")
    assert result.exit_code == 1
    assert "content/stories/broken/index.md:" in result.output and "rating:" in result.output
    assert "Traceback" not in result.output


def test_missing_site_config_is_one_line(tmp_path):
    result = run("--site", str(tmp_path), "build")
    assert result.exit_code == 1 and "pelicanconf.py: not found" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_broken_pelicanconf_is_one_line(site):
    (site.root / "pelicanconf.py").write_text("SITENAME = (\n")
    result = run("--site", str(site.root), "build")
    assert result.exit_code == 1 and "cannot be read" in result.output
    assert "Traceback" not in result.output


def test_check_clean_site_exits_0(site):
    site.add_story("ok", "Fine.")
    result = run("--site", str(site.root), "check")
    assert result.exit_code == 0, result.output


def test_check_problems_exit_1_with_text_lines(site):
    site.add_story("bad", "x", initiative="nowhere")
    result = run("--site", str(site.root), "check")
    assert result.exit_code == 1
    assert "content/stories/bad/index.md:" in result.output and "initiative:" in result.output


def test_check_github_format_gives_workflow_annotations(site):
    path = site.add_story("bad", "x", date="someday")
    result = run("--site", str(site.root), "check", "--format", "github", str(path))
    assert result.exit_code == 1
    line = next(l for l in result.output.splitlines() if l.startswith("::error"))
    assert line.startswith("::error file=") and ",line=" in line and "title=date::" in line


def test_check_submissions_folder(site):
    site.add_story("2026-09-01-abcdef", "x", folder="submissions", status="pending")
    site.add_story("2026-09-02-abcdef", "x", folder="submissions", status="pending", title="")
    result = run("--site", str(site.root), "check", str(site.root / "submissions"))
    assert result.exit_code == 1
    assert "submissions/2026-09-02-abcdef/index.md:" in result.output
    assert "2026-09-01-abcdef" not in result.output


def test_check_unknown_option_is_usage_error_exit_2(site):
    result = run("--site", str(site.root), "check", "--format", "xml")
    assert result.exit_code == 2


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_serves_the_built_site_and_its_404_page(site):
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    site.add_story("ok", "Served words.")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "storywall", "--site", str(site.root),
                             "serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/stories/ok/", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        assert "Served words." in page.read().decode()
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/nope/", timeout=2)
        except urllib.error.HTTPError as err:
            assert err.code == 404 and "could not find" in err.read().decode()
        else:
            raise AssertionError("expected a 404")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
