"""Photos: safe decoding, metadata stripping and responsive derivatives.

Pure functions: paths in, files and facts out. The build, the intake server and
``storywall check`` all use this module, so every rule about photos lives here.

Decisions (each one is tested in tests/test_photos.py):

* Accepted formats are JPEG (and MPO, the multi-picture JPEG phones write),
  PNG, WebP, GIF and HEIC/HEIF. Anything else is a :class:`PhotoError` with a
  machine ``code`` and a one-line message that names the file and the fix.
* Limits are checked before any pixel is decoded: the byte size from ``stat``
  (:data:`MAX_PHOTO_BYTES`), then the pixel count from the header
  (:data:`MAX_PHOTO_PIXELS`), so a decompression bomb is refused after
  reading its header only. Files are always fully decoded (``load()``), so a
  truncated upload fails; ``ImageFile.LOAD_TRUNCATED_IMAGES`` is never set.
* Animated GIF/WebP/APNG: only the first frame is used. A story wall shows
  still photos; an animation would be a video and is out of scope.
* Orientation: the EXIF orientation (all 8 values) is applied to the pixels.
  HEIC is the exception: pillow-heif has already applied it on open (and
  reset the tag to 1), so it is never rotated twice.
* Colour: everything becomes 8-bit sRGB RGB. Alpha (PNG, WebP, GIF, LA, P with
  tRNS) is composited onto white; 16-bit images are scaled, not clipped; CMYK
  (including Adobe's inverted CMYK, which Pillow undoes) is converted with its
  ICC profile when it has one. An embedded ICC profile that is not sRGB is
  converted to sRGB with LittleCMS; a broken profile is ignored (plain
  conversion), never a crash. Outputs carry **no** ICC profile: untagged
  images are sRGB on the web.
* Stripping: every output is re-encoded from pixels with an empty ``info``,
  so no EXIF, GPS, XMP, IPTC, JPEG comment, PNG text chunk or ICC profile
  survives.
* Derivatives are WebP and optimised JPEG (WebP effort chosen by measurement,
  see scripts/bench_photos.py; the largest size and the smaller ones have
  separate settings, since the largest takes most of the time), named
  ``<stem>-<width>-<hash10>.<ext>``; the hash covers the source bytes and every
  setting that changes output. Widths wider than the photo collapse to the
  photo's own width: never upscaled.
* Speed (figures: scripts/bench_photos.py): a JPEG is decoded DCT-scaled by
  libjpeg-turbo (simplejpeg) at the smallest M/8 scale at least as large as the
  largest derivative (Pillow's ``draft``, the fallback, only has 1/2, 1/4 and
  1/8: a 3000x2000 photo or a 12 MP phone portrait would be decoded in full);
  each smaller derivative is made from the previous one (with a
  box filter when ``resample`` is bilinear: the previous one is already
  low-passed, and box is both faster and closer to the LANCZOS reference);
  the ICC conversion runs on the largest derivative rather than the
  full-size photo. The encodes of one photo run in threads (Pillow releases
  the GIL), each size starting while the next is resized; process_many runs
  one process per CPU over the whole batch, largest files first.
* Intake (:func:`sanitize_photo`) writes one JPEG (quality 90, at most
  :data:`MAX_SANITIZED_EDGE` px on the long edge) atomically. HEIC decoding
  is slow (no DCT scaling; seconds for 12 MP), so phones' HEICs should be
  sanitised once at intake and the build should only ever see JPEGs.
* Not handled: HEIC nclx colour (only ICC profiles are converted), the extra
  images of MPO/Ultra HDR files (the primary image is used, gain maps are
  dropped). Pillow's bomb warning is switched per call with
  ``warnings.catch_warnings``, which is process-wide: call from one thread.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import logging
import multiprocessing
import os
import re
import shutil
import struct
import sys
import tempfile
import threading
import time
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image, ImageCms, ImageFilter, IptcImagePlugin, UnidentifiedImageError

from storywall.errors import SettingsError, StoryWallError

logger = logging.getLogger(__name__)

# --- limits and settings (units in the names or comments) -------------------

MAX_PHOTO_BYTES = 12 * 1024 * 1024  # 12 MB: a 12 MP phone JPEG is 2-5 MB, a HEIC 1-3 MB
MAX_PHOTO_PIXELS = 50_000_000  # 50 MP decompression-bomb guard (a 12 MP phone photo is far below)
MAX_SANITIZED_EDGE = 4096  # px: long edge of the photo kept at intake
DEFAULT_WIDTHS = (480, 960, 1600)  # px: derivative widths for srcset
DEFAULT_FORMATS = ("webp", "jpeg")
WEBP_QUALITY = 80  # libwebp quality 0-100
# libwebp effort 0-6 for the largest derivative. Measured (scripts/bench_photos.py): 2.3x faster
# than the default 4, for +6.5% bytes at the same quality setting and +4-6% at equal PSNR;
# 0 and 1 save ~15-25 ms more per 12 MP photo for +10-18%; 3 is as slow as 4.
WEBP_METHOD = 2
# DerivativeSettings.webp_method_small sets the effort of every smaller derivative (960 and 480
# px by default; None = WEBP_METHOD). Measured per 12 MP photo, method 3 there instead of 2:
# +30-40 ms CPU (+16-19% wall for a 2-core batch), -6.5% bytes at those sizes, the whole WebP
# set +3.5-3.9% against method 4 everywhere instead of +6.3%, PSNR +0.05 dB. Off by default
# for speed; 3 is as fast as 4 there and a little smaller.
JPEG_QUALITY = 82  # libjpeg quality 0-100, optimised Huffman tables
# Measured: progressive costs +30 ms CPU per 12 MP photo (its encodes take 2.5x as long) and
# +0.03 s/photo wall in a 2-core batch, for ~1% fewer bytes. On with DerivativeSettings.
JPEG_PROGRESSIVE = False
RESAMPLE = "bilinear"  # measured 48.6 dB vs LANCZOS before encoding, ~40% faster than bicubic
SANITIZED_JPEG_QUALITY = 90  # intake master: one more generation still looks original
PREVIEW_EDGE = 24  # px: long edge of the blurred inline preview
PREVIEW_MAX_CHARS = 600  # a data URI longer than this is dropped (placeholder colour only)
BACKGROUND = (255, 255, 255)  # transparent pixels are composited onto white
PIPELINE_VERSION = 3  # bump when the same settings would produce different files

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "HEIF")  # Pillow plugin ids; JPEG covers MPO
_JPEG_FORMATS = ("JPEG", "MPO")  # what Pillow calls a JPEG it opened (MPO: phones' multi-picture files)
FORMAT_HINT = "upload a JPEG, PNG, WebP, GIF or HEIC photo"
_EXTENSIONS = {"webp": "webp", "jpeg": "jpg"}
_RESAMPLERS = {
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}
_TRANSPOSE = {  # EXIF orientation -> operation that makes the stored pixels upright
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SIGNATURES = (  # leading bytes of accepted formats, to tell "damaged" from "not an image"
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
)
_GPS_IFD = ExifTags.IFD.GPSInfo


class PhotoError(StoryWallError):
    """A photo that cannot be used, with a short machine ``code`` and a fix.

    ``str(err)`` is one line: ``<file>: <problem> — <hint>``.
    Codes: missing, unreadable, empty, too-large, not-an-image,
    unsupported-format, too-many-pixels, truncated, corrupt, failed.
    """

    def __init__(self, label: str, code: str, problem: str, hint: str):
        self.label, self.code, self.problem, self.hint = str(label), code, problem, hint
        super().__init__(f"{label}: {problem} — {hint}")

    def __reduce__(self):  # picklable across the process pool
        return (type(self), (self.label, self.code, self.problem, self.hint))


# --- results ------------------------------------------------------------------


@dataclass(frozen=True)
class DerivativeSettings:
    """Everything that changes the derivative files; hashed into their names."""

    widths: tuple[int, ...] = DEFAULT_WIDTHS
    formats: tuple[str, ...] = DEFAULT_FORMATS
    webp_quality: int = WEBP_QUALITY
    webp_method: int = WEBP_METHOD  # the largest derivative (and the others unless set below)
    webp_method_small: int | None = None  # every smaller derivative; None: webp_method
    jpeg_quality: int = JPEG_QUALITY
    jpeg_progressive: bool = JPEG_PROGRESSIVE
    resample: str = RESAMPLE

    def __post_init__(self):
        object.__setattr__(self, "widths", _clean_widths(self.widths))
        object.__setattr__(self, "formats", _clean_formats(self.formats))
        if self.resample not in _RESAMPLERS:
            raise SettingsError(f"photo resample must be one of {sorted(_RESAMPLERS)}, got {self.resample!r}")
        for method in (self.webp_method, self.webp_method_at(1)):
            if isinstance(method, bool) or not isinstance(method, int) or not 0 <= method <= 6:
                raise SettingsError(f"photo WebP methods must be whole numbers 0-6, got {method!r}")

    def webp_method_at(self, index: int) -> int:
        """The libwebp method for the derivative at ``index`` in derivative_sizes order (0 = largest)."""
        small = self.webp_method if self.webp_method_small is None else self.webp_method_small
        return self.webp_method if index == 0 else small

    def token(self) -> str:
        """A stable text of these settings (plus the pipeline version) for hashing."""
        data = {**asdict(self), "pipeline": PIPELINE_VERSION}
        if self.webp_method_at(1) == self.webp_method:  # one method for all: names as before the split
            del data["webp_method_small"]
        return json.dumps(data, sort_keys=True)


@dataclass(frozen=True)
class Variant:
    """One derivative file."""

    width: int
    height: int
    format: str  # "webp" or "jpeg"
    filename: str
    bytes: int


@dataclass(frozen=True)
class Placeholder:
    """What to show before the photo loads."""

    color: str  # "#rrggbb", the photo's average colour
    preview: str | None = None  # tiny blurred WebP data URI, <= PREVIEW_MAX_CHARS


@dataclass(frozen=True)
class PhotoResult:
    """A derivative set: JSON-serialisable with to_dict/from_dict (the build caches it)."""

    key: str  # hash10 in the file names: source bytes + settings
    stem: str
    source_sha256: str
    source_format: str  # e.g. "JPEG", "HEIF"
    width: int  # intrinsic size of the upright photo, px
    height: int
    variants: tuple[Variant, ...]
    placeholder: Placeholder

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PhotoResult:
        variants = tuple(Variant(**v) for v in data["variants"])
        placeholder = Placeholder(**data["placeholder"])
        return cls(**{**data, "variants": variants, "placeholder": placeholder})

    def files(self) -> list[str]:
        return [v.filename for v in self.variants]

    def variant(self, fmt: str, width: int | None = None) -> Variant:
        """The variant of ``fmt`` at ``width`` (the largest when width is None)."""
        matches = [v for v in self.variants if v.format == fmt and width in (None, v.width)]
        if not matches:
            raise KeyError(f"no {fmt} variant at width {width}")
        return max(matches, key=lambda v: v.width)

    def srcset(self, fmt: str, prefix: str = "") -> str:
        """``"<prefix><file> 480w, ..."`` for one format, smallest first."""
        chosen = sorted((v for v in self.variants if v.format == fmt), key=lambda v: v.width)
        return ", ".join(f"{prefix}{v.filename} {v.width}w" for v in chosen)


@dataclass(frozen=True)
class PhotoFacts:
    """What :func:`sanitize_photo` wrote."""

    path: str
    width: int
    height: int
    bytes: int
    sha256: str
    format: str = "jpeg"
    source_format: str = ""


# --- settings helpers ---------------------------------------------------------


def _clean_widths(widths: Iterable[int]) -> tuple[int, ...]:
    try:
        cleaned = tuple(sorted({int(w) for w in widths}))
    except (TypeError, ValueError):
        raise SettingsError(f"photo widths must be whole numbers of pixels, got {widths!r}") from None
    if not cleaned or cleaned[0] < 1:
        raise SettingsError(f"photo widths must be positive pixel counts, got {widths!r}")
    return cleaned


def _clean_formats(formats: Iterable[str]) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys("jpeg" if f.lower() == "jpg" else f.lower() for f in formats))
    unknown = [f for f in cleaned if f not in _EXTENSIONS]
    if not cleaned or unknown:
        raise SettingsError(f"photo formats must be chosen from webp, jpeg; got {list(formats)!r}")
    return cleaned


def resolve_settings(
    settings: DerivativeSettings | None = None,
    widths: Sequence[int] | None = None,
    formats: Sequence[str] | None = None,
) -> DerivativeSettings:
    """``settings`` (or the defaults) with ``widths``/``formats`` replaced when given."""
    base = settings or DerivativeSettings()
    return replace(base, widths=tuple(widths or base.widths), formats=tuple(formats or base.formats))


def derivative_sizes(size: tuple[int, int], widths: Iterable[int]) -> list[tuple[int, int]]:
    """Sizes to make, largest first; widths above the photo's width collapse to it."""
    w, h = size
    chosen = sorted({min(int(x), w) for x in widths}, reverse=True)
    return [(x, max(1, round(x * h / w))) for x in chosen]


