// A tiny static file server for dist/: correct MIME types (application/wasm included), the page's
// Content-Security-Policy as a header too, single byte ranges (the worker will read big captures in
// slices), loopback only. Used by the browser tests and by scripts/serve.sh:
//   node tests/e2e/server.mjs [--root dist] [--port 8080]
import { createServer } from "node:http";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; object-src 'none'; base-uri 'none'";

export const HOST = "127.0.0.1";

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json",
};

function mimeOf(path) {
  return MIME[extname(path).toLowerCase()] ?? "application/octet-stream";
}

/**
 * Serve `root` on 127.0.0.1 under the URL path `prefix` ("/" or e.g. "/some/base/"). `port` 0 picks a free
 * one. Resolves to { url, port, close(), log }.
 */
export async function startServer({ root, port = 0, prefix = "/", quiet = true } = {}) {
  const base = resolve(root);
  const log = [];
  const server = createServer(async (req, res) => {
    const done = (status, body = "") => {
      log.push({ method: req.method, url: req.url, status });
      if (!quiet) console.log(`${status} ${req.method} ${req.url}`);
      if (body !== null) res.end(body);
    };
    res.setHeader("Content-Security-Policy", CSP);
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Referrer-Policy", "no-referrer");
    res.setHeader("Cache-Control", "no-cache");
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.statusCode = 405;
      return done(405, "method not allowed\n");
    }
    let path;
    try {
      path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    } catch {
      res.statusCode = 400;
      return done(400, "bad path\n");
    }
    if (!path.startsWith(prefix)) {
      res.statusCode = 404;
      return done(404, "not found\n");
    }
    path = path.slice(prefix.length - 1);
    let file = resolve(join(base, path));
    if (file !== base && !file.startsWith(base + sep)) {
      res.statusCode = 403;
      return done(403, "outside the served folder\n");
    }
    let info;
    try {
      info = await stat(file);
      if (info.isDirectory()) {
        file = join(file, "index.html");
        info = await stat(file);
      }
    } catch {
      res.statusCode = 404;
      return done(404, "not found\n");
    }
    res.setHeader("Content-Type", mimeOf(file));
    res.setHeader("Accept-Ranges", "bytes");
    let start = 0;
    let end = info.size - 1;
    const range = req.headers.range && /^bytes=(\d*)-(\d*)$/.exec(req.headers.range);
    if (req.headers.range) {
      if (!range || (range[1] === "" && range[2] === "")) {
        res.statusCode = 416;
        res.setHeader("Content-Range", `bytes */${info.size}`);
        return done(416, "");
      }
      if (range[1] === "") {
        start = Math.max(0, info.size - Number(range[2]));
      } else {
        start = Number(range[1]);
        if (range[2] !== "") end = Math.min(end, Number(range[2]));
      }
      if (start > end || start >= info.size) {
        res.statusCode = 416;
        res.setHeader("Content-Range", `bytes */${info.size}`);
        return done(416, "");
      }
      res.statusCode = 206;
      res.setHeader("Content-Range", `bytes ${start}-${end}/${info.size}`);
    } else {
      res.statusCode = 200;
    }
    res.setHeader("Content-Length", info.size === 0 ? 0 : end - start + 1);
    if (req.method === "HEAD" || info.size === 0) return done(res.statusCode, "");
    done(res.statusCode, null);
    createReadStream(file, { start, end })
      .on("error", () => res.destroy())
      .pipe(res);
  });
  await new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, HOST, ok);
  });
  const actual = server.address().port;
  return {
    url: `http://${HOST}:${actual}${prefix}`,
    port: actual,
    log,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections?.();
        server.close(() => ok());
      }),
  };
}

// Run as a program: serve a folder until interrupted.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
  };
  const root = opt("--root", "dist");
  const port = Number(opt("--port", "8080"));
  try {
    const info = await stat(join(root, "index.html"));
    if (!info.isFile()) throw new Error();
  } catch {
    console.error(`error: ${resolve(root)}/index.html is missing; build first: trunk build --release --offline`);
    process.exit(1);
  }
  const srv = await startServer({ root, port, quiet: false }).catch((err) => {
    console.error(`error: cannot listen on ${HOST}:${port}: ${err.message}`);
    process.exit(1);
  });
  console.log(`memscope: serving ${resolve(root)} at ${srv.url} (Ctrl-C stops)`);
  for (const sig of ["SIGINT", "SIGTERM"]) {
    process.on(sig, async () => {
      await srv.close();
      process.exit(0);
    });
  }
}
