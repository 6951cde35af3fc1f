"""IntakeConfig: the intake server's settings, read once from a plain dict.

``create_app({"SITE_DIR": ..., "SITE_URL": ...})`` — every key is a field
below (upper-case), with its default and help text. An unknown key or a wrong
type is a :class:`~storywall.errors.StoryWallError`. Secrets (the GitHub
token) come from the environment, never from a file.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from ..errors import StoryWallError
from . import limits


def _opt(default: Any, help: str, secret: bool = False) -> Any:
    return field(default=default, metadata={"help": help}, repr=not secret)


@dataclass(frozen=True)
class IntakeConfig:
    site_dir: Path = _opt(Path("."), "The site's folder (holds content/, theme/, submissions/).")
    submissions_dir: Path | None = _opt(None, "Where submissions are written "
                                        "(default: SITE_DIR/submissions).")
    private_dir: Path | None = _opt(None, "The private store (SQLite with contact details; "
                                    "default: $STORYWALL_PRIVATE_DIR or SITE_DIR/private).")
    content_dir: Path | None = _opt(None, "The site's content (default: SITE_DIR/content).")
    theme_dir: Path | None = _opt(None, "The theme whose share.html renders the form again "
                                  "after a rejection (default: SITE_DIR/theme).")
    site_url: str = _opt("", "The public site's address, e.g. https://stories.example.org: "
                         "its origin may post, and /thanks/ is there (empty: relative URLs).")
    allowed_origins: tuple = _opt((), "More origins allowed to post, e.g. "
                                  "('https://www.example.org',).")
    require_origin: bool = _opt(True, "Refuse posts with neither an Origin nor a Referer header.")
    trusted_proxy_hops: int = _opt(0, "Reverse proxies in front whose X-Forwarded-For is "
                                   "trusted for the client address (0: none).")
    max_request_bytes: int = _opt(limits.MAX_REQUEST_BYTES, "Largest request body, in bytes "
                                  "(default: 60 MB for photos and text plus MAX_VIDEO_BYTES).")
    max_photo_bytes: int = _opt(limits.MAX_PHOTO_BYTES, "Largest photo, in bytes.")
    max_photo_pixels: int = _opt(limits.MAX_PHOTO_PIXELS, "Largest photo, in pixels.")
    max_video_bytes: int = _opt(limits.MAX_VIDEO_BYTES, "Largest video, in bytes.")
    max_video_seconds: int = _opt(limits.MAX_VIDEO_SECONDS, "Longest video, in seconds.")
    max_video_pixels: int = _opt(limits.MAX_VIDEO_PIXELS, "Largest video frame, in pixels.")
    max_video_fps: int = _opt(limits.MAX_VIDEO_FPS, "Highest video frame rate, per second.")
    max_photos: int = _opt(limits.MAX_PHOTOS, "Photos per submission (at most the schema's "
                           f"{limits.MAX_PHOTOS}).")
    max_form_parts: int = _opt(limits.MAX_FORM_PARTS, "Multipart parts per request.")
    max_field_bytes: int = _opt(limits.MAX_FIELD_BYTES, "Largest text field, in bytes.")
    rate_limit: tuple | None = _opt(limits.RATE_LIMIT, "(submissions, seconds) per client; "
                                    "None: no limit.")
    duplicate_window_seconds: int = _opt(limits.DUPLICATE_WINDOW_SECONDS,
                                         "The same content again within this many seconds "
                                         "returns the first submission's id.")
    git: bool = _opt(False, "Git mode: commit each submission on submission/<id> and push it.")
    git_remote: str = _opt("origin", "The remote to push submission branches to.")
    git_base: str = _opt("", "The branch submissions start from and PRs target "
                         "(default: the checked-out branch).")
    git_retry_seconds: int = _opt(limits.GIT_RETRY_SECONDS, "First wait before a failed "
                                  "push is retried (doubles each time, at most an hour).")
    git_worker: bool = _opt(True, "Run the Git queue in a background thread (tests turn it "
                            "off and call drain()).")
    git_author: str = _opt("Story Wall intake <intake@localhost>",
                           "Author of submission commits.")
    github_api_url: str = _opt("https://api.github.com", "GitHub's REST API base URL.")
    github_token: str = _opt("", "Token for opening pull requests (default: $GITHUB_TOKEN).",
                             secret=True)
    github_repository: str = _opt("", "owner/name for pull requests "
                                  "(default: $GITHUB_REPOSITORY).")
    testing: bool = _opt(False, "Flask's TESTING flag.")

    @classmethod
    def help(cls) -> dict[str, str]:
        return {f.name.upper(): f.metadata["help"] for f in dataclasses.fields(cls)}

    # -- derived ----------------------------------------------------------

    def video_limits(self) -> dict[str, int]:
        """The video limits as keyword arguments of ``storywall.video`` functions."""
        return {"max_seconds": self.max_video_seconds, "max_bytes": self.max_video_bytes,
                "max_pixels": self.max_video_pixels, "max_fps": self.max_video_fps}

    @property
    def submissions(self) -> Path:
        return Path(self.submissions_dir or self.site_dir / "submissions")

    @property
    def private(self) -> Path:
        from ..supporters import private_dir

        return Path(self.private_dir or private_dir(self.site_dir))

    @property
    def content(self) -> Path:
        return Path(self.content_dir or self.site_dir / "content")

    @property
    def theme(self) -> Path:
        return Path(self.theme_dir or self.site_dir / "theme")

    @property
    def origins(self) -> frozenset[str]:
        found = {origin_of(u) for u in (self.site_url, *self.allowed_origins) if u}
        return frozenset(o for o in found if o)

    def thanks_url(self, sub_id: str, initiative: str = "") -> str:
        query = f"?id={sub_id}" + (f"&initiative={initiative}" if initiative else "")
        return self.site_url.rstrip("/") + "/thanks/" + query


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` in lower case, or '' when ``url`` has none."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _coerce(name: str, value: Any, hint) -> Any:
    origin = typing.get_origin(hint)
    union = origin in (typing.Union, types.UnionType)
    types_ = typing.get_args(hint) if union else (hint,)
    if value is None and type(None) in types_:
        return None
    if Path in types_:
        return Path(value)
    if bool in types_:
        if not isinstance(value, bool):
            raise StoryWallError(f"intake setting {name}: must be true or false, not {value!r}")
        return value
    if int in types_:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise StoryWallError(f"intake setting {name}: must be a whole number ≥ 0, "
                                 f"not {value!r}")
        return value
    if tuple in types_:
        if isinstance(value, str):
            value = [v for v in value.replace(",", " ").split() if v]
        if not isinstance(value, (list, tuple)):
            raise StoryWallError(f"intake setting {name}: must be a list, not {value!r}")
        return tuple(value)
    if str in types_ and not isinstance(value, str):
        raise StoryWallError(f"intake setting {name}: must be text, not {value!r}")
    return value


def load(raw: Mapping[str, Any] | None) -> IntakeConfig:
    """Validate an upper-case settings dict into an IntakeConfig."""
    fields = {f.name.upper(): f for f in dataclasses.fields(IntakeConfig)}
    hints = typing.get_type_hints(IntakeConfig)
    values = {}
    for key, value in dict(raw or {}).items():
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f"did you mean '{close[0]}'?" if close else "known: " + ", ".join(fields)
            raise StoryWallError(f"intake setting '{key}' is unknown — {hint}")
        name = fields[key].name
        values[name] = _coerce(key, value, hints[name])
    values.setdefault("github_token", os.environ.get("GITHUB_TOKEN", ""))
    values.setdefault("github_repository", os.environ.get("GITHUB_REPOSITORY", ""))
    for name in ("site_dir", "submissions_dir", "private_dir", "content_dir", "theme_dir"):
        if values.get(name) is not None:  # absolute: nothing depends on the current folder
            values[name] = Path(values[name]).resolve()
    values.setdefault("site_dir", Path(".").resolve())
    values.setdefault("max_request_bytes",
                      limits.request_bytes(values.get("max_video_bytes", limits.MAX_VIDEO_BYTES)))
    config = IntakeConfig(**values)
    if config.max_photos > limits.MAX_PHOTOS or config.max_photos < 1:
        raise StoryWallError(f"intake setting MAX_PHOTOS: must be 1–{limits.MAX_PHOTOS}")
    if config.rate_limit is not None and (len(config.rate_limit) != 2 or not all(
            isinstance(v, (int, float)) and v > 0 for v in config.rate_limit)):
        raise StoryWallError("intake setting RATE_LIMIT: must be (count, seconds), e.g. (10, 600)")
    if config.site_url and not origin_of(config.site_url):
        raise StoryWallError(f"intake setting SITE_URL: '{config.site_url}' is not an address "
                             "like https://stories.example.org")
    return config
