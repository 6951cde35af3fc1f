"""Closing the loop: "your story is live — share it", impact updates, and rejections.

``notify(site)`` plans every message that is due into the private outbox and then
sends what is queued, a batch at a time:

- **live**: a published story whose author left an address and agreed to be
  contacted, and whose page is in the built site, once per story;
- **impact**: for each initiative, the supporters who told a published story
  about it or gave to it (``storywall invite``), and agreed to be contacted, once
  per newer figure report: the figures whose ``as_of`` is later than the day
  they told their story or gave, and later than what they were last told;
- **rejected**: the reason's explanation, once per rejected submission whose
  author left an address (never for ``spam``: the address may not be theirs).

Planning is idempotent (each message has a unique key) and the sending loop
marks a message ``sent`` only after the server accepted it, so running notify
again — after a success, a crash or a mail-server failure — sends exactly what
is left. An unsubscribed person gets nothing, including what was already queued.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import urljoin, urlsplit

from . import content, filters, mailer, messages, moderation, schema, supporters, views
from . import settings as sw_settings
from .errors import StoryWallError
from .supporters import Outgoing, Person, Queued, Supporters

logger = logging.getLogger(__name__)

NEVER_TOLD = ("spam",)  # rejection reasons that get no message


class NotifyError(StoryWallError):
    """notify cannot go on; what was sent stays sent, the rest stays queued."""


@dataclass(frozen=True)
class SiteInfo:
    """What messages need to know about the site (read from publishconf.py)."""

    site_dir: Path
    content_dir: Path
    output_dir: Path
    theme_dir: Path
    private_dir: Path
    site_url: str  # https://stories.example.org (no trailing slash)
    organisation: str
    intake_url: str  # absolute; like the form, /submit on the site's host by default
    settings: sw_settings.Settings

    def url(self, path: str) -> str:
        return f"{self.site_url}/{path.lstrip('/')}"

    def unsubscribe_url(self, person: Person) -> str:
        return urljoin(self.intake_url, f"unsubscribe/{person.token}")

    def share_url(self, initiative: str = "", invite: str = "") -> str:
        query = "&".join(f"{k}={v}" for k, v in (("initiative", initiative),
                                                 ("invite", invite)) if v)
        return self.url("share/") + (f"?{query}" if query else "")


def site_info(site_dir: Path, *, output: Path | None = None) -> SiteInfo:
    """Read publishconf.py (pelicanconf.py when there is none) for the public addresses."""
    from .build import read_pelican_settings

    site_dir = Path(site_dir).resolve()
    publish = (site_dir / "publishconf.py").is_file()
    pelican = read_pelican_settings(site_dir, publish=publish)
    name = "publishconf.py" if publish else "pelicanconf.py"
    site_url = str(pelican.get("SITEURL") or "").rstrip("/")
    if urlsplit(site_url).scheme not in ("https", "http"):
        raise NotifyError(f"{name}: SITEURL is '{site_url}' — messages need the site's public "
                          "address: set SITEURL (or $STORYWALL_SITEURL) to https://…")
    sw = sw_settings.load(pelican.get("STORYWALL"))
    return SiteInfo(
        site_dir=site_dir, content_dir=Path(pelican["PATH"]),
        output_dir=Path(output or pelican["OUTPUT_PATH"]),
        theme_dir=Path(pelican["THEME"]), private_dir=supporters.private_dir(site_dir),
        site_url=site_url, organisation=sw.organisation or pelican.get("SITENAME", ""),
        intake_url=urljoin(site_url + "/", sw.intake_url or "/submit"), settings=sw)


# -- what is due --------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """One message to plan: its key, recipient, kind and template context."""

    key: str
    person: Person
    kind: str
    context: dict
    initiative: str = ""
    ref: str = ""
    images: dict = field(default_factory=dict)


class _MetaImage(HTMLParser):
    def __init__(self):
        super().__init__()
        self.url = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta" and attrs.get("property") == "og:image" and not self.url:
            self.url = attrs.get("content") or ""


def story_page(site: SiteInfo, story: schema.Story) -> Path:
    return site.output_dir / "stories" / story.slug / "index.html"


def share_card(site: SiteInfo, page: Path) -> tuple[bytes, str] | None:
    """The story's share card (its og:image) from the built site, to embed in the message."""
    parser = _MetaImage()
    parser.feed(page.read_text(encoding="utf-8", errors="replace"))
    if not parser.url:
        return None
    path = urlsplit(urljoin(site.url(""), parser.url)).path
    base = urlsplit(site.site_url).path.rstrip("/")
    if base and path.startswith(base):
        path = path[len(base):]
    candidate = (site.output_dir / path.lstrip("/")).resolve()
    if site.output_dir.resolve() not in candidate.parents:
        return None
    return messages.image(candidate)


