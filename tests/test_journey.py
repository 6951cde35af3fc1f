"""storywall journey: a scripted season of gifts, stories and messages gives exact figures."""

from __future__ import annotations

import csv
import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

import mailkit
from storywall import journey as core
from storywall import supporters
from storywall.cli import cli
from test_invite import gift, write_csv

UTC = dt.timezone.utc
START = dt.datetime(2026, 9, 5, 10, 0, tzinfo=UTC)  # the eight stories arrive


class Clock:
    def __init__(self, monkeypatch):
        self.now = dt.datetime(2026, 9, 2, 9, 0, tzinfo=UTC)
        monkeypatch.setattr(supporters, "utcnow", lambda: self.now)

    def set(self, when: dt.datetime) -> None:
        self.now = when


def token_of(inbox, address: str) -> str:
    text, _ = mailkit.parts(inbox.to(address)[0])
    link = next(w for w in text.split() if "invite=" in w)
    return parse_qs(urlsplit(link).query)["invite"][0]


@pytest.fixture
def season(loop, smtp, tmp_path, monkeypatch):
    """20 invited, 8 tell a story, 6 published, 2 rejected, 5 told live, 3 told impact,
    1 unsubscribes — every step through the real commands, on a controlled clock."""
    inbox, port = smtp
    clock = Clock(monkeypatch)
    loop.site.add_initiative("parks", title="Green parks", summary="Trees for the town.",
                             figures=[{"label": "Trees planted", "value": 40, "unit": "trees",
                                       "as_of": "2026-06-30", "source": "Count, June 2026"}])
    rows = [gift(n, date="2026-09-01", initiative="water" if n <= 17 else "parks")
            for n in range(1, 21)]
    loop.invite(write_csv(tmp_path / "gifts.csv", rows), port)

    for i in range(8):
        clock.set(START)
        address = f"giver{i + 1}@example.net"
        contact = {} if i == 5 else {"email": address, "consent_contact": "yes"}
        sub_id = loop.submit(title=f"Why I gave, number {i + 1}",
                             invite=token_of(inbox, address), **contact)
        clock.set(START + dt.timedelta(days=i + 1))
        if i < 6:
            loop.approve(sub_id)
        else:
            loop.reject(sub_id, ("personal-data", "off-topic")[i - 6])

    loop.build()
    clock.set(dt.datetime(2026, 9, 20, 8, 0, tzinfo=UTC))
    assert loop.notify(port).sent == 5 + 2  # live, and the two rejections

    clock.set(dt.datetime(2026, 9, 25, 12, 0, tzinfo=UTC))
    unsubscribe = inbox.to("giver10@example.net")[0]["List-Unsubscribe"].strip().strip("<>")
    assert loop.client.post(urlsplit(unsubscribe).path).status_code == 200

    path = loop.site.content / "initiatives" / "parks.md"
    text = path.read_text()
    path.write_text(text.replace("figures:\n", "figures:\n- label: Trees planted\n  value: 95\n"
                                 "  unit: trees\n  as_of: 2026-10-10\n  source: Count\n", 1))
    loop.build()
    clock.set(dt.datetime(2026, 10, 15, 10, 0, tzinfo=UTC))
    assert loop.notify(port).sent == 3
    return loop


def test_the_funnel_counts_rates_and_times_of_a_scripted_season(season):
    report = core.journey(season.site.root)
    assert report.funnel == {"invited": 20, "submitted": 8, "approved": 6, "told_live": 5,
                             "told_impact": 3}
    assert (report.rejected, report.unsubscribed, report.supporters) == (2, 1, 20)
    assert report.rate(report.funnel, "submitted") == 8 / 20
    assert report.rate(report.funnel, "approved") == 6 / 8
    assert report.rate(report.funnel, "told_live") == 5 / 6
    assert report.rate(report.funnel, "told_impact", "invited") == 3 / 20
    assert report.decision == core.Durations(8, 4.5, 8.0)  # 1, 2, … 8 days
    gift_to_impact = (dt.datetime(2026, 10, 15, 10, tzinfo=UTC)
                      - dt.datetime(2026, 9, 1, tzinfo=UTC)).total_seconds() / core.DAY
    assert report.gift_to_impact == core.Durations(3, gift_to_impact, gift_to_impact)
    assert report.rejections == {"off-topic": 1, "personal-data": 1}
    assert report.by_initiative == {
        "parks": {"invited": 3, "submitted": 0, "approved": 0, "told_live": 0, "told_impact": 3},
        "water": {"invited": 17, "submitted": 8, "approved": 6, "told_live": 5, "told_impact": 0}}
    assert report.by_month == {
        "2026-09": {"invited": 20, "submitted": 8, "approved": 6, "told_live": 5, "told_impact": 0},
        "2026-10": {"invited": 0, "submitted": 0, "approved": 0, "told_live": 0, "told_impact": 3}}


