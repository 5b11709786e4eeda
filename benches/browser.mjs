// Browser benchmark (release dist/, Debian's Chromium via playwright-core), with the CLI's figures beside
// the browser's from the same run:
//  1. time from choosing a capture (file input) to the full process table, median of RUNS: the worker
//     reading the File with FileReaderSync per cache block size (`?block=N` KiB), and reading an OPFS copy
//     of it (`?reader=opfs&block=N`: the copy is part of the time); beside it the CLI's whole process
//     `memscope pslist CAPTURE --format json` (warm symbol pack, warm OS page cache);
//  2. raw reader throughput (no cache) on a 1 GiB file: sequential and random aligned reads through
//     FileReaderSync on Blob slices, through an OPFS copy (copy time first) and natively (node's
//     fs.readSync, one pread each, in this process).
// Usage: trunk build --release --offline && cargo build --release -p memscope-cli &&
//        node benches/browser.mjs [CAPTURE...]   (default: the deb12-6.1-docker LiME and AVML forms)
// Env: MEMSCOPE_CLI (target/release/memscope), RUNS (3), BLOCKS (64,256,1024: FileReaderSync block sizes in KiB), OPFS_BLOCKS (64: OPFS block
// sizes in KiB; empty to skip), READER=0 to skip part 2.
import { execFileSync } from "node:child_process";
import { closeSync, existsSync, ftruncateSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CHROMIUM, FLAGS } from "../tests/e2e/chromium.mjs";
import { startServer } from "../tests/e2e/server.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = process.env.MEMSCOPE_CLI ?? join(ROOT, "target/release/memscope");
const RUNS = Number(process.env.RUNS ?? 3);
const list = (v, d) => (v ?? d).split(",").filter(Boolean).map(Number);
const BLOCKS = list(process.env.BLOCKS, "64,256,1024");
const OPFS_BLOCKS = list(process.env.OPFS_BLOCKS, "64");
const corpus = join(ROOT, "target/corpus-cache/deb12-6.1-docker");
const captures = process.argv.length > 2 ? process.argv.slice(2) : [join(corpus, "capture.lime"), join(corpus, "capture.avml")];
for (const c of captures) {
  if (!existsSync(c)) throw new Error(`${c} is missing (the Rust tests write target/corpus-cache; or zstd -d --long=27)`);
}
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: cargo build --release -p memscope-cli`);

const { chromium } = await import("playwright-core");
const server = await startServer({ root: join(ROOT, "dist") });
const profile = mkdtempSync(join(tmpdir(), "memscope-bench-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args: FLAGS,
});
const page = context.pages()[0] ?? (await context.newPage());
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pad = (s, n) => String(s).padEnd(n);

/** Median ms from choosing `capture` in the page at `query` to the process table, and the phase timings. */
async function timeToTable(capture, query) {
  const times = [];
  let phases = "";
  for (let i = 0; i < RUNS; i++) {
    await page.goto(`${server.url}${query}`, { waitUntil: "load" });
    await page.waitForSelector("header h1");
    const t0 = Date.now();
    await page.setInputFiles("#capture-input", capture);
    await page.waitForSelector("#table-pslist[data-rows], #error", { timeout: 300_000 });
    times.push(Date.now() - t0);
    const error = await page.locator("#error").textContent({ timeout: 100 }).catch(() => null);
    if (error) throw new Error(`${basename(capture)} ${query}: ${error}`);
    await page.click('button[data-tab="overview"]');
    phases = (await page.locator("#timings li").allTextContents()).join("; ");
  }
  return { ms: median(times), runs: times, phases };
}

/** Median ms of the CLI's whole process. */
function timeCli(...args) {
  execFileSync(CLI, args, { maxBuffer: 1 << 30 }); // warm the symbol pack and the page cache
  const times = [];
  for (let i = 0; i < Math.max(RUNS, 5); i++) {
    const t0 = process.hrtime.bigint();
    execFileSync(CLI, args, { maxBuffer: 1 << 30 });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

console.log(`1. time from choosing a capture to the full process table (median of ${RUNS}; CLI: median of ${Math.max(RUNS, 5)})`);
for (const capture of captures) {
  const cli = timeCli("pslist", capture, "--format", "json");
  const name = basename(dirname(capture)) + "/" + basename(capture);
  const variants = [
    ...BLOCKS.map((b) => [`FileReaderSync, ${b} KiB blocks`, `?block=${b}`]),
    ...OPFS_BLOCKS.map((b) => [`OPFS copy + ${b} KiB blocks`, `?reader=opfs&block=${b}`]),
  ];
  for (const [label, query] of variants) {
    const r = await timeToTable(capture, query);
    console.log(`${pad(name, 28)} browser ${pad(label, 30)} ${String(r.ms).padStart(6)} ms (runs ${r.runs.join(", ")})  CLI pslist ${cli.toFixed(0).padStart(4)} ms  browser/CLI ${(r.ms / cli).toFixed(1)}x`);
    console.log(`${pad("", 28)}   phases: ${r.phases}`);
  }
}

if (process.env.READER !== "0") {
  // A 1 GiB file (sparse: the OS serves zeros, like a warm page cache).
  const big = join(tmpdir(), "memscope-bench-1g.bin");
  const SIZE = 1 << 30;
  if (!existsSync(big)) {
    const fd = openSync(big, "w");
    ftruncateSync(fd, SIZE);
    writeSync(fd, Buffer.from("x"), 0, 1, SIZE - 1);
    closeSync(fd);
  }
  await page.goto(server.url, { waitUntil: "load" });
  await page.waitForSelector("header h1");
  await page.evaluate(() => {
    const input = document.createElement("input");
    input.type = "file";
    input.id = "bench-file";
    document.body.append(input);
  });
  await page.setInputFiles("#bench-file", big);
  const bench = (msg) =>
    page.evaluate(
      (msg) =>
        new Promise((ok, fail) => {
          const w = new Worker("./worker_loader.js");
          w.onerror = (e) => fail(new Error(e.message));
          w.onmessage = (e) => {
            const m = JSON.parse(e.data);
            if (m.type === "Ready") w.postMessage([JSON.stringify({ type: "Bench", ...msg }), document.getElementById("bench-file").files[0]]);
            if (m.type === "Bench") { w.terminate(); ok(m); }
            if (m.type === "Error") { w.terminate(); fail(new Error(m.message)); }
          };
        }),
      msg,
    );
  // The same offsets as the worker's: xorshift64 from the same seed, modulo the number of aligned slots.
  const offsets = (count, len) => {
    const slots = BigInt(Math.max(1, Math.floor(SIZE / len)));
    const mask = (1n << 64n) - 1n;
    let x = 0x9e3779b97f4a7c15n;
    const out = new Array(count);
    for (let i = 0; i < count; i++) {
      x ^= (x << 13n) & mask;
      x ^= x >> 7n;
      x ^= (x << 17n) & mask;
      out[i] = Number((x % slots) * BigInt(len));
    }
    return out;
  };
  const native = ({ mode, size, count }) => {
    const fd = openSync(big, "r");
    const buf = Buffer.alloc(size);
    const at = mode === "seq" ? Array.from({ length: Math.floor(SIZE / size) }, (_, i) => i * size) : offsets(count, size);
    const t0 = process.hrtime.bigint();
    for (const off of at) if (readSync(fd, buf, 0, size, off) !== size) throw new Error("short native read");
    const millis = Number(process.hrtime.bigint() - t0) / 1e6;
    closeSync(fd);
    return { bytes: at.length * size, reads: at.length, millis };
  };
  const show = (who, what, r) => {
    const mib = r.bytes / 2 ** 20;
    console.log(`${pad(who, 16)} ${pad(what, 26)} ${String(r.reads).padStart(7)} reads ${mib.toFixed(0).padStart(5)} MiB ${r.millis.toFixed(0).padStart(6)} ms = ${(mib / (r.millis / 1000)).toFixed(0).padStart(6)} MiB/s ${Math.round(r.reads / (r.millis / 1000)).toString().padStart(8)} reads/s ${(1000 * r.millis / r.reads).toFixed(1).padStart(7)} us/read`);
  };
  const patterns = [
    { mode: "seq", size: 1 << 20, what: "sequential 1 MiB" },
    { mode: "seq", size: 16 << 20, what: "sequential 16 MiB" },
    { mode: "random", size: 4096, count: 20_000, what: "random 4 KiB" },
    { mode: "random", size: 256 << 10, count: 2_000, what: "random 256 KiB" },
  ];
  console.log("\n2. raw reads of a 1 GiB file, no cache (OPFS: the copy is made once, then read)");
  for (const p of patterns) show("FileReaderSync", p.what, await bench(p));
  show("OPFS copy", "16 MiB pieces", await bench({ mode: "opfs-copy", size: 16 << 20 }));
  for (const p of patterns) {
    const count = p.count && p.count * 10; // reads are cheap here: more of them for a stable figure
    show("OPFS", p.what, await bench({ ...p, mode: `opfs-${p.mode}`, count }));
  }
  await bench({ mode: "opfs-remove" });
  for (const p of patterns) show("native (pread)", p.what, native({ ...p, count: p.count && p.count * 10 }));
}
await context.close();
await server.close();
rmSync(profile, { recursive: true, force: true });