# --- reading and opening --------------------------------------------------------


def _label(path: os.PathLike | str, label: str | None) -> str:
    return label or str(path)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _check_bytes(name: str, size: int, max_bytes: int) -> None:
    if size == 0:
        raise PhotoError(name, "empty", "the file is empty (0 bytes)", "upload the photo again")
    if size > max_bytes:
        raise PhotoError(
            name,
            "too-large",
            f"{_mb(size)} is over the {_mb(max_bytes)} limit",
            "export a smaller photo (for example at most 4000 px wide) and upload it again",
        )


def read_photo_bytes(
    path: os.PathLike | str, *, max_bytes: int = MAX_PHOTO_BYTES, label: str | None = None
) -> bytes:
    """The file's bytes; the size limit is checked with stat before reading."""
    name = _label(path, label)
    try:
        _check_bytes(name, os.stat(path).st_size, max_bytes)
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise PhotoError(
            name, "missing", "file not found", "check the photo's file name and folder"
        ) from None
    except OSError as err:
        raise PhotoError(
            name, "unreadable", f"cannot be read ({err.strerror})", "check the file's permissions"
        ) from None
    _check_bytes(name, len(data), max_bytes)  # it may have grown since stat
    return data


@cache
def _register_heif() -> bool:
    """Teach Pillow HEIC/HEIF, once, on first use (importing this module stays cheap)."""
    try:
        import pillow_heif
    except ImportError:  # pragma: no cover - pillow-heif is a declared dependency
        logger.warning("storywall.photos: pillow-heif is not installed; HEIC photos will be refused")
        return False
    pillow_heif.register_heif_opener()
    return True


