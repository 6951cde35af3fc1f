"""Pelican plugin: every published story's photos, made safe and responsive.

Each photo is decoded with limits, turned upright, converted to sRGB, stripped
of all metadata and re-encoded at the configured widths in WebP and JPEG, with
content-hashed names (``storywall.photos``). Derivatives are cached in
``.cache/photos``; only the ones this build uses are copied to ``output/photos/``
— never an original. List it after ``storywall.pelican.initiatives``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from pelican import signals
from pelican.generators import Generator

from .. import feeds, photos
from ..content import label_for
from .feeds import site_url

logger = logging.getLogger(__name__)
PREFIX = "storywall.photos: "
OUTPUT_DIR = "photos"
FEED_WIDTH = 960
PHONE_MAX_WIDTH = 960  # a 3x phone would pick the 1600 px file: 960 px is sharp enough there


@dataclass(frozen=True)
class PhotoView:
    """One photo as templates see it."""

    alt: str
    caption: str
    result: photos.PhotoResult
    base: str  # URL prefix of the derivatives, e.g. "/photos/"
    cache_dir: str = ""  # where the derivative files are kept

    def cache_path(self, filename: str) -> Path:
        return Path(self.cache_dir) / filename

    @property
    def width(self) -> int:
        return self.result.width

    @property
    def height(self) -> int:
        return self.result.height

    @property
    def color(self) -> str:
        return self.result.placeholder.color

    def srcset(self, fmt: str, max_width: int | None = None) -> str:
        """``srcset`` for ``fmt``; ``max_width`` leaves out the larger files (for phones)."""
        chosen = sorted((v for v in self.result.variants if v.format == fmt
                         and (max_width is None or v.width <= max_width)),
                        key=lambda v: v.width)
        if not chosen:  # every variant is wider: keep the smallest
            return self.srcset(fmt)
        return ", ".join(f"{self.base}{v.filename} {v.width}w" for v in chosen)

    def phone_srcset(self, fmt: str = "webp") -> str:
        return self.srcset(fmt, PHONE_MAX_WIDTH)

    def src(self, width: int = FEED_WIDTH) -> str:
        jpegs = [v for v in self.result.variants if v.format == "jpeg"]
        best = min(jpegs, key=lambda v: (abs(v.width - width), -v.width))
        return self.base + best.filename

    def variant(self, fmt: str, width: int):
        candidates = [v for v in self.result.variants if v.format == fmt]
        return min(candidates, key=lambda v: (abs(v.width - width), -v.width))


def derivative_settings(sw) -> photos.DerivativeSettings:
    return photos.DerivativeSettings(widths=tuple(sw.photo_widths),
                                     webp_method_small=sw.photo_webp_method_small)


class PhotosGenerator(Generator):
    """Makes (or finds in the cache) the derivatives; copies the live ones to output/."""

    def generate_context(self):
        sw = self.settings["STORYWALL_SETTINGS"]
        root = Path(self.path).parent
        self.cache = photos.DerivativeCache(root / ".cache" / "photos")
        base = f"{self.settings.get('SITEURL', '')}/{OUTPUT_DIR}/"
        owners, jobs = [], []
        for article in self.context.get("articles", []):
            folder = Path(article.story.path).parent
            for photo in article.story.photos:
                src = folder / photo.file
                owners.append((article, photo))
                jobs.append(photos.PhotoJob(
                    src=str(src), cache_dir=str(self.cache.root), label=label_for(src, root),
                    settings=derivative_settings(sw), max_bytes=sw.max_photo_bytes,
                    max_pixels=sw.max_photo_pixels))
        self.results = []
        views: dict[int, list[PhotoView]] = {}
        for (article, photo), outcome in zip(owners, photos.process_many(jobs)):
            if isinstance(outcome, photos.PhotoError):
                logger.error("%s%s", PREFIX, outcome)
                continue
            self.results.append(outcome)
            views.setdefault(id(article), []).append(
                PhotoView(alt=photo.alt, caption=photo.caption, result=outcome, base=base,
                          cache_dir=str(self.cache.files_dir)))
        for article in self.context.get("articles", []):
            article.photo_views = views.get(id(article), [])
            article.feed_image = _enclosure(article.photo_views, self.settings)

    def generate_output(self, writer):
        out = Path(self.output_path) / OUTPUT_DIR
        for result in self.results:
            self.cache.copy_to_output(result, out, link=True)
        self.cache.prune(self.results)


def _enclosure(views: list[PhotoView], settings) -> feeds.Enclosure | None:
    if not views:
        return None
    variant = views[0].variant("jpeg", FEED_WIDTH)
    site = site_url(settings)
    return feeds.Enclosure(url=f"{site}/{OUTPUT_DIR}/{variant.filename}",
                           length=variant.bytes, mime_type="image/jpeg")


def get_generators(pelican):
    return PhotosGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)
