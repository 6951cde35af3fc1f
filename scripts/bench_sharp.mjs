// Reference for scripts/bench_photos.py: the same 6 derivatives made with sharp (libvips).
//
//   node scripts/bench_sharp.mjs [--sharp-dir DIR] [--repeats 5] [--mode clone|chain] [--concurrency N]
//        [--webp-effort 4] [--webp-quality 80] [--jpeg-quality 82] [--widths 480,960,1600]
//        [--batch a.jpg,b.jpg,...] [--settle SECONDS] --out DIR photo.jpg [photo.jpg ...]
//
// sharp is loaded from DIR/node_modules (default: the current folder's). Prints one
// JSON object: per photo the median wall and CPU seconds of one cold derivative set
// and the bytes of each file; with --batch, the wall and CPU seconds per photo when
// all those photos are made at once. Modes: "clone" (default) is the idiomatic
// clone().resize().webp()/jpeg() pipeline per file, all six run together, each with
// shrink-on-load; "chain" decodes once and resizes each width from the previous
// one's raw pixels (as storywall.photos does), encoding while the next is resized.
import { createRequire } from "node:module";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

const args = { mode: "clone", repeats: 5, webpEffort: 4, webpQuality: 80, jpegQuality: 82, widths: "480,960,1600" };
const photos = [];
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (!a.startsWith("--")) { photos.push(a); continue; }
  args[a.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = process.argv[++i];
}
const require = createRequire(path.join(path.resolve(args.sharpDir || "."), "noop.js"));
const sharp = require("sharp");
// libvips threads per image (sharp defaults to 1 on glibc without jemalloc)
if (args.concurrency !== undefined) sharp.concurrency(Number(args.concurrency));
const widths = args.widths.split(",").map(Number);
const repeats = Number(args.repeats);

const webp = { quality: Number(args.webpQuality), effort: Number(args.webpEffort) };
const jpeg = { quality: Number(args.jpegQuality) };
function encode(pipeline, format, file) {
  const out = format === "webp" ? file("webp") : file("jpg");
  const encoded = format === "webp" ? pipeline.webp(webp) : pipeline.jpeg(jpeg);
  return encoded.toFile(out).then((info) => ({ ...info, format, file: out }));
}
const upright = (p) => (typeof p.autoOrient === "function" ? p.autoOrient() : p.rotate());

let derive = async function deriveClones(src, outDir) {
  const oriented = upright(sharp(src, { failOn: "error" }));
  const stem = path.basename(src, path.extname(src));
  const jobs = [];
  for (const w of widths) {
    const resized = oriented.clone().resize({ width: w, withoutEnlargement: true });
    const file = (ext) => path.join(outDir, `${stem}-${w}.${ext}`);
    jobs.push(encode(resized.clone(), "webp", file), encode(resized.clone(), "jpeg", file));
  }
  return Promise.all(jobs);
};

async function deriveChain(src, outDir) {
  const stem = path.basename(src, path.extname(src));
  const jobs = [];
  let prev = null;
  for (const w of [...widths].sort((a, b) => b - a)) {
    const from = prev ? sharp(prev.data, { raw: prev.raw }) : upright(sharp(src, { failOn: "error" }));
    const { data, info } = await from.resize({ width: w, withoutEnlargement: true }).raw()
      .toBuffer({ resolveWithObject: true });
    const raw = { width: info.width, height: info.height, channels: info.channels };
    const file = (ext) => path.join(outDir, `${stem}-${w}.${ext}`);
    jobs.push(encode(sharp(data, { raw }), "webp", file), encode(sharp(data, { raw }), "jpeg", file));
    prev = { data, raw };
  }
  return Promise.all(jobs);
}
if (args.mode === "chain") derive = deriveChain;

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const cpuSeconds = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

// Like bench_photos.py: wait (at most --settle seconds) for the CPUs to be >= 90% idle.
const cpuTicks = () =>
  readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
let busyRuns = 0, settled = 0;
function settle() {
  settled++;
  const deadline = Date.now() + 1000 * Number(args.settle || 0);
  for (;;) {
    let a, b;
    try { a = cpuTicks(); sleep(300); b = cpuTicks(); } catch { return; }
    const d = b.map((x, i) => x - a[i]);
    if ((d[3] + d[4]) / Math.max(1, d.reduce((x, y) => x + y, 0)) >= 0.9) return;
    if (Date.now() >= deadline) { busyRuns++; return; }
  }
}

async function timed(fn) {
  settle();
  const [t0, c0] = [performance.now(), cpuSeconds()];
  const value = await fn();
  return { wall: (performance.now() - t0) / 1000, cpu: cpuSeconds() - c0, value };
}

const outRoot = path.resolve(args.out || ".");
const freshDir = (prefix) => mkdtempSync(path.join(outRoot, prefix));
const report = {
  sharp: sharp.versions.sharp, vips: sharp.versions.vips, concurrency: sharp.concurrency(),
  threadpool: Number(process.env.UV_THREADPOOL_SIZE || 4), settings: { ...args, sharpDir: undefined }, photos: [],
};
for (const src of photos) {
  await derive(src, freshDir("sharp-"));  // warm up
  const runs = [];
  for (let r = 0; r < repeats; r++) runs.push(await timed(() => derive(src, freshDir("sharp-"))));
  const variants = runs[0].value.map((v) => (
    { width: v.width, height: v.height, format: v.format, bytes: statSync(v.file).size, file: v.file }));
  const [seconds, cpu] = [median(runs.map((r) => r.wall)), median(runs.map((r) => r.cpu))];
  report.photos.push({ src, seconds, cpu_seconds: cpu, variants });
}
if (args.batch) {
  const batch = args.batch.split(",");
  if (!photos.length) await derive(batch[0], freshDir("sharp-"));  // warm up
  const runs = [];
  for (let r = 0; r < repeats; r++) {
    const dir = freshDir("sharp-batch-");
    runs.push(await timed(() => Promise.all(batch.map((src) => derive(src, dir)))));
  }
  const n = batch.length;
  report.batch = { photos: n, seconds_per_photo: median(runs.map((r) => r.wall)) / n,
    cpu_per_photo: median(runs.map((r) => r.cpu)) / n };
}
Object.assign(report, { busy_runs: busyRuns, runs: settled });
console.log(JSON.stringify(report));
