"""Benchmark the photo pipeline (storywall.photos) on camera-like photos.

Run:  .venv/bin/python scripts/bench_photos.py [--repeats 5] [--json]

Photos are generated deterministically (1/f-like noise, gradients, hard-edged
shapes, sensor grain; JPEG quality 90 with EXIF and GPS), so the figures are
comparable between runs and machines. Prints, per photo size:

* cold: seconds to make the default derivative set (6 files), one process,
  median of ``--repeats`` runs;
* warm: milliseconds for a cached ``DerivativeCache.get_or_make``;
* bytes and PSNR of every variant against a reference made by full decode +
  LANCZOS from the original (so DCT-scaled decoding and chained resizes cannot
  silently lose quality);
* WebP: bytes/PSNR/ms for the chosen method against Pillow's default method 4
  at the same quality; JPEG: the cost of optimize/progressive;
* process_many throughput per photo with one worker per CPU.

``run(...) -> dict`` is the entry point for the project's main bench.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import ExifTags, Image, ImageChops, ImageDraw, ImageFilter, ImageOps, ImageStat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plugins"))  # works without an editable install too

from storywall import photos  # noqa: E402

SIZES = ((3000, 2000), (4000, 3000))


# --- deterministic camera-like photos ---------------------------------------------


def _noise(size: tuple[int, int], rng: random.Random) -> Image.Image:
    return Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))


def _octaves(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """Smooth noise with energy falling with frequency, like a natural scene."""
    out = Image.new("L", size, 128)
    for div, weight in ((150, 0.45), (40, 0.28), (10, 0.18), (3, 0.1)):
        small = _noise((max(2, size[0] // div), max(2, size[1] // div)), rng)
        out = Image.blend(out, small.resize(size, Image.Resampling.BICUBIC), weight)
    return out


def _shapes(img: Image.Image, rng: random.Random, count: int = 60) -> None:
    draw = ImageDraw.Draw(img)
    w, h = img.size
    for _ in range(count):
        x, y, r = rng.randrange(w), rng.randrange(h), rng.randrange(w // 60, w // 8)
        colour = tuple(rng.randrange(256) for _ in range(3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x, y, x + r, y + r * 2 // 3), fill=colour)


def camera_photo(size: tuple[int, int], seed: int = 1) -> Image.Image:
    """A deterministic RGB image whose JPEG behaves like a phone photo's."""
    rng = random.Random(seed)
    half = (size[0] // 2, size[1] // 2)
    grads = [Image.linear_gradient("L"), Image.linear_gradient("L").rotate(90), Image.radial_gradient("L")]
    bands = [Image.blend(g.resize(half), _octaves(half, rng), 0.6) for g in grads]
    base = Image.merge("RGB", bands)
    _shapes(base, rng)
    img = base.filter(ImageFilter.GaussianBlur(0.6)).resize(size, Image.Resampling.BICUBIC)
    grain = _noise(size, rng)
    return Image.blend(img, Image.merge("RGB", (grain, grain, grain)), 0.035)


def camera_exif() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "BenchCam"
    exif[ExifTags.Base.Model] = "Phone 12"
    exif[ExifTags.Base.DateTime] = "2024:05:07 09:33:04"
    exif[ExifTags.Base.Orientation] = 1
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", (52.0, 31.0, 12.0)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", (13.0, 24.0, 36.0)
    return exif.tobytes()


def write_camera_jpeg(path: Path, size: tuple[int, int], seed: int = 1) -> Path:
    camera_photo(size, seed).save(path, "JPEG", quality=90, exif=camera_exif())
    return path


# --- measuring ---------------------------------------------------------------------


def psnr(a: Image.Image, b: Image.Image) -> float:
    """Peak signal-to-noise ratio in dB of two same-size RGB images (99 = identical)."""
    stat = ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB")))
    mse = sum(s / n for s, n in zip(stat.sum2, stat.count, strict=True)) / len(stat.count)
    return 99.0 if mse == 0 else round(10 * math.log10(255 * 255 / mse), 2)


def reference(src: Path, size: tuple[int, int]) -> Image.Image:
    """Full decode (no draft) + LANCZOS straight from the original."""
    with Image.open(src) as img:
        return img.convert("RGB").resize(size, Image.Resampling.LANCZOS)


def _median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_cold(src: Path, work: Path, repeats: int, settings) -> tuple[float, photos.PhotoResult]:
    outs = iter(tempfile.mkdtemp(dir=work) for _ in range(repeats + 1))
    result = photos.make_derivatives(src, next(outs), settings=settings)  # warm up imports
    seconds = _median_seconds(lambda: photos.make_derivatives(src, next(outs), settings=settings), repeats)
    return seconds, result


def naive_derivatives(src: Path, widths) -> None:
    """The straightforward pipeline, for comparison: full decode, LANCZOS from the original
    for every width, Pillow's default WebP method 4, progressive optimised JPEG."""
    with Image.open(src) as img:
        full = ImageOps.exif_transpose(img).convert("RGB")
    for w in widths:
        small = full.resize((w, round(w * full.height / full.width)), Image.Resampling.LANCZOS)
        small.save(io.BytesIO(), "WEBP", quality=photos.WEBP_QUALITY)
        small.save(io.BytesIO(), "JPEG", quality=photos.JPEG_QUALITY, optimize=True, progressive=True)


def time_warm(src: Path, work: Path, repeats: int, settings) -> float:
    cache = photos.DerivativeCache(tempfile.mkdtemp(dir=work))
    cache.get_or_make(src, settings=settings)
    return _median_seconds(lambda: cache.get_or_make(src, settings=settings), repeats * 20) * 1000


def variant_quality(src: Path, result: photos.PhotoResult, out_dir: Path, settings) -> list[dict]:
    """Bytes and PSNR of each variant vs the reference, and of the reference itself encoded
    with the same settings ("ideal"): the gap is what the fast path (draft, chained resizes) costs."""
    rows, refs = [], {}
    for v in result.variants:
        ref = refs.setdefault(v.width, reference(src, (v.width, v.height)))
        with Image.open(out_dir / v.filename) as made:
            quality = psnr(made, ref)
        with Image.open(io.BytesIO(photos._encode(ref.copy(), v.format, settings))) as ideal:
            ideal_psnr = psnr(ideal, ref)
        rows.append(
            {
                "width": v.width,
                "height": v.height,
                "format": v.format,
                "bytes": v.bytes,
                "psnr": quality,
                "ideal_psnr": ideal_psnr,
            }
        )
    return rows


def _encode_row(img: Image.Image, ref: Image.Image, repeats: int, **params) -> dict:
    def encode() -> bytes:
        buf = io.BytesIO()
        img.save(buf, **params)
        return buf.getvalue()

    seconds = _median_seconds(encode, repeats)
    data = encode()
    with Image.open(io.BytesIO(data)) as back:
        shown = {k: v for k, v in params.items() if k != "format"}
        return {**shown, "ms": round(seconds * 1000, 1), "bytes": len(data), "psnr": psnr(back, ref)}


def encoder_rows(src: Path, width: int, repeats: int, settings) -> dict:
    """WebP methods and JPEG modes at ``width``, each against the LANCZOS reference."""
    with Image.open(src) as img:
        size = (width, round(width * img.height / img.width))
    ref = reference(src, size)
    webp = [
        _encode_row(ref, ref, repeats, format="WEBP", quality=settings.webp_quality, method=m)
        for m in range(7)
    ]
    default = webp[4]
    chosen = webp[settings.webp_method]
    equal = _bytes_at_psnr(ref, settings.webp_method, default["psnr"])
    jpeg = [
        _encode_row(
            ref, ref, repeats, format="JPEG", quality=settings.jpeg_quality, optimize=o, progressive=p
        )
        for o, p in ((False, False), (True, False), (True, True))
    ]
    return {
        "width": width,
        "webp": webp,
        "jpeg": jpeg,
        "webp_equal_psnr": {
            "psnr": default["psnr"],
            "default_bytes": default["bytes"],
            "chosen_bytes": equal,
            "chosen_method": settings.webp_method,
            "speedup": round(default["ms"] / chosen["ms"], 2),
        },
    }


def _bytes_at_psnr(ref: Image.Image, method: int, target: float) -> int | None:
    """WebP bytes at ``method`` needed to reach ``target`` dB (interpolated over quality)."""
    points = []
    for quality in range(70, 95, 2):
        buf = io.BytesIO()
        ref.save(buf, "WEBP", quality=quality, method=method)
        with Image.open(io.BytesIO(buf.getvalue())) as back:
            points.append((psnr(back, ref), len(buf.getvalue())))
    for (p0, b0), (p1, b1) in zip(points, points[1:], strict=False):
        if p0 <= target <= p1 and p1 > p0:
            return round(b0 + (b1 - b0) * (target - p0) / (p1 - p0))
    return None


def time_pool(work: Path, size: tuple[int, int], count: int, settings) -> dict:
    srcs = [write_camera_jpeg(work / f"pool-{i}.jpg", size, seed=100 + i) for i in range(count)]
    cache_dir = str(work / "pool-cache")
    jobs = [photos.PhotoJob(str(s), cache_dir, settings=settings) for s in srcs]
    start = time.perf_counter()
    outcomes = photos.process_many(jobs, progress=False)
    seconds = time.perf_counter() - start
    errors = [str(o) for o in outcomes if isinstance(o, photos.PhotoError)]
    return {
        "photos": count,
        "workers": os.cpu_count(),
        "seconds_per_photo": round(seconds / count, 3),
        "errors": errors,
    }


def run(sizes=SIZES, repeats: int = 5, pool: int = 4, settings=None, workdir: str | None = None) -> dict:
    """Measure everything; returns a JSON-serialisable dict (see module docstring)."""
    settings = settings or photos.DerivativeSettings()
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        work = Path(tmp)
        report = {"settings": json.loads(settings.token()), "cpus": os.cpu_count(), "photos": []}
        for size in sizes:
            src = write_camera_jpeg(work / f"camera-{size[0]}x{size[1]}.jpg", size)
            cold, result = time_cold(src, work, repeats, settings)
            out_dir = work / "quality"
            result = photos.make_derivatives(src, out_dir, settings=settings)
            report["photos"].append(
                {
                    "size": list(size),
                    "source_bytes": src.stat().st_size,
                    "cold_seconds": round(cold, 3),
                    "warm_ms": round(time_warm(src, work, repeats, settings), 3),
                    "variants": variant_quality(src, result, out_dir, settings),
                }
            )
        naive = _median_seconds(lambda: naive_derivatives(src, settings.widths), max(3, repeats // 2))
        report["naive_cold_seconds"] = round(naive, 3)
        report["encoders"] = encoder_rows(src, max(settings.widths), max(3, repeats // 2), settings)
        report["pool"] = time_pool(work, sizes[-1], pool, settings) if pool else None
    return report


# --- output ------------------------------------------------------------------------


def _print_photo(p: dict) -> None:
    w, h = p["size"]
    print(
        f"\n{w}×{h} JPEG, {p['source_bytes'] / 1e6:.2f} MB: cold {p['cold_seconds']:.3f} s/photo "
        f"({len(p['variants'])} files, 1 process), warm {p['warm_ms']:.2f} ms/photo"
    )
    for v in p["variants"]:
        print(
            f"  {v['format']:5} {v['width']:5}×{v['height']:<5} {v['bytes']:>9,} B  "
            f"PSNR {v['psnr']:.2f} dB (reference encoded alike: {v['ideal_psnr']:.2f} dB)"
        )


def _print_encoders(enc: dict, method: int) -> None:
    print(f"\nencoders at {enc['width']} px (input = LANCZOS reference):")
    for r in enc["webp"]:
        print(
            f"  webp method {r['method']} q{r['quality']}  {r['ms']:7.1f} ms  {r['bytes']:>9,} B  "
            f"PSNR {r['psnr']:.2f} dB"
        )
    for r in enc["jpeg"]:
        print(
            f"  jpeg optimize={r['optimize']!s:5} progressive={r['progressive']!s:5} q{r['quality']}  "
            f"{r['ms']:7.1f} ms  {r['bytes']:>9,} B  PSNR {r['psnr']:.2f} dB"
        )
    chosen, default = enc["webp"][method], enc["webp"][4]
    print(
        f"  webp method {method} vs Pillow's default 4 at q{chosen['quality']}: "
        f"{default['ms'] / chosen['ms']:.1f}× faster, {100 * (chosen['bytes'] / default['bytes'] - 1):+.1f}% "
        f"bytes, {chosen['psnr'] - default['psnr']:+.2f} dB"
    )
    eq = enc["webp_equal_psnr"]
    if eq["chosen_bytes"]:
        print(
            f"  at equal PSNR ({eq['psnr']:.2f} dB): method {method} {eq['chosen_bytes']:,} B vs method 4 "
            f"{eq['default_bytes']:,} B ({100 * (eq['chosen_bytes'] / eq['default_bytes'] - 1):+.1f}%)"
        )


def _print_report(report: dict) -> None:
    print(f"storywall photo bench — {report['cpus']} CPUs, settings {report['settings']}")
    for p in report["photos"]:
        _print_photo(p)
    print(
        f"  naive pipeline on the same photo (full decode, LANCZOS each, WebP method 4, progressive "
        f"JPEG): {report['naive_cold_seconds']:.3f} s/photo"
    )
    _print_encoders(report["encoders"], report["settings"]["webp_method"])
    if pool := report.get("pool"):
        print(
            f"\nprocess_many: {pool['photos']} photos, {pool['workers']} workers: "
            f"{pool['seconds_per_photo']:.3f} s/photo"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure (median)")
    parser.add_argument("--pool", type=int, default=4, help="photos for the process_many figure (0 = skip)")
    parser.add_argument("--json", action="store_true", help="print the result dict as JSON")
    parser.add_argument("--webp-method", type=int, default=photos.WEBP_METHOD)
    parser.add_argument("--resample", default=photos.RESAMPLE, choices=("bilinear", "bicubic", "lanczos"))
    parser.add_argument("--progressive", action="store_true", help="progressive JPEG derivatives")
    args = parser.parse_args(argv)
    settings = photos.DerivativeSettings(
        webp_method=args.webp_method, resample=args.resample, jpeg_progressive=args.progressive
    )
    report = run(repeats=args.repeats, pool=args.pool, settings=settings)
    print(json.dumps(report, indent=2)) if args.json else _print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
