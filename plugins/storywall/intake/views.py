"""HTTP adapters: POST /submit, GET /submit, GET /healthz, /unsubscribe/<token>.

Form posts (no JavaScript) get a 303 redirect to ``/thanks/?id=…``; clients
that ask for ``Accept: application/json`` get JSON. A rejected form post gets
the site's own ``share.html`` back, rendered by this server with the
supporter's text still in it and a message beside each field.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

from flask import Blueprint, Request, current_app, jsonify, redirect, request, send_from_directory
from werkzeug.exceptions import HTTPException, NotFound, RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

from . import forms, limits, pipeline
from .config import origin_of

logger = logging.getLogger("storywall.intake")
bp = Blueprint("intake", __name__)

SLOT_RE = re.compile(r"^photo_(\d{1,2})$")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
BAD_FILENAME_RE = re.compile(r"[/\\\x00-\x1f\x7f]|^\.|\.\.")


class IntakeRequest(Request):
    """A request whose malformed multipart body is an error, not an empty form."""

    def make_form_data_parser(self) -> FormDataParser:
        return self.form_data_parser_class(
            stream_factory=self._get_file_stream, max_form_memory_size=self.max_form_memory_size,
            max_content_length=self.max_content_length, max_form_parts=self.max_form_parts,
            cls=self.parameter_storage_class, silent=False)


def _intake() -> pipeline.Intake:
    return current_app.extensions["storywall_intake"]


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes["application/json"] > \
        request.accept_mimetypes["text/html"]


def _allowed_origin(origin: str) -> bool:
    own = origin_of(request.host_url)
    return bool(origin) and (origin == own or origin in _intake().config.origins)


def _request_origin() -> str:
    origin = request.headers.get("Origin", "")
    if origin and origin != "null":
        return origin_of(origin) or origin
    if origin == "null":
        return "null"
    return origin_of(request.headers.get("Referer", ""))


@bp.after_app_request
def _cors(response):
    origin = request.headers.get("Origin", "")
    if origin and _allowed_origin(origin_of(origin)):
        response.headers["Access-Control-Allow-Origin"] = origin_of(origin)
        response.headers["Access-Control-Allow-Methods"] = "POST, GET, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
    response.headers.add("Vary", "Origin")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


# --- answers -----------------------------------------------------------------


def reject(status: int, code: str, message: str, errors=(), draft: forms.Draft | None = None,
           headers: dict | None = None):
    """The same rejection as JSON for fetch clients or as the form page again."""
    errors = list(errors)
    if wants_json():
        body = {"error": {"code": code, "message": message,
                          "fields": {e.field: e.message for e in errors}}}
        response = jsonify(body)
    else:
        from .render import render_form

        response = current_app.response_class(
            render_form(current_app, draft, errors, message), mimetype="text/html")
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _rejected(err: pipeline.Rejected):
    return reject(err.status, err.code, err.message, err.errors, err.draft)


def _early(code: str, status: int, message: str, started: float):
    pipeline.log_outcome("", "rejected", code, 0, started)
    return reject(status, code, message)


@bp.app_errorhandler(HTTPException)
def _http_error(err: HTTPException):
    if isinstance(err, RequestEntityTooLarge):
        limit = _intake().config.max_request_bytes
        message = (f"What you sent is too large: at most {limit // (1024 * 1024)} MB in all, "
                   "with text fields of moderate length. Send smaller or fewer photos, or a "
                   "shorter video.")
        pipeline.log_outcome("", "rejected", "too-large", 0, time.monotonic())
        return reject(413, "too-large", message)
    if isinstance(err, NotFound) and not wants_json():
        return err
    return reject(err.code or 500, err.name.lower().replace(" ", "-"), err.description or err.name)


# --- routes ------------------------------------------------------------------


@bp.get("/healthz")
def healthz():
    intake = _intake()
    try:
        with intake.store.db() as con:
            con.execute("SELECT 1")
        writable = intake.store.submissions.is_dir() and intake.store.incoming.is_dir()
    except Exception:  # noqa: BLE001 - any failure means unhealthy
        writable = False
    body = {"status": "ok" if writable else "unavailable"}
    if intake.git is not None:
        body["git_queue"] = intake.git.pending()
    return jsonify(body), (200 if writable else 503)


@bp.get("/")
def root():
    return redirect("/submit")


@bp.get("/submit")
def form_page():
    from .render import render_form

    draft = forms.Draft(initiative=forms.clean_text(request.args.get("initiative"))[:80],
                        invite=_token(request.args.get("invite")))  # an invitation link
    return current_app.response_class(render_form(current_app, draft, [], ""),
                                      mimetype="text/html")


@bp.route("/submit", methods=["OPTIONS"])
def preflight():
    return "", 204


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    """GET asks (mail scanners follow links); POST unsubscribes, also RFC 8058 one-click."""
    from ..supporters import Supporters
    from .render import render_unsubscribe

    store = Supporters(_intake().config.private)
    if request.method == "POST":
        person = store.unsubscribe(token)
    else:
        person = store.by_token(token)
    state = "unknown" if person is None else ("done" if request.method == "POST" else "ask")
    if state == "ask" and person.unsubscribed:
        state = "done"
    page = render_unsubscribe(current_app, state, token)
    return current_app.response_class(page, status=404 if person is None else 200,
                                      mimetype="text/html")


@bp.get("/theme/<path:name>")
def theme_static(name: str):
    """The theme's CSS and JS, for the form page this server renders (dev and errors)."""
    return send_from_directory(Path(_intake().config.theme) / "static", name)


