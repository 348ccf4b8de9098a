// headstart for Cloudflare Workers (the `workerd` export condition): the
// wasm is imported as a compiled module, as Workers require (no fetch or
// file reads of code at run time). Everything else is api.js.
import wasmModule from "./dist/headstart_bg.wasm";
import { initSync } from "./dist/headstart.js";

initSync({ module: wasmModule });

export * from "./api.js";
