"""Benchmark the photo pipeline (storywall.photos) on camera-like photos.

Run:  .venv/bin/python scripts/bench_photos.py [--repeats 7] [--pool 8] [--json]
                                               [--sharp-dir DIR | --no-sharp]
                                               [--no-portrait] [--photos DIR]

Photos are generated deterministically (1/f-like noise, gradients, hard-edged
shapes, sensor grain; JPEG quality 90 with EXIF and GPS), so the figures are
comparable between runs and machines: 3000x2000 and 4000x3000 landscape, and
4000x3000 stored sideways with EXIF orientation 6 (a phone held upright, whose
derivatives are portrait). Prints, per photo:

* cold: wall seconds to make the default derivative set (6 files) of one photo
  with the encodes spread over the CPUs in threads (what the intake server and
  a one-photo build see), the same with one thread, and the CPU seconds
  (``time.process_time``, all threads) — CPU is what noise on a shared machine
  changes least; the fastest and slowest run are shown beside each median;
* warm: milliseconds for a cached ``DerivativeCache.get_or_make``;
* bytes, PSNR (RGB) and SSIM (luma, see :func:`ssim`) of every variant against
  a reference made by full decode + LANCZOS from the original (so DCT-scaled
  decoding, chained resizes and fast encoder settings cannot silently lose
  quality), and of that reference encoded with the same settings;
* WebP: bytes of the chosen methods (one for the largest size, one for the
  others) against Pillow's default method 4 on the same resized pixels, at the
  same quality setting and at equal PSNR; encoder ms/bytes/PSNR of every
  method and JPEG mode at the largest width and the next one;
* batch: ``process_many`` wall and CPU seconds per photo for ``--pool`` photos
  of each size on one worker per CPU (what a build does), and with progressive
  JPEG for the largest size;
* sharp (libvips), when ``node`` and the npm package are there: the same
  derivatives from the same files in the same run (scripts/bench_sharp.mjs),
  sharp's idiomatic pipeline at its defaults and a decode-once chain at our
  WebP effort, and the ratio Pillow/sharp. sharp is looked for in
  ``--sharp-dir``, ``$STORYWALL_SHARP_DIR``, then the project's node_modules
  (``npm install --no-save sharp`` puts it there); absent, it is skipped with a note;
* your photos (``--photos DIR``; ``make bench PHOTOS=DIR``): CPU seconds per photo
  on one thread and WebP bytes against method 4 at the same quality setting, per
  photo and in all. Generated photos cannot stand in for every camera: here the
  generated ones cost method 2 about +6.5% bytes, real photographs +1.5-3%.

Every figure is a median. Before each timed run the bench waits (at most
``--settle`` seconds) for the CPUs to be at least 90% idle; the report says how
many runs still started on a busy machine.

``run(...) -> dict`` is the entry point for the project's main bench.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from PIL import ExifTags, Image, ImageChops, ImageDraw, ImageFilter, ImageMath, ImageOps, ImageStat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plugins"))  # works without an editable install too

from storywall import photos  # noqa: E402

SIZES = ((3000, 2000), (4000, 3000))
# A phone held upright: 4000x3000 pixels stored sideways with EXIF orientation 6, so the
# derivatives are portrait (1600x2133 the largest). The most common photo a supporter sends.
PORTRAIT = ((4000, 3000), 6)
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif")


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


def camera_exif(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "BenchCam"
    exif[ExifTags.Base.Model] = "Phone 12"
    exif[ExifTags.Base.DateTime] = "2024:05:07 09:33:04"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", (52.0, 31.0, 12.0)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", (13.0, 24.0, 36.0)
    return exif.tobytes()


def write_camera_jpeg(path: Path, size: tuple[int, int], seed: int = 1, orientation: int = 1) -> Path:
    """``size`` is the stored pixel size; an orientation of 5-8 makes it display rotated."""
    camera_photo(size, seed).save(path, "JPEG", quality=90, exif=camera_exif(orientation))
    return path


# --- a quiet machine -------------------------------------------------------------------

_BUSY = {"settle_seconds": 30.0, "busy_runs": 0, "runs": 0}


def _cpu_ticks() -> tuple[int, int]:
    with open("/proc/stat") as fh:
        ticks = [int(x) for x in fh.readline().split()[1:]]
    return sum(ticks), ticks[3] + ticks[4]  # all, idle + iowait


def idle_fraction(seconds: float = 0.3) -> float | None:
    """Share of all CPUs' time spent idle over ``seconds`` (None where /proc/stat is missing)."""
    try:
        total0, idle0 = _cpu_ticks()
        time.sleep(seconds)
        total1, idle1 = _cpu_ticks()
    except OSError:
        return None
    return (idle1 - idle0) / max(1, total1 - total0)


