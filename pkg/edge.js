// headstart for Vercel Edge Functions and Next.js edge routes (the
// `edge-light` export condition). These runtimes refuse to compile wasm from
// bytes, so the wasm is imported with `?module`: Next (webpack and
// Turbopack) and Vercel's bundler ship the .wasm file and hand over a
// compiled WebAssembly.Module (a `wasm_<hash>` global their edge sandbox
// provides). It is instantiated with `init` (WebAssembly.instantiate)
// rather than `initSync`: Next's local sandbox compiles the module in Node's
// realm, and such a module fails initSync's `instanceof` check.
import wasmModule from "./dist/headstart_bg.wasm?module";
import init from "./dist/headstart.js";

await init({ module_or_path: wasmModule });

export * from "./api.js";
