"""``storywall journey``: the supporter funnel, from the private store's journey events.

Counts are people, not messages: a supporter who gives twice is invited twice
but counted once. Each stage's rate is given against the stage before it and
against "invited". Times are per submission (told → decided) and per supporter
and initiative (first gift → first impact update); the 90th percentile is the
nearest-rank one (the value that 90% of cases do not exceed).

The report holds no contact details (``--html`` and the terminal show counts
only); ``--csv`` is the one export with them, one row per supporter, for the
organisation's CRM. Neither is ever written inside the published site.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import os
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from .errors import StoryWallError
from .supporters import Supporters

STAGES = (("invited", "Invited"), ("submitted", "Told a story"), ("approved", "Published"),
          ("told_live", "Told “live”"), ("told_impact", "Told impact"))
DAY = 86400.0


class JourneyError(StoryWallError):
    """The report cannot be made or written."""


@dataclass(frozen=True)
class Event:
    person: int
    kind: str
    at: dt.datetime
    initiative: str
    ref: str
    detail: str


@dataclass(frozen=True)
class Durations:
    count: int
    median_days: float | None
    p90_days: float | None

    def text(self) -> str:
        if not self.count:
            return "—"
        return (f"median {self.median_days:.1f} d, 90% within {self.p90_days:.1f} d "
                f"(n={self.count})")


@dataclass
class Report:
    since: dt.date | None
    funnel: dict[str, int]
    by_initiative: dict[str, dict[str, int]]
    by_month: dict[str, dict[str, int]]
    decision: Durations
    gift_to_impact: Durations
    rejections: dict[str, int]
    rejected: int = 0
    unsubscribed: int = 0
    supporters: int = 0
    titles: dict[str, str] = field(default_factory=dict)

    def rate(self, counts: dict[str, int], stage: str, base: str | None = None) -> float | None:
        """counts[stage] / counts[base] (default: the stage before)."""
        names = [s for s, _ in STAGES]
        base = base or (names[names.index(stage) - 1] if names.index(stage) else None)
        if base is None or not counts.get(base):
            return None
        return counts.get(stage, 0) / counts[base]


def _parse(at: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(at)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def load_events(store: Supporters) -> list[Event]:
    if not store.path.is_file():
        return []
    with store.read() as con:
        rows = con.execute("SELECT person_id, kind, at, initiative, ref, detail FROM events "
                           "ORDER BY at, seq").fetchall()
    return [Event(p, k, _parse(a), i, r, d) for p, k, a, i, r, d in rows]


def nearest_rank(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def durations(seconds: list[float]) -> Durations:
    if not seconds:
        return Durations(0, None, None)
    days = [s / DAY for s in seconds]
    return Durations(len(days), statistics.median(days), nearest_rank(days, 0.9))


def _people(events, kind: str) -> set[int]:
    return {e.person for e in events if e.kind == kind}


def _counts(events) -> dict[str, int]:
    return {stage: len(_people(events, stage)) for stage, _ in STAGES}


def decision_times(events: list[Event]) -> list[float]:
    submitted = {(e.person, e.ref): e.at for e in events if e.kind == "submitted"}
    times = []
    for e in events:
        if e.kind in ("approved", "rejected") and (e.person, e.ref) in submitted:
            times.append((e.at - submitted[(e.person, e.ref)]).total_seconds())
    return times


def gift_to_impact_times(events: list[Event]) -> list[float]:
    first_gift: dict[tuple[int, str], dt.datetime] = {}
    first_told: dict[tuple[int, str], dt.datetime] = {}
    for e in events:
        key = (e.person, e.initiative)
        if e.kind == "gave":
            first_gift[key] = min(first_gift.get(key, e.at), e.at)
        elif e.kind == "told_impact":
            first_told[key] = min(first_told.get(key, e.at), e.at)
    return [(first_told[k] - first_gift[k]).total_seconds() for k in first_told
            if k in first_gift and first_told[k] >= first_gift[k]]


def build_report(events: list[Event], since: dt.date | None = None,
                 titles: dict[str, str] | None = None) -> Report:
    if since:
        events = [e for e in events if e.at.date() >= since]
    initiatives = sorted({e.initiative for e in events if e.initiative})
    months: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        months[f"{e.at:%Y-%m}"].append(e)
    rejections: dict[str, int] = defaultdict(int)
    for e in events:
        if e.kind == "rejected":
            rejections[e.detail or "unknown"] += 1
    return Report(
        since=since, funnel=_counts(events),
        by_initiative={i: _counts([e for e in events if e.initiative == i]) for i in initiatives},
        by_month={m: _counts(months[m]) for m in sorted(months)},
        decision=durations(decision_times(events)),
        gift_to_impact=durations(gift_to_impact_times(events)),
        rejections=dict(sorted(rejections.items(), key=lambda kv: (-kv[1], kv[0]))),
        rejected=len(_people(events, "rejected")), unsubscribed=len(_people(events, "unsubscribed")),
        supporters=len({e.person for e in events}), titles=dict(titles or {}))


# -- terminal ------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_text(report: Report) -> str:
    head = f"Supporter journey{f' since {report.since}' if report.since else ''}: " \
           f"{report.supporters} supporter(s)"
    rows = [["stage", "people", "of previous", "of invited"]]
    for stage, label in STAGES:
        rows.append([label, str(report.funnel[stage]), _pct(report.rate(report.funnel, stage)),
                     _pct(report.rate(report.funnel, stage, "invited"))])
    per = [["initiative"] + [label for _, label in STAGES]]
    for slug, counts in report.by_initiative.items():
        per.append([report.titles.get(slug, slug)] + [str(counts[s]) for s, _ in STAGES])
    month = [["month"] + [label for _, label in STAGES]]
    for m, counts in report.by_month.items():
        month.append([m] + [str(counts[s]) for s, _ in STAGES])
    reasons = ", ".join(f"{code} {n} ({n / sum(report.rejections.values()) * 100:.0f}%)"
                        for code, n in report.rejections.items()) or "none"
    return "\n\n".join([
        head, _table(rows),
        f"Rejected: {report.rejected}; unsubscribed: {report.unsubscribed}",
        f"Submission → decision: {report.decision.text()}\n"
        f"Gift → impact update: {report.gift_to_impact.text()}",
        f"Rejections by reason: {reasons}",
        *([_table(per)] if len(per) > 1 else []),
        *([_table(month)] if len(month) > 1 else [])]) + "\n"


# -- CSV: one row per supporter --------------------------------------------------------------

CSV_COLUMNS = ("supporter", "first_name", "email", "phone", "channel", "unsubscribed_on",
               "gifts", "first_gift_on", "initiatives", "invited_on", "submitted_on",
               "published_on", "rejected_on", "told_live_on", "told_impact_on", "timeline")


def supporter_rows(store: Supporters, events: list[Event]) -> list[dict]:
    with store.read() as con:
        people = con.execute("SELECT id, name, email, phone, channel, unsubscribed_at FROM people "
                             "ORDER BY id").fetchall()
        gifts = dict(con.execute("SELECT person_id, COUNT(*) FROM gifts GROUP BY person_id"))
    timeline: dict[int, list[Event]] = defaultdict(list)
    for e in events:
        timeline[e.person].append(e)

    def first(person: int, kind: str) -> str:
        dates = [e.at.date().isoformat() for e in timeline[person] if e.kind == kind]
        return dates[0] if dates else ""

    rows = []
    for pid, name, email, phone, channel, unsub in people:
        steps = timeline[pid]
        rows.append({
            "supporter": pid, "first_name": name, "email": email or "", "phone": phone or "",
            "channel": channel, "unsubscribed_on": (unsub or "")[:10], "gifts": gifts.get(pid, 0),
            "first_gift_on": first(pid, "gave"),
            "initiatives": " ".join(sorted({e.initiative for e in steps if e.initiative})),
            "invited_on": first(pid, "invited"), "submitted_on": first(pid, "submitted"),
            "published_on": first(pid, "approved"), "rejected_on": first(pid, "rejected"),
            "told_live_on": first(pid, "told_live"), "told_impact_on": first(pid, "told_impact"),
            "timeline": "; ".join(f"{e.at.date().isoformat()} {e.kind}"
                                  + (f" {e.initiative}" if e.initiative else "") for e in steps),
        })
    return rows


def _formula_safe(value) -> str:
    """A CRM opens this in a spreadsheet: a cell starting with =, +, - or @ is a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_csv(path: Path, rows: list[dict]) -> None:
    _atomic_write(path, lambda fh: _csv(fh, rows), newline="")


