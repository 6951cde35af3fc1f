"""Make test videos at test time with PyAV (no binaries in the repository).

Every maker writes one file and returns its path. The videos are small (a few
seconds, 320×240 or so) so the video tests stay fast.

Metadata: ``container.metadata[...]`` is written by FFmpeg's MOV/MP4 muxer.
With ``movflags=use_metadata_tags`` every key is written as a QuickTime
``mdta`` key (as iPhones do: ``com.apple.quicktime.location.ISO6709``,
``com.apple.quicktime.make``...), and the plain ``location``/``make``/
``model``/``author`` keys as well; ``creation_time`` goes into ``mvhd`` /
``mdhd``. Reading the file back with PyAV shows all of them.

Rotation: PyAV 18 writes a display matrix with
``VideoStream.set_display_rotation(degrees)`` (counter-clockwise degrees, the
convention ``VideoFrame.rotation`` reads back). The old ``rotate`` stream tag
is ignored by FFmpeg 8's muxer and no longer exported by its demuxer, so it
is not used. ``rotation=90`` on 320×240 landscape pixels is what a phone held
upright records: it displays as 240×320 portrait.

Pixels: a quadrant test card (red top-left, green top-right, blue
bottom-left, white bottom-right), optionally moving, so orientation can be
checked on decoded frames. Audio: a 440 Hz tone.
"""

from __future__ import annotations

import math
import random
import struct
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, ImageDraw

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)
LOCATION = "+27.5916+086.5640+8850/"
SECRET_TAGS = {
    "location": LOCATION,
    "com.apple.quicktime.location.ISO6709": LOCATION,
    "make": "SecretPhone",
    "model": "Model X",
    "com.apple.quicktime.make": "SecretPhone",
    "com.apple.quicktime.model": "Model X",
    "com.apple.quicktime.software": "17.4.1",
    "com.apple.quicktime.creationdate": "2024-05-07T09:33:04+0200",
    "creation_time": "2024-05-07T09:33:04.000000Z",
    "author": "Jane Secret",
    "com.apple.quicktime.author": "Jane Secret",
    "title": "Jane's secret trip",
}
SECRET_STRINGS = (b"SecretPhone", b"Model X", b"Jane Secret", b"+27.5916", b"086.5640", b"secret trip", b"Lavf")
STREAM_TAGS = {"handler_name": "SecretHandler", "creation_time": "2024-05-07T09:33:04.000000Z"}
QUADRANT_POINTS = ("top-left", "top-right", "bottom-left", "bottom-right")


