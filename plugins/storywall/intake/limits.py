"""Every limit of the intake server: a named constant with its unit, and a setting each.

The text limits come from the one schema (storywall.schema), the photo
limits from storywall.photos and the video limits from storywall.video, so the
form, the server, ``storywall check`` and the build agree. The request-body
limit follows the video limit: room for the photos and text, plus one video. ``IntakeConfig`` (see ``storywall.intake``) has one key per
limit; these are the defaults.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from .. import photos, schema, video

PHOTOS_REQUEST_BYTES = 60 * 1024 * 1024  # 60 MB: 6 photos from a phone without the browser's downscaling
MAX_VIDEO_BYTES = video.MAX_VIDEO_BYTES  # 200 MB for the one video
MAX_VIDEO_SECONDS = video.MAX_VIDEO_SECONDS  # 120 s
MAX_VIDEO_PIXELS = video.MAX_VIDEO_PIXELS  # px per frame (4K UHD)
MAX_VIDEO_FPS = video.MAX_VIDEO_FPS  # frames per second


def request_bytes(max_video_bytes: int = MAX_VIDEO_BYTES) -> int:
    """The request-body limit for a given video limit: photos and text, plus the video."""
    return PHOTOS_REQUEST_BYTES + max_video_bytes


MAX_REQUEST_BYTES = request_bytes()  # 260 MB by default
MAX_PHOTO_BYTES = photos.MAX_PHOTO_BYTES  # 12 MB per photo
MAX_PHOTO_PIXELS = photos.MAX_PHOTO_PIXELS  # 50 MP per photo (decompression-bomb guard)
MAX_PHOTOS = schema.MAX_PHOTOS  # photos per submission
MAX_FORM_PARTS = 64  # multipart parts (fields + files) per request
TRANSCRIPT_CHARS = schema.TRANSCRIPT_CHARS  # (min, max) characters of a video's transcript
MAX_FIELD_BYTES = 128 * 1024  # 128 KB for one text field (the story is ≤ 10,000 characters)
MAX_FILENAME_CHARS = 200  # an uploaded file's name as the browser sends it
EMAIL_MAX_CHARS = 254  # RFC 5321 path limit
TITLE_CHARS = schema.TITLE_CHARS  # (min, max) characters
AUTHOR_CHARS = schema.AUTHOR_CHARS
BODY_CHARS = schema.BODY_CHARS
ALT_CHARS = schema.ALT_CHARS
CAPTION_MAX_CHARS = schema.CAPTION_MAX_CHARS
QUOTE_MAX_CHARS = schema.QUOTE_MAX_CHARS
RATE_LIMIT = (10, 10 * 60)  # 10 submissions per client per 10 minutes
DUPLICATE_WINDOW_SECONDS = 15 * 60  # the same content again within 15 minutes → the first id
GIT_RETRY_SECONDS = 60  # a failed push is retried after 1 minute (doubling, at most GIT_RETRY_MAX)
GIT_RETRY_MAX_SECONDS = 60 * 60  # 1 hour
GIT_TIMEOUT_SECONDS = 120  # one git command (push over a slow link)
GITHUB_TIMEOUT_SECONDS = 30  # one GitHub API request
SERVER_THREADS = 8  # waitress worker threads
SERVER_BACKLOG = 128  # listen backlog: 20+ concurrent clients must not overflow it
STAGING_MAX_AGE_SECONDS = 60 * 60  # leftovers in submissions/.incoming older than 1 hour are removed


class RateLimiter:
    """A sliding-window limit per client key (in memory, per process).

    ``allow(key)`` returns 0 when the request may go ahead, else the seconds
    to wait before the next one will be allowed.
    """

    def __init__(self, count: int, seconds: float, clock=time.monotonic):
        self.count, self.seconds, self.clock = count, seconds, clock
        self._hits: dict[str, deque] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> float:
        now = self.clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.seconds:
                hits.popleft()
            if len(hits) >= self.count:
                return max(1.0, hits[0] + self.seconds - now)
            hits.append(now)
            if len(self._hits) > 10_000:  # forget idle clients
                for k in [k for k, v in self._hits.items() if not v]:
                    del self._hits[k]
            return 0.0