def _looks_like(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n\x0c").lower()
    if b"<svg" in text:
        return "looks like an SVG drawing"
    if text.startswith(b"<") or (
        b"\x00" not in head and head.decode("utf-8", "replace").count("\ufffd") <= 1
    ):
        return "looks like HTML/text"
    return "unrecognised data"


def _signature_format(head: bytes) -> str | None:
    for magic, fmt in _SIGNATURES:
        if head.startswith(magic):
            return fmt
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return "HEIF" if head[4:8] == b"ftyp" else None


def _any_pillow_format(data: bytes) -> str | None:
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.format
    except Exception:  # noqa: BLE001 - any failure just means "not an image Pillow knows"
        return None


def _unidentified(data: bytes, name: str) -> PhotoError:
    if fmt := _signature_format(data[:16]):
        return _corrupt(name, f"{fmt} header could not be read")
    if fmt := _any_pillow_format(data):
        return PhotoError(name, "unsupported-format", f"{fmt} images are not accepted", FORMAT_HINT)
    return PhotoError(name, "not-an-image", f"not an image ({_looks_like(data[:1024])})", FORMAT_HINT)


def _corrupt(name: str, detail: str) -> PhotoError:
    return PhotoError(
        name,
        "corrupt",
        f"the image data is damaged ({detail})",
        "export the photo again from your phone or photo app and upload it again",
    )


def _too_many_pixels(name: str, size: tuple[int, int] | None, max_pixels: int) -> PhotoError:
    what = f"{size[0]}×{size[1]} pixels ({size[0] * size[1] / 1e6:.0f} MP)" if size else "the image"
    return PhotoError(
        name,
        "too-many-pixels",
        f"{what} is over the {max_pixels / 1e6:g} MP limit",
        f"resize the photo to at most {max_pixels / 1e6:g} megapixels (for example 4000×3000)",
    )


def _bomb_filter(max_pixels: int) -> str:
    """Pillow's bomb warning (above Image.MAX_IMAGE_PIXELS) is an error when our limit is lower.

    Above twice that limit Pillow raises DecompressionBombError itself, whatever ``max_pixels`` says.
    """
    pillow_limit = Image.MAX_IMAGE_PIXELS
    return "error" if pillow_limit and max_pixels < pillow_limit else "ignore"


def _open_image(data: bytes, name: str, max_pixels: int) -> Image.Image:
    """Open (header only) with the format allowlist and the pixel limit."""
    _register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter(_bomb_filter(max_pixels), Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(name, None, max_pixels) from None
    except UnidentifiedImageError:
        raise _unidentified(data, name) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as err:
        raise _corrupt(name, str(err) or type(err).__name__) from None
    if img.width * img.height > max_pixels:
        raise _too_many_pixels(name, img.size, max_pixels)
    return img


@cache
def _turbo() -> Any | None:
    """simplejpeg (libjpeg-turbo), imported once per process; None where it is not installed."""
    try:
        import simplejpeg
    except ImportError:
        return None
    return simplejpeg


def _shrink_on_load(data: bytes, img: Image.Image, box: tuple[int, int]) -> Image.Image | None:
    """A YCbCr or greyscale JPEG decoded at the smallest M/8 scale that still covers ``box``.

    libjpeg-turbo scales by any M/8 while decoding; Pillow's draft() only by 1/2, 1/4 or
    1/8, so a 3000x2000 photo (or a 12 MP portrait) for 1600 px derivatives would be
    decoded in full and then resized. None: Pillow decodes it instead (no simplejpeg,
    CMYK, or anything libjpeg-turbo warns about, such as a truncated file, so that
    Pillow's answer and error messages stay the only ones).
    """
    turbo = _turbo()
    if turbo is None or img.format not in _JPEG_FORMATS or img.mode not in ("RGB", "L"):
        return None
    try:
        colorspace = "RGB" if img.mode == "RGB" else "GRAY"
        pixels = turbo.decode_jpeg(data, colorspace=colorspace, min_width=box[0], min_height=box[1])
    except ValueError:
        return None
    height, width = pixels.shape[:2]
    if not (box[0] <= width <= img.width and box[1] <= height <= img.height):
        return None  # not the image Pillow's header describes (e.g. an odd multi-picture file)
    return Image.frombuffer(img.mode, (width, height), pixels, "raw", img.mode, 0, 1)


def _load_pixels(
    img: Image.Image, name: str, max_pixels: int, box: tuple[int, int] | None = None, data: bytes = b""
) -> Image.Image:
    """Decode every byte (DCT-scaled to no smaller than ``box`` for JPEG) so truncation is caught.

    Returns the decoded image: ``img`` itself, or a smaller one from :func:`_shrink_on_load`.
    """
    if box and data and (scaled := _shrink_on_load(data, img, box)) is not None:
        return scaled
    if box and img.format in _JPEG_FORMATS:
        img.draft("RGB", box)
    try:
        img.load()
    except Image.DecompressionBombError:
        raise _too_many_pixels(name, None, max_pixels) from None
    except OSError as err:
        if "truncated" in str(err):
            raise PhotoError(
                name, "truncated", "the file is cut off (truncated upload)", "upload the original photo again"
            ) from None
        raise _corrupt(name, str(err)) from None
    except (SyntaxError, ValueError, EOFError, struct.error, IndexError) as err:
        raise _corrupt(name, str(err) or type(err).__name__) from None
    return img


# --- orientation and colour -----------------------------------------------------


def _orientation(img: Image.Image) -> int:
    """EXIF orientation 1-8; HEIF is already upright (pillow-heif applied it)."""
    if img.format == "HEIF":
        return 1
    try:
        value = img.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # noqa: BLE001 - broken EXIF: treat as upright
        return 1
    return value if value in _TRANSPOSE else 1


def _upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def _scale_16bit(img: Image.Image) -> Image.Image:
    """16-bit greyscale to 8-bit by scaling (Pillow's convert("L") would clip)."""
    return img.convert("I").point(lambda v: v * (1 / 256)).convert("L")


def _flatten(img: Image.Image) -> Image.Image:
    """Any mode to RGB: 16-bit scaled, alpha composited onto white."""
    if img.mode == "RGB":
        return img
    if img.mode.startswith("I"):
        img = _scale_16bit(img)
    if not img.has_transparency_data:
        return img.convert("RGB")
    rgba = img.convert("RGBA")
    canvas = Image.new("RGB", img.size, BACKGROUND)
    canvas.paste(rgba, mask=rgba.getchannel("A"))
    return canvas


@lru_cache(maxsize=8)
def _srgb_transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """A LittleCMS transform from ``icc`` to sRGB, or None if sRGB/unusable."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        space = profile.profile.xcolor_space.strip()
        expected = "CMYK" if mode == "CMYK" else "RGB"
        if space != expected or "srgb" in ImageCms.getProfileDescription(profile).lower():
            return None
        fast = ImageCms.Flags.NOCACHE | ImageCms.Flags.LOWRESPRECALC if space == "RGB" else 0
        return ImageCms.buildTransform(profile, _srgb_profile(), mode, "RGB", flags=fast)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as err:
        logger.warning("storywall.photos: ignoring an unusable ICC profile (%s)", err)
        return None


@cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    """Convert RGB or CMYK pixels described by ``icc`` to sRGB RGB."""
    transform = _srgb_transform(icc, img.mode) if icc and img.mode in ("RGB", "CMYK") else None
    if transform is None:
        return img if img.mode == "RGB" else img.convert("RGB")
    try:
        return ImageCms.applyTransform(img, transform)
    except ImageCms.PyCMSError as err:
        logger.warning("storywall.photos: ICC conversion failed, using plain RGB (%s)", err)
        return img.convert("RGB")


_Target = Callable[[tuple[int, int]], tuple[int, int]]  # upright full size -> smallest useful decode size


@dataclass
class _Decoded:
    image: Image.Image  # upright RGB, still in the source colour space (see icc)
    icc: bytes | None  # RGB profile still to apply; None when already sRGB
    size: tuple[int, int]  # intrinsic upright size, before any DCT scaling
    format: str


def _decode(data: bytes, name: str, *, max_pixels: int, target: _Target | None = None) -> _Decoded:
    """Open, check, decode (DCT-scaled no smaller than ``target(size)``), orient, flatten."""
    img = _open_image(data, name, max_pixels)
    fmt, orientation = img.format or "", _orientation(img)
    size = _upright_size(img.size, orientation)
    box = _upright_size(target(size), orientation) if target else None
    opened, img = img, _load_pixels(img, name, max_pixels, box, data)
    icc = opened.info.get("icc_profile") or None  # from the file, whichever decoder made img
    if img.mode == "CMYK":
        img, icc = _to_srgb(img, icc), None
    if orientation != 1:
        img = img.transpose(_TRANSPOSE[orientation])
    return _Decoded(_flatten(img), icc, size, fmt)


def open_photo(
    path: os.PathLike | str,
    *,
    max_bytes: int = MAX_PHOTO_BYTES,
    max_pixels: int = MAX_PHOTO_PIXELS,
    label: str | None = None,
) -> Image.Image:
    """The photo as an upright, fully decoded sRGB RGB image with no metadata.

    Raises :class:`PhotoError` (with ``code``) for anything unusable.
    """
    name = _label(path, label)
    decoded = _decode(read_photo_bytes(path, max_bytes=max_bytes, label=name), name, max_pixels=max_pixels)
    img = _to_srgb(decoded.image, decoded.icc)
    img.info = {}
    return img


# --- resizing and encoding ------------------------------------------------------


# Filter for a derivative made from the previous (already downscaled) one, by ``resample``:
# bilinear's chained steps use box (measured: 35% less time, +0.03-0.1 dB against LANCZOS).
_CHAINED = {"bilinear": Image.Resampling.BOX}


def _shrink(
    img: Image.Image, size: tuple[int, int], resample: str = RESAMPLE, *, chained: bool = False
) -> Image.Image:
    """Downscale to exactly ``size``: an exact integer factor uses reduce()."""
    if img.size == size:
        return img
    factor = img.width // size[0]
    if factor > 1 and img.size == (size[0] * factor, size[1] * factor):
        return img.reduce(factor)
    chosen = _RESAMPLERS[resample]
    return img.resize(size, _CHAINED.get(resample, chosen) if chained else chosen, reducing_gap=3.0)


def _save_pixels(
    img: Image.Image, fmt: str, settings: DerivativeSettings, fp: Any, webp_method: int | None = None
) -> None:
    """Encode ``img`` as ``fmt`` into ``fp``, from pixels only: no metadata can ride along.

    ``img.info`` must already be empty. ``webp_method`` defaults to ``settings.webp_method``.
    Given a real file, Pillow's JPEG encoder runs with the GIL released (it does not for
    BytesIO), so derivatives can be encoded in threads.
    """
    if fmt == "webp":
        method = settings.webp_method if webp_method is None else webp_method
        img.save(fp, "WEBP", quality=settings.webp_quality, method=method)
    else:
        img.save(
            fp, "JPEG", quality=settings.jpeg_quality, optimize=True, progressive=settings.jpeg_progressive
        )


def _encode(
    img: Image.Image, fmt: str, settings: DerivativeSettings, webp_method: int | None = None
) -> bytes:
    """The bytes :func:`_write_variant` would write for ``img`` (for measuring and tests)."""
    img.info = {}
    buf = io.BytesIO()
    _save_pixels(img, fmt, settings, buf, webp_method)
    return buf.getvalue()


def _atomic_save(dest: Path, write: Callable[[Any], object], *, fsync: bool = False) -> int:
    """Let ``write(fh)`` fill a temp file in the same folder, then os.replace it onto ``dest``.

    Readers never see half a file. Returns the file's size in bytes.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            size = os.fstat(fh.fileno()).st_size
            if fsync:
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return size


def _atomic_write(dest: Path, payload: bytes, *, fsync: bool = False) -> None:
    """Write ``payload`` atomically (see :func:`_atomic_save`)."""
    _atomic_save(dest, lambda fh: fh.write(payload), fsync=fsync)


def _slug(stem: str) -> str:
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9_]+", "-", ascii_stem.lower()).strip("-")[:60] or "photo"