def quadrants(size: tuple[int, int], frame: int = 0) -> Image.Image:
    """The upright test card, with a small square moving along the bottom edge."""
    w, h = size
    img = Image.new("RGB", size, WHITE)
    img.paste(RED, (0, 0, w // 2, h // 2))
    img.paste(GREEN, (w // 2, 0, w, h // 2))
    img.paste(BLUE, (0, h // 2, w // 2, h))
    x = (frame * 4) % max(1, w - 12)
    ImageDraw.Draw(img).rectangle((x, h - 10, x + 8, h - 2), fill=(0, 0, 0))
    return img


def quadrant_colours(img: Image.Image) -> dict[str, tuple[int, int, int]]:
    w, h = img.size
    img = img.convert("RGB")
    points = dict(zip(QUADRANT_POINTS, ((w // 4, h // 4), (3 * w // 4, h // 4), (w // 4, 3 * h // 4),
                                        (3 * w // 4, 3 * h // 4))))
    return {name: img.getpixel(xy) for name, xy in points.items()}


def close(a, b, tolerance: int = 60) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def _stored(img: Image.Image, rotation: int) -> Image.Image:
    """The pixels a camera stores so that a display matrix of ``rotation`` (ccw) shows ``img`` upright."""
    # the viewer rotates the stored pixels by `rotation` degrees counter-clockwise
    return img.rotate(-rotation, expand=True) if rotation else img


def _tone(samples: int, start: int, rate: int, channels: int) -> bytes:
    values = []
    for n in range(start, start + samples):
        v = int(8000 * math.sin(2 * math.pi * 440 * n / rate))
        values.extend([v] * channels)
    return struct.pack(f"<{len(values)}h", *values)


def _write_audio(out, stream, seconds: float, rate: int, channels: int) -> None:
    layout = "mono" if channels == 1 else "stereo"
    total, pts = int(seconds * rate), 0
    while pts < total:
        n = min(1024, total - pts)
        frame = av.AudioFrame(format="s16", layout=layout, samples=n)
        frame.sample_rate, frame.pts = rate, pts
        frame.planes[0].update(_tone(n, pts, rate, channels))
        pts += n
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def make_video(
    path: Path,
    *,
    seconds: float = 2.0,
    size: tuple[int, int] = (320, 240),  # as displayed (upright)
    fps: int = 25,
    rotation: int = 0,
    audio: bool = True,
    tags: dict[str, str] | None = None,
    stream_tags: dict[str, str] | None = None,
    codec: str = "libx264",
    fmt: str | None = None,
    chapters: bool = False,
    cover: bool = False,
    noise: bool = False,
    bitrate: int | None = None,
    audio_channels: int = 2,
    mirrored: bool = False,
) -> Path:
    """A real video: the quadrant card (moving square), a tone, and the given metadata.

    ``size`` is the upright picture; with ``rotation`` 90/270 the stored pixels
    are its transpose and the display matrix says how to turn them back.
    ``tags=None`` plants :data:`SECRET_TAGS`; pass ``{}`` for none.
    ``mirrored`` (with rotation 0 only) stores the picture mirrored left-right
    with a display matrix that mirrors it back (a front camera's "selfie" file).
    """
    if mirrored and rotation:
        raise ValueError("mirrored is only made with rotation 0")
    path = Path(path)
    fmt = fmt or {".mov": "mov", ".mkv": "matroska", ".webm": "webm"}.get(path.suffix.lower(), "mp4")
    # use_metadata_tags writes QuickTime mdta keys; the muxer then writes no iTunes ``covr`` cover art,
    # so a video with a cover gets the plain tags only (location, make, model, author...).
    options = {"movflags": "use_metadata_tags"} if fmt in ("mp4", "mov") and not cover else {}
    out = av.open(str(path), "w", format=fmt, options=options)
    for key, value in (SECRET_TAGS if tags is None else tags).items():
        out.metadata[key] = value
    stored_w, stored_h = _stored(Image.new("RGB", size), rotation).size
    v = out.add_stream(codec, rate=fps, options={"preset": "ultrafast"} if codec == "libx264" else {})
    pix_fmt = "yuv422p10le" if codec.startswith("prores") else "yuv420p"
    v.width, v.height, v.pix_fmt = stored_w, stored_h, pix_fmt
    if bitrate:
        v.bit_rate = bitrate
        if codec == "libx264":
            v.codec_context.options = {"preset": "ultrafast", "x264-params": f"bitrate={bitrate // 1000}:vbv-maxrate={bitrate // 1000}:vbv-bufsize={bitrate // 1000}"}
    for key, value in (STREAM_TAGS if stream_tags is None else stream_tags).items():
        v.metadata[key] = value
    if rotation or mirrored:
        v.set_display_rotation(rotation, hflip=mirrored)
    a = None
    if audio:
        a = out.add_stream("aac", rate=44100, layout="mono" if audio_channels == 1 else "stereo")
        a.metadata["handler_name"] = "SecretAudioHandler"
    pic = None
    if cover:
        pic = out.add_stream("mjpeg", rate=1)
        pic.width, pic.height, pic.pix_fmt = 64, 48, "yuvj420p"
        pic.disposition = av.stream.Disposition.attached_pic
    if chapters:
        out.set_chapters([
            {"id": 1, "start": 0, "end": int(seconds * 500), "time_base": Fraction(1, 1000),
             "metadata": {"title": "Secret chapter at home"}},
            {"id": 2, "start": int(seconds * 500), "end": int(seconds * 1000), "time_base": Fraction(1, 1000),
             "metadata": {"title": "Secret chapter two"}},
        ])
    rng = random.Random(7)
    for i in range(int(seconds * fps)):
        img = _stored(quadrants(size, i), rotation)
        if mirrored:
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        if noise:
            grain = Image.frombytes("L", img.size, rng.randbytes(img.width * img.height))
            img = Image.blend(img, Image.merge("RGB", (grain, grain, grain)), 0.35)
        frame = av.VideoFrame.from_image(img)
        frame.pts = i
        out.mux(v.encode(frame))
    out.mux(v.encode(None))
    if pic is not None:
        frame = av.VideoFrame.from_image(Image.new("RGB", (64, 48), (200, 0, 200))).reformat(format="yuvj420p")
        frame.pts = 0
        out.mux(pic.encode(frame))
        out.mux(pic.encode(None))
    if a is not None:
        _write_audio(out, a, seconds, 44100, 1 if audio_channels == 1 else 2)
    out.close()
    return path


def portrait_phone_video(path: Path, **kwargs) -> Path:
    """What a phone held upright records: 320×240 landscape pixels + a 90° display matrix."""
    return make_video(path, size=(240, 320), rotation=90, **kwargs)


def audio_only(path: Path) -> Path:
    """An MP4 (M4A) with an AAC track and no video."""
    out = av.open(str(path), "w", format="mp4")
    a = out.add_stream("aac", rate=44100, layout="mono")
    _write_audio(out, a, 1.0, 44100, 1)
    out.close()
    return path


def truncated(path: Path, keep: float = 0.6, faststart: bool = False) -> Path:
    """A real MP4 cut off after ``keep`` of its bytes (an interrupted upload).

    Without faststart the ``moov`` index is at the end, so it is lost; with
    faststart the index survives but the samples it lists are not there.
    """
    full = path.with_name(path.stem + "-full.mp4")
    make_video(full, seconds=2.0)
    if faststart:
        fixed = path.with_name(path.stem + "-fast.mp4")
        with av.open(str(full)) as src, av.open(str(fixed), "w", format="mp4",
                                                 options={"movflags": "+faststart"}) as out:
            streams = {s.index: out.add_stream_from_template(s) for s in src.streams}
            for packet in src.demux():
                if packet.dts is not None:
                    packet.stream = streams[packet.stream.index]
                    out.mux(packet)
        full = fixed
    data = full.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def text_named_mp4(path: Path) -> Path:
    path.write_text("<html><body>not a video at all</body></html>\n")
    return path


def image_named_mp4(path: Path) -> Path:
    quadrants((64, 48)).save(path, "JPEG")
    return path


def png_named_mp4(path: Path) -> Path:
    quadrants((64, 48)).save(path, "PNG")
    return path


def playlist_named_mp4(path: Path) -> Path:
    """An HLS playlist: opened by FFmpeg's guessing demuxer it would read other files."""
    path.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n")
    return path


def box_order(path: Path) -> list[str]:
    """Top-level MP4 box types in file order (to check faststart: moov before mdat)."""
    data, pos, types = Path(path).read_bytes(), 0, []
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
        elif size == 0:
            size = len(data) - pos
        types.append(kind.decode("latin-1"))
        if size < 8:
            break
        pos += size
    return types


def all_tags(path: Path) -> dict[str, str]:
    """Every container and stream metadata tag, stream tags prefixed ``<index>:``, plus chapter titles."""
    with av.open(str(path)) as c:
        tags = dict(c.metadata)
        for s in c.streams:
            tags.update({f"{s.index}:{k}": v for k, v in s.metadata.items()})
        for i, ch in enumerate(c.chapters()):
            tags.update({f"chapter{i}:{k}": v for k, v in (ch.get("metadata") or {}).items()})
    return tags


def first_frame(path: Path):
    """(decoded first frame, its display rotation, the stream) of the main video stream."""
    with av.open(str(path)) as c:
        stream = next(s for s in c.streams.video if not s.disposition & s.disposition.attached_pic)
        frame = next(c.decode(stream))
        return frame.to_image(), frame.rotation, (stream.codec_context.width, stream.codec_context.height)
