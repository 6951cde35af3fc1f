"""Constants and helpers shared by the browser tests and their conftest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
NODE_MODULES = ROOT / "node_modules"
AXE_JS = NODE_MODULES / "axe-core" / "axe.min.js"
VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM_ARGS = ["--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def require(ok: bool, reason: str, module: bool = False) -> None:
    """Skip with ``reason`` on a developer's machine; fail in CI (``CI=true``)."""
    if ok:
        return
    if in_ci():
        pytest.fail(f"{reason} (CI=true, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason, allow_module_level=module)


def have_chromium() -> bool:
    return Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)


CHROMIUM_MISSING = (f"{CHROMIUM} not found: install Debian's chromium "
                    "(apt-get install --no-install-recommends chromium; `make test` does it as root)")


def cls(name: str) -> str:
    """An XPath test for an element with class ``name`` (lxml without cssselect)."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


STORY = f"//article[{cls('story')}]"
