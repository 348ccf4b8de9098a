// The JS package's handler in node: `createHandler` served by node:http
// through `toNodeListener`, against the worker's self-hosted platform under
// `wrangler dev` (whose reference agent takes the handovers). Every response
// body is read by the AI SDK's own parser.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { once } from "node:events";
import { createHmac, generateKeyPairSync, sign } from "node:crypto";
import { createHandler, optionsFromEnv, toNodeListener, version } from "../../pkg/index.js";
import { startWrangler } from "../e2e/wrangler.mjs";
import { startReplayServer } from "./provider-server.mjs";
import { postJson, scenarios } from "./scenarios.mjs";
import { readUiStream } from "./ui-stream.mjs";

const SECRET = "tr_dev_headstart_local";
const ORIGIN = "https://app.example";
let worker;
let fast; // scripted model at 20 ms to first token, 2 ms a token
let slow; // 20 ms a token: a turn long enough to see it stream
let s; // the shared scenarios, on `fast`
const timings = [];

async function serve(handler) {
  const server = http.createServer(toNodeListener(handler));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

before(async () => {
  worker = await startWrangler({
    vars: { HEADSTART_SCRIPTED_TTFB_MS: "20", HEADSTART_SCRIPTED_TOKEN_MS: "2", HEADSTART_MAX_ATTEMPTS: "1" },
  });
  const base = { platformUrl: worker.url, secretKey: SECRET, agentId: "headstart-agent", local: true };
  fast = await serve(
    createHandler({ ...base, scripted: { ttfbMs: 20, tokenMs: 2 }, allowedOrigins: [ORIGIN], onTurn: (t) => timings.push(t) }),
  );
  slow = await serve(createHandler({ ...base, scripted: { ttfbMs: 20, tokenMs: 20 } }));
  s = scenarios({ url: fast.url, platformUrl: worker.url, name: "js" });
});
after(async () => {
  await fast?.close();
  await slow?.close();
  await worker?.stop();
});

const user = (id, text) => ({ id, role: "user", parts: [{ type: "text", text }] });
let n = 0;
const chatId = (name) => `js_${name}_${process.pid}_${++n}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const post = (server, path, body, init) => postJson(`${server.url}${path}`, body, init);

async function records(id, io) {
  const res = await fetch(`${worker.url}/realtime/v1/sessions/${encodeURIComponent(id)}/${io}/records`, {
    headers: { authorization: `Bearer ${SECRET}` },
  });
  assert.equal(res.status, 200);
  return (await res.json()).records;
}

const isControl = (r) => (r.headers ?? []).some(([name]) => name === "trigger-control");

test("the package loads its wasm and says its version", () => {
  assert.match(version(), /^\d+\.\d+\.\d+/);
});

test("pure text, streamed as it is made (20 ms a token)", async () => {
  await scenarios({ url: slow.url, platformUrl: worker.url, name: "js" }).text({ minSpreadMs: 150 });
});

test("one tool call: the agent's part is spliced in, and onTurn gets the turn's timings", async () => {
  const { id } = await s.tool();
  const timing = timings.find((t) => t.chatId === id);
  assert.equal(timing?.decision, "handover");
  for (const key of ["sessionCreatedMs", "providerTtfbMs", "firstChunkOutMs", "stepEndMs", "handoverMs", "firstAgentChunkMs", "turnCompleteMs"]) {
    assert.equal(typeof timing[key], "number", key);
  }
});

test("a client that disconnects mid-step drops the turn and the agent gets handover-skip", async () => {
  const { id } = await s.disconnect();
  // The turn was dropped, not finished: no timings for it.
  await sleep(100);
  assert.equal(timings.find((t) => t.chatId === id), undefined);
});

test("either way a runtime reports a client gone drops the turn: the request's signal, or the body cancelled", async () => {
  const handler = createHandler({ platformUrl: worker.url, secretKey: SECRET, local: true, scripted: { ttfbMs: 20, tokenMs: 2 } });
  for (const how of ["signal", "cancel"]) {
    const id = chatId(how);
    const controller = new AbortController();
    const body = JSON.stringify({ headStartMessages: [user("u1", "Tell me a very long story about the sea [fault:stall]")], chatId: id });
    const res = await handler(new Request("http://localhost/api/chat", { method: "POST", body, signal: controller.signal }));
    assert.equal(res.status, 200);
    const reader = res.body.getReader();
    let seen = "";
    while (!seen.includes("text-delta")) seen += new TextDecoder().decode((await reader.read()).value);
    if (how === "signal") controller.abort();
    else await reader.cancel();
    const deadline = Date.now() + 5000;
    let ins = [];
    while (!ins.length && Date.now() < deadline) {
      ins = (await records(id, "in")).map((r) => JSON.parse(r.data).kind);
      await sleep(50);
    }
    assert.deepEqual(ins, ["handover-skip"], how);
    if (how === "signal") {
      // The body ends too (after what was already queued).
      let done = false;
      for (let i = 0; i < 100 && !done; i++) done = (await reader.read()).done;
      assert.ok(done, "the body ends when the signal aborts");
    }
  }
});

test("a client that disconnects drops the model call: the provider's connection closes at once", async () => {
  const provider = await startReplayServer({ eventDelayMs: 300 });
  const server = await serve(
    createHandler({
      platformUrl: worker.url,
      secretKey: SECRET,
      local: true,
      provider: "anthropic",
      apiKey: "test-key",
      baseURL: `${provider.url}/anthropic/text/v1`,
      maxAttempts: 1,
    }),
  );
  try {
    const id = chatId("abort");
    const controller = new AbortController();
    const res = await post(server, "/api/chat", { headStartMessages: [user("u1", "hello")], chatId: id }, { signal: controller.signal });
    assert.equal(res.status, 200);
    const reader = res.body.getReader();
    let seen = "";
    while (!seen.includes("text-delta")) seen += new TextDecoder().decode((await reader.read()).value);
    const abortedAt = performance.now();
    controller.abort();
    const deadline = abortedAt + 2000;
    while (provider.closes.length === 0 && performance.now() < deadline) await sleep(2);
    assert.equal(provider.closes.length, 1, "the model server saw its connection closed early");
    const ms = provider.closes[0].at - abortedAt;
    assert.ok(ms < 250, `model connection closed ${ms.toFixed(1)} ms after the client left`);
    let ins = [];
    while (!ins.length && performance.now() < deadline + 3000) {
      ins = (await records(id, "in")).map((r) => JSON.parse(r.data).kind);
      await sleep(50);
    }
    assert.deepEqual(ins, ["handover-skip"]);
  } finally {
    await server.close();
    await provider.stop();
  }
});

test("provider openai is the Responses API: a turn streams through it over HTTP, as the AI SDK's openai() reads it", async () => {
  const provider = await startReplayServer();
  const server = await serve(
    createHandler({
      platformUrl: worker.url,
      secretKey: SECRET,
      local: true,
      provider: "openai",
      apiKey: "test-key",
      baseURL: `${provider.url}/openai-responses/text/v1`,
      maxAttempts: 1,
    }),
  );
  try {
    const id = chatId("responses");
    const res = await post(server, "/api/chat", { headStartMessages: [user("u1", "Weather in Paris?")], chatId: id });
    assert.equal(res.status, 200);
    const { message, chunks } = await readUiStream(res.body, { terminateOnError: false });
    const text = message.parts.filter((p) => p.type === "text").map((p) => p.text).join("");
    assert.match(text, /^It's 12 °C and raining in Paris/);
    assert.equal(chunks.find((c) => c.type === "text-start").providerMetadata.openai.itemId, "msg_68e3a1f1d3e581a0a6f8e0c3d5b7a9f1");
    assert.equal(chunks.find((c) => c.type === "finish")?.finishReason, "stop");
    assert.equal(chunks.at(-2).type, "trigger:turn-complete");
    // The text step is the whole turn: handed over final, with the item id
    // the next request refers to.
    const handover = JSON.parse((await records(id, "in"))[0].data);
    assert.deepEqual([handover.kind, handover.isFinal], ["handover", true]);
    assert.match(JSON.stringify(handover), /msg_68e3a1f1d3e581a0a6f8e0c3d5b7a9f1/);
    assert.deepEqual(provider.requests.map((r) => r.path), ["/openai-responses/text/v1/responses"]);
    assert.equal(provider.requests[0].body.stream, true);
    assert.equal(provider.requests[0].body.input.at(-1).content[0].type, "input_text");
  } finally {
    await server.close();
    await provider.stop();
  }
});

test("every route caps a chunked body (413), and an empty conversation is refused (400)", async () => {
  await s.badBodies();
});

test("bad input gets a 4xx JSON error and no session", async () => {
  await s.badInput();
  for (const [path, body, status, code] of [
    ["/api/chat/start", "{", 400, "invalid_json"],
    ["/api/chat/start", { chatId: "session_x" }, 400, "invalid_chat_id"],
    ["/api/chat/token", { chatId: "" }, 400, "invalid_chat_id"],
    ["/api/chat/detached", { headStartMessages: [] }, 400, "invalid_request"],
    ["/api/nope", {}, 404, "not_found"],
  ]) {
    const res = await post(fast, path, body);
    assert.equal(res.status, status, path);
    assert.equal((await res.json()).code, code, path);
  }
  const get = await fetch(`${fast.url}/api/chat`);
  assert.equal(get.status, 405);
  assert.equal((await get.json()).code, "method_not_allowed");
});

test("start and token routes give the transport its session and tokens", async () => {
  const id = chatId("start");
  const res = await post(fast, "/api/chat/start", { chatId: id, clientData: { userId: "u_1" } });
  assert.equal(res.status, 200);
  const started = await res.json();
  assert.match(started.sessionId, /^session_/);
  assert.match(started.runId, /^run_/);
  const tokenRes = await post(fast, "/api/chat/token", { chatId: id });
  assert.equal(tokenRes.status, 200);
  const token = await tokenRes.json();
  for (const pat of [started.publicAccessToken, token.publicAccessToken]) {
    const read = await fetch(`${worker.url}/realtime/v1/sessions/${id}/out/records`, { headers: { authorization: `Bearer ${pat}` } });
    assert.equal(read.status, 200);
  }
});

test("detached head start: step 1 and the agent's turn land in .out", async () => {
  const id = chatId("detached");
  const res = await post(fast, "/api/chat/detached", { headStartMessages: [user("u1", "What's the weather in Lyon?")], chatId: id });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.chatId, id);
  assert.equal(body.publicAccessToken.split(".").length, 3);
  const deadline = Date.now() + 10_000;
  let out = [];
  while (Date.now() < deadline && !out.some(isControl)) {
    out = await records(id, "out");
    await sleep(50);
  }
  const types = out.filter((r) => !isControl(r)).map((r) => r.data.type);
  assert.equal(types.filter((t) => t === "start").length, 2);
  assert.ok(types.includes("tool-output-available"));
  assert.equal(types.at(-1), "finish");
});

test("CORS: preflight and headers for allowed origins only", async () => {
  for (const [origin, allowed] of [[ORIGIN, true], ["https://evil.example", false]]) {
    const pre = await fetch(`${fast.url}/api/chat`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type, x-custom" },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get("access-control-allow-origin"), allowed ? origin : null);
    if (allowed) {
      assert.match(pre.headers.get("access-control-allow-methods"), /POST/);
      assert.match(pre.headers.get("access-control-allow-headers"), /x-custom/);
    }
    const res = await post(fast, "/api/chat", { headStartMessages: [user("u1", "hi")], chatId: chatId("cors") }, { headers: { "content-type": "application/json", origin } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("access-control-allow-origin"), allowed ? origin : null);
    if (allowed) assert.match(res.headers.get("access-control-expose-headers"), /X-Trigger-Chat-Access-Token/);
    await res.text();
  }
});

test("edge steps: a tool turn finished in the handler is handed over final; their options are checked", async () => {
  const base = { platformUrl: worker.url, secretKey: SECRET, agentId: "headstart-agent", local: true, scripted: { ttfbMs: 20, tokenMs: 2 } };
  const edge = await serve(createHandler({ ...base, edgeTools: ["get_weather"], edgeMaxSteps: 3 }));
  try {
    const id = chatId("edge");
    const res = await post(edge, "/api/chat", { chatId: id, headStartMessages: [user("u1", "What's the weather in Oslo?")] });
    assert.equal(res.status, 200);
    const chunks = (await res.text()).split("\n\n").filter((f) => f.startsWith("data: ")).map((f) => JSON.parse(f.slice(6)));
    const types = chunks.map((c) => c.type);
    assert.equal(types.filter((x) => x === "finish").length, 1);
    assert.equal(types.filter((x) => x === "start-step").length, 2);
    assert.deepEqual(types.slice(-3), ["finish", "trigger:turn-complete", "trigger:session-state"]);
    const ins = await (await fetch(`${worker.url}/realtime/v1/sessions/${id}/in/records`, { headers: { authorization: `Bearer ${SECRET}` } })).json();
    const handover = JSON.parse(ins.records[0].data);
    assert.equal(handover.isFinal, true);
    assert.deepEqual(handover.partialAssistantMessage.map((m) => m.role), ["assistant", "tool", "assistant"]);
  } finally {
    await edge.close();
  }
  const opts = { platformUrl: "https://platform.example", secretKey: "tr_dev_x" };
  for (const [options, error] of [
    [{ ...opts, edgeTools: ["send_email"] }, /`edgeTools`: edge tool "send_email"/],
    [{ ...opts, edgeTools: "get_weather", edgeMaxSteps: 1 }, /`edgeMaxSteps`/],
    [{ ...opts, edgeTools: ["admin"], httpTools: { admin: { url: "http://169.254.169.254/x" } } }, /`httpTools`: .*refused/],
    [{ ...opts, edgeTools: ["get_weather"], fetchAllow: ["http://x"] }, /`fetchAllow`/],
    [{ ...opts, fetchAllow: "docs.example.com" }, /`fetchAllow` applies only with `edgeTools`/],
  ]) {
    assert.throws(() => createHandler(options), (e) => e instanceof TypeError && error.test(e.message), JSON.stringify(options));
  }
  createHandler({ ...opts, edgeTools: "get_weather, lookup", httpTools: { lookup: { url: "https://api.example.com/lookup" } }, fetchAllow: ["*.example.com"] });
  // The worker's variables mean the same through optionsFromEnv.
  const fromEnv = optionsFromEnv({
    TRIGGER_API_URL: opts.platformUrl,
    TRIGGER_SECRET_KEY: opts.secretKey,
    HEADSTART_EDGE_TOOLS: "get_weather,lookup",
    HEADSTART_EDGE_MAX_STEPS: "3",
    HEADSTART_HTTP_TOOLS: '{"lookup":{"url":"https://api.example.com/lookup"}}',
    HEADSTART_FETCH_ALLOW: "api.example.com",
  });
  assert.deepEqual(
    [fromEnv.edgeTools, fromEnv.edgeMaxSteps, fromEnv.httpTools, fromEnv.fetchAllow],
    ["get_weather,lookup", 3, { lookup: { url: "https://api.example.com/lookup" } }, "api.example.com"],
  );
  assert.equal(typeof createHandler(fromEnv), "function");
});

// A throwaway PKCS#8 RSA key (a service account's key shape) for the Vertex options.
const TEST_PEM = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" });

test("options are checked by createHandler, naming the option", async () => {
  const base = { platformUrl: "https://platform.example", secretKey: "tr_dev_x" };
  const cases = [
    [undefined, /options must be an object/],
    [{ secretKey: "k" }, /`platformUrl` is required/],
    [{ ...base, platformUrl: "platform.example" }, /`platformUrl` must be an absolute http\(s\) URL/],
    [{ platformUrl: base.platformUrl }, /`secretKey` is required/],
    [{ ...base, agentID: "x" }, /unknown option `agentID`/],
    [{ ...base, provider: "gemini" }, /`provider` must be/],
    [{ ...base, provider: "anthropic" }, /`apiKey` is required for provider "anthropic"/],
    [{ ...base, apiKey: "sk" }, /`provider` is required with `apiKey`/],
    [{ ...base, provider: "openai", apiKey: "sk", baseURL: "localhost:8080" }, /`baseURL`/],
    [{ ...base, maxTokens: 0 }, /`maxTokens` must be an integer/],
    [{ ...base, temperature: "hot" }, /`temperature` must be a number/],
    [{ ...base, tools: [{ description: "no name" }] }, /`tools`/],
    [{ ...base, tools: "get_weather" }, /`tools` must be/],
    [{ ...base, providerOptions: [] }, /`providerOptions` must be an object/],
    [{ ...base, idleTimeoutSeconds: 0 }, /`idleTimeoutSeconds`/],
    [{ ...base, maxBodyBytes: -5 }, /`maxBodyBytes`/],
    [{ ...base, allowedOrigins: [42] }, /`allowedOrigins`/],
    [{ ...base, allowedOrigins: "app.example" }, /`allowedOrigins`/],
    [{ ...base, scripted: { ttfbMs: "soon" } }, /`scripted\.ttfbMs`/],
    [{ ...base, scripted: { pace: 1 } }, /unknown option `scripted\.pace`/],
    [{ ...base, scripted: { fault: "boom" } }, /`scripted\.fault`/],
    [{ ...base, provider: "openai", apiKey: "sk", scripted: { ttfbMs: 1 } }, /`scripted` applies only/],
    [{ ...base, provider: "openai-chat" }, /`apiKey` is required for provider "openai-chat"/],
    [{ ...base, provider: "google" }, /`apiKey` is required for provider "google"/],
    [{ ...base, provider: "vertex" }, /provider "vertex" needs `apiKey` \(express mode\) or `vertex\.clientEmail` and `vertex\.privateKey`/],
    [{ ...base, provider: "vertex", vertex: { region: "eu" } }, /unknown option `vertex\.region`/],
    [{ ...base, provider: "vertex", vertex: { privateKey: 42 } }, /`vertex\.privateKey` must be a string/],
    [
      { ...base, provider: "vertex", vertex: { project: "p", clientEmail: "sa@p.iam.gserviceaccount.com", privateKey: "secret-not-a-pem" } },
      (m) => /`vertex\.privateKey`: must be a PEM private key/.test(m) && !m.includes("secret-not-a-pem"),
    ],
    [
      { ...base, provider: "vertex", vertex: { project: "p/../x", clientEmail: "sa@p.iam.gserviceaccount.com", privateKey: TEST_PEM } },
      /`vertex\.project`/,
    ],
    [{ ...base, provider: "google", apiKey: "AIza", vertex: { project: "p" } }, /`vertex` applies only to provider "vertex"/],
    [
      { ...base, provider: "vertex", vertex: { project: "p", clientEmail: "sa@p.iam.gserviceaccount.com", privateKey: TEST_PEM, tokenUri: "http://oauth2.example/token" } },
      /`vertex\.tokenUri`: .*must be an https URL/,
    ],
    [{ ...base, paths: { headStart: "api/chat" } }, /`paths\.headStart` must be a path/],
    [{ ...base, paths: { token: "/api/chat" } }, /`paths`: the routes must have different paths/],
    [{ ...base, onTurn: "log" }, /`onTurn` must be a function/],
    [{ ...base, auth: "open" }, /`auth` must be "anonymous" or "jwt"/],
    [{ ...base, auth: "jwt" }, /neither `authJwtSecret` nor `authJwksUrl`/],
    [{ ...base, auth: "anonymous", authJwtSecret: "s" }, /keep one/],
    [{ ...base, authJwksUrl: "https://id.example/jwks.json" }, /`authIssuer` is required with `authJwksUrl`/],
    [{ ...base, authJwksUrl: "id.example/jwks.json", authIssuer: "x" }, /`authJwksUrl` must be an absolute/],
    [{ ...base, authJwtSecret: "s", authAlgorithms: ["none"] }, /`authAlgorithms`: "none" is not HS256/],
    [{ ...base, authJwtSecret: "s", authAlgorithms: "RS256" }, /RS256 needs `authJwksUrl`/],
    [{ ...base, authJwtSecret: "s", authLeewaySeconds: 3600 }, /`authLeewaySeconds`/],
    [{ ...base, local: "yes" }, /`local` must be true or false/],
    [{ ...base, authorize: "me" }, /`authorize` must be a function/],
    [{ ...base, authorize: () => "u", authJwtSecret: "s" }, /`authorize` replaces JWT checking/],
  ];
  for (const [options, error] of cases) {
    const matches = typeof error === "function" ? error : (m) => error.test(m);
    assert.throws(() => createHandler(options), (e) => e instanceof TypeError && matches(e.message), JSON.stringify(options));
  }
  // Gemini and Vertex AI (express mode, and a service account whose key is
  // only checked here: the token is fetched on the first call).
  assert.equal(typeof createHandler({ ...base, provider: "google", apiKey: "AIza-test", model: "gemini-2.5-pro" }), "function");
  assert.equal(typeof createHandler({ ...base, provider: "vertex", apiKey: "vertex-express-key" }), "function");
  const account = { project: "p", location: "global", clientEmail: "sa@p.iam.gserviceaccount.com", privateKey: TEST_PEM, privateKeyId: "k1" };
  assert.equal(typeof createHandler({ ...base, provider: "vertex", vertex: account }), "function");
  // Valid options in every shape; custom paths move the routes.
  const handler = createHandler({
    ...base,
    local: true,
    provider: "anthropic",
    apiKey: "sk-ant",
    baseURL: "http://127.0.0.1:9/v1",
    model: "claude-x",
    system: "Be brief.",
    maxTokens: 256,
    temperature: 0.2,
    tools: { lookup: { description: "Look up", inputSchema: { type: "object", properties: {} } } },
    providerOptions: { anthropic: {} },
    idleTimeoutSeconds: 30,
    maxBodyBytes: 1024,
    allowedOrigins: "*",
    paths: { headStart: "/chat", start: "/chat/start", token: "/chat/token", detached: "/chat/detached" },
    tags: ["app:test"],
    basePayload: { tenant: "t1" },
  });
  const moved = await handler(new Request("http://localhost/api/chat", { method: "POST", body: "{}" }));
  assert.equal(moved.status, 404);
  const big = await handler(new Request("http://localhost/chat", { method: "POST", body: "x".repeat(2000) }));
  assert.equal(big.status, 413, "maxBodyBytes applies");
  assert.equal(big.headers.get("access-control-allow-origin"), null, "no Origin, no CORS headers");
});

test("callers: 503 with no auth configured, JWTs checked before the body, the authorize hook", async () => {
  const base = { platformUrl: worker.url, secretKey: SECRET, scripted: { ttfbMs: 20, tokenMs: 2 } };
  const start = (handler, headers = {}) =>
    handler(new Request("http://localhost/api/chat/start", { method: "POST", headers, body: JSON.stringify({ chatId: chatId("auth") }) }));
  const unset = await start(createHandler(base));
  assert.equal(unset.status, 503);
  assert.match((await unset.json()).error, /authJwtSecret/);
  assert.equal((await start(createHandler({ ...base, auth: "anonymous" }))).status, 200);

  const jwt = createHandler({ ...base, authJwtSecret: "js-test-secret", authAudience: "app" });
  const now = Math.floor(Date.now() / 1000);
  const missing = await start(jwt);
  assert.equal(missing.status, 401);
  assert.equal(missing.headers.get("www-authenticate"), "Bearer");
  assert.equal((await missing.json()).code, "unauthenticated");
  const expired = await start(jwt, { authorization: `Bearer ${hs256("js-test-secret", { sub: "u1", aud: "app", exp: now - 3600 })}` });
  assert.deepEqual([expired.status, (await expired.json()).code], [401, "token_expired"]);
  const good = await start(jwt, { authorization: `Bearer ${hs256("js-test-secret", { sub: "u1", aud: "app", exp: now + 600 })}` });
  assert.equal(good.status, 200);
  assert.ok((await good.json()).publicAccessToken);

  const seen = [];
  const hooked = createHandler({
    ...base,
    authorize: async (request) => {
      seen.push(request.headers.get("x-user"));
      if (request.headers.get("x-user") === "teapot") return new Response("no tea", { status: 418 });
      return request.headers.get("x-user") ? { id: request.headers.get("x-user") } : null;
    },
  });
  assert.equal((await start(hooked, { "x-user": "u1" })).status, 200);
  const own = await start(hooked, { "x-user": "teapot" });
  assert.deepEqual([own.status, await own.text()], [418, "no tea"], "the hook's Response as it is");
  const refused = await start(hooked);
  assert.deepEqual([refused.status, (await refused.json()).code], [401, "unauthenticated"]);
  const throwing = createHandler({ ...base, authorize: () => { throw new Error("db down"); } });
  const failed = await start(throwing);
  assert.deepEqual([failed.status, (await failed.json()).code], [500, "authorize_failed"]);
  assert.deepEqual(seen, ["u1", "teapot", null]);
});

/** An HS256 JWT of `claims`. */
function hs256(secret, claims) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const input = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

test("RS256 and ES256 callers, checked with the runtime's WebCrypto against a JWKS served over HTTP", async () => {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = (key, kid) => ({ ...key.publicKey.export({ format: "jwk" }), kid, use: "sig" });
  let fetches = 0;
  let down = false;
  const jwks = http.createServer((req, res) => {
    fetches++;
    if (down) return res.writeHead(500).end();
    res.writeHead(200, { "content-type": "application/json", "cache-control": "max-age=600" });
    res.end(JSON.stringify({ keys: [jwk(rsa, "r1"), jwk(ec, "e1")] }));
  });
  jwks.listen(0, "127.0.0.1");
  await once(jwks, "listening");
  try {
    const issuer = "https://issuer.test/";
    const handler = createHandler({
      platformUrl: worker.url,
      secretKey: SECRET,
      scripted: { ttfbMs: 20, tokenMs: 2 },
      authJwksUrl: `http://127.0.0.1:${jwks.address().port}/jwks.json`,
      authIssuer: issuer,
      authAudience: ["api", "app"],
    });
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: "u_rs", iss: issuer, aud: ["app"], exp: now + 600 };
    const token = (alg, kid, key, extra = {}) => {
      const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
      const input = `${b64({ alg, kid, typ: "JWT" })}.${b64({ ...claims, ...extra })}`;
      const sig = alg === "RS256" ? sign("sha256", Buffer.from(input), key) : sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
      return `${input}.${sig.toString("base64url")}`;
    };
    const start = (t) =>
      handler(new Request("http://localhost/api/chat/token", { method: "POST", headers: { authorization: `Bearer ${t}` }, body: JSON.stringify({ chatId: chatId("jwks") }) }));
    const status = async (t) => {
      const res = await start(t);
      return [res.status, res.status === 200 ? "ok" : (await res.json()).code];
    };
    assert.deepEqual(await status(token("RS256", "r1", rsa.privateKey)), [200, "ok"]);
    assert.deepEqual(await status(token("ES256", "e1", ec.privateKey)), [200, "ok"]);
    assert.equal(fetches, 1, "the JWKS is cached");
    assert.deepEqual(await status(token("ES256", "e1", generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey)), [401, "invalid_token"]);
    assert.deepEqual(await status(token("RS256", "e1", rsa.privateKey)), [401, "invalid_token"], "an RS256 token on an EC key");
    assert.deepEqual(await status(token("RS256", "r1", rsa.privateKey, { iss: "https://evil.test/" })), [401, "invalid_token"]);
    for (const kid of ["nope", "nope2", "nope3"]) assert.deepEqual(await status(token("RS256", kid, rsa.privateKey)), [401, "invalid_token"]);
    assert.equal(fetches, 1, "unknown kids refetch at most once in 30 s (the host tests step the clock past it)");

    // A JWKS that cannot be fetched: 503, before anything is spent.
    const fresh = createHandler({ platformUrl: worker.url, secretKey: SECRET, authJwksUrl: `http://127.0.0.1:${jwks.address().port}/jwks.json`, authIssuer: issuer });
    down = true;
    const res = await fresh(new Request("http://localhost/api/chat", { method: "POST", headers: { authorization: `Bearer ${token("RS256", "r1", rsa.privateKey)}` }, body: "{}" }));
    assert.deepEqual([res.status, (await res.json()).code], [503, "auth_unavailable"]);
  } finally {
    jwks.close();
  }
});

