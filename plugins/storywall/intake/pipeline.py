"""Accepting one submission: check, store whole, keep the private parts private.

The web form (views.py) and ``storywall import`` (imports.py) both call
:meth:`Intake.accept` with a :class:`~storywall.intake.forms.Draft`, so every
submission goes through the same checks however it arrived.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import content, photos, schema, video
from ..errors import StoryWallError
from . import forms
from .config import IntakeConfig
from .storage import INDEX, StorageError, Store, copy_hashed, write_file

logger = logging.getLogger("storywall.intake")
PREFIX = "storywall.intake: "
VIDEO_UPLOAD = "video.upload"  # the raw upload in the staging folder's .uploads/ (never kept)

CONSENT_WORDING = {  # as shown on the form; recorded with each consent
    "publish": "You may publish my story on the story wall, under the name I gave.",
    "photos": "You may publish the photos and the video I added, with my story.",
    "contact": "You may contact me (by e-mail or text message) when my story is live, and "
               "with updates on what the initiative achieved. I can unsubscribe at any time.",
}


class Rejected(StoryWallError):
    """The submission cannot be accepted as sent; the supporter can fix it."""

    def __init__(self, status: int, code: str, message: str,
                 errors: list[forms.FieldError] | tuple = (), draft: forms.Draft | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.errors = list(errors)
        self.draft = draft


class Unavailable(StoryWallError):
    """The server could not store the submission (disk full, I/O error): try again later."""

    code = "unavailable"


@dataclass
class Accepted:
    id: str
    initiative: str
    duplicate: bool = False
    warnings: list[str] = field(default_factory=list)


def log_outcome(sub_id: str, outcome: str, reason: str, n_photos: int, started: float,
                source: str = "form", n_videos: int = 0) -> None:
    """One line per submission: id, outcome, reason code — never personal data."""
    logger.info("%ssubmission id=%s source=%s outcome=%s reason=%s photos=%d videos=%d ms=%d",
                PREFIX, sub_id or "-", source, outcome, reason or "-", n_photos, n_videos,
                (time.monotonic() - started) * 1000)


def _photo_message(err: photos.PhotoError, slot: int) -> str:
    hint = err.hint[:1].upper() + err.hint[1:] if err.hint else ""
    return f"Photo {slot}: {err.problem}." + (f" {hint}." if hint else "")


def _video_message(err: video.VideoError) -> str:
    hint = err.hint[:1].upper() + err.hint[1:] if err.hint else ""
    return f"Video: {err.problem}." + (f" {hint}." if hint else "")


class Intake:
    """The submission pipeline over one site's folders."""

    def __init__(self, config: IntakeConfig, store: Store | None = None, git=None):
        self.config = config
        self.store = store or Store(config.submissions, config.private).open()
        self.git = git

    @functools.cached_property
    def country_code(self) -> str:
        """The site's phone_country_code setting (for numbers written without one)."""
        from .render import _site_context

        return _site_context(str(self.config.site_dir),
                             str(self.config.content))["STORYWALL_SETTINGS"].phone_country_code

    def initiatives(self) -> dict[str, schema.Initiative]:
        found, _ = content.load_initiatives(self.config.content, self.config.site_dir)
        return found

    def content_hash(self, draft: forms.Draft, photo_hashes: list[str]) -> str:
        values = draft.values()
        values["source"] = draft.source
        values["photos"] = photo_hashes
        blob = json.dumps(values, sort_keys=True, ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()

    def accept(self, draft: forms.Draft, today: dt.date | None = None,
               duplicate_window: float | None = None) -> Accepted:
        """Check and store one submission; raise Rejected or Unavailable.

        The same content within ``duplicate_window`` seconds (default: the
        setting) returns the first submission's id instead of a second copy.
        """
        started = time.monotonic()
        today = today or dt.date.today()
        window = self.config.duplicate_window_seconds if duplicate_window is None \
            else duplicate_window
        videos = int(draft.video is not None)
        try:
            result = self._accept(draft, today, window)
        except Rejected as err:
            err.draft = err.draft or draft
            log_outcome("", "rejected", err.code, len(draft.photos), started, draft.source,
                        videos)
            raise
        except Unavailable as err:
            log_outcome("", "error", "unavailable", len(draft.photos), started, draft.source,
                        videos)
            raise err
        log_outcome(result.id, "duplicate" if result.duplicate else "accepted", "",
                    len(draft.photos), started, draft.source, videos)
        return result

    def _accept(self, draft: forms.Draft, today: dt.date, window: float) -> Accepted:
        if len(draft.photos) > self.config.max_photos:
            raise Rejected(413, "too-many-photos",
                           f"At most {self.config.max_photos} photos can be sent with one story.",
                           [forms.FieldError("photo_1", f"Choose at most "
                                             f"{self.config.max_photos} photos.",
                                             "too-many-photos")])
        known = self.initiatives()
        errors = forms.validate(draft, set(known), today, country_code=self.country_code)
        if errors:
            raise Rejected(422, errors[0].code, "Please check the marked fields.", errors)
        try:
            return self._store(draft, today, known, window)
        except (OSError, sqlite3.Error, StorageError) as err:
            logger.error("%scould not store a submission: %s", PREFIX,
                         getattr(err, "strerror", None) or type(err).__name__)
            raise Unavailable("We could not save your story just now. Nothing was kept — "
                              "please try again in a few minutes.") from err

    def _store(self, draft: forms.Draft, today: dt.date, known, window: float) -> Accepted:
        store = self.store
        sub_id = store.unused_id(today)
        reserved = False
        with store.stage(sub_id) as staging:
            try:
                hashes = [copy_hashed(p.save, staging.uploads / f"{p.slot}.upload")
                          for p in draft.photos]
                if draft.video is not None:
                    hashes.append(copy_hashed(draft.video.save, staging.uploads / VIDEO_UPLOAD))
                digest = self.content_hash(draft, hashes)
                first = store.reserve(sub_id, draft.source, digest, email=draft.email,
                                      contact_ok=draft.consent_contact,
                                      supporter=self._supporter(draft),
                                      consent={"publish": draft.consent_publish,
                                               "photos": draft.consent_photos,
                                               "contact": draft.consent_contact},
                                      wording=json.dumps(CONSENT_WORDING),
                                      duplicate_window=window)
                if first:
                    return Accepted(first, draft.initiative, duplicate=True)
                reserved = True
                files = self._photos(draft, staging)
                clip = self._video(draft, staging)
                data = forms.front_matter(draft, sub_id, today, files, clip)
                index = staging.path / INDEX
                write_file(index, forms.document(data, draft.story).encode("utf-8"))
                story, problems = schema.parse_story(index, initiatives=set(known),
                                                     label=f"submissions/{sub_id}/{INDEX}")
                if story is None:  # cannot happen after validate(); never store a bad file
                    raise Rejected(422, "invalid", "; ".join(str(p) for p in problems))
                staging.commit()
            except BaseException:
                if reserved:
                    store.forget(sub_id)
                raise
        if self.git is not None:
            self.git.enqueue(sub_id)
        warnings = [p.message for p in problems if not p.is_error]
        return Accepted(sub_id, draft.initiative, warnings=warnings)

    def _supporter(self, draft: forms.Draft) -> dict:
        """Who sent it, for the private journey (normalised; validate() checked them)."""
        from ..supporters import normalise_email, normalise_phone

        return {"email": normalise_email(draft.email),
                "phone": normalise_phone(draft.phone, self.country_code),
                "channel": draft.channel or ("sms" if draft.phone and not draft.email
                                             else "email"),
                "name": draft.author, "invite": draft.invite, "initiative": draft.initiative,
                "contact_ok": draft.consent_contact}

    def _photos(self, draft: forms.Draft, staging) -> dict[int, str]:
        files, errors = {}, []
        for p in draft.photos:
            name = f"photo-{p.slot}.jpg"
            try:
                photos.sanitize_photo(staging.uploads / f"{p.slot}.upload", staging.path,
                                      name=name, max_bytes=self.config.max_photo_bytes,
                                      max_pixels=self.config.max_photo_pixels,
                                      label=f"Photo {p.slot}")
            except photos.PhotoError as err:
                errors.append(forms.FieldError(forms.PHOTO_FIELD.format(p.slot),
                                               _photo_message(err, p.slot), err.code))
                continue
            files[p.slot] = name
        if errors:
            raise Rejected(422, errors[0].code, "A photo could not be used.", errors)
        return files

    def _video(self, draft: forms.Draft, staging) -> str:
        """Probe the upload with the limits and remux it without metadata; its file name."""
        if draft.video is None:
            return forms.VIDEO_FILE
        try:
            facts = video.strip_video(staging.uploads / VIDEO_UPLOAD, staging.path,
                                      name=forms.VIDEO_FILE, label="Video",
                                      **self.config.video_limits())
        except video.VideoError as err:
            raise Rejected(422, f"video-{err.code}", "The video could not be used.",
                           [forms.FieldError(forms.VIDEO_FIELD, _video_message(err),
                                             f"video-{err.code}")]) from None
        return Path(facts.path).name
