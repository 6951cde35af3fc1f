"""The intake server: the "Share your story" form posts here.

``create_app(config)`` builds the Flask app from a plain dict (see
:class:`~storywall.intake.config.IntakeConfig` for every key); production
runs it with waitress (``storywall intake``). Modules:

- ``forms``: form fields → the story file's front matter, checked by the one schema;
- ``pipeline``: accept one submission (photos re-encoded, written whole, private parts apart);
- ``storage``: atomic folder writes and the private SQLite store;
- ``gitflow``: Git mode (a branch and a pull request per submission, a retried queue);
- ``views`` / ``render``: HTTP, and the form page again after a rejection;
- ``imports``: CSV, JSON and e-mail exports through the same pipeline;
- ``limits``: every limit, with its unit.
"""

from __future__ import annotations

from typing import Any, Mapping

from flask import Flask

from .config import IntakeConfig, load
from .limits import RateLimiter

__all__ = ["IntakeConfig", "create_app", "make_intake"]


def make_intake(cfg: IntakeConfig):
    """The pipeline (and its Git queue in Git mode) for one site, without HTTP."""
    from .gitflow import GitFlow
    from .pipeline import Intake
    from .storage import Store

    store = Store(cfg.submissions, cfg.private).open()
    git = None
    if cfg.git:
        git = GitFlow(store, cfg.site_dir, remote=cfg.git_remote, base=cfg.git_base,
                      author=cfg.git_author, retry_seconds=cfg.git_retry_seconds,
                      github_api_url=cfg.github_api_url, github_token=cfg.github_token,
                      github_repository=cfg.github_repository)
        git.recover()
    return Intake(cfg, store, git)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The intake Flask app; ``config`` has upper-case IntakeConfig keys."""
    from . import render, views

    cfg = load(config)
    app = Flask(__name__)
    app.request_class = views.IntakeRequest
    app.config.update(
        TESTING=cfg.testing,
        MAX_CONTENT_LENGTH=cfg.max_request_bytes,
        MAX_FORM_MEMORY_SIZE=cfg.max_field_bytes,
        MAX_FORM_PARTS=cfg.max_form_parts,
        STORYWALL_INTAKE=cfg,
    )
    if cfg.trusted_proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=cfg.trusted_proxy_hops,
                                x_proto=cfg.trusted_proxy_hops, x_host=cfg.trusted_proxy_hops)
    intake = make_intake(cfg)
    app.extensions["storywall_intake"] = intake
    if cfg.rate_limit:
        app.extensions["storywall_rate_limiter"] = RateLimiter(*cfg.rate_limit)
    if intake.git is not None and cfg.git_worker:
        intake.git.start()
    render.warm(cfg)
    app.register_blueprint(views.bp)
    return app
