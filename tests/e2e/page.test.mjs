// Browser test of the built page (dist/): Debian's Chromium driven by playwright-core, the page served by
// ./server.mjs on 127.0.0.1. Run through `node tests/e2e/run.mjs` (after `trunk build --release --offline`).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CSP, HOST, startServer } from "./server.mjs";
import { CHROMIUM, FLAGS } from "./chromium.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const DIST = join(ROOT, "dist");
const SHOTS = join(ROOT, "target", "e2e");

let chromium;
let server;
let context;
let profile;
let page;
const requests = [];
const consoleErrors = [];
const pageErrors = [];

before(async () => {
  if (!existsSync(join(DIST, "index.html"))) {
    throw new Error(`${DIST}/index.html is missing: build the page first with \`trunk build --release --offline\``);
  }
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install it with \`apt-get install chromium\` (or run scripts/setup.sh)`);
  }
  try {
    ({ chromium } = await import("playwright-core"));
  } catch {
    throw new Error("playwright-core is missing: run `npm ci` in the repository root (or scripts/setup.sh)");
  }
  server = await startServer({ root: DIST });
  profile = mkdtempSync(join(tmpdir(), "memscope-e2e-"));
  // A fresh profile each run; playwright takes --user-data-dir as this first argument.
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1100, height: 700 },
  });
  context.on("request", (r) => requests.push(r.url()));
  // Runs before any page script, outside the page's CSP: records every violation the browser reports.
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "(inline)"} ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (msg) => {
    if (msg.type() === "error") consoleErrors.push(msg.text());
  });
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  const response = await page.goto(server.url, { waitUntil: "load" });
  assert.equal(response.status(), 200, "index.html status");
  // The wasm app is up once Yew has rendered the header.
  await page.waitForSelector("header h1", { timeout: 30_000 }).catch(async (err) => {
    const bootError = await page.locator("#boot-error").textContent({ timeout: 1000 }).catch(() => "");
    throw new Error(
      `the app did not render within 30 s (${err.message}); boot error: ${bootError || "none"}; ` +
        `console errors: ${JSON.stringify(consoleErrors)}; page errors: ${JSON.stringify(pageErrors)}`,
    );
  });
});

