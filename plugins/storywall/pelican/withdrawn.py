"""Pelican plugin: a short "removed at the author's request" page for withdrawn stories.

A withdrawn story (``status: withdrawn`` in ``content/stories/<slug>/``) is left
out of every list, page and feed by the stories reader (Pelican's ``skip``
status). So that old links and shares do not end in a bare 404, this writes
``stories/<slug>/index.html`` from ``withdrawn.html``: no title, author, words or
photos of the story, and ``<meta name="robots" content="noindex">``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pelican import signals
from pelican.generators import Generator

from .. import content, schema

logger = logging.getLogger(__name__)
PREFIX = "storywall.withdrawn: "
TEMPLATE = "withdrawn"
MARKER = 'data-storywall-withdrawn'  # on the page's <article>: output checks look for it


def is_withdrawn(story: schema.Story) -> bool:
    """Taken down: not published, and withdrawn by status or by consent."""
    return not story.is_published and (
        story.status == "withdrawn" or story.consent.withdrawn_on is not None)


def is_tombstone(page: Path) -> bool:
    """Whether an output file is a removed-story page written by this plugin."""
    try:
        return MARKER.encode() in Path(page).read_bytes()
    except OSError:
        return False


class WithdrawnGenerator(Generator):
    """Finds withdrawn stories while reading; writes their pages with the others."""

    def generate_context(self):
        content_dir = Path(self.path)
        known = content.initiative_slugs(content_dir)
        stories, _ = content.load_stories(content_dir / content.STORIES_DIR, known,
                                          content_dir.parent)
        self.withdrawn = sorted((s for s in stories if is_withdrawn(s)), key=lambda s: s.slug)
        self.context["withdrawn_slugs"] = [s.slug for s in self.withdrawn]

    def generate_output(self, writer):
        template = self.get_template(TEMPLATE)
        for story in self.withdrawn:
            url = f"stories/{story.slug}/"
            writer.write_file(f"{url}index.html", template, self.context,
                              url=url, page_name=url.rstrip("/"),
                              withdrawn_on=story.consent.withdrawn_on)
        if self.withdrawn:
            logger.debug("%swrote %d removed-story page(s)", PREFIX, len(self.withdrawn))


def get_generators(pelican):
    return WithdrawnGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)