def settle() -> None:
    """Wait, at most ``_BUSY["settle_seconds"]``, until the CPUs are >= 90% idle."""
    deadline = time.monotonic() + _BUSY["settle_seconds"]
    _BUSY["runs"] += 1
    while True:
        idle = idle_fraction()
        if idle is None or idle >= 0.9:
            return
        if time.monotonic() >= deadline:
            _BUSY["busy_runs"] += 1
            return


# --- measuring ---------------------------------------------------------------------


def psnr(a: Image.Image, b: Image.Image) -> float:
    """Peak signal-to-noise ratio in dB of two same-size RGB images (99 = identical)."""
    stat = ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB")))
    mse = sum(s / n for s, n in zip(stat.sum2, stat.count, strict=True)) / len(stat.count)
    return 99.0 if mse == 0 else round(10 * math.log10(255 * 255 / mse), 2)


_SSIM_C1, _SSIM_C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2  # Wang et al. 2004 constants, 8-bit


def _ssim_map(mx, my, mxx, myy, mxy):
    cov, var = mxy - mx * my, mxx - mx * mx + myy - my * my
    top = (2 * mx * my + _SSIM_C1) * (2 * cov + _SSIM_C2)
    return top / ((mx * mx + my * my + _SSIM_C1) * (var + _SSIM_C2))


def ssim(a: Image.Image, b: Image.Image, window: int = 8, stride: int = 4) -> float:
    """Mean SSIM of the luma of two same-size images (1 = identical).

    Square ``window`` × ``window`` windows every ``stride`` px (Wang et al.'s first form;
    the Gaussian 11×11 form needs a float filter Pillow lacks). On photo crops it is within
    0.003 of the Gaussian SSIM. Pillow only: window means are ``reduce()`` of float images.
    """
    x, y = (im.convert("L").convert("F") for im in (a, b))
    pairs = ((x, x), (y, y), (x, y))
    planes = [x, y, *(ImageMath.lambda_eval(lambda v: v["p"] * v["q"], p=p, q=q) for p, q in pairs)]
    total = count = 0.0
    for dx in range(0, window, stride):
        for dy in range(0, window, stride):
            w, h = (x.width - dx) // window * window, (x.height - dy) // window * window
            if w <= 0 or h <= 0:
                continue
            means = [p.crop((dx, dy, dx + w, dy + h)).reduce(window) for p in planes]
            names = dict(zip(("mx", "my", "mxx", "myy", "mxy"), means, strict=True))
            smap = ImageMath.lambda_eval(lambda v: _ssim_map(*(v[k] for k in names)), **names)
            n = smap.width * smap.height  # ImageStat bins float images: take the mean by resizing
            total += smap.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0)) * n
            count += n
    return round(total / count, 4) if count else 1.0


def reference(src: Path, size: tuple[int, int]) -> Image.Image:
    """Full decode (no draft) + LANCZOS straight from the original, upright."""
    with Image.open(src) as img:
        return ImageOps.exif_transpose(img).convert("RGB").resize(size, Image.Resampling.LANCZOS)


def _cpu_with_children() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _runs(fn, repeats: int, *, quiet: bool = True) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds (this process, its threads and reaped children) of each ``fn()``."""
    walls, cpus = [], []
    for _ in range(repeats):
        if quiet:
            settle()
        wall, cpu = time.perf_counter(), _cpu_with_children()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(_cpu_with_children() - cpu)
    return walls, cpus


def _timings(fn, repeats: int, *, quiet: bool = True) -> tuple[float, float]:
    """Median wall and CPU seconds of ``fn()``."""
    walls, cpus = _runs(fn, repeats, quiet=quiet)
    return statistics.median(walls), statistics.median(cpus)


def _spread(values: list[float], scale: float = 1.0) -> list[float]:
    """[fastest, slowest] of ``values`` divided by ``scale``, rounded for the report."""
    return [round(min(values) / scale, 4), round(max(values) / scale, 4)]


def _median_seconds(fn, repeats: int) -> float:
    return _timings(fn, repeats)[0]


@contextlib.contextmanager
def photo_threads(threads: int):
    """Encoder threads per photo inside this process (0 = one per CPU, the default)."""
    saved, photos._photo_threads = photos._photo_threads, threads
    try:
        yield
    finally:
        photos._photo_threads = saved


def time_cold(src: Path, work: Path, repeats: int, settings, threads: int = 0) -> dict:
    """One photo's derivative set, made in this process (as the intake server does)."""
    outs = iter(tempfile.mkdtemp(dir=work) for _ in range(repeats + 1))
    with photo_threads(threads):
        result = photos.make_derivatives(src, next(outs), settings=settings)  # warm up imports
        walls, cpus = _runs(lambda: photos.make_derivatives(src, next(outs), settings=settings), repeats)
    return {
        "seconds": statistics.median(walls),
        "cpu_seconds": statistics.median(cpus),
        "seconds_spread": _spread(walls),
        "result": result,
    }


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
    """Bytes, PSNR and SSIM of each variant vs the reference, and of the reference itself encoded
    with the same settings ("ideal"): the gap is what the fast path (draft, chained resizes) costs."""
    rows, refs = [], {}
    order = sorted({v.width for v in result.variants}, reverse=True)  # derivative_sizes order
    for v in result.variants:
        ref = refs.setdefault(v.width, reference(src, (v.width, v.height)))
        method = settings.webp_method_at(order.index(v.width))
        with Image.open(out_dir / v.filename) as made:
            quality, similarity = psnr(made, ref), ssim(made, ref)
        with Image.open(io.BytesIO(photos._encode(ref.copy(), v.format, settings, method))) as ideal:
            ideal_psnr, ideal_ssim = psnr(ideal, ref), ssim(ideal, ref)
        rows.append(
            {
                "width": v.width,
                "height": v.height,
                "format": v.format,
                "webp_method": method if v.format == "webp" else None,
                "bytes": v.bytes,
                "psnr": quality,
                "ssim": similarity,
                "ideal_psnr": ideal_psnr,
                "ideal_ssim": ideal_ssim,
            }
        )
    return rows


