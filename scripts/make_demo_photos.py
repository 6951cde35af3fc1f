#!/usr/bin/env python3
"""Make the demo photos that the demo stories refer to.

The photos are not committed. The content is the single source of truth: this
script reads the front matter of every ``content/stories/*/index.md``, and for
each ``photos[].file`` whose name starts with ``demo-`` it draws a
camera-like picture next to the story (skipping files that already exist,
unless ``--force`` is given).

The pictures are meant to exercise the photo pipeline, so they look like
real phone or camera photos:

* full camera sizes (2400x1600 up to 4000x3000, landscape and portrait),
  JPEG quality 88, roughly 0.8-2.5 MB each, with film-grain noise;
* EXIF with Make, Model, BodySerialNumber, CameraOwnerName, Artist,
  DateTimeOriginal, Software, Orientation and a GPS IFD (latitude,
  longitude, altitude);
* some stored rotated, with Orientation 6, 8 or 3 (the pixels are turned so
  that applying the orientation makes the picture upright);
* a few carry an XMP packet and a JPEG comment; one PNG (a "scanned"
  certificate) and one HEIC (via pillow-heif) if the content names them.

Everything is deterministic: each picture is seeded from its story slug and
file name, so the same Pillow (and, for HEIC, the same libheif) produces the
same bytes on every run, whatever order the files are made in.

A story's ``video.file`` named ``demo-*.mp4`` gets a short phone-like video
(6 s, portrait 480x854 stored as landscape pixels with a 90° display matrix,
H.264 + AAC tone, with QuickTime location/make/model/creation-time tags), made
with PyAV in about a second, so the demo exercises the video pipeline too.

Usage:  .venv/bin/python scripts/make_demo_photos.py [--site DIR] [--force]

DIR is the project directory (the one holding ``content/``); it defaults to
the directory above this script. Tests can call ``make_photos(site_dir)``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import math
import os
import random
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import yaml
from PIL import ExifTags, Image, ImageChops, ImageDraw, ImageFilter, ImageFont
from PIL.TiffImagePlugin import IFDRational

ROOT = Path(__file__).resolve().parent.parent
EXTENSIONS = {".jpg", ".jpeg", ".png", ".heic"}
JPEG_QUALITY = 88
MIN_BYTES = 800_000
MAX_BYTES = 2_500_000
# Compressed data is close to random bytes, and random bytes now and then
# spell something that looks like an e-mail address. Content checks grep for
# those, so a picture that contains one is re-made with different grain.
EMAIL_LIKE = re.compile(rb"[A-Za-z0-9._%+-]\x40[A-Za-z0-9.-]+\.[A-Za-z]{2}")  # \x40 is the at sign
FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?$", re.S | re.M)
OWNER = "Jane Example"

# (Make, Model, Software, lens) - invented serial numbers are added per photo.
CAMERAS = [
    ("Apple", "iPhone 13", "17.5.1", "iPhone 13 back dual wide camera 5.1mm f/1.6"),
    ("Apple", "iPhone 15 Pro", "18.1", "iPhone 15 Pro back triple camera 6.765mm f/1.78"),
    ("samsung", "SM-A536B", "A536BXXS9EXB1", "Samsung 5.4mm f/1.8"),
    ("Google", "Pixel 7", "HDR+ 1.0.540104024zd", "Pixel 7 back camera 6.81mm f/1.85"),
    ("Canon", "Canon EOS 250D", "Firmware Version 1.1.0", "EF-S18-55mm f/4-5.6 IS STM"),
    ("FUJIFILM", "X-T30", "Digital Camera X-T30 Ver4.10", "XC15-45mmF3.5-5.6 OIS PZ"),
]
# Where the demo pictures were "taken": (lat, lon, altitude in metres, UTC offset).
PLACES = {
    "kisoro": (-1.2850, 29.6850, 1890.0, "+03:00"),
    "riverside": (52.1920, -2.2210, 24.0, "+00:00"),
}

LANDSCAPE_SIZES = [(4000, 3000)] * 4 + [(3000, 2000)] * 4 + [(3264, 2448), (3600, 2400), (2400, 1600)]


@dataclass(frozen=True)
class Job:
    path: Path
    slug: str
    initiative: str
    taken: date


# ---------------------------------------------------------------- discovery


def _front_matter(index: Path) -> dict | None:
    match = FRONT_MATTER.match(index.read_text(encoding="utf-8"))
    if not match:
        return None
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def find_jobs(site_dir: Path) -> list[Job]:
    """Every ``demo-*`` photo named in the stories under ``site_dir``."""
    stories = site_dir / "content" / "stories"
    if not stories.is_dir() and (site_dir / "stories").is_dir():
        stories = site_dir / "stories"  # --site pointing at content/ itself
    jobs: list[Job] = []
    for index in sorted(stories.glob("*/index.md")):
        meta = _front_matter(index)
        if meta is None:
            print(f"skipped {index}: front matter does not parse", file=sys.stderr)
            continue
        when = meta.get("date")
        if isinstance(when, datetime):
            when = when.date()
        if not isinstance(when, date):
            when = date(2026, 6, 1)
        for photo in meta.get("photos") or []:
            name = photo.get("file") if isinstance(photo, dict) else None
            if not isinstance(name, str) or not name.startswith("demo-"):
                continue
            if "/" in name or "\\" in name or name in {".", ".."}:
                print(f"skipped {index}: {name!r} is not a plain file name", file=sys.stderr)
                continue
            if Path(name).suffix.lower() not in EXTENSIONS:
                print(f"skipped {index}: {name!r} is not .jpg, .png or .heic", file=sys.stderr)
                continue
            jobs.append(Job(index.parent / name, index.parent.name, str(meta.get("initiative") or ""), when))
    return jobs


def find_video_jobs(site_dir: Path) -> list[Job]:
    """Every ``demo-*.mp4`` video named in the stories under ``site_dir``."""
    stories = site_dir / "content" / "stories"
    if not stories.is_dir() and (site_dir / "stories").is_dir():
        stories = site_dir / "stories"
    jobs: list[Job] = []
    for index in sorted(stories.glob("*/index.md")):
        meta = _front_matter(index) or {}
        clip = meta.get("video") if isinstance(meta.get("video"), dict) else {}
        name = clip.get("file")
        if (isinstance(name, str) and name.startswith("demo-") and name.endswith(".mp4")
                and "/" not in name and "\\" not in name):
            jobs.append(Job(index.parent / name, index.parent.name, str(meta.get("initiative") or ""),
                            date(2026, 6, 1)))
    return jobs


VIDEO_SECONDS = 6
VIDEO_FPS = 25
VIDEO_UPRIGHT = (480, 854)  # px as displayed (portrait); stored turned, with a 90° display matrix
VIDEO_TAGS = {
    "location": "+54.5973-005.9301+030.000/",
    "com.apple.quicktime.location.ISO6709": "+54.5973-005.9301+030.000/",
    "com.apple.quicktime.make": "Apple",
    "com.apple.quicktime.model": "iPhone 13",
    "creation_time": "2026-06-01T10:15:00.000000Z",
    "author": OWNER,
}


def _video_frame(rng_seed: int, i: int) -> Image.Image:
    """A jug-and-filter scene with light drops falling, drawn upright."""
    w, h = VIDEO_UPRIGHT
    img = Image.new("RGB", (w, h))
    _vgradient(img, (0, 0, w, h), (214, 228, 236), (150, 170, 182))
    d = ImageDraw.Draw(img)
    d.rectangle((0, int(h * 0.72), w, h), fill=(120, 92, 64))  # table
    d.rounded_rectangle((140, 180, 340, 430), radius=24, fill=(70, 120, 190))  # filter top
    d.rectangle((160, 430, 320, 620), fill=(225, 235, 240))  # clear container
    level = 610 - int(120 * i / (VIDEO_SECONDS * VIDEO_FPS))
    d.rectangle((164, level, 316, 616), fill=(150, 200, 235))  # water rising
    d.rectangle((320, 560, 360, 580), fill=(60, 60, 60))  # tap
    rng = random.Random(rng_seed * 1000 + i)
    for k in range(6):
        y = 440 + ((i * 9 + k * 31) % 120)
        d.ellipse((236 + rng.randint(-3, 3), y, 246, y + 12), fill=(120, 180, 230))
    d.text((20, 24), "Riverside · clean water", fill=(30, 40, 50))
    return img


def render_video(job: Job) -> None:
    """Write the demo video for ``job`` (a temp name that still matches demo-*, then rename)."""
    import av
    import struct

    seed = int(hashlib.sha256(f"{job.slug}/{job.path.name}".encode()).hexdigest()[:8], 16)
    tmp = job.path.with_name(f"{job.path.name}.tmp.mp4")
    out = av.open(str(tmp), "w", format="mp4", options={"movflags": "use_metadata_tags"})
    for key, value in VIDEO_TAGS.items():
        out.metadata[key] = value
    v = out.add_stream("libx264", rate=VIDEO_FPS, options={"preset": "ultrafast", "crf": "26"})
    v.width, v.height, v.pix_fmt = VIDEO_UPRIGHT[1], VIDEO_UPRIGHT[0], "yuv420p"
    v.set_display_rotation(90)
    a = out.add_stream("aac", rate=44100, layout="mono")
    for i in range(VIDEO_SECONDS * VIDEO_FPS):
        frame = av.VideoFrame.from_image(_video_frame(seed, i).rotate(-90, expand=True))
        frame.pts = i
        out.mux(v.encode(frame))
    out.mux(v.encode(None))
    rate, total, pts = 44100, 44100 * VIDEO_SECONDS, 0
    while pts < total:
        n = min(1024, total - pts)
        samples = [int(3000 * math.sin(2 * math.pi * 330 * (pts + k) / rate)) for k in range(n)]
        af = av.AudioFrame(format="s16", layout="mono", samples=n)
        af.sample_rate, af.pts = rate, pts
        af.planes[0].update(struct.pack(f"<{n}h", *samples))
        pts += n
        out.mux(a.encode(af))
    out.mux(a.encode(None))
    out.close()
    os.replace(tmp, job.path)


# ---------------------------------------------------------------- drawing

SKIN = [(241, 194, 160), (224, 172, 130), (198, 134, 94), (141, 85, 54), (92, 58, 38), (255, 219, 190)]
CLOTHES = [(200, 40, 40), (40, 90, 170), (240, 200, 40), (60, 140, 80), (230, 120, 30), (120, 60, 140),
           (30, 30, 40), (220, 220, 225), (90, 160, 200), (170, 30, 90)]


def _mix(a, b, t):
    return tuple(int(a[i] + (b[i] - a[i]) * t) for i in range(3))


def _jitter(rng, colour, amount=14):
    return tuple(max(0, min(255, c + rng.randint(-amount, amount))) for c in colour)


def _vgradient(img, box, top, bottom):
    draw = ImageDraw.Draw(img)
    x0, y0, x1, y1 = box
    span = max(1, y1 - y0)
    for y in range(y0, y1):
        draw.line([(x0, y), (x1, y)], fill=_mix(top, bottom, (y - y0) / span))


def _blurred_layer(img, paint, radius):
    """Paint on a transparent layer, blur it, and lay it over ``img``."""
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    paint(ImageDraw.Draw(layer))
    box = layer.getbbox()
    if box is None:
        return
    if radius:  # blur only around what was painted, premultiplied so soft edges don't go dark
        m = int(radius * 3) + 2
        box = (max(0, box[0] - m), max(0, box[1] - m), min(img.size[0], box[2] + m), min(img.size[1], box[3] + m))
        part = layer.crop(box).convert("RGBa").filter(ImageFilter.GaussianBlur(radius)).convert("RGBA")
    else:
        part = layer.crop(box)
    img.paste(part, box[:2], part)


def _ridge(rng, w, base, amp, waves=3):
    phases = [rng.uniform(0, 2 * math.pi) for _ in range(waves)]
    freqs = [rng.uniform(0.6, 1.4) * (k + 1) for k in range(waves)]
    pts = []
    for i in range(0, 41):
        x = w * i / 40
        y = base + sum(amp / (k + 1) * math.sin(freqs[k] * x / w * 2 * math.pi + phases[k]) for k in range(waves))
        pts.append((x, y))
    return pts


def _person(draw, rng, x, foot, height, shirt=None, extra=None):
    skin = rng.choice(SKIN)
    shirt = shirt or rng.choice(CLOTHES)
    trousers = _jitter(rng, rng.choice([(40, 45, 60), (70, 60, 50), (30, 30, 35), (90, 100, 120)]))
    head = height * 0.13
    body_top = foot - height * 0.82
    waist = foot - height * 0.45
    half = height * 0.13
    draw.rectangle([x - half * 0.8, waist, x + half * 0.8, foot], fill=trousers)
    draw.rounded_rectangle([x - half, body_top, x + half, waist + height * 0.04], radius=half * 0.5, fill=shirt)
    draw.ellipse([x - head * 0.5, body_top - head * 1.05, x + head * 0.5, body_top - head * 0.05], fill=skin)
    if extra == "can":
        draw.rectangle([x + half, waist - height * 0.05, x + half * 2.0, waist + height * 0.12], fill=(245, 205, 30))
    elif extra == "vest":
        draw.rectangle([x - half * 0.9, body_top + height * 0.05, x + half * 0.9, waist], fill=(215, 240, 40))


def _crowd(img, rng, n, y_range, height_range, radius, **kw):
    w = img.size[0]
    people = [(rng.uniform(0.03, 0.97) * w, rng.uniform(*y_range)) for _ in range(n)]
    people.sort(key=lambda p: (p[1], p[0]))  # far (higher up) first, near last

    def paint(draw):
        for x, foot in people:
            scale = (foot - y_range[0]) / max(1, y_range[1] - y_range[0])
            height = height_range[0] + (height_range[1] - height_range[0]) * scale
            _person(draw, rng, x, foot, height, **kw)

    _blurred_layer(img, paint, radius)


def _sky(img, rng, horizon, mood):
    w, h = img.size
    skies = {
        "clear": ((70, 130, 210), (200, 225, 245)),
        "warm": ((95, 150, 215), (245, 225, 190)),
        "grey": ((120, 125, 135), (185, 188, 192)),
        "mist": ((170, 185, 200), (235, 230, 220)),
        "autumn": ((110, 160, 215), (240, 215, 170)),
        "dusk": ((20, 30, 75), (240, 140, 70)),
    }
    top, bottom = skies[mood]
    _vgradient(img, (0, 0, w, horizon + 2), _jitter(rng, top, 8), _jitter(rng, bottom, 8))
    if mood in {"clear", "warm", "autumn"}:
        def clouds(draw):
            for _ in range(rng.randint(3, 7)):
                cx, cy = rng.uniform(0, w), rng.uniform(0.05, 0.6) * horizon
                for _ in range(5):
                    rx, ry = rng.uniform(0.04, 0.1) * w, rng.uniform(0.015, 0.04) * w
                    ox, oy = rng.uniform(-0.06, 0.06) * w, rng.uniform(-0.015, 0.015) * w
                    draw.ellipse([cx + ox - rx, cy + oy - ry, cx + ox + rx, cy + oy + ry], fill=(255, 255, 255, 170))
        _blurred_layer(img, clouds, w / 120)
    if mood in {"warm", "dusk", "mist"}:
        sx, sy = rng.uniform(0.15, 0.85) * w, horizon * rng.uniform(0.35, 0.85)
        r = w * 0.025

        def sun(draw):
            draw.ellipse([sx - r * 4, sy - r * 4, sx + r * 4, sy + r * 4], fill=(255, 240, 200, 70))
            draw.ellipse([sx - r, sy - r, sx + r, sy + r], fill=(255, 250, 230, 255))
        _blurred_layer(img, sun, w / 150)


def _trees(img, rng, base, height, palette, radius):
    w = img.size[0]

    def paint(draw):
        x = -w * 0.05
        while x < w * 1.05:
            r = rng.uniform(0.3, 0.6) * height
            draw.ellipse([x - r, base - height - r * 0.2, x + r, base + r * 0.3], fill=_jitter(rng, rng.choice(palette), 12))
            x += r * rng.uniform(0.6, 1.1)
    _blurred_layer(img, paint, radius)


def scene_hills(img, rng, name):
    w, h = img.size
    horizon = int(h * rng.uniform(0.35, 0.45))
    _sky(img, rng, horizon, "warm")
    draw = ImageDraw.Draw(img)
    for k, colour in enumerate([(95, 125, 90), (70, 115, 60), (85, 130, 55)]):
        pts = _ridge(rng, w, horizon + k * h * 0.06, h * 0.05)
        draw.polygon(pts + [(w, h), (0, h)], fill=_jitter(rng, colour, 10))
    ground = int(h * 0.68)
    draw.polygon(_ridge(rng, w, ground, h * 0.02) + [(w, h), (0, h)], fill=(150, 95, 60))
    px = w * rng.uniform(0.55, 0.75)
    draw.rectangle([px - w * 0.05, ground - h * 0.02, px + w * 0.05, ground + h * 0.04], fill=(150, 150, 145))
    draw.rectangle([px - w * 0.006, ground - h * 0.16, px + w * 0.006, ground], fill=(60, 90, 120))
    draw.line([(px, ground - h * 0.15), (px + w * 0.07, ground - h * 0.19)], fill=(50, 70, 95), width=max(2, w // 160))
    _crowd(img, rng, rng.randint(5, 9), (ground, h * 0.97), (h * 0.22, h * 0.5), w / 400, extra="can")


def scene_park(img, rng, name):
    w, h = img.size
    horizon = int(h * rng.uniform(0.38, 0.5))
    _sky(img, rng, horizon, "clear")
    _trees(img, rng, horizon, h * 0.12, [(40, 90, 45), (55, 105, 50), (35, 75, 40)], w / 300)
    _vgradient(img, (0, horizon, w, h), (95, 150, 70), (60, 120, 45))
    if "start" in name:
        draw = ImageDraw.Draw(img)
        draw.rectangle([w * 0.2, horizon - h * 0.1, w * 0.8, horizon - h * 0.04], fill=(30, 90, 170))
        for x in (w * 0.2, w * 0.8):
            draw.line([(x, horizon - h * 0.1), (x, horizon + h * 0.08)], fill=(80, 80, 80), width=max(2, w // 200))
        _crowd(img, rng, 22, (horizon + h * 0.08, h * 0.95), (h * 0.18, h * 0.45), w / 500, shirt=(40, 110, 200))
    else:
        draw = ImageDraw.Draw(img)
        draw.polygon([(w * 0.45, horizon), (w * 0.55, horizon), (w * 0.9, h), (w * 0.1, h)], fill=(170, 150, 110))
        _crowd(img, rng, 8, (horizon + h * 0.05, h * 0.9), (h * 0.1, h * 0.4), w / 500, shirt=(40, 110, 200), extra="can")


def scene_river(img, rng, name):
    w, h = img.size
    mood = "clear"
    if "rain" in name:
        mood = "grey"
    elif "kingfisher" in name or "mist" in name:
        mood = "mist"
    elif "autumn" in name or "path" in name:
        mood = "autumn"
    horizon = int(h * rng.uniform(0.3, 0.42))
    _sky(img, rng, horizon, mood)
    palette = {
        "clear": [(40, 95, 45), (60, 115, 55), (30, 70, 40)],
        "grey": [(70, 80, 70), (85, 95, 80), (60, 65, 60)],
        "mist": [(110, 125, 115), (125, 140, 125), (95, 110, 100)],
        "autumn": [(200, 120, 40), (220, 170, 60), (150, 90, 40), (90, 110, 50)],
    }[mood]
    _trees(img, rng, horizon + h * 0.04, h * 0.16, palette, w / 260)
    water_top = horizon + int(h * 0.05)
    water_bottom = int(h * rng.uniform(0.6, 0.7))
    water = {"clear": ((90, 120, 130), (60, 85, 90)), "grey": ((120, 125, 125), (80, 85, 85)),
             "mist": ((185, 190, 190), (120, 130, 130)), "autumn": ((120, 120, 100), (70, 80, 70))}[mood]
    _vgradient(img, (0, water_top, w, water_bottom), *water)
    draw = ImageDraw.Draw(img)
    for _ in range(120):
        y = rng.uniform(water_top, water_bottom)
        x = rng.uniform(0, w)
        length = rng.uniform(0.01, 0.06) * w
        draw.line([(x, y), (x + length, y)], fill=_jitter(rng, _mix(water[0], (240, 240, 235), 0.4), 10), width=1)
    bank = [(95, 120, 60), (75, 100, 50)] if mood != "grey" else [(85, 95, 70), (65, 70, 55)]
    draw.polygon(_ridge(rng, w, water_bottom, h * 0.02) + [(w, h), (0, h)], fill=bank[0])
    _vgradient(img, (0, water_bottom + int(h * 0.04), w, h), bank[0], bank[1])
    if mood == "mist":
        _blurred_layer(img, lambda d: d.rectangle([0, water_top - h * 0.08, w, water_top + h * 0.07],
                                                  fill=(235, 235, 232, 150)), w / 60)
        draw = ImageDraw.Draw(img)
        draw.line([(w * 0.55, water_top + h * 0.02), (w * 0.95, water_top + h * 0.12)], fill=(70, 55, 40), width=max(3, w // 90))
    if any(k in name for k in ("bags", "finds", "sorting")):
        def things(d):
            for _ in range(rng.randint(6, 14)):
                x, y = rng.uniform(0.05, 0.95) * w, rng.uniform(0.75, 0.95) * h
                r = rng.uniform(0.025, 0.05) * w
                colour = (40, 80, 180) if "bags" in name else rng.choice(CLOTHES)
                d.ellipse([x - r, y - r * 1.2, x + r, y + r * 0.5], fill=_jitter(rng, colour, 20))
        _blurred_layer(img, things, w / 700)
    if "trolley" in name:
        draw = ImageDraw.Draw(img)
        tx, ty = w * rng.uniform(0.35, 0.6), water_bottom - h * 0.06
        for i in range(9):
            draw.line([(tx + i * w * 0.01, ty), (tx + i * w * 0.01, ty + h * 0.08)], fill=(140, 110, 80), width=max(1, w // 500))
        draw.rectangle([tx, ty, tx + w * 0.08, ty + h * 0.08], outline=(150, 120, 90), width=max(1, w // 400))
    if any(k in name for k in ("team", "students", "trolley", "bags", "sorting", "rain")):
        n = 2 if "rain" in name else rng.randint(3, 7)
        _crowd(img, rng, n, (water_bottom + h * 0.05, h * 0.95), (h * 0.15, h * 0.45), w / 600, extra="vest")
    if "bench" in name:
        draw = ImageDraw.Draw(img)
        bx, by = w * 0.3, h * 0.85
        draw.rectangle([bx, by - h * 0.08, bx + w * 0.35, by - h * 0.06], fill=(110, 75, 45))
        draw.rectangle([bx, by - h * 0.13, bx + w * 0.35, by - h * 0.11], fill=(110, 75, 45))
        for lx in (bx + w * 0.02, bx + w * 0.32):
            draw.rectangle([lx, by - h * 0.13, lx + w * 0.012, by], fill=(90, 60, 35))


def scene_dusk(img, rng, name):
    w, h = img.size
    horizon = int(h * 0.62)
    _sky(img, rng, horizon, "dusk")
    draw = ImageDraw.Draw(img)
    x = -w * 0.02
    windows = []
    while x < w:
        bw, bh = rng.uniform(0.12, 0.25) * w, rng.uniform(0.18, 0.32) * h
        colour = _jitter(rng, (35, 30, 40), 8)
        draw.rectangle([x, horizon - bh, x + bw, h], fill=colour)
        draw.polygon([(x - w * 0.01, horizon - bh), (x + bw / 2, horizon - bh - h * 0.08), (x + bw + w * 0.01, horizon - bh)], fill=colour)
        for row in range(2):
            for col in range(3):
                if rng.random() < 0.6:
                    wx, wy = x + bw * (0.15 + col * 0.28), horizon - bh * (0.8 - row * 0.4)
                    windows.append((wx, wy, bw * 0.15, bh * 0.16))
        x += bw + rng.uniform(0.01, 0.04) * w
    _vgradient(img, (0, horizon, w, h), (60, 60, 75), (200, 205, 215))

    def lights(d):
        for wx, wy, ww, wh in windows:
            d.rectangle([wx - ww * 0.3, wy - wh * 0.3, wx + ww * 1.3, wy + wh * 1.3], fill=(255, 200, 110, 60))
            d.rectangle([wx, wy, wx + ww, wy + wh], fill=(255, 215, 130, 255))
        for lx in (w * 0.12, w * 0.5, w * 0.88):
            d.ellipse([lx - w * 0.03, horizon - h * 0.35, lx + w * 0.03, horizon - h * 0.3], fill=(255, 230, 170, 220))
    _blurred_layer(img, lights, w / 400)


def scene_indoor(img, rng, name):
    w, h = img.size
    warm = rng.random() < 0.6
    wall = _jitter(rng, (225, 205, 175) if warm else (205, 215, 220), 12)
    floor_y = int(h * rng.uniform(0.55, 0.65))
    _vgradient(img, (0, 0, w, floor_y), _mix(wall, (255, 255, 255), 0.2), _mix(wall, (0, 0, 0), 0.15))
    _vgradient(img, (0, floor_y, w, h), (150, 115, 80), (110, 80, 55))
    big_window = "window" in name or "draught" in name
    wx0 = w * (0.25 if big_window else rng.uniform(0.05, 0.6))
    ww = w * (0.5 if big_window else 0.28)
    wy0, wh = h * (0.08 if big_window else 0.1), h * (0.75 if big_window else 0.35)

    def window(d):
        d.rectangle([wx0 - w * 0.03, wy0 - h * 0.03, wx0 + ww + w * 0.03, wy0 + wh + h * 0.03], fill=(255, 250, 235, 90))
        d.rectangle([wx0, wy0, wx0 + ww, wy0 + wh], fill=(235, 242, 250, 255))
    _blurred_layer(img, window, w / 200)
    draw = ImageDraw.Draw(img)
    frame = max(2, w // 150)
    draw.rectangle([wx0, wy0, wx0 + ww, wy0 + wh], outline=(245, 245, 240), width=frame)
    draw.line([(wx0, wy0 + wh / 2), (wx0 + ww, wy0 + wh / 2)], fill=(245, 245, 240), width=frame)
    if big_window:
        draw.rectangle([wx0, wy0 + wh / 2 - frame * 2, wx0 + ww, wy0 + wh / 2 + frame * 2], fill=(80, 70, 60))
        return
    if not any(k in name for k in ("cake", "tablet", "kitchen-table", "blankets", "jars")):
        n = 14 if any(k in name for k in ("hall", "quiz", "class", "circle")) else rng.randint(3, 6)
        _crowd(img, rng, n, (floor_y - h * 0.02, floor_y + h * 0.25), (h * 0.3, h * 0.55), w / 250)
    table_top = int(h * rng.uniform(0.62, 0.72))
    table = _jitter(rng, (170, 125, 80) if "kitchen" in name or "cake" in name else (215, 215, 210), 12)
    draw = ImageDraw.Draw(img)
    draw.polygon([(w * 0.1, table_top), (w * 0.9, table_top), (w * 1.05, h), (-w * 0.05, h)], fill=table)

    def objects(d):
        if "cake" in name:
            cx, cy, r = w * 0.45, table_top + h * 0.12, w * 0.16
            d.ellipse([cx - r, cy + r * 0.1, cx + r, cy + r * 0.5], fill=(240, 240, 245, 255))
            d.rectangle([cx - r * 0.85, cy - r * 0.45, cx + r * 0.85, cy + r * 0.25], fill=(250, 240, 230, 255))
            d.ellipse([cx - r * 0.85, cy - r * 0.65, cx + r * 0.85, cy - r * 0.25], fill=(255, 250, 245, 255))
            d.ellipse([cx - r * 0.15, cy - r * 0.6, cx + r * 0.15, cy - r * 0.32], fill=(60, 140, 220, 255))
            d.rectangle([w * 0.72, table_top - h * 0.02, w * 0.8, table_top + h * 0.12], fill=(210, 225, 230, 200))
        elif "tablet" in name:  # hands holding a tablet with a video call on it
            tx, ty, tw, th = w * 0.28, h * 0.2, w * 0.44, h * 0.55
            for hx in (tx - w * 0.05, tx + tw - w * 0.03):
                d.rounded_rectangle([hx, ty + th * 0.45, hx + w * 0.08, ty + th * 1.1], radius=w * 0.03, fill=SKIN[1] + (255,))
            d.rounded_rectangle([tx, ty, tx + tw, ty + th], radius=w * 0.02, fill=(25, 25, 30, 255))
            d.rectangle([tx + tw * 0.04, ty + th * 0.06, tx + tw * 0.96, ty + th * 0.94], fill=(120, 170, 140, 255))
            for fx, skin in ((0.33, SKIN[0]), (0.67, SKIN[5])):
                cx, cy, r = tx + tw * fx, ty + th * 0.45, tw * 0.1
                d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=skin + (255,))
                d.rounded_rectangle([cx - r * 1.5, cy + r * 1.1, cx + r * 1.5, ty + th * 0.94], radius=r * 0.6,
                                    fill=rng.choice(CLOTHES) + (255,))
        elif any(k in name for k in ("laptop", "screens", "class", "workshop")):
            count = 1 if "kitchen-table" in name else 4
            for i in range(count):
                lx = w * (0.3 if count == 1 else 0.05 + i * 0.24)
                lw = w * (0.38 if count == 1 else 0.18)
                ly = table_top + h * (0.02 if count == 1 else 0.05)
                d.rectangle([lx, ly - lw * 0.6, lx + lw, ly], fill=(40, 40, 45, 255))
                d.rectangle([lx + lw * 0.04, ly - lw * 0.56, lx + lw * 0.96, ly - lw * 0.05], fill=(150, 190, 235, 255))
                d.polygon([(lx, ly), (lx + lw, ly), (lx + lw * 1.08, ly + lw * 0.12), (lx - lw * 0.08, ly + lw * 0.12)], fill=(170, 170, 175, 255))
        elif "blankets" in name:
            y = table_top + h * 0.2
            for _ in range(8):
                d.rectangle([w * 0.25, y - h * 0.05, w * 0.75, y], fill=_jitter(rng, rng.choice(CLOTHES), 25) + (255,))
                y -= h * 0.05
        elif "jars" in name or "marmalade" in name:
            for row in range(2):
                for col in range(9):
                    jx, jy = w * (0.08 + col * 0.095), table_top + h * (0.03 + row * 0.1)
                    d.rectangle([jx, jy, jx + w * 0.06, jy + h * 0.08], fill=(230, 120, 20, 255))
                    d.rectangle([jx, jy - h * 0.015, jx + w * 0.06, jy], fill=(235, 235, 225, 255))
        elif "cheque" in name:
            d.rectangle([w * 0.2, table_top - h * 0.3, w * 0.8, table_top - h * 0.08], fill=(250, 250, 245, 255))
            d.rectangle([w * 0.22, table_top - h * 0.27, w * 0.5, table_top - h * 0.24], fill=(40, 80, 150, 255))
        else:  # breakfast, toast, tea, kitchen: plates and mugs
            for _ in range(rng.randint(5, 9)):
                px, py = rng.uniform(0.1, 0.9) * w, table_top + rng.uniform(0.05, 0.3) * h
                r = w * rng.uniform(0.04, 0.07)
                d.ellipse([px - r, py - r * 0.4, px + r, py + r * 0.4], fill=(250, 250, 250, 255))
                d.rectangle([px - r * 0.45, py - r * 0.3, px + r * 0.45, py + r * 0.1], fill=(205, 150, 80, 255))
                if rng.random() < 0.4:
                    mx = px + r * 1.3
                    d.rectangle([mx, py - r * 0.9, mx + r * 0.6, py], fill=_jitter(rng, rng.choice(CLOTHES), 20) + (255,))
    _blurred_layer(img, objects, w / 900)


def scene_certificate(img, rng, name):
    """A certificate lying on a table, as from a flatbed scan or a phone photo."""
    w, h = img.size
    _vgradient(img, (0, 0, w, h), (250, 246, 235), (238, 232, 215))
    draw = ImageDraw.Draw(img)
    m = int(w * 0.04)
    draw.rectangle([m, m, w - m, h - m], outline=(40, 80, 140), width=max(3, w // 150))
    draw.rectangle([m * 1.5, m * 1.5, w - m * 1.5, h - m * 1.5], outline=(200, 160, 60), width=max(2, w // 300))
    for text, size, y in [("Getting Online", 0.09, 0.2), ("Basic Skills", 0.06, 0.36),
                          ("Riverside library computer class", 0.035, 0.5), ("well done!", 0.035, 0.58)]:
        font = ImageFont.load_default(size=max(10, int(h * size)))
        draw.text((w / 2, h * y), text, fill=(40, 50, 70), font=font, anchor="mm")
    lx, ly, lw = w * 0.18, h * 0.72, w * 0.16
    draw.rectangle([lx, ly, lx + lw, ly + lw * 0.6], outline=(40, 50, 70), width=max(2, w // 250))
    draw.polygon([(lx - lw * 0.1, ly + lw * 0.65), (lx + lw * 1.1, ly + lw * 0.65), (lx + lw * 1.2, ly + lw * 0.75),
                  (lx - lw * 0.2, ly + lw * 0.75)], outline=(40, 50, 70), width=max(2, w // 250))
    cx, cy, r = w * 0.78, h * 0.77, w * 0.07
    star = [(cx + (r if i % 2 == 0 else r * 0.45) * math.cos(math.pi / 2 + i * math.pi / 5),
             cy - (r if i % 2 == 0 else r * 0.45) * math.sin(math.pi / 2 + i * math.pi / 5)) for i in range(10)]
    draw.polygon(star, fill=(230, 185, 40), outline=(180, 130, 20))
    draw.line([(w * 0.38, h * 0.82), (w * 0.62, h * 0.82)], fill=(40, 50, 70), width=max(1, w // 500))


SCENES = {
    "hills": scene_hills, "park": scene_park, "river": scene_river,
    "dusk": scene_dusk, "indoor": scene_indoor, "certificate": scene_certificate,
}
KEYWORDS = [  # first match in the file name wins
    ("river", "river"), ("bank", "river"), ("certificate", "certificate"), ("evening", "dusk"), ("dusk", "dusk"),
    ("pump", "hills"), ("queue", "hills"), ("well", "hills"), ("walk", "park"), ("field", "park"),
    ("cake", "indoor"), ("quiz", "indoor"), ("hall", "indoor"), ("marmalade", "indoor"), ("stall", "indoor"),
    ("table", "indoor"), ("kitchen", "indoor"), ("breakfast", "indoor"), ("toast", "indoor"), ("tea", "indoor"),
]
INITIATIVE_SCENES = {"clean-water": "hills", "river-cleanup": "river"}


def pick_scene(job: Job) -> str:
    name = job.path.stem.lower()
    for word, scene in KEYWORDS:
        if word in name:
            return scene
    return INITIATIVE_SCENES.get(job.initiative, "indoor")


# ---------------------------------------------------------------- metadata


def _dms(value: float) -> tuple:
    value = abs(value)
    deg = int(value)
    minutes = int((value - deg) * 60)
    seconds = round(((value - deg) * 60 - minutes) * 60, 2)
    return (IFDRational(deg, 1), IFDRational(minutes, 1), IFDRational(int(seconds * 100), 100))


def build_exif(rng: random.Random, job: Job, scene: str, orientation: int, size: tuple[int, int]) -> Image.Exif:
    make, model, software, lens = rng.choice(CAMERAS)
    lat, lon, alt, offset = PLACES["kisoro" if scene == "hills" else "riverside"]
    lat += rng.uniform(-0.03, 0.03)
    lon += rng.uniform(-0.03, 0.03)
    alt = max(0.0, alt + rng.uniform(-15, 60))
    taken = datetime.combine(job.taken - timedelta(days=rng.randint(0, 3)), datetime.min.time())
    taken += timedelta(hours=rng.randint(8, 16), minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))
    stamp = taken.strftime("%Y:%m:%d %H:%M:%S")

    exif = Image.Exif()
    exif[ExifTags.Base.Make] = make
    exif[ExifTags.Base.Model] = model
    exif[ExifTags.Base.Software] = software
    exif[ExifTags.Base.DateTime] = stamp
    exif[ExifTags.Base.Artist] = OWNER
    exif[ExifTags.Base.Copyright] = f"Owner: {OWNER}"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.XResolution] = IFDRational(72, 1)
    exif[ExifTags.Base.YResolution] = IFDRational(72, 1)
    exif[ExifTags.Base.ResolutionUnit] = 2
    exif[ExifTags.IFD.Exif] = {
        ExifTags.Base.ExifVersion: b"0232",
        ExifTags.Base.DateTimeOriginal: stamp,
        ExifTags.Base.DateTimeDigitized: stamp,
        ExifTags.Base.OffsetTimeOriginal: offset,
        ExifTags.Base.ExposureTime: IFDRational(1, rng.choice([60, 120, 250, 500, 1000])),
        ExifTags.Base.FNumber: IFDRational(rng.choice([16, 18, 28, 40, 56]), 10),
        ExifTags.Base.ISOSpeedRatings: rng.choice([50, 100, 200, 400, 800]),
        ExifTags.Base.FocalLength: IFDRational(rng.randint(40, 550), 10),
        ExifTags.Base.ExifImageWidth: size[0],
        ExifTags.Base.ExifImageHeight: size[1],
        ExifTags.Base.CameraOwnerName: OWNER,
        ExifTags.Base.BodySerialNumber: f"{rng.randrange(10**11, 10**12)}",
        ExifTags.Base.LensMake: make,
        ExifTags.Base.LensModel: lens,
    }
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSVersionID: b"\x02\x03\x00\x00",
        ExifTags.GPS.GPSLatitudeRef: "N" if lat >= 0 else "S",
        ExifTags.GPS.GPSLatitude: _dms(lat),
        ExifTags.GPS.GPSLongitudeRef: "E" if lon >= 0 else "W",
        ExifTags.GPS.GPSLongitude: _dms(lon),
        ExifTags.GPS.GPSAltitudeRef: b"\x00",
        ExifTags.GPS.GPSAltitude: IFDRational(int(alt * 10), 10),
        ExifTags.GPS.GPSTimeStamp: (IFDRational(taken.hour, 1), IFDRational(taken.minute, 1), IFDRational(taken.second, 1)),
        ExifTags.GPS.GPSDateStamp: taken.strftime("%Y:%m:%d"),
    }
    return exif


def build_xmp(job: Job, exif: Image.Exif) -> bytes:
    gps = exif[ExifTags.IFD.GPSInfo]
    lat = gps[ExifTags.GPS.GPSLatitude]
    lon = gps[ExifTags.GPS.GPSLongitude]
    lat_s = f"{int(lat[0])},{float(lat[1]) + float(lat[2]) / 60:.4f}{gps[ExifTags.GPS.GPSLatitudeRef]}"
    lon_s = f"{int(lon[0])},{float(lon[1]) + float(lon[2]) / 60:.4f}{gps[ExifTags.GPS.GPSLongitudeRef]}"
    when = exif[ExifTags.Base.DateTime].replace(":", "-", 2).replace(" ", "T")
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Story Wall demo">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        '    xmlns:exif="http://ns.adobe.com/exif/1.0/"\n'
        '    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/">\n'
        f'   <dc:creator><rdf:Seq><rdf:li>{OWNER}</rdf:li></rdf:Seq></dc:creator>\n'
        f'   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">Demo photo for {job.slug}</rdf:li></rdf:Alt></dc:description>\n'
        f'   <xmp:CreateDate>{when}</xmp:CreateDate>\n'
        f'   <xmp:CreatorTool>{exif[ExifTags.Base.Model]}</xmp:CreatorTool>\n'
        f'   <exif:GPSLatitude>{lat_s}</exif:GPSLatitude>\n'
        f'   <exif:GPSLongitude>{lon_s}</exif:GPSLongitude>\n'
        f'   <photoshop:City>{"Kisoro" if lat_s.endswith("S") else "Riverside"}</photoshop:City>\n'
        '  </rdf:Description>\n'
        ' </rdf:RDF>\n'
        '</x:xmpmeta>\n'
        '<?xpacket end="w"?>'
    ).encode("utf-8")


# ---------------------------------------------------------------- one photo

# Orientation -> transpose that turns the upright picture into the stored one
# (the inverse of what a viewer applies when it honours the tag).
STORE_ROTATED = {
    1: None,
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,   # viewer rotates 90 degrees clockwise
    8: Image.Transpose.ROTATE_270,  # viewer rotates 90 degrees anticlockwise
}


def _gauss_lut(sigma: float) -> list[int]:
    """Map uniform bytes to roughly Gaussian grain centred on 128."""
    from statistics import NormalDist

    nd = NormalDist(128, sigma)
    return [max(0, min(255, round(nd.inv_cdf((v + 0.5) / 256)))) for v in range(256)]


def _add_grain(img: Image.Image, seed: int, sigma: float) -> Image.Image:
    noise = Image.frombytes("L", img.size, random.Random(seed).randbytes(img.size[0] * img.size[1]))
    noise = noise.point(_gauss_lut(sigma))
    return ImageChops.add(img, noise.convert("RGB"), 1.0, -128)


def render(job: Job) -> bytes:
    seed = int.from_bytes(hashlib.sha256(f"{job.slug}/{job.path.name}".encode()).digest()[:8], "big")
    rng = random.Random(seed)
    ext = job.path.suffix.lower()
    scene = pick_scene(job) if ext != ".png" else "certificate"
    if ext in {".png", ".heic"}:
        size = (2400, 1600)
    else:
        size = rng.choice(LANDSCAPE_SIZES)
        if rng.random() < 0.25:
            size = (size[1], size[0])
    orientation = 1
    if ext in {".jpg", ".jpeg"}:
        orientation = [1, 1, 1, 1, 1, 6, 8, 3][seed % 8]
    with_xmp = ext in {".jpg", ".jpeg"} and seed % 5 == 0

    # Draw a quarter-size picture (fast), blur it a touch like a lens, add a
    # vignette, rotate it into its stored orientation, then scale it up.
    small = Image.new("RGB", (size[0] // 4, size[1] // 4))
    SCENES[scene](small, rng, job.path.stem.lower())
    small = small.filter(ImageFilter.GaussianBlur(0.6))
    if scene != "certificate":
        vignette = Image.radial_gradient("L").resize(small.size).point(lambda v: 255 - max(0, v - 150) // 2)
        small = ImageChops.multiply(small, Image.merge("RGB", (vignette,) * 3))
    if STORE_ROTATED[orientation] is not None:
        small = small.transpose(STORE_ROTATED[orientation])
    stored = (size[1], size[0]) if orientation in (6, 8) else size
    big = small.resize(stored, Image.Resampling.BILINEAR)

    exif = build_exif(rng, job, scene, orientation, size)
    # Grain strength for about 1.6 MB: JPEG size per pixel grows roughly with
    # the log of the grain's standard deviation (measured with Pillow 11-13).
    sigma = {".png": 1.0, ".heic": 2.5}.get(ext, min(14.0, math.exp((1.6e6 / (size[0] * size[1]) + 0.084) / 0.18)))
    quality = JPEG_QUALITY
    data = b""
    for attempt in range(8):
        out = io.BytesIO()
        pic = _add_grain(big, seed + attempt, sigma)
        if ext == ".png":
            pic.save(out, "PNG", exif=exif, compress_level=6)
        elif ext == ".heic":
            pic.save(out, "HEIF", quality=72, exif=exif.tobytes(), enc_params={"preset": "ultrafast"})
        else:
            extra = {}
            if with_xmp:
                extra = {"xmp": build_xmp(job, exif), "comment": f"Owner: {OWNER}. Demo photo for {job.slug}."}
            pic.save(out, "JPEG", quality=quality, exif=exif, optimize=False, **extra)
        data = out.getvalue()
        if EMAIL_LIKE.search(data):
            continue  # new grain, same picture
        if len(data) > MAX_BYTES and ext != ".png":
            sigma *= 0.8
            continue
        if len(data) < MIN_BYTES and ext == ".jpg":
            sigma *= 1.25
            continue
        break
    return data


def _make_one(job: Job) -> tuple[Job, int, float]:
    start = time.perf_counter()
    data = render(job)
    tmp = job.path.with_name(f"{job.path.name}.tmp")  # still matches the demo-* ignore rule
    tmp.write_bytes(data)
    os.replace(tmp, job.path)
    return job, len(data), time.perf_counter() - start


def make_photos(site_dir: Path, force: bool = False, verbose: bool = False) -> list[Path]:
    """Create every missing demo photo (and demo video) named in the stories; return the paths made."""
    site_dir = Path(site_dir)
    made_videos: list[Path] = []
    for job in find_video_jobs(site_dir):
        if force or not job.path.exists():
            render_video(job)
            made_videos.append(job.path)
    jobs = [j for j in find_jobs(site_dir) if force or not j.path.exists()]
    if any(j.path.suffix.lower() == ".heic" for j in jobs):
        import pillow_heif

        pillow_heif.register_heif_opener()
    made: list[Path] = []
    workers = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for job, size, seconds in pool.map(_make_one, jobs):
            made.append(job.path)
            if verbose:
                try:
                    shown = job.path.relative_to(site_dir)
                except ValueError:
                    shown = job.path
                print(f"made {shown}  {size / 1e6:.2f} MB  {seconds:.2f} s", flush=True)
    return made_videos + made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT, help="project directory holding content/ (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="remake photos that already exist")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    made = make_photos(args.site, force=args.force, verbose=True)
    total = sum(p.stat().st_size for p in made)
    print(f"made {len(made)} demo photo(s), {total / 1e6:.1f} MB, in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
