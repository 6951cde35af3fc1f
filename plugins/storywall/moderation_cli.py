"""The moderation commands: ``review``, ``approve``, ``reject``, ``reply``, ``withdraw``.

Thin click adapters over :mod:`storywall.moderation`; ``storywall.cli`` adds them
to the ``storywall`` group. Each changing command takes ``--commit`` to commit
exactly the files it touched (who and when go into the commit message).
"""

from __future__ import annotations

from pathlib import Path

import click

from . import moderation
from .cliutil import Context, handle_errors


def _content_dir(ctx: Context) -> Path:
    from .build import read_pelican_settings

    return Path(read_pelican_settings(ctx.site)["PATH"])


def _settings(ctx: Context):
    from . import settings as sw_settings
    from .build import read_pelican_settings

    return sw_settings.load(read_pelican_settings(ctx.site, quiet=True).get("STORYWALL"))


def _organisation(ctx: Context) -> str:
    from . import settings as sw_settings
    from .build import read_pelican_settings

    pelican = read_pelican_settings(ctx.site)
    sw = sw_settings.load(pelican.get("STORYWALL"))
    return sw.organisation or pelican.get("SITENAME") or "The team"


def _commit(ctx: Context, result, commit: bool) -> None:
    if commit:
        sha = moderation.git_commit(ctx.site, list(result.changed), result.commit_message)
        click.echo(f"Committed {sha[:10]}: {result.commit_message.splitlines()[0]}")


moderator_option = click.option(
    "--moderator", metavar="NAME",
    help="Who decides (default: $STORYWALL_MODERATOR, else git user.name).")
commit_option = click.option("--commit", is_flag=True,
                             help="Commit the change with Git (only the files it touched).")


@click.command()
@handle_errors
def review(ctx: Context):
    """List pending submissions with their flags (! marks an error)."""
    rows = moderation.review(ctx.site, _content_dir(ctx))
    if not rows:
        click.echo("No pending submissions.")
        return
    heads = ("ID", "DATE", "KIND", "INITIATIVE", "TITLE", "FLAGS")
    table = [(r.id, r.date, r.kind, r.initiative,
              r.title if len(r.title) <= 40 else r.title[:39] + "…",
              ", ".join(r.flags) or "ok") for r in rows]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(heads)]
    for row in (heads, *table):
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    blocked = sum(r.errors > 0 for r in rows)
    click.echo(f"{len(rows)} pending, {blocked} with errors. "
               "Details: storywall check submissions/<id>", err=True)


@click.command()
@click.argument("sub_id", metavar="ID")
@click.option("--slug", help="The story's URL name (default: made from the title).")
@click.option("--confirm", is_flag=True,
              help="I have checked the warnings (personal data, word list, near-duplicates).")
@moderator_option
@commit_option
@handle_errors
def approve(ctx: Context, sub_id: str, slug: str | None, confirm: bool, moderator: str | None,
            commit: bool):
    """Publish submissions/ID/ as content/stories/SLUG/ (status: published)."""
    result = moderation.approve(ctx.site, _content_dir(ctx), sub_id, slug=slug,
                                settings=_settings(ctx),
                                moderator=moderator or moderation.default_moderator(ctx.site),
                                confirm=confirm)
    for problem in result.warnings:
        click.echo(f"confirmed: {problem}", err=True)
    click.echo(f"Approved {sub_id} as content/stories/{result.slug}/ "
               f"(/stories/{result.slug}/ after the next build).")
    _commit(ctx, result, commit)


@click.command()
@click.argument("sub_id", metavar="ID")
@click.option("--reason", "code", required=True, type=click.Choice(list(moderation.REASONS)),
              help="Why, as a code the author is told about in plain words.")
@click.option("--note", default="", help="A private note for the team (never published).")
@moderator_option
@commit_option
@handle_errors
def reject(ctx: Context, sub_id: str, code: str, note: str, moderator: str | None,
           commit: bool):
    """Delete submissions/ID/ and record the reason privately."""
    result = moderation.reject(ctx.site, sub_id, code, note=note,
                               moderator=moderator or moderation.default_moderator(ctx.site))
    click.echo(f"Rejected {sub_id} ({code}). The author will read:\n  "
               f"{result.reason.explanation}")
    _commit(ctx, result, commit)


@click.command()
@click.argument("slug")
@click.option("--text", help="The organisation's public answer, shown under the story.")
@click.option("--author", help="Who signs the reply (default: the organisation).")
@click.option("--remove", is_flag=True, help="Remove the reply instead.")
@moderator_option
@commit_option
@handle_errors
def reply(ctx: Context, slug: str, text: str | None, author: str | None, remove: bool,
          moderator: str | None, commit: bool):
    """Add or replace the public reply under story SLUG."""
    if bool(text) == remove:
        raise moderation.ModerationError("reply: give --text TEXT, or --remove")
    result = moderation.reply(ctx.site, _content_dir(ctx), slug, None if remove else text,
                              author=author or _organisation(ctx),
                              moderator=moderator or moderation.default_moderator(ctx.site))
    click.echo(("Removed the reply to " if remove else "Replied to ") + f"{slug}.")
    _commit(ctx, result, commit)


@click.command()
@click.argument("slug")
@click.option("--note", default="", help="A private note (e.g. how the request came in).")
@click.option("--keep-text", is_flag=True,
              help="Keep the title and words in the file (default: replace them with a note).")
@moderator_option
@commit_option
@handle_errors
def withdraw(ctx: Context, slug: str, note: str, keep_text: bool, moderator: str | None,
             commit: bool):
    """Take story SLUG down: consent withdrawn, photos deleted, a removed page at its URL."""
    result = moderation.withdraw(ctx.site, _content_dir(ctx), slug, note=note,
                                 keep_text=keep_text,
                                 moderator=moderator or moderation.default_moderator(ctx.site))
    click.echo(f"Withdrew {slug}: the next build drops it from every page and feed. "
               "Old commits still hold it — see 'Takedowns' in the moderator's guide.")
    _commit(ctx, result, commit)


COMMANDS = (review, approve, reject, reply, withdraw)