def pipeline_images(src: Path, settings) -> list[Image.Image]:
    """The resized pixels the pipeline encodes (draft decode, chained resizes), largest first."""
    largest = lambda size: photos.derivative_sizes(size, settings.widths)[0]  # noqa: E731
    decoded = photos._decode(src.read_bytes(), str(src), max_pixels=photos.MAX_PHOTO_PIXELS, target=largest)
    sizes = photos.derivative_sizes(decoded.size, settings.widths)
    return list(photos._resized_chain(decoded, sizes, settings.resample))


def _webp(img: Image.Image, quality: int, method: int) -> tuple[int, Image.Image]:
    """Bytes of ``img`` as WebP, and the decoded result."""
    buf = io.BytesIO()
    img.save(buf, "WEBP", quality=quality, method=method)
    return len(buf.getvalue()), Image.open(io.BytesIO(buf.getvalue()))


def webp_vs_default(src: Path, settings, *, equal_psnr: bool = True) -> dict:
    """WebP bytes of the chosen method vs Pillow's default method 4 on the pipeline's own
    pixels: at the same quality setting, and at equal PSNR (fitted rate curves, method 4's PSNR)."""
    rows = []
    for index, img in enumerate(pipeline_images(src, settings)):
        ref = reference(src, img.size)
        method = settings.webp_method_at(index)
        chosen_bytes, chosen = _webp(img, settings.webp_quality, method)
        default_bytes, default = _webp(img, settings.webp_quality, 4)
        default_psnr = psnr(default, ref)
        equal = _equal_psnr_bytes(img, ref, method, default_bytes, default_psnr) if equal_psnr else None
        rows.append(
            {
                "width": img.width,
                "method": method,
                "bytes": chosen_bytes,
                "psnr": psnr(chosen, ref),
                "default_bytes": default_bytes,
                "default_psnr": default_psnr,
                "bytes_at_default_psnr": equal,
            }
        )
    total = lambda key: sum(r[key] for r in rows)  # noqa: E731
    return {
        "method": settings.webp_method,
        "method_small": settings.webp_method_at(1),
        "quality": settings.webp_quality,
        "rows": rows,
        "same_quality_setting_pct": round(100 * (total("bytes") / total("default_bytes") - 1), 1),
        "equal_psnr_pct": (
            round(100 * (total("bytes_at_default_psnr") / total("default_bytes") - 1), 1) if equal_psnr else None
        ),
    }


def _encode_row(img: Image.Image, ref: Image.Image, repeats: int, **params) -> dict:
    def encode() -> bytes:
        buf = io.BytesIO()
        img.save(buf, **params)
        return buf.getvalue()

    _, seconds = _timings(encode, repeats)  # CPU: one thread, and what noise changes least
    data = encode()
    with Image.open(io.BytesIO(data)) as back:
        shown = {k: v for k, v in params.items() if k != "format"}
        return {**shown, "ms": round(seconds * 1000, 1), "bytes": len(data), "psnr": psnr(back, ref)}