def _csv(fh, rows):
    writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (v if k in ("supporter", "gifts", "phone") else _formula_safe(v))
                         for k, v in row.items()})


# -- HTML: a self-contained private report ----------------------------------------------------

BAR_W, BAR_H, LABEL_W = 360, 30, 104


def funnel_svg(report: Report) -> str:
    top = max(report.funnel.values()) or 1
    height = BAR_H * len(STAGES) + 8
    bars = []
    for n, (stage, label) in enumerate(STAGES):
        count = report.funnel[stage]
        width = round((BAR_W - LABEL_W - 60) * count / top, 1)
        y = 4 + n * BAR_H
        bars.append(f'<text x="0" y="{y + 20}">{escape(label)}</text>'
                    f'<rect x="{LABEL_W}" y="{y + 4}" width="{max(width, 1)}" height="{BAR_H - 10}"'
                    f' rx="3"/><text x="{LABEL_W + width + 6}" y="{y + 20}" class="n">{count}'
                    f'</text>')
    summary = "; ".join(f"{label}: {report.funnel[stage]}" for stage, label in STAGES)
    return (f'<svg viewBox="0 0 {BAR_W} {height}" role="img" aria-label="{escape(summary)}" '
            f'xmlns="http://www.w3.org/2000/svg" class="funnel">{"".join(bars)}</svg>')