def _rgb_hex(img: Image.Image) -> str:
    r, g, b = img.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    return f"#{r:02x}{g:02x}{b:02x}"


def _preview_uri(img: Image.Image) -> str | None:
    scale = min(1.0, PREVIEW_EDGE / max(img.size))
    tiny = img.resize(
        (max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.Resampling.BOX
    )
    tiny = tiny.filter(ImageFilter.GaussianBlur(0.7))
    buf = io.BytesIO()
    tiny.save(buf, "WEBP", quality=40, method=6)
    uri = "data:image/webp;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return uri if len(uri) <= PREVIEW_MAX_CHARS else None


def make_placeholder(img: Image.Image) -> Placeholder:
    """Average colour and a tiny blurred preview of an RGB image."""
    return Placeholder(color=_rgb_hex(img), preview=_preview_uri(img))


def _result_key(source_sha256: str, settings: DerivativeSettings) -> str:
    return hashlib.sha256(f"{source_sha256}\n{settings.token()}".encode()).hexdigest()[:10]


def _write_variant(
    img: Image.Image, fmt: str, stem: str, key: str, out_dir: Path, settings: DerivativeSettings, index: int
) -> Variant:
    """Write one derivative; ``index`` is its place in derivative_sizes order (0 = largest)."""
    filename = f"{stem}-{img.width}-{key}.{_EXTENSIONS[fmt]}"
    method = settings.webp_method_at(index)
    size = _atomic_save(out_dir / filename, lambda fh: _save_pixels(img, fmt, settings, fh, method))
    return Variant(img.width, img.height, fmt, filename, size)


def _resized_chain(decoded: _Decoded, sizes: list[tuple[int, int]], resample: str) -> Iterator[Image.Image]:
    """Largest first, each made from the previous; sRGB conversion on the largest only.

    A generator, so the caller can start encoding one size while the next is resized.
    """
    current = decoded.image
    for i, size in enumerate(sizes):
        current = _shrink(current, size, resample, chained=i > 0)
        if i == 0:
            current = _to_srgb(current, decoded.icc)
        current.info = {}
        yield current


class _InlineExecutor:
    """The part of an Executor that _derive uses, running each call at once in this thread."""

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except Exception as err:  # noqa: BLE001 - re-raised by future.result(), as with threads
            future.set_exception(err)
        return future


# Threads per photo for the encoders: 0 = one per CPU. Pillow releases the GIL while it
# decodes, resizes and encodes (JPEG only when writing to a real file), so the six
# encodes of one photo share the cores. process_many's workers get CPUs // workers
# (one each when there is a worker per CPU: measured, more threads there gain nothing).
_photo_threads = 0


def _threads_for(tasks: int) -> int:
    return max(1, min(tasks, _photo_threads or os.cpu_count() or 1))


@contextlib.contextmanager
def _encoders(threads: int) -> Iterator[Any]:
    """A pool for the encodes of one photo, shut down (all files written) on exit."""
    if threads <= 1:
        yield _InlineExecutor()
        return
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="storywall-photo") as pool:
        yield pool