@bp.post("/submit")
def submit():
    started = time.monotonic()
    intake = _intake()
    cfg = intake.config
    origin = _request_origin()
    if origin and not _allowed_origin(origin):
        return _early("bad-origin", 403, "This form can only be sent from the story wall's own "
                      "site. Open the form there and send it again.", started)
    if not origin and cfg.require_origin:
        return _early("no-origin", 403, "This request did not say which site it came from "
                      "(no Origin header). Send the form from the story wall's site.", started)
    if request.mimetype not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return _early("bad-content-type", 415, "Send the form as multipart/form-data.", started)
    if request.content_length is not None and request.content_length > cfg.max_request_bytes:
        raise RequestEntityTooLarge()
    limiter = current_app.extensions.get("storywall_rate_limiter")
    if limiter is not None:
        wait = limiter.allow(request.remote_addr or "-")
        if wait:
            pipeline.log_outcome("", "rejected", "rate-limited", 0, started)
            return reject(429, "rate-limited", "You have sent several stories in a short time. "
                          f"Please wait {int(wait // 60) + 1} minute(s) and try again.",
                          headers={"Retry-After": str(int(wait) + 1)})
    try:
        form, files = request.form, request.files
    except ValueError:
        return _early("malformed", 400, "The form data could not be read (malformed multipart "
                      "body). Reload the form and send it again.", started)
    if forms.clean_text(form.get(forms.HONEYPOT)):
        return _early("honeypot", 400, "This form could not be accepted.", started)
    draft, problem = draft_from(form, files, cfg.max_photos, cfg.max_video_bytes)
    if problem:
        code, status, message = problem
        pipeline.log_outcome("", "rejected", code, 0, started)
        return reject(status, code, message, draft=draft)
    try:
        result = intake.accept(draft)
    except pipeline.Rejected as err:
        return _rejected(err)
    except pipeline.Unavailable as err:
        return reject(503, "unavailable", str(err), draft=draft, headers={"Retry-After": "60"})
    thanks = cfg.thanks_url(result.id, result.initiative)
    if wants_json():
        return jsonify({"id": result.id, "status": "pending", "duplicate": result.duplicate,
                        "thanks_url": thanks, "warnings": result.warnings}), \
            (200 if result.duplicate else 201)
    return redirect(thanks, code=303)


def _token(value) -> str:
    """An invitation token as our links carry it (URL-safe base64), else nothing."""
    value = (value or "").strip()
    return value if TOKEN_RE.match(value) else ""


def _bad_filename(filename: str) -> bool:
    return len(filename) > limits.MAX_FILENAME_CHARS or bool(BAD_FILENAME_RE.search(filename))


def _video_in(upload, max_video_bytes: int):
    """The video upload as a VideoIn; or a (code, status, message) problem."""
    filename = upload.filename or ""
    if _bad_filename(filename):
        return None, ("bad-filename", 400, "The video's file name contains folders or "
                      "characters that are not allowed. Rename the file (e.g. video.mp4) and "
                      "try again.")
    if upload.content_length and upload.content_length > max_video_bytes:
        return None, ("video-too-large", 413, "The video is larger than "
                      f"{max_video_bytes // (1024 * 1024)} MB. Send a shorter video.")
    return forms.VideoIn(filename=filename, save=upload.save), None


def draft_from(form, files, max_photos: int, max_video_bytes: int = limits.MAX_VIDEO_BYTES):
    """Build a Draft from the parsed request; or a (code, status, message) problem."""
    draft = forms.Draft(
        kind=forms.clean_text(form.get("kind")), rating=forms.clean_text(form.get("rating")),
        initiative=forms.clean_text(form.get("initiative")),
        title=forms.clean_text(form.get("title")),
        story=forms.clean_text(form.get("story"), multiline=True),
        author=forms.clean_text(form.get("author")), email=forms.clean_text(form.get("email")),
        phone=forms.clean_text(form.get("phone")),
        channel=forms.clean_text(form.get("channel")).lower(),
        invite=_token(form.get("invite")),
        consent_publish=forms.is_checked(form.get("consent_publish")),
        consent_photos=forms.is_checked(form.get("consent_photos")),
        consent_contact=forms.is_checked(form.get("consent_contact")),
        transcript=forms.clean_text(form.get(forms.TRANSCRIPT_FIELD), multiline=True),
        source="form")
    uploads = [(name, f) for name, f in files.items(multi=True) if f.filename or f.content_length]
    clips = [f for name, f in uploads if name == forms.VIDEO_FIELD]
    uploads = [(name, f) for name, f in uploads if name != forms.VIDEO_FIELD]
    if len(clips) > 1:
        return draft, ("too-many-files", 413, "Only one video can be sent with one story.")
    if clips:
        draft.video, problem = _video_in(clips[0], max_video_bytes)
        if problem:
            return draft, problem
    if len(uploads) > max_photos:
        return draft, ("too-many-files", 413, f"At most {max_photos} photos can be sent with "
                       f"one story; {len(uploads)} were sent.")
    slots = set()
    for name, upload in uploads:
        match = SLOT_RE.match(name)
        if not match or not 1 <= int(match.group(1)) <= max_photos or name in slots:
            return draft, ("unexpected-file", 400, f"The file field '{name[:40]}' is not part "
                           "of this form. Reload the form and send it again.")
        slots.add(name)
        filename = upload.filename or ""
        if _bad_filename(filename):
            return draft, ("bad-filename", 400, "A photo's file name contains folders or "
                           "characters that are not allowed. Rename the file (e.g. photo.jpg) "
                           "and try again.")
        slot = int(match.group(1))
        draft.photos.append(forms.PhotoIn(
            slot=slot, filename=filename, save=upload.save,
            alt=forms.clean_text(form.get(forms.ALT_FIELD.format(slot))),
            caption=forms.clean_text(form.get(forms.CAPTION_FIELD.format(slot)))))
    draft.photos.sort(key=lambda p: p.slot)
    return draft, None
