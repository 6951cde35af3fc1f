"""The form page, rendered by the intake server from the site's own theme.

When a form post (no JavaScript) is rejected, the supporter must get the form
back with what they wrote still in it. The intake server renders the theme's
``share.html`` itself, with a context like Pelican's (``page``,
``initiatives``, ``STORYWALL_SETTINGS``, ``SITEURL`` …) plus ``form``:
``{values, errors, summary, action}``. So there is one form, in one template.
If the theme has no share.html, a plain built-in page lists the problems.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import jinja2

from .. import content, filters, markup, views
from .. import settings as sw_settings
from . import forms

logger = logging.getLogger("storywall.intake")


@dataclass
class _Page:
    title: str
    content: str
    slug: str = "share"
    template: str = "share"

    @property
    def url(self) -> str:
        return f"{self.slug}/"


@functools.lru_cache(maxsize=8)
def _site_context(site_dir: str, content_dir: str) -> dict:
    """SITENAME, STORYWALL settings and the nav pages, read once from the site."""
    ctx = {"SITENAME": "Story Wall", "DEFAULT_LANG": "en", "THEME_STATIC_DIR": "theme",
           "STORYWALL_SETTINGS": sw_settings.Settings(), "pages": [],
           "page": _Page("Share your story", "")}
    try:
        from ..build import read_pelican_settings

        quiet = logging.getLogger("pelican")
        level, quiet.level = quiet.level, logging.ERROR
        try:
            pelican = read_pelican_settings(Path(site_dir))
        finally:
            quiet.setLevel(level)
        ctx["SITENAME"] = pelican.get("SITENAME", ctx["SITENAME"])
        ctx["DEFAULT_LANG"] = pelican.get("DEFAULT_LANG", "en")
        ctx["THEME_STATIC_DIR"] = pelican.get("THEME_STATIC_DIR", "theme")
        ctx["STORYWALL_SETTINGS"] = sw_settings.load(pelican.get("STORYWALL"))
    except Exception as err:  # noqa: BLE001 - a site without pelicanconf still gets a form
        logger.debug("storywall.intake: no Pelican settings (%s)", err)
    pages, _ = content.load_pages(Path(content_dir), Path(site_dir))
    ctx["pages"] = [_Page(p.title, "", p.slug, p.template) for p in pages]  # as in Pelican
    for p in pages:
        if p.template == "share":
            ctx["page"] = _Page(p.title, markup.render(p.body, trusted=True), p.slug)
    return ctx


@functools.lru_cache(maxsize=8)
def _env(theme_dir: str) -> jinja2.Environment | None:
    templates = Path(theme_dir) / "templates"
    if not (templates / "share.html").is_file():
        return None
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(filters.FILTERS)
    return env


def warm(cfg) -> None:
    """Read the site's settings once, at start-up (Pelican's reader changes the current folder)."""
    _site_context(str(cfg.site_dir), str(cfg.content))
    _env(str(cfg.theme))


def page_context(app) -> dict:
    """What the theme's base.html needs: SITENAME, SITEURL, the nav pages, settings."""
    cfg = app.extensions["storywall_intake"].config
    ctx = dict(_site_context(str(cfg.site_dir), str(cfg.content)))
    ctx["SITEURL"] = ctx["STORYWALL_BASE_URL"] = cfg.site_url.rstrip("/")
    return ctx


def form_context(app, draft: forms.Draft | None, errors, summary: str) -> dict:
    intake = app.extensions["storywall_intake"]
    ctx = page_context(app)
    ctx["initiatives"] = [views.InitiativeView(initiative=i, body_html="", figures=[])
                          for i in sorted(intake.initiatives().values(), key=lambda i: i.title)]
    values = draft.values() if draft else {}
    notes = []
    if draft and draft.photos:
        notes.append("Your photos were not kept: please choose them again before sending.")
    if draft and draft.video:
        notes.append("Your video was not kept: please choose it again before sending.")
    ctx["form"] = {"values": values, "errors": {e.field: e.message for e in errors},
                   "summary": summary, "notes": notes, "action": "/submit",
                   "error_list": list(errors)}
    return ctx


def render_form(app, draft: forms.Draft | None, errors, summary: str) -> str:
    cfg = app.extensions["storywall_intake"].config
    env = _env(str(cfg.theme))
    ctx = form_context(app, draft, errors, summary)
    if env is not None:
        try:
            return env.get_template("share.html").render(ctx)
        except Exception:  # noqa: BLE001 - a theme bug must not hide the supporter's answer
            logger.exception("storywall.intake: the theme's share.html failed; "
                             "answering with the plain page")
    return jinja2.Environment(autoescape=True).from_string(FALLBACK).render(ctx)


def render_unsubscribe(app, state: str, token: str) -> str:
    """The theme's unsubscribe.html (or a plain page): state is ask | done | unknown."""
    cfg = app.extensions["storywall_intake"].config
    ctx = {**page_context(app), "state": state, "action": f"/unsubscribe/{token}",
           "page": _Page("Unsubscribe", "", "unsubscribe", "unsubscribe")}
    env = _env(str(cfg.theme))
    if env is not None:
        try:
            return env.get_template("unsubscribe.html").render(ctx)
        except jinja2.TemplateNotFound:
            pass
        except Exception:  # noqa: BLE001 - a theme bug must not stop an unsubscription
            logger.exception("storywall.intake: the theme's unsubscribe.html failed")
    return jinja2.Environment(autoescape=True).from_string(UNSUBSCRIBE_FALLBACK).render(ctx)