def _derive(
    data: bytes,
    digest: str,
    stem: str,
    out_dir: Path,
    settings: DerivativeSettings,
    name: str,
    max_pixels: int,
) -> PhotoResult:
    """Decode once, then write every variant of ``settings`` into ``out_dir``.

    Resizing runs here while earlier sizes are being encoded (largest first, so the
    longest encode starts first). The files are identical whatever the thread count.
    """
    started = time.perf_counter()
    largest = lambda size: derivative_sizes(size, settings.widths)[0]  # noqa: E731
    decoded = _decode(data, name, max_pixels=max_pixels, target=largest)
    sizes = derivative_sizes(decoded.size, settings.widths)
    key = _result_key(digest, settings)
    threads = _threads_for(len(sizes) * len(settings.formats))
    pending: list[Future] = []
    with _encoders(threads) as pool:
        for index, img in enumerate(_resized_chain(decoded, sizes, settings.resample)):
            for n, fmt in enumerate(settings.formats):
                # Image.save keeps per-call state on the image object: one object per concurrent save.
                mine = img.copy() if n and threads > 1 else img
                pending.append(pool.submit(_write_variant, mine, fmt, stem, key, out_dir, settings, index))
            smallest = img
        placeholder = make_placeholder(smallest)
        variants = tuple(future.result() for future in pending)
    logger.debug(
        "storywall.photos: %s: %d files in %.0f ms (%d threads)",
        name,
        len(variants),
        (time.perf_counter() - started) * 1e3,
        threads,
    )
    w, h = decoded.size
    return PhotoResult(key, stem, digest, decoded.format, w, h, variants, placeholder)