def initiative_context(site: SiteInfo, initiative: schema.Initiative | None) -> dict:
    if initiative is None:
        return {"title": "", "url": site.url(""), "donate_url": site.settings.donate_url}
    return {"title": initiative.title, "url": site.url(f"initiatives/{initiative.slug}/"),
            "summary": initiative.summary,
            "donate_url": initiative.donate_url or site.settings.donate_url}


def _base_ctx(site: SiteInfo, person: Person, name: str = "") -> dict:
    return {"organisation": site.organisation, "site_url": site.url(""),
            "name": (person.name or name).split(" ")[0] if (person.name or name) else "",
            "share_form_url": site.share_url()}


def due_live(con, store: Supporters, site: SiteInfo, stories: Iterable[schema.Story],
             initiatives: dict) -> Iterable[Due]:
    for story in stories:
        key = f"live:{story.id}"
        author = store.author_of(con, story.id)
        if author is None or not author[1] or author[0].unsubscribed or store.planned(con, key):
            continue
        page = story_page(site, story)
        if not page.is_file():
            logger.info("storywall.notify: %s is not in the built site yet; it is told "
                        "once it is", story.slug)
            continue
        url = site.url(f"stories/{story.slug}/")
        card = share_card(site, page)
        ctx = {**_base_ctx(site, author[0], story.author),
               "story": {"title": story.title, "url": url, "kind": story.kind,
                         "quote": story.quote, "author": story.author},
               "initiative": initiative_context(site, initiatives.get(story.initiative)),
               "share_links": views.share_links(url, story.title), "has_card": bool(card)}
        yield Due(key, author[0], "live", ctx, initiative=story.initiative, ref=story.id,
                  images={messages.CARD_CID: card} if card else {})


def due_rejected(con, store: Supporters, site: SiteInfo,
                 decisions: Iterable[moderation.Decision]) -> Iterable[Due]:
    for decision in decisions:
        if decision.action != "reject" or decision.reason_code in NEVER_TOLD:
            continue
        key = f"rejected:{decision.id}"
        author = store.author_of(con, decision.id)
        if author is None or not author[1] or author[0].unsubscribed or store.planned(con, key):
            continue
        reason = moderation.REASONS.get(decision.reason_code)
        if reason is None:
            continue
        ctx = {**_base_ctx(site, author[0]),
               "reason": {"code": decision.reason_code, "title": reason.title,
                          "explanation": reason.explanation},
               "sent_on": _id_date(decision.id)}
        yield Due(key, author[0], "rejected", ctx, ref=decision.reason_code)


