"""``storywall import FILE``: CSV, JSON and e-mail (.eml) exports become submissions.

Every record goes through the same pipeline as the web form
(:meth:`~storywall.intake.pipeline.Intake.accept`): the one schema, photo
re-encoding with metadata stripped, whole-or-nothing writes, and the e-mail
address kept in the private store only.

CSV / JSON columns (case-insensitive; the first name is the form's):

- ``title``; ``story`` (or ``body``, ``text``, ``message``); ``author`` (or
  ``name``, ``display_name``); ``initiative``; ``kind`` (default story);
  ``rating`` (or ``stars``); ``date`` (YYYY-MM-DD, when it was told);
- ``consent_publish`` (or ``publish``, ``consent``), ``consent_photos``,
  ``consent_contact`` (or ``contact_ok``): yes/no, true/false, 1/0;
  ``email`` (private; kept only with ``consent_contact``);
- ``photo_1`` … ``photo_6`` (files beside the export), ``alt_1`` …, ``caption_1`` …
  JSON may instead give ``photos: [{file, alt, caption}]``;
- ``video`` (a file beside the export) and its ``transcript``; JSON may give
  ``video: {file, transcript}``. It is probed and stripped like a form upload.

A JSON file is a list of such objects, or ``{"submissions": [...]}``.

An ``.eml`` message: the subject is the title, the sender's display name the
author (unless a ``Name:`` line says otherwise), its text the story. Lines at
the top of the text such as ``Initiative: clean-water``, ``Kind: review``,
``Rating: 4``, ``Publish: yes``, ``Photos: yes``, ``Contact: yes``,
``Alt 1: …``, ``Caption 1: …`` set those fields and are removed from the story.
Image attachments become the photos, in order; an attachment's
Content-Description is its alt text when there is no ``Alt N:`` line. The
first video attachment becomes the video, with a ``Transcript: …`` line. The
sender's address is kept (privately) only with ``Contact: yes``.
"""

from __future__ import annotations

import csv
import datetime as dt
import email
import email.policy
import json
import re
import shutil
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Iterator

from ..errors import StoryWallError
from . import forms, pipeline

ALIASES = {
    "title": ("title", "subject", "headline"),
    "story": ("story", "body", "text", "message"),
    "author": ("author", "name", "display_name"),
    "initiative": ("initiative", "project"),
    "kind": ("kind", "type"),
    "rating": ("rating", "stars"),
    "date": ("date", "told_on", "submitted"),
    "email": ("email", "e-mail", "email_address"),
    "consent_publish": ("consent_publish", "publish", "consent"),
    "consent_photos": ("consent_photos", "photos_consent", "publish_photos"),
    "consent_contact": ("consent_contact", "contact_ok", "contact"),
}
MAX_IMPORT_BYTES = 64 * 1024 * 1024  # 64 MB: one export file (an .eml with photos)
IMPORT_DUPLICATE_WINDOW_SECONDS = 10 * 365 * 24 * 3600  # a re-imported record is never doubled
EML_HEADER_RE = re.compile(r"^(initiative|kind|rating|name|publish|photos|contact|transcript|"
                           r"alt \d|caption \d)\s*:\s*(.*)$", re.IGNORECASE)


class ImportFailed(StoryWallError):
    """The export file cannot be read at all."""


@dataclass
class Outcome:
    label: str  # "row 2", "item 1", "message"
    id: str = ""
    duplicate: bool = False
    errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return bool(self.id)

    def __str__(self) -> str:
        if self.ok:
            return f"{self.label}: {'already imported as' if self.duplicate else 'accepted as'} " \
                   f"{self.id}"
        return f"{self.label}: " + "; ".join(self.errors)


def _pick(row: dict, name: str) -> str:
    lowered = {str(k).strip().lower(): v for k, v in row.items() if k is not None}
    for alias in ALIASES.get(name, (name,)):
        value = lowered.get(alias)
        if value not in (None, ""):
            return str(value) if not isinstance(value, bool) else ("yes" if value else "no")
    return ""


def _inside(folder: Path, name: str) -> Path:
    path = (folder / name).resolve()
    if folder.resolve() not in path.parents:
        raise ValueError(f"file '{name}' is not in the export's folder")
    return path


def _copier(path: Path):
    return lambda dest: shutil.copyfile(path, dest)


def _writer(data: bytes):
    return lambda dest: Path(dest).write_bytes(data)


def draft_from_record(row: dict, folder: Path, source: str = "import") -> forms.Draft:
    """One CSV row or JSON object as a Draft (raises ValueError for a bad photo path)."""
    text = {name: _pick(row, name) for name in ALIASES}
    draft = forms.Draft(
        kind=forms.clean_text(text["kind"]).lower() or "story",
        rating=forms.clean_text(text["rating"]), initiative=forms.clean_text(text["initiative"]),
        title=forms.clean_text(text["title"]), story=forms.clean_text(text["story"], True),
        author=forms.clean_text(text["author"]), email=forms.clean_text(text["email"]),
        consent_publish=forms.is_checked(text["consent_publish"]),
        consent_photos=forms.is_checked(text["consent_photos"]),
        consent_contact=forms.is_checked(text["consent_contact"]), source=source)
    if text["date"]:
        try:
            draft.date = dt.date.fromisoformat(text["date"].strip()[:10])
        except ValueError:
            raise ValueError(f"date '{text['date']}' is not YYYY-MM-DD") from None
    if draft.email and not draft.consent_contact:
        draft.email = ""  # no consent to contact: the address is not kept at all
    photos = row.get("photos") if isinstance(row.get("photos"), list) else None
    items = []
    if photos is not None:
        for n, item in enumerate(photos, 1):
            item = item if isinstance(item, dict) else {"file": item}
            items.append((n, str(item.get("file", "")), str(item.get("alt", "")),
                          str(item.get("caption", ""))))
    else:
        for n in range(1, 7):
            name = _pick(row, f"photo_{n}")
            if name:
                items.append((n, name, _pick(row, f"alt_{n}"), _pick(row, f"caption_{n}")))
    for n, name, alt, caption in items:
        path = _inside(folder, name)
        if not path.is_file():
            raise ValueError(f"photo '{name}' was not found beside the export")
        draft.photos.append(forms.PhotoIn(n, path.name, _copier(path), forms.clean_text(alt),
                                          forms.clean_text(caption)))
    _record_video(draft, row, folder)
    return draft


