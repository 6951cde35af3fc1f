"""Pelican plugin: every published story's video, as a web MP4 with a poster.

Each video is probed with the site's limits and re-encoded to H.264 + AAC
(short edge ``video_height``, faststart, no metadata, rotation applied) with a
WebP and JPEG poster, all with content-hashed names (``storywall.video``).
Results are cached in ``.cache/videos`` by (source bytes, settings), so a warm
build re-encodes nothing; only the files this build uses are copied
(hard-linked) to ``output/videos/`` — never an original. A WebVTT captions
file is checked and copied under a content-hashed name. List it after
``storywall.pelican.photos`` and before ``storywall.pelican.sharecards`` (the
poster is the share card's background when a story has no photo).
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from pelican import signals
from pelican.generators import Generator

from .. import feeds, video
from ..content import label_for
from .feeds import site_url

logger = logging.getLogger(__name__)
PREFIX = "storywall.videos: "
OUTPUT_DIR = "videos"


@dataclass(frozen=True)
class Captions:
    """A checked WebVTT file and its content-hashed name in output/videos/."""

    source: str
    filename: str


@dataclass(frozen=True)
class VideoView:
    """One video as templates see it."""

    result: video.VideoResult
    transcript: str
    caption: str
    base: str  # URL prefix, e.g. "/videos/"
    cache_dir: str = ""
    captions: Captions | None = None

    @property
    def width(self) -> int:
        return self.result.width

    @property
    def height(self) -> int:
        return self.result.height

    @property
    def src(self) -> str:
        return self.base + self.result.mp4

    @property
    def poster(self) -> str:
        return self.base + self.result.poster_webp

    @property
    def poster_jpeg(self) -> str:
        return self.base + self.result.poster_jpeg

    @property
    def captions_src(self) -> str:
        return self.base + self.captions.filename if self.captions else ""

    def cache_path(self, filename: str) -> Path:
        return Path(self.cache_dir) / filename

    def paragraphs(self) -> list[str]:
        """The transcript's paragraphs (blank lines between them)."""
        blocks = [b.strip() for b in self.transcript.replace("\r\n", "\n").split("\n\n")]
        return [b for b in blocks if b]


def video_settings(sw) -> video.VideoSettings:
    return video.VideoSettings(max_height=sw.video_height)


def poster_time(value: float | None) -> float | None:
    """The schema's ``poster_time`` (0 when absent) → None: the automatic choice."""
    return value or None


def video_job(src: Path, cache_dir: Path, sw, *, label: str, at: float | None = None) -> video.VideoJob:
    """The one job description the build (and scripts/bench_video.py) hands to process_many."""
    return video.VideoJob(src=str(src), cache_dir=str(cache_dir), label=label,
                          settings=video_settings(sw), poster_time=poster_time(at),
                          **sw.video_limits())


def captions_for(src: Path, stem: str, label: str) -> Captions:
    """Check a WebVTT file; its output name carries a hash of its bytes. Raises VideoError."""
    data = video.read_webvtt(src, label=label)
    digest = hashlib.sha256(data).hexdigest()[:10]
    return Captions(source=str(src), filename=f"{stem}-captions-{digest}.vtt")


def process(jobs: list[video.VideoJob]) -> list[video.VideoResult | video.VideoError]:
    """Web versions for ``jobs`` (cache hits first, the rest in the worker pool)."""
    return video.process_many(jobs)


class VideosGenerator(Generator):
    """Makes (or finds in the cache) the web versions; copies the live ones to output/."""

    def generate_context(self):
        sw = self.settings["STORYWALL_SETTINGS"]
        root = Path(self.path).parent
        self.cache = video.VideoCache(root / ".cache" / "videos")
        base = f"{self.settings.get('SITEURL', '')}/{OUTPUT_DIR}/"
        owners, jobs = [], []
        for article in self.context.get("articles", []):
            article.video_view = None
            clip = article.story.video
            if clip is None:
                continue
            src = Path(article.story.path).parent / clip.file
            owners.append(article)
            jobs.append(video_job(src, self.cache.root, sw, label=label_for(src, root),
                                  at=clip.poster_time))
        self.results, self.captions = [], []
        for article, outcome in zip(owners, process(jobs)):
            if isinstance(outcome, video.VideoError):
                logger.error("%s%s", PREFIX, outcome)
                continue
            self.results.append(outcome)
            article.video_view = self._view(article, outcome, base, root)
            if getattr(article, "feed_image", None) is None:
                article.feed_image = _enclosure(article.video_view, self.settings)

    def _view(self, article, result, base: str, root: Path) -> VideoView:
        clip = article.story.video
        captions = None
        if clip.captions:
            src = Path(article.story.path).parent / clip.captions
            try:
                captions = captions_for(src, result.stem, label_for(src, root))
                self.captions.append(captions)
            except video.VideoError as err:
                logger.error("%s%s", PREFIX, err)
        return VideoView(result=result, transcript=clip.transcript, caption=clip.caption,
                         base=base, cache_dir=str(self.cache.files_dir), captions=captions)

    def generate_output(self, writer):
        out = Path(self.output_path) / OUTPUT_DIR
        for result in self.results:
            self.cache.copy_to_output(result, out, link=True)
        for captions in self.captions:
            out.mkdir(parents=True, exist_ok=True)
            target = out / captions.filename
            if not target.exists():
                target.write_bytes(Path(captions.source).read_bytes())
                os.chmod(target, 0o644)
        self.cache.prune(self.results)


def _enclosure(view: VideoView, settings) -> feeds.Enclosure:
    """A feed entry's image for a story without photos: the poster (JPEG)."""
    name = view.result.poster_jpeg
    return feeds.Enclosure(url=f"{site_url(settings)}/{OUTPUT_DIR}/{name}",
                           length=view.result.poster_jpeg_bytes, mime_type="image/jpeg")


def get_generators(pelican):
    return VideosGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)
