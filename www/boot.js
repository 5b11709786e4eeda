// Starts the wasm app without an inline script, so the Content-Security-Policy can forbid them.
// trunk writes `<script type="module" src="./boot.js" data-bindgen="…js" data-wasm="…wasm">` in place of
// its usual inline loader (Trunk.toml: build.pattern_script); the hashed file names arrive as data attributes
// and the modulepreload/preload links trunk still injects carry their SRI hashes.
const tag = document.querySelector("script[data-bindgen][data-wasm]");

function fail(message) {
  const box = document.getElementById("boot-error");
  box.textContent = `memscope could not start: ${message}`;
  box.hidden = false;
  console.error("memscope boot:", message);
}

try {
  if (!tag) throw new Error("the loader tag with data-bindgen/data-wasm is missing from index.html");
  const { default: init } = await import(new URL(tag.dataset.bindgen, document.baseURI).href);
  await init({ module_or_path: new URL(tag.dataset.wasm, document.baseURI) });
} catch (err) {
  fail(err && err.message ? err.message : String(err));
}

// Offline: a service worker keeps the app shell (www/sw.js). Not where service workers are unavailable
// (file://, some private modes); the page works without it.
if ("serviceWorker" in navigator && location.protocol.startsWith("http")) {
  navigator.serviceWorker.register(new URL("sw.js", document.baseURI)).catch((err) => {
    console.warn("memscope: offline cache unavailable:", err && err.message ? err.message : err);
  });
}

// A file dropped outside the drop zone must not make the browser navigate away from the session.
for (const type of ["dragover", "drop"]) window.addEventListener(type, (e) => e.preventDefault());
