// The package's abuse limits: the `rateLimit` option (the built-in
// in-memory limiter, or a function of the user's), the message cap and the
// options' checks. The platform is a counting fake that refuses every
// session (422): a call the limiter lets through reaches it and answers
// 422; a refused one answers 429 and reaches nothing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { once } from "node:events";
import { createHandler, optionsFromEnv } from "../../pkg/index.js";

let platform;
let hits = 0;

before(async () => {
  platform = http.createServer((req, res) => {
    hits++;
    req.resume();
    res.writeHead(422, { "content-type": "application/json" }).end('{"error":"refused by the test platform"}');
  });
  platform.listen(0, "127.0.0.1");
  await once(platform, "listening");
});
after(() => new Promise((resolve) => platform.close(resolve)));

const base = () => ({ platformUrl: `http://127.0.0.1:${platform.address().port}`, secretKey: "tr_dev_x", maxAttempts: 1, local: true });
const user = (id) => ({ id, role: "user", parts: [{ type: "text", text: "hi" }] });

function request(path, { client, messages = [user("u1")] } = {}) {
  const headers = { "content-type": "application/json", ...(client ? { "x-forwarded-for": `${client}, 10.0.0.1` } : {}) };
  const body = JSON.stringify(path.endsWith("token") || path.endsWith("start") ? { chatId: "c1" } : { chatId: "c1", headStartMessages: messages });
  return new Request(`http://localhost${path}`, { method: "POST", headers, body });
}

async function call(handler, path, init) {
  const before = hits;
  const res = await handler(request(path, init));
  const body = await res.json();
  return { status: res.status, code: body.code, error: body.error, retryAfter: res.headers.get("retry-after"), reached: hits > before };
}

test("rateLimit { perMinute }: the built-in limiter, per client, before anything is spent", async () => {
  const handler = createHandler({ ...base(), rateLimit: { perMinute: 2 } });
  for (const path of ["/api/chat", "/api/chat/detached"]) {
    const passed = await call(handler, path, { client: "203.0.113.1" });
    assert.deepEqual([passed.status, passed.reached], [422, true], path);
  }
  for (const path of ["/api/chat", "/api/chat/detached", "/api/chat/start"]) {
    const refused = await call(handler, path, { client: "203.0.113.1" });
    assert.equal(refused.status, 429, path);
    assert.equal(refused.code, "rate_limited");
    assert.match(refused.error, /try again/);
    assert.ok(["29", "30"].includes(refused.retryAfter), refused.retryAfter);
    assert.equal(refused.reached, false, `${path}: nothing spent`);
  }
  // Tokens are their own budget, other clients their own buckets.
  assert.equal((await call(handler, "/api/chat/token", { client: "203.0.113.1" })).status, 422);
  assert.equal((await call(handler, "/api/chat", { client: "198.51.100.2" })).status, 422);
});

test("the limit is on by default (20 a minute) and off with rateLimit: false", async () => {
  const on = createHandler(base());
  for (let i = 0; i < 20; i++) assert.equal((await call(on, "/api/chat/start")).status, 422, `${i}`);
  const refused = await call(on, "/api/chat/start");
  assert.deepEqual([refused.status, refused.retryAfter, refused.reached], [429, "3", false]);
  for (const rateLimit of [false, { perMinute: 0 }]) {
    const off = createHandler({ ...base(), rateLimit });
    for (let i = 0; i < 25; i++) assert.equal((await call(off, "/api/chat/start")).status, 422, `${JSON.stringify(rateLimit)} ${i}`);
  }
});

test("rateLimit as a function: asked with (key, request, budget), and its answer decides", async () => {
  const asked = [];
  let answer;
  const handler = createHandler({
    ...base(),
    rateLimit: (key, req, budget) => {
      asked.push([key, new URL(req.url).pathname, budget]);
      return answer();
    },
  });
  const cases = [
    [() => true, 422, null],
    [() => Promise.resolve(true), 422, null],
    [() => false, 429, "60"],
    [() => Promise.resolve({ retryAfterSeconds: 1.2 }), 429, "2"],
    [() => ({ retryAfterSeconds: 0 }), 429, "1"],
    // A limiter that fails lets the call through (and logs it).
    [() => { throw new Error("redis down"); }, 422, null],
    [() => Promise.reject(new Error("redis down")), 422, null],
    [() => "yes", 422, null],
  ];
  for (const [fn, status, retryAfter] of cases) {
    answer = fn;
    const res = await call(handler, "/api/chat", { client: "192.0.2.4" });
    assert.deepEqual([res.status, res.retryAfter, res.reached], [status, retryAfter, status !== 429], fn.toString());
  }
  answer = () => true;
  await call(handler, "/api/chat/token");
  assert.deepEqual(asked[0], ["192.0.2.4", "/api/chat", "turn"]);
  assert.deepEqual(asked.at(-1), ["anonymous", "/api/chat/token", "token"]);
});

test("maxHistoryMessages: a longer first turn is refused (413) before anything is spent", async () => {
  const handler = createHandler({ ...base(), maxHistoryMessages: 2 });
  const long = await call(handler, "/api/chat", { messages: [user("u1"), user("u2"), user("u3")] });
  assert.deepEqual([long.status, long.code, long.reached], [413, "too_many_messages", false]);
  assert.equal((await call(handler, "/api/chat", { messages: [user("u1"), user("u2")] })).status, 422);
});

test("the limits' options are checked by createHandler, and optionsFromEnv reads their variables", () => {
  const cases = [
    [{ rateLimit: "20" }, /`rateLimit` must be false, \{ perMinute, burst\? \} or a function/],
    [{ rateLimit: true }, /`rateLimit` must be/],
    [{ rateLimit: {} }, /`rateLimit` must be/],
    [{ rateLimit: { perMinute: -1 } }, /`rateLimit\.perMinute` must be an integer/],
    [{ rateLimit: { perMinute: 5, burst: 0 } }, /`rateLimit\.burst` must be an integer from 1/],
    [{ rateLimit: { perMinute: 5, every: 1 } }, /unknown option `rateLimit\.every`/],
    [{ maxStep1Tokens: 0 }, /`maxStep1Tokens` must be an integer from 1/],
    [{ maxHistoryMessages: 1.5 }, /`maxHistoryMessages` must be an integer/],
  ];
  for (const [options, error] of cases) {
    assert.throws(() => createHandler({ ...base(), ...options }), (e) => e instanceof TypeError && error.test(e.message), JSON.stringify(options));
  }
  assert.equal(typeof createHandler({ ...base(), rateLimit: { perMinute: 5, burst: 10 }, maxStep1Tokens: 1024, maxHistoryMessages: 10 }), "function");
  const env = { TRIGGER_SECRET_KEY: "tr_dev_x", HEADSTART_RATE_LIMIT_BURST: "5", HEADSTART_MAX_STEP1_TOKENS: "1000", HEADSTART_MAX_HISTORY_MESSAGES: "9" };
  const options = optionsFromEnv(env);
  assert.deepEqual([options.rateLimit, options.maxStep1Tokens, options.maxHistoryMessages], [{ perMinute: 20, burst: 5 }, 1000, 9]);
  assert.deepEqual(optionsFromEnv({ ...env, HEADSTART_RATE_LIMIT_PER_MINUTE: "0" }).rateLimit, { perMinute: 0, burst: 5 });
  assert.equal(typeof createHandler(optionsFromEnv({ ...env, HEADSTART_RATE_LIMIT_PER_MINUTE: "0" })), "function");
});