UNSUBSCRIBE_FALLBACK = """<!doctype html>
<html lang="{{ DEFAULT_LANG }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>Unsubscribe — {{ SITENAME }}</title></head>
<body><main><h1>Unsubscribe</h1>
{% if state == 'done' %}<p>You are unsubscribed. We will not write to you again.</p>
{% elif state == 'unknown' %}<p>This unsubscribe link is not valid. If you keep getting
messages from us, reply to one of them and we will stop.</p>
{% else %}<p>Stop all messages from {{ SITENAME }}?</p>
<form method="post" action="{{ action }}"><button type="submit">Unsubscribe</button></form>
{% endif %}</main></body></html>
"""


# Used only when the theme has no share.html (or it fails): the same fields, plain.
FALLBACK = """<!doctype html>
<html lang="{{ DEFAULT_LANG }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ page.title }} — {{ SITENAME }}</title></head>
<body><main><h1>{{ page.title }}</h1>
{% set v = form['values'] %}{% set e = form['errors'] %}
<div role="alert">{% if form['summary'] %}<h2>{{ form['summary'] }}</h2>
<ul>{% for err in form['error_list'] %}<li><a href="#field-{{ err.field }}">{{ err.message }}</a></li>{% endfor %}</ul>
{% for note in form['notes'] %}<p>{{ note }}</p>{% endfor %}{% endif %}</div>
<form method="post" action="{{ form['action'] }}" enctype="multipart/form-data">
<fieldset id="field-kind"><legend>What would you like to share?</legend>
{% for k, label in [('story', 'A story'), ('review', 'A review')] %}
<label><input type="radio" name="kind" value="{{ k }}"{% if (v.get('kind') or 'story') == k %} checked{% endif %}> {{ label }}</label>
{% endfor %}</fieldset>
<fieldset id="field-rating"><legend>Your rating (reviews only)</legend>
{% for n in range(1, 6) %}<label><input type="radio" name="rating" value="{{ n }}"{% if v.get('rating') == n|string %} checked{% endif %}> {{ n }}</label>
{% endfor %}</fieldset>
<p><label for="field-initiative">Initiative</label>
<select id="field-initiative" name="initiative"><option value="">Choose one…</option>
{% for i in initiatives %}<option value="{{ i.slug }}"{% if v.get('initiative') == i.slug %} selected{% endif %}>{{ i.initiative.title }}</option>{% endfor %}
</select></p>
{% for name, label in [('title', 'Title'), ('author', 'Your name as shown'), ('email', 'E-mail (optional, private)')] %}
<p><label for="field-{{ name }}">{{ label }}</label>
<input id="field-{{ name }}" name="{{ name }}" value="{{ v.get(name, '') }}">
{% if e.get(name) %}<strong>{{ e[name] }}</strong>{% endif %}</p>
{% endfor %}
<p><label for="field-story">Your story</label>
<textarea id="field-story" name="story" rows="10">{{ v.get('story', '') }}</textarea>
{% if e.get('story') %}<strong>{{ e['story'] }}</strong>{% endif %}</p>
{% for n in range(1, 7) %}<fieldset><legend>Photo {{ n }}</legend>
<label for="field-photo_{{ n }}">Photo</label> <input type="file" id="field-photo_{{ n }}" name="photo_{{ n }}">
<label for="field-alt_{{ n }}">Description</label> <input id="field-alt_{{ n }}" name="alt_{{ n }}" value="{{ v.get('alt_' ~ n, '') }}">
<label for="field-caption_{{ n }}">Caption</label> <input id="field-caption_{{ n }}" name="caption_{{ n }}" value="{{ v.get('caption_' ~ n, '') }}">
</fieldset>{% endfor %}
<fieldset><legend>Video</legend>
<label for="field-video">Video</label> <input type="file" id="field-video" name="video" accept="video/*">
{% if e.get('video') %}<strong>{{ e['video'] }}</strong>{% endif %}
<label for="field-transcript">Transcript (what is said in the video)</label>
<textarea id="field-transcript" name="transcript" rows="5">{{ v.get('transcript', '') }}</textarea>
{% if e.get('transcript') %}<strong>{{ e['transcript'] }}</strong>{% endif %}
</fieldset>
{% for name, label in [('consent_publish', 'You may publish my story.'), ('consent_photos', 'You may publish my photos and video.'), ('consent_contact', 'You may e-mail me about it.')] %}
<p><input type="checkbox" id="field-{{ name }}" name="{{ name }}" value="yes"{% if v.get(name) %} checked{% endif %}>
<label for="field-{{ name }}">{{ label }}</label>{% if e.get(name) %} <strong>{{ e[name] }}</strong>{% endif %}</p>
{% endfor %}
<p><button type="submit">Send my story</button></p></form></main></body></html>
"""
