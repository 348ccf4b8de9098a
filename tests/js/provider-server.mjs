// Loopback replay server for the recorded provider streams in
// tests/fixtures/providers (format: tests/fixtures/providers/README.md).
//
// One server serves every fixture, routed by path prefix:
//
//   POST /anthropic/<fixture>/v1/messages          (base URL `${url}/anthropic/<fixture>/v1`)
//   POST /openai/<fixture>/v1/chat/completions     (base URL `${url}/openai/<fixture>/v1`)
//   POST /openai-responses/<fixture>/v1/responses  (base URL `${url}/openai-responses/<fixture>/v1`)
//   POST /google/<fixture>/v1beta/models/<model>:streamGenerateContent?alt=sse
//                                                  (base URL `${url}/google/<fixture>/v1beta`)
//   POST /openai-compatible/<fixture>/<any path>/chat/completions
//                                   (base URL `${url}/openai-compatible/<fixture><basePath>`, basePath
//                                    from the sidecar, `/v1` by default: a host's own base URL form)
//
// A `.sse` fixture is written frame by frame (split after each blank line),
// `eventDelayMs` apart, after waiting `ttfbMs` before the status line and the
// first frame. A fixture whose sidecar says `"cutOff": true` ends with the
// socket destroyed, so the chunked body is never terminated. A `.body.json`
// fixture is sent in one piece with the sidecar's status and headers.
//
// From node:
//
//   import { startReplayServer } from "./provider-server.mjs";
//   const server = await startReplayServer({ fixturesDir, ttfbMs: 0, eventDelayMs: 0 });
//   server.url        // "http://127.0.0.1:<port>"
//   server.requests   // [{ path, query, provider, fixture, headers, body (parsed JSON), rawBody, at, closedAt? }]
//   server.closes     // [{ index, path, at }]: the client closed before the response ended
//   await server.stop();
//
// `at` / `closedAt` are performance.now() in this process, so a test in the
// same process can assert that an abort closed the connection promptly.
//
// From the shell (prints the URL on the first line, then keeps serving):
//
//   node tests/js/provider-server.mjs [--port N] [--host H] [--ttfb MS] [--delay MS]
//                                     [--fixtures DIR] [--log]
//
// `--log` writes one JSON line per request and per early close to stderr.

import { existsSync, readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";

export const defaultFixturesDir = resolve(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "providers");

const ROUTES = {
  anthropic: "/v1/messages",
  openai: "/v1/chat/completions",
  "openai-responses": "/v1/responses",
  google: /^\/v1beta\/models\/[A-Za-z0-9._-]+:streamGenerateContent$/,
  "openai-compatible": "/chat/completions",
};
// Providers whose route may have any path before it (a host's base URL).
const ANY_PREFIX = new Set(["openai-compatible"]);

const routeMatches = (route, path) => (typeof route === "string" ? route === path : route.test(path));

// Response headers of a successful stream, per provider (a sidecar's
// `headers` are merged over them).
const STREAM_HEADERS = {
  anthropic: {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "request-id": "req_011CVReplay000000000000000",
    "anthropic-organization-id": "5b3e7d2a-9c41-4f6b-8a0e-1d2c3b4a5f60",
  },
  openai: {
    "content-type": "text/event-stream; charset=utf-8",
    "openai-processing-ms": "212",
    "openai-version": "2020-10-01",
    "x-request-id": "req_0000000000000000replay0000000000",
  },
  "openai-responses": {
    "content-type": "text/event-stream; charset=utf-8",
    "openai-processing-ms": "187",
    "openai-version": "2020-10-01",
    "x-request-id": "req_0000000000000000replay0000000001",
  },
  google: {
    "content-type": "text/event-stream",
    "server-timing": "gfet4t7; dur=412",
    "x-content-type-options": "nosniff",
    vary: "Origin, X-Origin, Referer",
  },
  "openai-compatible": { "content-type": "text/event-stream; charset=utf-8" },
};

const sleep = (ms) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

/**
 * Loads one fixture: `{ kind: "sse" | "json", body: Buffer, status, headers,
 * cutOff, description, providerOptions }`, or undefined when absent.
 */
export function loadFixture(fixturesDir, provider, name) {
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.endsWith(".body")) return undefined;
  const dir = join(fixturesDir, provider);
  const ssePath = join(dir, `${name}.sse`);
  const jsonPath = join(dir, `${name}.body.json`);
  const sidecarPath = join(dir, `${name}.json`);
  const sidecar = existsSync(sidecarPath) ? JSON.parse(readFileSync(sidecarPath, "utf8")) : {};
  let kind;
  let body;
  if (existsSync(ssePath)) {
    kind = "sse";
    body = readFileSync(ssePath);
  } else if (existsSync(jsonPath)) {
    kind = "json";
    body = readFileSync(jsonPath);
  } else {
    return undefined;
  }
  return {
    kind,
    body,
    status: sidecar.status ?? 200,
    headers: sidecar.headers ?? {},
    cutOff: sidecar.cutOff === true,
    description: sidecar.description,
    providerOptions: sidecar.providerOptions,
    prompt: sidecar.prompt,
    model: sidecar.model,
    basePath: sidecar.basePath,
    requestHeaders: sidecar.requestHeaders,
  };
}

/** Every fixture name per provider, sorted: `{ anthropic: [...], openai: [...], google: [...] }`. */
export function listFixtures(fixturesDir = defaultFixturesDir) {
  const out = {};
  for (const provider of Object.keys(ROUTES)) {
    const dir = join(fixturesDir, provider);
    const names = new Set();
    if (existsSync(dir)) {
      for (const file of readdirSync(dir)) {
        if (file.endsWith(".sse")) names.add(file.slice(0, -".sse".length));
        else if (file.endsWith(".body.json")) names.add(file.slice(0, -".body.json".length));
      }
    }
    out[provider] = [...names].sort();
  }
  return out;
}

