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
