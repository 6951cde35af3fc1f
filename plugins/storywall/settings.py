"""The one ``STORYWALL = {...}`` settings dict, read once into a frozen dataclass.

Every key is a field below with its default and help text; the README lists
them all (a test checks that). An unknown key or a wrong type is an error.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from dataclasses import dataclass, field
from typing import Any, Mapping

from . import video
from .errors import SettingsError


GIFT_COLUMNS = ("gift_id", "email", "phone", "first_name", "initiative", "date", "contact_ok",
                "channel")


def _setting(default: Any, help: str, **kw) -> Any:
    if isinstance(default, (list, dict, set)):
        raise TypeError("use tuples for defaults")
    return field(default=default, metadata={"help": help, **kw})


@dataclass(frozen=True)
class Settings:
    organisation: str = _setting(
        "", "The organisation's name, shown in the footer and replies (default: SITENAME).")
    tagline: str = _setting("", "One line under the site name on the wall.")
    donate_url: str = _setting(
        "", "Default donation link (https) for initiatives that have no donate_url.")
    stories_per_page: int = _setting(12, "Story cards per wall page (/, /page/2/, …).", minimum=1)
    figure_max_age_days: int = _setting(
        365, "A figure whose as_of is older than this is a build warning and shown as "
        "'last reported …'.", minimum=1)
    intake_url: str = _setting(
        "", "Where the 'Share your story' form posts (the intake server's /submit URL).")
    excerpt_chars: int = _setting(
        220, "Length of the opening lines shown on a story card when it has no quote.",
        minimum=40)

    mail_batch_limit: int = _setting(
        200, "Most messages notify and invite send in one run; the rest wait for the next "
        "run.", minimum=1)
    mail_pause_seconds: float = _setting(
        1.0, "Pause between two messages, in seconds (keeps a big campaign under the "
        "provider's rate limit).", minimum=0)

    phone_country_code: str = _setting(
        "", "Country calling code for phone numbers written without one (\"44\" turns "
        "07700 900123 into +447700900123); empty: numbers must start with + or 00.")
    gift_columns: tuple = _setting(
        (), "Column names of your donation platform's gift export, for "
        "storywall invite: {\"email\": \"Email Address\", …}; unnamed ones keep the default "
        "names (gift_id, email, phone, first_name, initiative, date, contact_ok, channel).",
        keys=GIFT_COLUMNS)

    photo_widths: tuple = _setting(
        (480, 960, 1600), "Widths in px of the photo derivatives (each in WebP and JPEG; "
        "never upscaled).")
    photo_webp_method_small: int = _setting(
        2, "libwebp effort (0-6) for the photo derivatives below the largest width: 2 is "
        "fastest; 3 makes the WebP files about 3% smaller for ~15% more build time per "
        "photo.", minimum=0)
    max_photo_bytes: int = _setting(
        12 * 1024 * 1024, "Largest photo file accepted, in bytes (default 12 MB).", minimum=1)
    max_photo_pixels: int = _setting(
        50_000_000, "Largest photo accepted, in pixels (default 50 MP; a decompression-bomb "
        "guard).", minimum=1)

    max_video_seconds: int = _setting(
        video.MAX_VIDEO_SECONDS, "Longest video accepted, in seconds (default 2 minutes).", minimum=1)
    max_video_bytes: int = _setting(
        video.MAX_VIDEO_BYTES, "Largest video file accepted, in bytes (default 200 MB).", minimum=1)
    max_video_pixels: int = _setting(
        video.MAX_VIDEO_PIXELS, "Largest video frame accepted, in pixels (default 4K UHD).", minimum=1)
    max_video_fps: int = _setting(
        video.MAX_VIDEO_FPS, "Highest video frame rate accepted, in frames per second (slow motion is "
        "refused).", minimum=1)
    video_height: int = _setting(
        video.WEB_MAX_HEIGHT, "Short edge in px of the web version of a video (H.264 MP4; never upscaled).",
        minimum=144)

    def video_limits(self) -> dict[str, int]:
        """The video limits as keyword arguments of ``storywall.video`` functions."""
        return {"max_seconds": self.max_video_seconds, "max_bytes": self.max_video_bytes,
                "max_pixels": self.max_video_pixels, "max_fps": self.max_video_fps}

    def gift_column(self, name: str) -> str:
        """The export's column for one of GIFT_COLUMNS (renamed by gift_columns, or its own)."""
        return dict(self.gift_columns).get(name, name)

    @classmethod
    def help(cls) -> dict[str, str]:
        return {f.name: f.metadata["help"] for f in dataclasses.fields(cls)}


def _check_type(name: str, value: Any, f: dataclasses.Field) -> Any:
    expected = typing.get_type_hints(Settings)[f.name]
    expected = typing.get_origin(expected) or expected
    if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise SettingsError(f"pelicanconf.py: STORYWALL['{name}']: must be a whole number, "
                            f"not {value!r}")
    if f.metadata.get("keys"):  # a dict in pelicanconf.py, kept as sorted (key, value) pairs
        if not isinstance(value, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) and v.strip()
                for k, v in value.items()):
            raise SettingsError(f"pelicanconf.py: STORYWALL['{name}']: must be a dict of "
                                "names, e.g. {\"email\": \"Email Address\"}")
        allowed = f.metadata.get("keys")
        unknown = sorted(set(value) - set(allowed or value))
        if unknown:
            raise SettingsError(f"pelicanconf.py: STORYWALL['{name}']: unknown column "
                                f"{unknown[0]!r} — use some of: " + ", ".join(allowed))
        return tuple(sorted((k, v.strip()) for k, v in value.items()))
    if expected is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SettingsError(f"pelicanconf.py: STORYWALL['{name}']: must be a number, "
                                f"not {value!r}")
        value = float(value)
    if expected is str and not isinstance(value, str):
        raise SettingsError(f"pelicanconf.py: STORYWALL['{name}']: must be text, not {value!r}")
    if expected is tuple:
        if not isinstance(value, (list, tuple)) or not value or not all(
                isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
            raise SettingsError(f"pelicanconf.py: STORYWALL['{name}']: must be a list of "
                                "whole numbers above 0, e.g. [480, 960, 1600]")
        return tuple(value)
    minimum = f.metadata.get("minimum")
    if minimum is not None and value < minimum:
        raise SettingsError(f"pelicanconf.py: STORYWALL['{name}']: must be at least {minimum}")
    return value


def load(raw: Mapping[str, Any] | None) -> Settings:
    """Validate the STORYWALL dict; raise SettingsError naming the first bad key."""
    raw = dict(raw or {})
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    values = {}
    for name, value in raw.items():
        if name not in fields:
            close = difflib.get_close_matches(str(name), list(fields), n=1)
            hint = f"did you mean '{close[0]}'?" if close else "known keys: " + ", ".join(fields)
            raise SettingsError(f"pelicanconf.py: STORYWALL: unknown key '{name}' — {hint}")
        values[name] = _check_type(name, value, fields[name])
    settings = Settings(**values)
    if settings.donate_url and not settings.donate_url.startswith("https://"):
        raise SettingsError("pelicanconf.py: STORYWALL['donate_url']: must start with https://")
    return settings
