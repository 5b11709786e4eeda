// Runs the browser tests (every *.test.mjs beside this file) with node's built-in test runner and prints
// one closing summary line. Needs dist/ (trunk build --release --offline), /usr/bin/chromium and
// node_modules/playwright-core (scripts/setup.sh installs both); a missing one fails, never skips.
import { run } from "node:test";
import { spec } from "node:test/reporters";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here)
  .filter((f) => f.endsWith(".test.mjs"))
  .sort()
  .map((f) => join(here, f));
if (files.length === 0) {
  console.error(`error: no *.test.mjs files in ${here}`);
  process.exit(1);
}

let passed = 0;
let failed = 0;
let skipped = 0;
// The bound is per test file, against a hang: the capture tests together take about 3 minutes on a
// 2-core machine (each step waits at most a minute on its own).
const stream = run({ files, concurrency: 1, timeout: 900_000 });
stream.on("test:pass", (t) => {
  if (t.details?.type === "suite") return;
  if (t.skip || t.todo) skipped++;
  else passed++;
});
stream.on("test:fail", (t) => {
  if (t.details?.type === "suite") return;
  failed++;
});
stream.compose(spec).pipe(process.stdout);
await new Promise((ok) => stream.on("end", ok));
// A skip counts as a failure here: nothing in the browser tests may be skipped silently.
const ok = failed === 0 && skipped === 0 && passed > 0;
console.log(`\ne2e: ${passed} passed, ${failed + skipped} failed`);
process.exit(ok ? 0 : 1);