def encoder_rows(src: Path, width: int, repeats: int, settings, method: int | None = None) -> dict:
    """WebP methods and JPEG modes at ``width``, each against the LANCZOS reference (CPU ms);
    ``method`` (default ``settings.webp_method``) is the one the pipeline uses at that width."""
    method = settings.webp_method if method is None else method
    with Image.open(src) as img:
        size = (width, round(width * img.height / img.width))
    ref = reference(src, size)
    webp = [
        _encode_row(ref, ref, repeats, format="WEBP", quality=settings.webp_quality, method=m)
        for m in range(7)
    ]
    default = webp[4]
    chosen = webp[method]
    equal = _equal_psnr_bytes(ref, ref, method, default["bytes"], default["psnr"])
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
            "chosen_method": method,
            "speedup": round(default["ms"] / chosen["ms"], 2),
        },
    }


def _rate_curve(img: Image.Image, ref: Image.Image, method: int) -> tuple[float, float]:
    """Least-squares fit ln(bytes) = a + b * PSNR over WebP quality 70-90 (PSNR does not rise
    smoothly with the quality setting, so single points are too noisy to compare)."""
    points = []
    for quality in range(70, 91, 2):
        size, back = _webp(img, quality, method)
        points.append((psnr(back, ref), math.log(size)))
    mean_p = statistics.fmean(p for p, _ in points)
    mean_b = statistics.fmean(b for _, b in points)
    spread = sum((p - mean_p) ** 2 for p, _ in points)
    if not spread:  # PSNR flat over the range (a tiny or flat image): no curve to fit
        return mean_b, 0.0
    slope = sum((p - mean_p) * (b - mean_b) for p, b in points) / spread
    return mean_b - slope * mean_p, slope


def _equal_psnr_bytes(
    img: Image.Image, ref: Image.Image, method: int, default_bytes: int, psnr_db: float
) -> int:
    """Bytes ``method`` needs for the PSNR method 4 reaches with ``default_bytes``: method 4's
    bytes times the ratio of the two fitted curves at that PSNR."""
    (a, b), (a4, b4) = _rate_curve(img, ref, method), _rate_curve(img, ref, 4)
    return round(default_bytes * math.exp((a - a4) + (b - b4) * psnr_db))


def batch_photos(work: Path, size: tuple[int, int], count: int) -> list[Path]:
    name = f"pool-{size[0]}x{size[1]}"
    return [write_camera_jpeg(work / f"{name}-{i}.jpg", size, seed=100 + i) for i in range(count)]


def time_pool(srcs: list[Path], work: Path, repeats: int, settings, workers: int | None = None) -> dict:
    """process_many over ``srcs`` with a fresh cache each run: what a cold build does."""
    errors: list[str] = []

    def batch() -> None:
        cache_dir = tempfile.mkdtemp(dir=work, prefix="pool-cache-")
        jobs = [photos.PhotoJob(str(s), cache_dir, settings=settings) for s in srcs]
        outcomes = photos.process_many(jobs, workers=workers, progress=False)
        errors[:] = [str(o) for o in outcomes if isinstance(o, photos.PhotoError)]

    walls, cpus = _runs(batch, repeats)
    with Image.open(srcs[0]) as img:
        size = list(img.size)
    return {
        "photos": len(srcs),
        "size": size,
        "workers": min(workers or os.cpu_count() or 1, len(srcs)),
        "seconds_per_photo": round(statistics.median(walls) / len(srcs), 4),
        "seconds_per_photo_spread": _spread(walls, len(srcs)),
        "cpu_per_photo": round(statistics.median(cpus) / len(srcs), 4),
        "cpu_per_photo_spread": _spread(cpus, len(srcs)),
        "errors": errors,
    }


# --- sharp (libvips) as the reference ----------------------------------------------------


def find_sharp(sharp_dir: str | None = None) -> tuple[Path | None, str]:
    """(folder whose node_modules has sharp, "") or (None, why not)."""
    if not shutil.which("node"):
        return None, "node is not installed"
    candidates = [sharp_dir, os.environ.get("STORYWALL_SHARP_DIR"), str(ROOT)]
    for folder in filter(None, candidates):
        if (Path(folder) / "node_modules" / "sharp" / "package.json").exists():
            return Path(folder), ""
    return None, "sharp is not installed (npm install --no-save sharp, or --sharp-dir DIR)"


