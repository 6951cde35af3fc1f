"""``storywall invite FILE``: thank each gift and ask for the story behind it.

The gift export (CSV with a header; column names in DESIGN §5b, each renamable
with the ``gift_columns`` setting) is checked whole before anything is stored:
any bad row is a one-line problem naming the row and column, and then nothing
is imported. Otherwise, in one transaction, every new gift goes into the
private store with its supporter (one person per normalised e-mail or phone)
and a "gave" journey event, and each gift whose row says ``contact_ok`` gets one
invitation in the outbox, with a personal link to the form
(``/share/?initiative=<slug>&invite=<token>``). Sending then works as in
``notify``: a batch at a time, each message marked sent only once accepted.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from . import content
from .errors import Problem, ProblemsFound, StoryWallError
from .notify import Due, Report, SiteInfo, compose, default_sender, live_senders, send_queued, \
    site_info, initiative_context
from .settings import GIFT_COLUMNS
from .supporters import Supporters, event, normalise_email, normalise_phone, now_iso

REQUIRED = ("gift_id", "initiative", "date", "contact_ok")
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0", ""}
CHANNEL_WORDS = {"": "", "email": "email", "e-mail": "email", "mail": "email", "sms": "sms",
                 "text": "sms", "phone": "sms"}
INVITE_TOKEN_BYTES = 16  # 128 bits; a short link keeps the text message under 160 characters
MAX_FIELD_CHARS = 500  # a longer CSV field is not a gift export


class InviteError(StoryWallError):
    """The gift export cannot be read at all."""


@dataclass(frozen=True)
class Gift:
    line: int
    gift_id: str
    initiative: str
    given_on: dt.date
    contact_ok: bool
    email: str = ""
    phone: str = ""
    first_name: str = ""
    channel: str = ""


@dataclass
class Imported:
    gifts: int = 0  # new gifts stored
    known: int = 0  # already imported before
    anonymous: int = 0  # rows with neither e-mail nor phone
    report: Report = field(default_factory=Report)

    def summary(self, dry_run: bool) -> str:
        verb = "Would import" if dry_run else "Imported"
        text = f"{verb} {self.gifts} new gift(s)"
        if self.known:
            text += f"; {self.known} already imported"
        if self.anonymous:
            text += f"; {self.anonymous} without an e-mail or phone (recorded nowhere)"
        return text + ". " + self.report.summary(dry_run)


def _decode(path: Path) -> str:
    data = path.read_bytes()
    try:
        return codecs.decode(data, "utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise InviteError(f"{path}:{line}: not UTF-8 (byte 0x{data[err.start]:02x}) — export "
                          "the file as UTF-8 CSV, or re-save it as \"CSV UTF-8\"") from err


def read_gifts(path: Path, settings, initiatives: set[str], country_code: str = "") -> list[Gift]:
    """Every row checked; ProblemsFound (all of them) when any row or the header is wrong."""
    path = Path(path)
    text = _decode(path)
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as err:
        raise InviteError(f"{path}:1: not a CSV file ({err})") from err
    reader.fieldnames = header
    columns = {name: settings.gift_column(name) for name in GIFT_COLUMNS}
    problems = _header_problems(path, header, columns)
    if problems:
        raise ProblemsFound(problems)
    gifts: list[Gift] = []
    seen: dict[str, int] = {}
    try:
        for number, row in enumerate(reader, start=1):
            gift, row_problems = _row(path, reader.line_num, number, row, columns, initiatives,
                                      country_code, seen)
            problems += row_problems
            if gift:
                gifts.append(gift)
    except csv.Error as err:
        raise InviteError(f"{path}:{reader.line_num}: the CSV is malformed ({err}) — check "
                          "the quotes on that line") from err
    if problems:
        raise ProblemsFound(problems)
    return gifts


def _header_problems(path: Path, header: list[str], columns: dict) -> list[Problem]:
    problems = []
    for name in REQUIRED:
        if columns[name] not in header:
            problems.append(Problem(str(path), 1, "header", f"no column '{columns[name]}'",
                                    f"add it, or name your column in STORYWALL['gift_columns'] "
                                    f"(e.g. {{'{name}': 'Your column'}})"))
    if columns["email"] not in header and columns["phone"] not in header:
        problems.append(Problem(str(path), 1, "header", f"no column '{columns['email']}' or "
                                f"'{columns['phone']}'", "a gift export needs an e-mail or a "
                                "phone column to reach anyone"))
    return problems


def _row(path, line, number, row, columns, initiatives, country_code, seen):
    problems = []

    def value(name: str) -> str:
        raw = row.get(columns[name])
        return " ".join(str(raw).split()) if raw is not None else ""

    def problem(name: str, message: str, hint: str) -> None:
        problems.append(Problem(str(path), line, f"row {number}, column '{columns[name]}'",
                                message, hint))

    if None in row:  # more fields than the header has
        problems.append(Problem(str(path), line, f"row {number}", "more fields than the header",
                                "check the commas and quotes on this line"))
    if any(len(v or "") > MAX_FIELD_CHARS for v in row.values() if isinstance(v, str)):
        problems.append(Problem(str(path), line, f"row {number}", "a field is over "
                                f"{MAX_FIELD_CHARS} characters", "is this a gift export?"))
        return None, problems
    gift_id = value("gift_id")
    if not gift_id:
        problem("gift_id", "is empty", "every gift needs its id from the donation platform")
    elif gift_id in seen:
        problem("gift_id", f"'{gift_id}' is also on row {seen[gift_id]}",
                "each gift once: remove the repeated row")
    else:
        seen[gift_id] = number
    initiative = value("initiative")
    if initiative not in initiatives:
        problem("initiative", f"'{initiative}' is not an initiative",
                "use one of: " + ", ".join(sorted(initiatives)))
    try:
        given_on = dt.date.fromisoformat(value("date")[:10])
    except ValueError:
        given_on = None
        problem("date", f"'{value('date')}' is not a date", "write it as YYYY-MM-DD")
    contact = value("contact_ok").lower()
    if contact not in YES | NO:
        problem("contact_ok", f"'{value('contact_ok')}' is not yes or no",
                "use yes/no, true/false or 1/0")
    email = phone = ""
    try:
        email = normalise_email(value("email"))
    except ValueError:
        problem("email", f"'{value('email')}' is not an e-mail address",
                "fix it, or leave it empty")
    try:
        phone = normalise_phone(value("phone"), country_code)
    except ValueError:
        problem("phone", f"'{value('phone')}' is not a phone number",
                "write it with the country code (+44 7700 900123), or set "
                "STORYWALL['phone_country_code']")
    channel = CHANNEL_WORDS.get(value("channel").lower())
    if channel is None:
        problem("channel", f"'{value('channel')}' is not a channel", "use email or sms")
    if problems:
        return None, problems
    return Gift(line, gift_id, initiative, given_on, contact in YES, email, phone,
                value("first_name"), channel), problems


def _invite_due(site: SiteInfo, person, gift: Gift, token: str, initiatives: dict) -> Due:
    ctx = {"organisation": site.organisation, "site_url": site.url(""),
           "name": gift.first_name or person.name,
           "share_form_url": site.share_url(gift.initiative, token),
           "initiative": initiative_context(site, initiatives.get(gift.initiative)),
           "given_on": gift.given_on}
    return Due(f"invite:{gift.gift_id}", person, "invite", ctx, initiative=gift.initiative,
               ref=gift.gift_id)


def import_gifts(con, store: Supporters, site: SiteInfo, gifts: list[Gift], initiatives: dict,
                 sender: str) -> Imported:
    """Store the new gifts and queue their invitations, in the caller's transaction."""
    result = Imported()
    now = now_iso()
    for gift in gifts:
        if not gift.email and not gift.phone:
            result.anonymous += 1
            continue
        if con.execute("SELECT 1 FROM gifts WHERE gift_id = ?", (gift.gift_id,)).fetchone():
            result.known += 1
            continue
        person = store.person_for(con, email=gift.email, phone=gift.phone,
                                  name=gift.first_name, channel=gift.channel)
        token = secrets.token_urlsafe(INVITE_TOKEN_BYTES)
        con.execute("INSERT INTO gifts VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (gift.gift_id, person.id, gift.initiative, gift.given_on.isoformat(),
                     int(gift.contact_ok), token, now))
        event(con, person.id, "gave", at=gift.given_on.isoformat(), initiative=gift.initiative,
              ref=gift.gift_id)
        result.gifts += 1
        if not gift.contact_ok or person.unsubscribed:
            continue
        outgoing = compose(site, _invite_due(site, person, gift, token, initiatives), sender)
        if outgoing is not None and store.enqueue(con, outgoing):
            result.report.planned += 1
    return result


