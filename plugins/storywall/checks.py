"""``storywall check``: validate submissions and content, for people and for CI."""

from __future__ import annotations

from pathlib import Path

from . import content, schema
from .errors import Problem

SUBMISSIONS_DIR = "submissions"


def check_submissions(folder: Path, initiatives: set[str], root: Path) -> list[Problem]:
    """Every ``submissions/<id>/index.md``: the story schema, and status pending."""
    stories, problems = content.load_stories(folder, initiatives, root)
    for story in stories:
        if story.status != "pending":
            problems.append(Problem(content.label_for(Path(story.path), root), 1, "status",
                                    f"is '{story.status}' in the inbox",
                                    "submissions are 'pending' until approved", "warning"))
    return problems


def check_file(path: Path, content_dir: Path, root: Path) -> list[Problem]:
    """One file, judged by where it lives."""
    label = content.label_for(path, root)
    parent = path.parent.parent.name if path.name == content.STORY_FILE else ""
    if path.parent.name == content.INITIATIVES_DIR:
        return schema.parse_initiative(path, label=label)[1]
    if path.parent.name == content.PAGES_DIR:
        return schema.parse_page(path, label=label)[1]
    if parent in (content.STORIES_DIR, SUBMISSIONS_DIR):
        known = content.initiative_slugs(content_dir)
        return schema.parse_story(path, initiatives=known, label=label)[1]
    return [Problem(label, 1, "file", "is not a story, initiative or page",
                    "check a file under content/ or submissions/")]


def check_paths(site_dir: Path, content_dir: Path, paths: list[Path] | None = None) -> list[Problem]:
    """Problems in ``paths`` (default: all of content/ and submissions/)."""
    site_dir = Path(site_dir)
    if not paths:
        paths = [content_dir, site_dir / SUBMISSIONS_DIR]
    problems: list[Problem] = []
    known = content.initiative_slugs(content_dir)
    for path in paths:
        path = Path(path)
        if path.is_file():
            problems += check_file(path, content_dir, site_dir)
        elif path.resolve() == Path(content_dir).resolve():
            problems += content.load_site(content_dir, root=site_dir).problems
        elif path.name == SUBMISSIONS_DIR:
            problems += check_submissions(path, known, site_dir)
        elif path.name in (content.STORIES_DIR,):
            problems += content.load_stories(path, known, site_dir)[1]
        elif path.is_dir() and (path / content.STORY_FILE).is_file():
            problems += check_file(path / content.STORY_FILE, content_dir, site_dir)
        elif not path.exists():
            problems.append(Problem(str(path), 1, "path", "does not exist", "check the path"))
        else:
            for md in sorted(path.rglob("*.md")):
                problems += check_file(md, content_dir, site_dir)
    return problems


def _escape_property(value: str) -> str:
    return (value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
            .replace(":", "%3A").replace(",", "%2C"))


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_annotation(problem: Problem) -> str:
    """A GitHub Actions workflow command: ``::error file=…,line=…,title=…::message``."""
    level = "error" if problem.is_error else "warning"
    props = (f"file={_escape_property(problem.path)},line={problem.line},"
             f"title={_escape_property(problem.field)}")
    text = problem.message + (f" — {problem.hint}" if problem.hint else "")
    return f"::{level} {props}::{_escape_data(text)}"
