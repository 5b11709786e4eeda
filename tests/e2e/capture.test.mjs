// Browser test of the analysis path: each corpus capture is chosen through the file input, read by the
// worker from the local File (FileReaderSync on Blob slices); every tab of `memscope list` has its JSON and
// CSV exports compared byte for byte with the CLI's, and the process table with the live truth
// (truth/final/ps-eo.txt, excusing only pids gone by the dump per vol3's listings). The AVML and ELF forms
// and offline mode run on every capture; a worker panic (the worker's ?test-panic hook) must show and
// restart. The count of comparisons goes to $MEMSCOPE_CHECKS_DIR beside the Rust tests'.
// Run through `node tests/e2e/run.mjs` after `trunk build --release --offline`.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, linkSync, readdirSync, symlinkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { HOST, startServer } from "./server.mjs";
import { CHROMIUM, FLAGS } from "./chromium.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const DIST = join(ROOT, "dist");
const CORPUS = resolve(ROOT, "../shared/corpus");
const SHOTS = join(ROOT, "target", "e2e");
const CLI = join(ROOT, "target", "release", "memscope");
// Where the corpus tests record how many things they compared (scripts/test.sh sums the folder; see
// tests/src/checks.rs): this file adds one `e2e<TAB>N` line.
const CHECKS_DIR = process.env.MEMSCOPE_CHECKS_DIR ?? join(ROOT, "target", "corpus-checks");
let compared = 0;
/** Count one comparison of the page with the CLI or the truth (after it passed or failed the assert). */
function check(n = 1) {
  compared += n;
}

/** Pids of Volatility 3's three process listings (vol3/linux.{pslist.PsList,pstree.PsTree,psaux.PsAux}.json):
 * a pid of truth/final/ps-eo.txt in none of them was gone by the dump (the conventions' rule, as
 * memscope_tests::truth::final_ps_pids_at_dump). */
function vol3Pids(entry) {
  const out = new Set();
  for (const f of ["linux.pslist.PsList.json", "linux.pstree.PsTree.json", "linux.psaux.PsAux.json"]) {
    const file = join(CORPUS, entry.peer_output ?? join(entry.name, "vol3"), f);
    if (!existsSync(file)) throw new Error(`${file} is missing: the corpus keeps vol3/ beside truth/`);
    const before = out.size;
    const stack = [JSON.parse(readFileSync(file, "utf8"))];
    let found = 0;
    while (stack.length) {
      const v = stack.pop();
      if (Array.isArray(v)) stack.push(...v);
      else if (v && typeof v === "object") {
        if (Number.isInteger(v.PID)) {
          out.add(v.PID);
          found++;
        }
        if (v.__children) stack.push(v.__children);
      }
    }
    if (found === 0) throw new Error(`${file} lists no process (${before} pids before it)`);
  }
  return out;
}

/** The decompressed LiME capture of a corpus entry: the Rust tests' cache, else decompressed here. */
function capturePath(entry) {
  const cached = join(ROOT, "target", "corpus-cache", entry.name, "capture.lime");
  if (existsSync(cached)) return cached;
  const out = join(ROOT, "target", "e2e", `${entry.name}.lime`);
  if (existsSync(out)) return out;
  const src = join(CORPUS, entry.capture);
  if (!existsSync(src)) throw new Error(`${src} is missing: the corpus lives in ../shared/corpus`);
  mkdirSync(dirname(out), { recursive: true });
  try {
    execFileSync("zstd", ["-d", "--long=27", "-q", "-f", src, "-o", out]);
  } catch (err) {
    throw new Error(`could not decompress ${src} (install zstd: apt-get install zstd): ${err.message}`);
  }
  return out;
}

function cli(...args) {
  return execFileSync(CLI, args, { maxBuffer: 1 << 30 });
}

/** Pids of truth/final/ps-eo.txt (header line first). */
function truthPids(entry) {
  const file = join(CORPUS, entry.name, "truth", "final", "ps-eo.txt");
  if (!existsSync(file)) throw new Error(`${file} is missing`);
  return readFileSync(file, "utf8")
    .split("\n")
    .slice(1)
    .map((l) => parseInt(l.trim().split(/\s+/)[0], 10))
    .filter((n) => Number.isInteger(n));
}

let manifest;
let chromium;
let server;
let context;
let profile;
let page;
const requests = [];
const consoleErrors = [];
const pageErrors = [];
const timings = [];

