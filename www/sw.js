// Service worker: keeps the app shell (page, scripts, wasm, style, symbol packs) so the page works with
// the network gone. Network first (a rebuilt dist/ is picked up at once), the cache when offline.
// Byte-range requests (the demo capture) and anything under demo/ are never cached: captures stay out;
// demo/demo.json answers 204 (no demo) when the network is gone.
const CACHE = "memscope-shell-v1";

async function shellUrls() {
  const urls = ["./", "./index.html", "./boot.js", "./worker_loader.js", "./worker.js", "./worker_bg.wasm", "./symbols/index.json"];
  try {
    const html = await (await fetch("./index.html", { cache: "no-cache" })).text();
    for (const m of html.matchAll(/(?:href|src|data-bindgen|data-wasm)="([^"]+)"/g)) {
      if (!m[1].startsWith("http") && !m[1].startsWith("data:")) urls.push(m[1]);
    }
    const index = await (await fetch("./symbols/index.json", { cache: "no-cache" })).json();
    for (const e of index.entries ?? []) urls.push(`./symbols/${e.sha256}.mspack`);
  } catch (err) {
    console.warn("memscope sw: shell list incomplete:", err);
  }
  return [...new Set(urls)];
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(await shellUrls());
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  // Offline there is no demo (its capture is never cached): the page's question "is there a demo?" gets an
  // empty answer rather than a network error.
  if (url.pathname.endsWith("/demo/demo.json")) {
    event.respondWith(fetch(req).catch(() => new Response(null, { status: 204 })));
    return;
  }
  if (req.headers.has("range") || url.pathname.includes("/demo/")) return;
  event.respondWith(
    (async () => {
      try {
        const res = await fetch(req);
        if (res.ok && res.status === 200) {
          const copy = res.clone();
          caches.open(CACHE).then((c) => c.put(req, copy));
        }
        return res;
      } catch (err) {
        const hit = await caches.match(req, { ignoreSearch: true });
        if (hit) return hit;
        throw err;
      }
    })(),
  );
});
