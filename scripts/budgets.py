#!/usr/bin/env python3
"""Page-weight budgets of the built site, measured in Debian's chromium via Playwright.

1. The wall (``/``): its HTML + CSS + JS, each response gzipped (level 6, what
   a web server typically sends), before images — under 50 KB.
2. Story pages on a phone: the largest image a phone loads on any story page,
   scrolled to the bottom so lazy images load too — under 150 KB. Measured at
   390x844 CSS px with device pixel ratio 1 and 3, and at Lighthouse 12's mobile
   emulation (Moto G Power: 412x823, DPR 1.75); every one is gated.

Sizes come from the network events (``page.on("response")``), so they are what
the browser actually chose from ``srcset``/``<picture>``. 1 KB = 1000 bytes.

Usage:  .venv/bin/python scripts/budgets.py [--output DIR] [--limit N]
Exits 1 when a budget is exceeded.
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lighthouse import serve  # noqa: E402 - the same loopback server

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
WALL_BUDGET = 50_000
IMAGE_BUDGET = 150_000
PHONES = {  # name: (viewport, device pixel ratio)
    "390px DPR 1": ({"width": 390, "height": 844}, 1),
    "390px DPR 3": ({"width": 390, "height": 844}, 3),
    "Lighthouse 412px DPR 1.75": ({"width": 412, "height": 823}, 1.75),
}
SCROLL_ALL = """async () => {
    for (let y = 0; y < document.body.scrollHeight; y += window.innerHeight) {
        window.scrollTo(0, y);
        await new Promise(r => requestAnimationFrame(() => setTimeout(r, 20)));
    }
}"""


def kb(n: int) -> str:
    return f"{n / 1000:.1f} KB"


class Phone:
    """One page in its own context, with the HTTP cache off, that records responses."""

    def __init__(self, browser, viewport: dict, dpr: float):
        self.context = browser.new_context(viewport=viewport, device_scale_factor=dpr,
                                           is_mobile=dpr > 1, has_touch=dpr > 1)
        self.page = self.context.new_page()
        cdp = self.context.new_cdp_session(self.page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})  # every page loads afresh
        self.seen: list[tuple] = []
        self.page.on("response", self._record)

    def _record(self, response):
        if response.status == 200:
            try:
                body = response.body()
            except Exception:  # a response the page navigated away from
                return
            self.seen.append((response.request.resource_type, urlsplit(response.url).path, body))

    def load(self, url: str, scroll: bool) -> list[tuple]:
        """(resource type, path, body bytes) of every response loading ``url``."""
        self.seen = []
        self.page.goto(url, wait_until="load")
        if scroll:  # every lazy image has been asked for once the page was scrolled through
            self.page.evaluate(SCROLL_ALL)
            self.page.wait_for_function("[...document.images].every(i => i.complete)")
            self.page.wait_for_timeout(100)  # the last response events
        else:
            self.page.wait_for_load_state("networkidle")
        return self.seen

    def close(self):
        self.context.close()


def wall_weight(browser, base: str) -> tuple[int, int, list[str]]:
    phone = Phone(browser, *PHONES["390px DPR 1"])
    rows, raw, packed = [], 0, 0
    responses = phone.load(base + "/", scroll=False)
    phone.close()
    for kind, path, body in responses:
        if kind in ("document", "stylesheet", "script"):
            size = len(gzip.compress(body, compresslevel=6, mtime=0))
            raw += len(body)
            packed += size
            rows.append(f"    {kind:10} {path:40} {kb(len(body)):>9} raw {kb(size):>9} gzipped")
    return raw, packed, rows


def largest_images(browser, base: str, paths: list[str]) -> dict[str, tuple[int, str]]:
    """Per phone: (bytes, "page → image") of the largest image loaded on any of ``paths``."""
    found = {}
    for name, (viewport, dpr) in PHONES.items():
        phone = Phone(browser, viewport, dpr)
        best = (0, "")
        for path in paths:
            for kind, image, body in phone.load(base + path, scroll=True):
                if kind == "image" and len(body) > best[0]:
                    best = (len(body), f"{path} → {image}")
        phone.close()
        found[name] = best
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=ROOT / "output", help="the built site")
    parser.add_argument("--limit", type=int, default=0,
                        help="measure only the first N story pages (default: all)")
    args = parser.parse_args(argv)
    if not (args.output / "index.html").is_file():
        sys.exit(f"{args.output}/index.html not found: build the site first (make html)")
    if not Path(CHROMIUM).is_file():
        sys.exit(f"{CHROMIUM} not found: apt-get install --no-install-recommends chromium")
    stories = sorted(p.parent.name for p in (args.output / "stories").glob("*/index.html"))
    if args.limit:
        stories = stories[:args.limit]
    paths = [f"/stories/{slug}/" for slug in stories]

    from playwright.sync_api import sync_playwright

    failed = []
    with serve(args.output) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        raw, packed, rows = wall_weight(browser, base)
        print(f"wall HTML+CSS+JS: {kb(packed)} gzipped ({kb(raw)} raw), "
              f"budget {kb(WALL_BUDGET)}")
        print("\n".join(rows), flush=True)
        if packed >= WALL_BUDGET:
            failed.append(f"wall HTML+CSS+JS {kb(packed)} gzipped >= {kb(WALL_BUDGET)}")
        print(f"largest image a phone loads on a story page ({len(paths)} pages), "
              f"budget {kb(IMAGE_BUDGET)}:")
        for name, (size, where) in largest_images(browser, base, paths).items():
            print(f"    {name:26} {kb(size):>9}  {where}", flush=True)
            if size >= IMAGE_BUDGET:
                failed.append(f"{name}: largest image {kb(size)} >= {kb(IMAGE_BUDGET)} ({where})")
        browser.close()
    for line in failed:
        print("FAIL " + line, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
