"""From form fields to a story file, validated by the one schema.

The form's names (``title``, ``story``, ``photo_1``, ``alt_1``, ``video``,
``transcript`` …) are turned
into the front matter of ``submissions/<id>/index.md``; that text is checked
by :func:`storywall.schema.parse_story`, and each Problem's field is mapped
back to the form field it came from so the supporter gets a plain message
beside the right box. No field rule lives here: only the translation, and the
intake's own policy on consent and the private e-mail address.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Collection

import yaml

from .. import schema
from . import limits

TEXT_FIELDS = ("kind", "rating", "initiative", "title", "story", "author", "email", "phone",
               "channel", "invite")
CHANNELS = ("email", "sms")
CHECKBOXES = ("consent_publish", "consent_photos", "consent_contact")
HONEYPOT = "website"
PHOTO_FIELD = "photo_{}"
ALT_FIELD = "alt_{}"
CAPTION_FIELD = "caption_{}"
VIDEO_FIELD = "video"
TRANSCRIPT_FIELD = "transcript"
VIDEO_FILE = "video.mp4"  # the stored name (``video.mov`` when MP4 cannot hold the codecs)

LABELS = {
    "kind": "What you are sharing",
    "rating": "Your rating",
    "initiative": "Initiative",
    "title": "Title",
    "story": "Your story",
    "author": "Your name as shown",
    "email": "E-mail address",
    "phone": "Mobile number",
    "channel": "How we tell you",
    "consent_publish": "Permission to publish",
    "consent_photos": "Permission to publish photos and video",
    "video": "Video",
    "transcript": "Transcript of the video",
    "consent_contact": "Permission to contact you",
    "form": "The form",
}

EMAIL_RE = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;.]{2,}$")
_CONTROL = {c for c in map(chr, range(32)) if c not in "\n\t"} | {"\x7f"}


@dataclass
class PhotoIn:
    """One uploaded photo, before it is checked: ``save(path)`` writes its raw bytes."""

    slot: int  # 1-based form slot (photo_1 … photo_6)
    filename: str  # as the client sent it (only for messages, never for storage)
    save: Callable[[Path], None]
    alt: str = ""
    caption: str = ""


@dataclass
class VideoIn:
    """The uploaded video, before it is checked: ``save(path)`` writes its raw bytes."""

    filename: str  # as the client sent it (only for messages, never for storage)
    save: Callable[[Path], None]


@dataclass
class Draft:
    """A submission as received: cleaned text, photos, and the private parts."""

    kind: str = ""
    rating: str = ""
    initiative: str = ""
    title: str = ""
    story: str = ""
    author: str = ""
    email: str = ""
    phone: str = ""  # private, like the e-mail address
    channel: str = ""  # email | sms: how the supporter wants to hear from us
    invite: str = ""  # the token of the invitation link the supporter followed
    consent_publish: bool = False
    consent_photos: bool = False
    consent_contact: bool = False
    photos: list[PhotoIn] = field(default_factory=list)
    video: VideoIn | None = None
    transcript: str = ""
    source: str = "form"
    date: dt.date | None = None  # when it was told (imports); default today

    def values(self) -> dict:
        """What the form shows again after a rejection (never the photos)."""
        out = {name: getattr(self, name) for name in TEXT_FIELDS}
        out.update({name: getattr(self, name) for name in CHECKBOXES})
        out[TRANSCRIPT_FIELD] = self.transcript
        for p in self.photos:
            out[ALT_FIELD.format(p.slot)] = p.alt
            out[CAPTION_FIELD.format(p.slot)] = p.caption
        return out


@dataclass(frozen=True)
class FieldError:
    field: str  # a form field name, or "form"
    message: str  # plain words for the supporter
    code: str = ""


def clean_text(value: str | None, multiline: bool = False) -> str:
    """NFC, no control characters, LF line ends; single-line fields on one line."""
    text = unicodedata.normalize("NFC", value or "").replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(c for c in text if c not in _CONTROL)
    if not multiline:
        text = " ".join(text.split())
    return text.strip()


def is_checked(value) -> bool:
    return str(value or "").strip().lower() in ("on", "yes", "true", "1", "y")


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):  # every value written out, never an *alias
        return True


def front_matter(draft: Draft, sub_id: str, today: dt.date,
                 photo_files: dict[int, str] | None = None, video_file: str = VIDEO_FILE) -> dict:
    """The story's front matter: public fields only (never the e-mail address)."""
    photo_files = photo_files or {}
    data: dict = {"title": draft.title, "kind": draft.kind or None}
    if draft.kind == "review":  # a story's leftover star choice is dropped
        data["rating"] = (int(draft.rating) if draft.rating.isdigit() else draft.rating) or None
    data.update({"author": draft.author, "initiative": draft.initiative,
                 "date": draft.date or today})
    if draft.photos:
        data["photos"] = []
        for p in draft.photos:
            item = {"file": photo_files.get(p.slot, f"photo-{p.slot}.jpg"), "alt": p.alt}
            if p.caption:
                item["caption"] = p.caption
            data["photos"].append(item)
    if draft.video is not None:
        data["video"] = {"file": video_file}
        if draft.transcript:
            data["video"]["transcript"] = draft.transcript
    data["consent"] = {"publish": draft.consent_publish, "photos": draft.consent_photos,
                       "given_on": today}
    data.update({"source": draft.source, "id": sub_id, "status": "pending"})
    return {k: v for k, v in data.items() if v is not None and v != ""}


def document(data: dict, body: str) -> str:
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)
    return "---\n" + text + "---\n" + body.strip("\n") + "\n"