def _record_video(draft: forms.Draft, row: dict, folder: Path) -> None:
    video = row.get("video")
    if isinstance(video, dict):
        name, transcript = str(video.get("file", "")), str(video.get("transcript", ""))
    else:
        name, transcript = _pick(row, "video"), _pick(row, "transcript")
    if not name:
        return
    path = _inside(folder, name)
    if not path.is_file():
        raise ValueError(f"video '{name}' was not found beside the export")
    draft.video = forms.VideoIn(path.name, _copier(path))
    draft.transcript = forms.clean_text(transcript, multiline=True)


def read_csv(path: Path) -> Iterator[tuple[str, dict]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        for number, row in enumerate(csv.DictReader(fh), start=2):
            yield f"{path.name}: row {number}", row


def read_json(path: Path) -> Iterator[tuple[str, dict]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as err:
        raise ImportFailed(f"{path}: not valid JSON ({err})") from None
    if isinstance(data, dict):
        data = data.get("submissions", [data])
    if not isinstance(data, list):
        raise ImportFailed(f"{path}: expected a list of submissions")
    for number, item in enumerate(data, start=1):
        yield f"{path.name}: item {number}", item if isinstance(item, dict) else {}


def draft_from_email(raw: bytes) -> forms.Draft:
    """One e-mail message (bytes) as a Draft with its image attachments."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    name, address = parseaddr(str(msg.get("From", "")))
    body_part = msg.get_body(preferencelist=("plain",))
    body = body_part.get_content() if body_part is not None else ""
    fields: dict[str, str] = {}
    lines = body.replace("\r\n", "\n").split("\n")
    while lines and (EML_HEADER_RE.match(lines[0].strip()) or (not lines[0].strip() and
                                                               not fields)):
        match = EML_HEADER_RE.match(lines.pop(0).strip())
        if match:
            fields[match.group(1).lower()] = match.group(2).strip()
    story = "\n".join(lines).split("\n-- \n")[0]  # drop a signature
    draft = forms.Draft(
        kind=(fields.get("kind") or "story").lower(), rating=fields.get("rating", ""),
        initiative=forms.clean_text(fields.get("initiative")),
        title=forms.clean_text(str(msg.get("Subject", ""))),
        story=forms.clean_text(story, multiline=True),
        author=forms.clean_text(fields.get("name") or name),
        consent_publish=forms.is_checked(fields.get("publish")),
        consent_photos=forms.is_checked(fields.get("photos")),
        consent_contact=forms.is_checked(fields.get("contact")), source="email")
    if draft.consent_contact:
        draft.email = forms.clean_text(address)
    slot = 0
    for part in msg.iter_attachments():
        if part.get_content_maintype() == "video" and draft.video is None:
            draft.video = forms.VideoIn(part.get_filename() or "video.mp4",
                                        _writer(part.get_payload(decode=True) or b""))
            draft.transcript = forms.clean_text(fields.get("transcript"), multiline=True)
            continue
        if part.get_content_maintype() != "image":
            continue
        slot += 1
        data = part.get_payload(decode=True) or b""
        alt = fields.get(f"alt {slot}") or str(part.get("Content-Description", "") or "")
        draft.photos.append(forms.PhotoIn(slot, part.get_filename() or f"photo-{slot}",
                                          _writer(data), forms.clean_text(alt),
                                          forms.clean_text(fields.get(f"caption {slot}"))))
    return draft


def _outcome(intake: pipeline.Intake, label: str, draft: forms.Draft) -> Outcome:
    try:
        result = intake.accept(draft, duplicate_window=IMPORT_DUPLICATE_WINDOW_SECONDS)
    except pipeline.Rejected as err:
        messages = [f"{e.field}: {e.message}" for e in err.errors] or [err.message]
        return Outcome(label, errors=tuple(messages))
    return Outcome(label, result.id, result.duplicate)


def import_file(intake: pipeline.Intake, path: Path, fmt: str = "auto") -> list[Outcome]:
    """Import every record of ``path``; one Outcome each (Unavailable stops the run)."""
    path = Path(path)
    if path.stat().st_size > MAX_IMPORT_BYTES:
        raise ImportFailed(f"{path}: over the {MAX_IMPORT_BYTES // (1024 * 1024)} MB limit")
    fmt = fmt if fmt != "auto" else path.suffix.lower().lstrip(".")
    if fmt == "eml":
        return [_outcome(intake, path.name, draft_from_email(path.read_bytes()))]
    readers = {"csv": read_csv, "json": read_json}
    if fmt not in readers:
        raise ImportFailed(f"{path}: unknown format — use a .csv, .json or .eml file")
    outcomes = []
    for label, row in readers[fmt](path):
        try:
            draft = draft_from_record(row, path.parent, "import")
        except ValueError as err:
            outcomes.append(Outcome(label, errors=(str(err),)))
            continue
        outcomes.append(_outcome(intake, label, draft))
    return outcomes