before(async () => {
  if (!existsSync(join(DIST, "index.html"))) throw new Error("dist/ is missing: run `trunk build --release --offline`");
  if (!existsSync(join(DIST, "worker_loader.js"))) throw new Error("dist/worker_loader.js is missing: rebuild the page");
  if (!existsSync(join(DIST, "symbols", "index.json"))) throw new Error("dist/symbols/index.json is missing: the trunk hook did not run");
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (or scripts/setup.sh)`);
  if (!existsSync(join(CORPUS, "manifest.json"))) throw new Error(`${CORPUS}/manifest.json is missing: the corpus lives in ../shared/corpus`);
  manifest = JSON.parse(readFileSync(join(CORPUS, "manifest.json"), "utf8"));
  if (!existsSync(CLI)) {
    execFileSync("cargo", ["build", "--release", "-q", "-p", "memscope-cli"], { cwd: ROOT, stdio: "inherit" });
  }
  ({ chromium } = await import("playwright-core"));
  server = await startServer({ root: DIST });
  profile = mkdtempSync(join(tmpdir(), "memscope-e2e-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1400, height: 900 },
    acceptDownloads: true,
  });
  // Every request of the page and its worker, with whether it carried a body.
  context.on("request", (r) =>
    requests.push({ url: r.url(), method: r.method(), body: r.postDataBuffer()?.length ?? 0, range: r.headers().range ?? null }),
  );
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "(inline)"} ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (msg) => msg.type() === "error" && consoleErrors.push(msg.text()));
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  await page.goto(server.url, { waitUntil: "load" });
  await page.waitForSelector("header h1", { timeout: 30_000 });
});

after(async () => {
  mkdirSync(CHECKS_DIR, { recursive: true });
  writeFileSync(join(CHECKS_DIR, `e2e.${process.pid}.tsv`), `e2e\t${compared}\n`);
  console.log(`e2e: ${compared} corpus checks`);
  if (compared === 0) throw new Error("e2e: no corpus check ran: the browser tests compared nothing");
  if (timings.length) {
    console.log("\ntime from setInputFiles to the full process table:");
    for (const t of timings) console.log(`  ${t}`);
  }
  await context?.close();
  await server?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function openCapture(path) {
  await page.setInputFiles("#capture-input", path);
}


/** The files of a ustar archive (name -> bytes), as crate-core/src/archive.rs writes them. */
function untar(bytes) {
  // ustar and GNU entries; a GNU long name (type `L`) is the data of the entry before the file's.
  const files = new Map();
  let longName = null;
  for (let at = 0; at + 512 <= bytes.length; ) {
    const header = bytes.subarray(at, at + 512);
    const end = header.indexOf(0);
    const name = header.subarray(0, end < 0 || end > 100 ? 100 : end).toString("utf8");
    if (name === "") break;
    const size = parseInt(header.subarray(124, 135).toString("ascii"), 8);
    const data = bytes.subarray(at + 512, at + 512 + size);
    if (String.fromCharCode(header[156]) === "L") longName = data.toString("utf8").replace(/\0+$/, "");
    else {
      files.set(longName ?? name, data);
      longName = null;
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

// Every file under `dir`, as paths relative to it (`files/etc/motd`).
function filesUnder(dir, prefix = "") {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(dir, join(prefix, e.name)) : [join(prefix, e.name)],
  );
}

/** Every table of `memscope list --format json`: an analysis, or each view of a group as its own tab (id
 * `group-view`, run as `memscope group view`), with the CLI words that run it in `command`. */
function leaves(specs) {
  return specs.flatMap((s) =>
    (s.views ?? []).length > 0
      ? s.views.map((v) => ({ ...v, name: `${s.name}-${v.name}`, command: [s.name, v.name] }))
      : [{ ...s, command: [s.name] }],
  );
}

/** The running containers of truth/docker/inspect-container-*.json (docker inspect's objects). */
function runningContainers(entry) {
  const dir = join(CORPUS, entry.truth, "docker");
  return readdirSync(dir)
    .filter((f) => f.startsWith("inspect-container-") && f.endsWith(".json"))
    .map((f) => [JSON.parse(readFileSync(join(dir, f), "utf8"))].flat()[0])
    .filter((c) => c.State.Running && c.State.Pid > 0);
}

/** The subnets of a Docker network (truth/docker/inspect-network-NAME.json's IPAM). */
function networkSubnets(entry, name) {
  const file = join(CORPUS, entry.truth, "docker", `inspect-network-${name}.json`);
  if (!existsSync(file)) throw new Error(`${file} is missing`);
  const n = [JSON.parse(readFileSync(file, "utf8"))].flat()[0];
  return (n.IPAM?.Config ?? []).map((c) => c.Subnet).filter(Boolean);
}

/** truth/proc-summary.tsv: pid -> { net: the inode of its network namespace }. */
function procSummary(entry) {
  const file = join(CORPUS, entry.truth, "proc-summary.tsv");
  const [header, ...lines] = readFileSync(file, "utf8").split("\n").filter(Boolean);
  const col = header.split("\t").indexOf("net");
  if (col < 0) throw new Error(`${file} has no net column`);
  return new Map(
    lines.map((l) => {
      const f = l.split("\t");
      return [Number(f[0]), { net: Number(/\[(\d+)\]/.exec(f[col])?.[1]) }];
    }),
  );
}

describe("captures in the browser (worker reading the local File)", () => {
  test("Cancel stops the worker and a fresh one takes over; the page reacts during an open", async () => {
    const entry = manifest.captures[0];
    const path = capturePath(entry);
    // Press Cancel the moment it appears (in the page, so a fast open cannot win the race).
    await page.evaluate(() => {
      window.__cancelled = false;
      const obs = new MutationObserver(() => {
        const button = document.querySelector("#cancel");
        if (button) {
          obs.disconnect();
          button.click();
          window.__cancelled = true;
        }
      });
      obs.observe(document.body, { subtree: true, childList: true });
    });
    await openCapture(path);
    await page.waitForFunction(() => window.__cancelled, null, { timeout: 5000 });
    await page.waitForFunction(() => !document.querySelector("#progress"), null, { timeout: 5000 });
    assert.match(await page.textContent("#error"), /cancelled/);
    assert.equal(await page.locator("#table-pslist").count(), 0, "a table appeared after Cancel");

    // A fresh worker opens the capture; meanwhile a click on the page is handled at once.
    await openCapture(path);
    const shown = await page.locator("#about").count();
    const t0 = Date.now();
    await page.click("#about-toggle");
    await page.waitForFunction((n) => document.querySelectorAll("#about").length !== n, shown, { timeout: 2000 });
    const clickMs = Date.now() - t0;
    const stillOpening = await page.locator("#progress").count();
    console.log(`# click handled in ${clickMs} ms while the worker ${stillOpening ? "was reading" : "had finished"}`);
    assert.ok(clickMs < 1000, `a click took ${clickMs} ms during the open`);
    // The table, or whatever the page says instead (an error names its cause; a hang shows the phase).
    try {
      await page.waitForSelector("#table-pslist[data-rows], #error, #need-symbols", { timeout: 60_000 });
    } catch (e) {
      const progress = await page.locator("#progress").allTextContents();
      throw new Error(`no process table after the re-open; progress: ${JSON.stringify(progress)}`, { cause: e });
    }
    const problem = await page.locator("#error, #need-symbols").allTextContents();
    assert.deepEqual(problem, [], "the re-open after Cancel failed");
    assert.equal(await page.locator("#table-pslist[data-rows]").count(), 1);
  });

  test("a file dropped on the page is opened", async () => {
    const dt = await page.evaluateHandle(() => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(8192)], "dropped <b>x</b>.lime"));
      return dt;
    });
    await page.dispatchEvent("main", "drop", { dataTransfer: dt });
    await page.waitForFunction(() => document.querySelector("#chosen-file")?.textContent.includes("dropped <b>x</b>.lime"));
    await page.waitForSelector("#error, #need-symbols", { timeout: 20_000 });
  });

  for (const entry of JSON.parse(readFileSync(join(CORPUS, "manifest.json"), "utf8")).captures) {
    test(`${entry.name}: process table equals the CLI's and covers the truth; CSV byte-identical`, async () => {
      const path = capturePath(entry);
      const cliRows = JSON.parse(cli("pslist", path, "--format", "json").toString("utf8"));
      const cliCsv = cli("pslist", path, "--format", "csv");
      const t0 = Date.now();
      await openCapture(path);
      await page.waitForSelector("#table-pslist[data-rows]", { timeout: 60_000 }).catch(async (err) => {
        const error = await page.locator("#error").textContent({ timeout: 500 }).catch(() => "");
        throw new Error(`no process table: ${err.message}; page error line: ${error}`);
      });
      const ms = Date.now() - t0;
      const size = readFileSync(path, { flag: "r" }).length; // warm page cache too
      timings.push(`${entry.name} (${(size / 2 ** 20).toFixed(0)} MiB LiME): ${ms} ms`);
      console.log(`# ${entry.name}: ${ms} ms from setInputFiles to the full process table`);
      const rows = Number(await page.getAttribute("#table-pslist", "data-rows"));
      assert.equal(rows, cliRows.length, "rows in the page vs `memscope pslist --format json`");
      assert.match(await page.textContent("#status"), new RegExp(`${rows} processes`));

      // The overview names the kernel the manifest records.
      await page.click('button[data-tab="overview"]');
      const overview = await page.textContent("#overview");
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: join(SHOTS, `${entry.name}-overview.png`), fullPage: true });
      const phases = await page.locator("#timings li").allTextContents();
      console.log(`# ${entry.name}: worker phases: ${phases.join("; ")}`);
      assert.ok(overview.includes(entry.kernel_release), `overview lacks ${entry.kernel_release}`);
      await page.click('button[data-tab="pslist"]');

      // CSV export: the same bytes as the CLI's.
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("#table-pslist .export-csv")]);
      const csv = readFileSync(await download.path());
      assert.ok(csv.equals(cliCsv), `exported CSV (${csv.length} bytes) differs from \`memscope pslist --format csv\` (${cliCsv.length} bytes)`);

      // JSON export: the same rows as `memscope pslist --format json`.
      const [jsonDownload] = await Promise.all([page.waitForEvent("download"), page.click("#table-pslist .export-json")]);
      const json = readFileSync(await jsonDownload.path());
      assert.deepEqual(JSON.parse(json.toString("utf8")), cliRows, "exported JSON vs the CLI's rows");
      const cliJson = cli("pslist", path, "--format", "json");
      assert.ok(json.equals(cliJson), `exported JSON (${json.length} bytes) is not byte-identical with \`memscope pslist --format json\` (${cliJson.length} bytes)`);

      // Against the truth, by the Rust pslist tests' rule: every pid of truth/final/ps-eo.txt is in the page's
      // rows unless it was gone by the dump (in none of vol3's three process listings); nothing else is excused.
      const pagePids = new Set(
        csv
          .toString("utf8")
          .split("\n")
          .slice(1)
          .filter(Boolean)
          .map((l) => Number(l.split(",")[1])),
      );
      const truth = truthPids(entry);
      const vol3 = vol3Pids(entry);
      const missing = truth.filter((p) => !pagePids.has(p) && vol3.has(p));
      const gone = truth.filter((p) => !pagePids.has(p) && !vol3.has(p));
      check(truth.length);
      assert.deepEqual(missing, [], "pids of truth/final/ps-eo.txt alive at the dump (in vol3's listings) absent from the page");
      console.log(`# ${entry.name}: ${truth.length - gone.length} of ${truth.length} truth pids (truth/final/ps-eo.txt) in the page's table; ${gone.length} gone by the dump (in no vol3 listing): ${gone.join(" ")}`);

      // The table draws a window of rows, filters and sorts.
      const drawn = await page.locator("#table-pslist tbody tr:not(.spacer)").count();
      assert.ok(drawn > 0 && drawn <= rows, `${drawn} rows drawn`);
      await page.fill("#table-pslist .filter", "systemd");
      await page.waitForFunction(() => Number(document.querySelector("#table-pslist").dataset.shown) < Number(document.querySelector("#table-pslist").dataset.rows));
      const shown = await page.locator("#table-pslist tbody tr:not(.spacer)").allTextContents();
      assert.ok(shown.length > 0 && shown.every((t) => /systemd/i.test(t)), "filter 'systemd'");
      await page.fill("#table-pslist .filter", "");
      await page.click("#table-pslist thead th:nth-child(1)"); // pid ascending
      await page.click("#table-pslist thead th:nth-child(1)"); // pid descending
      const firstPid = Number(await page.textContent("#table-pslist tbody tr:not(.spacer) td:nth-child(1)"));
      assert.equal(firstPid, Math.max(...cliRows.map((r) => r.pid)), "numeric descending sort by pid");

      // A row's details show every key, capabilities by name and namespaces readable.
      await page.click("#table-pslist tbody tr:not(.spacer) >> nth=0");
      const detail = await page.textContent("#detail-pslist");
      for (const key of ["cap_eff_names", "ns.pid", "ns.net", "task_addr"]) assert.ok(detail.includes(key), `row details lack ${key}`);

      // Every tab of `memscope list --format json` (the core's registry): its JSON and CSV exports are the
      // CLI's bytes for the same analysis.
      const specs = leaves(JSON.parse(cli("list", "--format", "json").toString("utf8")));
      for (const spec of specs) {
        const tab = spec.name;
        await page.click(`button[data-tab="${tab}"]`);
        await page.waitForSelector(`#table-${tab}[data-rows]`, { timeout: 60_000 });
        // An analysis's own formats too (files's bodyfile), each its own export button.
        for (const format of ["json", "csv", ...(spec.formats ?? []).map((f) => f.name)]) {
          const want = cli(...spec.command, path, "--format", format);
          const [dl] = await Promise.all([page.waitForEvent("download"), page.click(`#table-${tab} .export-${format}`)]);
          const got = readFileSync(await dl.path());
          check();
          assert.ok(got.equals(want), `${entry.name} ${tab}: exported ${format} (${got.length} bytes) differs from \`memscope ${spec.command.join(" ")} --format ${format}\` (${want.length} bytes)`);
          if (format === "json") {
            const n = JSON.parse(want.toString("utf8")).length;
            check();
            assert.equal(Number(await page.getAttribute(`#table-${tab}`, "data-rows")), n, `${tab}: rows in the page`);
            assert.match(await page.textContent(`#table-${tab} .count`), new RegExp(`of ${n} rows`));
          }
        }
      }
      console.log(`# ${entry.name}: ${specs.length} tabs' JSON, CSV and own-format exports equal the CLI's`);

      // The Containers tab (docker ps): one row per running container of truth/docker/inspect-container-*.json,
      // each with its full id and name; a filter by key picks the privileged one(s).
      const running = runningContainers(entry);
      await page.click('button[data-tab="docker-ps"]');
      await page.waitForSelector("#table-docker-ps[data-rows]", { timeout: 60_000 });
      assert.equal(await page.textContent('button[data-tab="docker-ps"]'), "Containers", "the Containers tab");
      assert.equal(Number(await page.getAttribute("#table-docker-ps", "data-rows")), running.length, "docker-ps: a row per running container");
      check();
      const shownText = await page.textContent("#table-docker-ps tbody");
      for (const c of running) {
        assert.ok(shownText.includes(c.Id) && shownText.includes(c.Name.replace(/^\//, "")), `docker-ps: ${c.Name} (${c.Id}) not shown`);
        check();
      }
      const privileged = running.filter((c) => c.HostConfig.Privileged).length;
      await page.fill("#table-docker-ps .filter", "privileged:true");
      await page.waitForFunction((n) => document.querySelector("#table-docker-ps")?.dataset.shown === String(n), privileged, { timeout: 30_000 });
      check();
      await page.fill("#table-docker-ps .filter", "");
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: join(SHOTS, `${entry.name}-docker-ps.png`) });

      // The process tree collapses.
      await page.click('button[data-tab="pstree"]');
      await page.waitForSelector("#table-pstree[data-rows]", { timeout: 30_000 });
      const all = Number(await page.getAttribute("#table-pstree", "data-shown"));
      await page.click("#table-pstree .toggle >> nth=0");
      const collapsed = Number(await page.getAttribute("#table-pstree", "data-shown"));
      assert.ok(collapsed < all, `collapsing the first subtree: ${collapsed} of ${all} rows shown`);
      await page.click("#table-pstree .toggle >> nth=0");
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: join(SHOTS, `${entry.name}-pstree.png`) });
      await page.click('button[data-tab="pslist"]');
      await page.screenshot({ path: join(SHOTS, `${entry.name}.png`) });
    });
  }

  for (const entry of [] /* filled below */) void entry;

  test("containers are marked on every table: a container column, namespaces by owner, boxed in the tree, and a map", async () => {
    for (const entry of manifest.captures) {
      const path = capturePath(entry);
      const running = runningContainers(entry);
      const summary = procSummary(entry);
      const hostNet = summary.get(1).net;
      await openCapture(path);
      await page.waitForSelector("#table-pslist[data-rows]", { timeout: 60_000 });
      // The labels come in the background after the first table: the container column appears.
      await page.waitForFunction(() => [...document.querySelectorAll("#table-pslist thead th")].some((th) => th.textContent.startsWith("container")), null, { timeout: 60_000 });
      const header = await page.locator("#table-pslist thead th").allTextContents();
      const column = header.findIndex((h) => h.startsWith("container")) + 1;
      assert.equal(header[column - 2], "pid", "the container column sits beside the pid");
      const filterTo = async (tab, text, want, what) => {
        await page.fill(`#table-${tab} .filter`, text);
        await page
          .waitForFunction(([t, n]) => document.querySelector(`#table-${t}`)?.dataset.shown === String(n), [tab, want], { timeout: 10_000 })
          .catch(async () => assert.fail(`${entry.name} ${what}: filter ${JSON.stringify(text)} shows ${await page.getAttribute(`#table-${tab}`, "data-shown")} rows, want ${want}`));
        check();
      };
      // Each container's main process (docker inspect's State.Pid) is labelled with the container's name.
      const procs = JSON.parse(cli("pslist", path, "--format", "json").toString("utf8"));
      for (const c of running) {
        const name = c.Name.replace(/^\//, "");
        await filterTo("pslist", `pid:${c.State.Pid}`, 1, `${name}'s main process`);
        const cell = await page.textContent(`#table-pslist tbody tr:not(.spacer) >> nth=0 >> td >> nth=${column - 1}`);
        assert.equal(cell.trim(), name, `${entry.name}: pid ${c.State.Pid}'s container`);
        check();
      }
      // Sockets: namespaces shown by owner; netns:host picks the host's, netns:NAME a container's own.
      const sockets = JSON.parse(cli("netstat", path, "--format", "json").toString("utf8"));
      await page.click('button[data-tab="netstat"]');
      await page.waitForSelector("#table-netstat[data-rows]", { timeout: 60_000 });
      await filterTo("netstat", "netns:host", sockets.filter((r) => r.netns === hostNet).length, "host sockets");
      for (const c of running) {
        const net = summary.get(c.State.Pid)?.net;
        assert.ok(net, `${entry.name}: pid ${c.State.Pid} in proc-summary.tsv`);
        if (net === hostNet) continue;
        const name = c.Name.replace(/^\//, "");
        await filterTo("netstat", `netns:${name}`, sockets.filter((r) => r.netns === net).length, `${name}'s sockets`);
        assert.ok(!(await page.textContent("#table-netstat tbody")).includes(String(net)), "the inode shows as its owner");
      }
      await page.fill("#table-netstat .filter", "");
      // The process tree boxes each container's processes, labelled with its name, privileged ones marked.
      await page.click('button[data-tab="pstree"]');
      await page.waitForSelector("#table-pstree tr.box-start", { timeout: 30_000 });
      const badges = (await page.locator("#table-pstree tr.box-start .container-badge").allTextContents()).sort();
      assert.deepEqual(badges, running.map((c) => c.Name.replace(/^\//, "")).sort(), `${entry.name}: one box per running container`);
      check(running.length);
      const marked = await page.locator("#table-pstree .container-badge.privileged").count();
      assert.equal(marked, running.filter((c) => c.HostConfig.Privileged).length, "privileged containers marked");
      check();
      await page.locator("#table-pstree tr.box-start >> nth=0").scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(SHOTS, `${entry.name}-pstree-boxed.png`) });
      // The map: each running container with its addresses, the subnets of its networks, privileged and
      // risky mounts marked; exported as an SVG file with the same text.
      await page.click('button[data-tab="docker-networks"]');
      await page.waitForSelector("#docker-map svg", { timeout: 60_000 });
      const svgText = await page.locator("#docker-map svg text").allTextContents();
      const mounts = JSON.parse(cli("docker", "mounts", path, "--format", "json").toString("utf8"));
      const want = [];
      for (const c of running) {
        want.push(c.Name.replace(/^\//, ""));
        for (const [netName, n] of Object.entries(c.NetworkSettings.Networks ?? {})) {
          if (!n.IPAddress) continue;
          want.push(n.IPAddress);
          for (const cfg of networkSubnets(entry, netName)) want.push(cfg);
        }
      }
      for (const m of mounts.filter((m) => m.risk)) want.push(`! ${m.container_path}: ${m.risk}`);
      for (const w of want) {
        assert.ok(svgText.includes(w), `${entry.name}: the map lacks ${JSON.stringify(w)}: ${JSON.stringify(svgText)}`);
        check();
      }
      assert.equal(svgText.filter((t) => t === "PRIVILEGED").length, running.filter((c) => c.HostConfig.Privileged).length, "privileged on the map");
      check();
      await page.screenshot({ path: join(SHOTS, `${entry.name}-map.png`), fullPage: true });
      const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#docker-map .export-svg")]);
      assert.equal(dl.suggestedFilename(), "docker-map.svg");
      const svg = readFileSync(await dl.path(), "utf8");
      assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'), "an SVG file");
      const fileText = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) =>
        m[1].replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&amp;", "&"),
      );
      assert.deepEqual(fileText, svgText, "the exported map has the page's text");
      check();
      await page.click('button[data-tab="pslist"]');
    }
  });

  test("findings show above the tabs soon after the process table; each evidence link opens its tab filtered to its rows", async () => {
    for (const entry of manifest.captures) {
      const path = capturePath(entry);
      const findings = JSON.parse(cli("findings", path, "--format", "json").toString("utf8"));
      assert.ok(findings.length > 0, `${entry.name}: the CLI finds something`);
      await openCapture(path);
      await page.waitForSelector("#table-pslist[data-rows]", { timeout: 60_000 });
      const t0 = Date.now();
      await page.waitForFunction((n) => document.querySelectorAll("#findings-summary li").length === n, findings.length, { timeout: 60_000 });
      console.log(`# ${entry.name}: findings on screen ${Date.now() - t0} ms after the process table`);
      check();
      const kinds = await page.locator("#findings-summary li").evaluateAll((els) => els.map((e) => e.dataset.kind));
      assert.deepEqual(kinds, findings.map((f) => f.kind), "the findings, in the CLI's order");
      check();
      for (const [i, f] of findings.entries()) {
        for (const [j, e] of f.evidence.entries()) {
          const filter = Object.entries(e.keys)
            .map(([k, v]) => [k, String(v)])
            .filter(([, v]) => v !== "" && !/\s/.test(v))
            .map(([k, v]) => `${k}:${v}`)
            .join(" ");
          await page.click(`#findings-summary li >> nth=${i} >> button.evidence >> nth=${j}`);
          await page.waitForSelector(`#table-${e.analysis}[data-rows]`, { timeout: 60_000 });
          assert.equal(await page.getAttribute(`button[data-tab="${e.analysis}"]`, "class"), "tab active", `${f.kind}: its tab opens`);
          assert.equal(await page.inputValue(`#table-${e.analysis} .filter`), filter, `${f.kind}: filtered to its evidence`);
          const shown = Number(await page.getAttribute(`#table-${e.analysis}`, "data-shown"));
          assert.ok(shown >= 1, `${entry.name} ${f.kind}: ${e.analysis} filtered by ${filter} shows no row`);
          check();
        }
      }
      await page.screenshot({ path: join(SHOTS, `${entry.name}-findings.png`) });
      await page.click('button[data-tab="pslist"]');
    }
  });

  test("every analysis's options, set through their controls, give the CLI's bytes for the same flags", async () => {
    const entry = manifest.captures[0];
    const path = capturePath(entry);
    const specs = leaves(JSON.parse(cli("list", "--format", "json").toString("utf8")));
    const init = JSON.parse(cli("pslist", path, "--format", "json", "--pid", "1").toString("utf8"))[0];
    // A value to try for each option, by its name; a new option needs one here (else this test fails).
    // Output options are checkboxes in the page (what they write is a download) and paths for the CLI.
    const outDir = mkdtempSync(join(tmpdir(), "memscope-e2e-out-"));
    const motd = JSON.parse(cli("files", path, "--format", "json", "--path", "/etc/motd").toString("utf8"))[0];
    const container = JSON.parse(cli("docker", "ps", path, "--format", "json").toString("utf8"))[0];
    const samples = {
      threads: null, "no-unix": null, "owned-only": null, pid: "1", ns: `net:${init.ns.net}`, out: null, all: null,
      sort: null, dump: null, mount: String(motd.mount_id), path: "/etc/ssh", uid: "1000", negative: null,
      extract: "/etc/motd", "extract-inode": motd.inode_addr, "extract-fd": "1:0", recover: null, pcap: null, freed: null,
      id: container.container_id.slice(0, 12),
    };
    // An option that does something only beside another (`files --out` writes what `--extract` read back):
    // that one is set first, through its own control, and given to the CLI too.
    const needs = { "files --out": ["extract", "/etc/motd"] };
    await openCapture(path);
    await page.waitForSelector("#table-pslist[data-rows]", { timeout: 60_000 });
    let exercised = 0;
    for (const spec of specs.filter((s) => s.options.length > 0)) {
      for (const option of spec.options) {
        assert.ok(option.name in samples, `${spec.name} --${option.name}: no sample value in this test`);
        await page.click(`button[data-tab="${spec.name}"]`);
        await page.waitForSelector(`#table-${spec.name}[data-rows]`, { timeout: 60_000 });
        const control = page.locator(`#options-${spec.name}`).getByLabel(option.name, { exact: true });
        const checkbox = option.kind === "flag" || option.kind === "output";
        const outFile = join(outDir, `${spec.name}-${option.name}`);
        const need = needs[`${spec.name} --${option.name}`];
        const needControl = need && page.locator(`#options-${spec.name}`).getByLabel(need[0], { exact: true });
        if (need) {
          await needControl.fill(need[1]);
          await needControl.press("Enter");
        }
        const needFlags = need ? [`--${need[0]}`, need[1]] : [];
        const flags = [...needFlags, ...(option.kind === "flag" ? [`--${option.name}`] : [`--${option.name}`, samples[option.name]])];
        const pageFlags = option.kind === "output" ? [...needFlags, `--${option.name}`, "download"] : flags;
        const cliFlags = option.kind === "output" ? [...needFlags, `--${option.name}`, outFile] : flags;
        if (checkbox) await control.check();
        else {
          await control.fill(samples[option.name]);
          await control.press("Enter");
        }
        const want = cli(...spec.command, path, "--format", "json", ...cliFlags);
        const wantRows = JSON.parse(want.toString("utf8")).length;
        await page.waitForFunction(
          ([name, n, f]) => {
            const t = document.querySelector(`#table-${name}`);
            return t?.dataset.rows === String(n) && t.dataset.options === f;
          },
          [spec.name, wantRows, pageFlags.join(" ")],
          { timeout: 60_000 },
        );
        assert.match(await page.textContent(`#table-${spec.name} .count`), new RegExp(`of ${wantRows} rows`));
        const [dl] = await Promise.all([page.waitForEvent("download"), page.click(`#table-${spec.name} .export-json`)]);
        const got = readFileSync(await dl.path());
        assert.ok(got.equals(want), `${spec.name} ${flags.join(" ")}: exported JSON differs from the CLI's (${got.length} vs ${want.length} bytes)`);
        // One option's flags joined by `-`, options by `_`.
        const part = (fl) => fl.map((f) => f.replace(/^--/, "").replace(/[^A-Za-z0-9.]/g, "-")).join("-");
        const suffix = [needFlags, pageFlags.slice(needFlags.length)].filter((p) => p.length > 0).map(part).join("_");
        assert.equal(dl.suggestedFilename(), `${spec.name}_${suffix}.json`, "the export is named after its options");
        if (option.kind === "output") {
          // What the CLI wrote to the path, the page offers as a download: the same bytes.
          const button = page.locator(`#table-${spec.name} .download-file`);
          assert.equal(await button.count(), 1, `${spec.name} --${option.name}: one download offered`);
          const [file] = await Promise.all([page.waitForEvent("download"), button.click()]);
          const bytes = readFileSync(await file.path());
          if (option.directory) {
            // A directory's files come as one .tar: the same names and bytes as the CLI wrote into it.
            assert.equal(file.suggestedFilename(), `${spec.name}-${option.name}.tar`);
            const entries = untar(bytes);
            const names = filesUnder(outFile).sort();
            assert.ok(names.length > 0, `${spec.name} --${option.name}: the CLI wrote no file`);
            assert.deepEqual([...entries.keys()].sort(), names, `${spec.name} --${option.name}: the .tar's files are the CLI's`);
            for (const n of names) assert.ok(entries.get(n).equals(readFileSync(join(outFile, n))), `${spec.name} --${option.name}: ${n} differs from the CLI's`);
          } else {
            const cliBytes = readFileSync(outFile);
            assert.ok(bytes.length > 0 && bytes.equals(cliBytes), `${spec.name} --${option.name}: downloaded ${file.suggestedFilename()} (${bytes.length} bytes) differs from the CLI's file (${cliBytes.length} bytes)`);
          }
        }
        // Back to the defaults: the first run's rows, from the worker's cache.
        if (checkbox) await control.uncheck();
        else {
          await control.fill("");
          await control.press("Enter");
        }
        if (need) {
          await needControl.fill("");
          await needControl.press("Enter");
        }
        const all = JSON.parse(cli(...spec.command, path, "--format", "json").toString("utf8")).length;
        await page.waitForFunction(
          ([name, n]) => {
            const t = document.querySelector(`#table-${name}`);
            return t?.dataset.rows === String(n) && t.dataset.options === "";
          },
          [spec.name, all],
          { timeout: 60_000 },
        );
        exercised++;
      }
    }
    assert.ok(exercised >= 7, `${exercised} options exercised`);
    rmSync(outDir, { recursive: true, force: true });
    // A column set adds its columns to the table, and the export keeps every key.
    await page.click('button[data-tab="pslist"]');
    const header = () => page.locator("#table-pslist thead th").allTextContents();
    assert.ok(!(await header()).some((h) => h.startsWith("ns.net")), "ns.net shown before --nsinfo");
    await page.locator("#options-pslist").getByLabel("nsinfo", { exact: true }).check();
    await page.waitForFunction(() => [...document.querySelectorAll("#table-pslist thead th")].some((th) => th.textContent.startsWith("ns.net")));
    const typed = page.locator("#options-pslist").getByLabel("pid", { exact: true });
    await typed.fill("1 x");
    await typed.press("Enter");
    assert.match(await page.textContent("#options-pslist .option-error"), /pid: "x" is not a whole number/);
    await typed.fill("");
    await typed.press("Enter");
  });

  test("Files: a row's file read back from the page cache downloads with the CLI's bytes; the bodyfile export is mactime's", async () => {
    const entry = manifest.captures[0];
    const path = capturePath(entry);
    await openCapture(path);
    await page.waitForSelector("#table-pslist[data-rows]", { timeout: 60_000 });
    await page.click('button[data-tab="files"]');
    await page.waitForSelector("#table-files[data-rows]", { timeout: 60_000 });
    await page.fill("#table-files .filter", "path:/etc/motd");
    await page.waitForFunction(() => document.querySelector("#table-files").dataset.shown === "1");
    await page.click("#table-files tbody tr:not(.spacer) >> nth=0");
    await page.click('#detail-files .row-action[data-option="extract-inode"]');
    const motd = JSON.parse(cli("files", path, "--format", "json", "--path", "/etc/motd").toString("utf8"))[0];
    await page.waitForFunction(
      (f) => document.querySelector("#table-files")?.dataset.options === f,
      `--extract-inode ${motd.inode_addr} --out download`,
      { timeout: 60_000 },
    );
    const out = join(mkdtempSync(join(tmpdir(), "memscope-e2e-motd-")), "motd");
    cli("files", path, "--extract-inode", motd.inode_addr, "--out", out);
    const want = readFileSync(out);
    const [file] = await Promise.all([page.waitForEvent("download"), page.click("#table-files .download-file")]);
    const got = readFileSync(await file.path());
    check();
    assert.ok(got.equals(want) && got.length === motd.size, `downloaded motd (${got.length} bytes) differs from the CLI's (${want.length})`);
    assert.equal(file.suggestedFilename(), "motd");
    // Back to the listing, filtered: its bodyfile has a line per file, `mactime`'s fields.
    await page.locator("#options-files").getByLabel("extract-inode", { exact: true }).fill("");
    await page.locator("#options-files").getByLabel("extract-inode", { exact: true }).press("Enter");
    await page.locator("#options-files").getByLabel("out", { exact: true }).uncheck();
    await page.waitForFunction(() => document.querySelector("#table-files")?.dataset.options === "", null, { timeout: 60_000 });
    const [body] = await Promise.all([page.waitForEvent("download"), page.click("#table-files .export-bodyfile")]);
    const lines = readFileSync(await body.path()).toString("utf8").trim().split("\n");
    check();
    assert.ok(lines.length > 1000 && lines.every((l) => l.split("|").length >= 11), "bodyfile lines");
    assert.ok(lines.some((l) => l.startsWith(`0|/etc/motd|${motd.inode}|-rw-r--r--|0|0|${motd.size}|`)), "/etc/motd's bodyfile line");
    assert.match(body.suggestedFilename(), /^files\.body$/);
    // Browsing: a directory's row lists what is under it, as `--path` does.
    const ssh = JSON.parse(cli("files", path, "--format", "json", "--path", "/etc/ssh").toString("utf8"));
    await page.fill("#table-files .filter", "path:/etc/ssh");
    await page.waitForFunction(() => Number(document.querySelector("#table-files").dataset.shown) > 0);
    // The walk lists a directory before what is under it: the first row is /etc/ssh itself.
    await page.locator("#table-files tbody tr:not(.spacer)").first().click();
    assert.match(await page.textContent("#detail-files"), /\/etc\/ssh/);
    await page.click('#detail-files .row-action[data-option="path"]');
    await page.waitForFunction(
      (n) => {
        const t = document.querySelector("#table-files");
        return t?.dataset.rows === String(n) && t.dataset.options === "--path /etc/ssh";
      },
      ssh.length,
      { timeout: 60_000 },
    );
    check();
  });

  test("filters understand numbers, keys and several terms; row details follow the filter; a tab opens at its top", async () => {
    const entry = manifest.captures[0];
    const path = capturePath(entry);
    await openCapture(path);
    await page.waitForSelector("#table-pslist[data-rows]", { timeout: 60_000 });
    const sockets = JSON.parse(cli("netstat", path, "--format", "json").toString("utf8"));
    await page.click('button[data-tab="netstat"]');
    await page.waitForSelector("#table-netstat[data-rows]", { timeout: 60_000 });
    const shownCount = async () => Number(await page.getAttribute("#table-netstat", "data-shown"));
    const filterTo = async (text, want, what) => {
      await page.fill("#table-netstat .filter", text);
      await page.waitForFunction(
        ([n]) => document.querySelector("#table-netstat")?.dataset.shown === String(n),
        [want],
        { timeout: 10_000 },
      ).catch(async () => assert.fail(`${what}: filter ${JSON.stringify(text)} shows ${await shownCount()} rows, want ${want}`));
    };
    // A number matches whole numbers only: port 22 is not 2222 or 54422.
    const on22 = sockets.filter((r) => r.local_port === 22 || r.remote_port === 22).length;
    assert.ok(on22 > 0, "the capture has sockets on port 22 (sshd)");
    await filterTo("port:22", on22, "key:value on local_port or remote_port");
    // Several terms all hold; text is case-insensitive; a term can be negated.
    const tcpListen = sockets.filter((r) => r.proto === "tcp" && r.state === "LISTEN").length;
    await filterTo("proto:tcp state:listen", tcpListen, "two key terms");
    await filterTo("TCP LISTEN", tcpListen, "two words");
    const notTcp = sockets.filter((r) => r.proto !== "tcp").length;
    await filterTo("-proto:tcp", notTcp, "a negated term");
    // Row details follow the filter: a row the filter hides loses its details.
    await page.fill("#table-netstat .filter", "");
    await page.click("#table-netstat tbody tr:not(.spacer) >> nth=0");
    await page.waitForSelector("#detail-netstat");
    // They open beside the table, in view (they used to open below it, off screen).
    const detailBox = await page.locator("#detail-netstat").boundingBox();
    const tableBox = await page.locator("#table-netstat .scroll").boundingBox();
    const viewport = page.viewportSize();
    assert.ok(detailBox.x >= tableBox.x + tableBox.width && detailBox.y < tableBox.y + tableBox.height, `row details beside the table: ${JSON.stringify({ detailBox, tableBox })}`);
    assert.ok(detailBox.y >= 0 && detailBox.y + 80 <= viewport.height, `row details in view: ${JSON.stringify(detailBox)} in ${JSON.stringify(viewport)}`);
    check();
    const proto = await page.textContent("#table-netstat tbody tr:not(.spacer) >> nth=0 >> td >> nth=1");
    await page.fill("#table-netstat .filter", `-proto:${proto.trim()}`);
    await page.waitForFunction(() => !document.querySelector("#detail-netstat"), null, { timeout: 10_000 });
    await page.fill("#table-netstat .filter", "");
    // The keyboard: `/` focuses the filter; the tabs are a tablist the arrow keys move through; a column
    // header is a button that Enter sorts by.
    await page.click("#table-netstat .count");
    await page.keyboard.press("/");
    assert.ok(await page.$eval("#table-netstat .filter", (el) => el === document.activeElement), "/ focuses the filter");
    await page.focus('button[data-tab="netstat"]');
    await page.keyboard.press("ArrowRight");
    await page.waitForFunction(() => document.activeElement?.dataset.tab === "ifconfig" && document.activeElement.getAttribute("aria-selected") === "true", null, { timeout: 10_000 });
    await page.keyboard.press("ArrowLeft");
    await page.waitForFunction(() => document.activeElement?.dataset.tab === "netstat", null, { timeout: 10_000 });
    assert.equal(await page.getAttribute('nav.tabs', "role"), "tablist");
    await page.focus("#table-netstat thead th:nth-child(2) button.sort");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelector("#table-netstat thead th:nth-child(2)").getAttribute("aria-sort") === "ascending", null, { timeout: 10_000 });
    await page.keyboard.press("Enter");
    await page.keyboard.press("Enter");
    // The open form folds into one line with the capture's facts once a capture is open.
    const folded = await page.locator(".open.folded").boundingBox();
    assert.ok(folded && folded.height <= 48, `the open form is one line: ${JSON.stringify(folded)}`);
    const info = JSON.parse(cli("info", path, "--format", "json").toString("utf8"));
    const facts = await page.textContent(".open.folded #chosen-file");
    for (const key of ["kernel_release", "hostname"]) {
      assert.ok(facts.includes(info[key]), `the folded form names the ${key} ${info[key]}: ${facts}`);
    }
    // Rows by keyboard: the table takes the focus, the arrow keys move through the shown rows (the table
    // scrolls to keep the row in sight), Enter opens the row's details and Escape closes them.
    await page.focus("#table-netstat .scroll");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowDown");
    await page.waitForSelector('#table-netstat tbody tr.cursor[data-index="1"]', { timeout: 10_000 });
    await page.keyboard.press("Enter");
    await page.waitForSelector("#detail-netstat", { timeout: 10_000 });
    const secondRow = await page.$$eval('#table-netstat tbody tr[data-index="1"] td', (tds) => tds.map((td) => td.textContent));
    const detailText = await page.textContent("#detail-netstat");
    for (const cell of secondRow.filter((c) => c.length > 0 && c.length < 40)) {
      assert.ok(detailText.includes(cell), `Enter opens the cursor's row: ${cell} in its details`);
    }
    await page.keyboard.press("Escape");
    await page.waitForFunction(() => !document.querySelector("#detail-netstat"), null, { timeout: 10_000 });
    const shownRows = Number(await page.getAttribute("#table-netstat", "data-shown"));
    await page.keyboard.press("End");
    await page.waitForSelector(`#table-netstat tbody tr.cursor[data-index="${shownRows - 1}"]`, { timeout: 10_000 });
    const inSight = await page.$eval("#table-netstat .scroll", (el) => {
      const row = el.querySelector("tr.cursor").getBoundingClientRect();
      const box = el.getBoundingClientRect();
      return row.top >= box.top && row.bottom <= box.bottom + 1;
    });
    assert.ok(inSight, "the last row is scrolled into sight");
    await page.keyboard.press("Home");
    await page.waitForSelector('#table-netstat tbody tr.cursor[data-index="0"]', { timeout: 10_000 });
    check();
    // Scrolled to its end, the kernel log leaves the next tab's table at that tab's top.
    await page.click('button[data-tab="dmesg"]');
    await page.waitForSelector("#table-dmesg[data-rows]", { timeout: 60_000 });
    await page.$eval("#table-dmesg .scroll", (el) => el.scrollTo(0, el.scrollHeight));
    await page.waitForFunction(() => document.querySelector("#table-dmesg .scroll").scrollTop > 1000);
    await page.click('button[data-tab="envars"]');
    await page.waitForSelector("#table-envars[data-rows]", { timeout: 60_000 });
    assert.equal(await page.$eval("#table-envars .scroll", (el) => el.scrollTop), 0, "the next tab opens at its top");
    assert.equal(await page.getAttribute("#table-envars tbody tr:not(.spacer) >> nth=0", "data-index"), "0");
    await page.click('button[data-tab="pslist"]');
  });

  test("values are decoded for people: capability sets in hex and 'all', log levels, packet protocols and interface indexes by name, and filters find them so; quick filters per tab", async () => {
    const entry = manifest.captures[0];
    const path = capturePath(entry);
    await openCapture(path);
    await page.waitForSelector("#table-pslist[data-rows]", { timeout: 60_000 });
    const filterTo = async (tab, text, want, what) => {
      await page.fill(`#table-${tab} .filter`, text);
      await page.waitForFunction(
        ([t, n]) => document.querySelector(`#table-${t}`)?.dataset.shown === String(n),
        [tab, want],
        { timeout: 10_000 },
      ).catch(async () => assert.fail(`${what}: filter ${JSON.stringify(text)} shows ${await page.getAttribute(`#table-${tab}`, "data-shown")} rows, want ${want}`));
    };
    // Every capability there is (41 bits) reads "all"; a set is also given in hex.
    const procs = JSON.parse(cli("pslist", path, "--format", "json").toString("utf8"));
    const all = procs.filter((p) => p.cap_eff === 2 ** 41 - 1).length;
    assert.ok(all > 0 && all < procs.length, `some but not all processes hold every capability (${all})`);
    await filterTo("pslist", "cap_eff:all", all, "cap_eff:all");
    const priv = procs.find((p) => p.cap_eff !== 0 && p.cap_eff !== 2 ** 41 - 1);
    await filterTo("pslist", `pid:${priv.pid}`, procs.filter((p) => p.pid === priv.pid).length, "pid");
    await page.click("#table-pslist tbody tr:not(.spacer) >> nth=0");
    await page.waitForSelector("#detail-pslist");
    const hex = `0x${priv.cap_eff.toString(16)}`;
    assert.ok((await page.textContent("#detail-pslist")).includes(`${priv.cap_eff} (${hex}, `), `pid ${priv.pid}'s cap_eff in hex`);
    await page.fill("#table-pslist .filter", "");
    // Log levels by name.
    const log = JSON.parse(cli("dmesg", path, "--format", "json").toString("utf8"));
    await page.click('button[data-tab="dmesg"]');
    await page.waitForSelector("#table-dmesg[data-rows]", { timeout: 60_000 });
    await filterTo("dmesg", "level:notice", log.filter((l) => l.level === 5).length, "level:notice");
    await filterTo("dmesg", "level:6", log.filter((l) => l.level === 6).length, "level:6, a number still exact");
    // A packet socket's protocol as the ethertype it names.
    const sockets = JSON.parse(cli("netstat", path, "--format", "json").toString("utf8"));
    const sniffers = sockets.filter((r) => r.proto === "packet" && r.protocol === 3).length;
    assert.ok(sniffers > 0, "the capture has a packet socket for every protocol (tcpdump's)");
    await page.click('button[data-tab="netstat"]');
    await page.waitForSelector("#table-netstat[data-rows]", { timeout: 60_000 });
    await filterTo("netstat", "protocol:eth_p_all", sniffers, "protocol:eth_p_all");
    // An interface index as the interface's name in the socket's namespace (once the labels are in).
    const names = new Map(JSON.parse(cli("ifconfig", path, "--format", "json").toString("utf8")).map((i) => [`${i.netns}/${i.index}`, i.name]));
    const onEth0 = sockets.filter((r) => r.ifindex > 0 && (names.get(`${r.netns}/${r.ifindex}`) ?? "").includes("eth0")).length;
    assert.ok(onEth0 > 0, "the capture has packet sockets bound to an eth0");
    await page.waitForFunction(() => [...document.querySelectorAll("#table-netstat thead th")].some((th) => th.textContent.includes("container")), null, { timeout: 60_000 });
    await filterTo("netstat", "ifindex:eth0", onEth0, "ifindex:eth0");
    await page.fill("#table-netstat .filter", "");
    // Quick filters: a button sets its filter (and says it is on); pressed again, it clears it.
    const quick = async (tab, label, want) => {
      const button = page.locator(`#table-${tab} button.quick`, { hasText: label });
      await button.click();
      await page.waitForFunction(([t, n]) => document.querySelector(`#table-${t}`)?.dataset.shown === String(n), [tab, want], { timeout: 10_000 })
        .catch(async () => assert.fail(`${tab} quick filter ${label}: ${await page.getAttribute(`#table-${tab}`, "data-shown")} rows, want ${want}`));
      assert.equal(await button.getAttribute("aria-pressed"), "true", `${label} says it is on`);
      assert.equal(await page.inputValue(`#table-${tab} .filter`), await button.getAttribute("data-filter"), `${label} shows its filter`);
      await button.click();
      await page.waitForFunction(([t]) => document.querySelector(`#table-${t}`)?.dataset.shown === document.querySelector(`#table-${t}`)?.dataset.rows, [tab], { timeout: 10_000 });
    };
    await quick("netstat", "Listening", sockets.filter((r) => r.state === "LISTEN").length);
    await quick("netstat", "Established", sockets.filter((r) => r.state === "ESTAB").length);
    await quick("netstat", "Packet sockets", sockets.filter((r) => r.proto === "packet").length);
    const interfaces = JSON.parse(cli("ifconfig", path, "--format", "json").toString("utf8"));
    await page.click('button[data-tab="ifconfig"]');
    await page.waitForSelector("#table-ifconfig[data-rows]", { timeout: 60_000 });
    await quick("ifconfig", "Promiscuous", interfaces.filter((i) => i.promiscuous).length);
    check();
    await page.click('button[data-tab="pslist"]');
  });

  test("AVML and ELF core forms of every corpus capture give the same process table", async () => {
    for (const entry of manifest.captures) {
      const lime = capturePath(entry);
      const cliCsv = cli("pslist", lime, "--format", "csv");
      const expected = JSON.parse(cli("pslist", lime, "--format", "json").toString("utf8")).length;
      // The Rust tests convert the corpus LiME to AVML and ELF in target/corpus-cache (avml, scripts/setup.sh).
      for (const form of ["avml", "elf"]) {
        const path = join(dirname(lime), `capture.${form}`);
        if (!existsSync(path)) throw new Error(`${path} is missing: run the Rust tests (cargo test -p memscope-tests) to make it`);
        const t0 = Date.now();
        await openCapture(path);
        await page.waitForSelector("#table-pslist[data-rows]", { timeout: 120_000 });
        console.log(`# ${entry.name} (${form}): ${Date.now() - t0} ms from setInputFiles to the full process table`);
        check();
        assert.equal(Number(await page.getAttribute("#table-pslist", "data-rows")), expected, `${form} rows vs the LiME's`);
        const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#table-pslist .export-csv")]);
        check();
        assert.ok(readFileSync(await dl.path()).equals(cliCsv), `${entry.name} (${form}): process CSV differs from the LiME's through the CLI`);
      }
    }
  });

  test("Open demo capture: the trimmed capture the site ships (under 64 MiB) opens over HTTP byte ranges, never whole, and gives the full capture's rows; the session report is one HTML file", async () => {
    const entry = manifest.captures.find((c) => c.name === "deb12-6.1-docker");
    assert.ok(entry, "deb12-6.1-docker is missing from the corpus manifest");
    const path = capturePath(entry);
    // What the build's hook (scripts/web-demo.sh) ships: demo.json naming the trimmed capture beside it.
    const index = JSON.parse(readFileSync(join(DIST, "demo", "demo.json"), "utf8"));
    const demo = join(DIST, "demo", index.file);
    const size = statSync(demo).size;
    assert.ok(size < 64 * 2 ** 20, `the demo capture is ${size} bytes, over 64 MiB`);
    check();
    const cliRows = JSON.parse(cli("pslist", path, "--format", "json").toString("utf8"));
    const first = requests.length;
    const t0 = Date.now();
    await page.click("#open-demo");
    await page.waitForSelector("#table-pslist[data-rows]", { timeout: 60_000 });
    console.log(`# demo: ${Date.now() - t0} ms from the click to the full process table`);
    assert.equal(Number(await page.getAttribute("#table-pslist", "data-rows")), cliRows.length);

    const demoRequests = requests.slice(first).filter((r) => r.url.includes("/demo/"));
    assert.ok(demoRequests.length > 0, "no request for the demo capture");
    const unranged = demoRequests.filter((r) => !/^bytes=\d+-\d+$/.test(r.range ?? ""));
    assert.deepEqual(unranged, [], "demo requests without a byte range");
    const fetched = demoRequests.reduce((n, r) => {
      const [a, b] = r.range.slice(6).split("-").map(Number);
      return n + (b - a + 1);
    }, 0);
    console.log(`# demo: ${demoRequests.length} range requests, ${(fetched / 2 ** 20).toFixed(1)} MiB of ${(size / 2 ** 20).toFixed(1)} MiB`);
    const fullSize = statSync(path).size;
    assert.ok(fetched < size && fetched < fullSize / 2, `opening the demo fetched ${fetched} of its ${size} bytes (the full capture: ${fullSize})`);
    // Every tab's JSON export from the trimmed demo is the CLI's on the full capture.
    const specs = leaves(JSON.parse(cli("list", "--format", "json").toString("utf8")));
    for (const spec of specs) {
      await page.click(`button[data-tab="${spec.name}"]`);
      await page.waitForSelector(`#table-${spec.name}[data-rows]`, { timeout: 60_000 });
      // With the options the tab shows (an earlier test may have left some set).
      // An output option ("--out download": a download in the page) does not change the rows: left out.
      const flags = [];
      for (const word of (await page.getAttribute(`#table-${spec.name}`, "data-options")).split(" ").filter(Boolean)) {
        if (word === "download") flags.pop();
        else flags.push(word);
      }
      const want = cli(...spec.command, path, "--format", "json", ...flags);
      const [dl] = await Promise.all([page.waitForEvent("download"), page.click(`#table-${spec.name} .export-json`)]);
      const got = readFileSync(await dl.path());
      check();
      assert.ok(got.equals(want), `demo ${spec.name} ${flags.join(" ")}: the trimmed capture's JSON (${got.length} bytes) differs from the full capture's through the CLI (${want.length} bytes)`);
    }
    await page.click('button[data-tab="pslist"]');

    const [download] = await Promise.all([
      page.waitForEvent("download", { timeout: 180_000 }),
      page.click("#export-report"),
    ]);
    const report = readFileSync(await download.path(), "utf8");
    writeFileSync(join(SHOTS, "report.html"), report);
    assert.match(report, /^<!doctype html>/);
    assert.doesNotMatch(report, /<script/i, "the report needs no script");
    for (const title of ["Overview", "Processes", "Process tree"]) assert.ok(report.includes(`<h2>${title}</h2>`), `report lacks ${title}`);
    assert.ok(report.includes(entry.kernel_release), "report lacks the kernel release");

    // A long table (open files) draws only a window of its rows, and scrolling moves the window.
    await page.click('button[data-tab="lsof"]');
    await page.waitForSelector("#table-lsof[data-rows]");
    const total = Number(await page.getAttribute("#table-lsof", "data-rows"));
    const drawn = await page.locator("#table-lsof tbody tr:not(.spacer)").count();
    console.log(`# demo: open files table: ${total} rows, ${drawn} drawn`);
    assert.ok(total > 200, `only ${total} open files`);
    assert.ok(drawn < 100, `${drawn} rows drawn of ${total}`);
    await page.locator("#table-lsof .scroll").evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    await page
      .waitForFunction(
        (n) => {
          const rows = document.querySelectorAll("#table-lsof tbody tr:not(.spacer)");
          return rows.length > 0 && Number(rows[rows.length - 1].dataset.index) === n - 1;
        },
        total,
        { timeout: 5000 },
      )
      .catch(() => {
        throw new Error("scrolled to the bottom, the last row is not drawn");
      });
    const firstDrawn = Number(await page.locator("#table-lsof tbody tr:not(.spacer)").first().getAttribute("data-index"));
    assert.ok(firstDrawn > 0, "scrolled to the bottom, the first rows are no longer drawn");
    await page.screenshot({ path: join(SHOTS, "demo-lsof.png") });
    assert.equal(await page.locator("#error").count(), 0, "an error line is shown");
  });

  test("offline: once loaded, the page and the analysis work with the network gone", async () => {
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    await page.waitForFunction(
      () => caches.open("memscope-shell-v1").then((c) => c.keys()).then((k) => k.some((r) => r.url.endsWith(".mspack")) && k.some((r) => r.url.endsWith("worker_bg.wasm"))),
      null,
      { timeout: 30_000, polling: 250 },
    );
    await context.setOffline(true);
    try {
      await page.reload({ waitUntil: "load" });
      await page.waitForSelector("header h1", { timeout: 30_000 });
      for (const entry of manifest.captures) {
        const path = capturePath(entry);
        const want = cli("pslist", path, "--format", "csv");
        await page.setInputFiles("#capture-input", path);
        // The table of this capture (the one before is replaced): its CSV is the CLI's.
        await page.waitForFunction(
          (n) => document.querySelector("#table-pslist")?.dataset.rows === String(n) && !document.querySelector("#progress"),
          JSON.parse(cli("pslist", path, "--format", "json").toString("utf8")).length,
          { timeout: 60_000 },
        );
        const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#table-pslist .export-csv")]);
        check();
        assert.ok(readFileSync(await dl.path()).equals(want), `${entry.name} offline: process CSV differs from the CLI's`);
      }
    } finally {
      await context.setOffline(false);
    }
  });

  /** The same page served without its symbols/ directory, as a host that lacks the packs would. */
  function barePage() {
    const bare = mkdtempSync(join(tmpdir(), "memscope-nosyms-"));
    for (const f of readdirSync(DIST)) {
      if (f !== "symbols" && f !== "demo" && f !== "sw.js") symlinkSync(join(DIST, f), join(bare, f));
    }
    return bare;
  }

  test("no bundled symbols: every corpus capture opens on symbols derived from its own BTF and kallsyms", async () => {
    const bare = barePage();
    const other = await startServer({ root: bare });
    const p2 = await context.newPage();
    const errors = [];
    p2.on("pageerror", (err) => errors.push(String(err)));
    try {
      await p2.goto(other.url, { waitUntil: "load" });
      await p2.waitForSelector("header h1", { timeout: 30_000 });
      for (const entry of manifest.captures) {
        const t0 = Date.now();
        await p2.setInputFiles("#capture-input", capturePath(entry));
        await p2.waitForSelector("#table-pslist[data-rows]", { timeout: 120_000 });
        console.log(`# ${entry.name}: ${Date.now() - t0} ms from choosing the capture to the process table, symbols derived in wasm`);
        assert.equal(await p2.locator("#open-demo").count(), 0, "a site that ships no demo shows no demo button");
        check();
        const rows = Number(await p2.getAttribute("#table-pslist", "data-rows"));
        assert.equal(rows, JSON.parse(cli("pslist", capturePath(entry), "--format", "json").toString("utf8")).length);
        check();
        await p2.click('button[data-tab="overview"]');
        await p2.waitForSelector("#overview", { timeout: 30_000 });
        const text = await p2.textContent("#overview");
        const phases = await p2.locator("#timings li").allTextContents();
        console.log(`# ${entry.name}: worker phases with derived symbols: ${phases.join("; ")}`);
        assert.ok(text.includes("capture (BTF)"), `${entry.name}: the page does not say its symbols came from the capture`);
        assert.ok(text.includes("symbols derived from its BTF and kallsyms"), `${entry.name}: no warning that symbols were derived`);
        check();
        // Opened again (a second capture of the same kernel would be too): the table derived the first time
        // is kept in the origin's private file system and found by its probe, with no scan and no parse.
        await p2.reload({ waitUntil: "load" });
        await p2.waitForSelector("header h1", { timeout: 30_000 });
        const t1 = Date.now();
        await p2.setInputFiles("#capture-input", capturePath(entry));
        await p2.waitForSelector("#table-pslist[data-rows]", { timeout: 120_000 });
        const again = Date.now() - t1;
        assert.equal(Number(await p2.getAttribute("#table-pslist", "data-rows")), rows);
        await p2.click('button[data-tab="overview"]');
        await p2.waitForSelector("#overview", { timeout: 30_000 });
        const kept = await p2.locator("#timings li").allTextContents();
        console.log(`# ${entry.name}: ${again} ms the second time, symbols kept: ${kept.join("; ")}`);
        assert.ok(kept.some((p) => p.startsWith("loading symbols derived before")), `${entry.name}: the kept symbols were not used: ${kept.join("; ")}`);
        assert.ok(!kept.some((p) => p.startsWith("looking for the kernel's BTF")), `${entry.name}: the capture was scanned again`);
        check();
        await p2.reload({ waitUntil: "load" });
        await p2.waitForSelector("header h1", { timeout: 30_000 });
      }
      assert.deepEqual(errors, []);
    } finally {
      await p2.close();
      await other.close();
      rmSync(bare, { recursive: true, force: true });
    }
  });

  test("no bundled symbols match: the user's ISF (.json.xz) is read in the worker", async () => {
    // ?symbols=bundled: no symbols derived from the capture, as for a kernel built without BTF.
    const bare = barePage();
    const other = await startServer({ root: bare });
    const p2 = await context.newPage();
    const errors = [];
    p2.on("pageerror", (err) => errors.push(String(err)));
    try {
      await p2.goto(other.url + "?symbols=bundled", { waitUntil: "load" });
      await p2.waitForSelector("header h1", { timeout: 30_000 });
      const entry = manifest.captures[0];
      await p2.setInputFiles("#capture-input", capturePath(entry));
      await p2.waitForSelector("#need-symbols", { timeout: 30_000 });
      const asked = await p2.textContent("#need-symbols");
      assert.match(asked, /no bundled symbols match|drop the ISF/);
      // It names the kernel the capture's memory holds, so the user knows which ISF to fetch.
      assert.ok(asked.includes(entry.banner), `the request for symbols does not name the banner: ${asked}`);
      const isf = join(ROOT, entry.symbols);
      assert.ok(existsSync(isf), `${isf} is missing (symbols/ keeps the corpus ISF files)`);
      const t0 = Date.now();
      await p2.setInputFiles("#isf-input", isf);
      await p2.waitForSelector("#table-pslist[data-rows]", { timeout: 120_000 });
      console.log(`# ${entry.name}: ${Date.now() - t0} ms from the dropped ISF to the process table (ISF parsed in wasm)`);
      const rows = Number(await p2.getAttribute("#table-pslist", "data-rows"));
      assert.equal(rows, JSON.parse(cli("pslist", capturePath(entry), "--format", "json").toString("utf8")).length);
      assert.deepEqual(errors, []);
    } finally {
      await p2.close();
      await other.close();
      rmSync(bare, { recursive: true, force: true });
    }
  });

  test("a worker that cannot start is reported, the page does not hang", async () => {
    // The page served with a broken worker wasm (index.html in its place).
    const broken = mkdtempSync(join(tmpdir(), "memscope-broken-"));
    for (const f of readdirSync(DIST)) {
      if (f !== "worker_bg.wasm" && f !== "demo" && f !== "sw.js") symlinkSync(join(DIST, f), join(broken, f));
    }
    symlinkSync(join(DIST, "index.html"), join(broken, "worker_bg.wasm"));
    const other = await startServer({ root: broken });
    const p2 = await context.newPage();
    try {
      await p2.goto(other.url, { waitUntil: "load" });
      await p2.waitForSelector("header h1", { timeout: 30_000 });
      await p2.setInputFiles("#capture-input", { name: "x.lime", mimeType: "application/octet-stream", buffer: Buffer.alloc(4096) });
      await p2.waitForSelector("#error", { timeout: 30_000 });
      const text = await p2.textContent("#error");
      console.log(`# broken worker: ${text}`);
      assert.match(text, /worker/);
      assert.equal(await p2.locator("#progress").count(), 0, "progress still shown for a dead worker");
    } finally {
      await p2.close();
      await other.close();
      rmSync(broken, { recursive: true, force: true });
    }
  });

  test("a worker panic shows as an error naming what was being read, and a fresh worker takes over", async () => {
    // The worker's test hook (crate-web/src/worker/mod.rs, README): `?test-panic=lsof` makes running lsof panic.
    const entry = manifest.captures[0];
    const path = capturePath(entry);
    const specs = JSON.parse(cli("list", "--format", "json").toString("utf8"));
    const lsofTitle = specs.find((s) => s.name === "lsof")?.title;
    assert.ok(lsofTitle, "`memscope list` has no lsof");
    const p2 = await context.newPage();
    const errors = [];
    p2.on("pageerror", (err) => errors.push(String(err)));
    try {
      await p2.goto(`${server.url}?test-panic=lsof`, { waitUntil: "load" });
      await p2.waitForSelector("header h1", { timeout: 30_000 });
      await p2.setInputFiles("#capture-input", path);
      await p2.waitForSelector("#table-pslist[data-rows]", { timeout: 60_000 });
      await p2.click('button[data-tab="lsof"]');
      await p2.waitForSelector("#error", { timeout: 30_000 });
      const text = await p2.textContent("#error");
      console.log(`# worker panic: ${text}`);
      check();
      assert.match(text, /the worker crashed/);
      assert.match(text, /test-panic hook/, "the panic's message is shown");
      assert.ok(text.includes(`running ${lsofTitle}`), `the error does not say what was being done: ${text}`);
      assert.match(text, /restarted/);
      assert.equal(await p2.locator("#progress").count(), 0, "progress still shown after the panic");
      // The fresh worker opens the capture again and runs the other analyses; its process table is the CLI's.
      const want = cli("pslist", path, "--format", "csv");
      await p2.setInputFiles("#capture-input", path);
      await p2.waitForSelector("#table-pslist[data-rows]", { timeout: 60_000 });
      const [dl] = await Promise.all([p2.waitForEvent("download"), p2.click("#table-pslist .export-csv")]);
      check();
      assert.ok(readFileSync(await dl.path()).equals(want), "after the restart, the process CSV differs from the CLI's");
      assert.equal(await p2.locator("#error").count(), 0, "the error line stays after a good re-open");
      assert.deepEqual(errors, [], "page errors");
    } finally {
      await p2.close();
    }
  });

  test("a file that is not a capture gives a clear error; its name renders as text", async () => {
    const name = '<img src=x id=injected onerror="window.__pwned=1">.lime';
    await page.setInputFiles("#capture-input", {
      name,
      mimeType: "application/octet-stream",
      buffer: Buffer.alloc(1 << 20, 0x5a),
    });
    // Any bytes open as a raw capture; then no kernel is found in them.
    await page.waitForSelector("#error, #need-symbols", { timeout: 20_000 });
    assert.match(await page.textContent("#error, #need-symbols"), /not a capture|no bundled symbols match/i);
    assert.ok((await page.textContent("#chosen-file")).includes(name), "the file name is shown as text");
    assert.equal(await page.locator("#injected").count(), 0, "a file name became markup");
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
  });

  test("no CSP violations, no errors, every request to 127.0.0.1 without a body", async () => {
    const violations = await page.evaluate(() => window.__cspViolations);
    assert.deepEqual(violations, [], "CSP violations");
    assert.deepEqual(pageErrors, [], "page errors");
    assert.deepEqual(consoleErrors, [], "console errors");
    const elsewhere = requests.filter((r) => {
      const url = new URL(r.url.startsWith("blob:") ? r.url.slice(5) : r.url);
      return url.protocol !== "http:" || url.hostname !== HOST;
    });
    assert.deepEqual(elsewhere, [], `requests to somewhere other than ${HOST}`);
    const withBody = requests.filter((r) => r.body > 0 || !["GET", "HEAD"].includes(r.method));
    assert.deepEqual(withBody, [], "requests that could carry capture bytes");
    writeFileSync(join(SHOTS, "requests.txt"), requests.map((r) => `${r.method} ${r.url}`).join("\n") + "\n");
  });
});
