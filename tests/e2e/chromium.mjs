// How every browser run here starts Debian's Chromium (../shared/CONVENTIONS.md): the binary, and the flags
// that keep it headless and off this closed network. Used by the browser tests and benches/browser.mjs.
export const CHROMIUM = process.env.MEMSCOPE_CHROMIUM ?? "/usr/bin/chromium";

export const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
