// headstart: a fast first turn for AI chat apps, as one Web handler
// `(request: Request) => Promise<Response>` for any JS runtime with fetch,
// Web streams and timers, plus an adapter for node:http servers. The work
// is done by the wasm module in ./dist (built by scripts/build-pkg.sh).
//
// This entry is for Node, Deno and Bun; Cloudflare Workers take workerd.js
// (the `workerd` export condition), which imports the wasm as a module.
import init from "./dist/headstart.js";

// When this module is a file, the wasm bytes are read next to it with
// node:fs (Node, Bun and Deno all provide it); otherwise (a module served
// over http(s)) they are fetched.
async function wasmSource() {
  const url = new URL("./dist/headstart_bg.wasm", import.meta.url);
  if (url.protocol === "file:") {
    const { readFileSync } = await import("node:fs");
    return readFileSync(url);
  }
  return fetch(url);
}

await init({ module_or_path: await wasmSource() });

export * from "./api.js";

/**
 * A node:http request listener serving a Web handler: the request body is
 * read in full into a Web Request (with an AbortSignal fired when the
 * client goes away), and the Response body is written chunk by chunk as it
 * comes, honouring backpressure.
 * @param {import("./index.d.ts").HeadStartHandler} handler
 */
export function toNodeListener(handler) {
  return async function headstartListener(req, res) {
    const controller = new AbortController();
    res.once("close", () => {
      if (!res.writableFinished) controller.abort(new Error("the client closed the connection"));
    });
    let response;
    try {
      response = await handler(await toWebRequest(req, controller.signal));
    } catch (err) {
      if (res.headersSent || res.destroyed) return void res.destroy();
      const body = JSON.stringify({ error: `internal error: ${err?.message ?? err}`, code: "internal" });
      res.writeHead(500, { "content-type": "application/json" });
      return void res.end(body);
    }
    await writeNodeResponse(response, res, controller.signal);
  };
}

async function toWebRequest(req, signal) {
  const scheme = req.socket?.encrypted ? "https" : "http";
  const host = req.headers[":authority"] ?? req.headers.host ?? "localhost";
  const url = new URL(req.url ?? "/", `${scheme}://${host}`);
  const headers = new Headers();
  const raw = req.rawHeaders ?? [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i].startsWith(":")) continue; // HTTP/2 pseudo-headers
    try {
      headers.append(raw[i], raw[i + 1]);
    } catch {
      // A header Web Headers refuse is dropped, as fetch would.
    }
  }
  const method = req.method ?? "GET";
  let body;
  if (method !== "GET" && method !== "HEAD") {
    const chunks = [];
    for await (const chunk of req) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
    body = Buffer.concat(chunks);
  }
  return new Request(url, { method, headers, body, signal });
}

async function writeNodeResponse(response, res, signal) {
  const head = {};
  for (const [name, value] of response.headers) {
    if (name !== "set-cookie") head[name] = value;
  }
  const cookies = response.headers.getSetCookie?.() ?? [];
  if (cookies.length) head["set-cookie"] = cookies;
  res.writeHead(response.status, response.statusText || undefined, head);
  if (!response.body) return void res.end();
  // Headers now, not with the first chunk: the client sees the response
  // open as soon as the session exists.
  res.flushHeaders();
  const reader = response.body.getReader();
  const cancel = () => reader.cancel(signal.reason).catch(() => {});
  if (signal.aborted) return void cancel();
  signal.addEventListener("abort", cancel, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || res.destroyed) break;
      if (!res.write(value)) await drained(res);
    }
    if (!res.destroyed) res.end();
  } catch (err) {
    // The body failed mid-stream: cut the connection so the client sees it.
    res.destroy(err instanceof Error ? err : new Error(String(err)));
  } finally {
    signal.removeEventListener("abort", cancel);
  }
}

function drained(res) {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