def test_terminal_table_shows_the_same_figures(season):
    r = CliRunner().invoke(cli, ["--site", str(season.site.root), "journey"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert "Supporter journey: 20 supporter(s)" in lines[0]
    assert any(line.split() == ["Invited", "20", "—", "100%"] for line in lines)
    assert any(line.split() == ["Told", "a", "story", "8", "40%", "40%"] for line in lines)
    assert any(line.split() == ["Published", "6", "75%", "30%"] for line in lines)
    assert any(line.split() == ["Told", "“live”", "5", "83%", "25%"] for line in lines)
    assert any(line.split() == ["Told", "impact", "3", "60%", "15%"] for line in lines)
    assert "Submission → decision: median 4.5 d, 90% within 8.0 d (n=8)" in r.output
    assert "Gift → impact update: median 44.4 d, 90% within 44.4 d (n=3)" in r.output
    assert "Rejections by reason: off-topic 1 (50%), personal-data 1 (50%)" in r.output
    assert "Rejected: 2; unsubscribed: 1" in r.output
    assert any(line.split() == ["Green", "parks", "3", "0", "0", "0", "3"] for line in lines)


def test_since_counts_only_what_happened_from_that_day(season):
    report = core.journey(season.site.root, since=dt.date(2026, 10, 1))
    assert report.funnel == {"invited": 0, "submitted": 0, "approved": 0, "told_live": 0,
                             "told_impact": 3}
    assert report.decision.count == 0


def test_csv_has_one_row_per_supporter_with_their_timeline(season, tmp_path):
    out = tmp_path / "crm.csv"
    r = CliRunner().invoke(cli, ["--site", str(season.site.root), "journey", "--csv", str(out)])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(out.open(newline="", encoding="utf-8")))
    assert len(rows) == 20 and len({row["email"] for row in rows}) == 20
    first = next(row for row in rows if row["email"] == "giver1@example.net")
    assert (first["first_gift_on"], first["invited_on"], first["submitted_on"],
            first["published_on"], first["told_live_on"]) == (
        "2026-09-01", "2026-09-02", "2026-09-05", "2026-09-06", "2026-09-20")
    assert first["timeline"].startswith("2026-09-01 gave water; 2026-09-02 invited water; "
                                        "2026-09-05 submitted water")
    gone = next(row for row in rows if row["email"] == "giver10@example.net")
    assert gone["unsubscribed_on"] == "2026-09-25"
    told = [row["email"] for row in rows if row["told_impact_on"] == "2026-10-15"]
    assert sorted(told) == ["giver18@example.net", "giver19@example.net", "giver20@example.net"]


def test_html_report_is_self_contained_and_holds_no_contact_details(season, tmp_path):
    out = tmp_path / "journey.html"
    core.journey(season.site.root, html=out)
    html = out.read_text()
    assert "@example.net" not in html and "<script" not in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html and 'rel="stylesheet"' not in html
    assert html.count("<svg") == 2 and 'aria-label="Invited: 20; Told a story: 8' in html
    assert "<td>40%</td>" in html and "median 4.5 d" in html and "noindex" in html


@pytest.mark.parametrize("folder", ["output", "content", "submissions"])
def test_reports_are_never_written_into_the_site(loop, folder, tmp_path):
    target = loop.site.root / folder / "report.html"
    for option in ("--html", "--csv"):
        r = CliRunner().invoke(cli, ["--site", str(loop.site.root), "journey", option,
                                     str(target)])
        assert r.exit_code == 1 and f"is inside {folder}/" in r.output
    assert not target.exists()


def test_an_empty_store_gives_an_empty_report(loop):
    r = CliRunner().invoke(cli, ["--site", str(loop.site.root), "journey"])
    assert r.exit_code == 0 and "0 supporter(s)" in r.output


def test_nearest_rank_percentile():
    assert core.nearest_rank([5, 1, 3, 2, 4], 0.9) == 5
    assert core.nearest_rank(list(range(1, 11)), 0.9) == 9
    assert core.nearest_rank([7], 0.9) == 7
