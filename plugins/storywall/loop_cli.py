"""The commands that close the loop: ``notify`` (and, with them, ``invite`` and ``journey``).

Thin click adapters over :mod:`storywall.notify`; ``storywall.cli`` adds them.
"""

from __future__ import annotations

from pathlib import Path

import click

from .cliutil import Context, handle_errors

dry_run_option = click.option(
    "--dry-run", "dry_run", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
    help="Write each message to DIR (.eml, .txt for texts) instead of sending; records nothing.")
limit_option = click.option(
    "--limit", type=click.IntRange(min=1), metavar="N",
    help="Send at most N messages this run (default: the mail_batch_limit setting).")
pause_option = click.option(
    "--pause", type=click.FloatRange(min=0), metavar="SECONDS",
    help="Pause between messages (default: the mail_pause_seconds setting).")



@click.command()
@dry_run_option
@limit_option
@pause_option
@click.option("--output", type=click.Path(file_okay=False, path_type=Path),
              help="The built site whose pages are live (default: OUTPUT_PATH).")
@handle_errors
def notify(ctx: Context, dry_run: Path | None, limit: int | None, pause: float | None,
           output: Path | None):
    """E-mail authors whose story is live, supporters an initiative's new figures, and
    authors of rejected submissions their reason. Run it after each deploy."""
    from . import notify as core

    report = core.notify(ctx.site, dry_run=dry_run, limit=limit, pause=pause, output=output)
    click.echo(report.summary(dry_run is not None))
    for path in report.written:
        click.echo(f"  {path}")


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@dry_run_option
@limit_option
@pause_option
@handle_errors
def invite(ctx: Context, file: Path, dry_run: Path | None, limit: int | None,
           pause: float | None):
    """Thank each gift in a donation platform's CSV export and ask for the story."""
    from . import invite as core

    result = core.invite(ctx.site, file, dry_run=dry_run, limit=limit, pause=pause)
    click.echo(result.summary(dry_run is not None))


@click.command()
@click.option("--html", "html", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write a private, self-contained HTML report (counts only).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Write one row per supporter with their timeline (has "
              "contact details: for your CRM).")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="DATE",
              help="Count only what happened on or after DATE (YYYY-MM-DD).")
@handle_errors
def journey(ctx: Context, html: Path | None, csv_path: Path | None, since):
    """The supporter funnel: invited → told a story → published → told live → told impact."""
    from . import journey as core

    report = core.journey(ctx.site, since=since.date() if since else None, html=html,
                          csv_path=csv_path)
    click.echo(core.render_text(report), nl=False)
    for label, path in (("HTML report", html), ("CSV", csv_path)):
        if path is not None:
            click.echo(f"{label}: {path}")
