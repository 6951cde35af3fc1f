"""The build, top to bottom: check → Pelican → output checks → swap in.

``output/`` is only ever replaced by a complete, successful build: Pelican
writes into a temporary folder beside it, which is renamed into place at the
end. A failed build leaves the previous site as it was.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import content, views
from . import settings as sw_settings
from .errors import ProblemsFound, StoryWallError

logger = logging.getLogger(__name__)
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".heic", ".heif", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".webm", ".mkv", ".3gp")


@dataclass
class BuildReport:
    output: Path
    stories: int = 0
    pages: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


class _Collector(logging.Handler):
    """Counts warnings and errors logged by Pelican and Story Wall during a build."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.warnings: list[str] = []
        self.errors: list[str] = []

    def emit(self, record):
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            message += f": {record.exc_info[1]}"
        (self.errors if record.levelno >= logging.ERROR else self.warnings).append(message)


def config_path(site_dir: Path, publish: bool = False) -> Path:
    name = "publishconf.py" if publish else "pelicanconf.py"
    path = Path(site_dir) / name
    if not path.is_file():
        raise StoryWallError(f"{path}: not found — run in the site's folder or pass --site DIR")
    return path


def read_pelican_settings(site_dir: Path, publish: bool = False, override: dict | None = None,
                          quiet: bool = False):
    """Pelican's own settings reader, with a one-line error for a broken file.

    ``quiet`` hides Pelican's warnings about settings that matter only to a build.
    """
    from pelican.settings import read_settings

    if quiet:
        pelican_log = logging.getLogger("pelican")
        level = pelican_log.level
        pelican_log.setLevel(logging.ERROR)
        try:
            return read_pelican_settings(site_dir, publish, override)
        finally:
            pelican_log.setLevel(level)

    path = config_path(site_dir, publish)
    cwd = os.getcwd()
    try:
        os.chdir(site_dir)  # publishconf.py imports pelicanconf from the current folder:
        sys.modules.pop("pelicanconf", None)  # this site's, not one read before
        sys.path.insert(0, str(Path(site_dir).resolve()))
        try:
            return read_settings(str(path.resolve()), override=override or {})
        finally:
            sys.path.remove(str(Path(site_dir).resolve()))
            sys.modules.pop("pelicanconf", None)
    except StoryWallError:
        raise
    except Exception as err:  # the settings file is Python: anything can go wrong in it
        raise StoryWallError(f"{path}: cannot be read — {type(err).__name__}: {err}") from err
    finally:
        os.chdir(cwd)


def check_content(site_dir: Path, content_dir: Path) -> content.SiteContent:
    """Validate everything; raise ProblemsFound when any file has an error."""
    site = content.load_site(content_dir, root=site_dir)
    if site.errors:
        raise ProblemsFound(site.problems)
    return site


def _digest(path: Path) -> str:
    from .video import file_sha256  # in 1 MB chunks: videos can be large

    return file_sha256(path)


def source_media(site_dir: Path, content_dir: Path) -> dict[str, Path]:
    """sha256 → path of every photo and video beside a story or initiative, and in submissions/."""
    found = {}
    suffixes = PHOTO_SUFFIXES + VIDEO_SUFFIXES
    for folder in (content_dir / "stories", content_dir / "initiatives", site_dir / "submissions"):
        if folder.is_dir():
            for path in folder.rglob("*"):
                if path.is_file() and path.suffix.lower() in suffixes:
                    found[_digest(path)] = path
    return found


def check_output(output_dir: Path, site_dir: Path, content_dir: Path,
                 site: content.SiteContent) -> list[str]:
    """Problems with what Pelican wrote: an original photo or video, or an unpublished story."""
    from .pelican.withdrawn import is_tombstone, is_withdrawn

    problems = []
    originals = source_media(site_dir, content_dir)
    for path in output_dir.rglob("*"):
        if path.is_file() and originals and (digest := _digest(path)) in originals:
            source = originals[digest]
            kind = "video" if source.suffix.lower() in VIDEO_SUFFIXES else "photo"
            problems.append(f"{path}: is a copy of the original {kind} "
                            f"{source} — originals must never be published")
    for story in site.stories:
        page = output_dir / "stories" / story.slug / "index.html"
        if story.is_published and not page.is_file():
            problems.append(f"{story.path}: published story has no page in the output")
        if not story.is_published and page.exists() and not (
                is_withdrawn(story) and is_tombstone(page)):
            problems.append(f"{story.path}: unpublished story reached the output")
    return problems


def index_search(output_dir: Path) -> None:
    """Pagefind's full-text index of the story pages into ``output/pagefind/``."""
    import subprocess
    import sys

    try:
        result = subprocess.run(
            [sys.executable, "-m", "pagefind", "--site", str(output_dir), "--silent"],
            capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise StoryWallError(f"search index: pagefind could not run ({err})") from err
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise StoryWallError(f"search index: pagefind failed — {detail[0]} "
                             "(is pagefind[bin] installed? pip install 'pagefind[bin]')")


def _swap_in(tmp: Path, final: Path) -> None:
    """Rename the new site into place, then delete the old one."""
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def build(site_dir: Path | str = ".", output: Path | str | None = None, *, strict: bool = False,
          publish: bool = False) -> BuildReport:
    """Build the site in ``site_dir``; raise StoryWallError (or ProblemsFound) on failure."""
    from pelican import Pelican

    started = time.perf_counter()
    site_dir = Path(site_dir).resolve()
    from .pelican.stories import FEEDS_OFF

    settings = read_pelican_settings(site_dir, publish, override=dict(FEEDS_OFF))
    sw = sw_settings.load(settings.get("STORYWALL"))
    content_dir = Path(settings["PATH"])
    final = Path(output).resolve() if output else Path(settings["OUTPUT_PATH"])
    cache_dir = site_dir / ".cache" / "storywall"
    content.load_cache(cache_dir)
    site = check_content(site_dir, content_dir)
    site.problems += views.stale_figure_problems(
        site.initiatives.values(), dt.date.today(), sw.figure_max_age_days, site_dir)
    settings["STORYWALL_CHECKED"] = True
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    settings["OUTPUT_PATH"] = str(tmp)
    collector = _Collector()
    loggers = [logging.getLogger("pelican"), logging.getLogger("storywall")]
    for lg in loggers:
        lg.addHandler(collector)
    try:
        Pelican(settings).run()
        if not collector.errors:
            index_search(tmp)
        problems = collector.errors + check_output(tmp, site_dir, content_dir, site)
        if problems:
            raise StoryWallError("\n".join(problems))
        if strict and (collector.warnings or site.warnings):
            lines = collector.warnings + [str(p) for p in site.warnings]
            raise StoryWallError("\n".join(lines) + f"\n{len(lines)} warning(s) in --strict mode")
        _swap_in(tmp, final)
        content.save_cache(cache_dir, site_dir)
    finally:
        for lg in loggers:
            lg.removeHandler(collector)
        shutil.rmtree(tmp, ignore_errors=True)
    return BuildReport(output=final, stories=len(site.published()), pages=len(site.pages),
                       seconds=time.perf_counter() - started,
                       warnings=collector.warnings + [str(p) for p in site.warnings])

