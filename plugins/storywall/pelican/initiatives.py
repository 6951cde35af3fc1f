"""Pelican plugin: initiative pages, with their figures beside their stories.

Writes ``/initiatives/`` and ``/initiatives/<slug>/``, links every story to its
initiative (``article.initiative``) and warns about stale figures.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from pelican import signals
from pelican.generators import Generator

from .. import content, views

logger = logging.getLogger(__name__)
PREFIX = "storywall.initiatives: "


class InitiativesGenerator(Generator):
    """Reads content/initiatives/*.md; runs after the articles are read."""

    def generate_context(self):
        sw = self.settings["STORYWALL_SETTINGS"]
        found, problems = content.load_initiatives(Path(self.path), Path(self.path).parent)
        for problem in problems:
            (logger.error if problem.is_error else logger.warning)("%s%s", PREFIX, problem)
        today = dt.date.today()
        self.views = {}
        for slug, initiative in found.items():
            self.views[slug] = views.InitiativeView(
                initiative=initiative,
                body_html=content.cached_render(initiative.body, trusted=True),
                figures=views.figure_views(initiative, today, sw.figure_max_age_days),
                donate_url=initiative.donate_url or sw.donate_url,
            )
        for article in self.context.get("articles", []):
            article.sw_url = article.url  # Pelican recomputes .url on every access
            view = self.views.get(article.story.initiative)
            article.initiative = view
            if view is not None:
                view.stories.append(article)
        self.context["initiatives"] = sorted(
            self.views.values(), key=lambda v: (v.initiative.status != "active", v.initiative.title))

        if not self.settings.get("STORYWALL_CHECKED"):  # `storywall build` reported them
            for problem in views.stale_figure_problems(found.values(), today,
                                                       sw.figure_max_age_days):
                logger.warning("%s%s", PREFIX, problem)

    def generate_output(self, writer):
        writer.write_file("initiatives/index.html", self.get_template("initiatives"),
                          self.context, url="initiatives/", page_name="initiatives")
        for view in self.context["initiatives"]:
            writer.write_file(f"initiatives/{view.slug}/index.html",
                              self.get_template("initiative"), self.context,
                              initiative=view, url=view.url, page_name=view.url)


def get_generators(pelican):
    return InitiativesGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)