def _id_date(sub_id: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(sub_id[:10])
    except ValueError:
        return None


def supporters_of(con, store: Supporters, slug: str,
                  stories: Iterable[schema.Story]) -> dict[int, tuple[Person, dt.date, str]]:
    """person id → (person, the first day they told or gave, their display name)."""
    found: dict[int, tuple[Person, dt.date, str]] = {}

    def add(person: Person, since: dt.date, name: str) -> None:
        old = found.get(person.id)
        if old is None or since < old[1]:
            found[person.id] = (person, since, name or (old[2] if old else ""))

    for story in stories:
        if story.initiative == slug:
            author = store.author_of(con, story.id)
            if author and author[1]:
                add(author[0], story.date, story.author)
    for person_id, given_on in con.execute(
            "SELECT person_id, MIN(given_on) FROM gifts WHERE initiative = ? AND contact_ok = 1 "
            "GROUP BY person_id", (slug,)):
        add(store.get(con, person_id), dt.date.fromisoformat(given_on), "")
    return found


def _figure_ctx(initiative: schema.Initiative, fig: schema.Figure) -> dict:
    history = initiative.history(fig.label)
    earlier = [f for f in history if f.as_of < fig.as_of]
    previous = earlier[-1] if earlier else None
    return {"label": fig.label, "value": filters.number(fig.value), "unit": fig.unit,
            "as_of": filters.month_year(fig.as_of), "source": fig.source,
            "previous": filters.number(previous.value) if previous else "",
            "previous_as_of": filters.month_year(previous.as_of) if previous else "",
            "change": filters.number(abs(fig.value - previous.value)) if previous else "",
            "trend": _trend(fig, previous)}


def _trend(fig: schema.Figure, previous: schema.Figure | None) -> str:
    if previous is None:
        return ""
    return "up" if fig.value > previous.value else "down" if fig.value < previous.value \
        else "unchanged"


def due_impact(con, store: Supporters, site: SiteInfo, stories: list[schema.Story],
               initiatives: dict) -> Iterable[Due]:
    for slug, initiative in initiatives.items():
        current = initiative.current_figures()
        if not current:
            continue
        for person, since, name in supporters_of(con, store, slug, stories).values():
            if person.unsubscribed:
                continue
            (told,) = con.execute("SELECT MAX(ref) FROM outbox WHERE kind = 'impact' AND "
                                  "person_id = ? AND initiative = ?", (person.id, slug)).fetchone()
            new = [f for f in current if f.as_of > since
                   and (told is None or f.as_of.isoformat() > told)]
            if not new:
                continue
            newest = max(f.as_of for f in new).isoformat()
            ctx = {**_base_ctx(site, person, name),
                   "initiative": initiative_context(site, initiative),
                   "figures": [_figure_ctx(initiative, f) for f in new]}
            yield Due(f"impact:{person.id}:{slug}:{newest}", person, "impact", ctx,
                      initiative=slug, ref=newest)


# -- composing and sending ----------------------------------------------------------------


def compose(site: SiteInfo, due: Due, sender: str) -> Outgoing | None:
    """The message for one Due on the person's channel (None when they have no address)."""
    env = messages.environment(str(site.theme_dir))
    channel = due.person.reachable_channel
    if channel is None:
        return None
    ctx = {**due.context, "unsubscribe_url": site.unsubscribe_url(due.person)}
    if channel == "sms":
        payload = messages.render_sms(env, due.kind, ctx)
    else:
        letter = messages.Letter(to=due.person.email, to_name="", sender=sender,
                                 unsubscribe_url=ctx["unsubscribe_url"], images=due.images)
        payload = messages.render_email(env, due.kind, ctx, letter)
    return Outgoing(key=due.key, person_id=due.person.id, kind=due.kind, channel=channel,
                    address=due.person.address(channel), payload=payload,
                    initiative=due.initiative, ref=due.ref)


@dataclass
class Report:
    planned: int = 0
    sent: int = 0
    refused: int = 0
    skipped: int = 0
    left: int = 0
    written: list[Path] = field(default_factory=list)

    def summary(self, dry_run: bool = False) -> str:
        if dry_run:
            return f"Wrote {len(self.written)} message(s); nothing was sent or recorded."
        parts = [f"Planned {self.planned} new message(s); sent {self.sent}"]
        if self.refused:
            parts.append(f"{self.refused} refused by the server")
        if self.skipped:
            parts.append(f"{self.skipped} skipped (unsubscribed or no longer due)")
        if self.left:
            parts.append(f"{self.left} left for the next run (batch limit)")
        return "; ".join(parts) + "."


Planner = Callable[[object, Supporters], Iterable[Due]]


def plan(store: Supporters, site: SiteInfo, planners: Iterable[Planner], sender: str,
         con) -> int:
    """Queue every due message in the open transaction ``con``; the number queued."""
    queued = 0
    for planner in planners:
        for due in list(planner(con, store)):
            outgoing = compose(site, due, sender)
            if outgoing is not None and store.enqueue(con, outgoing):
                queued += 1
    return queued


def notify_planners(site: SiteInfo) -> list[Planner]:
    loaded = content.load_site(site.content_dir, root=site.site_dir)
    if loaded.errors:
        from .errors import ProblemsFound

        raise ProblemsFound(loaded.problems)
    published = [s for s in loaded.stories if s.is_published and s.id]
    decisions = moderation.decisions(site.private_dir)
    return [
        lambda con, store: due_live(con, store, site, published, loaded.initiatives),
        lambda con, store: due_impact(con, store, site, published, loaded.initiatives),
        lambda con, store: due_rejected(con, store, site, decisions),
    ]


def send_queued(store: Supporters, senders: Callable[[str], object], *, limit: int,
                pause: float, still_due: Callable[[Queued], bool] = lambda q: True,
                report: Report | None = None, sleep=time.sleep) -> Report:
    """Send up to ``limit`` queued messages, ``pause`` seconds apart."""
    report = report or Report()
    with store.sending():
        _send(store, senders, limit, pause, still_due, report, sleep)
    report.left = store.count_due()
    return report


def _send(store, senders, limit, pause, still_due, report, sleep) -> None:
    try:
        for queued in store.due(limit):
            if queued.unsubscribed or not still_due(queued):
                store.mark(queued, "skipped", "unsubscribed" if queued.unsubscribed
                           else "no longer due")
                report.skipped += 1
                continue
            if report.sent and pause:
                sleep(pause)
            store.mark(queued, "sending")
            try:
                senders(queued.channel).send(queued.payload, queued.address)
            except mailer.Refused as err:
                store.mark(queued, "refused", str(err))
                report.refused += 1
                logger.warning("storywall.notify: %s refused by the server: %s", queued.key,
                               _no_address(str(err), queued.address))
                continue
            except mailer.SendFailed as err:
                store.requeue(queued, str(err))
                left = store.count_due()
                raise NotifyError(f"{_no_address(str(err), queued.address)}; sent {report.sent}"
                                  f" this run, {left} still queued — run the command again "
                                  "to send the rest (nothing is sent twice)") from err
            store.mark(queued, "sent")
            report.sent += 1
            logger.info("storywall.notify: sent %s", queued.key)
    finally:
        _close(senders)


def _no_address(text: str, address: str) -> str:
    return text.replace(address, "<recipient>") if address else text


def _close(senders) -> None:
    close = getattr(senders, "close", None)
    if close:
        close()


class Senders:
    """One sender per channel, made on first use (SMS settings are needed only for texts)."""

    def __init__(self, factories: dict[str, Callable[[], object]]):
        self.factories = factories
        self.made: dict[str, object] = {}

    def __call__(self, channel: str):
        if channel not in self.made:
            if channel not in self.factories:
                raise mailer.SendFailed(f"no sender for {channel} messages")
            try:
                self.made[channel] = self.factories[channel]()
            except mailer.MailConfigError as err:
                raise NotifyError(str(err)) from err
        return self.made[channel]

    def close(self) -> None:
        for sender in self.made.values():
            sender.close()
        self.made.clear()


def live_senders(env=None) -> Senders:
    return Senders({"email": lambda: mailer.SmtpSender(mailer.SmtpConfig.from_env(env)),
                    "sms": lambda: mailer.SmsSender(mailer.SmsConfig.from_env(env))})


def default_sender(site: SiteInfo, env=None, *, dry_run: bool = False) -> str:
    fallback = f"{site.organisation} <stories@{messages.site_domain(site.site_url)}>" \
        if dry_run else ""
    try:
        return mailer.mail_from(env, fallback)
    except mailer.MailConfigError as err:
        raise NotifyError(str(err)) from err


def run(store: Supporters, site: SiteInfo, planners: list[Planner], *, dry_run: Path | None,
        limit: int, pause: float, senders: Senders | None = None, env=None,
        still_due: Callable[[Queued], bool] = lambda q: True) -> Report:
    """Plan, then send (or, with ``dry_run``, write every due message to files)."""
    sender = default_sender(site, env, dry_run=dry_run is not None)
    store.sync_intake_contacts()
    report = Report()
    if dry_run is not None:
        return write_dry_run(store, site, planners, sender, Path(dry_run), report)
    with store.db() as con:
        report.planned = plan(store, site, planners, sender, con)
    return send_queued(store, senders or live_senders(env), limit=limit, pause=pause,
                       still_due=still_due, report=report)


def write_dry_run(store: Supporters, site: SiteInfo, planners, sender: str, folder: Path,
                  report: Report) -> Report:
    """Plan inside a transaction that is rolled back; write what would be sent."""
    writer = mailer.DryRunSender(folder)
    with store.db(rollback=True) as con:
        report.planned = plan(store, site, planners, sender, con)
        rows = con.execute("SELECT o.kind, o.channel, o.address, o.payload FROM outbox o JOIN "
                           "people p ON p.id = o.person_id WHERE o.state IN ('queued', "
                           "'sending') AND p.unsubscribed_at IS NULL ORDER BY o.id").fetchall()
    for kind, channel, address, payload in rows:
        suffix = ".txt" if channel == "sms" else ".eml"
        report.written.append(writer.write(f"{kind}{suffix}", payload, address))
    return report


def still_published(site: SiteInfo) -> Callable[[Queued], bool]:
    """A queued 'live' message is dropped if its story was withdrawn in the meantime."""
    loaded = content.load_site(site.content_dir, root=site.site_dir)
    live = {s.id for s in loaded.stories if s.is_published and s.id}
    return lambda q: q.kind != "live" or q.ref in live


def notify(site_dir: Path, *, dry_run: Path | None = None, limit: int | None = None,
           pause: float | None = None, output: Path | None = None, senders=None,
           env=None) -> Report:
    site = site_info(site_dir, output=output)
    if not site.output_dir.is_dir():
        raise NotifyError(f"{site.output_dir}: no built site — run storywall build --publish "
                          "first (notify links to the pages that are live)")
    store = Supporters(site.private_dir)
    limit = site.settings.mail_batch_limit if limit is None else limit
    pause = site.settings.mail_pause_seconds if pause is None else pause
    return run(store, site, notify_planners(site), dry_run=dry_run, limit=limit, pause=pause,
               senders=senders, env=env, still_due=still_published(site))
