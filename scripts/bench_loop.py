"""Closing-the-loop commands at campaign size: invite a 10,000-gift export, report 10,000 people.

    .venv/bin/python scripts/bench_loop.py [--gifts 10000] [--repeats 3]

1. ``storywall invite FILE --dry-run DIR``: reads and checks the whole CSV,
   imports it into the private store inside a transaction that is rolled back,
   renders one invitation per gift (text + HTML e-mail, or a text message) and
   writes each to DIR. Seconds for the whole run, and per gift.
2. ``storywall journey --html --csv`` over a store of that many supporters with
   a realistic journey each (gave, invited; 40% submit, 75% of those published,
   …): seconds to read the events, compute the report, and write both files.

Everything runs on a throw-away site in a temporary folder; nothing is sent.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plugins"))

PUBLISHCONF = """import os, sys
sys.path.append(os.curdir)
from pelicanconf import *  # noqa
SITEURL = "https://stories.example.org"
RELATIVE_URLS = False
"""


def make_site(folder: Path) -> Path:
    site = folder / "site"
    (site / "content").mkdir(parents=True)
    shutil.copytree(ROOT / "content" / "initiatives", site / "content" / "initiatives")
    conf = (ROOT / "pelicanconf.py").read_text()
    conf = conf.replace('THEME = "theme"', f'THEME = {str(ROOT / "theme")!r}')
    conf = conf.replace('"organisation"', '"intake_url": "https://intake.example.org/submit", '
                        '"organisation"', 1)
    (site / "pelicanconf.py").write_text(conf)
    (site / "publishconf.py").write_text(PUBLISHCONF)
    return site


def write_export(path: Path, gifts: int, initiatives: list[str]) -> None:
    rng = random.Random(7)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["gift_id", "email", "phone", "first_name", "initiative", "date",
                         "contact_ok", "channel"])
        for n in range(gifts):
            sms = n % 10 == 0  # one in ten prefers a text message
            writer.writerow([f"G{n:06d}", "" if sms else f"giver{n}@example.net",
                             f"+4477009{n:05d}" if sms else "", f"Name{n}",
                             rng.choice(initiatives), f"2026-{rng.randint(1, 10):02d}-"
                             f"{rng.randint(1, 28):02d}", "no" if n % 7 == 0 else "yes",
                             "sms" if sms else ""])


def bench_invite(site: Path, export: Path, out: Path, repeats: int) -> tuple[list[float], int]:
    from storywall import invite

    times, written = [], 0
    for _ in range(repeats):
        shutil.rmtree(out, ignore_errors=True)
        start = time.perf_counter()
        result = invite.invite(site, export, dry_run=out)
        times.append(time.perf_counter() - start)
        written = len(result.report.written)
    return times, written


def fill_store(site: Path, people: int) -> None:
    """Journeys for ``people`` supporters, written through the store's own functions."""
    from storywall import supporters

    rng = random.Random(11)
    store = supporters.Supporters(site / "private")
    base = dt.datetime(2026, 1, 5, 9, tzinfo=dt.timezone.utc)
    with store.db() as con:
        for n in range(people):
            person = store.person_for(con, email=f"p{n}@example.net", name=f"P{n}")
            initiative = ("clean-water", "school-meals", "river-cleanup")[n % 3]
            gave = base + dt.timedelta(days=rng.randint(0, 280))
            steps = [("gave", gave)]
            steps.append(("invited", gave + dt.timedelta(days=1)))
            if rng.random() < 0.4:
                told = gave + dt.timedelta(days=rng.randint(2, 20))
                steps.append(("submitted", told))
                decided = told + dt.timedelta(hours=rng.randint(2, 200))
                if rng.random() < 0.75:
                    steps += [("approved", decided), ("told_live", decided + dt.timedelta(hours=3))]
                else:
                    steps.append(("rejected", decided))
            if rng.random() < 0.3:
                steps.append(("told_impact", gave + dt.timedelta(days=rng.randint(30, 90))))
            if rng.random() < 0.02:
                steps.append(("unsubscribed", gave + dt.timedelta(days=rng.randint(5, 60))))
            for kind, at in steps:
                supporters.event(con, person.id, kind, at=at.isoformat(), initiative=initiative,
                                 ref=f"S{n}" if kind in ("submitted", "approved", "rejected")
                                 else "", detail="off-topic" if kind == "rejected" else "")


def bench_journey(site: Path, folder: Path, repeats: int) -> list[float]:
    from storywall import journey

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        journey.journey(site, html=folder / "journey.html", csv_path=folder / "journey.csv")
        times.append(time.perf_counter() - start)
    return times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gifts", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    import logging

    logging.getLogger("pelican").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="storywall-bench-loop-") as tmp:
        tmp = Path(tmp)
        site = make_site(tmp)
        initiatives = sorted(p.stem for p in (site / "content" / "initiatives").glob("*.md"))
        export = tmp / "gifts.csv"
        write_export(export, args.gifts, initiatives)
        times, written = bench_invite(site, export, tmp / "preview", args.repeats)
        med = statistics.median(times)
        print(f"invite --dry-run, {args.gifts} gifts ({written} invitations written): "
              f"median {med:.2f} s ({med / args.gifts * 1000:.2f} ms/gift), "
              f"runs {', '.join(f'{t:.2f}' for t in times)} s")
        fill_store(site, args.gifts)
        times = bench_journey(site, tmp, args.repeats)
        med = statistics.median(times)
        size = (tmp / "journey.html").stat().st_size
        print(f"journey --html --csv, {args.gifts} supporters: median {med:.2f} s, "
              f"runs {', '.join(f'{t:.2f}' for t in times)} s (HTML {size / 1024:.1f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
