"""What templates see: plain objects computed from the schema, no Pelican here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from . import schema


@dataclass(frozen=True)
class FigureView:
    figure: schema.Figure
    history: tuple[schema.Figure, ...]
    stale: bool
    previous: schema.Figure | None = None

    @property
    def change(self) -> float | None:
        return self.figure.value - self.previous.value if self.previous else None

    @property
    def chart_svg(self) -> str:
        from .charts import history_svg

        return history_svg(list(self.history), self.figure.label, self.figure.unit)

    @property
    def sentence(self) -> str:
        """'450 children — Children with safe water, as of October 2026'"""
        from .filters import month_year, number

        return (f"{number(self.figure.value)} {self.figure.unit} — {self.figure.label}, "
                f"as of {month_year(self.figure.as_of)}").replace("  ", " ")


@dataclass
class InitiativeView:
    initiative: schema.Initiative
    body_html: str
    figures: list[FigureView]
    stories: list = field(default_factory=list)  # Pelican Article objects, wall order
    donate_url: str = ""

    @property
    def slug(self) -> str:
        return self.initiative.slug

    @property
    def url(self) -> str:
        return f"initiatives/{self.slug}/"

    @property
    def headline(self) -> FigureView | None:
        target = self.initiative.headline
        for view in self.figures:
            if target is not None and view.figure == target:
                return view
        return None

    @property
    def reviews(self) -> list:
        return [a for a in self.stories if a.story.is_review]

    @property
    def average_rating(self) -> float | None:
        ratings = [a.story.rating for a in self.reviews]
        return round(sum(ratings) / len(ratings), 1) if ratings else None

    @property
    def goal_percent(self) -> int | None:
        goal = self.initiative.goal
        head = self.headline
        if not goal or not goal.value or head is None or head.figure.label != goal.label:
            return None
        return max(0, min(100, round(100 * head.figure.value / goal.value)))


def figure_views(initiative: schema.Initiative, today: dt.date, max_age_days: int):
    views = []
    for current in initiative.current_figures():
        history = tuple(initiative.history(current.label))
        older = [f for f in history if f.as_of < current.as_of]
        views.append(FigureView(
            figure=current, history=history,
            stale=(today - current.as_of).days > max_age_days,
            previous=older[-1] if older else None,
        ))
    return views


def wall_order(story: schema.Story) -> tuple:
    """Featured stories first, then newest first, then by slug (stable)."""
    return (not story.featured, -story.date.toordinal(), story.slug)


def stale_figure_problems(initiatives, today: dt.date, max_age_days: int, root=None) -> list:
    """A warning per current figure older than ``max_age_days``."""
    from .content import label_for
    from .errors import WARNING, Problem

    problems = []
    for initiative in initiatives:
        for view in figure_views(initiative, today, max_age_days):
            if view.stale:
                problems.append(Problem(
                    label_for(Path(initiative.path), root), 1, "figures",
                    f"'{view.figure.label}' was last reported on {view.figure.as_of.isoformat()}, "
                    f"over {max_age_days} days ago", "add a newer figure with a recent as_of",
                    WARNING, "stale-figure"))
    return problems


SHARE_TARGETS = (
    ("Facebook", "https://www.facebook.com/sharer/sharer.php?u={url}"),
    ("X", "https://x.com/intent/post?url={url}&text={title}"),
    ("LinkedIn", "https://www.linkedin.com/sharing/share-offsite/?url={url}"),
    ("WhatsApp", "https://wa.me/?text={title}%20{url}"),
    ("Bluesky", "https://bsky.app/intent/compose?text={title}%20{url}"),
    ("E-mail", "mailto:?subject={title}&body={url}"),
)


def share_links(url: str, title: str) -> list[tuple[str, str]]:
    """Plain share links (no script, no tracker): (network, href) pairs."""
    from urllib.parse import quote

    values = {"url": quote(url, safe=""), "title": quote(title, safe="")}
    return [(name, pattern.format(**values)) for name, pattern in SHARE_TARGETS]


def article_jsonld(article, page_url: str, organisation: str) -> dict:
    """schema.org Article for a story (no review stars: search engines ignore them)."""
    story = article.story
    data = {
        "@context": "https://schema.org",
        "@type": "Article",
        "headline": story.title,
        "description": article.description,
        "author": {"@type": "Person", "name": story.author},
        "datePublished": story.date.isoformat(),
        "mainEntityOfPage": page_url,
        "publisher": {"@type": "Organization", "name": organisation},
    }
    card = getattr(article, "share_card", None)
    if card:
        data["image"] = card["url"]
    return data


def related(article, limit: int = 3) -> list:
    """Other stories of the same initiative, in wall order."""
    view = getattr(article, "initiative", None)
    if view is None:
        return []
    return [a for a in view.stories if a is not article][:limit]