def make_derivatives(
    src: os.PathLike | str,
    out_dir: os.PathLike | str,
    *,
    widths: Sequence[int] | None = None,
    formats: Sequence[str] | None = None,
    settings: DerivativeSettings | None = None,
    max_bytes: int = MAX_PHOTO_BYTES,
    max_pixels: int = MAX_PHOTO_PIXELS,
    label: str | None = None,
) -> PhotoResult:
    """Write the derivative set of ``src`` into ``out_dir`` and describe it.

    ``widths``/``formats`` default to ``settings`` (itself defaulting to
    DEFAULT_WIDTHS and ("webp", "jpeg")). Raises :class:`PhotoError`.
    """
    settings = resolve_settings(settings, widths, formats)
    name = _label(src, label)
    data = read_photo_bytes(src, max_bytes=max_bytes, label=name)
    digest = hashlib.sha256(data).hexdigest()
    return _derive(data, digest, _slug(Path(src).stem), Path(out_dir), settings, name, max_pixels)


# --- intake -------------------------------------------------------------------


def _fit(size: tuple[int, int], edge: int) -> tuple[int, int]:
    """``size`` scaled down (never up) so its long edge is at most ``edge``."""
    scale = min(1.0, edge / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _intake_name(name: str | None, src: os.PathLike | str) -> str:
    """A plain ``.jpg`` file name: no folders, no hidden files (the caller picks it)."""
    name = name or f"{_slug(Path(src).stem)}.jpg"
    if Path(name).name != name or name.startswith(".") or not name.lower().endswith((".jpg", ".jpeg")):
        raise ValueError(f"sanitize_photo name must be a plain .jpg file name, got {name!r}")
    return name


def sanitize_photo(
    src: os.PathLike | str,
    dest_dir: os.PathLike | str,
    *,
    name: str | None = None,
    max_bytes: int = MAX_PHOTO_BYTES,
    max_pixels: int = MAX_PHOTO_PIXELS,
    max_edge: int = MAX_SANITIZED_EDGE,
    quality: int = SANITIZED_JPEG_QUALITY,
    label: str | None = None,
) -> PhotoFacts:
    """Re-encode an uploaded photo as a clean upright sRGB JPEG in ``dest_dir``.

    The file is ``name`` (default ``<slug of the stem>.jpg``), written atomically
    (temp file, fsync, os.replace). No metadata survives. Raises :class:`PhotoError`.
    """
    dest = Path(dest_dir) / _intake_name(name, src)
    label = _label(src, label)
    data = read_photo_bytes(src, max_bytes=max_bytes, label=label)
    decoded = _decode(data, label, max_pixels=max_pixels, target=lambda size: _fit(size, max_edge))
    img = _to_srgb(_shrink(decoded.image, _fit(decoded.size, max_edge)), decoded.icc)
    img.info = {}
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, optimize=True)
    payload = buf.getvalue()
    _atomic_write(dest, payload, fsync=True)
    digest = hashlib.sha256(payload).hexdigest()
    return PhotoFacts(str(dest), img.width, img.height, len(payload), digest, "jpeg", decoded.format)


# --- cache --------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, data: Any) -> None:
    _atomic_write(path, json.dumps(data, separators=(",", ":")).encode())


def _place(src: Path, dest: Path, link: bool) -> None:
    if link:
        with contextlib.suppress(OSError):
            os.link(src, dest)
            return
    shutil.copyfile(src, dest)