def months_svg(report: Report) -> str:
    months = list(report.by_month)
    if not months:
        return ""
    width, height, pad = 360, 150, 20
    top = max(max(c.values()) for c in report.by_month.values()) or 1
    group = (width - pad) / len(months)
    bar = max(2.0, group / (len(STAGES) + 1))
    parts = []
    for i, month in enumerate(months):
        x0 = pad + i * group
        for j, (stage, _) in enumerate(STAGES):
            h = round((height - 2 * pad) * report.by_month[month][stage] / top, 1)
            parts.append(f'<rect class="s{j}" x="{round(x0 + j * bar, 1)}" '
                         f'y="{round(height - pad - h, 1)}" width="{round(bar - 1, 1)}" '
                         f'height="{max(h, 0.5)}"/>')
        parts.append(f'<text x="{round(x0, 1)}" y="{height - 6}">{escape(month)}</text>')
    return (f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="Each stage per month; '
            f'the table below has the numbers" xmlns="http://www.w3.org/2000/svg" '
            f'class="months">{"".join(parts)}</svg>')


CSS = """
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2a2e;
background:#f6f3ee}main{max-width:760px;margin:0 auto;padding:16px;background:#fff}
h1{font-size:1.5rem;margin:.2em 0}h2{font-size:1.15rem;margin-top:1.6em}
.note{color:#555;font-size:.9rem}.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.95rem}th,td{padding:.35em .5em;
border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}th:first-child,
td:first-child{text-align:left}svg{width:100%;max-width:560px;height:auto;font-size:13px}
.funnel rect{fill:#1d5c63}.funnel .n{font-weight:700}.months text{font-size:11px}
.s0{fill:#9ec5c9}.s1{fill:#5a9aa1}.s2{fill:#1d5c63}.s3{fill:#c98a2b}.s4{fill:#7a4f12}
.keys span{display:inline-block;margin-right:1em}.keys i{display:inline-block;width:.8em;
height:.8em;margin-right:.3em;vertical-align:-.05em}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dt{font-weight:600}
@media (max-width:480px){dl{display:block}dd{margin:0 0 .6em}}
"""

KEY_COLOURS = ("#9ec5c9", "#5a9aa1", "#1d5c63", "#c98a2b", "#7a4f12")


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th scope=\"col\">{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(
        (f'<th scope="row">{escape(c)}</th>' if i == 0 else f"<td>{escape(c)}</td>")
        for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></div>'