after(async () => {
  await context?.close();
  await server?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe("memscope page (dist/ in Chromium)", () => {
  test("dist/index.html has the CSP meta tag and no inline script or style", () => {
    const html = readFileSync(join(DIST, "index.html"), "utf8");
    assert.ok(html.includes(`content="${CSP}"`), "the CSP meta tag is missing or differs from the conventions");
    for (const tag of html.match(/<script\b[^>]*>/gi) ?? []) {
      assert.match(tag, /\ssrc=/, `inline script in dist/index.html: ${tag}`);
    }
    assert.doesNotMatch(html, /<style\b/i, "inline <style> in dist/index.html");
    assert.doesNotMatch(html, /\sstyle=/i, "inline style attribute in dist/index.html");
  });

  test("the server sends the CSP header and application/wasm", async () => {
    const index = await fetch(server.url);
    assert.equal(index.headers.get("content-security-policy"), CSP);
    const wasm = requests.find((u) => u.endsWith(".wasm"));
    assert.ok(wasm, `no .wasm was requested; requests: ${requests.join(" ")}`);
    const res = await fetch(wasm, { method: "HEAD" });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/wasm");
  });

  test("title, header, lead text and status render", async () => {
    assert.equal(await page.title(), "memscope");
    assert.equal((await page.textContent("header h1")).trim(), "memscope");
    assert.match(await page.textContent("main .lead"), /Open a Linux memory capture — nothing leaves this page/);
    assert.match(await page.textContent("#status"), /Ready\. No capture open\./);
    const bootError = page.locator("#boot-error");
    assert.equal(await bootError.count(), 1, "the #boot-error line is gone from the page");
    assert.ok(await bootError.isHidden(), `boot error shown: ${await bootError.textContent()}`);
    assert.equal(await page.locator("#capture-input").getAttribute("type"), "file");
  });

  test("choosing a file shows its name and size", async () => {
    const size = 3 * 1024 * 1024 + 17;
    await page.setInputFiles("#capture-input", {
      name: "cut-at-3MiB.lime",
      mimeType: "application/octet-stream",
      buffer: Buffer.alloc(size, 0x41),
    });
    await page.waitForSelector("#chosen-file");
    const text = await page.textContent("#chosen-file");
    assert.match(text, /cut-at-3MiB\.lime/);
    assert.match(text, /3\.0 MiB \(3,145,745 bytes\)/);
    // 3 MiB of 'A' open as a raw capture holding no kernel the bundled symbols describe.
    await page.waitForSelector("#need-symbols, #error", { timeout: 20_000 });
    assert.match(await page.textContent("#need-symbols, #error"), /no bundled symbols match|not a capture/);
  });

  test("an exported table of 30,000 rows opens as a view; sort and filter stay under 300 ms, the DOM stays windowed", async () => {
    // No corpus capture yields that many rows: a pslist export of that size is generated here and opened
    // through the page's "table exported as JSON" input, as a colleague would open a shared export.
    const N = 30_000;
    const rows = Array.from({ length: N }, (_, i) => {
      const pid = ((i * 7919 + 12_345) % N) + 1; // every pid from 1 to N once, shuffled
      return {
        pid, ppid: pid > 1 ? Math.floor(pid / 2) : 0, comm: `proc-${pid}`.slice(0, 15), name: `proc-${pid}`,
        start_time: `2026-11-21T21:05:${String(pid % 60).padStart(2, "0")}.123456789Z`, kernel_thread: pid % 5 === 0,
        uid: pid % 1000, euid: pid % 1000, pid_in_ns: pid, ns: { net: 4026531840 + (pid % 7), pid: 4026531836, mnt: 4026531841 },
        cap_eff_names: pid % 3 === 0 ? ["CAP_CHOWN", "CAP_KILL"] : [],
      };
    });
    const dir = mkdtempSync(join(tmpdir(), "memscope-table-"));
    const file = join(dir, "pslist.json");
    writeFileSync(file, JSON.stringify(rows, null, 2) + "\n");
    try {
      await page.setInputFiles("#table-input", file);
      await page.waitForSelector(`#table-pslist[data-rows="${N}"]`, { timeout: 60_000 });
      const drawn = () => page.locator("#table-pslist tbody tr:not(.spacer)").count();
      assert.ok((await drawn()) <= 80, `a window of rows is drawn, not ${await drawn()}`);
      // Time from the user's action to the redrawn table, measured in the page.
      const timed = (action, selector, attribute, want) =>
        page.evaluate(
          ({ action, selector, attribute, want }) =>
            new Promise((resolve, reject) => {
              const done = () => {
                const el = document.querySelector(selector);
                return el && (attribute ? el.getAttribute(attribute) : el.textContent.trim()) === want;
              };
              const t0 = performance.now();
              const finish = () => {
                observer.disconnect();
                resolve(performance.now() - t0);
              };
              const observer = new MutationObserver(() => done() && finish());
              observer.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
              setTimeout(() => { observer.disconnect(); reject(new Error(`${selector} never became ${want}`)); }, 10_000);
              if (action.type === "click") document.querySelectorAll(action.selector)[action.index].click();
              else {
                const input = document.querySelector(action.selector);
                input.value = action.value;
                input.dispatchEvent(new InputEvent("input", { bubbles: true }));
              }
              if (done()) finish();
            }),
          { action, selector, attribute, want },
        );
      const firstPid = "#table-pslist tbody tr[data-index='0'] td:first-child";
      const pidHeader = { type: "click", selector: "#table-pslist thead th", index: 0 };
      const times = {
        "sort by pid, ascending": await timed(pidHeader, firstPid, null, "1"),
        "sort by pid, descending": await timed(pidHeader, firstPid, null, String(N)),
        "sort by name": await timed({ type: "click", selector: "#table-pslist thead th", index: 3 }, "#table-pslist tbody tr[data-index='0'] td:nth-child(4)", null, "proc-1"),
        // proc-1234, proc-12340 ... proc-12349
        "filter proc-1234": await timed({ type: "input", selector: "#table-pslist input.filter", value: "proc-1234" }, "#table-pslist", "data-shown", "11"),
        "clear the filter": await timed({ type: "input", selector: "#table-pslist input.filter", value: "" }, "#table-pslist", "data-shown", String(N)),
      };
      console.log(`# ${N} rows: ${Object.entries(times).map(([k, ms]) => `${k} ${ms.toFixed(0)} ms`).join(", ")}`);
      for (const [what, ms] of Object.entries(times)) assert.ok(ms < 300, `${what} took ${ms.toFixed(0)} ms`);
      assert.ok((await drawn()) <= 80, "still windowed after sorting and filtering");
      // Scrolled to the end, the window follows and the last row is drawn.
      await page.locator("#table-pslist .scroll").evaluate((el) => { el.scrollTop = el.scrollHeight; });
      await page.waitForSelector(`#table-pslist tbody tr[data-index='${N - 1}']`, { timeout: 5_000 });
      assert.ok((await drawn()) <= 80, "still windowed at the end");
      // Exporting the view gives the rows back (the worker keeps them as the analysis's result).
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("#table-pslist .export-json")]);
      const exported = JSON.parse(readFileSync(await download.path(), "utf8"));
      assert.equal(exported.length, N);
      assert.deepEqual(exported[0], rows[0]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("screenshot to target/e2e/page.png", async () => {
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, "page.png"), fullPage: true });
    assert.ok(existsSync(join(SHOTS, "page.png")));
  });

  test("no console errors, page errors or CSP violations", async () => {
    const violations = await page.evaluate(() => window.__cspViolations);
    assert.deepEqual(violations, [], "CSP violations");
    assert.deepEqual(pageErrors, [], "uncaught page errors");
    assert.deepEqual(consoleErrors, [], "console errors");
  });

  test("the same dist/ works from a sub-path (public_url is relative)", async () => {
    const sub = await startServer({ root: DIST, prefix: "/some/base/path/" });
    const other = await context.newPage();
    const errors = [];
    other.on("console", (msg) => msg.type() === "error" && errors.push(msg.text()));
    other.on("pageerror", (err) => errors.push(String(err)));
    try {
      const seen = [];
      other.on("request", (r) => seen.push(new URL(r.url()).pathname));
      await other.goto(sub.url, { waitUntil: "load" });
      await other.waitForSelector("header h1", { timeout: 30_000 });
      assert.equal((await other.textContent("header h1")).trim(), "memscope");
      assert.deepEqual(
        seen.filter((p) => !p.startsWith("/some/base/path/")),
        [],
        "requests outside the sub-path",
      );
      assert.deepEqual(errors, [], "console or page errors");
    } finally {
      await other.close();
      await sub.close();
    }
  });

  test(`every request went to ${HOST} only`, () => {
    assert.ok(requests.length >= 3, `too few requests recorded: ${requests.join(" ")}`);
    // Both test servers listen on 127.0.0.1 (different ports); anything else is a leak.
    const elsewhere = requests.filter((u) => {
      const url = new URL(u);
      return url.protocol !== "http:" || url.hostname !== HOST;
    });
    assert.deepEqual(elsewhere, [], `requests to somewhere other than ${HOST}`);
  });
});
