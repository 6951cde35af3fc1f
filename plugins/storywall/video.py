"""Videos: safe probing, metadata-free intake copies and web versions.

Pure functions: paths in, files and facts out, like :mod:`storywall.photos`.
The build, the intake server and ``storywall check`` all use this module, so
every rule about videos lives here. FFmpeg's libraries come from the PyAV
wheel (``av`` on PyPI); no system ffmpeg is used.

Decisions (each one is tested in tests/test_video.py):

* Accepted containers are ISO BMFF (MP4, MOV, 3GP: what phones record) and
  Matroska/WebM (what browsers' MediaRecorder writes). The container is
  recognised from its first bytes and the demuxer is *forced* to match, so a
  renamed text file, an HLS/concat playlist (which would make FFmpeg read
  other files or URLs) or an image is refused before FFmpeg guesses at it.
  HEIC/AVIF photos (ISO BMFF too) are refused by their ``ftyp`` brand.
* Refusals are :class:`VideoError` with a machine ``code`` and a one-line
  message naming the file and the fix. Codes: missing, unreadable, empty,
  too-large, not-a-video, unsupported-format, no-video-stream,
  unsupported-codec, truncated, corrupt, too-long, too-many-pixels,
  too-fast, failed.
* Limits (:data:`MAX_VIDEO_SECONDS`, :data:`MAX_VIDEO_BYTES`,
  :data:`MAX_VIDEO_PIXELS`, :data:`MAX_VIDEO_FPS`) are keyword arguments of
  every public function. The byte limit is checked with ``stat`` before the
  file is opened; the others from the container header, before anything is
  decoded.
* Truncation: for MP4/MOV the top-level boxes are walked (a missing ``moov``
  box or a box running past the end of the file is a cut-off upload) and
  every sample the index lists must lie inside the file; for Matroska every
  packet is read and must reach the declared duration. In every container
  the first :data:`PROBE_FRAMES` frames are decoded.
* Rotation: phones store landscape pixels plus a *display matrix*
  (``AV_PKT_DATA_DISPLAYMATRIX`` stream side data, the ``tkhd`` matrix in
  MP4). :func:`probe_video` reports ``rotation`` in PyAV's convention
  (counter-clockwise degrees, as ``VideoFrame.rotation``, normalised to 0/90/
  180/270) and ``width``/``height`` as displayed. The intake remux keeps the
  matrix (``add_stream_from_template`` copies the coded side data), so the
  stored copy still plays upright; the web version applies it to the pixels
  with FFmpeg's ``transpose``/``hflip``/``vflip`` filters (the same choice as
  the ``ffmpeg`` CLI's autorotate, mirrored matrices included) and carries
  no matrix. The old ``rotate`` stream tag is neither written nor read by
  FFmpeg 8 (PyAV 18): only the display matrix counts.
* Intake (:func:`strip_video`) is a remux, never a re-encode: one video
  stream and at most one audio stream are copied packet for packet into MP4
  (or MOV when MP4 cannot hold the codec, e.g. PCM audio); container and
  stream metadata, chapters, cover art, subtitle, data and timecode tracks
  (where iPhones keep per-frame location) are dropped, and ``+bitexact``
  keeps FFmpeg's own encoder tag out. Written atomically (temp file in the
  same folder, fsync, os.replace).
* Web version (:func:`make_web_version`): H.264 (libx264, yuv420p, CRF
  :data:`X264_CRF`, preset :data:`X264_PRESET`, chosen by measurement in
  scripts/bench_video.py) + AAC-LC, ``+faststart`` (the ``moov`` box before
  ``mdat``: it plays while loading), no metadata. "720p" means the *short*
  edge is at most ``max_height`` (a portrait phone video becomes 720×1280,
  not 405×720) and the long edge at most 16/9 of it; never upscaled;
  dimensions even. Frame rate and timing are kept (variable frame rate
  stays variable). Audio is re-encoded (stereo at most, 48 kHz at most).
* Poster: one frame of the finished web MP4 at ``poster_time`` (default
  :data:`POSTER_SECONDS`, or :data:`POSTER_FRACTION` of a shorter video;
  clamped into the video), as WebP and JPEG with no metadata.
* Names are content-hashed: ``<stem>-<hash10>.mp4`` (source bytes + video
  settings) and ``<stem>-poster-<hash10>.webp/.jpg`` (the same plus the
  poster time), so changing only the poster time re-encodes nothing.
* :class:`VideoCache` keeps results by (source sha256, settings, poster
  time); the sha256 is remembered by (path, size, mtime_ns), so a warm
  lookup reads no video bytes and decodes nothing.
* Not handled: HDR (10-bit HLG/PQ BT.2020) is converted to 8-bit yuv420p
  without tone mapping, so it looks flat; non-square pixels are treated as
  square; the H.264/HEVC bitstream itself is copied as-is at intake, so an
  encoder's own SEI text (e.g. x264's settings) stays in it; a second audio
  track (e.g. a commentary) is dropped.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import math
import os
import re
import shutil
import struct
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

from storywall.errors import SettingsError, StoryWallError

logger = logging.getLogger(__name__)

# --- limits and settings (units in the names or comments) -------------------

MAX_VIDEO_SECONDS = 120  # s: a short testimonial; phones record ~1 MB/s at 1080p
MAX_VIDEO_BYTES = 200 * 1024 * 1024  # 200 MB: two minutes of 4K HEVC from a phone
MAX_VIDEO_PIXELS = 3840 * 2160  # px per frame: 4K UHD
MAX_VIDEO_FPS = 60  # frames per second (slow-motion 120/240 fps is refused)
WEB_MAX_HEIGHT = 720  # px: short edge of the web version ("720p")
# libx264 preset, measured with scripts/bench_video.py --presets (1080p30 phone-like source -> 720p, CRF 23,
# CPU s per source second / MB per minute): ultrafast 0.95/54, superfast 1.10/40, veryfast 1.20/23,
# faster 1.55/23, fast 2.23/25, medium 2.93/22. veryfast is the knee: less than half superfast's bytes
# for 10 % more CPU; medium saves 3 % more bytes for 2.4x the CPU.
X264_PRESET = "veryfast"
X264_CRF = 23  # libx264 constant rate factor, 0-51 (lower is better); 23 is x264's default
AAC_BITRATE = 128_000  # bit/s for stereo; mono gets 2/3 of it
MAX_AUDIO_RATE = 48_000  # Hz
KEYFRAME_SECONDS = 2.0  # s between keyframes in the web version (seeking granularity)
POSTER_SECONDS = 1.0  # s: default poster frame time...
POSTER_FRACTION = 0.1  # ...or this fraction of a shorter video
POSTER_WEBP_QUALITY = 80  # libwebp 0-100
POSTER_JPEG_QUALITY = 85  # libjpeg 0-100
PROBE_FRAMES = 3  # frames decoded by probe_video
PIPELINE_VERSION = 1  # bump when the same settings would produce different files

FORMAT_HINT = "upload a video from your phone or camera (MP4, MOV or WebM)"
REEXPORT_HINT = "export or save the video again from your phone or camera and upload it again"
_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
)
_BMFF_BOXES = {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot", b"uuid", b"styp"}
_PHOTO_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"}
_EBML = b"\x1a\x45\xdf\xa3"
_IMAGE_SIGNATURES = (
    (b"\xff\xd8\xff", "a JPEG photo"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"GIF8", "a GIF image"),
    (b"BM", "a BMP image"),
)
_AUDIO_SIGNATURES = ((b"ID3", "an MP3"), (b"fLaC", "a FLAC file"), (b"OggS", "an Ogg file"))
_KEPT_CONTAINERS = {"mov": "mp4", "matroska": "matroska"}  # forced demuxer -> family
# metadata that says nothing about the person or the place (ignored by inspect_video)
_BENIGN_KEYS = {"major_brand", "minor_version", "compatible_brands", "language", "duration", "vendor_id"}
_GENERIC_HANDLERS = {"", "VideoHandler", "SoundHandler", "DataHandler", "ISO Media file produced by Google Inc."}


class VideoError(StoryWallError):
    """A video that cannot be used, with a short machine ``code`` and a fix.

    ``str(err)`` is one line: ``<file>: <problem> — <hint>``. The codes are
    listed in the module docstring.
    """

    def __init__(self, label: str, code: str, problem: str, hint: str):
        self.label, self.code, self.problem, self.hint = str(label), code, problem, hint
        super().__init__(f"{label}: {problem} — {hint}")

    def __reduce__(self):  # picklable across the process pool
        return (type(self), (self.label, self.code, self.problem, self.hint))


# --- results ------------------------------------------------------------------


@dataclass(frozen=True)
class VideoSettings:
    """Everything that changes the web MP4; hashed into its name."""

    max_height: int = WEB_MAX_HEIGHT
    crf: int = X264_CRF
    preset: str = X264_PRESET
    audio_bitrate: int = AAC_BITRATE
    keyframe_seconds: float = KEYFRAME_SECONDS
    poster_webp_quality: int = POSTER_WEBP_QUALITY
    poster_jpeg_quality: int = POSTER_JPEG_QUALITY

    def __post_init__(self):
        if not isinstance(self.max_height, int) or self.max_height < 16:
            raise SettingsError(f"video max_height must be a whole number of pixels >= 16, got {self.max_height!r}")
        if not isinstance(self.crf, int) or not 0 <= self.crf <= 51:
            raise SettingsError(f"video crf must be a whole number from 0 to 51, got {self.crf!r}")
        if self.preset not in _PRESETS:
            raise SettingsError(f"video preset must be one of {', '.join(_PRESETS)}; got {self.preset!r}")
        if not isinstance(self.audio_bitrate, int) or not 32_000 <= self.audio_bitrate <= 512_000:
            raise SettingsError(f"video audio_bitrate must be 32000-512000 bit/s, got {self.audio_bitrate!r}")
        if not self.keyframe_seconds > 0:
            raise SettingsError(f"video keyframe_seconds must be positive, got {self.keyframe_seconds!r}")
        for name in ("poster_webp_quality", "poster_jpeg_quality"):
            if not 1 <= getattr(self, name) <= 100:
                raise SettingsError(f"video {name} must be 1-100, got {getattr(self, name)!r}")

    def video_token(self) -> str:
        """The settings that change the MP4 (plus the pipeline version), for hashing."""
        data = asdict(self)
        data.pop("poster_webp_quality"), data.pop("poster_jpeg_quality")
        return json.dumps({**data, "pipeline": PIPELINE_VERSION}, sort_keys=True)

    def token(self) -> str:
        """Every setting (plus the pipeline version), for hashing."""
        return json.dumps({**asdict(self), "pipeline": PIPELINE_VERSION}, sort_keys=True)


@dataclass(frozen=True)
class VideoFacts:
    """What :func:`probe_video` found, or what :func:`strip_video` wrote.

    ``width``/``height`` are as displayed (rotation applied); ``coded_width``/
    ``coded_height`` as stored. ``rotation`` is counter-clockwise degrees
    (0, 90, 180 or 270), PyAV's ``VideoFrame.rotation`` convention.
    """

    path: str
    format: str  # "mp4" (any ISO BMFF: MP4/MOV/3GP) or "matroska" (MKV/WebM); "mov" for a MOV remux
    video_codec: str
    audio_codec: str | None
    width: int
    height: int
    coded_width: int
    coded_height: int
    rotation: int
    mirrored: bool
    fps: float
    duration: float  # s
    bytes: int
    sha256: str = ""  # of the file written (strip_video only)

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoFacts:
        return cls(**data)


@dataclass(frozen=True)
class VideoResult:
    """A web version and its poster: JSON-serialisable with to_dict/from_dict (the build caches it)."""

    key: str  # hash10 in the MP4 name: source bytes + video settings
    poster_key: str  # hash10 in the poster names: the same + poster time + poster settings
    stem: str
    source_sha256: str
    width: int  # px, upright, as encoded
    height: int
    duration: float  # s
    has_audio: bool
    mp4: str  # file name
    mp4_bytes: int
    poster_time: float  # s, as used (after clamping)
    poster_webp: str
    poster_jpeg: str
    poster_width: int
    poster_height: int
    poster_webp_bytes: int = 0
    poster_jpeg_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoResult:
        return cls(**data)

    def files(self) -> list[str]:
        return [self.mp4, self.poster_webp, self.poster_jpeg]


@dataclass(frozen=True)
class _Limits:
    seconds: float = MAX_VIDEO_SECONDS
    bytes: int = MAX_VIDEO_BYTES
    pixels: int = MAX_VIDEO_PIXELS
    fps: float = MAX_VIDEO_FPS


def resolve_settings(settings: VideoSettings | None = None, max_height: int | None = None) -> VideoSettings:
    """``settings`` (or the defaults) with ``max_height`` replaced when given."""
    base = settings or VideoSettings()
    return replace(base, max_height=max_height) if max_height is not None else base


# --- small helpers ----------------------------------------------------------------


def _label(path: os.PathLike | str, label: str | None) -> str:
    return label or str(path)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _slug(stem: str) -> str:
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9_]+", "-", ascii_stem.lower()).strip("-")[:60] or "video"


@cache
def _av():
    """PyAV, imported on first use (importing this module stays cheap).

    FFmpeg's own log lines are silenced (process-wide): every failure reaches
    the caller as a VideoError instead.
    """
    import av

    av.logging.set_level(av.logging.PANIC)
    return av


def file_sha256(path: os.PathLike | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def _atomic_path(dest: Path) -> Iterator[Path]:
    """A temp path next to ``dest``; on success it is fsynced and os.replace'd onto ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
        with contextlib.suppress(OSError):  # the rename itself survives a crash
            dirfd = os.open(dest.parent, os.O_RDONLY)
            try:
                os.fsync(dirfd)
            finally:
                os.close(dirfd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _write_small(dest: Path, payload: bytes) -> None:
    with _atomic_path(dest) as tmp:
        tmp.write_bytes(payload)


# --- recognising the file -------------------------------------------------------


def _check_size(name: str, path: os.PathLike | str, max_bytes: int) -> int:
    try:
        size = os.stat(path).st_size
        with open(path, "rb"):
            pass
    except FileNotFoundError:
        raise VideoError(name, "missing", "file not found", "check the video's file name and folder") from None
    except OSError as err:
        raise VideoError(
            name, "unreadable", f"cannot be read ({err.strerror})", "check the file's permissions"
        ) from None
    if size == 0:
        raise VideoError(name, "empty", "the file is empty (0 bytes)", "upload the video again")
    if size > max_bytes:
        raise VideoError(
            name,
            "too-large",
            f"{_mb(size)} is over the {_mb(max_bytes)} limit",
            "trim the video or record it at 1080p instead of 4K, and upload it again",
        )
    return size


def _looks_like(head: bytes) -> str:
    for magic, what in _IMAGE_SIGNATURES + _AUDIO_SIGNATURES:
        if head.startswith(magic):
            return what
    if head[:4] == b"RIFF":
        return {b"WEBP": "a WebP image", b"WAVE": "a WAV sound file", b"AVI ": "an AVI video"}.get(
            head[8:12], "a RIFF file"
        )
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n\x0c")
    if text[:7].upper() == b"#EXTM3U":
        return "a playlist"
    if b"\x00" not in head and head.decode("utf-8", "replace").count("\ufffd") <= 1:
        return "HTML/text" if text.startswith(b"<") else "text"
    return "unrecognised data"


def _sniff(path: os.PathLike | str, name: str) -> str:
    """The FFmpeg demuxer to force ("mov" or "matroska"), or a VideoError."""
    with open(path, "rb") as fh:
        head = fh.read(64)
    if head[4:8] in _BMFF_BOXES:
        if head[4:8] == b"ftyp" and head[8:12] in _PHOTO_BRANDS:
            raise VideoError(name, "not-a-video", "this is a HEIC/AVIF photo, not a video",
                             "add it as a photo instead, or " + FORMAT_HINT)
        return "mov"
    if head.startswith(_EBML):
        return "matroska"
    what = _looks_like(head)
    if what in ("an AVI video", "an MP3", "a FLAC file", "an Ogg file", "a WAV sound file"):
        raise VideoError(name, "unsupported-format", f"{what.split(' ', 1)[1]} files are not accepted",
                         FORMAT_HINT)
    raise VideoError(name, "not-a-video", f"not a video (looks like {what})", FORMAT_HINT)


def _bmff_boxes(path: os.PathLike | str, size: int) -> tuple[list[bytes], bool]:
    """Top-level box types of an MP4/MOV, and whether the last box runs past the end."""
    types, pos = [], 0
    with open(path, "rb") as fh:
        while pos + 8 <= size:
            fh.seek(pos)
            n, kind = struct.unpack(">I4s", fh.read(8))
            if n == 1:
                n = struct.unpack(">Q", fh.read(8))[0]
            elif n == 0:  # "to the end of the file"
                n = size - pos
            if n < 8 or not re.fullmatch(rb"[\x20-\x7e\xa9]{4}", kind):
                break  # junk after the boxes: judged by what came before it
            types.append(kind)
            pos += n
    return types, pos > size


def _truncated(name: str, detail: str) -> VideoError:
    return VideoError(name, "truncated", f"the file is cut off ({detail})",
                      "upload the video again and wait until the upload has finished")


def _corrupt(name: str, detail: str) -> VideoError:
    return VideoError(name, "corrupt", f"the video data is damaged ({detail})", REEXPORT_HINT)


def _open_input(path: os.PathLike | str, name: str, demuxer: str):
    av = _av()
    try:
        # enable_drefs=0 (the default, made explicit): a MOV may not point FFmpeg at other files.
        options = {"enable_drefs": "0"} if demuxer == "mov" else {}
        return av.open(str(path), "r", format=demuxer, options=options)
    except av.error.FFmpegError as err:
        raise _corrupt(name, _ffmpeg_text(err)) from None


def _ffmpeg_text(err: BaseException) -> str:
    text = getattr(err, "strerror", None) or str(err) or type(err).__name__
    return str(text).rstrip(".")


def _main_video_stream(container):
    for stream in container.streams.video:
        if not stream.disposition & stream.disposition.attached_pic:
            return stream
    return None


# --- rotation ----------------------------------------------------------------------


def _display_matrix(frame) -> tuple[int, ...] | None:
    for sd in frame.side_data:
        if getattr(sd.type, "name", "") == "DISPLAYMATRIX":
            raw = bytes(sd)
            if len(raw) >= 36:
                return struct.unpack("=9i", raw[:36])
    return None


def _matrix_rotation(m: tuple[int, ...] | None) -> tuple[int, bool]:
    """(counter-clockwise degrees 0/90/180/270, mirrored) of a display matrix (av_display_rotation_get)."""
    if not m:
        return 0, False
    sx, sy = math.hypot(m[0], m[3]), math.hypot(m[1], m[4])
    if sx == 0 or sy == 0:
        return 0, False
    ccw = -math.degrees(math.atan2(m[1] / sy, m[0] / sx))
    return int(round(ccw / 90.0)) % 4 * 90, (m[0] * m[4] - m[1] * m[3]) < 0


def _rotation_filters(m: tuple[int, ...] | None) -> list[tuple[str, str | None]]:
    """FFmpeg filters that make the pixels upright: the ffmpeg CLI's autorotate choices."""
    if not m:
        return []
    ccw, _ = _matrix_rotation(m)
    theta = (-ccw) % 360  # clockwise rotation to apply
    if theta == 90:
        return [("transpose", "cclock_flip" if m[3] > 0 else "clock")]
    if theta == 180:
        return [f for f, on in ((("hflip", None), m[0] < 0), (("vflip", None), m[4] < 0)) if on]
    if theta == 270:
        return [("transpose", "clock_flip" if m[3] < 0 else "cclock")]
    return [("vflip", None)] if m[4] < 0 else []


# --- probing ----------------------------------------------------------------------


def _fps(stream) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            value = float(rate)
            if 0 < value < 10_000:
                return value
    return 0.0


def _stream_seconds(stream) -> float:
    if stream is None or stream.duration is None or stream.time_base is None:
        return 0.0
    return float(stream.duration * stream.time_base)


def _declared_duration(container, streams) -> float:
    seconds = max((_stream_seconds(s) for s in streams), default=0.0)
    if not seconds and container.duration:
        seconds = container.duration / 1_000_000
    return seconds


def _index_end_check(name: str, size: int, streams) -> None:
    """MP4/MOV: every sample listed in the index must lie inside the file."""
    for stream in streams:
        entries = stream.index_entries
        count = len(entries)
        if not count:
            continue
        last = entries[count - 1]
        end = max(last.pos + last.size, *(entries[i].pos + entries[i].size for i in range(max(0, count - 8), count)))
        if end > size:
            missing = sum(1 for i in range(count) if entries[i].pos + entries[i].size > size)
            raise _truncated(name, f"{missing} of {count} {stream.type} samples are missing from the end")


def _scan_packets(name: str, container, streams, declared: float) -> float:
    """Read every packet (no decoding); return the last timestamp reached, in seconds."""
    av = _av()
    reached = 0.0
    try:
        for packet in container.demux(*streams):
            if packet.pts is None or packet.time_base is None:
                continue
            end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            start = float(packet.stream.start_time * packet.time_base) if packet.stream.start_time else 0.0
            reached = max(reached, end - start)
    except av.error.FFmpegError as err:
        raise _corrupt(name, _ffmpeg_text(err)) from None
    if declared and reached < declared * 0.98 - 0.25:
        raise _truncated(name, f"the data stops at {reached:.1f} s of {declared:.1f} s")
    return reached


def _decode_first(name: str, container, stream, count: int):
    """Decode the first ``count`` frames; returns the first one (a damaged start is an error)."""
    av = _av()
    container.seek(0)
    stream.codec_context.thread_type = "AUTO"
    frames = []
    try:
        for packet in container.demux(stream):
            for frame in packet.decode():
                frames.append(frame)
            if len(frames) >= count or packet.size == 0 and packet.dts is None:
                break
    except av.error.FFmpegError as err:
        raise _corrupt(name, _ffmpeg_text(err)) from None
    if not frames:
        raise _corrupt(name, "no frame could be decoded")
    return frames[0]


def _check_limits(name: str, *, seconds: float, width: int, height: int, fps: float, limits: _Limits) -> None:
    if width * height > limits.pixels:
        raise VideoError(name, "too-many-pixels",
                         f"{width}×{height} pixels per frame is over the {limits.pixels / 1e6:.1f} MP limit",
                         "record or export the video at 4K (3840×2160) or less, for example 1080p")
    if fps > limits.fps + 0.5:
        raise VideoError(name, "too-fast", f"{fps:.0f} frames per second is over the {limits.fps:g} fps limit",
                         f"export the video at {limits.fps:g} fps or less (slow-motion videos: export them "
                         "as normal speed)")
    if seconds > limits.seconds:
        raise VideoError(name, "too-long", f"{seconds:.1f} s is over the {limits.seconds:g} s limit",
                         f"trim the video to at most {limits.seconds:g} seconds and upload it again")


def _probe(path, name: str, limits: _Limits, *, scan: bool = True):
    """(facts, open container, video stream, audio stream or None, first frame's display matrix)."""
    size = _check_size(name, path, limits.bytes)
    demuxer = _sniff(path, name)
    if demuxer == "mov":
        boxes, cut = _bmff_boxes(path, size)
        if cut:
            raise _truncated(name, "the last part of the file is missing")
        if b"moov" not in boxes:
            raise _truncated(name, "the index (moov box) is missing") if b"mdat" in boxes or b"ftyp" in boxes \
                else _corrupt(name, "no index (moov box)")
    container = _open_input(path, name, demuxer)
    try:
        video = _main_video_stream(container)
        audio_streams = [s for s in container.streams.audio if s.codec_context is not None]
        if video is None:
            what = "it has sound only" if container.streams.audio else "it has no picture"
            raise VideoError(name, "no-video-stream", f"no video in this file ({what})",
                             "upload a video with pictures (an audio recording can be given as a transcript)")
        if video.codec_context is None:
            raise VideoError(name, "unsupported-codec", "the video codec is not supported",
                             "export the video as MP4 (H.264) and upload it again")
        audio = audio_streams[0] if audio_streams else None
        coded_w, coded_h = video.codec_context.width, video.codec_context.height
        if not coded_w or not coded_h:
            raise _corrupt(name, "the video has no picture size")
        kept = [s for s in (video, audio) if s is not None]
        declared = _declared_duration(container, kept)
        fps = _fps(video)
        _check_limits(name, seconds=declared, width=coded_w, height=coded_h, fps=fps, limits=limits)
        if demuxer == "mov":
            _index_end_check(name, size, kept)
        elif scan:
            reached = _scan_packets(name, container, kept, declared)
            declared = declared or reached
            _check_limits(name, seconds=declared, width=coded_w, height=coded_h, fps=fps, limits=limits)
        first = _decode_first(name, container, video, PROBE_FRAMES)
        matrix = _display_matrix(first)
        rotation, mirrored = _matrix_rotation(matrix)
        width, height = (coded_h, coded_w) if rotation in (90, 270) else (coded_w, coded_h)
        facts = VideoFacts(
            path=str(path),
            format=_KEPT_CONTAINERS[demuxer],
            video_codec=video.codec_context.name,
            audio_codec=audio.codec_context.name if audio else None,
            width=width,
            height=height,
            coded_width=coded_w,
            coded_height=coded_h,
            rotation=rotation,
            mirrored=mirrored,
            fps=round(fps, 3),
            duration=round(declared, 3),
            bytes=size,
        )
        container.seek(0)
        return facts, container, video, audio, matrix
    except BaseException:
        container.close()
        raise


def _limits(max_seconds, max_bytes, max_pixels, max_fps) -> _Limits:
    return _Limits(float(max_seconds), int(max_bytes), int(max_pixels), float(max_fps))


def probe_video(
    path: os.PathLike | str,
    *,
    max_seconds: float = MAX_VIDEO_SECONDS,
    max_bytes: int = MAX_VIDEO_BYTES,
    max_pixels: int = MAX_VIDEO_PIXELS,
    max_fps: float = MAX_VIDEO_FPS,
    label: str | None = None,
) -> VideoFacts:
    """Open, check and describe a video; raises :class:`VideoError` (with ``code``) for anything unusable."""
    name = _label(path, label)
    facts, container, *_ = _probe(path, name, _limits(max_seconds, max_bytes, max_pixels, max_fps))
    container.close()
    return facts


# --- intake: metadata-free remux ----------------------------------------------------


def _intake_name(name: str | None, src: os.PathLike | str) -> str:
    """A plain file name (no folders, not hidden); its extension is chosen by the content."""
    name = name or _slug(Path(src).stem)
    if Path(name).name != name or name.startswith(".") or not name.strip():
        raise ValueError(f"strip_video name must be a plain file name, got {name!r}")
    return name


def _with_suffix(name: str, fmt: str) -> str:
    stem = name[: -len(Path(name).suffix)] if Path(name).suffix.lower() in (".mp4", ".mov", ".m4v") else name
    return f"{stem}.{fmt}"


def _remux(container, video, audio, tmp: Path, fmt: str) -> None:
    av = _av()
    out = av.open(str(tmp), "w", format=fmt, options={"fflags": "+bitexact"})
    try:
        mapping = {}
        for stream in (video, audio):
            if stream is None:
                continue
            copy = out.add_stream_from_template(stream)  # codec parameters + coded side data (display matrix)
            copy.metadata.clear()
            mapping[stream.index] = copy
        out.metadata.clear()
        container.seek(0)
        for packet in container.demux(*(s for s in (video, audio) if s is not None)):
            if packet.dts is None:  # the demuxer's end-of-stream marker
                continue
            packet.stream = mapping[packet.stream.index]
            out.mux(packet)
    finally:
        out.close()


def strip_video(
    src: os.PathLike | str,
    dest_dir: os.PathLike | str,
    *,
    name: str | None = None,
    max_seconds: float = MAX_VIDEO_SECONDS,
    max_bytes: int = MAX_VIDEO_BYTES,
    max_pixels: int = MAX_VIDEO_PIXELS,
    max_fps: float = MAX_VIDEO_FPS,
    label: str | None = None,
) -> VideoFacts:
    """Probe an uploaded video and remux it (no re-encode) without metadata into ``dest_dir``.

    The file is ``name`` (default: the slug of the source's stem) with the
    extension ``.mp4``, or ``.mov`` when MP4 cannot hold the codecs; the
    returned facts' ``path`` is the file written. Rotation is kept as a
    display matrix. Written atomically. Raises :class:`VideoError`.
    """
    av = _av()
    label = _label(src, label)
    base = _intake_name(name, src)
    facts, container, video, audio, _ = _probe(src, label, _limits(max_seconds, max_bytes, max_pixels, max_fps))
    try:
        for fmt in ("mp4", "mov"):
            dest = Path(dest_dir) / _with_suffix(base, fmt)
            try:
                with _atomic_path(dest) as tmp:
                    _remux(container, video, audio, tmp, fmt)
                break
            except ValueError:  # this container cannot hold one of the codecs
                continue
            except av.error.FFmpegError as err:
                raise _corrupt(label, _ffmpeg_text(err)) from None
        else:
            raise VideoError(label, "unsupported-codec",
                             f"{facts.video_codec}/{facts.audio_codec or 'no audio'} cannot be stored as MP4 or MOV",
                             "export the video as MP4 (H.264 + AAC) and upload it again")
    finally:
        container.close()
    return replace(facts, path=str(dest), format=fmt, bytes=dest.stat().st_size, sha256=file_sha256(dest))


# --- build: the web version ------------------------------------------------------


def web_size(width: int, height: int, max_height: int) -> tuple[int, int]:
    """The web version's size for an upright ``width``×``height``: short edge <= max_height, even, never upscaled."""
    short, long_ = min(width, height), max(width, height)
    scale = min(1.0, max_height / short, max_height * 16 / 9 / long_)
    even = lambda v: max(2, int(round(v * scale / 2)) * 2)  # noqa: E731
    return even(width), even(height)


def _key(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:10]


def _poster_seconds(poster_time: float | None, duration: float) -> float:
    wanted = min(POSTER_SECONDS, POSTER_FRACTION * duration) if poster_time is None else float(poster_time)
    return round(max(0.0, min(wanted, max(0.0, duration - 0.1))), 3)


def _video_graph(av, stream, matrix, size: tuple[int, int]):
    """Scale first (to the stored orientation), then rotate: turning the smaller frame is cheaper
    (measured: ~1/3 less filter CPU for 1080p -> 720p)."""
    graph = av.filter.Graph()
    turned = _matrix_rotation(matrix)[0] in (90, 270)
    width, height = (size[1], size[0]) if turned else size
    chain = [graph.add_buffer(template=stream), graph.add("scale", f"{width}:{height}:flags=bicubic")]
    for filt, args in _rotation_filters(matrix):
        chain.append(graph.add(filt, args))
    chain.append(graph.add("setsar", "1"))
    chain.append(graph.add("format", "yuv420p"))
    chain.append(graph.add("buffersink"))
    for a, b in zip(chain, chain[1:]):
        a.link_to(b)
    graph.configure()
    return graph


def _transcode(src, name: str, dest_tmp: Path, facts: VideoFacts, settings: VideoSettings, limits: _Limits) -> None:
    """Decode ``src`` and write the web MP4 to ``dest_tmp`` (the slow part; tests count its calls)."""
    av = _av()
    _, container, vin, ain, matrix = _probe(src, name, limits, scan=False)
    size = web_size(facts.width, facts.height, settings.max_height)
    out = av.open(str(dest_tmp), "w", format="mp4", options={"movflags": "+faststart", "fflags": "+bitexact"})
    try:
        fps = Fraction(facts.fps).limit_denominator(1001) if facts.fps else Fraction(30)
        vout = out.add_stream("libx264", rate=fps, options={"crf": str(settings.crf), "preset": settings.preset})
        vout.width, vout.height, vout.pix_fmt = size[0], size[1], "yuv420p"
        vout.codec_context.time_base = vin.time_base
        vout.codec_context.gop_size = max(1, round(float(fps) * settings.keyframe_seconds))
        aout = None
        if ain is not None:
            channels = ain.codec_context.layout.nb_channels if ain.codec_context.layout else 2
            layout = "mono" if channels == 1 else "stereo"
            rate = min(ain.codec_context.sample_rate or MAX_AUDIO_RATE, MAX_AUDIO_RATE)
            aout = out.add_stream("aac", rate=rate, layout=layout)
            aout.bit_rate = settings.audio_bitrate if layout == "stereo" else settings.audio_bitrate * 2 // 3
        graph = _video_graph(av, vin, matrix, size)
        first_pts = None

        def encode_video(frame):
            nonlocal first_pts
            graph.vpush(frame)
            while True:
                try:
                    done = graph.vpull()
                except (av.error.BlockingIOError, av.error.EOFError):
                    return
                if done.pts is not None:
                    first_pts = done.pts if first_pts is None else first_pts
                    done.pts -= first_pts
                done.time_base = vin.time_base
                out.mux(vout.encode(done))

        streams = [s for s in (vin, ain) if s is not None]
        for packet in container.demux(*streams):
            for frame in packet.decode():
                if packet.stream is vin:
                    encode_video(frame)
                else:
                    frame.pts = None  # the AAC encoder numbers the samples from 0
                    out.mux(aout.encode(frame))
        encode_video(None)
        out.mux(vout.encode(None))
        if aout is not None:
            out.mux(aout.encode(None))
    except av.error.FFmpegError as err:
        raise _corrupt(name, _ffmpeg_text(err)) from None
    finally:
        out.close()
        container.close()


def _write_posters(mp4: Path, at: float, out_dir: Path, stem: str, key: str, settings: VideoSettings):
    """One frame of the web MP4 at ``at`` seconds, as WebP and JPEG; returns (names, size, bytes)."""
    av = _av()
    with av.open(str(mp4)) as container:
        stream = container.streams.video[0]
        container.seek(int(at / stream.time_base), stream=stream, backward=True)
        chosen = None
        for frame in container.decode(stream):
            chosen = frame
            if frame.time is not None and frame.time + 0.5 / max(_fps(stream), 1) >= at:
                break
        if chosen is None:
            container.seek(0)
            chosen = next(container.decode(stream))
        img = chosen.to_image()
    img.info = {}
    names, sizes = [], []
    for ext, fmt, kwargs in (
        ("webp", "WEBP", {"quality": settings.poster_webp_quality, "method": 4}),
        ("jpg", "JPEG", {"quality": settings.poster_jpeg_quality, "optimize": True}),
    ):
        buf = io.BytesIO()
        img.save(buf, fmt, **kwargs)
        filename = f"{stem}-poster-{key}.{ext}"
        _write_small(out_dir / filename, buf.getvalue())
        names.append(filename)
        sizes.append(len(buf.getvalue()))
    return names, img.size, sizes


def _web_facts(mp4: Path) -> tuple[int, int, float, bool]:
    av = _av()
    with av.open(str(mp4)) as container:
        stream = container.streams.video[0]
        seconds = _declared_duration(container, container.streams)
        return stream.codec_context.width, stream.codec_context.height, round(seconds, 3), bool(container.streams.audio)


def _make(src, digest: str, stem: str, out_dir: Path, settings: VideoSettings, poster_time: float | None,
          name: str, limits: _Limits) -> VideoResult:
    started = time.perf_counter()
    facts = probe_video(src, max_seconds=limits.seconds, max_bytes=limits.bytes, max_pixels=limits.pixels,
                        max_fps=limits.fps, label=name)
    key = _key(digest, settings.video_token())
    mp4 = out_dir / f"{stem}-{key}.mp4"
    if not mp4.exists():  # content-hashed: an existing file of that name is this file
        with _atomic_path(mp4) as tmp:
            _transcode(src, name, tmp, facts, settings, limits)
    width, height, duration, has_audio = _web_facts(mp4)
    at = _poster_seconds(poster_time, duration)
    poster_key = _key(digest, settings.token(), f"poster={at:.3f}")
    (webp, jpeg), (pw, ph), (webp_bytes, jpeg_bytes) = _write_posters(mp4, at, out_dir, stem, poster_key, settings)
    logger.debug("storywall.video: %s: web version in %.2f s", name, time.perf_counter() - started)
    return VideoResult(key, poster_key, stem, digest, width, height, duration, has_audio, mp4.name,
                       mp4.stat().st_size, at, webp, jpeg, pw, ph, webp_bytes, jpeg_bytes)


def make_web_version(
    src: os.PathLike | str,
    out_dir: os.PathLike | str,
    *,
    max_height: int | None = None,
    poster_time: float | None = None,
    settings: VideoSettings | None = None,
    max_seconds: float = MAX_VIDEO_SECONDS,
    max_bytes: int = MAX_VIDEO_BYTES,
    max_pixels: int = MAX_VIDEO_PIXELS,
    max_fps: float = MAX_VIDEO_FPS,
    label: str | None = None,
) -> VideoResult:
    """Write the web MP4 and its posters for ``src`` into ``out_dir`` and describe them.

    ``max_height`` defaults to ``settings.max_height`` (720). ``poster_time``
    (seconds) defaults to 1 s, or 10 % into a shorter video. Raises :class:`VideoError`.
    """
    settings = resolve_settings(settings, max_height)
    name = _label(src, label)
    limits = _limits(max_seconds, max_bytes, max_pixels, max_fps)
    _check_size(name, src, limits.bytes)
    return _make(src, file_sha256(src), _slug(Path(src).stem), Path(out_dir), settings, poster_time, name, limits)


# --- cache --------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, data: Any) -> None:
    _write_small(path, json.dumps(data, separators=(",", ":")).encode())


def copy_to_output(
    result: VideoResult, output_dir: os.PathLike | str, *, source_dir: os.PathLike | str, link: bool = False
) -> list[Path]:
    """Copy (or hard-link) the result's files from ``source_dir``; returns the output paths."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    placed = []
    for filename in result.files():
        dest = out / filename
        if not dest.exists():  # content-hashed names: same name, same bytes
            if link:
                with contextlib.suppress(OSError):
                    os.link(Path(source_dir) / filename, dest)
            if not dest.exists():
                shutil.copyfile(Path(source_dir) / filename, dest)
        placed.append(dest)
    return placed


class VideoCache:
    """Web versions made once per (source bytes, settings, poster time, stem), kept in ``cache_dir``.

    Same layout as :class:`storywall.photos.DerivativeCache`: ``files/`` holds
    the MP4s and posters; ``results/<id>.json`` one VideoResult each;
    ``hashes/<id>.json`` the source's sha256 keyed by (path, size, mtime_ns),
    so a warm lookup reads no video bytes.
    """

    def __init__(self, cache_dir: os.PathLike | str):
        self.root = Path(cache_dir)
        self.files_dir = self.root / "files"
        self._results_dir = self.root / "results"
        self._hashes_dir = self.root / "hashes"

    def _hash_entry(self, src: os.PathLike | str) -> Path:
        digest = hashlib.sha256(os.fsencode(os.path.abspath(src))).hexdigest()[:24]
        return self._hashes_dir / f"{digest}.json"

    def _result_entry(self, digest: str, stem: str, settings: VideoSettings, poster_time: float | None) -> Path:
        wanted = "auto" if poster_time is None else f"{float(poster_time):.3f}"
        key = hashlib.sha256(f"{digest}\n{stem}\n{settings.token()}\n{wanted}".encode()).hexdigest()[:32]
        return self._results_dir / f"{key}.json"

    def _known_sha256(self, src: os.PathLike | str) -> str | None:
        try:
            st = os.stat(src)
        except OSError:
            return None
        memo = _read_json(self._hash_entry(src))
        if isinstance(memo, dict) and memo.get("stat") == [st.st_size, st.st_mtime_ns]:
            return memo.get("sha256")
        return None

    def _remember_sha256(self, src: os.PathLike | str) -> str:
        st = os.stat(src)
        digest = file_sha256(src)
        with contextlib.suppress(OSError):
            _write_json(self._hash_entry(src),
                        {"path": os.path.abspath(src), "stat": [st.st_size, st.st_mtime_ns], "sha256": digest})
        return digest

    def _complete(self, entry: Path) -> VideoResult | None:
        try:
            result = VideoResult.from_dict(_read_json(entry))
        except (TypeError, KeyError):
            return None
        return result if all((self.files_dir / n).exists() for n in result.files()) else None

    def lookup(self, src: os.PathLike | str, *, settings: VideoSettings | None = None,
               max_height: int | None = None, poster_time: float | None = None) -> VideoResult | None:
        """The cached result for ``src`` without reading it, or None (never raises for bad videos)."""
        settings = resolve_settings(settings, max_height)
        digest = self._known_sha256(src)
        if not digest:
            return None
        return self._complete(self._result_entry(digest, _slug(Path(src).stem), settings, poster_time))

    def get_or_make(
        self,
        src: os.PathLike | str,
        *,
        settings: VideoSettings | None = None,
        max_height: int | None = None,
        poster_time: float | None = None,
        max_seconds: float = MAX_VIDEO_SECONDS,
        max_bytes: int = MAX_VIDEO_BYTES,
        max_pixels: int = MAX_VIDEO_PIXELS,
        max_fps: float = MAX_VIDEO_FPS,
        label: str | None = None,
    ) -> VideoResult:
        """The cached web version of ``src``, made (and cached) when missing."""
        settings = resolve_settings(settings, max_height)
        if hit := self.lookup(src, settings=settings, poster_time=poster_time):
            return hit
        name = _label(src, label)
        limits = _limits(max_seconds, max_bytes, max_pixels, max_fps)
        _check_size(name, src, limits.bytes)
        digest, stem = self._remember_sha256(src), _slug(Path(src).stem)
        entry = self._result_entry(digest, stem, settings, poster_time)
        if hit := self._complete(entry):  # touched but unchanged
            return hit
        result = _make(src, digest, stem, self.files_dir, settings, poster_time, name, limits)
        _write_json(entry, result.to_dict())
        return result

    def path(self, filename: str) -> Path:
        return self.files_dir / filename

    def copy_to_output(self, result: VideoResult, output_dir: os.PathLike | str, *, link: bool = False) -> list[Path]:
        return copy_to_output(result, output_dir, source_dir=self.files_dir, link=link)

    def prune(self, keep: Iterable[VideoResult]) -> list[Path]:
        """Delete cached files no result in ``keep`` uses, and results left incomplete."""
        live = {n for r in keep for n in r.files()}
        removed = [p for p in self.files_dir.glob("*") if p.name not in live]
        for path in removed:
            path.unlink(missing_ok=True)
        for entry in self._results_dir.glob("*.json"):
            if self._complete(entry) is None:
                entry.unlink(missing_ok=True)
                removed.append(entry)
        return removed


# --- many videos ---------------------------------------------------------------


@dataclass(frozen=True)
class VideoJob:
    """One video for :func:`process_many` (picklable)."""

    src: str
    cache_dir: str
    label: str | None = None
    settings: VideoSettings = field(default_factory=VideoSettings)
    poster_time: float | None = None
    max_seconds: float = MAX_VIDEO_SECONDS
    max_bytes: int = MAX_VIDEO_BYTES
    max_pixels: int = MAX_VIDEO_PIXELS
    max_fps: float = MAX_VIDEO_FPS

    @property
    def name(self) -> str:
        return self.label or self.src


def run_job(job: VideoJob) -> VideoResult | VideoError:
    """Process one job; every failure comes back as a VideoError naming the file."""
    try:
        return VideoCache(job.cache_dir).get_or_make(
            job.src, settings=job.settings, poster_time=job.poster_time, max_seconds=job.max_seconds,
            max_bytes=job.max_bytes, max_pixels=job.max_pixels, max_fps=job.max_fps, label=job.label,
        )
    except VideoError as err:
        return err
    except Exception as err:  # noqa: BLE001 - a bug or resource problem must still name the video
        logger.debug("storywall.video: %s failed", job.name, exc_info=True)
        return _failed(job, err)


def _failed(job: VideoJob, err: BaseException) -> VideoError:
    return VideoError(job.name, "failed", f"could not be processed ({type(err).__name__}: {err})",
                      "export the video again; if it keeps failing, report it with this message")


def _cached(job: VideoJob) -> VideoResult | None:
    try:
        return VideoCache(job.cache_dir).lookup(job.src, settings=job.settings, poster_time=job.poster_time)
    except Exception:  # noqa: BLE001 - any doubt: let the worker decide
        return None


@contextlib.contextmanager
def _progress_bar(total: int, enabled: bool) -> Iterator[Callable[[], None]]:
    if not enabled or total == 0:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("videos", total=total)
        yield lambda: bar.advance(task)


def process_many(
    jobs: Iterable[VideoJob], *, workers: int | None = None, progress: bool = True
) -> list[VideoResult | VideoError]:
    """Results in job order: a VideoResult, or the VideoError for that video.

    Cache hits are answered here without starting a pool; the rest run in a
    ProcessPoolExecutor (default: half the CPUs, as libx264 is itself
    multi-threaded). A rich progress bar shows only when stderr is a terminal
    and CI is not set.
    """
    jobs = list(jobs)
    results: list[Any] = [_cached(job) for job in jobs]
    todo = [i for i, r in enumerate(results) if r is None]
    workers = min(workers or max(1, (os.cpu_count() or 1) // 2), len(todo))
    show = progress and sys.stderr.isatty() and not os.environ.get("CI")
    with _progress_bar(len(todo), show) as advance:
        if workers > 1:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(run_job, jobs[i]): i for i in todo}
                for future in as_completed(futures):
                    i = futures[future]
                    try:
                        results[i] = future.result()
                    except Exception as err:  # noqa: BLE001 - e.g. a worker killed for memory
                        results[i] = _failed(jobs[i], err)
                    advance()
        else:
            for i in todo:
                results[i] = run_job(jobs[i])
                advance()
    return results


# --- inspection ----------------------------------------------------------------


def _metadata_names(key: str, value: str) -> str | None:
    """The name ``inspect_video`` reports for one metadata key, or None when it is harmless."""
    k = key.lower()
    if k in _BENIGN_KEYS:
        return None
    if k == "handler_name":
        return None if value in _GENERIC_HANDLERS else "handler name"
    if k == "encoder":
        return None if value.startswith(("Lavf", "Lavc")) else "encoder"
    rules = (
        ("location", ("location", "iso6709", "gps", "xyz")),
        ("make", ("make",)),
        ("model", ("model",)),
        ("software", ("software",)),
        ("creation_time", ("creation_time", "creationdate", "date")),
        ("author", ("author", "artist", "owner", "copyright", "publisher", "composer")),
    )
    for label, needles in rules:
        if any(n in k for n in needles):
            return label
    return k.rsplit(".", 1)[-1] or k  # anything else (title, comment, ...) under its own name


def inspect_video(path: os.PathLike | str, *, label: str | None = None) -> list[str]:
    """For ``storywall check``: the metadata a stored video still carries.

    Returns e.g. ``["location", "make", "model", "creation_time", "author"]``
    (empty when clean): container and stream tags, plus "chapters",
    "attached picture", "subtitle stream" and "data stream". The file must open
    as a video (no limits are checked: use :func:`probe_video` for those);
    otherwise :class:`VideoError`.
    """
    name = _label(path, label)
    _check_size(name, path, 1 << 62)
    container = _open_input(path, name, _sniff(path, name))
    found: list[str] = []
    with container:
        tags = list(container.metadata.items())
        for stream in container.streams:
            tags += list(stream.metadata.items())
        for key, value in tags:
            if (label_ := _metadata_names(key, str(value))) and label_ not in found:
                found.append(label_)
        extras = (
            ("chapters", bool(_chapters(container))),
            ("attached picture", any(s.disposition & s.disposition.attached_pic for s in container.streams)),
            ("subtitle stream", bool(container.streams.subtitles)),
            ("data stream", any(s.type in ("data", "attachment") for s in container.streams)),
        )
        found += [label_ for label_, present in extras if present]
    return found


def _chapters(container) -> list:
    try:
        return list(container.chapters())
    except Exception:  # noqa: BLE001 - older PyAV: no chapter API
        return []


# --- captions ------------------------------------------------------------------

MAX_CAPTIONS_BYTES = 1024 * 1024  # 1 MB: two minutes of captions are a few KB
CAPTIONS_HINT = "save the captions as a WebVTT file (.vtt, UTF-8, first line WEBVTT)"
_WEBVTT_RE = re.compile(rb"\A(?:\xef\xbb\xbf)?WEBVTT(?:[ \t][^\r\n]*)?(?:\r\n|\r|\n|\Z)")


def read_webvtt(path: os.PathLike | str, *, label: str | None = None,
                max_bytes: int = MAX_CAPTIONS_BYTES) -> bytes:
    """The bytes of a WebVTT captions file, checked: UTF-8 text whose first line is ``WEBVTT``.

    Raises :class:`VideoError` (codes: missing, too-large, not-webvtt).
    """
    name = _label(path, label)
    try:
        size = os.stat(path).st_size
    except OSError:
        raise VideoError(name, "missing", "the captions file is missing", CAPTIONS_HINT) from None
    if size > max_bytes:
        raise VideoError(name, "too-large", f"is {_mb(size)}, over the {_mb(max_bytes)} limit for captions",
                         CAPTIONS_HINT)
    data = Path(path).read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise VideoError(name, "not-webvtt", "is not UTF-8 text", CAPTIONS_HINT) from None
    if not _WEBVTT_RE.match(data):
        raise VideoError(name, "not-webvtt", "is not a WebVTT file (it does not start with WEBVTT)",
                         CAPTIONS_HINT)
    return data
