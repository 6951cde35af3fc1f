"""The ``storywall`` command: thin click adapters over the library.

Errors are one line on stderr and a non-zero exit; ``--debug`` shows the
traceback. ``check`` exits 0 when clean, 1 on problems, 2 on bad usage.
"""

from __future__ import annotations

import functools
import http.server
import logging
import sys
from pathlib import Path

import click

from . import __version__
from .cliutil import Context, handle_errors


@click.group()
@click.version_option(__version__, prog_name="storywall")
@click.option("--site", type=click.Path(file_okay=False, path_type=Path), default=".",
              show_default=True, help="The site's folder (holds pelicanconf.py).")
@click.option("--debug", is_flag=True, help="Show tracebacks and Pelican's debug log.")
@click.pass_context
def cli(click_ctx, site: Path, debug: bool):
    """Story Wall: supporters' stories, moderated in Git, built with Pelican."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="%(levelname)s: %(message)s")
    click_ctx.obj = Context(site.resolve(), debug)


@cli.command()
@click.option("--output", type=click.Path(file_okay=False, path_type=Path),
              help="Write the site here instead of OUTPUT_PATH.")
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option("--publish", is_flag=True, help="Use publishconf.py (the public SITEURL).")
@handle_errors
def build(ctx: Context, output: Path | None, strict: bool, publish: bool):
    """Check content, build the site with Pelican, swap in the new output."""
    from .build import build as run_build

    report = run_build(ctx.site, output, strict=strict, publish=publish)
    click.echo(f"Built {report.stories} stories into {report.output} "
               f"in {report.seconds:.2f} s ({len(report.warnings)} warning(s)).")


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "github"]), default="text",
              show_default=True, help="'github' prints workflow annotations for CI.")
@handle_errors
def check(ctx: Context, paths: tuple[Path, ...], fmt: str):
    """Validate submissions and content (default: content/ and submissions/)."""
    from . import settings as sw_settings
    from .build import read_pelican_settings
    from .checks import check_paths, github_annotation

    settings = read_pelican_settings(ctx.site)
    problems = check_paths(ctx.site, Path(settings["PATH"]), [Path(p) for p in paths],
                           settings=sw_settings.load(settings.get("STORYWALL")))
    for problem in problems:
        click.echo(github_annotation(problem) if fmt == "github" else str(problem))
    errors = sum(p.is_error for p in problems)
    if fmt == "text":
        click.echo(f"{errors} error(s), {len(problems) - errors} warning(s).", err=True)
    sys.exit(1 if errors else 0)


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves output/, with 404.html for missing pages and no caching."""

    def send_error(self, code, message=None, explain=None):
        page = Path(self.directory) / "404.html"
        if code == 404 and page.is_file():
            body = page.read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        super().send_error(code, message, explain)

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 - http.server's name
        pass


@cli.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--no-build", is_flag=True, help="Serve the existing output/ as it is.")
@handle_errors
def serve(ctx: Context, port: int, no_build: bool):
    """Build the site and serve it on 127.0.0.1 for preview."""
    from .build import build as run_build
    from .build import read_pelican_settings

    if no_build:
        output = Path(read_pelican_settings(ctx.site)["OUTPUT_PATH"])
    else:
        report = run_build(ctx.site)
        output = report.output
    handler = functools.partial(_Handler, directory=str(output))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    click.echo(f"Serving {output} on http://127.0.0.1:{port}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


from .moderation_cli import approve, reject, reply, review, withdraw  # noqa: E402

from .intake.cli import import_command, intake_command  # noqa: E402
from .loop_cli import invite, journey, notify  # noqa: E402

for _command in (review, approve, reject, reply, withdraw, intake_command, import_command,
                 notify, invite, journey):
    cli.add_command(_command)


def main():
    cli(prog_name="storywall")
