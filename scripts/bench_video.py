"""Benchmark the video pipeline (storywall.video) on phone-like videos.

Run:  .venv/bin/python scripts/bench_video.py [--seconds 10] [--intake-mb 50] [--presets] [--json]

Videos are generated with PyAV, deterministically (a camera pan across a
textured scene with moving shapes and sensor grain, 1920×1080 at 30 fps,
with a 90° display matrix, phone metadata tags and a stereo tone), so the
figures are comparable between runs and machines. Prints:

* build, cold: seconds of the build's own path (``storywall.pelican.videos``:
  ``video_job`` with the default settings, then ``process`` — probe + 720p
  H.264/AAC transcode + posters into an empty ``VideoCache``) per second of
  source video;
* build, warm: milliseconds for the same call again (a cache hit: nothing
  read but a stat and two small JSON files; target < 5 ms);
* intake: seconds for ``probe_video`` and for ``strip_video`` (probe +
  metadata-free remux + fsync) of a ~50 MB upload, generated once at a high
  bitrate into a temporary folder;
* with ``--presets``: libx264 presets at the chosen CRF on the same source:
  encode seconds per source second, MB per minute, and PSNR (dB) against the
  source scaled the same way; this is how :data:`storywall.video.X264_PRESET`
  was chosen.

``run(...) -> dict`` is the entry point for the project's main bench.

Figures on the 2-CPU development container (PyAV 18.1.0, load average ~2-7
from other work, so wall times are noisy; CPU seconds count every thread):
build cold 1.3 CPU s (0.7-1.5 s wall) per second of 1080p30 source, 3.9 MB
for 10 s at 720×1280; warm 0.3 ms; intake of a 50 MB / 25 s upload: probe
0.09 s, probe + remux 0.33 s. Presets at CRF 23 (CPU s per source second,
MB/min, PSNR): ultrafast 0.95/54/32.6, superfast 1.10/40/33.1, veryfast
1.20/23/32.2, faster 1.55/23/32.3, fast 2.23/25/33.0, medium 2.93/22/33.1.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import av
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageStat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plugins"))  # works without an editable install too

from storywall import video  # noqa: E402
from storywall.pelican import videos as video_plugin  # noqa: E402  (the build's path)
from storywall.settings import Settings  # noqa: E402

SIZE = (1920, 1080)  # px, stored (landscape) pixels; displayed as portrait through the 90° matrix
FPS = 30
PHONE_TAGS = {
    "location": "+27.5916+086.5640+8850/",
    "com.apple.quicktime.location.ISO6709": "+27.5916+086.5640+8850/",
    "com.apple.quicktime.make": "Apple",
    "com.apple.quicktime.model": "iPhone 15",
    "creation_time": "2024-05-07T09:33:04.000000Z",
}
INTAKE_BITRATE = 16_000_000  # bit/s: a phone's 1080p30 bitrate, so a 50 MB upload is ~25 s
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium")


# --- deterministic phone-like video ----------------------------------------------------


def _scene(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """A textured scene larger than the frame, for the camera to pan across."""
    w, h = size
    base = Image.linear_gradient("L").resize(size)
    bands = []
    for div, blur in ((40, 8), (12, 3), (4, 1)):
        small = Image.frombytes("L", (w // div, h // div), rng.randbytes((w // div) * (h // div)))
        bands.append(small.resize(size, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(blur)))
    img = Image.merge("RGB", (Image.blend(base, bands[0], 0.6), Image.blend(bands[1], bands[0], 0.5),
                              Image.blend(base.rotate(180), bands[2], 0.4)))
    draw = ImageDraw.Draw(img)
    for _ in range(120):
        x, y, r = rng.randrange(w), rng.randrange(h), rng.randrange(w // 80, w // 10)
        draw.ellipse((x, y, x + r, y + r * 2 // 3), fill=tuple(rng.randrange(256) for _ in range(3)))
    return img.filter(ImageFilter.GaussianBlur(0.8))


def _frames(seconds: float, size=SIZE, fps: int = FPS, grain: float = 0.03, seed: int = 1, loop: int = FPS):
    """``seconds`` of frames: a one-second camera pan (``loop`` distinct frames), repeated."""
    rng = random.Random(seed)
    w, h = size
    scene = _scene((w + w // 4, h + h // 6), rng)
    grains = [Image.frombytes("L", size, rng.randbytes(w * h)).convert("RGB") for _ in range(3)]
    distinct = []
    for i in range(min(loop, int(seconds * fps))):
        t = i / loop
        x, y = int((w // 4) * t), int((h // 6) * (0.5 + 0.5 * math.sin(2 * math.pi * t)))
        frame = scene.crop((x, y, x + w, y + h))
        cx = int(w * (0.1 + 0.8 * t))
        ImageDraw.Draw(frame).ellipse((cx, h // 2, cx + h // 6, h // 2 + h // 6), fill=(230, 40, 40))
        frame = Image.blend(frame, grains[i % 3], grain) if grain else frame
        distinct.append(av.VideoFrame.from_image(frame).reformat(format="yuv420p"))
    for i in range(int(seconds * fps)):
        yield distinct[i % len(distinct)]


def make_phone_video(path: Path, seconds: float, *, crf: int = 18, grain: float = 0.03, stop_bytes: int | None = None,
                     bitrate: int | None = None) -> Path:
    """A 1080p30 phone-like MP4 with a 90° matrix, tags and a tone; ``stop_bytes`` ends it at that size."""
    out = av.open(str(path), "w", format="mp4", options={"movflags": "use_metadata_tags"})
    for k, v in PHONE_TAGS.items():
        out.metadata[k] = v
    options = {"preset": "ultrafast"} if bitrate else {"preset": "ultrafast", "crf": str(crf)}
    vs = out.add_stream("libx264", rate=FPS, options=options)
    if bitrate:
        vs.bit_rate = bitrate
    vs.width, vs.height, vs.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
    vs.set_display_rotation(90)
    audio = out.add_stream("aac", rate=48000, layout="stereo")
    written, frames = 0, 0
    for frame in _frames(seconds, grain=grain):
        frame.pts = frames
        frames += 1
        for packet in vs.encode(frame):
            written += packet.size
            out.mux(packet)
        if stop_bytes and written >= stop_bytes:
            break
    out.mux(vs.encode(None))
    tone = b"".join(int(6000 * math.sin(2 * math.pi * 440 * k / 48000)).to_bytes(2, "little", signed=True) * 2
                    for k in range(48000))  # one second: 440 Hz is a whole number of cycles
    samples, pts = int(frames / FPS * 48000), 0
    while pts < samples:
        n = min(1024, samples - pts)
        af = av.AudioFrame(format="s16", layout="stereo", samples=n)
        af.sample_rate, af.pts = 48000, pts
        start = (pts % 48000) * 4
        chunk = (tone + tone)[start : start + n * 4]
        af.planes[0].update(chunk)
        out.mux(audio.encode(af))
        pts += n
    out.mux(audio.encode(None))
    out.close()
    return path


# --- measurements ---------------------------------------------------------------------


def _cpu() -> float:
    """CPU seconds of this process, every thread (x264's too): steadier than wall time on a busy machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def _timed_cpu(fn, *args, **kwargs):
    wall, cpu = time.perf_counter(), _cpu()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - wall, _cpu() - cpu


def _psnr(a: Image.Image, b: Image.Image) -> float:
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    stat = ImageStat.Stat(diff)
    mse = sum(stat.sum2) / (3 * a.width * a.height)
    return 99.0 if mse == 0 else 10 * math.log10(255 * 255 / mse)


def quality(src: Path, web: Path, every: int = 10) -> float:
    """Mean PSNR (dB) of every ``every``-th frame of ``web`` against ``src`` made upright and scaled alike."""
    scores = []
    with av.open(str(src)) as a, av.open(str(web)) as b:
        bw, bh = b.streams.video[0].codec_context.width, b.streams.video[0].codec_context.height
        for i, (fa, fb) in enumerate(zip(a.decode(video=0), b.decode(video=0))):
            if i % every:
                continue
            ref = fa.to_image().rotate(90, expand=True).resize((bw, bh), Image.Resampling.BICUBIC)
            scores.append(_psnr(ref, fb.to_image()))
    return round(statistics.fmean(scores), 2)


def _build(src: Path, cache_dir: Path) -> video.VideoResult:
    """One video through the build plugin's own functions (job, then the worker pool / cache)."""
    job = video_plugin.video_job(src, cache_dir, Settings(), label=src.name)
    (result,) = video_plugin.process([job])
    if isinstance(result, video.VideoError):
        raise result
    return result


def bench_build(src: Path, work: Path, source_seconds: float, repeats: int = 1) -> dict:
    cold, cpu = [], []
    for i in range(repeats):
        result, seconds, cpu_seconds = _timed_cpu(_build, src, work / f"cold{i}")
        cold.append(seconds)
        cpu.append(cpu_seconds)
    warm = [_timed(_build, src, work / "cold0")[1] for _ in range(20)]
    return {
        "source_seconds": source_seconds,
        "source_mb": round(src.stat().st_size / 1e6, 1),
        "web_size": [result.width, result.height],
        "web_mb": round(result.mp4_bytes / 1e6, 2),
        "cold_s": round(statistics.median(cold), 3),
        "cold_s_per_source_s": round(statistics.median(cold) / source_seconds, 3),
        "cold_cpu_s_per_source_s": round(statistics.median(cpu) / source_seconds, 3),
        "warm_ms": round(statistics.median(warm) * 1e3, 3),
        "psnr_db": quality(src, video.VideoCache(work / "cold0").path(result.mp4)),
    }


def bench_presets(src: Path, work: Path, source_seconds: float, presets=PRESETS) -> list[dict]:
    rows = []
    for preset in presets:
        settings = replace(video.VideoSettings(), preset=preset)
        result, seconds, cpu = _timed_cpu(video.make_web_version, src, work / f"preset-{preset}", settings=settings)
        rows.append({
            "preset": preset,
            "crf": settings.crf,
            "s_per_source_s": round(seconds / source_seconds, 3),
            "cpu_s_per_source_s": round(cpu / source_seconds, 3),
            "mb_per_min": round(result.mp4_bytes / 1e6 * 60 / source_seconds, 2),
            "psnr_db": quality(src, work / f"preset-{preset}" / result.mp4),
        })
    return rows


def bench_intake(big: Path, work: Path, repeats: int = 3) -> dict:
    probe = [_timed(video.probe_video, big)[1] for _ in range(repeats)]
    strip = []
    for i in range(repeats):
        facts, seconds = _timed(video.strip_video, big, work / f"intake{i}")
        strip.append(seconds)
    leftover = video.inspect_video(facts.path)
    return {
        "upload_mb": round(big.stat().st_size / 1e6, 1),
        "upload_seconds": facts.duration,
        "probe_s": round(statistics.median(probe), 3),
        "strip_s": round(statistics.median(strip), 3),
        "metadata_left": leftover,
    }


def run(seconds: float = 10.0, intake_mb: float = 50.0, presets: bool = False, workdir: str | None = None) -> dict:
    """Every measurement, as a JSON-serialisable dict."""
    with tempfile.TemporaryDirectory(dir=workdir, prefix="bench-video-") as tmp:
        work = Path(tmp)
        src = make_phone_video(work / "phone.mp4", seconds)
        report: dict = {
            "settings": json.loads(video.VideoSettings().token()),
            "cpus": os.cpu_count(),
            "load_average": round(os.getloadavg()[0], 1),
            "pyav": av.__version__,
            "build": bench_build(src, work, seconds),
        }
        big = make_phone_video(work / "upload.mp4", video.MAX_VIDEO_SECONDS, bitrate=INTAKE_BITRATE,
                               stop_bytes=int(intake_mb * 1e6))
        report["intake"] = bench_intake(big, work)
        if presets:
            report["presets"] = bench_presets(src, work, seconds)
    return report


def _print_report(r: dict) -> None:
    b, i = r["build"], r["intake"]
    print(f"video pipeline (PyAV {r['pyav']}, {r['cpus']} CPUs, load average {r['load_average']}; preset {r['settings']['preset']}, "
          f"CRF {r['settings']['crf']}, max {r['settings']['max_height']}p)")
    print(f"  build cold: {b['cold_s']:.2f} s for {b['source_seconds']:g} s of 1080p30 "
          f"= {b['cold_s_per_source_s']:.3f} s per source second ({b['cold_cpu_s_per_source_s']:.3f} CPU s) -> {b['web_size'][0]}x{b['web_size'][1]}, "
          f"{b['web_mb']} MB, PSNR {b['psnr_db']} dB")
    print(f"  build warm: {b['warm_ms']:.2f} ms per video (cached)")
    print(f"  intake of a {i['upload_mb']} MB upload ({i['upload_seconds']:.1f} s): probe {i['probe_s']:.3f} s, "
          f"probe + remux {i['strip_s']:.3f} s; metadata left: {i['metadata_left'] or 'none'}")
    for row in r.get("presets", []):
        print(f"  preset {row['preset']:>9} CRF {row['crf']}: {row['s_per_source_s']:.3f} s "
              f"({row['cpu_s_per_source_s']:.3f} CPU s) per source second, "
              f"{row['mb_per_min']:.2f} MB/min, PSNR {row['psnr_db']} dB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the build source video")
    parser.add_argument("--intake-mb", type=float, default=50.0, help="size of the intake upload")
    parser.add_argument("--presets", action="store_true", help="also compare libx264 presets")
    parser.add_argument("--json", action="store_true", help="print the result dict as JSON")
    args = parser.parse_args()
    report = run(args.seconds, args.intake_mb, args.presets)
    print(json.dumps(report, indent=2)) if args.json else _print_report(report)


if __name__ == "__main__":
    main()
