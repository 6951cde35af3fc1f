"""Pelican plugin: a 1200×630 share card per story, for Open Graph and Twitter.

Made with Pillow from the story's first photo (its largest JPEG derivative, never
the original) or, without photos, its video's poster; with the pull quote, author,
initiative and headline figure. Cached in ``.cache/cards``; written to ``output/cards/``. List it after
``storywall.pelican.photos`` and ``storywall.pelican.videos``.
"""

from __future__ import annotations

import logging
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from pelican import signals
from pelican.generators import Generator

from .. import sharecards
from ..errors import StoryWallError
from .feeds import site_url

logger = logging.getLogger(__name__)
PREFIX = "storywall.sharecards: "
OUTPUT_DIR = "cards"


def card_text(article, site_name: str) -> sharecards.CardText:
    story = article.story
    view = getattr(article, "initiative", None)
    headline = view.headline if view else None
    return sharecards.CardText(
        quote=story.quote or article.excerpt, author=story.author,
        initiative=view.initiative.title if view else "",
        figure=headline.sentence if headline else "", site_name=site_name)


def card_photo(article) -> Path | None:
    """The card's background: the first photo's largest JPEG, else the video's poster."""
    views = getattr(article, "photo_views", None) or []
    if views:
        largest = views[0].result.variant("jpeg")
        return views[0].cache_path(largest.filename)
    clip = getattr(article, "video_view", None)
    if clip is not None:
        return clip.cache_path(clip.result.poster_jpeg)
    return None


POOL_THRESHOLD = 16  # fewer cards than this are made in-process


def _make(job):
    cache, text, photo = job
    try:
        return sharecards.make_share_card(cache, text, photo)
    except StoryWallError as err:
        return err


def make_all(cache: Path, jobs: list) -> list:
    """Cards in job order (a card already in the cache is reused, not redrawn)."""
    if len(jobs) < POOL_THRESHOLD or (os.cpu_count() or 1) < 2:
        return [_make(job) for job in jobs]
    with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
        return list(pool.map(_make, jobs, chunksize=8))


class ShareCardsGenerator(Generator):
    def generate_context(self):
        root = Path(self.path).parent
        self.cache = root / ".cache" / "cards"
        sw = self.settings["STORYWALL_SETTINGS"]
        name = sw.organisation or self.settings.get("SITENAME", "")
        base = site_url(self.settings)
        articles = self.context.get("articles", [])
        jobs = [(self.cache, card_text(a, name), card_photo(a)) for a in articles]
        self.cards = []
        for article, card in zip(articles, make_all(self.cache, jobs)):
            if isinstance(card, StoryWallError):
                logger.error("%s%s: %s", PREFIX, article.story.path, card)
                continue
            self.cards.append(card)
            article.share_card = {"url": f"{base}/{OUTPUT_DIR}/{card.filename}",
                                  "width": card.width, "height": card.height}

    def generate_output(self, writer):
        out = Path(self.output_path) / OUTPUT_DIR
        out.mkdir(parents=True, exist_ok=True)
        live = {card.filename for card in self.cards}
        for name in live:
            shutil.copyfile(self.cache / name, out / name)
        for stale in self.cache.glob("card-*.jpg"):
            if stale.name not in live:
                stale.unlink(missing_ok=True)


def get_generators(pelican):
    return ShareCardsGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)
