"""Benchmark: the Story Wall build next to plain Pelican on the same Markdown.

    python scripts/bench.py --n 1000 [--repeat 3] [--keep DIR]

Generates N deterministic stories (the same bodies for both sites), then times,
each in a fresh subprocess so that neither sees the other's Pelican signals:

- Story Wall: ``storywall.build.build`` (schema check → Pelican → output checks),
  cold (no caches) and warm (a second build over the same tree);
- plain Pelican: ``Pelican(read_settings(...)).run()`` with a quickstart-style
  configuration and the default theme, on the same bodies with Pelican metadata.

Reports seconds, pages written and time per page, and the ratio, from one run.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = ("water well village school meal river clean winter warm family child volunteer "
         "community gift month together morning teacher filter pump hope safe walk bread "
         "friends neighbour garden library laptop lesson kitchen coat boots mud bags").split()
INITIATIVES = ("clean-water", "school-meals", "river-cleanup", "winter-warmth")

RUNNER = {
    "storywall": textwrap.dedent("""
        import sys, time
        import pelican, pelican.generators, pelican.readers  # imports are not the build
        from storywall.build import build
        t = time.perf_counter()
        build(sys.argv[1])
        print(time.perf_counter() - t)
    """),
    "pelican": textwrap.dedent("""
        import sys, time, logging
        logging.disable(logging.WARNING)
        from pelican import Pelican
        import pelican.generators, pelican.readers
        from pelican.settings import read_settings
        t = time.perf_counter()
        Pelican(read_settings(sys.argv[1] + "/pelicanconf.py")).run()
        print(time.perf_counter() - t)
    """),
}


def paragraphs(rng: random.Random) -> str:
    paras = []
    for _ in range(rng.randint(2, 5)):
        words = [rng.choice(WORDS) for _ in range(rng.randint(25, 70))]
        words[0] = words[0].capitalize()
        paras.append(" ".join(words) + ".")
    return "\n\n".join(paras)


def story_records(n: int, seed: int = 2026):
    rng = random.Random(seed)
    for i in range(n):
        kind = "review" if i % 3 == 0 else "story"
        day = 1 + i % 28
        month = 1 + (i // 28) % 12
        yield {
            "slug": f"story-{i:05d}",
            "title": f"Story {i}: {rng.choice(WORDS)} and {rng.choice(WORDS)}",
            "kind": kind,
            "rating": rng.randint(3, 5) if kind == "review" else None,
            "author": f"Supporter {i}",
            "initiative": INITIATIVES[i % len(INITIATIVES)],
            "date": f"2026-{month:02d}-{day:02d}",
            "body": paragraphs(rng),
        }


CORE_PLUGINS = ["storywall.pelican.stories", "storywall.pelican.initiatives",
                "storywall.pelican.photos", "storywall.pelican.feeds"]
ALL_PLUGINS = CORE_PLUGINS[:3] + ["storywall.pelican.sharecards", "storywall.pelican.feeds"]


def write_storywall_site(root: Path, records, plugins=CORE_PLUGINS) -> None:
    (root / "content" / "initiatives").mkdir(parents=True)
    (root / "pelicanconf.py").write_text(textwrap.dedent(f"""
        SITENAME = "Bench"
        SITEURL = ""
        TIMEZONE = "UTC"
        PATH = "content"
        OUTPUT_PATH = "output"
        THEME = {str(ROOT / "theme")!r}
        PLUGINS = {plugins!r}
        STORYWALL = {{"figure_max_age_days": 100000}}
    """))
    for slug in INITIATIVES:
        (root / "content" / "initiatives" / f"{slug}.md").write_text(
            f"---\ntitle: {slug.replace('-', ' ').title()}\nsummary: About {slug}.\n"
            f"status: active\nfigures:\n  - label: People helped\n    value: 450\n"
            f"    unit: people\n    as_of: 2026-10-31\n    source: Annual report\n---\nBody.\n")
    for r in records:
        folder = root / "content" / "stories" / r["slug"]
        folder.mkdir(parents=True)
        rating = f"rating: {r['rating']}\n" if r["rating"] else ""
        (folder / "index.md").write_text(
            f"---\ntitle: \"{r['title']}\"\nkind: {r['kind']}\nauthor: {r['author']}\n"
            f"initiative: {r['initiative']}\ndate: {r['date']}\n{rating}"
            f"consent:\n  publish: true\n  photos: false\n  given_on: {r['date']}\n"
            f"source: form\nstatus: published\n---\n{r['body']}\n")


def write_pelican_site(root: Path, records) -> None:
    """Quickstart-style settings: feeds off, pagination on, the default theme."""
    (root / "content").mkdir(parents=True)
    (root / "pelicanconf.py").write_text(textwrap.dedent("""
        SITENAME = "Bench"
        SITEURL = ""
        TIMEZONE = "UTC"
        PATH = "content"
        OUTPUT_PATH = "output"
        FEED_ALL_ATOM = None
        CATEGORY_FEED_ATOM = None
        TRANSLATION_FEED_ATOM = None
        AUTHOR_FEED_ATOM = None
        AUTHOR_FEED_RSS = None
        DEFAULT_PAGINATION = 12
        RELATIVE_URLS = True
    """))
    for r in records:
        (root / "content" / f"{r['slug']}.md").write_text(
            f"Title: {r['title']}\nDate: {r['date']}\nAuthor: {r['author']}\n"
            f"Category: {r['initiative']}\nSlug: {r['slug']}\n\n{r['body']}\n")


def timed_build(kind: str, site: Path) -> float:
    result = subprocess.run([sys.executable, "-c", RUNNER[kind], str(site)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{kind} build failed:\n{result.stderr[-2000:]}")
    return float(result.stdout.strip().splitlines()[-1])


def pages_in(output: Path) -> int:
    return sum(1 for _ in output.rglob("*.html"))


def measure(kind: str, site: Path, repeat: int) -> dict:
    cold, warm = [], []
    for _ in range(repeat):
        shutil.rmtree(site / "output", ignore_errors=True)
        shutil.rmtree(site / ".cache", ignore_errors=True)
        shutil.rmtree(site / "cache", ignore_errors=True)
        cold.append(timed_build(kind, site))
        warm.append(timed_build(kind, site))
    pages = pages_in(site / "output")
    return {"cold_s": statistics.median(cold), "warm_s": statistics.median(warm),
            "pages": pages, "cold_ms_per_page": 1000 * statistics.median(cold) / pages,
            "warm_ms_per_page": 1000 * statistics.median(warm) / pages}


def run(n: int = 1000, repeat: int = 3, keep: Path | None = None, cards: bool = True) -> dict:
    base = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="storywall-bench-"))
    records = list(story_records(n))
    sw_site, pl_site, full_site = base / "storywall", base / "pelican", base / "storywall-cards"
    for path in (sw_site, pl_site, full_site):
        shutil.rmtree(path, ignore_errors=True)
    write_storywall_site(sw_site, records)
    write_pelican_site(pl_site, records)
    try:
        sw = measure("storywall", sw_site, repeat)
        pl = measure("pelican", pl_site, repeat)
        full = None
        if cards:  # share cards are drawn once per story, then cached: measured once
            write_storywall_site(full_site, records, ALL_PLUGINS)
            full = measure("storywall", full_site, 1)
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
    return {"n": n, "storywall": sw, "pelican": pl, "storywall+cards": full,
            "ratio_cold_per_page": sw["cold_ms_per_page"] / pl["cold_ms_per_page"],
            "ratio_cold_per_story": sw["cold_s"] / pl["cold_s"]}


def report(result: dict) -> str:
    lines = [f"Build benchmark: {result['n']} stories (median of runs)",
             f"{'':12}{'cold s':>9}{'warm s':>9}{'pages':>8}{'ms/page cold':>14}"
             f"{'ms/page warm':>14}"]
    for name in ("storywall", "pelican", "storywall+cards"):
        r = result.get(name)
        if not r:
            continue
        lines.append(f"{name:12}{r['cold_s']:9.2f}{r['warm_s']:9.2f}{r['pages']:8d}"
                     f"{r['cold_ms_per_page']:14.2f}{r['warm_ms_per_page']:14.2f}")
    lines.append("storywall: schema check, Pelican, feeds, sitemap, Pagefind index, output "
                 "checks; +cards: also a 1200x630 share card per story (cached after the first build)")
    lines.append(f"ratio (Story Wall / plain Pelican): {result['ratio_cold_per_page']:.2f}x per "
                 f"page, {result['ratio_cold_per_story']:.2f}x per story (goal: ≤ 1.5x per page)")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="number of stories")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement")
    parser.add_argument("--keep", type=Path, help="keep the generated sites in this folder")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--no-cards", action="store_true", help="skip the share-card run")
    args = parser.parse_args(argv)
    if args.n < 1 or args.repeat < 1:
        parser.error("--n and --repeat must be at least 1")
    result = run(args.n, args.repeat, args.keep, cards=not args.no_cards)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
