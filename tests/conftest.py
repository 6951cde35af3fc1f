"""Shared fixtures: tiny sites written into tmp_path and built with real Pelican."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sitekit import Site

TESTS = Path(__file__).parent
ROOT = TESTS.parent


@pytest.fixture
def site(tmp_path) -> Site:
    """An empty site (pelicanconf.py, one initiative) to add stories to."""
    return Site.create(tmp_path / "site", theme=ROOT / "theme")


@pytest.fixture
def minimal_site(tmp_path) -> Path:
    """A copy of tests/sites/minimal with the theme path fixed."""
    target = tmp_path / "minimal"
    shutil.copytree(TESTS / "sites" / "minimal", target, ignore=shutil.ignore_patterns("output"))
    conf = target / "pelicanconf.py"
    conf.write_text(conf.read_text().replace('"../../../theme"', repr(str(ROOT / "theme"))))
    return target


@pytest.fixture
def loop(tmp_path, monkeypatch):
    """A whole deployment in tmp_path (loopkit.Loop): intake, moderation, build, notify."""
    from loopkit import Loop

    monkeypatch.delenv("STORYWALL_PRIVATE_DIR", raising=False)
    return Loop(tmp_path)


@pytest.fixture
def smtp():
    """A real SMTP server on 127.0.0.1: (inbox, port)."""
    import mailkit

    with mailkit.smtp_server() as server:
        yield server


@pytest.fixture
def sms():
    """The local stand-in for an SMS gateway: (gateway, url)."""
    import smskit

    with smskit.sms_gateway() as gateway:
        yield gateway
