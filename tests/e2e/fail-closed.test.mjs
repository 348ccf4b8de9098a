// A deploy fails closed (issue 18): without `HEADSTART_LOCAL`, a worker that
// lacks a secret serves no platform and no chat route (503 JSON naming the
// secret, never its value), the status page says which, and the public
// development keys are refused even when set on purpose.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startWrangler } from "./wrangler.mjs";
import { SECRET, SIGNING_KEY, preloadBody } from "./platform.mjs";

const T = { timeout: 300_000 };
const workers = [];
after(async () => {
  await Promise.all(workers.map((w) => w.stop()));
});

async function deployed(vars) {
  const worker = await startWrangler({ local: false, vars });
  workers.push(worker);
  return worker;
}

const headStart = JSON.stringify({ chatId: "fail-closed", headStartMessages: [{ id: "u1", role: "user", parts: [{ type: "text", text: "hi" }] }] });

async function call(worker, path, init = {}) {
  const res = await fetch(`${worker.url}${path}`, { ...init, signal: AbortSignal.timeout(20_000) });
  const text = await res.text();
  return { status: res.status, text, json: (() => { try { return JSON.parse(text); } catch { return undefined; } })() };
}

test("with no secrets set, nothing is served and the answer names what is missing", T, async () => {
  const worker = await deployed({});
  const answers = [
    await call(worker, "/api/chat", { method: "POST", headers: { "content-type": "application/json" }, body: headStart }),
    await call(worker, "/api/chat/token", { method: "POST", body: JSON.stringify({ chatId: "fail-closed" }) }),
    await call(worker, "/api/v1/sessions/fail-closed", { headers: { authorization: `Bearer ${SECRET}` } }),
    await call(worker, "/realtime/v1/sessions/fail-closed/out", { headers: { authorization: `Bearer ${SECRET}` } }),
  ];
  for (const a of answers) {
    assert.equal(a.status, 503, a.text);
    assert.equal(a.json?.code, "missing_secret", a.text);
    assert.ok(a.json.missing.includes("TRIGGER_SECRET_KEY"), a.text);
    assert.ok(!a.text.includes(SECRET) && !a.text.includes(SIGNING_KEY), "no key in the answer");
  }
  const status = await call(worker, "/status");
  assert.equal(status.status, 200);
  assert.match(status.text, /Not serving/);
  assert.match(status.text, /TRIGGER_SECRET_KEY/);
  assert.match(status.text, /HEADSTART_SIGNING_KEY/);
  assert.equal((await call(worker, "/healthz")).status, 200, "liveness still answers");
});

test("the public development keys never serve a deploy; its own keys do", T, async () => {
  const dev = await deployed({ TRIGGER_SECRET_KEY: SECRET, HEADSTART_SIGNING_KEY: SIGNING_KEY });
  const refused = await call(dev, "/api/v1/sessions/x", { headers: { authorization: `Bearer ${SECRET}` } });
  assert.equal(refused.status, 503, refused.text);
  assert.deepEqual(refused.json.missing, ["TRIGGER_SECRET_KEY", "HEADSTART_SIGNING_KEY"]);

  const secret = `tr_prod_${crypto.randomUUID()}`;
  const own = await deployed({ TRIGGER_SECRET_KEY: secret, HEADSTART_SIGNING_KEY: crypto.randomUUID() });
  const body = JSON.stringify(preloadBody("fc-1"));
  const withDevKey = await call(own, "/api/v1/sessions", { method: "POST", headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" }, body });
  assert.equal(withDevKey.status, 401, "the development key is just a wrong key here");
  const created = await call(own, "/api/v1/sessions", { method: "POST", headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" }, body });
  assert.ok(created.status === 200 || created.status === 201, created.text);
  assert.ok(created.json.publicAccessToken, created.text);
  assert.ok(!created.text.includes(secret), "the secret key is never echoed");
  assert.match((await call(own, "/status")).text, /Serving/);
});
