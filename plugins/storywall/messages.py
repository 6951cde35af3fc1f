"""Messages to supporters, rendered from the theme's ``templates/email/`` templates.

Each message kind has ``<kind>.txt`` (the plain-text part; its
``{% set subject %}`` block is the subject line) and ``<kind>.html`` (the HTML
part), and may have ``<kind>.sms.txt`` (a text message of at most
:data:`SMS_MAX_CHARS`). Templates get the same filters as the site's theme.
The HTML part embeds its images (the story's share card) instead of loading
them from the web, so opening a message tells nobody anything.
"""

from __future__ import annotations

import email.policy
import email.utils
import functools
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import jinja2

from . import filters
from .errors import StoryWallError

SMS_MAX_CHARS = 160  # one GSM-7 segment
CARD_CID = "share-card@storywall"
IMAGE_TYPES = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}


class TemplateMissing(StoryWallError):
    """The theme has no template for a message."""


@dataclass(frozen=True)
class Letter:
    """What a message needs besides its template's context."""

    to: str
    to_name: str
    sender: str
    unsubscribe_url: str
    images: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # cid -> (bytes, subtype)


@functools.lru_cache(maxsize=8)
def environment(theme_dir: str) -> jinja2.Environment:
    templates = Path(theme_dir) / "templates"
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",),
                                            default_for_string=False),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True)
    env.filters.update(filters.FILTERS)
    return env


def _module(env: jinja2.Environment, name: str, context: dict):
    try:
        return env.get_template(name).make_module(context)
    except jinja2.TemplateNotFound as err:
        raise TemplateMissing(f"theme/templates/{name}: missing — every message kind needs "
                              "a .txt and an .html template") from err


def _tidy(text: str) -> str:
    """Collapse the blank lines that template logic leaves behind."""
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def render_email(env: jinja2.Environment, kind: str, context: dict, letter: Letter) -> bytes:
    """One multipart/alternative message (text + HTML with inline images) as SMTP bytes."""
    context = {**context, "unsubscribe_url": letter.unsubscribe_url}
    text_module = _module(env, f"email/{kind}.txt", context)
    subject = " ".join(str(getattr(text_module, "subject", "")).split())
    if not subject:
        raise TemplateMissing(f"theme/templates/email/{kind}.txt: no subject — add "
                              "{% set subject %}…{% endset %}")
    html = str(_module(env, f"email/{kind}.html", {**context, "subject": subject}))
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Subject"] = subject
    msg["From"] = letter.sender
    msg["To"] = email.utils.formataddr((letter.to_name, letter.to)) if letter.to_name \
        else letter.to
    msg["Date"] = email.utils.formatdate(localtime=False)
    msg["Message-ID"] = email.utils.make_msgid("storywall", _domain(letter.sender))
    msg["Auto-Submitted"] = "auto-generated"
    if letter.unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{letter.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
    msg.set_content(_tidy(str(text_module)))
    msg.add_alternative(html, subtype="html")
    html_part = msg.get_payload()[1]
    for cid, (data, subtype) in letter.images.items():
        html_part.add_related(data, maintype="image", subtype=subtype, cid=f"<{cid}>")
    return msg.as_bytes()


def render_sms(env: jinja2.Environment, kind: str, context: dict) -> bytes:
    """A text message, at most :data:`SMS_MAX_CHARS` characters (cut at a word, link kept)."""
    text = " ".join(str(_module(env, f"email/{kind}.sms.txt", context)).split())
    if len(text) > SMS_MAX_CHARS:
        raise StoryWallError(f"theme/templates/email/{kind}.sms.txt: the text message is "
                             f"{len(text)} characters — shorten it to {SMS_MAX_CHARS}")
    return text.encode("utf-8")


def image(path: Path) -> tuple[bytes, str] | None:
    subtype = IMAGE_TYPES.get(path.suffix.lower())
    return (path.read_bytes(), subtype) if subtype and path.is_file() else None


def _domain(sender: str) -> str:
    addr = email.utils.parseaddr(sender)[1]
    return addr.rpartition("@")[2] or "localhost"


def site_domain(url: str) -> str:
    return urlsplit(url).hostname or "localhost"