def render_html(report: Report, organisation: str, generated: dt.datetime) -> str:
    funnel_rows = [[label, str(report.funnel[s]), _pct(report.rate(report.funnel, s)),
                    _pct(report.rate(report.funnel, s, "invited"))] for s, label in STAGES]
    per = [[report.titles.get(slug, slug)] + [str(c[s]) for s, _ in STAGES]
           for slug, c in report.by_initiative.items()]
    month = [[m] + [str(c[s]) for s, _ in STAGES] for m, c in report.by_month.items()]
    total = sum(report.rejections.values())
    reasons = [[code, str(n), _pct(n / total)] for code, n in report.rejections.items()]
    keys = "".join(f'<span><i style="background:{colour}"></i>{escape(label)}</span>'
                   for colour, (_, label) in zip(KEY_COLOURS, STAGES))
    since = f" since {report.since.isoformat()}" if report.since else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>Supporter journey — {escape(organisation)}</title>
<style>{CSS}</style></head>
<body><main>
<h1>Supporter journey{escape(since)}</h1>
<p class="note">{escape(organisation)} · {report.supporters} supporter(s) · made
{generated:%d %B %Y %H:%M} UTC · private: counts only, no contact details.</p>
<h2>The funnel</h2>
{funnel_svg(report)}
{_html_table(["Stage", "People", "Of previous", "Of invited"], funnel_rows)}
<p>Rejected: {report.rejected} · unsubscribed: {report.unsubscribed}</p>
<h2>How long it takes</h2>
<dl><dt>Submission → decision</dt><dd>{escape(report.decision.text())}</dd>
<dt>Gift → impact update</dt><dd>{escape(report.gift_to_impact.text())}</dd></dl>
<h2>Rejections by reason</h2>
{_html_table(["Reason", "Count", "Share"], reasons) if reasons else "<p>None.</p>"}
<h2>Per initiative</h2>
{_html_table(["Initiative"] + [l for _, l in STAGES], per) if per else "<p>No events yet.</p>"}
<h2>Per month</h2>
{months_svg(report)}
<p class="keys">{keys}</p>
{_html_table(["Month"] + [l for _, l in STAGES], month) if month else ""}
</main></body></html>
"""


# -- writing, never into the site ------------------------------------------------------------


def refuse_public(path: Path, site_dir: Path, public: list[Path]) -> None:
    """A report is private: never inside output/, content/ or submissions/."""
    target = Path(os.path.abspath(path))
    for folder in public:
        folder = Path(os.path.abspath(folder))
        if target == folder or folder in target.parents:
            rel = os.path.relpath(folder, site_dir)
            raise JourneyError(f"{path}: is inside {rel}/ — the report is private; write it "
                               "outside the site's published and committed folders")


def _atomic_write(path: Path, write, newline=None) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline=newline) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise JourneyError(f"{path}: cannot write ({err.strerror or err})") from err


def write_html(path: Path, html: str) -> None:
    _atomic_write(path, lambda fh: fh.write(html))


def journey(site_dir: Path, *, since: dt.date | None = None, html: Path | None = None,
            csv_path: Path | None = None) -> Report:
    from . import content, supporters
    from . import settings as sw_settings
    from .build import read_pelican_settings

    site_dir = Path(site_dir)
    pelican = read_pelican_settings(site_dir, quiet=True)
    public = [Path(pelican["OUTPUT_PATH"]), Path(pelican["PATH"]), site_dir / "submissions"]
    for target in (html, csv_path):
        if target is not None:
            refuse_public(target, site_dir, public)
    store = Supporters(supporters.private_dir(site_dir))
    events = load_events(store)
    initiatives, _ = content.load_initiatives(Path(pelican["PATH"]), site_dir)
    report = build_report(events, since, {s: i.title for s, i in initiatives.items()})
    if html is not None:
        sw = sw_settings.load(pelican.get("STORYWALL"))
        write_html(html, render_html(report, sw.organisation or pelican.get("SITENAME", ""),
                                     dt.datetime.now(dt.timezone.utc)))
    if csv_path is not None:
        rows = supporter_rows(store, events if since is None
                              else [e for e in events if e.at.date() >= since])
        write_csv(csv_path, rows)
    return report
