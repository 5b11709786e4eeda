// Browser benchmark (release dist/, Debian's Chromium via playwright-core):
//  1. time from choosing a corpus capture (file input) to the full process table, per cache block size
//     (the page passes `?block=N` KiB to the worker), median of RUNS;
//  2. the worker reader's throughput on a 1 GiB file: sequential 1 MiB reads and random 4 KiB pages, raw
//     FileReaderSync on Blob slices (no cache).
// Usage: trunk build --release --offline && node benches/browser.mjs [capture.lime]
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, openSync, ftruncateSync, closeSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "../tests/e2e/server.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const RUNS = Number(process.env.RUNS ?? 3);
const BLOCKS = (process.env.BLOCKS ?? "64,256,1024").split(",").map(Number);
const capture = process.argv[2] ?? join(ROOT, "target/corpus-cache/deb12-6.1-docker/capture.lime");
if (!existsSync(capture)) throw new Error(`${capture} is missing (the Rust tests decompress it; or zstd -d --long=27)`);
const { chromium } = await import("playwright-core");
const server = await startServer({ root: join(ROOT, "dist") });
const profile = mkdtempSync(join(tmpdir(), "memscope-bench-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = context.pages()[0] ?? (await context.newPage());
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`capture: ${capture}`);
for (const block of BLOCKS) {
  const times = [];
  let status = "";
  for (let i = 0; i < RUNS; i++) {
    await page.goto(`${server.url}?block=${block}`, { waitUntil: "load" });
    await page.waitForSelector("header h1");
    const t0 = Date.now();
    await page.setInputFiles("#capture-input", capture);
    await page.waitForSelector("#table-pslist[data-rows]", { timeout: 120_000 });
    times.push(Date.now() - t0);
    status = await page.textContent("#status");
  }
  console.log(`block ${String(block).padStart(5)} KiB: time to process table median ${median(times)} ms (runs ${times.join(", ")})`);
}

// Reader throughput on a 1 GiB file (sparse: the OS serves zeros, like a warm page cache).
const big = join(tmpdir(), "memscope-bench-1g.bin");
if (!existsSync(big)) {
  const fd = openSync(big, "w");
  ftruncateSync(fd, 1 << 30);
  writeSync(fd, Buffer.from("x"), 0, 1, (1 << 30) - 1);
  closeSync(fd);
}
await page.goto(server.url, { waitUntil: "load" });
await page.evaluate(() => {
  const input = document.createElement("input");
  input.type = "file";
  input.id = "bench-file";
  document.body.append(input);
});
await page.setInputFiles("#bench-file", big);
for (const mode of ["seq", "random"]) {
  const r = await page.evaluate(
    (mode) =>
      new Promise((ok, fail) => {
        const w = new Worker("./worker_loader.js");
        w.onerror = (e) => fail(new Error(e.message));
        w.onmessage = (e) => {
          const m = JSON.parse(e.data);
          if (m.type === "Ready") w.postMessage([JSON.stringify({ type: "Bench", mode }), document.getElementById("bench-file").files[0]]);
          if (m.type === "Bench") { w.terminate(); ok(m); }
          if (m.type === "Error") { w.terminate(); fail(new Error(m.message)); }
        };
      }),
    mode,
  );
  const mib = r.bytes / 2 ** 20;
  console.log(`reader ${mode === "seq" ? "sequential 1 MiB reads" : "random 4 KiB pages  "}: ${r.reads} reads, ${mib.toFixed(0)} MiB in ${r.millis.toFixed(0)} ms = ${(mib / (r.millis / 1000)).toFixed(0)} MiB/s, ${(r.millis / r.reads).toFixed(3)} ms per read`);
}
await context.close();
await server.close();
rmSync(profile, { recursive: true, force: true });
