"""storywall invite: one invitation per eligible gift, by e-mail (aiosmtpd) or text (stand-in)."""

from __future__ import annotations

import csv
import logging
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

import mailkit
import smskit
from loopkit import SITE_URL
from storywall.cli import cli
from storywall.invite import InviteError

HEADER = ["gift_id", "email", "phone", "first_name", "initiative", "date", "contact_ok",
          "channel"]


def write_csv(path: Path, rows: list[dict], header=HEADER, encoding="utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as fh:
        writer = csv.DictWriter(fh, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def gift(n: int, **values) -> dict:
    row = {"gift_id": f"G{n:02d}", "email": f"giver{n}@example.net", "phone": "",
           "first_name": f"Name{n}", "initiative": "water", "date": "2026-10-01",
           "contact_ok": "yes", "channel": ""}
    row.update(values)
    return row


def twenty_gifts() -> list[dict]:
    rows = [gift(n) for n in range(1, 11)]  # G01–G10: e-mail, contact yes
    rows.append(gift(11, email="GIVER1@Example.NET"))  # the giver of G01 gives again
    rows += [gift(n, email="", phone=f"+44 7700 9001{n:02d}", channel="sms")
             for n in (12, 13, 14)]  # texts only
    rows.append(gift(15, phone="07700 900115", channel="text"))  # both; prefers texts
    rows += [gift(n, contact_ok=v) for n, v in ((16, "no"), (17, "0"), (18, ""))]
    rows.append(gift(19, email="gone@example.net"))  # unsubscribed before
    rows.append(gift(20, email="", phone=""))  # anonymous
    return rows


@pytest.fixture
def inviting(loop, sms):
    gateway, url = sms
    loop.env = smskit.sms_env(url)
    loop.configure(phone_country_code="44")
    return loop, gateway


def count_rows(loop) -> dict:
    db = loop.private / "intake.sqlite3"
    if not db.exists():
        return {}
    con = sqlite3.connect(db)
    try:
        return {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("people", "gifts", "events", "outbox")}
    finally:
        con.close()


def unsubscribe_first(loop, port, tmp_path, inbox):
    """gone@example.net gave before, was invited, and unsubscribed."""
    loop.invite(write_csv(tmp_path / "old.csv", [gift(0, email="gone@example.net")]), port)
    url = inbox.to("gone@example.net")[0]["List-Unsubscribe"].strip().strip("<>")
    assert loop.client.post(urlsplit(url).path).status_code == 200
    inbox.received.clear()


def test_twenty_gifts_send_exactly_one_invitation_per_eligible_gift(inviting, smtp, tmp_path):
    loop, gateway = inviting
    inbox, port = smtp
    unsubscribe_first(loop, port, tmp_path, inbox)

    result = loop.invite(write_csv(tmp_path / "gifts.csv", twenty_gifts()), port)

    emails = [f"giver{n}@example.net" for n in range(1, 11)] + ["giver1@example.net"]
    assert inbox.recipients() == sorted(emails)  # G01 and G11: two gifts, two thank-yous
    assert sorted(to for to, _ in gateway.sent) == sorted(
        ["+447700900112", "+447700900113", "+447700900114", "+447700900115"])
    assert (result.gifts, result.anonymous, result.report.sent) == (19, 1, 15)
    assert all(len(body) <= 160 for _, body in gateway.sent)
    people = sqlite3.connect(loop.private / "intake.sqlite3").execute(
        "SELECT COUNT(*) FROM people").fetchone()[0]
    assert people == 18  # 19 gifts with contact details; G11 is G01's giver; G19 is G00's

    again = loop.invite(tmp_path / "gifts.csv", port)
    assert (again.gifts, again.known, again.report.sent) == (0, 19, 0)
    assert len(inbox.received) == 11 and len(gateway.sent) == 4


def test_invitation_links_preselect_the_initiative_and_carry_a_personal_token(inviting, smtp,
                                                                               tmp_path):
    loop, gateway = inviting
    inbox, port = smtp
    loop.invite(write_csv(tmp_path / "g.csv", [gift(1), gift(2, email="", phone="+447700900002")]),
                port)
    text, html = mailkit.parts(inbox.to("giver1@example.net")[0])
    link = next(w for w in text.split() if w.startswith(f"{SITE_URL}/share/"))
    query = parse_qs(urlsplit(link).query)
    assert query["initiative"] == ["water"] and len(query["invite"][0]) >= 16
    assert f'href="{link.replace("&", "&amp;")}"' in html
    assert "Dear Name1" in text and "Clean water" in text
    body = gateway.bodies("+447700900002")[0]
    assert f"{SITE_URL}/share/?initiative=water&invite=" in body and len(body) <= 160
    tokens = {parse_qs(urlsplit(w).query)["invite"][0] for w in (link, body.split()[-1])}
    assert len(tokens) == 2  # one per gift


def test_a_submission_through_an_invitation_is_linked_to_its_supporter(inviting, smtp, tmp_path):
    loop, _ = inviting
    inbox, port = smtp
    loop.invite(write_csv(tmp_path / "g.csv", [gift(1, first_name="Ana")]), port)
    text, _ = mailkit.parts(inbox.to("giver1@example.net")[0])
    token = parse_qs(urlsplit(next(w for w in text.split() if "invite=" in w)).query)["invite"][0]

    sub_id = loop.submit(invite=token)  # no address given on the form: the token says who
    by_email = loop.submit(title="Second one", email="GIVER1@example.net", consent_contact="yes")

    con = sqlite3.connect(loop.private / "intake.sqlite3")
    linked = dict(con.execute("SELECT submission_id, person_id FROM links"))
    (person,) = con.execute("SELECT id FROM people WHERE email = 'giver1@example.net'").fetchone()
    assert linked == {sub_id: person, by_email: person}
    kinds = [k for (k,) in con.execute("SELECT kind FROM events WHERE person_id = ? ORDER BY seq",
                                       (person,))]
    assert kinds == ["gave", "invited", "submitted", "submitted"]


def test_the_intake_form_page_keeps_the_invitation_without_javascript(inviting, smtp, tmp_path):
    loop, _ = inviting
    token = "A" * 22
    page = loop.client.get(f"/submit?initiative=water&invite={token}").data.decode()
    assert f'name="invite" id="field-invite" value="{token}"' in page
    assert 'value="water" selected' in page
    bogus = loop.client.get("/submit?invite=%3Cscript%3E").data.decode()
    assert 'id="field-invite" value=""' in bogus


@pytest.mark.parametrize("rows, header, message", [
    ([gift(1)], [h for h in HEADER if h != "initiative"],
     "gifts.csv:1: header: no column 'initiative' — add it, or name your column in "
     "STORYWALL['gift_columns']"),
    ([gift(1), gift(2, initiative="moon-base")], HEADER,
     "gifts.csv:3: row 2, column 'initiative': 'moon-base' is not an initiative — use one of: "
     "parks, water"),
    ([gift(1, email="ana@@example")], HEADER,
     "gifts.csv:2: row 1, column 'email': 'ana@@example' is not an e-mail address"),
    ([gift(1, phone="call me")], HEADER,
     "gifts.csv:2: row 1, column 'phone': 'call me' is not a phone number"),
    ([gift(1, date="01/10/2026")], HEADER,
     "gifts.csv:2: row 1, column 'date': '01/10/2026' is not a date — write it as YYYY-MM-DD"),
    ([gift(1, contact_ok="maybe")], HEADER,
     "gifts.csv:2: row 1, column 'contact_ok': 'maybe' is not yes or no"),
    ([gift(1), gift(1)], HEADER,
     "gifts.csv:3: row 2, column 'gift_id': 'G01' is also on row 1"),
])
def test_bad_rows_are_one_line_each_and_nothing_is_imported(inviting, smtp, tmp_path, rows,
                                                            header, message):
    loop, _ = inviting
    inbox, port = smtp
    good = [gift(n) for n in range(30, 35)]
    path = write_csv(tmp_path / "gifts.csv", good + rows if header == HEADER else rows, header)
    if header == HEADER:  # the bad row is after five good ones: line numbers move by five
        message = message.replace("gifts.csv:3: row 2", "gifts.csv:8: row 7").replace(
            "gifts.csv:2: row 1", "gifts.csv:7: row 6").replace("on row 1", "on row 6")
    before = count_rows(loop)
    r = CliRunner().invoke(cli, ["--site", str(loop.site.root), "invite", str(path)],
                           env={**mailkit.smtp_env(port), **loop.env})
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert str(path.parent / message.split(":")[0]) + message[len("gifts.csv"):] in r.output
    assert count_rows(loop) == before and inbox.received == []


def test_a_file_that_is_not_utf8_names_the_line(inviting, smtp, tmp_path):
    loop, _ = inviting
    _, port = smtp
    path = write_csv(tmp_path / "gifts.csv", [gift(1), gift(2, first_name="Zoë")],
                     encoding="latin-1")
    with pytest.raises(InviteError, match=r"gifts.csv:3: not UTF-8 \(byte 0xeb\) — export"):
        loop.invite(path, port)
    assert count_rows(loop) in ({}, {"people": 0, "gifts": 0, "events": 0, "outbox": 0})


def test_renamed_columns_from_the_settings(inviting, smtp, tmp_path):
    loop, _ = inviting
    inbox, port = smtp
    loop.configure(gift_columns={"email": "Email Address", "gift_id": "Donation ID"})
    header = ["Donation ID", "Email Address", "first_name", "initiative", "date", "contact_ok"]
    row = {"Donation ID": "D1", "Email Address": "ana@example.net", "first_name": "Ana",
           "initiative": "parks", "date": "2026-11-02", "contact_ok": "TRUE"}
    loop.invite(write_csv(tmp_path / "export.csv", [row], header), port)
    assert inbox.recipients() == ["ana@example.net"]
    text, _ = mailkit.parts(inbox.received[0][1])
    assert "Green parks" in text and "initiative=parks" in text


def test_dry_run_writes_the_messages_and_imports_nothing(inviting, smtp, tmp_path):
    loop, gateway = inviting
    inbox, port = smtp
    path = write_csv(tmp_path / "gifts.csv", [gift(1), gift(2, email="", phone="+447700900002")])
    result = loop.invite(path, port, dry_run=tmp_path / "preview")
    assert sorted(p.name for p in (tmp_path / "preview").iterdir()) == ["0001-invite.eml",
                                                                        "0002-invite.txt"]
    assert "+447700900002" in (tmp_path / "preview" / "0002-invite.txt").read_text()
    assert result.summary(True).startswith("Would import 2 new gift(s)")
    assert inbox.received == [] and gateway.sent == []
    assert count_rows(loop).get("gifts", 0) == 0
    assert loop.invite(path, port).report.sent == 2


def test_gateway_failure_mid_batch_resumes_without_duplicates(inviting, smtp, tmp_path):
    loop, gateway = inviting
    _, port = smtp
    rows = [gift(n, email="", phone=f"+4477009001{n:02d}") for n in range(1, 6)]
    path = write_csv(tmp_path / "gifts.csv", rows)
    gateway.fail[3] = 503
    from storywall.notify import NotifyError

    with pytest.raises(NotifyError, match="503"):
        loop.invite(path, port)
    assert len(gateway.sent) == 2
    again = loop.invite(path, port)
    assert again.report.sent == 3
    assert sorted(to for to, _ in gateway.sent) == sorted(r["phone"].replace(" ", "")
                                                           for r in rows)


def test_invalid_number_is_refused_and_not_retried(inviting, smtp, tmp_path):
    loop, gateway = inviting
    _, port = smtp
    gateway.refuse.add("+447700900101")
    rows = [gift(1, email="", phone="+447700900101"), gift(2, email="", phone="+447700900102")]
    result = loop.invite(write_csv(tmp_path / "gifts.csv", rows), port)
    assert (result.report.sent, result.report.refused) == (1, 1)
    assert loop.invite(tmp_path / "gifts.csv", port).report.sent == 0


def test_batch_limit_and_the_rest_next_time(inviting, smtp, tmp_path):
    loop, _ = inviting
    inbox, port = smtp
    path = write_csv(tmp_path / "gifts.csv", [gift(n) for n in range(1, 6)])
    first = loop.invite(path, port, limit=3)
    assert (first.report.sent, first.report.left) == (3, 2)
    assert loop.invite(path, port, limit=3).report.sent == 2
    assert len(inbox.received) == 5


def test_no_address_or_number_reaches_a_log_line_git_or_the_site(inviting, smtp, tmp_path,
                                                                 caplog):
    loop, gateway = inviting
    inbox, port = smtp
    caplog.set_level(logging.DEBUG)
    rows = [gift(1, email="ana.secret@example.net"),
            gift(2, email="", phone="+447700900999")]
    loop.invite(write_csv(tmp_path / "gifts.csv", rows), port)
    text, _ = mailkit.parts(inbox.received[0][1])
    token = parse_qs(urlsplit(next(w for w in text.split() if "invite=" in w)).query)["invite"][0]
    sub_id = loop.submit(invite=token, email="ana.secret@example.net", consent_contact="yes",
                         phone="+44 7700 900999")
    loop.approve(sub_id)
    loop.build()
    loop.notify(port)
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail"))
    public = "".join(p.read_text(errors="replace") for folder in ("submissions", "content",
                                                                   "output")
                     for p in (loop.site.root / folder).rglob("*") if p.is_file())
    root = loop.site.root
    (root / ".gitignore").write_text("/output/\n/.cache/\n/private/\n")
    for args in (["init", "-q"], ["add", "-A"],
                 ["-c", "user.name=Mo", "-c", "user.email=mo@example.org", "commit", "-qm", "x"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)
    history = subprocess.run(["git", "-C", str(root), "log", "-p", "--all"], check=True,
                             capture_output=True, text=True).stdout
    assert "stories/" in history  # the published story is committed…
    for secret in ("ana.secret", "7700900999", "7700 900999"):
        assert secret not in logged and secret not in public and secret not in history


def test_invite_without_sms_settings_is_one_line(loop, smtp, tmp_path):
    inbox, port = smtp
    path = write_csv(tmp_path / "gifts.csv", [gift(1, email="", phone="+447700900001")])
    r = CliRunner().invoke(cli, ["--site", str(loop.site.root), "invite", str(path),
                                 "--pause", "0"], env=mailkit.smtp_env(port))
    assert r.exit_code == 1 and "STORYWALL_SMS_URL" in r.output
    assert len(r.output.strip().splitlines()) == 1



def test_impact_update_by_text_is_one_short_message_with_the_initiative_link(inviting, smtp,
                                                                             tmp_path):
    loop, gateway = inviting
    _, port = smtp
    loop.configure(phone_country_code="44", organisation="The Riverside Community Trust")
    loop.invite(write_csv(tmp_path / "gifts.csv", [
        gift(1, email="", phone="07700 900001", date="2026-09-01")]), port)
    loop.report_figure("2026-10-31")
    loop.build()
    report = loop.notify(port)
    assert report.sent == 1
    invitation, impact = gateway.bodies("+447700900001")
    assert len(impact) <= 160 and impact.endswith(f"{SITE_URL}/initiatives/water/")
    assert "12 wells" in impact


def test_a_long_text_message_is_shortened_before_its_link_never_in_it():
    from storywall.messages import fit_sms

    url = "https://stories.example.org/share/?initiative=digital-inclusion&invite=" + "x" * 22
    text = "The Riverside Community Trust: thank you for your gift! Tell us why you gave: " + url
    short = fit_sms(text)
    assert len(text) > 160 and len(short) <= 160 and short.endswith("... " + url)
    assert short.startswith("The Riverside Community Trust: thank you")
    with pytest.raises(Exception, match="shorten it to 160"):
        fit_sms("x " * 10 + "https://example.org/" + "y" * 150)