test("createHandler's models: a 529 on the first model hands step 1 to the second, another provider, with its headers", async () => {
  const provider = await startReplayServer();
  const gateway = "/v1/0123456789abcdef0123456789abcdef/my-gateway/compat";
  const server = await serve(
    createHandler({
      platformUrl: worker.url,
      secretKey: SECRET,
      local: true,
      models: [
        { provider: "anthropic", apiKey: "test-key", baseURL: `${provider.url}/anthropic/http-529-overloaded/v1` },
        {
          provider: "openai-chat",
          model: "openai/gpt-4o-mini",
          apiKey: "test-key",
          baseURL: `${provider.url}/openai-compatible/cloudflare-gateway-text${gateway}`,
          headers: { "cf-aig-authorization": "Bearer cf-aig-test-token" },
        },
      ],
      retryBudgetMs: 0,
    }),
  );
  try {
    const res = await post(server, "/api/chat", { headStartMessages: [user("u1", "weather in Paris?")], chatId: chatId("fallback") });
    assert.equal(res.status, 200);
    const chunks = (await res.text())
      .split("\n\n")
      .filter((f) => f.startsWith("data: "))
      .map((f) => JSON.parse(f.slice(6)));
    const text = chunks.filter((c) => c.type === "text-delta").map((c) => c.delta).join("");
    assert.equal(text, "Paris should be about 10 °C. 18% of 240 € is 43.20 €.");
    assert.ok(!chunks.some((c) => c.type === "error"), JSON.stringify(chunks));
    assert.ok(chunks.some((c) => c.type === "trigger:turn-complete"));
    const [first, second] = provider.requests;
    assert.deepEqual([first.fixture, second.fixture, provider.requests.length], ["http-529-overloaded", "cloudflare-gateway-text", 2]);
    assert.equal(second.path, `/openai-compatible/cloudflare-gateway-text${gateway}/chat/completions`);
    assert.equal(second.headers["cf-aig-authorization"], "Bearer cf-aig-test-token");
    assert.equal(second.body.model, "openai/gpt-4o-mini");
  } finally {
    await server.close();
    await provider.stop();
  }
});
