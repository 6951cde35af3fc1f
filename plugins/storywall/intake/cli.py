"""``storywall intake`` and ``storywall import``: click commands over the intake package.

Registered on the main group in storywall/cli.py with
``cli.add_command(intake_command)`` and ``cli.add_command(import_command)``.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from ..cliutil import Context, handle_errors
from ..errors import StoryWallError
from . import limits

logger = logging.getLogger("storywall.intake")


def site_config(site: Path, *, git: bool = False, remote: str = "origin",
                base: str = "") -> dict:
    """IntakeConfig keys for a site folder: its settings plus the environment.

    SITE_URL is $STORYWALL_SITEURL, else publishconf.py's SITEURL, else
    pelicanconf.py's. $STORYWALL_INTAKE_ORIGINS adds allowed origins (space or
    comma separated); $STORYWALL_INTAKE_PROXY_HOPS trusts that many proxies'
    X-Forwarded-For. The photo and video limits come from STORYWALL in pelicanconf.py
    (the request-body limit follows the video limit).
    """
    from .. import settings as sw_settings
    from ..build import read_pelican_settings

    pelican = {}
    for publish in (True, False):
        conf = site / ("publishconf.py" if publish else "pelicanconf.py")
        if conf.is_file():
            quiet = logging.getLogger("pelican")
            level, quiet.level = quiet.level, logging.ERROR
            try:
                pelican = read_pelican_settings(site, publish=publish)
            finally:
                quiet.setLevel(level)
            break
    sw = sw_settings.load(pelican.get("STORYWALL"))
    site_url = os.environ.get("STORYWALL_SITEURL") or pelican.get("SITEURL") or ""
    config = {
        "SITE_DIR": site,
        "SITE_URL": site_url if site_url.startswith(("http://", "https://")) else "",
        "ALLOWED_ORIGINS": os.environ.get("STORYWALL_INTAKE_ORIGINS", ""),
        "TRUSTED_PROXY_HOPS": int(os.environ.get("STORYWALL_INTAKE_PROXY_HOPS", "0") or 0),
        "MAX_PHOTO_BYTES": sw.max_photo_bytes,
        "MAX_PHOTO_PIXELS": sw.max_photo_pixels,
        "MAX_VIDEO_BYTES": sw.max_video_bytes,
        "MAX_VIDEO_SECONDS": sw.max_video_seconds,
        "MAX_VIDEO_PIXELS": sw.max_video_pixels,
        "MAX_VIDEO_FPS": sw.max_video_fps,
        "GIT": git, "GIT_REMOTE": remote, "GIT_BASE": base,
    }
    if pelican.get("PATH"):
        config["CONTENT_DIR"] = Path(pelican["PATH"])
    return config


def waitress_options(app, threads: int = limits.SERVER_THREADS) -> dict:
    """waitress settings for the intake app.

    The listen backlog is raised (a burst of clients must not overflow it).
    waitress itself refuses bodies over twice MAX_REQUEST_BYTES before reading
    them; anything between is read and refused by the app with a clear 413.
    """
    cfg = app.extensions["storywall_intake"].config
    return {"threads": threads, "backlog": limits.SERVER_BACKLOG,
            "max_request_body_size": 2 * cfg.max_request_bytes,
            "ident": "storywall-intake", "channel_timeout": 120}


def serve(app, host: str, port: int, threads: int = limits.SERVER_THREADS) -> None:
    """Run ``app`` with waitress until interrupted."""
    import waitress

    waitress.serve(app, host=host, port=port, _quiet=True, **waitress_options(app, threads))


@click.command("intake")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8070, show_default=True)
@click.option("--git", "git_mode", is_flag=True,
              help="Commit each submission on its own branch and push it (and open a PR "
                   "when $GITHUB_TOKEN and $GITHUB_REPOSITORY are set).")
@click.option("--remote", default="origin", show_default=True, help="Git mode: the remote.")
@click.option("--base", default="", help="Git mode: base branch (default: the current one).")
@click.option("--threads", type=click.IntRange(1, 64), default=limits.SERVER_THREADS,
              show_default=True, help="Worker threads.")
@handle_errors
def intake_command(ctx: Context, host: str, port: int, git_mode: bool, remote: str, base: str,
                   threads: int):
    """Run the intake server: the share form posts submissions to /submit."""
    from . import create_app

    logging.getLogger("storywall.intake").setLevel(logging.INFO)
    app = create_app(site_config(ctx.site, git=git_mode, remote=remote, base=base))
    cfg = app.extensions["storywall_intake"].config
    click.echo(f"Story Wall intake on http://{host}:{port}/submit — writing to {cfg.submissions}"
               f"{' (Git mode)' if git_mode else ''}; Ctrl-C to stop", err=True)
    try:
        serve(app, host, port, threads)
    except KeyboardInterrupt:
        pass
    finally:
        git = app.extensions["storywall_intake"].git
        if git is not None:
            git.stop()


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["auto", "csv", "json", "eml"]),
              default="auto", show_default=True, help="auto: from the file's extension.")
@click.option("--git", "git_mode", is_flag=True, help="Also commit and push each one (Git mode).")
@handle_errors
def import_command(ctx: Context, file: Path, fmt: str, git_mode: bool):
    """Bring CSV/JSON exports or .eml e-mails in as submissions (same checks as the form)."""
    from . import load, make_intake
    from .imports import import_file

    config = site_config(ctx.site, git=git_mode)
    config["RATE_LIMIT"] = None
    intake = make_intake(load(config))
    outcomes = import_file(intake, file, fmt)
    for outcome in outcomes:
        click.echo(str(outcome))
    if intake.git is not None:
        done, failed = intake.git.drain()
        click.echo(f"Git: {done} pushed, {failed} still queued.", err=True)
    ok = sum(o.ok for o in outcomes)
    click.echo(f"{ok} of {len(outcomes)} imported.", err=True)
    if ok < len(outcomes):
        raise StoryWallError(f"{len(outcomes) - ok} record(s) could not be imported")
    sys.stdout.flush()
