"""Intake throughput: submissions per second and p95 latency, without and with a 3 MB photo.

    .venv/bin/python scripts/bench_intake.py [--seconds 10] [--concurrency 8]

Starts the intake server (waitress, its production settings) in its own
process on 127.0.0.1 against a throw-away copy of the demo site's
initiatives, then loads it with ``hey`` (Debian's ``hey``; ``apt-get install
hey``) or, without it, a bounded Python load loop. Every request is a real
multipart form post that is validated, re-encoded and written whole (the
duplicate window is 0 so the identical bodies are all stored). Loopback only;
each run is bounded by --seconds.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORIGIN = "https://stories.example.org"
BOUNDARY = "XBENCHBOUNDARY"
SERVE = ("import json, sys; from storywall.intake import create_app; "
         "from storywall.intake.cli import serve; "
         "serve(create_app(json.loads(sys.argv[1])), '127.0.0.1', int(sys.argv[2]), int(sys.argv[3]))")


def photo_of(megabytes: float) -> bytes:
    """A 12 MP camera-sized JPEG of about ``megabytes`` (gradient + grain, with EXIF)."""
    from PIL import Image

    size = (4000, 3000)
    base = Image.linear_gradient("L").resize(size).convert("RGB")
    grain = Image.effect_noise(size, 40).convert("RGB")
    img = Image.blend(base, grain, 0.35)
    exif = Image.Exif()
    exif[0x010F] = "BenchCam"
    low, high, best = 30, 98, b""
    while low <= high:  # the quality whose file is closest to the target size
        q = (low + high) // 2
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=q, exif=exif.tobytes())
        best = buf.getvalue()
        if abs(len(best) - megabytes * 1024 * 1024) < 0.1 * 1024 * 1024:
            break
        if len(best) > megabytes * 1024 * 1024:
            high = q - 1
        else:
            low = q + 1
    return best


def body(photo: bytes | None) -> bytes:
    fields = {"kind": "story", "initiative": "", "title": "Why I give",
              "story": "Because clean water changes everything for a village.",
              "author": "Ana P.", "consent_publish": "yes"}
    if photo:
        fields.update(consent_photos="yes", alt_1="Volunteers at the new well")
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                  f"{value}\r\n".encode())
    if photo:
        out.write(f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"photo_1\"; "
                  "filename=\"IMG_0001.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n".encode())
        out.write(photo + b"\r\n")
    out.write(f"--{BOUNDARY}--\r\n".encode())
    return out.getvalue()


def make_site(folder: Path) -> tuple[Path, str]:
    site = folder / "site"
    (site / "content" / "initiatives").mkdir(parents=True)
    for path in sorted((ROOT / "content" / "initiatives").glob("*")):
        if path.is_file():
            shutil.copy(path, site / "content" / "initiatives" / path.name)
    slug = sorted(p.stem for p in (site / "content" / "initiatives").glob("*.md"))[0]
    return site, slug


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(site: Path, threads: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    conf = {"SITE_DIR": str(site), "SITE_URL": ORIGIN, "RATE_LIMIT": None,
            "DUPLICATE_WINDOW_SECONDS": 0, "THEME_DIR": str(ROOT / "theme")}
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins")}
    proc = subprocess.Popen([sys.executable, "-c", SERVE, json.dumps(conf), str(port), str(threads)],
                            env=env, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the intake server did not start")


def run_hey(port: int, payload: Path, seconds: float, concurrency: int) -> dict:
    out = subprocess.run(
        ["hey", "-z", f"{seconds}s", "-c", str(concurrency), "-m", "POST", "-t", "120",
         "-o", "csv", "-T", f"multipart/form-data; boundary={BOUNDARY}",
         "-H", f"Origin: {ORIGIN}", "-H", "Accept: application/json", "-D", str(payload),
         f"http://127.0.0.1:{port}/submit"], capture_output=True, text=True, check=True).stdout
    rows = [line.split(",") for line in out.splitlines()[1:] if line.strip()]
    latencies = sorted(float(r[0]) for r in rows)
    codes: dict[int, int] = {}
    for r in rows:
        codes[int(r[6])] = codes.get(int(r[6]), 0) + 1
    elapsed = max((float(r[7]) + float(r[0]) for r in rows), default=seconds)
    return {"tool": "hey", "per_second": len(rows) / max(elapsed, seconds),
            "p95_ms": _p95(latencies) * 1000, "status": codes}


def _p95(latencies: list[float]) -> float:
    return latencies[int(0.95 * (len(latencies) - 1))] if latencies else 0.0


def run_python(port: int, data: bytes, seconds: float, concurrency: int) -> dict:
    latencies, codes, lock = [], {}, threading.Lock()
    deadline = time.monotonic() + seconds

    def client():
        while time.monotonic() < deadline:
            started = time.monotonic()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("POST", "/submit", body=data, headers={
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}", "Origin": ORIGIN,
                "Accept": "application/json"})
            status = conn.getresponse().status
            conn.close()
            with lock:
                latencies.append(time.monotonic() - started)
                codes[status] = codes.get(status, 0) + 1

    began = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    latencies.sort()
    return {"tool": "python", "per_second": len(latencies) / elapsed,
            "p95_ms": _p95(latencies) * 1000,
            "status": codes}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per scenario (bounded)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--threads", type=int, default=8, help="waitress worker threads")
    parser.add_argument("--photo-mb", type=float, default=3.0)
    parser.add_argument("--python", action="store_true", help="use the Python loop, not hey")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    use_hey = shutil.which("hey") is not None and not args.python
    results = {}
    with tempfile.TemporaryDirectory(prefix="storywall-bench-intake-") as tmp:
        site, slug = make_site(Path(tmp))
        photo = photo_of(args.photo_mb)
        proc, port = start(site, args.threads)
        stored = 0
        try:
            for name, pic in (("text only", None), (f"{len(photo) / 1048576:.1f} MB photo", photo)):
                data = body(pic).replace(b'name="initiative"\r\n\r\n\r\n',
                                         f'name="initiative"\r\n\r\n{slug}\r\n'.encode())
                payload = Path(tmp) / "body.bin"
                payload.write_bytes(data)
                results[name] = (run_hey(port, payload, args.seconds, args.concurrency)
                                 if use_hey else
                                 run_python(port, data, args.seconds, args.concurrency))
                total = sum(1 for p in (site / "submissions").iterdir()
                            if not p.name.startswith("."))
                results[name]["stored"], stored = total - stored, total
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"intake throughput, {args.concurrency} concurrent clients, {args.seconds:g} s each, "
          f"{os.cpu_count()} CPU(s)")
    for name, r in results.items():
        print(f"  {name:<14} {r['per_second']:7.1f} submissions/s   p95 {r['p95_ms']:7.0f} ms   "
              f"status {r['status']}   stored {r['stored']}   ({r['tool']})")
    ok = all(set(r["status"]) <= {201} for r in results.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
