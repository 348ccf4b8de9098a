// Serves a Next.js App Router route module (`export function POST(request)`
// …) in Vercel's Edge runtime (the `edge-runtime` package), the way Next
// runs edge routes: bundled for the `edge-light` condition, `*.wasm?module`
// imports supplied as `wasm_<sha1>` globals compiled in Node's realm, and
// compiling wasm from bytes disallowed, as on Vercel.
//
//   node tests/runtimes/edge-server.mjs <route.ts>      (HOST, PORT; prints "listening <url>")
//
// The HTTP server is our own rather than edge-runtime's `runServer`, which
// never aborts `request.signal` when the client goes away (Next's own server
// does); bodies stream chunk by chunk with backpressure.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { EdgeRuntime } from "edge-runtime";

/** `import x from "./x.wasm?module"` → the global `wasm_<sha1 of the file>`. */
function wasmModules(bindings) {
  return {
    name: "edge-wasm-module",
    setup(build) {
      build.onResolve({ filter: /\.wasm\?module$/ }, async (args) => {
        const found = await build.resolve(args.path.replace(/\?module$/, ""), { importer: args.importer, resolveDir: args.resolveDir, kind: args.kind });
        if (found.errors.length) return { errors: found.errors };
        const name = `wasm_${createHash("sha1").update(readFileSync(found.path)).digest("hex")}`;
        bindings.set(name, found.path);
        return { path: name, namespace: "edge-wasm" };
      });
      build.onLoad({ filter: /.*/, namespace: "edge-wasm" }, (args) => ({ contents: `export default globalThis[${JSON.stringify(args.path)}];`, loader: "js" }));
    },
  };
}

/**
 * The route module bundled as Next bundles an edge route: a script (the VM
 * runs no modules) and the wasm files its `?module` imports name.
 * @returns {Promise<{ code: string, wasm: Record<string, string> }>} wasm: global name → file
 */
export async function bundleRoute(routeFile) {
  const route = resolve(routeFile);
  // Routes by method, as Next does for a route module.
  const entry = `import * as route from ${JSON.stringify(route)};
addEventListener("fetch", (event) => {
  const handle = route[event.request.method];
  event.respondWith(handle ? handle(event.request) : new Response(null, { status: 405 }));
});`;
  const bindings = new Map();
  const built = await esbuild.build({
    stdin: { contents: entry, resolveDir: dirname(route), loader: "js" },
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["edge-light", "worker", "browser"],
    mainFields: ["module", "main"],
    plugins: [wasmModules(bindings)],
    logLevel: "silent",
  });
  // The VM runs scripts: the module (with its top-level await) in an async IIFE.
  const code = `globalThis.__ready = (async () => {\n${built.outputFiles[0].text}\n})();`;
  return { code, wasm: Object.fromEntries(bindings) };
}

/**
 * A bundled route running in Vercel's Edge runtime: the wasm compiled in
 * Node's realm and handed over as globals, `process.env` from `env`.
 */
export async function startEdgeRuntime({ code, wasm: files }, env) {
  const wasm = {};
  for (const [name, file] of Object.entries(files)) wasm[name] = await WebAssembly.compile(readFileSync(file));
  const runtime = new EdgeRuntime({
    initialCode: code,
    codeGeneration: { strings: false, wasm: false },
    extend: (context) => Object.assign(context, wasm, { process: { env } }),
  });
  await runtime.evaluate("__ready");
  return runtime;
}

/** An HTTP server in front of the runtime's fetch handler. */
export function serve(runtime) {
  return http.createServer(async (req, res) => {
    // Abort signals must come from the VM's realm.
    const controller = new runtime.context.AbortController();
    res.once("close", () => {
      if (!res.writableFinished) controller.abort();
    });
    try {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      const headers = Object.entries(req.headers).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]]));
      const response = await runtime.dispatchFetch(`http://${req.headers.host}${req.url}`, {
        method: req.method,
        headers,
        body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
        signal: controller.signal,
      });
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.flushHeaders();
      if (!response.body) return void res.end();
      const reader = response.body.getReader();
      controller.signal.addEventListener("abort", () => reader.cancel().catch(() => {}), { once: true });
      for (;;) {
        const { done, value } = await reader.read();
        if (done || res.destroyed) break;
        if (!res.write(value)) await new Promise((r) => res.once("drain", r).once("close", r));
      }
      res.end();
      await response.waitUntil?.();
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: String(err?.message ?? err), code: "internal" }));
    }
  });
}

if (fileURLToPath(import.meta.url) === process.argv[1]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([, v]) => typeof v === "string"));
  const runtime = await startEdgeRuntime(await bundleRoute(process.argv[2] ?? ""), env);
  const server = serve(runtime);
  server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? "127.0.0.1", () => {
    console.log(`listening http://${process.env.HOST ?? "127.0.0.1"}:${server.address().port}`);
  });
}
