#!/usr/bin/env python3
"""Lighthouse (npm, 12.x) mobile scores for the wall and a story page of the built site.

Serves the built site (``output/``, made by ``make html``) on 127.0.0.1, runs
Lighthouse once per page with Debian's chromium (``CHROME_PATH``), prints the
four category scores, and exits 1 when a score is below its threshold:
accessibility, best practices and SEO 100, performance 95.

Performance on a small shared machine is noisy: Lighthouse's simulated
throttling multiplies whatever CPU time the page got, so a busy 2-core box
moves the score by 10+ points between identical runs (95, 85, 99 for the same
story page). It is therefore measured ``--runs`` times and the median is
reported, but only gated with ``--gate-performance`` (on a quiet machine).
The other three categories are deterministic and always gated.

Usage:  .venv/bin/python scripts/lighthouse.py [--output DIR] [--story SLUG] [--runs N]
                                               [--gate-performance]
Reports (JSON and HTML) go to build/lighthouse/.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROME_FLAGS = ("--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run "
                "--disable-background-networking --disable-component-update --disable-sync")
THRESHOLDS = {"performance": 95, "accessibility": 100, "best-practices": 100, "seo": 100}


class _Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """Serve ``directory`` on a free loopback port; yield ``http://127.0.0.1:PORT``."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def pick_story(output: Path) -> str:
    """A story page with photos (the heaviest kind), first by name."""
    pages = sorted((output / "stories").glob("*/index.html"))
    if not pages:
        sys.exit(f"{output}: no story pages — build the site first (make html)")
    for page in pages:
        if 'class="story-photo"' in page.read_text(encoding="utf-8"):
            return page.parent.name
    return pages[0].parent.name


def run_lighthouse(url: str, report: Path) -> dict[str, int]:
    """One Lighthouse run (mobile, the default); the four scores out of 100."""
    report.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    command = [str(LIGHTHOUSE), url, f"--chrome-flags={CHROME_FLAGS}",
               "--only-categories=performance,accessibility,best-practices,seo",
               "--output=json", "--output=html", f"--output-path={report}", "--quiet"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300,
                            check=False)
    data_path = report.with_name(report.name + ".report.json")
    if result.returncode != 0 or not data_path.is_file():
        sys.exit(f"lighthouse failed on {url}:\n{result.stderr[-2000:]}")
    data = json.loads(data_path.read_text(encoding="utf-8"))
    if data.get("runtimeError"):
        sys.exit(f"lighthouse: {url}: {data['runtimeError']}")
    scores = {}
    for key, category in data["categories"].items():
        scores[key] = None if category["score"] is None else round(category["score"] * 100)
    failing = [f"{audit['id']} ({audit['score']})" for audit in data["audits"].values()
               if audit.get("score") is not None and audit["score"] < 1
               and audit.get("scoreDisplayMode") in ("binary", "numeric", "metricSavings")
               and any(audit["id"] in {r["id"] for r in data["categories"][c]["auditRefs"]
                                       if r.get("weight")}
                       for c in ("accessibility", "best-practices", "seo"))]
    scores["_failing"] = failing
    metrics = data["audits"]
    scores["_metrics"] = {name: metrics[name]["displayValue"]
                          for name in ("first-contentful-paint", "largest-contentful-paint",
                                       "total-blocking-time", "cumulative-layout-shift",
                                       "speed-index") if name in metrics}
    return scores


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=ROOT / "output", help="the built site")
    parser.add_argument("--story", help="story slug (default: the first with photos)")
    parser.add_argument("--runs", type=int, default=3,
                        help="runs per page; the median performance is reported (default 3)")
    parser.add_argument("--gate-performance", action="store_true",
                        help="fail when the median performance is below 95 too (quiet machines)")
    parser.add_argument("--reports", type=Path, default=ROOT / "build" / "lighthouse")
    args = parser.parse_args(argv)

    if not LIGHTHOUSE.exists():
        sys.exit(f"{LIGHTHOUSE} not found: run `npm ci` (make lighthouse does)")
    if not Path(CHROMIUM).is_file():
        sys.exit(f"{CHROMIUM} not found: apt-get install --no-install-recommends chromium")
    if not (args.output / "index.html").is_file():
        sys.exit(f"{args.output}/index.html not found: build the site first (make html)")
    story = args.story or pick_story(args.output)
    pages = {"wall": "/", "story": f"/stories/{story}/"}
    shutil.rmtree(args.reports, ignore_errors=True)

    failed = []
    with serve(args.output) as base:
        for name, path in pages.items():
            runs = [run_lighthouse(base + path, args.reports / f"{name}-{i + 1}")
                    for i in range(args.runs)]
            perf = [r["performance"] for r in runs]
            scores = {key: min(r[key] for r in runs) for key in THRESHOLDS if key != "performance"}
            scores["performance"] = statistics.median(perf)
            shown = "  ".join(f"{key} {scores[key]:g}" for key in THRESHOLDS)
            note = "" if args.gate_performance else ", not gated"
            print(f"{name:6} {path}: {shown}   (performance runs: {perf}{note})")
            print(f"       {'  '.join(f'{k} {v}' for k, v in runs[0]['_metrics'].items())}")
            for key, minimum in THRESHOLDS.items():
                if key == "performance" and not args.gate_performance:
                    continue
                if scores[key] is None or scores[key] < minimum:
                    failing = sorted({a for r in runs for a in r["_failing"]})
                    failed.append(f"{name}: {key} {scores[key]} < {minimum}"
                                  + (f" — failing audits: {', '.join(failing)}"
                                     if key != "performance" and failing else ""))
    print(f"reports: {args.reports.relative_to(ROOT) if args.reports.is_relative_to(ROOT) else args.reports}/")
    for line in failed:
        print("FAIL " + line, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
