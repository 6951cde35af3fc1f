"""Messages to supporters, rendered from the theme's ``templates/email/`` templates.

Each message kind has ``<kind>.txt`` (the plain-text part; its
``{% set subject %}`` block is the subject line) and ``<kind>.html`` (the HTML
part), and may have ``<kind>.sms.txt`` (a text message of at most
:data:`SMS_MAX_CHARS`). Templates get the same filters as the site's theme.
The HTML part embeds its images (the story's share card) instead of loading
them from the web, so opening a message tells nobody anything.
"""

from __future__ import annotations

import email.charset
import email.header
import email.policy
import email.utils
import functools
import re
from dataclasses import dataclass, field
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from pathlib import Path
from urllib.parse import urlsplit

import jinja2

from . import filters
from .errors import StoryWallError

SMS_MAX_CHARS = 160  # one GSM-7 segment (templates keep to plain characters)
SMS_MIN_WORDS_CHARS = 30  # a text message needs at least this much besides its link
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
    """One multipart/alternative message (text + HTML with inline images) as SMTP bytes.

    Built with the email package's classic (compat32) classes: the modern API's
    header objects cost ~4 ms a message, which a 10,000-gift campaign notices.
    """
    context = {**context, "unsubscribe_url": letter.unsubscribe_url}
    text_module = _module(env, f"email/{kind}.txt", context)
    subject = " ".join(str(getattr(text_module, "subject", "")).split())
    if not subject:
        raise TemplateMissing(f"theme/templates/email/{kind}.txt: no subject — add "
                              "{% set subject %}…{% endset %}")
    html = str(_module(env, f"email/{kind}.html", {**context, "subject": subject}))
    msg = MIMEMultipart("alternative")
    msg["Subject"] = _header(subject)
    msg["From"] = _address(letter.sender)
    msg["To"] = _address(email.utils.formataddr((letter.to_name, letter.to))
                         if letter.to_name else letter.to)
    msg["Date"] = email.utils.formatdate(localtime=False)
    msg["Message-ID"] = email.utils.make_msgid("storywall", _domain(letter.sender))
    msg["Auto-Submitted"] = "auto-generated"
    if letter.unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{letter.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
    msg.attach(_text(_tidy(str(text_module)), "plain"))
    html_part = _text(html, "html")
    if letter.images:
        related = MIMEMultipart("related")
        related.attach(html_part)
        for cid, (data, subtype) in letter.images.items():
            part = MIMEImage(data, _subtype=subtype)
            part["Content-ID"] = f"<{cid}>"
            part["Content-Disposition"] = "inline"
            related.attach(part)
        html_part = related
    msg.attach(html_part)
    return msg.as_bytes(policy=email.policy.compat32.clone(linesep="\r\n"))


def _charset() -> email.charset.Charset:
    charset = email.charset.Charset("utf-8")
    charset.body_encoding = email.charset.QP  # readable in any mail source view
    return charset


def _text(body: str, subtype: str) -> MIMENonMultipart:
    part = MIMENonMultipart("text", subtype)
    part.set_payload(body, charset=_charset())
    return part


def _header(value: str) -> str:
    try:
        value.encode("ascii")
        return value
    except UnicodeEncodeError:
        return email.header.Header(value, "utf-8").encode()


def _address(value: str) -> str:
    """'Zoë Trust <a@example.org>' with its name encoded (RFC 2047) when it is not ASCII."""
    name, addr = email.utils.parseaddr(value)
    return email.utils.formataddr((name, addr), charset="utf-8") if name else addr


def render_sms(env: jinja2.Environment, kind: str, context: dict) -> bytes:
    """A text message of at most :data:`SMS_MAX_CHARS` characters, its link kept whole."""
    text = " ".join(str(_module(env, f"email/{kind}.sms.txt", context)).split())
    return fit_sms(text, kind).encode("utf-8")


def fit_sms(text: str, kind: str = "", limit: int = SMS_MAX_CHARS) -> str:
    """Shorten the words before the closing link (never the link) to fit ``limit``."""
    if len(text) <= limit:
        return text
    head, _, url = text.rpartition(" ")
    room = limit - len(url) - len(" ...")
    if not url.startswith(("https://", "http://")) or room < SMS_MIN_WORDS_CHARS:
        raise StoryWallError(f"theme/templates/email/{kind}.sms.txt: the text message is "
                             f"{len(text)} characters — shorten it to {limit}, with its link "
                             "last")
    cut = head[:room + 1].rsplit(" ", 1)[0].rstrip(" ,.:;!-")
    return f"{cut}... {url}"


def image(path: Path) -> tuple[bytes, str] | None:
    subtype = IMAGE_TYPES.get(path.suffix.lower())
    return (path.read_bytes(), subtype) if subtype and path.is_file() else None


def _domain(sender: str) -> str:
    addr = email.utils.parseaddr(sender)[1]
    return addr.rpartition("@")[2] or "localhost"


def site_domain(url: str) -> str:
    return urlsplit(url).hostname or "localhost"