def copy_to_output(
    result: PhotoResult, output_dir: os.PathLike | str, *, source_dir: os.PathLike | str, link: bool = False
) -> list[Path]:
    """Copy (or hard-link) the result's files from ``source_dir``; returns the output paths."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    placed = []
    for filename in result.files():
        dest = out / filename
        if not dest.exists():  # content-hashed names: same name, same bytes
            _place(Path(source_dir) / filename, dest, link)
        placed.append(dest)
    return placed


def live_files(results: Iterable[PhotoResult]) -> set[str]:
    """Every derivative file name the given results use (copy only these)."""
    return {name for result in results for name in result.files()}


class DerivativeCache:
    """Derivative sets made once per (source bytes, settings, stem), kept in ``cache_dir``.

    Layout: ``files/`` holds the derivatives; ``results/<id>.json`` one
    PhotoResult each; ``hashes/<id>.json`` the source's sha256 keyed by (path,
    size, mtime_ns), so a warm lookup reads no photo bytes. One small file per
    entry: worker processes never fight over a shared index.
    """

    def __init__(self, cache_dir: os.PathLike | str):
        self.root = Path(cache_dir)
        self.files_dir = self.root / "files"
        self._results_dir = self.root / "results"
        self._hashes_dir = self.root / "hashes"

    # -- keys
    def _hash_entry(self, src: os.PathLike | str) -> Path:
        digest = hashlib.sha256(os.fsencode(os.path.abspath(src))).hexdigest()[:24]
        return self._hashes_dir / f"{digest}.json"

    def _result_entry(self, digest: str, stem: str, settings: DerivativeSettings) -> Path:
        key = hashlib.sha256(f"{digest}\n{stem}\n{settings.token()}".encode()).hexdigest()[:32]
        return self._results_dir / f"{key}.json"

    def _known_sha256(self, src: os.PathLike | str) -> str | None:
        """The remembered sha256 of ``src`` if its size and mtime are unchanged."""
        try:
            st = os.stat(src)
        except OSError:
            return None
        memo = _read_json(self._hash_entry(src))
        if isinstance(memo, dict) and memo.get("stat") == [st.st_size, st.st_mtime_ns]:
            return memo.get("sha256")
        return None

    def _remember_sha256(self, src: os.PathLike | str, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        with contextlib.suppress(OSError):
            st = os.stat(src)
            _write_json(
                self._hash_entry(src),
                {"path": os.path.abspath(src), "stat": [st.st_size, st.st_mtime_ns], "sha256": digest},
            )
        return digest

    def _complete(self, entry: Path) -> PhotoResult | None:
        data = _read_json(entry)
        try:
            result = PhotoResult.from_dict(data)
        except (TypeError, KeyError):
            return None
        files_ok = all(os.path.exists(self.files_dir / name) for name in result.files())
        return result if files_ok else None

    # -- public
    def lookup(
        self,
        src: os.PathLike | str,
        *,
        widths: Sequence[int] | None = None,
        formats: Sequence[str] | None = None,
        settings: DerivativeSettings | None = None,
    ) -> PhotoResult | None:
        """The cached result for ``src`` without reading it, or None (never raises for bad photos)."""
        settings = resolve_settings(settings, widths, formats)
        digest = self._known_sha256(src)
        return self._complete(self._result_entry(digest, _slug(Path(src).stem), settings)) if digest else None

    def get_or_make(
        self,
        src: os.PathLike | str,
        *,
        widths: Sequence[int] | None = None,
        formats: Sequence[str] | None = None,
        settings: DerivativeSettings | None = None,
        max_bytes: int = MAX_PHOTO_BYTES,
        max_pixels: int = MAX_PHOTO_PIXELS,
        label: str | None = None,
    ) -> PhotoResult:
        """The cached derivative set of ``src``, made (and cached) when missing."""
        settings = resolve_settings(settings, widths, formats)
        if hit := self.lookup(src, settings=settings):
            return hit
        name = _label(src, label)
        data = read_photo_bytes(src, max_bytes=max_bytes, label=name)
        digest, stem = self._remember_sha256(src, data), _slug(Path(src).stem)
        entry = self._result_entry(digest, stem, settings)
        if hit := self._complete(entry):  # touched but unchanged
            return hit
        result = _derive(data, digest, stem, self.files_dir, settings, name, max_pixels)
        _write_json(entry, result.to_dict())
        return result

    def path(self, filename: str) -> Path:
        return self.files_dir / filename

    def copy_to_output(
        self, result: PhotoResult, output_dir: os.PathLike | str, *, link: bool = False
    ) -> list[Path]:
        """Copy (or hard-link) one result's files into ``output_dir``."""
        return copy_to_output(result, output_dir, source_dir=self.files_dir, link=link)

    def prune(self, keep: Iterable[PhotoResult]) -> list[Path]:
        """Delete cached files no result in ``keep`` uses, and results left incomplete."""
        live = live_files(keep)
        removed = [p for p in self.files_dir.glob("*") if p.name not in live]
        for path in removed:
            path.unlink(missing_ok=True)
        for entry in self._results_dir.glob("*.json"):
            if self._complete(entry) is None:
                entry.unlink(missing_ok=True)
                removed.append(entry)
        return removed


# --- many photos ---------------------------------------------------------------


@dataclass(frozen=True)
class PhotoJob:
    """One photo for :func:`process_many` (picklable)."""

    src: str
    cache_dir: str
    label: str | None = None
    settings: DerivativeSettings = field(default_factory=DerivativeSettings)
    max_bytes: int = MAX_PHOTO_BYTES
    max_pixels: int = MAX_PHOTO_PIXELS

    @property
    def name(self) -> str:
        return self.label or self.src


def run_job(job: PhotoJob) -> PhotoResult | PhotoError:
    """Process one job; every failure comes back as a PhotoError naming the file."""
    try:
        cache_ = DerivativeCache(job.cache_dir)
        return cache_.get_or_make(
            job.src,
            settings=job.settings,
            max_bytes=job.max_bytes,
            max_pixels=job.max_pixels,
            label=job.label,
        )
    except PhotoError as err:
        return err
    except Exception as err:  # noqa: BLE001 - a bug or resource problem must still name the photo
        logger.debug("storywall.photos: %s failed", job.name, exc_info=True)
        return _failed(job, err)


def _failed(job: PhotoJob, err: BaseException) -> PhotoError:
    return PhotoError(
        job.name,
        "failed",
        f"could not be processed ({type(err).__name__}: {err})",
        "export the photo again; if it keeps failing, report it with this message",
    )


def _interactive(progress: bool) -> bool:
    return progress and sys.stderr.isatty() and not os.environ.get("CI")


@contextlib.contextmanager
def _progress_bar(total: int, enabled: bool) -> Iterator[Callable[[], None]]:
    if not enabled or total == 0:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("photos", total=total)
        yield lambda: bar.advance(task)


def _source_bytes(job: PhotoJob) -> int:
    try:
        return os.stat(job.src).st_size
    except OSError:
        return 0


def _pool_context() -> Any:
    """fork on Linux while this process has one thread: a worker starts in milliseconds with
    Pillow and this module already imported (Python 3.14 would otherwise use forkserver)."""
    if sys.platform == "linux" and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return None  # the platform's default