def invite(site_dir: Path, path: Path, *, dry_run: Path | None = None, limit: int | None = None,
           pause: float | None = None, senders=None, env=None) -> Imported:
    site = site_info(site_dir)
    initiatives, problems = content.load_initiatives(site.content_dir, site.site_dir)
    if [p for p in problems if p.is_error]:
        raise ProblemsFound(problems)
    gifts = read_gifts(path, site.settings, set(initiatives), site.settings.phone_country_code)
    sender = default_sender(site, env, dry_run=dry_run is not None)
    store = Supporters(site.private_dir)
    if dry_run is not None:
        from .mailer import DryRunSender

        writer = DryRunSender(Path(dry_run))
        with store.db(rollback=True) as con:
            result = import_gifts(con, store, site, gifts, initiatives, sender)
            rows = con.execute("SELECT kind, channel, address, payload FROM outbox WHERE "
                               "state = 'queued' AND kind = 'invite' ORDER BY id").fetchall()
            for kind, channel, address, payload in rows:
                suffix = ".txt" if channel == "sms" else ".eml"
                result.report.written.append(writer.write(f"{kind}{suffix}", payload, address))
        return result
    with store.db() as con:
        result = import_gifts(con, store, site, gifts, initiatives, sender)
    limit = site.settings.mail_batch_limit if limit is None else limit
    pause = site.settings.mail_pause_seconds if pause is None else pause
    send_queued(store, senders or live_senders(env), limit=limit, pause=pause,
                report=result.report)
    return result