def form_field(problem, slots: list[int] | None = None) -> str:
    """The form field a schema Problem is about (``slots``: photo index → form slot)."""
    name = problem.field
    match = re.match(r"^photos\[(\d+)\](?:\.(\w+))?$", name)
    if match:
        index, sub = int(match.group(1)), match.group(2)
        slot = slots[index] if slots and index < len(slots) else index + 1
        return {"alt": ALT_FIELD, "caption": CAPTION_FIELD}.get(sub, PHOTO_FIELD).format(slot)
    if name == "video" or name.startswith("video."):
        return TRANSCRIPT_FIELD if name == "video.transcript" else VIDEO_FIELD
    return {"body": "story", "consent.publish": "consent_publish",
            "consent.photos": "consent_photos", "photos": PHOTO_FIELD.format(1),
            "title": "title", "kind": "kind", "author": "author", "initiative": "initiative",
            "rating": "rating"}.get(name, "form")


def _label(name: str) -> str:
    base = re.sub(r"_\d+$", "", name)
    slot = name.rsplit("_", 1)[-1] if base != name else ""
    words = {"photo": "Photo", "alt": "Description of photo", "caption": "Caption of photo"}
    if base in words:
        return f"{words[base]} {slot}"
    return LABELS.get(name, name)


def plain_message(problem, name: str) -> str:
    """The schema's words, addressed to a supporter rather than a file editor."""
    label = _label(name)
    if name == "kind":
        return "Choose whether this is a story or a review."
    if name == "rating":
        return "Choose a rating from 1 to 5 stars."
    if problem.code == "missing" or problem.message == "is empty":
        if name == "story":
            return "Please write your story."
        if name.startswith("alt_"):
            return (f"{label}: please describe the photo in a few words for people who "
                    "cannot see it.")
        if name == TRANSCRIPT_FIELD:
            return ("Please write down what is said in the video, for people who cannot "
                    "hear it.")
        return f"Please fill in {label.lower()}."
    if problem.code == "no-photo-consent":
        return ("Tick this box to let us publish your photos and video, or remove them.")
    if problem.code == "unknown-initiative":
        return "Choose one of the initiatives in the list."
    hint = problem.hint
    hint = hint[:1].upper() + hint[1:] if hint else ""
    return f"{label} {problem.message}." + (f" {hint}." if hint else "")


def validate(draft: Draft, initiatives: Collection[str] | None, today: dt.date,
             sub_id: str = "2000-01-01-preview", country_code: str = "") -> list[FieldError]:
    """Every rule, as per-field messages: the schema's, then the intake's own policy."""
    text = document(front_matter(draft, sub_id, today), draft.story)
    _, problems = schema.parse_story(Path("submission/index.md"), text=text,
                                     initiatives=initiatives, check_files=False,
                                     label="submission")
    errors: list[FieldError] = []
    seen: set[str] = set()
    for problem in problems:
        if not problem.is_error:
            continue
        name = form_field(problem, [p.slot for p in draft.photos])
        if name in seen:
            continue
        seen.add(name)
        errors.append(FieldError(name, plain_message(problem, name), problem.code or "invalid"))
    errors += _policy(draft, seen, country_code)
    return errors


def _policy(draft: Draft, seen: set[str], country_code: str = "") -> list[FieldError]:
    """Rules of the form itself, not of the story file."""
    errors = []
    if draft.transcript and draft.video is None and TRANSCRIPT_FIELD not in seen:
        errors.append(FieldError(VIDEO_FIELD, "Add the video that the transcript is for, or "
                                 "leave the transcript empty.", "transcript-without-video"))
    if not draft.consent_publish and "consent_publish" not in seen:
        errors.append(FieldError("consent_publish", "Tick this box so that we may publish your "
                                 "story on the wall. Without it we cannot use it.", "no-consent"))
    errors += _contact_policy(draft, country_code)
    return errors


def _contact_policy(draft: Draft, country_code: str = "") -> list[FieldError]:
    """An address only with consent; consent needs an address on the chosen channel."""
    from ..supporters import normalise_phone

    errors = []
    if draft.email and (len(draft.email) > limits.EMAIL_MAX_CHARS
                        or not EMAIL_RE.match(draft.email)):
        errors.append(FieldError("email", "This does not look like an e-mail address. "
                                 "Check it, or leave the box empty.", "bad-email"))
    if draft.phone:
        try:
            normalise_phone(draft.phone, country_code)
        except ValueError:
            errors.append(FieldError("phone", "This does not look like a mobile number. Write "
                                     "it with the country code (+44 7700 900123), or leave "
                                     "the box empty.", "bad-phone"))
    if draft.channel and draft.channel not in CHANNELS:
        errors.append(FieldError("channel", "Choose e-mail or text message.", "bad-channel"))
    if errors:
        return errors
    if (draft.email or draft.phone) and not draft.consent_contact:
        errors.append(FieldError("consent_contact", "Tick this box if we may contact you, "
                                 "or leave the e-mail address and mobile number empty.",
                                 "email-without-consent"))
    elif draft.consent_contact and draft.channel == "sms" and not draft.phone:
        errors.append(FieldError("phone", "Add your mobile number so that we can text you, "
                                 "or choose e-mail.", "missing-phone"))
    elif draft.consent_contact and not (draft.email or draft.phone):
        errors.append(FieldError("email", "Add your e-mail address so that we can tell you, "
                                 "or untick the box.", "missing-email"))
    elif draft.consent_contact and draft.channel == "email" and not draft.email:
        errors.append(FieldError("email", "Add your e-mail address so that we can tell you, "
                                 "or choose text message.", "missing-email"))
    return errors
