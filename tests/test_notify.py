"""storywall notify against a real SMTP server: live, impact and rejection messages, once each."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import logging
import sqlite3
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

import mailkit
from loopkit import PUBLISHCONF, SITE_URL, local_file
from storywall import moderation
from storywall import notify as core
from storywall.cli import cli
from storywall.supporters import Supporters


def test_author_of_a_new_story_gets_one_live_message_with_working_links(loop, smtp):
    inbox, port = smtp
    slug = loop.approve(loop.submit(email="ana@example.net", consent_contact="yes"))
    loop.submit(title="Still waiting", email="bo@example.net", consent_contact="yes")  # pending
    loop.build()

    report = loop.notify(port)

    assert report.sent == 1 and inbox.recipients() == ["ana@example.net"]
    msg = inbox.to("ana@example.net")[0]
    text, html = mailkit.parts(msg)
    story_url = f"{SITE_URL}/stories/{slug}/"
    assert story_url in text and f'href="{story_url}"' in html
    assert local_file(loop, story_url).is_file()
    assert "Why I give" in msg["Subject"] or "live" in msg["Subject"].lower()
    assert msg["From"] == "Test Trust <stories@example.org>"
    assert "facebook.com/sharer" in text and "wa.me" in html
    card = [p for p in msg.walk() if p.get_content_maintype() == "image"]
    assert card and f'cid:{card[0]["Content-ID"].strip("<>")}' in html
    unsubscribe = msg["List-Unsubscribe"].strip().strip("<>")
    assert unsubscribe.startswith("https://intake.example.org/unsubscribe/")
    assert unsubscribe in text and unsubscribe in html
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    page = loop.client.get(urlsplit(unsubscribe).path)
    assert page.status_code == 200 and b'method="post"' in page.data


def test_running_notify_twice_sends_nothing_the_second_time(loop, smtp):
    inbox, port = smtp
    loop.approve(loop.submit(email="ana@example.net", consent_contact="yes"))
    loop.reject(loop.submit(title="Call me", email="bo@example.net", consent_contact="yes"),
                "personal-data")
    loop.build()
    first = loop.notify(port)
    second = loop.notify(port)
    assert (first.sent, second.planned, second.sent) == (2, 0, 0)
    assert inbox.recipients() == ["ana@example.net", "bo@example.net"]


def test_impact_update_reaches_each_opted_in_supporter_of_that_initiative_once(loop, smtp):
    inbox, port = smtp
    loop.approve(loop.submit(email="ana@example.net", consent_contact="yes"))
    loop.approve(loop.submit(title="For the wells", email="Cy@Example.net",
                             consent_contact="yes"))
    loop.approve(loop.submit(title="No address", author="Di"))
    loop.approve(loop.submit(title="Trees", initiative="parks", email="ed@example.net",
                             consent_contact="yes"))
    loop.build()
    loop.notify(port)
    live = len(inbox.received)

    loop.report_figure("2026-10-31")
    loop.build()
    report = loop.notify(port)

    impact = inbox.received[live:]
    assert report.sent == 2
    assert sorted(r for rcpts, _ in impact for r in rcpts) == ["ana@example.net",
                                                                "cy@example.net"]
    text, html = mailkit.parts(impact[0][1])
    assert "12 wells" in text and "October 2026" in text and "up from 5" in text
    assert "Field report, 2026-10-31 (audited)" in html
    initiative_url = f"{SITE_URL}/initiatives/water/"
    assert initiative_url in text and local_file(loop, initiative_url).is_file()
    assert loop.notify(port).sent == 0


def test_figures_older_than_the_story_are_not_news(loop, smtp):
    inbox, port = smtp
    loop.approve(loop.submit(email="ana@example.net", consent_contact="yes"),
                 told_on="2026-11-15")
    loop.report_figure("2026-10-31")
    loop.build()
    loop.notify(port)
    assert [m["Subject"] for m in inbox.to("ana@example.net")] == \
        [inbox.to("ana@example.net")[0]["Subject"]]
    assert "live" in inbox.to("ana@example.net")[0]["Subject"].lower()


def test_rejected_author_hears_the_reason_in_plain_words(loop, smtp):
    inbox, port = smtp
    loop.reject(loop.submit(email="bo@example.net", consent_contact="yes"), "personal-data")
    loop.reject(loop.submit(title="Buy now", email="spam@example.net", consent_contact="yes"),
                "spam")
    loop.build()
    loop.notify(port)
    assert inbox.recipients() == ["bo@example.net"]
    text, html = mailkit.parts(inbox.to("bo@example.net")[0])
    explanation = moderation.REASONS["personal-data"].explanation
    assert explanation in text and explanation.split(",")[0] in html
    assert f"{SITE_URL}/share/" in text


@pytest.mark.parametrize("reply", ["451 4.3.0 Try again later", "421 4.4.2 Closing connection"])
def test_smtp_failure_mid_batch_resumes_without_duplicates(loop, smtp, reply):
    inbox, port = smtp
    people = [f"p{n}@example.net" for n in range(5)]
    for n, address in enumerate(people):
        loop.approve(loop.submit(title=f"Story number {n}", email=address,
                                 consent_contact="yes"))
    loop.build()
    inbox.fail[3] = reply

    with pytest.raises(core.NotifyError, match="3 still queued — run the command again"):
        loop.notify(port)
    assert len(inbox.received) == 2

    report = loop.notify(port)
    assert report.sent == 3 and report.left == 0
    assert inbox.recipients() == sorted(people)  # everyone exactly once


def test_a_crash_after_planning_sends_the_queued_messages_next_time(loop, smtp, monkeypatch):
    inbox, port = smtp
    loop.approve(loop.submit(email="ana@example.net", consent_contact="yes"))
    loop.build()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(core, "send_queued", crash)
    with pytest.raises(KeyboardInterrupt):
        loop.notify(port)
    monkeypatch.undo()
    monkeypatch.delenv("STORYWALL_PRIVATE_DIR", raising=False)
    assert inbox.received == []
    report = loop.notify(port)
    assert (report.planned, report.sent) == (0, 1)
    assert inbox.recipients() == ["ana@example.net"]


def test_refused_recipient_is_not_retried_and_does_not_stop_the_batch(loop, smtp):
    inbox, port = smtp
    loop.approve(loop.submit(email="gone@example.net", consent_contact="yes"))
    loop.approve(loop.submit(title="Second story", email="ana@example.net",
                             consent_contact="yes"))
    loop.build()
    inbox.refuse.add("gone@example.net")
    report = loop.notify(port)
    assert (report.sent, report.refused) == (1, 1)
    assert loop.notify(port).sent == 0
    assert inbox.recipients() == ["ana@example.net"]


def test_unsubscribed_person_gets_nothing_more(loop, smtp):
    inbox, port = smtp
    loop.approve(loop.submit(email="ana@example.net", consent_contact="yes"))
    loop.build()
    loop.notify(port)
    token_url = inbox.to("ana@example.net")[0]["List-Unsubscribe"].strip().strip("<>")
    path = urlsplit(token_url).path

    r = loop.client.post(path, data={"List-Unsubscribe": "One-Click"})  # RFC 8058
    assert r.status_code == 200 and b"You are unsubscribed" in r.data
    assert b"Your published stories stay on the wall" in r.data  # the theme's page
    assert loop.client.get(path).status_code == 200  # says so again, no error

    loop.approve(loop.submit(title="Another story", email="ana@example.net",
                             consent_contact="yes"))
    loop.report_figure("2026-10-31")
    loop.build()
    assert loop.notify(port).sent == 0
    assert len(inbox.to("ana@example.net")) == 1


def test_unsubscribing_after_planning_stops_the_queued_message(loop, smtp):
    inbox, port = smtp
    loop.approve(loop.submit(email="ana@example.net", consent_contact="yes"))
    loop.approve(loop.submit(title="Second story", email="bo@example.net",
                             consent_contact="yes"))
    loop.build()
    first = loop.notify(port, limit=1)
    assert (first.sent, first.left) == (1, 1)
    store = Supporters(loop.private)
    waiting = store.due(10)[0]
    with store.db() as con:
        token = store.get(con, waiting.person_id).token
    assert loop.client.post(f"/unsubscribe/{token}").status_code == 200
    second = loop.notify(port)
    assert (second.sent, second.skipped) == (0, 0) and len(inbox.received) == 1


def test_unknown_unsubscribe_token_is_a_clear_404(loop):
    r = loop.client.get("/unsubscribe/not-a-real-token")
    assert r.status_code == 404 and b"not valid" in r.data
    assert loop.client.post("/unsubscribe/" + "x" * 300).status_code == 404


def test_nobody_who_did_not_opt_in_gets_a_message(loop, smtp):
    inbox, port = smtp
    loop.approve(loop.submit(author="No Address"))
    csv = loop.site.root / "gifts.csv"
    csv.write_text("initiative,title,story,author,consent_publish,email,contact_ok\n"
                   "water,By post,I wrote it by hand.,Flo,yes,flo@example.net,no\n")
    runner = CliRunner()
    assert runner.invoke(cli, ["--site", str(loop.site.root), "import", str(csv)]).exit_code == 0
    from storywall.intake.storage import Store

    store = Store(loop.site.root / "submissions", loop.private).open()
    sub_id = loop.submit(title="Store level")  # a contact row that says no, written directly
    with store.db() as con:
        con.execute("INSERT INTO contacts VALUES (?, ?, 0, ?)", (sub_id, "gus@example.net",
                                                                dt.datetime.now().isoformat()))
    for sub in sorted((loop.site.root / "submissions").glob("20*")):
        loop.approve(sub.name)
    loop.report_figure("2026-10-31")
    loop.build()
    report = loop.notify(port)
    assert report.sent == 0 and inbox.received == []


def test_batch_limit_leaves_the_rest_for_the_next_run(loop, smtp):
    inbox, port = smtp
    for n in range(3):
        loop.approve(loop.submit(title=f"Story number {n}", email=f"p{n}@example.net",
                                 consent_contact="yes"))
    loop.build()
    report = loop.notify(port, limit=2)
    assert (report.sent, report.left) == (2, 1)
    assert loop.notify(port, limit=2).sent == 1
    assert len(inbox.received) == 3


def test_pause_between_messages(loop, smtp):
    inbox, port = smtp
    for n in range(3):
        loop.approve(loop.submit(title=f"Story number {n}", email=f"p{n}@example.net",
                                 consent_contact="yes"))
    loop.build()
    site = core.site_info(loop.site.root)
    store = Supporters(loop.private)
    store.sync_intake_contacts()
    with store.db() as con:
        core.plan(store, site, core.notify_planners(site), "T <t@example.org>", con)
    sleeps = []
    senders = core.live_senders(mailkit.smtp_env(port))
    report = core.send_queued(store, senders, limit=10, pause=0.25, sleep=sleeps.append)
    assert report.sent == 3 and sleeps == [0.25, 0.25]


def test_dry_run_writes_eml_files_and_records_nothing(loop, smtp, tmp_path):
    inbox, port = smtp
    loop.approve(loop.submit(email="ana@example.net", consent_contact="yes"))
    loop.build()
    out = tmp_path / "preview"
    report = loop.notify(port, dry_run=out)
    files = sorted(out.glob("*.eml"))
    assert [f.name for f in files] == ["0001-live.eml"] and report.written == files
    msg = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert msg["To"] == "ana@example.net" and mailkit.parts(msg)[0].startswith("Dear Ana")
    assert inbox.received == []
    assert loop.notify(port).sent == 1  # nothing was recorded as sent


def test_notify_cli_errors_are_one_line(loop, tmp_path, monkeypatch):
    runner = CliRunner()
    site = ["--site", str(loop.site.root)]
    for key in ("STORYWALL_SMTP_HOST", "STORYWALL_MAIL_FROM"):
        monkeypatch.delenv(key, raising=False)
    r = runner.invoke(cli, [*site, "notify"])
    assert r.exit_code == 1 and "no built site" in r.output and "Traceback" not in r.output
    loop.build()
    loop.approve(loop.submit(email="ana@example.net", consent_contact="yes"))
    loop.build()
    r = runner.invoke(cli, [*site, "notify"])
    assert r.exit_code == 1 and "STORYWALL_MAIL_FROM is not set" in r.output
    monkeypatch.setenv("STORYWALL_MAIL_FROM", "Test Trust <stories@example.org>")
    r = runner.invoke(cli, [*site, "notify"])
    assert r.exit_code == 1 and "STORYWALL_SMTP_HOST is not set" in r.output
    assert len(r.output.strip().splitlines()) == 1
    monkeypatch.setenv("STORYWALL_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("STORYWALL_SMTP_PORT", str(mailkit.free_port()))
    monkeypatch.setenv("STORYWALL_SMTP_TLS", "none")
    r = runner.invoke(cli, [*site, "notify", "--pause", "0"])
    assert r.exit_code == 1 and "cannot connect to the mail server" in r.output
    assert "1 still queued" in r.output
    (loop.site.root / "publishconf.py").write_text(PUBLISHCONF.replace(SITE_URL, ""))
    r = runner.invoke(cli, [*site, "notify"])
    assert r.exit_code == 1 and "SITEURL" in r.output
    r = runner.invoke(cli, [*site, "notify", "--dry-run", str(tmp_path / "x"), "--limit", "0"])
    assert r.exit_code == 2


def test_no_contact_detail_reaches_a_log_line_or_the_site(loop, smtp, caplog):
    inbox, port = smtp
    caplog.set_level(logging.DEBUG)
    loop.approve(loop.submit(email="ana.secret@example.net", consent_contact="yes"))
    loop.reject(loop.submit(title="Nope", email="bo.secret@example.net", consent_contact="yes"),
                "incomplete")
    inbox.refuse.add("bo.secret@example.net")
    loop.build()
    loop.notify(port)
    logged = "\n".join(r.getMessage() for r in caplog.records
                       if not r.name.startswith("mail.log"))
    assert "secret@example.net" not in logged
    assert "secret@example.net" not in loop.site.output_text()
    assert "storywall.notify: sent live:" in logged


def test_a_withdrawn_story_is_not_announced(loop, smtp):
    inbox, port = smtp
    slug = loop.approve(loop.submit(email="ana@example.net", consent_contact="yes"))
    loop.approve(loop.submit(title="Second story", email="bo@example.net",
                             consent_contact="yes"))
    loop.build()
    assert loop.notify(port, limit=1).sent == 1
    first = inbox.recipients()[0]
    if first == "ana@example.net":  # withdraw the one still waiting
        slug = next(p.name for p in (loop.site.content / "stories").iterdir() if p.name != slug)
    moderation.withdraw(loop.site.root, loop.site.content, slug, moderator="Mo")
    report = loop.notify(port)
    assert (report.sent, report.skipped) == (0, 1) and len(inbox.received) == 1


def test_journey_events_are_written_when_messages_are_sent(loop, smtp):
    inbox, port = smtp
    loop.approve(loop.submit(email="ana@example.net", consent_contact="yes"))
    loop.build()
    loop.notify(port)
    con = sqlite3.connect(loop.private / "intake.sqlite3")
    kinds = [k for (k,) in con.execute("SELECT kind FROM events ORDER BY seq")]
    assert kinds[-1] == "told_live" and "submitted" in kinds


def test_without_intake_url_unsubscribe_links_go_to_the_sites_own_host(loop, smtp):
    inbox, port = smtp
    loop.configure(intake_url="")
    loop.approve(loop.submit(email="ana@example.net", consent_contact="yes"))
    loop.build()
    loop.notify(port)
    link = inbox.to("ana@example.net")[0]["List-Unsubscribe"].strip().strip("<>")
    assert link.startswith(f"{SITE_URL}/unsubscribe/")


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_uses_the_user_and_password_from_the_environment(loop):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret")

    inbox = mailkit.Inbox()
    port = mailkit.free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_require_tls=False, auth_required=True)
    controller.start()
    try:
        loop.approve(loop.submit(email="ana@example.net", consent_contact="yes"))
        loop.build()
        env = mailkit.smtp_env(port)  # no login: the server wants one
        with pytest.raises(core.NotifyError, match="refused to send .530"):
            core.notify(loop.site.root, env=env, pause=0)
        env.update(STORYWALL_SMTP_USER="stories", STORYWALL_SMTP_PASSWORD="s3cret")
        assert core.notify(loop.site.root, env=env, pause=0).sent == 1
    finally:
        controller.stop()
    assert logins == [(b"stories", b"s3cret")]
    assert inbox.recipients() == ["ana@example.net"]


def test_two_senders_never_run_at_once(loop, smtp):
    from storywall.supporters import StoreError

    inbox, port = smtp
    loop.approve(loop.submit(email="ana@example.net", consent_contact="yes"))
    loop.build()
    with Supporters(loop.private).sending():  # another notify (or invite) is sending
        with pytest.raises(StoreError, match="another notify or invite is sending"):
            loop.notify(port)
    assert inbox.received == []
    assert loop.notify(port).sent == 1
