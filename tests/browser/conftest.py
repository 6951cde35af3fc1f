"""Browser tests: the built demo site, served on 127.0.0.1, driven through Playwright.

The browser is Debian's ``chromium`` (``/usr/bin/chromium``, or ``$CHROMIUM``);
``make test`` installs it when it is missing. Playwright's own browser download
(``playwright install``) is never used. Without chromium the browser tests are
skipped on a developer's machine, but fail in CI (``CI=true``), so a broken set-up
can't pass silently. The same holds for ``node_modules`` (``npm ci``: axe-core and
the Nu HTML checker).
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import shutil
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import html as lxml_html

from browserkit import (AXE_JS, CHROMIUM, CHROMIUM_ARGS, CHROMIUM_MISSING, PHONE, ROOT,
                        STORY, cls, have_chromium, require)


def _photo_script():
    spec = importlib.util.spec_from_file_location("make_demo_photos_browser",
                                                  ROOT / "scripts" / "make_demo_photos.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@dataclass
class BuiltSite:
    """The demo site built once into a temporary folder, and the pages tests use."""

    root: Path
    output: Path
    stories: dict[str, lxml_html.HtmlElement] = field(default_factory=dict, repr=False)

    def _pick(self, test) -> str:
        for slug, doc in sorted(self.stories.items()):
            if test(doc):
                return slug
        raise AssertionError("no story in the demo site fits")

    @functools.cached_property
    def story_with_photos(self) -> str:
        """A story (not a review) with photos, a reply if one exists."""
        def fits(reply):
            return lambda d: (d.xpath(f"{STORY}//figure//picture")
                              and not d.xpath(f"{STORY}/header//*[{cls('stars')}]")
                              and (bool(d.xpath(f"//*[{cls('reply')}]")) or not reply))
        try:
            return self._pick(fits(True))
        except AssertionError:
            return self._pick(fits(False))

    @functools.cached_property
    def story_with_video(self) -> str:
        """A story with a video (the demo makes one, see scripts/make_demo_photos.py)."""
        return self._pick(lambda d: d.xpath(f"{STORY}//video"))

    @functools.cached_property
    def review(self) -> str:
        return self._pick(lambda d: d.xpath(f"{STORY}/header//*[{cls('stars')}]"))

    @functools.cached_property
    def initiative(self) -> str:
        pages = sorted(p.parent.name for p in (self.output / "initiatives").glob("*/index.html"))
        assert pages, "no initiative pages"
        return pages[0]


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> BuiltSite:
    """The demo content, theme and settings copied, photos made, and built once."""
    from storywall import build

    target = tmp_path_factory.mktemp("browser") / "site"
    target.mkdir()
    shutil.copy(ROOT / "pelicanconf.py", target / "pelicanconf.py")
    # demo photos already made in the working tree are copied (they are deterministic);
    # make_photos() makes whichever are missing.
    shutil.copytree(ROOT / "content", target / "content")
    shutil.copytree(ROOT / "theme", target / "theme")
    _photo_script().make_photos(target)
    report = build.build(target)
    site = BuiltSite(root=target, output=report.output)
    for page in sorted((site.output / "stories").glob("*/index.html")):
        doc = lxml_html.fromstring(page.read_bytes())
        if doc.xpath(STORY):  # not a withdrawn story's notice
            site.stories[page.parent.name] = doc
    assert site.stories, "the demo site built no story pages"
    return site


class _Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="session")
def site_url(built_site) -> str:
    """The built site on a free loopback port: ``http://127.0.0.1:PORT``."""
    handler = functools.partial(_QuietHandler, directory=str(built_site.output))
    httpd = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    """One chromium for the browser tests (they are all in test_browser.py), closed when
    the module ends: a live sync Playwright would make every later ``sync_playwright()``
    in the session fail ("using Playwright Sync API inside the asyncio loop"). Scope
    "package" doesn't help: tests/browser has no __init__.py, so it lasts the session."""
    require(have_chromium(), CHROMIUM_MISSING)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def axe_source() -> Path:
    require(AXE_JS.is_file(), f"{AXE_JS.relative_to(ROOT)} not found: run `npm ci`")
    return AXE_JS


class Recorder:
    """Every request a context makes, to check that none leaves the site's origin."""

    def __init__(self, origin: str):
        self.origin = origin
        self.urls: list[str] = []

    def __call__(self, request) -> None:
        self.urls.append(request.url)

    def foreign(self) -> list[str]:
        own = urlsplit(self.origin)
        bad = []
        for url in self.urls:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob"):
                continue
            if (parts.scheme, parts.hostname, parts.port) != (own.scheme, own.hostname, own.port):
                bad.append(url)
        return bad


@pytest.fixture
def new_page(browser, site_url):
    """A factory: new_page(viewport=..., **context options) → a Playwright page.

    Each page gets its own context, records its requests (``page.recorder``), and is
    checked at teardown for requests to any other origin.
    """
    contexts = []

    def make(viewport=PHONE, **options):
        context = browser.new_context(viewport=viewport, **options)
        context.set_default_timeout(10_000)
        recorder = Recorder(site_url)
        context.on("request", recorder)
        contexts.append((context, recorder))
        page = context.new_page()
        page.recorder = recorder
        return page

    yield make
    foreign = []
    for context, recorder in contexts:
        foreign += recorder.foreign()
        context.close()
    assert not foreign, f"requests left the site's origin {site_url}: {foreign}"