def run_sharp(
    folder: Path, srcs: list[Path], batch: list[Path], work: Path, repeats: int, settings, **options
) -> dict:
    """scripts/bench_sharp.mjs on the same files; returns its JSON report."""
    out = Path(tempfile.mkdtemp(dir=work, prefix="sharp-"))
    opts = {
        "sharp-dir": folder,
        "out": out,
        "repeats": repeats,
        "webp-quality": settings.webp_quality,
        "jpeg-quality": settings.jpeg_quality,
        "widths": ",".join(map(str, settings.widths)),
        "settle": _BUSY["settle_seconds"],
        **{k.replace("_", "-"): v for k, v in options.items()},
    }
    if batch:
        opts["batch"] = ",".join(map(str, batch))
    args = [str(a) for k, v in opts.items() for a in (f"--{k}", v)]
    done = subprocess.run(
        ["node", str(ROOT / "scripts" / "bench_sharp.mjs"), *args, *map(str, srcs)],
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    report = json.loads(done.stdout)
    _BUSY["busy_runs"] += report.get("busy_runs", 0)
    _BUSY["runs"] += report.get("runs", 0)
    for photo in report["photos"]:
        for v in photo["variants"]:
            ref = reference(Path(photo["src"]), (v["width"], v["height"]))
            with Image.open(v.pop("file")) as made:
                v["psnr"], v["ssim"] = psnr(made, ref), ssim(made, ref)
    shutil.rmtree(out, ignore_errors=True)
    return report


def paired_batch(
    folder: Path, batch: list[Path], work: Path, repeats: int, settings, workers: int | None, **options
) -> dict:
    """Our batch and sharp's in turns (ours, sharp, ours, sharp, ...), one run each per pair.

    A shared machine's speed drifts by tens of percent within minutes; two runs side by side
    see the same machine, so the median of the per-pair ratios is the figure to trust.
    """
    ours, theirs = [], []
    for _ in range(repeats):
        ours.append(time_pool(batch, work, 1, settings, workers)["seconds_per_photo"])
        theirs.append(run_sharp(folder, [], batch, work, 1, settings, **options)["batch"]["seconds_per_photo"])
    ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
    return {
        "pairs": repeats,
        "ours_seconds_per_photo": round(statistics.median(ours), 4),
        "sharp_seconds_per_photo": round(statistics.median(theirs), 4),
        "pillow_over_sharp": round(statistics.median(ratios), 3),
        "pillow_over_sharp_spread": _spread(ratios),
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def _x(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio:.2f}"


def sharp_section(
    sharp_dir: str | None,
    photo_rows: list[dict],
    srcs: list[Path],
    batch: list[Path],
    work: Path,
    repeats: int,
    settings,
    pool: dict | None,
) -> dict:
    """sharp at its defaults and tuned like ours, on the same files, with the ratios Pillow/sharp."""
    folder, why = find_sharp(sharp_dir)
    if folder is None:
        return {"skipped": why}
    section: dict = {"dir": str(folder)}
    runs = {
        "default": {"mode": "clone", "webp_effort": 4},  # how sharp is used: its defaults
        "tuned": {"mode": "chain", "webp_effort": settings.webp_method},  # like for like
    }
    for name, options in runs.items():
        try:
            report = run_sharp(folder, srcs, batch, work, repeats, settings, **options)
        except (subprocess.SubprocessError, OSError, ValueError, KeyError) as err:
            detail = getattr(err, "stderr", "") or err
            return {"skipped": f"bench_sharp.mjs failed: {str(detail).strip()[-300:]}"}
        for row, theirs in zip(photo_rows, report["photos"], strict=True):
            theirs["pillow_over_sharp"] = _ratio(row["cold_seconds"], theirs["seconds"])
        if pool and report.get("batch"):
            theirs = report["batch"]
            theirs["pillow_over_sharp"] = _ratio(pool["seconds_per_photo"], theirs["seconds_per_photo"])
            theirs["paired"] = paired_batch(folder, batch, work, repeats, settings, pool["workers"], **options)
        section[name] = report
    return section


# --- the user's own photos -------------------------------------------------------------


def own_photos(folder: str, work: Path, repeats: int, settings) -> dict:
    """Real photos from ``folder`` (``--photos``): one-thread CPU per photo, and WebP bytes of
    the chosen methods vs Pillow's default 4 at the same quality setting, per photo and in all."""
    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
    rows, refused = [], []
    for src in files:
        try:
            cold = time_cold(src, work, repeats, settings, threads=1)
        except photos.PhotoError as err:
            refused.append(str(err))
            continue
        result, webp = cold["result"], webp_vs_default(src, settings, equal_psnr=False)
        rows.append(
            {
                "file": src.name,
                "size": [result.width, result.height],
                "source_bytes": src.stat().st_size,
                "cpu_seconds": round(cold["cpu_seconds"], 4),
                "webp_bytes": sum(r["bytes"] for r in webp["rows"]),
                "webp_default_bytes": sum(r["default_bytes"] for r in webp["rows"]),
            }
        )
    chosen, default = sum(r["webp_bytes"] for r in rows), sum(r["webp_default_bytes"] for r in rows)
    return {
        "folder": str(folder),
        "rows": rows,
        "refused": refused,
        "same_quality_setting_pct": round(100 * (chosen / default - 1), 1) if default else None,
    }


# --- the whole run ----------------------------------------------------------------------


def run(
    sizes=SIZES,
    repeats: int = 7,
    pool: int = 8,
    settings=None,
    workdir: str | None = None,
    *,
    workers: int | None = None,
    sharp: bool = True,
    sharp_dir: str | None = None,
    settle_seconds: float = 30.0,
    portrait: tuple[tuple[int, int], int] | None = PORTRAIT,
    photo_dir: str | None = None,
) -> dict:
    """Measure everything; returns a JSON-serialisable dict (see module docstring)."""
    settings = settings or photos.DerivativeSettings()
    _BUSY.update(settle_seconds=settle_seconds, busy_runs=0, runs=0)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        work = Path(tmp)
        report = {
            "settings": json.loads(settings.token()),
            "cpus": os.cpu_count(),
            "loadavg_at_start": [round(x, 2) for x in load],
            "photos": [],
        }
        srcs = []
        cases = [(size, 1) for size in sizes] + ([portrait] if portrait else [])
        for size, orientation in cases:
            name = f"camera-{size[0]}x{size[1]}-o{orientation}.jpg"
            src = write_camera_jpeg(work / name, size, orientation=orientation)
            srcs.append(src)
            cold = time_cold(src, work, repeats, settings)
            single = time_cold(src, work, max(3, repeats // 2), settings, threads=1)
            out_dir = work / "quality"
            result = photos.make_derivatives(src, out_dir, settings=settings)
            report["photos"].append(
                {
                    "size": list(size),
                    "orientation": orientation,
                    "source_bytes": src.stat().st_size,
                    "cold_seconds": round(cold["seconds"], 4),
                    "cold_seconds_spread": cold["seconds_spread"],
                    "cold_cpu_seconds": round(cold["cpu_seconds"], 4),
                    "cold_seconds_1_thread": round(single["seconds"], 4),
                    "cold_seconds_1_thread_spread": single["seconds_spread"],
                    "warm_ms": round(time_warm(src, work, repeats, settings), 3),
                    "variants": variant_quality(src, result, out_dir, settings),
                    "webp_vs_default": webp_vs_default(src, settings),
                }
            )
        src = srcs[len(sizes) - 1]  # the largest landscape photo from here on
        naive = _median_seconds(lambda: naive_derivatives(src, settings.widths), max(3, repeats // 2))
        report["naive_cold_seconds"] = round(naive, 3)
        widths = sorted(settings.widths, reverse=True)
        report["encoders"] = encoder_rows(src, widths[0], max(3, repeats // 2), settings)
        if len(widths) > 1:  # the next size down, at its own method
            report["encoders_small"] = encoder_rows(
                src, widths[1], max(3, repeats // 2), settings, settings.webp_method_at(1)
            )
        pool_repeats = max(3, repeats // 2)
        report["pools"] = [
            time_pool(batch_photos(work, size, pool), work, pool_repeats, settings, workers)
            for size in (sizes if pool else ())
        ]
        batch = batch_photos(work, sizes[-1], pool) if pool else []  # the largest size (same files)
        report["pool"] = report["pools"][-1] if pool else None
        if pool and not settings.jpeg_progressive:
            progressive = replace(settings, jpeg_progressive=True)
            report["pool_progressive"] = time_pool(batch, work, pool_repeats, progressive, workers)
        report["sharp"] = (
            sharp_section(
                sharp_dir, report["photos"], srcs, batch, work, max(3, repeats // 2), settings, report["pool"]
            )
            if sharp
            else {"skipped": "--no-sharp"}
        )
        report["own_photos"] = own_photos(photo_dir, work, max(3, repeats // 2), settings) if photo_dir else None
    report["busy_runs"] = {"busy": _BUSY["busy_runs"], "of": _BUSY["runs"], "settle_seconds": settle_seconds}
    return report


# --- output ------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _range(spread: list[float] | None) -> str:
    return f" [{spread[0]:.3f}-{spread[1]:.3f}]" if spread else ""


def _turned(row: dict) -> str:
    return " (stored sideways, EXIF orientation 6: a phone portrait)" if row.get("orientation") == 6 else ""


def _print_photo(p: dict) -> None:
    w, h = p["size"]
    print(
        f"\n{w}×{h} JPEG{_turned(p)}, {p['source_bytes'] / 1e6:.2f} MB, {len(p['variants'])} files: cold "
        f"{p['cold_seconds']:.3f}{_range(p.get('cold_seconds_spread'))} s/photo wall "
        f"(CPU {p['cold_cpu_seconds']:.3f} s; one thread {p['cold_seconds_1_thread']:.3f}"
        f"{_range(p.get('cold_seconds_1_thread_spread'))} s), warm {p['warm_ms']:.2f} ms/photo"
    )
    for v in p["variants"]:
        method = f"m{v['webp_method']}" if v.get("webp_method") is not None else "  "
        print(
            f"  {v['format']:5}{method} {v['width']:5}×{v['height']:<5} {v['bytes']:>9,} B  "
            f"PSNR {v['psnr']:.2f} dB SSIM {v['ssim']:.4f} "
            f"(reference encoded alike: {v['ideal_psnr']:.2f} dB, {v['ideal_ssim']:.4f})"
        )
    d = p["webp_vs_default"]
    rows = ", ".join(
        f"{r['width']} m{r['method']}: {100 * (r['bytes'] / r['default_bytes'] - 1):+.1f}%" for r in d["rows"]
    )
    print(
        f"  WebP method {d['method']} (largest) / {d['method_small']} (smaller) vs Pillow's default 4, "
        f"same pixels: "
        f"{d['same_quality_setting_pct']:+.1f}% bytes at the same quality setting q{d['quality']} ({rows}); "
        f"{d['equal_psnr_pct']:+.1f}% at equal PSNR"
    )


def _print_encoders(enc: dict, method: int) -> None:
    print(f"\nencoders at {enc['width']} px (input = LANCZOS reference; CPU ms):")
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
        f"{default['ms'] / chosen['ms']:.1f}× faster, "
        f"{100 * (chosen['bytes'] / default['bytes'] - 1):+.1f}% "
        f"bytes, {chosen['psnr'] - default['psnr']:+.2f} dB"
    )
    eq = enc["webp_equal_psnr"]
    if eq["chosen_bytes"]:
        print(
            f"  at equal PSNR ({eq['psnr']:.2f} dB): method {method} {eq['chosen_bytes']:,} B vs method 4 "
            f"{eq['default_bytes']:,} B ({100 * (eq['chosen_bytes'] / eq['default_bytes'] - 1):+.1f}%)"
        )


def _print_pool(name: str, pool: dict | None) -> None:
    if pool:
        errors = f", {len(pool['errors'])} ERRORS" if pool["errors"] else ""
        size = "×".join(map(str, pool["size"])) + " " if pool.get("size") else ""
        print(
            f"process_many{name}: {pool['photos']} {size}photos, {pool['workers']} workers: "
            f"{pool['seconds_per_photo']:.3f}{_range(pool.get('seconds_per_photo_spread'))} s/photo wall, "
            f"CPU {pool['cpu_per_photo']:.3f}{_range(pool.get('cpu_per_photo_spread'))} s/photo{errors}"
        )


def _print_sharp(section: dict, photo_rows: list[dict]) -> None:
    if "skipped" in section:
        print(f"\nsharp: skipped — {section['skipped']}")
        return
    labels = {
        "default": "idiomatic clone() per file, its defaults",
        "tuned": "decode once, chained, our largest size's effort at every size",
    }
    for name, label in labels.items():
        s = section[name]
        effort = s["settings"]["webpEffort"]
        print(
            f"\nsharp {s['sharp']} (libvips {s['vips']}, {s['concurrency']} vips thread(s), "
            f"{s['threadpool']} libuv threads), {label}, WebP effort {effort}:"
        )
        for row, theirs in zip(photo_rows, s["photos"], strict=True):
            w, h = row["size"]
            webp = sum(v["bytes"] for v in theirs["variants"] if v["format"] == "webp")
            ours = sum(v["bytes"] for v in row["variants"] if v["format"] == "webp")
            print(
                f"  {w}×{h}{_turned(row)}: {theirs['seconds']:.3f} s/photo wall (CPU {theirs['cpu_seconds']:.3f} s); "
                f"Pillow/sharp {_x(theirs['pillow_over_sharp'])}; sharp WebP {webp:,} B vs ours {ours:,} B"
            )
            for fmt in ("webp", "jpeg"):
                mine = max((v for v in row["variants"] if v["format"] == fmt), key=lambda v: v["width"])
                them = [v for v in theirs["variants"] if v["format"] == fmt and v["width"] == mine["width"]]
                if them and "ssim" in them[0]:
                    print(
                        f"    {fmt} {mine['width']}: sharp {them[0]['bytes']:,} B PSNR {them[0]['psnr']:.2f} "
                        f"dB SSIM {them[0]['ssim']:.4f}; ours {mine['bytes']:,} B {mine['psnr']:.2f} dB "
                        f"{mine['ssim']:.4f}"
                    )
        if b := s.get("batch"):
            print(
                f"  batch of {b['photos']}: {b['seconds_per_photo']:.3f} s/photo wall (CPU "
                f"{b['cpu_per_photo']:.3f} s); Pillow/sharp {_x(b.get('pillow_over_sharp'))}"
            )
            if pair := b.get("paired"):
                print(
                    f"  batch of {b['photos']}, ours and sharp's in turns ({pair['pairs']} pairs): ours "
                    f"{pair['ours_seconds_per_photo']:.3f}, sharp {pair['sharp_seconds_per_photo']:.3f} s/photo; "
                    f"Pillow/sharp {pair['pillow_over_sharp']:.2f}{_range(pair['pillow_over_sharp_spread'])}"
                )


def _print_own(own: dict | None, settings: dict) -> None:
    if not own:
        return
    print(f"\nyour photos ({own['folder']}): one thread, CPU s/photo; WebP bytes vs Pillow's method 4:")
    for r in own["rows"]:
        w, h = r["size"]
        pct = 100 * (r["webp_bytes"] / r["webp_default_bytes"] - 1)
        print(
            f"  {r['file']}: {w}×{h}, {r['source_bytes'] / 1e6:.2f} MB, CPU {r['cpu_seconds']:.3f} s, "
            f"WebP {r['webp_bytes']:,} B ({pct:+.1f}%)"
        )
    for line in own["refused"]:
        print(f"  refused: {line}")
    if own["same_quality_setting_pct"] is not None:
        print(
            f"  all: WebP method {settings['webp_method']} {own['same_quality_setting_pct']:+.1f}% bytes "
            f"against method 4 at the same quality setting q{settings['webp_quality']}"
        )


def _print_report(report: dict) -> None:
    load = " ".join(f"{x:.2f}" for x in report["loadavg_at_start"])
    print(f"storywall photo bench — {report['cpus']} CPUs (load {load}), settings {report['settings']}")
    for p in report["photos"]:
        _print_photo(p)
    print(
        f"  naive pipeline on the same photo (full decode, LANCZOS each, WebP method 4, progressive "
        f"JPEG): {report['naive_cold_seconds']:.3f} s/photo"
    )
    _print_encoders(report["encoders"], report["settings"]["webp_method"])
    if small := report.get("encoders_small"):
        _print_encoders(small, small["webp_equal_psnr"]["chosen_method"])
    print()
    for pool in report.get("pools") or [report.get("pool")]:
        _print_pool("", pool)
    _print_pool(" (progressive JPEG)", report.get("pool_progressive"))
    _print_sharp(report["sharp"], report["photos"])
    _print_own(report.get("own_photos"), report["settings"])
    busy = report["busy_runs"]
    if busy["busy"]:
        print(
            f"\nnote: {busy['busy']} of {busy['of']} timed runs started on a busy machine "
            f"(< 90% idle after waiting {busy['settle_seconds']:g} s): treat the wall figures with care"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per figure (median)")
    parser.add_argument(
        "--pool", type=int, default=8, help="photos of each size for the process_many figures (0 = skip)"
    )
    parser.add_argument("--workers", type=int, default=None, help="process_many workers (default: CPUs)")
    parser.add_argument("--json", action="store_true", help="print the result dict as JSON")
    parser.add_argument(
        "--webp-method", type=int, default=photos.WEBP_METHOD, help="libwebp method, largest size"
    )
    parser.add_argument(
        "--webp-method-small",
        type=int,
        default=None,
        help="libwebp method, smaller sizes (default: the same as --webp-method)",
    )
    parser.add_argument("--resample", default=photos.RESAMPLE, choices=("bilinear", "bicubic", "lanczos"))
    parser.add_argument(
        "--progressive",
        action=argparse.BooleanOptionalAction,
        default=photos.JPEG_PROGRESSIVE,
        help="progressive JPEG derivatives",
    )
    parser.add_argument(
        "--sharp-dir",
        help="folder whose node_modules holds sharp (default: $STORYWALL_SHARP_DIR, then the project root)",
    )
    parser.add_argument("--no-sharp", action="store_true", help="skip the sharp reference")
    parser.add_argument("--no-portrait", action="store_true", help="skip the phone-portrait photo")
    parser.add_argument(
        "--photos", metavar="DIR", help="also measure the photos in DIR (JPEG, PNG, WebP, HEIC): CPU and WebP bytes"
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=30.0,
        help="seconds to wait for an idle CPU before each timed run (0 = never wait)",
    )
    args = parser.parse_args(argv)
    settings = photos.DerivativeSettings(
        webp_method=args.webp_method,
        webp_method_small=args.webp_method_small,
        resample=args.resample,
        jpeg_progressive=args.progressive,
    )
    report = run(
        repeats=args.repeats,
        pool=args.pool,
        settings=settings,
        workers=args.workers,
        sharp=not args.no_sharp,
        sharp_dir=args.sharp_dir,
        settle_seconds=args.settle,
        portrait=None if args.no_portrait else PORTRAIT,
        photo_dir=args.photos,
    )
    print(json.dumps(report, indent=2)) if args.json else _print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
