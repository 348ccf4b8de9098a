// The runtime-neutral API of headstart over the wasm module in ./dist. The
// entries (index.js for Node, Deno and Bun; workerd.js for Cloudflare
// Workers) load the wasm first, then re-export this.
import * as wasm from "./dist/headstart.js";

export const version = wasm.version;
export const convertToModelMessages = wasm.convertToModelMessages;
export const encodeUiMessageStream = wasm.encodeUiMessageStream;
export const streamStep = wasm.streamStep;

/**
 * The head-start routes as one handler. The options are checked here: a
 * bad one throws a TypeError that names it.
 * @param {import("./index.d.ts").HeadStartOptions} options
 * @returns {import("./index.d.ts").HeadStartHandler}
 */
export function createHandler(options) {
  const handler = new wasm.Handler(options);
  return (request, ctx) => handler.handle(request, ctx);
}