def _keep_freed_memory() -> None:
    """glibc: keep freed memory for reuse instead of handing it back to the kernel at once.

    Every photo allocates ~30 MB of fresh pixel buffers; returned and re-faulted each
    time, that is ~8000 page faults and 35-45 ms of system time per 12 MP photo here.
    Done only in process_many's workers, which are short-lived and do nothing else.
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
        mallopt(-3, 32 * 1024 * 1024)  # M_MMAP_THRESHOLD: pixel buffers come from the heap
        mallopt(-1, 256 * 1024 * 1024)  # M_TRIM_THRESHOLD: and stay there between photos


def _worker_init(threads: int) -> None:
    global _photo_threads
    _photo_threads = threads
    _keep_freed_memory()


@contextlib.contextmanager
def _run_pool(jobs: list[PhotoJob], workers: int) -> Iterator[Iterator[tuple[int, Any]]]:
    """Start ``workers`` processes and submit every job (largest file first, so the batch does
    not end waiting on one big photo), then yield an iterator of (index, outcome) as they finish.

    Only paths go to the workers and only PhotoResults come back: nothing large is pickled.
    """
    order = sorted(range(len(jobs)), key=lambda i: _source_bytes(jobs[i]), reverse=True)
    _turbo()  # imported before the fork (numpy takes ~0.2 s), not once in every worker
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_pool_context(),
        initializer=_worker_init,
        initargs=(max(1, (os.cpu_count() or 1) // workers),),
    )
    try:
        futures = {pool.submit(run_job, jobs[i]): i for i in order}  # fork happens here
        yield _as_finished(futures, jobs)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)  # e.g. Ctrl-C: do not make the rest
        raise
    pool.shutdown(wait=True)


def _as_finished(futures: dict[Future, int], jobs: list[PhotoJob]) -> Iterator[tuple[int, Any]]:
    for future in as_completed(futures):
        i = futures[future]
        try:
            outcome = future.result()
        except Exception as err:  # noqa: BLE001 - e.g. a worker killed for memory
            outcome = _failed(jobs[i], err)
        yield i, outcome


@contextlib.contextmanager
def _run_here(jobs: list[PhotoJob]) -> Iterator[Iterator[tuple[int, Any]]]:
    yield ((i, run_job(job)) for i, job in enumerate(jobs))


def process_many(
    jobs: Iterable[PhotoJob], *, workers: int | None = None, progress: bool = True
) -> list[PhotoResult | PhotoError]:
    """Results in job order: a PhotoResult, or the PhotoError for that photo.

    Cache hits are answered here without starting a pool; the rest run in one
    ProcessPoolExecutor of ``workers`` (default os.cpu_count()) processes for the
    whole batch; with one worker (or one photo) they run here, each photo's
    encodes spread over the CPUs in threads. A rich progress bar shows only when
    stderr is a terminal and CI is not set.
    """
    jobs = list(jobs)
    results: list[Any] = [_cached(job) for job in jobs]
    todo = [i for i, r in enumerate(results) if r is None]
    workers = min(workers or os.cpu_count() or 1, len(todo))
    pending = [jobs[i] for i in todo]
    with contextlib.ExitStack() as stack:
        # The pool (and its fork) first, then the progress bar's thread.
        runner = _run_pool(pending, workers) if workers > 1 else _run_here(pending)
        outcomes = stack.enter_context(runner)
        advance = stack.enter_context(_progress_bar(len(todo), _interactive(progress)))
        for j, outcome in outcomes:
            results[todo[j]] = outcome
            advance()
    return results


def _cached(job: PhotoJob) -> PhotoResult | None:
    try:
        return DerivativeCache(job.cache_dir).lookup(job.src, settings=job.settings)
    except Exception:  # noqa: BLE001 - any doubt: let the worker decide
        return None


# --- inspection ----------------------------------------------------------------


def _exif_of(img: Image.Image) -> Image.Exif | None:
    try:
        return img.getexif()
    except Exception:  # noqa: BLE001 - unreadable EXIF still counts as EXIF below
        return None


def _png_text_keys(img: Image.Image) -> list[str]:
    text = getattr(img, "text", None) or {}
    return [k for k in text if k != "XML:com.adobe.xmp"]


def _iptc(img: Image.Image) -> bool:
    try:
        return IptcImagePlugin.getiptcinfo(img) is not None
    except Exception:  # noqa: BLE001 - malformed IPTC is still IPTC
        return True


def metadata_found(img: Image.Image, data: bytes = b"") -> list[str]:
    """Names of the metadata an opened image (and its raw bytes) still carries."""
    info, exif = img.info, _exif_of(img)
    checks = [
        ("EXIF", bool(info.get("exif")) or b"Exif\x00\x00" in data),
        ("GPS", bool(exif and exif.get_ifd(_GPS_IFD))),
        (
            "XMP",
            bool(info.get("xmp") or "XML:com.adobe.xmp" in info) or b"http://ns.adobe.com/xap/1.0/" in data,
        ),
        ("IPTC", "photoshop" in info or b"Photoshop 3.0" in data or _iptc(img)),
        ("comment", bool(info.get("comment"))),
        ("PNG text", bool(_png_text_keys(img))),
        ("ICC profile", bool(info.get("icc_profile"))),
        ("extra images", bool(info.get("mp") or info.get("thumbnails") or info.get("depth_images"))),
    ]
    return [label for label, present in checks if present]


def inspect_photo(
    path: os.PathLike | str,
    *,
    max_bytes: int = MAX_PHOTO_BYTES,
    max_pixels: int = MAX_PHOTO_PIXELS,
    label: str | None = None,
) -> list[str]:
    """For ``storywall check``: the metadata a stored photo still carries.

    Returns e.g. ``["EXIF", "GPS", "XMP", "comment"]`` (empty when clean).
    The size and pixel limits, the format allowlist and a full decode (JPEG
    at 1/8 scale, which still reads every byte) are checked first: a photo
    that fails them raises :class:`PhotoError` with its ``code``.
    """
    name = _label(path, label)
    data = read_photo_bytes(path, max_bytes=max_bytes, label=name)
    img = _open_image(data, name, max_pixels)
    _load_pixels(img, name, max_pixels, (1, 1))
    return metadata_found(img, data)