/**
 * Splits an SSE body into frames, each ending with its blank line (`\n\n`,
 * or `\r\n\r\n` as Google sends; the last piece may be a partial frame
 * without one). Works on bytes, so multi-byte UTF-8 characters are never
 * split.
 */
export function splitFrames(buf) {
  const frames = [];
  let start = 0;
  for (let i = 0; i + 1 < buf.length; i++) {
    if (buf[i] === 0x0a && buf[i + 1] === 0x0a) {
      frames.push(buf.subarray(start, i + 2));
      start = i + 2;
      i++;
    } else if (buf[i] === 0x0a && buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) {
      frames.push(buf.subarray(start, i + 3));
      start = i + 3;
      i += 2;
    }
  }
  if (start < buf.length) frames.push(buf.subarray(start));
  return frames;
}

/**
 * Starts the replay server on 127.0.0.1 (port 0 unless given).
 * @returns {Promise<{url: string, port: number, requests: object[], closes: object[], stop: () => Promise<void>}>}
 */
export async function startReplayServer({
  fixturesDir = defaultFixturesDir,
  ttfbMs = 0,
  eventDelayMs = 0,
  port = 0,
  host = "127.0.0.1",
  log,
} = {}) {
  const requests = [];
  const closes = [];
  const sockets = new Set();

  const server = createServer(async (req, res) => {
    res.sendDate = false; // keeps response headers deterministic
    const url = new URL(req.url, "http://localhost");
    const path = url.pathname;

    if (req.method === "GET" && (path === "/" || path === "/fixtures")) {
      return sendJson(res, 200, listFixtures(fixturesDir));
    }

    const match = /^\/([a-z-]+)\/([^/]+)(\/.*)$/.exec(path);
    const routed =
      match != null &&
      Object.hasOwn(ROUTES, match[1]) &&
      (ANY_PREFIX.has(match[1]) ? match[3].endsWith(ROUTES[match[1]]) : routeMatches(ROUTES[match[1]], match[3]));
    if (req.method !== "POST" || !routed) {
      return sendJson(res, 404, { error: { type: "not_found", message: `no route for ${req.method} ${path}` } });
    }
    const [, provider, fixtureName] = match;

    const rawBody = (await readBody(req)).toString("utf8");
    let body;
    try {
      body = JSON.parse(rawBody);
    } catch {
      body = rawBody;
    }
    const record = { path, query: url.search, provider, fixture: fixtureName, headers: { ...req.headers }, body, rawBody, at: performance.now() };
    const index = requests.push(record) - 1;
    log?.({ event: "request", index, path, at: record.at });

    let finished = false; // we ended (or deliberately cut) the response
    res.on("close", () => {
      if (finished || res.writableFinished) return;
      const at = performance.now();
      record.closedAt = at;
      closes.push({ index, path, at });
      log?.({ event: "close", index, path, at });
    });

    const fixture = loadFixture(fixturesDir, provider, fixtureName);
    if (fixture == null) {
      finished = true;
      return sendJson(res, 404, { error: { type: "not_found", message: `no fixture ${provider}/${fixtureName}` } });
    }

    await sleep(ttfbMs);
    if (res.destroyed) return;

    if (fixture.kind === "json") {
      finished = true;
      res.writeHead(fixture.status, { "content-length": String(fixture.body.length), ...fixture.headers });
      res.end(fixture.body);
      return;
    }

    res.socket?.setNoDelay(true);
    res.writeHead(fixture.status, { ...STREAM_HEADERS[provider], ...fixture.headers });
    const frames = splitFrames(fixture.body);
    for (let i = 0; i < frames.length; i++) {
      if (i > 0) await sleep(eventDelayMs);
      if (res.destroyed) return;
      res.write(frames[i]);
    }
    finished = true;
    if (fixture.cutOff) {
      // Let the last frame reach the client, then drop the connection without
      // the terminating zero-length chunk.
      await new Promise((r) => res.write("", r));
      res.socket?.destroy();
    } else {
      res.end();
    }
  });

  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const url = `http://${host}:${address.port}`;

  const stop = () =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });

  return { url, port: address.port, requests, closes, stop };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    req.on("data", (c) => parts.push(c));
    req.on("end", () => resolve(Buffer.concat(parts)));
    req.on("error", reject);
  });
}

function sendJson(res, status, value) {
  const text = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) });
  res.end(text);
}

// ------------------------------------------------------------------ CLI

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v == null) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--port") opts.port = Number(next());
    else if (a === "--host") opts.host = next();
    else if (a === "--ttfb") opts.ttfbMs = Number(next());
    else if (a === "--delay") opts.eventDelayMs = Number(next());
    else if (a === "--fixtures") opts.fixturesDir = resolve(next());
    else if (a === "--log") opts.log = (entry) => process.stderr.write(`${JSON.stringify(entry)}\n`);
    else if (a === "--help" || a === "-h") {
      process.stdout.write(
        "usage: node tests/js/provider-server.mjs [--port N] [--host H] [--ttfb MS] [--delay MS] [--fixtures DIR] [--log]\n",
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

if (process.argv[1] != null && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const server = await startReplayServer(parseArgs(process.argv.slice(2)));
  process.stdout.write(`${server.url}\n`);
  const shutdown = () => server.stop().then(() => process.exit(0));
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}
