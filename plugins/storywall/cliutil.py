"""What every command shares: the context object and one-line error handling."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from .errors import ProblemsFound, StoryWallError


class Context:
    def __init__(self, site: Path, debug: bool):
        self.site = site
        self.debug = debug


def _fail(ctx: Context, err: Exception) -> None:
    if ctx.debug:
        raise err
    if isinstance(err, ProblemsFound):
        for problem in err.problems:
            click.echo(str(problem), err=True)
    click.echo(f"Error: {err}", err=True)
    sys.exit(getattr(err, "exit_code", 1))


def handle_errors(func):
    @functools.wraps(func)
    @click.pass_obj
    def wrapper(ctx: Context, *args, **kwargs):
        try:
            return func(ctx, *args, **kwargs)
        except (StoryWallError, OSError) as err:
            _fail(ctx, err)
        except Exception as err:  # a bug of ours: still one line, unless --debug
            if ctx.debug:
                raise
            click.echo(f"Error: unexpected {type(err).__name__}: {err} "
                       "(run with --debug for the traceback)", err=True)
            sys.exit(1)
    return wrapper
